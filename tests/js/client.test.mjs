// HeadroomClient from the packed package, wrapping the official `openai` and `@anthropic-ai/sdk`
// clients whose baseURL is the fake provider on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { installPackage, importFrom } from './helpers.mjs';
import { startUpstream, openaiBody, anthropicBody, MARKER_RE } from './llm-upstream.mjs';

let app;
let hw;
let upstream;

before(async () => {
  app = installPackage('client');
  hw = await importFrom(app, 'headroom-wasm');
  upstream = await startUpstream();
});

after(async () => {
  await upstream?.close();
});

const oa = (headers = {}) => new OpenAI({ apiKey: 'sk-client-test-0123456789', baseURL: `${upstream.url}/v1`, defaultHeaders: headers, maxRetries: 0 });
const an = (headers = {}) => new Anthropic({ apiKey: 'sk-ant-client-0123456789', baseURL: upstream.url, defaultHeaders: headers, maxRetries: 0 });
const last = () => upstream.requests[upstream.requests.length - 1];

test('default mode is audit: the request goes out unchanged, savings are only measured', async () => {
  const client = new hw.HeadroomClient({ originalClient: oa(), provider: 'openai' });
  const body = openaiBody();
  const res = await client.chat.completions.create(body);
  assert.match(res.choices[0].message.content, /^ok: 4 messages, retrieve tool absent/);
  assert.deepEqual(JSON.parse(last().body), body);
  const s = client.getStats();
  assert.equal(s.config.mode, 'audit');
  assert.equal(s.config.provider, 'openai');
  assert.equal(s.session.requests_audited, 1);
  assert.equal(s.session.tokens_saved_total, 0);
  assert.equal(s.transforms.smart_crusher_enabled, true);
  const [m] = await client.getMetrics();
  assert.ok(m.potential_tokens_saved > 5000, `potential ${m.potential_tokens_saved}`);
});

test('optimize: compressed, retrieve calls answered invisibly (plain and streaming), overrides stripped', async () => {
  const client = new hw.HeadroomClient({ originalClient: oa({ 'x-test-scenario': 'retrieve' }), defaultMode: 'optimize' });
  const n = upstream.requests.length;
  const res = await client.chat.completions.create(openaiBody());
  assert.equal(res.choices[0].message.tool_calls, undefined);
  assert.match(res.choices[0].message.content, /^retrieved \d+ chars; has item 399: true; has item 200: true/);
  assert.equal(upstream.requests.length, n + 2);
  assert.match(upstream.requests[n].body, MARKER_RE);
  assert.ok(upstream.requests[n].body.length < JSON.stringify(openaiBody()).length / 4);

  const stream = await client.chat.completions.create({ ...openaiBody(), stream: true });
  let content = '';
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0]?.delta?.tool_calls, undefined);
    content += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.match(content, /^Let me look at the full list\. retrieved \d+ chars; has item 399: true/);

  // Per-request overrides, snake_case as in the seed, never reach the provider.
  await client.chat.completions.create({ ...openaiBody(), headroom_mode: 'audit', headroom_output_buffer_tokens: 8000, headroom_keep_turns: 5 });
  const sent = last().body;
  assert.ok(!/headroom_(mode|output_buffer_tokens|keep_turns)/.test(sent));
  assert.ok(!MARKER_RE.test(sent), 'audit for this request');
  await client.chat.completions.create({ ...openaiBody(), headroom_tool_profiles: { search: { skip_compression: true } } });
  assert.ok(!MARKER_RE.test(last().body) && !last().body.includes('headroom_tool_profiles'));

  const s = client.getStats().session;
  assert.equal(s.requests_total, 4);
  assert.equal(s.retrieve_rounds_total, 2);
  assert.ok(s.tokens_saved_total > 10000);
});

test('simulate: the plan, with no provider call', async () => {
  const client = new hw.HeadroomClient({ originalClient: oa(), defaultMode: 'optimize' });
  const n = upstream.requests.length;
  const plan = client.chat.completions.simulate(openaiBody());
  assert.equal(upstream.requests.length, n);
  assert.equal(plan.mode, 'simulate');
  assert.ok(plan.tokensSaved > 5000);
  assert.ok(plan.transforms.length > 0);
  assert.match(plan.estimatedSavings, /^\$\d+\.\d{4} per request$/);
});

test('responses.create: compressed function_call_output and retrieve answered', async () => {
  const client = new hw.HeadroomClient({ originalClient: oa({ 'x-test-scenario': 'retrieve' }), defaultMode: 'optimize' });
  const input = [
    { role: 'user', content: 'Search' },
    { type: 'function_call', call_id: 'call_1', name: 'search', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_1', output: openaiBody().messages[2].content },
  ];
  const res = await client.responses.create({ model: 'gpt-4o-mini', input });
  assert.match(res.output_text, /^retrieved \d+ chars; has item 399: true/);
});

test('anthropic: messages.create compressed; streamed retrieve detour hidden', async () => {
  const client = new hw.HeadroomClient({ originalClient: an({ 'x-test-scenario': 'retrieve' }), defaultMode: 'optimize' });
  assert.equal(client.getStats().config.provider, 'anthropic');
  const msg = await client.messages.create(anthropicBody());
  assert.match(msg.content[0].text, /^retrieved \d+ chars; has item 399: true/);
  const stream = await client.messages.create({ ...anthropicBody(), stream: true });
  const types = [];
  let text = '';
  for await (const e of stream) {
    types.push(e.type === 'content_block_start' ? `${e.type}:${e.content_block.type}:${e.index}` : e.type);
    if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
  }
  assert.ok(!types.some((t) => t.includes('tool_use')));
  assert.deepEqual(types.filter((t) => t.startsWith('content_block_start')), ['content_block_start:text:0', 'content_block_start:text:1']);
  assert.equal(types.filter((t) => t === 'message_start').length, 1);
  assert.match(text, /^Let me look at the full list\.retrieved \d+ chars/);
  const sim = client.messages.simulate(anthropicBody());
  assert.ok(sim.tokensSaved > 5000);
});

test('fail open, pass-through of the rest of the client, and setup validation', async () => {
  const client = new hw.HeadroomClient({ originalClient: oa(), defaultMode: 'optimize' });
  const bad = { model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] };
  await client.chat.completions.create(bad);
  assert.deepEqual(JSON.parse(last().body), bad);
  assert.equal(client.getStats().session.requests_failed, 1);
  const models = await client.models.list();
  assert.equal(last().path, '/v1/models');
  assert.ok(models);
  assert.deepEqual(client.validateSetup(), { valid: true, provider: { ok: true, name: 'openai' }, config: { ok: true, mode: 'optimize' }, storage: { ok: true, message: 'in memory', url: 'memory' }, issues: [] });
  assert.throws(() => new hw.HeadroomClient({ originalClient: {} }), hw.ConfigurationError);
  assert.throws(() => new hw.HeadroomClient({ originalClient: oa(), provider: 'cohere' }), hw.ConfigurationError);
  assert.throws(() => new hw.HeadroomClient({ originalClient: oa(), storeUrl: 'sqlite:///x.db' }), (e) => e instanceof hw.ConfigurationError && e.code === 'invalid_store_url');
  assert.throws(() => new hw.HeadroomClient({ originalClient: oa(), smartCrusher: { nope: 1 } }), hw.ConfigurationError);
});

test('metrics persist to JSONL across clients; getMetrics filters; getSummary totals', async () => {
  const dir = join(app, 'metrics');
  rmSync(dir, { recursive: true, force: true });
  const storeUrl = `jsonl://${join(dir, 'headroom.jsonl')}`;
  const c1 = new hw.HeadroomClient({ originalClient: oa(), defaultMode: 'optimize', storeUrl });
  await c1.chat.completions.create(openaiBody());
  await c1.chat.completions.create({ ...openaiBody({ model: 'gpt-4o' }), headroom_mode: 'audit' });
  const lines = readFileSync(join(dir, 'headroom.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.ok(!lines.join('').includes('sk-client-test'));
  const c2 = new hw.HeadroomClient({ originalClient: oa(), storeUrl });
  assert.equal((await c2.getMetrics()).length, 2, 'a new client reads what the first one stored');
  assert.equal((await c2.getMetrics({ mode: 'audit' })).length, 1);
  assert.equal((await c2.getMetrics({ model: 'gpt-4o-mini' }))[0].mode, 'optimize');
  assert.equal((await c2.getMetrics({ startTime: new Date(Date.now() + 60_000) })).length, 0);
  assert.equal((await c2.getMetrics({ limit: 1 })).length, 1);
  const sum = await c2.getSummary();
  assert.equal(sum.total_requests, 2);
  assert.ok(sum.total_tokens_saved > 5000);
  assert.deepEqual(sum.by_mode, { optimize: 1, audit: 1 });
  assert.equal(c2.validateSetup().valid, true);

  // An unwritable store: calls still succeed; validateSetup says what is wrong.
  if (process.getuid?.() !== 0) {
    const ro = join(app, 'ro');
    mkdirSync(ro, { recursive: true });
    chmodSync(ro, 0o500);
    const c3 = new hw.HeadroomClient({ originalClient: oa(), storeUrl: `jsonl://${join(ro, 'm.jsonl')}` });
    await c3.chat.completions.create(openaiBody());
    assert.equal(c3.validateSetup().valid, false);
  }
});

test('TypeScript: HeadroomClient keeps the wrapped client\'s types; the proxy entry is typed', async () => {
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const { here } = await import('./helpers.mjs');
  const src = `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { HeadroomClient, type RequestMetric } from 'headroom-wasm';
import { createProxyHandler, KvCcrStore, type ProxyHandler } from 'headroom-wasm/proxy';
const client = new HeadroomClient({ originalClient: new OpenAI({ apiKey: 'x' }), defaultMode: 'optimize', smartCrusher: { maxItemsAfterCrush: 20 } });
async function main() {
  const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], headroom_keep_turns: 3 });
  const text: string | null = r.choices[0].message.content;
  const plan = client.chat.completions.simulate({ model: 'gpt-4o', messages: [] });
  const saved: number = plan.tokensSaved + client.getStats().session.tokens_saved_total;
  const metrics: RequestMetric[] = await client.getMetrics({ limit: 5 });
  const models = await client.models.list();
  const ant = new HeadroomClient({ originalClient: new Anthropic({ apiKey: 'x' }) });
  const m = await ant.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
  const handler: ProxyHandler = createProxyHandler({ upstreams: { openai: 'http://127.0.0.1:1' }, budgetUsd: 1 });
  const res: Response = await handler(new Request('http://x/health'));
  console.log(text, saved, metrics.length, models, m.id, res.status, KvCcrStore);
}
main();
`;
  writeFileSync(join(app, 'user.ts'), src);
  const tsc = join(here, 'node_modules/typescript/bin/tsc');
  // The SDKs' own declarations need @types/node, so library checks are skipped for this program;
  // ours are checked strictly on their own below.
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom'];
  writeFileSync(join(app, 'own.ts'), `import { HeadroomClient, type HeadroomStats } from 'headroom-wasm';\nimport { createProxyHandler, MemoryCcrStore } from 'headroom-wasm/proxy';\nconst h = createProxyHandler({ store: new MemoryCcrStore({ maxEntries: 10 }), mode: 'audit' });\nconst c = new HeadroomClient({ originalClient: { chat: { completions: { create: async (b: { model: string }) => b.model } } } });\nconst s: HeadroomStats = c.getStats();\nconsole.log(h, s, c.chat.completions.create({ model: 'x', headroom_mode: 'optimize' }));\n`);
  for (const [file, extra] of [['user.ts', ['--skipLibCheck']], ['own.ts', ['--skipLibCheck', 'false']]]) {
    try {
      execFileSync(process.execPath, [tsc, ...flags, ...extra, file], { cwd: app, encoding: 'utf8' });
    } catch (e) {
      assert.fail(`${file}: ${e.stdout}`);
    }
  }
  writeFileSync(join(app, 'bad.ts'), `import { createProxyHandler } from 'headroom-wasm/proxy';\ncreateProxyHandler({ budget: 1 });\n`);
  assert.throws(() => execFileSync(process.execPath, [tsc, ...flags, 'bad.ts'], { cwd: app, encoding: 'utf8' }), (e) => /budget/.test(e.stdout));
});
