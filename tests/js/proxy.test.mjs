// The proxy (`headroom-wasm/proxy`) in Node, from the packed package, with the official `openai`
// and `@anthropic-ai/sdk` clients pointed at it and a fake provider on loopback behind it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { installPackage, importFrom } from './helpers.mjs';
import { startUpstream, openaiBody, anthropicBody, geminiBody, MARKER_RE } from './llm-upstream.mjs';

const KEY_A = 'sk-test-tenant-a-0123456789abcdef';
const KEY_B = 'sk-test-tenant-b-fedcba9876543210';
const ANT_KEY = 'sk-ant-test-0123456789abcdef0123';

let app;
let px; // the package's proxy entry
let upstream;
let proxy;
let logs = [];
let logFile;

before(async () => {
  app = installPackage('proxy');
  px = await importFrom(app, 'headroom-wasm/proxy');
  upstream = await startUpstream();
  logFile = join(app, 'proxy.jsonl');
  rmSync(logFile, { force: true });
  proxy = await px.startProxyServer({
    port: 0,
    upstreams: { openai: upstream.url, anthropic: upstream.url, google: upstream.url },
    logLevel: 'debug',
    logger: (e) => logs.push(e),
  });
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
});

const openai = (key = KEY_A, headers = {}) => new OpenAI({ apiKey: key, baseURL: `${proxy.url}/v1`, defaultHeaders: headers, maxRetries: 0 });
const anthropic = (headers = {}) => new Anthropic({ apiKey: ANT_KEY, baseURL: proxy.url, defaultHeaders: headers, maxRetries: 0 });
const lastRequest = () => upstream.requests[upstream.requests.length - 1];

/** Tool results answer the call just before them, by id. */
function assertOpenAiPairing(messages) {
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'tool') continue;
    let j = i - 1;
    while (messages[j].role === 'tool') j--;
    assert.ok(messages[j].tool_calls.some((c) => c.id === messages[i].tool_call_id), `tool result ${messages[i].tool_call_id} has its call`);
  }
}

test('openai client: the request is compressed on its way, tools paired, retrieve tool added, key forwarded', async () => {
  const before = upstream.requests.length;
  const body = openaiBody();
  const { data, response } = await openai().chat.completions.create(body).withResponse();
  assert.match(data.choices[0].message.content, /^ok: 4 messages, retrieve tool present/);
  assert.equal(upstream.requests.length, before + 1);
  const got = lastRequest();
  assert.equal(got.path, '/v1/chat/completions');
  assert.equal(got.headers.authorization, `Bearer ${KEY_A}`);
  const sent = JSON.parse(got.body);
  const originalSize = JSON.stringify(body).length;
  assert.ok(got.body.length < originalSize / 4, `compressed: ${originalSize} -> ${got.body.length} bytes`);
  assert.match(sent.messages[2].content, MARKER_RE);
  assert.deepEqual(sent.messages.map((m) => m.role), ['user', 'assistant', 'tool', 'user']);
  assertOpenAiPairing(sent.messages);
  assert.deepEqual(sent.tools.map((t) => t.function.name), ['search', 'headroom_retrieve']);
  const before_ = Number(response.headers.get('x-headroom-tokens-before'));
  const after_ = Number(response.headers.get('x-headroom-tokens-after'));
  assert.ok(before_ > 10000 && after_ < before_ / 4, `${before_} -> ${after_}`);
  assert.equal(Number(response.headers.get('x-headroom-tokens-saved')), before_ - after_);
});

test('openai client: a streamed answer reaches the client byte for byte', async () => {
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
    body: JSON.stringify(openaiBody({ extra: { stream: true, stream_options: { include_usage: true } } })),
  });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const text = await res.text();
  assert.equal(text, upstream.sent[upstream.sent.length - 1]);
  assert.ok(text.includes('data: [DONE]'));

  // And through the SDK's stream iterator.
  const stream = await openai().chat.completions.create({ ...openaiBody(), stream: true });
  let content = '';
  for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
  assert.match(content, /^ok: 4 messages, retrieve tool present/);
});

test('openai client: a headroom_retrieve call is answered by the proxy and the call continues (not streaming)', async () => {
  const before = upstream.requests.length;
  const res = await openai(KEY_A, { 'x-test-scenario': 'retrieve' }).chat.completions.create(openaiBody());
  const msg = res.choices[0].message;
  assert.equal(msg.tool_calls, undefined, 'the client never sees the retrieve call');
  assert.match(msg.content, /^retrieved \d+ chars; has item 399: true; has item 200: true/);
  assert.equal(upstream.requests.length, before + 2);
  const second = JSON.parse(lastRequest().body);
  const answer = second.messages[second.messages.length - 1];
  assert.equal(answer.role, 'tool');
  assert.equal(answer.tool_call_id, 'call_r1');
  assert.deepEqual(JSON.parse(answer.content).results.length, 400, 'the original tool output, whole');
  assertOpenAiPairing(second.messages);
});

test('openai client: a retrieve call mid-stream is answered and the same client stream continues', async () => {
  const before = upstream.requests.length;
  const stream = await openai(KEY_A, { 'x-test-scenario': 'retrieve' }).chat.completions.create({ ...openaiBody(), stream: true });
  let content = '';
  let sawToolCall = false;
  let finish = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (c?.delta?.tool_calls) sawToolCall = true;
    content += c?.delta?.content ?? '';
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.equal(sawToolCall, false);
  assert.equal(finish, 'stop');
  assert.match(content, /^Let me look at the full list\. retrieved \d+ chars; has item 399: true; has item 200: true/);
  assert.equal(upstream.requests.length, before + 2);
  // The SDK's accumulating helper sees one coherent completion too.
  const runner = openai(KEY_A, { 'x-test-scenario': 'retrieve' }).chat.completions.stream(openaiBody());
  const final = await runner.finalChatCompletion();
  assert.match(final.choices[0].message.content, /retrieved \d+ chars/);
  assert.ok(!final.choices[0].message.tool_calls?.length);
});

test('openai client: Responses API requests are compressed and retrieve calls answered', async () => {
  const chat = openaiBody();
  const input = [
    { role: 'user', content: 'Search for Python tutorials' },
    { type: 'function_call', call_id: 'call_1', name: 'search', arguments: '{"q":"python"}' },
    { type: 'function_call_output', call_id: 'call_1', output: chat.messages[2].content },
    { role: 'user', content: 'What are the top 3?' },
  ];
  const tools = [{ type: 'function', name: 'search', description: 'web search', parameters: { type: 'object', properties: { q: { type: 'string' } } } }];
  const before = upstream.requests.length;
  const res = await openai(KEY_A, { 'x-test-scenario': 'retrieve' }).responses.create({ model: 'gpt-4o-mini', input, tools });
  assert.match(res.output_text, /^retrieved \d+ chars; has item 399: true/);
  assert.equal(upstream.requests.length, before + 2);
  const first = JSON.parse(upstream.requests[before].body);
  assert.ok(first.input[2].output.length < chat.messages[2].content.length / 4);
  assert.match(first.input[2].output, MARKER_RE);
  assert.deepEqual(first.tools.map((t) => t.name), ['search', 'headroom_retrieve']);
});

test('anthropic client: compressed, paired, retrieve answered, streams byte-identical and continued', async () => {
  const client = anthropic();
  const before = upstream.requests.length;
  const msg = await client.messages.create(anthropicBody());
  assert.match(msg.content[0].text, /^ok: 3 messages, retrieve tool present/);
  const got = lastRequest();
  assert.equal(got.path, '/v1/messages');
  // This SDK version sends the key as a bearer token; older ones as x-api-key. Either is forwarded.
  assert.ok([got.headers['x-api-key'], got.headers.authorization].some((h) => h?.endsWith(ANT_KEY)));
  const sent = JSON.parse(got.body);
  assert.ok(got.body.length < JSON.stringify(anthropicBody()).length / 4);
  const result = sent.messages[2].content.find((b) => b.type === 'tool_result');
  assert.equal(result.tool_use_id, sent.messages[1].content[0].id);
  assert.match(typeof result.content === 'string' ? result.content : JSON.stringify(result.content), MARKER_RE);
  assert.equal(upstream.requests.length, before + 1);

  // Streaming, no detour: byte for byte.
  const res = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': ANT_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ ...anthropicBody(), stream: true }),
  });
  assert.equal(await res.text(), upstream.sent[upstream.sent.length - 1]);

  // Retrieve, not streaming.
  const r = await anthropic({ 'x-test-scenario': 'retrieve' }).messages.create(anthropicBody());
  assert.equal(r.stop_reason, 'end_turn');
  assert.match(r.content[0].text, /^retrieved \d+ chars; has item 399: true; has item 200: true/);

  // Retrieve mid-stream, through the SDK's accumulating stream helper.
  const n = upstream.requests.length;
  const stream = anthropic({ 'x-test-scenario': 'retrieve' }).messages.stream(anthropicBody());
  const events = [];
  stream.on('streamEvent', (e) => events.push(e));
  const final = await stream.finalMessage();
  assert.equal(upstream.requests.length, n + 2);
  assert.deepEqual(final.content.map((b) => b.type), ['text', 'text']);
  assert.equal(final.content[0].text, 'Let me look at the full list.');
  assert.match(final.content[1].text, /^retrieved \d+ chars; has item 399: true/);
  assert.equal(final.stop_reason, 'end_turn');
  assert.ok(!events.some((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use'));
  assert.equal(events.filter((e) => e.type === 'message_start').length, 1);
});

test('gemini routes: generateContent and streamGenerateContent (SSE) with retrieve round trips', async () => {
  const url = `${proxy.url}/v1beta/models/gemini-2.5-flash:generateContent`;
  const headers = { 'x-goog-api-key': KEY_A, 'content-type': 'application/json', 'x-test-scenario': 'retrieve' };
  const before = upstream.requests.length;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(geminiBody()) });
  assert.equal(res.status, 200);
  const json = await res.json();
  assert.match(json.candidates[0].content.parts[0].text, /retrieved \d+ chars; has item 399: true/);
  assert.equal(upstream.requests.length, before + 2);
  const first = JSON.parse(upstream.requests[before].body);
  assert.ok(upstream.requests[before].body.length < JSON.stringify(geminiBody()).length / 4);
  assert.equal(first.contents[2].parts[0].functionResponse.name, 'search');

  const s = await fetch(`${proxy.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { method: 'POST', headers, body: JSON.stringify(geminiBody()) });
  const text = await s.text();
  assert.ok(!text.includes('headroom_retrieve'), 'the retrieve call stays hidden');
  assert.match(text, /retrieved \d+ chars; has item 399: true/);
});

test('failures: upstream 4xx passes through, compression failure forwards the original bytes, upstream down is 502', async () => {
  // Upstream 4xx: status and body as they were.
  await assert.rejects(openai(KEY_A, { 'x-test-scenario': 'error400' }).chat.completions.create(openaiBody()), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.message, /bad thing from upstream/);
    return true;
  });
  // A request the engine rejects (a tool result with no call) goes out exactly as it came.
  const bad = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x'.repeat(5000) }, { role: 'user', content: 'hi' }] });
  const failedBefore = (await (await fetch(`${proxy.url}/stats`)).json()).requests.failed;
  const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' }, body: bad });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-headroom-mode'), 'failed-open');
  assert.equal(lastRequest().body, bad);
  assert.equal((await (await fetch(`${proxy.url}/stats`)).json()).requests.failed, failedBefore + 1);

  // Nothing listening upstream: a 502 with a JSON error, and no key in it.
  const dead = await upstreamThatIsDown();
  const p2 = await px.startProxyServer({ port: 0, upstreams: { openai: dead, anthropic: dead } });
  try {
    const r = await fetch(`${p2.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify(openaiBody()) });
    assert.equal(r.status, 502);
    const j = await r.json();
    assert.equal(j.error.type, 'upstream_unreachable');
    assert.ok(!JSON.stringify(j).includes(KEY_A));
    await assert.rejects(new OpenAI({ apiKey: KEY_A, baseURL: `${p2.url}/v1`, maxRetries: 0 }).chat.completions.create(openaiBody()), (e) => e.status === 502);
  } finally {
    await p2.close();
  }
});

async function upstreamThatIsDown() {
  const u = await startUpstream();
  const url = u.url;
  await u.close();
  return url;
}

test('limits: body over the limit is 413; budget spent is 429', async () => {
  const handler = px.createProxyHandler({ upstreams: { openai: upstream.url }, maxBodyBytes: 1000 });
  const r = await handler(new Request('http://proxy/v1/chat/completions', { method: 'POST', body: JSON.stringify(openaiBody()) }));
  assert.equal(r.status, 413);
  assert.equal((await r.json()).error.type, 'request_too_large');

  // The fake upstream reports 1000 input + 20 output tokens: $0.000162 at gpt-4o-mini's list price.
  const budgeted = px.createProxyHandler({ upstreams: { openai: upstream.url }, budgetUsd: 0.0001 });
  const req = () => new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify(openaiBody()) });
  assert.equal((await budgeted(req())).status, 200);
  const over = await budgeted(req());
  assert.equal(over.status, 429);
  assert.equal((await over.json()).error.type, 'budget_exceeded');
  const stats = await (await budgeted(new Request('http://proxy/stats'))).json();
  assert.equal(stats.requests.rate_limited, 1);
  assert.ok(stats.cost.total_cost_usd > 0.0001);
});

test('headers and overrides: bypass and audit forward the exact bytes; headroom_* body fields are stripped', async () => {
  const text = JSON.stringify(openaiBody());
  for (const h of [{ 'x-headroom-bypass': 'true' }, { 'x-headroom-mode': 'audit' }]) {
    const r = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}`, ...h }, body: text });
    assert.equal(r.status, 200);
    assert.equal(lastRequest().body, text, JSON.stringify(h));
    assert.ok(!('x-headroom-bypass' in lastRequest().headers) && !('x-headroom-mode' in lastRequest().headers));
  }
  await openai().chat.completions.create({ ...openaiBody(), headroom_mode: 'audit', headroom_keep_turns: 2, headroom_tool_profiles: { search: { skip_compression: true } } });
  const sent = lastRequest().body;
  assert.ok(!sent.includes('headroom_mode') && !sent.includes('headroom_keep_turns') && !sent.includes('headroom_tool_profiles'));
  assert.ok(!MARKER_RE.test(sent), 'audit: not compressed');
  await openai().chat.completions.create({ ...openaiBody(), headroom_tool_profiles: { search: { skip_compression: true } } });
  assert.ok(!MARKER_RE.test(lastRequest().body), 'skip_compression for the tool: not compressed');
});

test('other paths pass through untouched, with the caller key', async () => {
  const models = await fetch(`${proxy.url}/v1/models`, { headers: { authorization: `Bearer ${KEY_A}` } });
  assert.deepEqual(await models.json(), { passthrough: true, path: '/v1/models', method: 'GET' });
  assert.equal(lastRequest().headers.authorization, `Bearer ${KEY_A}`);
  const emb = await fetch(`${proxy.url}/v1/embeddings?x=1`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}` }, body: '{"input":"hi"}' });
  assert.equal((await emb.json()).path, '/v1/embeddings?x=1');
  assert.equal(lastRequest().body, '{"input":"hi"}');
});

test('/v1/compress and /v1/retrieve: originals only for the API key that stored them', async () => {
  const res = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ messages: openaiBody().messages, model: 'gpt-4o' }) });
  assert.equal(res.status, 200);
  const r = await res.json();
  assert.ok(r.tokensSaved > 0 && r.markers.length === 1);
  const hash = r.markers[0];
  const mine = await fetch(`${proxy.url}/v1/retrieve/${hash}`, { headers: { authorization: `Bearer ${KEY_A}` } });
  assert.equal(mine.status, 200);
  assert.equal(JSON.parse((await mine.json()).content).results.length, 400);
  for (const headers of [{ authorization: `Bearer ${KEY_B}` }, {}, { 'x-api-key': KEY_A.slice(0, -1) }]) {
    const other = await fetch(`${proxy.url}/v1/retrieve/${hash}`, { headers });
    assert.equal(other.status, 404, JSON.stringify(Object.keys(headers)));
  }
  assert.equal((await fetch(`${proxy.url}/v1/retrieve/nothex`)).status, 400);

  // A model answering for tenant B cannot pull tenant A's original through the retrieve tool either.
  const body = openaiBody({ extra: { messages: [...openaiBody().messages.slice(0, 2), { role: 'tool', tool_call_id: 'call_1', content: `[headroom: 1 item; retrieve the original with headroom_retrieve hash=${hash}]` }, { role: 'user', content: 'go' }] } });
  // Make B's request carry a marker of its own so the proxy offers the tool and answers calls.
  body.messages.push({ role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'search', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_2', content: JSON.stringify({ results: (await import('./llm-upstream.mjs')).results(300) }) }, { role: 'user', content: 'and?' });
  const n = upstream.requests.length;
  await openai(KEY_B, { 'x-test-scenario': 'retrieve' }).chat.completions.create(body);
  const second = JSON.parse(upstream.requests[n + 1].body);
  const ans = second.messages[second.messages.length - 1];
  assert.equal(ans.role, 'tool');
  assert.match(ans.content, /^Error: no original is stored under hash/);
});

test('/health, /stats (the seed shape) and /metrics (Prometheus)', async () => {
  const h = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(h.status, 'healthy');
  const s = await (await fetch(`${proxy.url}/stats`)).json();
  for (const [k, fields] of Object.entries({ requests: ['total', 'cached', 'rate_limited', 'failed'], tokens: ['input', 'output', 'saved', 'savings_percent'], cost: ['total_cost_usd', 'total_savings_usd'], cache: ['entries', 'total_hits'] })) {
    for (const f of fields) assert.equal(typeof s[k][f], 'number', `${k}.${f}`);
  }
  assert.ok(s.tokens.saved > 0 && s.requests.total > 5 && s.cache.total_hits > 0);
  const m = await (await fetch(`${proxy.url}/metrics`)).text();
  assert.match(m, /^headroom_requests_total\{mode="optimize"\} \d+$/m);
  assert.match(m, /^headroom_tokens_saved_total [1-9]\d*$/m);
  assert.match(m, /^headroom_compression_ratio_bucket\{le="0.5"\} [1-9]\d*$/m);
  assert.match(m, /^headroom_compression_latency_ms_count [1-9]\d*$/m);
});

test('no API key appears in any log entry, stats or metrics', async () => {
  assert.ok(logs.length > 10);
  const all = JSON.stringify(logs) + (await (await fetch(`${proxy.url}/stats`)).text()) + (await (await fetch(`${proxy.url}/metrics`)).text());
  for (const k of [KEY_A, KEY_B, ANT_KEY, KEY_A.slice(3, 20)]) assert.ok(!all.includes(k), 'a key leaked');
  assert.ok(logs.some((e) => e.msg === 'compression failed; forwarding the original request'));
  // The redactor also catches keys in free text (e.g. an upstream error message echoing a key).
  assert.equal(px.redact(`bad key ${KEY_A} and Bearer abc.def and ?key=AIzaXYZ`, null), 'bad key [REDACTED] and [REDACTED] and ?key=[REDACTED]');
});

test('exports map and options: ./proxy has the ordered conditions; bad options throw ConfigurationError', async () => {
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules/headroom-wasm/package.json'), 'utf8'));
  assert.deepEqual(Object.keys(pkg.exports['./proxy']), ['types', 'workerd', 'browser', 'node', 'default']);
  const { ConfigurationError } = await importFrom(app, 'headroom-wasm/errors');
  for (const bad of [{ budget: 1 }, { config: { nope: 1 } }, { mode: 'simulate' }, { budgetUsd: -1 }, { llmlingua: true }]) {
    assert.throws(() => px.createProxyHandler(bad), (e) => e instanceof ConfigurationError, JSON.stringify(bad));
  }
  // --no-cache's engine config is valid.
  px.createProxyHandler({ config: { cacheAligner: { mode: 'detect' }, cacheOptimizer: { enabled: false } } });
});
