// A bounded load test on loopback: autocannon sends the same ~50 KB-tool-output chat request
// straight to the fake provider, then through the Node proxy started with the package's CLI
// (`headroom-wasm proxy`), each in its own process. Asserts no errors; prints the added latency
// (a report, not a timed assertion: this machine is shared). Also checks the CLI's flags.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { installPackage, here, freePort } from './helpers.mjs';
import { openaiBody } from './llm-upstream.mjs';

const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 2000);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 32);
const KEY = 'sk-load-test-0123456789abcdef';

let app;
let cli;
const children = [];
let upstreamUrl;

function startChild(args, readyRe) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = readyRe.exec(out);
      if (m) resolve({ child, match: m });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
  });
}

before(async () => {
  app = installPackage('proxy-load');
  cli = join(app, 'node_modules/headroom-wasm/cli.js');
  upstreamUrl = (await startChild([join(here, 'upstream-server.mjs')], /(http:\/\/127\.0\.0\.1:\d+)/)).match[1];
});

after(() => {
  for (const c of children) c.kill();
});

function run(url, connections = CONNECTIONS, amount = REQUESTS) {
  return autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    connections,
    amount,
    timeout: 30,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify(openaiBody()),
  });
}

test(`load: ${REQUESTS} requests, ${CONNECTIONS} connections, ~50 KB tool outputs, through the Node proxy`, { timeout: 300_000 }, async (t) => {
  const port = await freePort();
  await startChild([cli, 'proxy', '--port', String(port), '--openai-api-url', upstreamUrl], /listening on (http:\/\/\S+)/);
  const proxyUrl = `http://127.0.0.1:${port}`;
  const bodyBytes = JSON.stringify(openaiBody()).length;

  await run(upstreamUrl); // warm both paths (JIT, keep-alive pools) before measuring
  const direct = await run(upstreamUrl);
  const proxied = await run(proxyUrl);
  for (const [name, r] of [['direct', direct], ['proxy', proxied]]) {
    assert.equal(r.errors, 0, `${name}: errors`);
    assert.equal(r.timeouts, 0, `${name}: timeouts`);
    assert.equal(r.non2xx, 0, `${name}: non-2xx`);
    assert.ok(r.requests.total >= REQUESTS, `${name}: ${r.requests.total} requests`);
  }
  // One connection, one request at a time: the added latency without queueing.
  const direct1 = await run(upstreamUrl, 1, 300);
  const proxied1 = await run(proxyUrl, 1, 300);
  assert.equal(direct1.errors + proxied1.errors + direct1.non2xx + proxied1.non2xx, 0);
  const stats = await (await fetch(`${proxyUrl}/stats`)).json();
  assert.equal(stats.requests.failed, 0);
  assert.ok(stats.tokens.saved > 0);
  const report =
    `load (${REQUESTS} requests x ${bodyBytes} B body, ${CONNECTIONS} connections, loopback): ` +
    `direct p50 ${direct.latency.p50} ms p99 ${direct.latency.p99} ms (${direct.requests.average} req/s); ` +
    `proxy p50 ${proxied.latency.p50} ms p99 ${proxied.latency.p99} ms (${proxied.requests.average} req/s); ` +
    `added p50 ${(proxied.latency.p50 - direct.latency.p50).toFixed(1)} ms, p99 ${(proxied.latency.p99 - direct.latency.p99).toFixed(1)} ms; ` +
    `savings ${stats.tokens.savings_percent}% of ${stats.tokens.input} tokens. ` +
    `Sequential (1 connection, 300 requests): direct p50 ${direct1.latency.p50} ms p99 ${direct1.latency.p99} ms; ` +
    `proxy p50 ${proxied1.latency.p50} ms p99 ${proxied1.latency.p99} ms; added p50 ${(proxied1.latency.p50 - direct1.latency.p50).toFixed(1)} ms, p99 ${(proxied1.latency.p99 - direct1.latency.p99).toFixed(1)} ms`;
  t.diagnostic(report);
  console.log(report);
});

test('CLI: --help, --llmlingua unavailable, bad flags, --log-file JSONL without keys', async () => {
  const help = spawnSync(process.execPath, [cli, 'proxy', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const flag of ['--port', '--host', '--no-optimize', '--no-cache', '--budget', '--log-file', '--log-level', '--openai-api-url', '--anthropic-api-url', '--llmlingua']) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const ml = spawnSync(process.execPath, [cli, 'proxy', '--llmlingua'], { encoding: 'utf8' });
  assert.equal(ml.status, 2);
  assert.match(ml.stderr, /not available in this build/);
  const bad = spawnSync(process.execPath, [cli, 'proxy', '--budget', 'lots'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);

  const logFile = join(app, 'cli.jsonl');
  rmSync(logFile, { force: true });
  const port = await freePort();
  const { child } = await startChild([cli, 'proxy', '--port', String(port), '--openai-api-url', upstreamUrl, '--log-file', logFile, '--no-optimize', '--budget', '5'], /listening on (http:\/\/\S+)/);
  const url = `http://127.0.0.1:${port}`;
  const body = JSON.stringify(openaiBody());
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-headroom-mode'), 'audit');
  const h = await (await fetch(`${url}/health`)).json();
  assert.equal(h.mode, 'audit');
  const down = await fetch(`http://127.0.0.1:${port}/v1/chat/completions?key=${KEY}`, { method: 'POST', headers: { 'x-headroom-mode': 'optimize' }, body: '{"model":"gpt-4o","messages":[{"role":"tool","tool_call_id":"x","content":"y"}]}' });
  assert.equal(down.status, 200);
  child.kill();
  await once(child, 'exit');
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 2);
  assert.ok(lines.every((l) => l.ts && l.level && l.msg));
  assert.ok(!readFileSync(logFile, 'utf8').includes(KEY.slice(3)), 'no key in the log file');
});
