// A fake LLM provider on loopback for the proxy and wrapper tests. It speaks just enough of the
// OpenAI (Chat Completions, Responses), Anthropic and Gemini wire formats, records every request
// it gets (path, headers, body) and every byte it sends, and follows a scenario picked per request
// by the `x-test-scenario` header (or `scenario` option): `normal`, `retrieve` (call
// headroom_retrieve on the first marker it sees, then answer with what it got back), `error400`.
import http from 'node:http';

export const MARKER_RE = /hash=([0-9a-f]{24})/;

/** A conversation with a ~50 KB JSON tool output (400 search results), in OpenAI format. */
export function openaiBody({ model = 'gpt-4o-mini', items = 400, extra = {} } = {}) {
  return {
    model,
    messages: [
      { role: 'user', content: 'Search for Python tutorials' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"python"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: JSON.stringify({ results: results(items) }) },
      { role: 'user', content: 'What are the top 3?' },
    ],
    tools: [{ type: 'function', function: { name: 'search', description: 'web search', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
    ...extra,
  };
}

export function anthropicBody({ model = 'claude-sonnet-4-5', items = 400, extra = {} } = {}) {
  return {
    model,
    max_tokens: 1024,
    system: 'You are a helpful assistant.',
    messages: [
      { role: 'user', content: 'Search for Python tutorials' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'python' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: JSON.stringify({ results: results(items) }) }, { type: 'text', text: 'What are the top 3?' }] },
    ],
    tools: [{ name: 'search', description: 'web search', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
    ...extra,
  };
}

export function geminiBody({ items = 400 } = {}) {
  return {
    contents: [
      { role: 'user', parts: [{ text: 'Search for Python tutorials' }] },
      { role: 'model', parts: [{ functionCall: { name: 'search', args: { q: 'python' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'search', response: { results: results(items) } } }] },
      { role: 'user', parts: [{ text: 'What are the top 3?' }] },
    ],
    tools: [{ functionDeclarations: [{ name: 'search', description: 'web search', parameters: { type: 'object', properties: { q: { type: 'string' } } } }] }],
  };
}

export function results(n) {
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    title: `Tutorial ${i} on python basics`,
    score: 1000 - i,
    status: i === 137 ? 'error: timeout' : 'ok',
    url: `https://example.com/t/${i}`,
  }));
}

const sseData = (obj) => `data: ${JSON.stringify(obj)}\n\n`;
const sseEvent = (type, obj) => `event: ${type}\ndata: ${JSON.stringify(obj)}\n\n`;

/** What the model "says" once it has the tool result of a retrieve call. */
function retrievedSummary(text) {
  return `retrieved ${text.length} chars; has item 399: ${text.includes('Tutorial 399')}; has item 200: ${text.includes('Tutorial 200')}`;
}

function openaiChat(body, scenario) {
  const last = body.messages[body.messages.length - 1];
  const hasTool = (body.tools ?? []).some((t) => t.function?.name === 'headroom_retrieve');
  const marker = MARKER_RE.exec(JSON.stringify(body.messages));
  if (last.role === 'tool' && body.messages.some((m) => m.tool_calls?.some((c) => c.function.name === 'headroom_retrieve' && c.id === last.tool_call_id))) {
    return { kind: 'text', text: retrievedSummary(last.content) };
  }
  if (scenario === 'retrieve' && hasTool && marker) return { kind: 'retrieve', hash: marker[1], pre: 'Let me look at the full list. ' };
  return { kind: 'text', text: `ok: ${body.messages.length} messages, retrieve tool ${hasTool ? 'present' : 'absent'}` };
}

function openaiChatResponse(plan, body) {
  const message = plan.kind === 'text'
    ? { role: 'assistant', content: plan.text }
    : { role: 'assistant', content: plan.pre, tool_calls: [{ id: 'call_r1', type: 'function', function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash: plan.hash }) } }] };
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1700000000,
    model: body.model,
    choices: [{ index: 0, message, finish_reason: plan.kind === 'text' ? 'stop' : 'tool_calls', logprobs: null }],
    usage: { prompt_tokens: 1000, completion_tokens: 20, total_tokens: 1020 },
  };
}

function openaiChatStream(plan, body) {
  const base = { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1700000000, model: body.model };
  const chunk = (delta, finish = null) => sseData({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const out = [chunk({ role: 'assistant', content: '' })];
  if (plan.kind === 'text') {
    for (const w of plan.text.match(/.{1,7}/gs)) out.push(chunk({ content: w }));
    out.push(chunk({}, 'stop'));
  } else {
    out.push(chunk({ content: plan.pre }));
    const args = JSON.stringify({ hash: plan.hash });
    out.push(chunk({ tool_calls: [{ index: 0, id: 'call_r1', type: 'function', function: { name: 'headroom_retrieve', arguments: '' } }] }));
    out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 10) } }] }));
    out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(10) } }] }));
    out.push(chunk({}, 'tool_calls'));
  }
  if (body.stream_options?.include_usage) out.push(sseData({ ...base, choices: [], usage: { prompt_tokens: 1000, completion_tokens: 20, total_tokens: 1020 } }));
  out.push('data: [DONE]\n\n');
  return out;
}

function anthropicPlan(body, scenario) {
  const last = body.messages[body.messages.length - 1];
  const hasTool = (body.tools ?? []).some((t) => t.name === 'headroom_retrieve');
  const marker = MARKER_RE.exec(JSON.stringify(body.messages));
  const answered = Array.isArray(last.content) && last.content.find((b) => b.type === 'tool_result' && body.messages.some((m) => Array.isArray(m.content) && m.content.some((c) => c.type === 'tool_use' && c.name === 'headroom_retrieve' && c.id === b.tool_use_id)));
  if (answered) return { kind: 'text', text: retrievedSummary(typeof answered.content === 'string' ? answered.content : JSON.stringify(answered.content)) };
  if (scenario === 'retrieve' && hasTool && marker) return { kind: 'retrieve', hash: marker[1], pre: 'Let me look at the full list.' };
  return { kind: 'text', text: `ok: ${body.messages.length} messages, retrieve tool ${hasTool ? 'present' : 'absent'}` };
}

function anthropicResponse(plan, body) {
  const content = plan.kind === 'text'
    ? [{ type: 'text', text: plan.text }]
    : [{ type: 'text', text: plan.pre }, { type: 'tool_use', id: 'toolu_r1', name: 'headroom_retrieve', input: { hash: plan.hash } }];
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: plan.kind === 'text' ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 1000, output_tokens: 20 },
  };
}

function anthropicStream(plan, body) {
  const out = [sseEvent('message_start', { type: 'message_start', message: { id: 'msg_s', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1000, output_tokens: 1 } } })];
  out.push(sseEvent('ping', { type: 'ping' }));
  const text = plan.kind === 'text' ? plan.text : plan.pre;
  out.push(sseEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  for (const w of text.match(/.{1,7}/gs)) out.push(sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } }));
  out.push(sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }));
  if (plan.kind === 'retrieve') {
    const args = JSON.stringify({ hash: plan.hash });
    out.push(sseEvent('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_r1', name: 'headroom_retrieve', input: {} } }));
    out.push(sseEvent('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, 9) } }));
    out.push(sseEvent('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(9) } }));
    out.push(sseEvent('content_block_stop', { type: 'content_block_stop', index: 1 }));
  }
  out.push(sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: plan.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } }));
  out.push(sseEvent('message_stop', { type: 'message_stop' }));
  return out;
}

function geminiPlan(body, scenario) {
  const last = body.contents[body.contents.length - 1];
  const hasTool = (body.tools ?? []).some((t) => (t.functionDeclarations ?? []).some((f) => f.name === 'headroom_retrieve'));
  const marker = MARKER_RE.exec(JSON.stringify(body.contents));
  const answered = last.parts?.find((p) => p.functionResponse?.name === 'headroom_retrieve');
  if (answered) return { kind: 'text', text: retrievedSummary(JSON.stringify(answered.functionResponse.response)) };
  if (scenario === 'retrieve' && hasTool && marker) return { kind: 'retrieve', hash: marker[1] };
  return { kind: 'text', text: `ok: ${body.contents.length} contents, retrieve tool ${hasTool ? 'present' : 'absent'}` };
}

function geminiResponse(plan) {
  const parts = plan.kind === 'text' ? [{ text: plan.text }] : [{ functionCall: { name: 'headroom_retrieve', args: { hash: plan.hash } } }];
  return { candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 20, totalTokenCount: 1020 } };
}

function responsesPlan(body, scenario) {
  const input = Array.isArray(body.input) ? body.input : [];
  const last = input[input.length - 1];
  const hasTool = (body.tools ?? []).some((t) => t.name === 'headroom_retrieve');
  const marker = MARKER_RE.exec(JSON.stringify(input));
  if (last?.type === 'function_call_output' && input.some((i) => i.type === 'function_call' && i.name === 'headroom_retrieve' && i.call_id === last.call_id)) {
    return { kind: 'text', text: retrievedSummary(last.output) };
  }
  if (scenario === 'retrieve' && hasTool && marker) return { kind: 'retrieve', hash: marker[1] };
  return { kind: 'text', text: `ok: ${input.length} items, retrieve tool ${hasTool ? 'present' : 'absent'}` };
}

function responsesResponse(plan, body) {
  const output = plan.kind === 'text'
    ? [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: plan.text, annotations: [] }] }]
    : [{ type: 'function_call', id: 'fc_1', call_id: 'call_r1', name: 'headroom_retrieve', arguments: JSON.stringify({ hash: plan.hash }), status: 'completed' }];
  return { id: 'resp_1', object: 'response', created_at: 1700000000, status: 'completed', model: body.model, output, usage: { input_tokens: 1000, output_tokens: 20, total_tokens: 1020 } };
}

/**
 * Starts the fake upstream on 127.0.0.1 (random port). Returns `{ url, requests, sent, close,
 * setDelay }`; `requests[i]` is `{ path, headers, body }` and `sent[i]` the exact text answered.
 */
export async function startUpstream({ scenario = 'normal', record = true } = {}) {
  const requests = [];
  const sent = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (record) requests.push({ path: req.url, headers: req.headers, body: text });
      const sc = req.headers['x-test-scenario'] ?? scenario;
      const log = [];
      const send = (status, type, payload) => {
        if (record) sent.push(payload);
        res.writeHead(status, { 'content-type': type, 'x-upstream': 'fake' });
        res.end(payload);
      };
      if (sc === 'error400') return send(400, 'application/json', JSON.stringify({ error: { type: 'invalid_request_error', message: 'bad thing from upstream' } }));
      if (req.method === 'GET') return send(200, 'application/json', JSON.stringify({ passthrough: true, path: req.url, method: req.method }));
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        return send(400, 'application/json', '{"error":"not json"}');
      }
      const url = new URL(req.url, 'http://x');
      const streamEvents = async (events) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const e of events) {
          log.push(e);
          res.write(e);
          await new Promise((r) => setImmediate(r));
        }
        if (record) sent.push(log.join(''));
        res.end();
      };
      if (url.pathname.endsWith('/chat/completions')) {
        const plan = openaiChat(body, sc);
        if (body.stream) return streamEvents(openaiChatStream(plan, body));
        return send(200, 'application/json', JSON.stringify(openaiChatResponse(plan, body)));
      }
      if (url.pathname.endsWith('/messages')) {
        const plan = anthropicPlan(body, sc);
        if (body.stream) return streamEvents(anthropicStream(plan, body));
        return send(200, 'application/json', JSON.stringify(anthropicResponse(plan, body)));
      }
      if (url.pathname.endsWith('/responses')) {
        return send(200, 'application/json', JSON.stringify(responsesResponse(responsesPlan(body, sc), body)));
      }
      const g = /:(generateContent|streamGenerateContent)$/.exec(url.pathname);
      if (g) {
        const plan = geminiPlan(body, sc);
        if (g[1] === 'streamGenerateContent') {
          const r = geminiResponse(plan);
          return streamEvents([sseData({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, index: 0 }] }), sseData(r)]);
        }
        return send(200, 'application/json', JSON.stringify(geminiResponse(plan)));
      }
      return send(200, 'application/json', JSON.stringify({ passthrough: true, path: req.url, method: req.method }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    sent,
    server,
    close: () => new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections?.();
    }),
  };
}
