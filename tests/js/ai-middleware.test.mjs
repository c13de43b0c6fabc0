// headroomMiddleware with the real Vercel AI SDK (`ai`, `wrapLanguageModel`, generateText and
// streamText) and its OpenAI provider pointed at the fake provider on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, streamText, wrapLanguageModel, tool, jsonSchema } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { installPackage, importFrom } from './helpers.mjs';
import { startUpstream, results, MARKER_RE } from './llm-upstream.mjs';

let hw;
let upstream;

before(async () => {
  const app = installPackage('ai-middleware');
  hw = await importFrom(app, 'headroom-wasm');
  upstream = await startUpstream();
});

after(async () => {
  await upstream?.close();
});

const messages = () => [
  { role: 'user', content: 'Search for Python tutorials' },
  { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'search', input: { q: 'python' } }] },
  { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'search', output: { type: 'json', value: { results: results(400) } } }] },
  { role: 'user', content: 'What are the top 3?' },
];

const tools = { search: tool({ description: 'web search', inputSchema: jsonSchema({ type: 'object', properties: { q: { type: 'string' } } }) }) };

function model(scenario, middleware) {
  const provider = createOpenAI({ apiKey: 'sk-ai-sdk-test-0123456789', baseURL: `${upstream.url}/v1`, headers: { 'x-test-scenario': scenario } });
  return wrapLanguageModel({ model: provider.chat('gpt-4o-mini'), middleware });
}

test('generateText: tool results compressed, retrieve tool offered, tool pairing intact', async () => {
  const mw = hw.headroomMiddleware();
  const n = upstream.requests.length;
  const r = await generateText({ model: model('normal', mw), messages: messages(), tools });
  assert.match(r.text, /^ok: 4 messages, retrieve tool present/);
  const sent = JSON.parse(upstream.requests[n].body);
  assert.ok(upstream.requests[n].body.length < JSON.stringify(messages()).length / 4);
  assert.match(sent.messages[2].content, MARKER_RE);
  assert.equal(sent.messages[2].tool_call_id, sent.messages[1].tool_calls[0].id);
  assert.deepEqual(sent.tools.map((t) => t.function.name), ['search', 'headroom_retrieve']);
  assert.ok(mw.stats().tokensSaved > 5000);
});

test('generateText and streamText: the model\'s retrieve call is answered inside the middleware', async () => {
  const n = upstream.requests.length;
  const r = await generateText({ model: model('retrieve', hw.headroomMiddleware()), messages: messages(), tools });
  assert.match(r.text, /retrieved \d+ chars; has item 399: true; has item 200: true/);
  assert.equal(r.toolCalls.length, 0);
  assert.equal(upstream.requests.length, n + 2);

  const s = streamText({ model: model('retrieve', hw.headroomMiddleware()), messages: messages(), tools });
  let text = '';
  const types = new Set();
  for await (const part of s.fullStream) {
    types.add(part.type);
    if (part.type === 'text-delta') text += part.text;
    assert.notEqual(part.type === 'tool-call' && part.toolName, 'headroom_retrieve');
  }
  assert.match(text, /^Let me look at the full list\. retrieved \d+ chars; has item 399: true/);
  assert.ok(!types.has('error'), [...types].join());
  assert.equal((await s.finishReason), 'stop');
});

test('audit mode changes nothing', async () => {
  const n = upstream.requests.length;
  await generateText({ model: model('normal', hw.headroomMiddleware({ mode: 'audit' })), messages: messages(), tools });
  assert.ok(!MARKER_RE.test(upstream.requests[n].body));
  assert.ok(upstream.requests[n].body.includes('Tutorial 200'));
});
