// The proxy as a Cloudflare Worker, in workerd (miniflare): the package's worker/index.js copied
// into an app, bundled the way wrangler bundles it, with a KV namespace for the originals, the
// official clients pointed at it and the fake provider on loopback behind it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { installPackage, bundleWorker, WORKER_RULES } from './helpers.mjs';
import { startUpstream, openaiBody, anthropicBody, MARKER_RE } from './llm-upstream.mjs';

const KEY_A = 'sk-worker-tenant-a-0123456789abcdef';
const KEY_B = 'sk-worker-tenant-b-fedcba9876543210';

let mf;
let base;
let upstream;
let kv;

before(async () => {
  upstream = await startUpstream();
  const closed = await startUpstream();
  const deadUrl = closed.url; // a loopback port with nothing listening once closed
  await closed.close();
  const app = installPackage('proxy-worker');
  const shipped = join(app, 'node_modules/headroom-wasm/worker');
  copyFileSync(join(shipped, 'index.js'), join(app, 'index.js'));
  assert.match(readFileSync(join(shipped, 'wrangler.toml'), 'utf8'), /binding = "HEADROOM_CCR"/);
  const script = await bundleWorker(app, 'index.js');
  mf = new Miniflare({
    ...WORKER_RULES,
    scriptPath: script,
    kvNamespaces: ['HEADROOM_CCR'],
    bindings: { OPENAI_API_URL: upstream.url, ANTHROPIC_API_URL: upstream.url, GEMINI_API_URL: deadUrl, HEADROOM_CCR_TTL_SECONDS: '600' },
    host: '127.0.0.1',
    port: 0,
  });
  base = (await mf.ready).href.replace(/\/$/, '');
  kv = await mf.getKVNamespace('HEADROOM_CCR');
});

after(async () => {
  await mf?.dispose();
  await upstream?.close();
});

const openai = (key = KEY_A, headers = {}) => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, defaultHeaders: headers, maxRetries: 0 });

test('worker: openai client, compressed request, originals in KV under the tenant', async () => {
  const n = upstream.requests.length;
  const { data, response } = await openai().chat.completions.create(openaiBody()).withResponse();
  assert.match(data.choices[0].message.content, /^ok: 4 messages, retrieve tool present/);
  const got = upstream.requests[n];
  assert.equal(got.headers.authorization, `Bearer ${KEY_A}`);
  assert.ok(got.body.length < JSON.stringify(openaiBody()).length / 4);
  const hash = MARKER_RE.exec(got.body)[1];
  assert.ok(Number(response.headers.get('x-headroom-tokens-saved')) > 5000);
  const keys = (await kv.list()).keys.map((k) => k.name);
  const mine = keys.find((k) => k.endsWith(`:${hash}`));
  assert.ok(mine, `KV holds ${hash}: ${keys}`);
  assert.match(mine, /^[0-9a-f]{16}:[0-9a-f]{24}$/);
  assert.equal(JSON.parse(await kv.get(mine)).results.length, 400);
});

test('worker: retrieve round trips, not streaming and streaming (openai and anthropic)', async () => {
  const r = await openai(KEY_A, { 'x-test-scenario': 'retrieve' }).chat.completions.create(openaiBody());
  assert.match(r.choices[0].message.content, /^retrieved \d+ chars; has item 399: true; has item 200: true/);

  const stream = await openai(KEY_A, { 'x-test-scenario': 'retrieve' }).chat.completions.create({ ...openaiBody(), stream: true });
  let content = '';
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0]?.delta?.tool_calls, undefined);
    content += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.match(content, /^Let me look at the full list\. retrieved \d+ chars; has item 399: true/);

  const ant = new Anthropic({ apiKey: KEY_A, baseURL: base, defaultHeaders: { 'x-test-scenario': 'retrieve' }, maxRetries: 0 });
  const final = await ant.messages.stream(anthropicBody()).finalMessage();
  assert.deepEqual(final.content.map((b) => b.type), ['text', 'text']);
  assert.match(final.content[1].text, /^retrieved \d+ chars; has item 399: true/);
});

test('worker: a streamed answer is relayed byte for byte', async () => {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...openaiBody(), stream: true }),
  });
  assert.equal(await res.text(), upstream.sent[upstream.sent.length - 1]);
});

test('worker: one tenant cannot read another tenant\'s hash (endpoint, retrieve tool, KV keys)', async () => {
  const r = await (await fetch(`${base}/v1/compress`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ messages: openaiBody({ items: 350 }).messages, model: 'gpt-4o' }) })).json();
  const hash = r.markers[0];
  assert.equal((await fetch(`${base}/v1/retrieve/${hash}`, { headers: { authorization: `Bearer ${KEY_A}` } })).status, 200);
  assert.equal((await fetch(`${base}/v1/retrieve/${hash}`, { headers: { authorization: `Bearer ${KEY_B}` } })).status, 404);
  assert.equal((await fetch(`${base}/v1/retrieve/${hash}`)).status, 404);

  // Served from KV, not from the isolate's engine: a value only KV has is found for its tenant.
  const tenantA = (await kv.list()).keys.map((k) => k.name).find((k) => k.endsWith(`:${hash}`)).split(':')[0];
  const planted = 'abcdefabcdefabcdefabcdef';
  await kv.put(`${tenantA}:${planted}`, 'only in KV');
  const got = await fetch(`${base}/v1/retrieve/${planted}`, { headers: { authorization: `Bearer ${KEY_A}` } });
  assert.deepEqual(await got.json(), { hash: planted, content: 'only in KV' });
  assert.equal((await fetch(`${base}/v1/retrieve/${planted}`, { headers: { authorization: `Bearer ${KEY_B}` } })).status, 404);

  // Tenant B's model asking for A's hash through headroom_retrieve gets "not stored".
  const body = openaiBody();
  body.messages[2].content = `[headroom: 1 item; retrieve the original with headroom_retrieve hash=${hash}]`;
  body.messages.push({ role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'search', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_2', content: openaiBody({ items: 300 }).messages[2].content }, { role: 'user', content: 'and?' });
  const n = upstream.requests.length;
  await openai(KEY_B, { 'x-test-scenario': 'retrieve' }).chat.completions.create(body);
  const second = JSON.parse(upstream.requests[n + 1].body);
  assert.match(second.messages[second.messages.length - 1].content, /^Error: no original is stored under hash/);
});

test('worker: failures (upstream 4xx passes through, compression failure forwards the original, 502) and no key in stats/metrics', async () => {
  await assert.rejects(openai(KEY_A, { 'x-test-scenario': 'error400' }).chat.completions.create(openaiBody()), (e) => e.status === 400);
  const bad = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] });
  const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}` }, body: bad });
  assert.equal(res.status, 200);
  assert.equal(upstream.requests[upstream.requests.length - 1].body, bad);

  const down = await fetch(`${base}/v1beta/models/gemini-2.5-flash:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': KEY_A }, body: '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}' });
  // The Gemini upstream points at a closed loopback port: unreachable -> 502.
  assert.equal(down.status, 502);
  assert.equal((await down.json()).error.type, 'upstream_unreachable');

  const all = (await (await fetch(`${base}/stats`)).text()) + (await (await fetch(`${base}/metrics`)).text());
  assert.ok(!all.includes(KEY_A) && !all.includes(KEY_B));
  assert.ok(JSON.parse((await (await fetch(`${base}/stats`)).text())).requests.failed >= 1);
});
