// A fake LLM provider on loopback for the proxy and wrapper tests. It speaks just enough of the
// OpenAI (Chat Completions, Responses), Anthropic and Gemini wire formats, records every request
// it gets (path, headers, body) and every byte it sends, and follows a scenario picked per request
// by the `x-test-scenario` header (or `scenario` option): `normal`, `retrieve` (call
// headroom_retrieve on the first marker it sees, then answer with what it got back), `error400`;
// faults (slow, stalled, reset, 429/500, malformed, truncated answers) are picked by `x-test-fault`.
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
 * The fault a request asks for, from its headers, or null. `x-test-fault` is one of
 * - `slow`: wait `x-test-delay-ms` (default 2000) before answering;
 * - `stall`: send the headers and the first `x-test-events` events (default 2; half the body when
 *   not streaming), then nothing more until the client goes away;
 * - `drip`: the same, then an SSE comment every `x-test-interval-ms` (default 100) until the
 *   client goes away (a live stream that never ends);
 * - `reset`: the same, then destroy the socket (a connection reset mid-stream / mid-body); with
 *   `x-test-partial: 1` half of the next event goes out first (a reset in the middle of an event);
 * - `status`: answer `x-test-status` (default 500) with a provider-style JSON error, plus a
 *   `retry-after: x-test-retry-after` header when given;
 * - `malformed`: 200 with a body that is not JSON (its first half; the length is right);
 * - `truncated`: declare the whole body's length, send half, then close the connection.
 * `x-test-fault-at: followup` applies it only to the call that carries a retrieve answer (the
 * second call of a detour); `first` (default) only to the others.
 */
function faultOf(req, followup) {
  const kind = req.headers['x-test-fault'];
  if (!kind) return null;
  if ((req.headers['x-test-fault-at'] ?? 'first') !== (followup ? 'followup' : 'first')) return null;
  return {
    kind,
    delayMs: Number(req.headers['x-test-delay-ms'] ?? 2000),
    events: Number(req.headers['x-test-events'] ?? 2),
    partial: req.headers['x-test-partial'] === '1',
    intervalMs: Number(req.headers['x-test-interval-ms'] ?? 100),
    status: Number(req.headers['x-test-status'] ?? 500),
    retryAfter: req.headers['x-test-retry-after'],
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the fake upstream on 127.0.0.1 (random port). Returns `{ url, requests, sent, close,
 * connections() }`; `requests[i]` is `{ path, headers, body, raw, fault, log, done }` (`log`: the
 * SSE events written so far) and `sent[i]` the exact
 * text answered. `done` resolves once the exchange is over, to `'finished'` (the whole answer was
 * written) or `'closed'` (the connection went away first: the proxy aborted it, or a fault reset it).
 */
export async function startUpstream({ scenario = 'normal', record = true } = {}) {
  const requests = [];
  const sent = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    const rec = { path: req.url, headers: req.headers, body: '', fault: null };
    rec.done = new Promise((resolve) => res.once('close', () => resolve(res.writableFinished ? 'finished' : 'closed')));
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      rec.body = text;
      rec.raw = Buffer.concat(chunks);
      if (record) requests.push(rec);
      const sc = req.headers['x-test-scenario'] ?? scenario;
      const log = [];
      rec.log = log; // the SSE text written so far
      const gone = () => res.destroyed || res.writableEnded;
      const hang = () => new Promise((r) => res.once('close', r));
      // A wait that ends early (and leaves no timer behind) when the caller goes away.
      const pause = (ms) => new Promise((r) => {
        const done = () => {
          clearTimeout(t);
          res.off('close', done);
          r();
        };
        const t = setTimeout(done, ms);
        res.once('close', done);
      });
      const errorBody = (status) => JSON.stringify({ error: { type: status === 429 ? 'rate_limit_error' : 'server_error', message: `fake upstream answered ${status}` } });
      const send = async (status, type, payload, fault = null) => {
        rec.fault = fault?.kind ?? null;
        if (fault?.kind === 'slow') await pause(fault.delayMs);
        if (gone()) return;
        const headers = { 'content-type': type, 'x-upstream': 'fake' };
        if (fault?.kind === 'status') {
          status = fault.status;
          payload = errorBody(status);
          if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        }
        if (fault?.kind === 'malformed') payload = payload.slice(0, Math.floor(payload.length / 2));
        if (record) sent.push(payload);
        if (['stall', 'reset', 'truncated'].includes(fault?.kind)) {
          const bytes = Buffer.from(payload);
          res.writeHead(status, { ...headers, 'content-length': bytes.length });
          res.write(bytes.subarray(0, bytes.length >> 1));
          if (fault.kind === 'stall') return hang();
          await sleep(20);
          return void res.socket?.destroy();
        }
        res.writeHead(status, headers);
        res.end(payload);
      };
      if (sc === 'error400') return send(400, 'application/json', JSON.stringify({ error: { type: 'invalid_request_error', message: 'bad thing from upstream' } }));
      if (req.method === 'GET') return send(200, 'application/json', JSON.stringify({ passthrough: true, path: req.url, method: req.method }), faultOf(req, false));
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        return send(400, 'application/json', '{"error":"not json"}');
      }
      // Not a request this fake understands (a body that is JSON but not one of the formats).
      if (!body || typeof body !== 'object' || Array.isArray(body) || !(Array.isArray(body.messages) || Array.isArray(body.contents) || body.input !== undefined)) {
        return send(400, 'application/json', '{"error":"not a request"}');
      }
      const url = new URL(req.url, 'http://x');
      const streamEvents = async (events, fault = null) => {
        rec.fault = fault?.kind ?? null;
        if (fault?.kind === 'slow') await pause(fault.delayMs);
        if (fault && !['slow', 'stall', 'drip', 'reset'].includes(fault.kind)) return send(200, 'application/json', '{}', fault);
        if (gone()) return;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const [i, e] of events.entries()) {
          if (fault && i === fault.events) {
            if (fault.kind === 'stall') return hang();
            if (fault.kind === 'drip') {
              while (!gone()) {
                res.write(': still here\n\n');
                await pause(fault.intervalMs);
              }
              return;
            }
            if (fault.partial) {
              log.push(e.slice(0, e.length >> 1));
              res.write(e.slice(0, e.length >> 1));
            }
            await sleep(20);
            return void res.socket?.destroy();
          }
          if (gone()) return;
          log.push(e);
          res.write(e);
          await new Promise((r) => setImmediate(r));
        }
        if (record) sent.push(log.join(''));
        res.end();
      };
      const followupOf = (plan) => plan.kind === 'text' && plan.text.startsWith('retrieved ');
      if (url.pathname.endsWith('/chat/completions')) {
        const plan = openaiChat(body, sc);
        const fault = faultOf(req, followupOf(plan));
        if (body.stream) return streamEvents(openaiChatStream(plan, body), fault);
        return send(200, 'application/json', JSON.stringify(openaiChatResponse(plan, body)), fault);
      }
      if (url.pathname.endsWith('/messages')) {
        const plan = anthropicPlan(body, sc);
        const fault = faultOf(req, followupOf(plan));
        if (body.stream) return streamEvents(anthropicStream(plan, body), fault);
        return send(200, 'application/json', JSON.stringify(anthropicResponse(plan, body)), fault);
      }
      if (url.pathname.endsWith('/responses')) {
        const plan = responsesPlan(body, sc);
        return send(200, 'application/json', JSON.stringify(responsesResponse(plan, body)), faultOf(req, followupOf(plan)));
      }
      const g = /:(generateContent|streamGenerateContent)$/.exec(url.pathname);
      if (g) {
        const plan = geminiPlan(body, sc);
        const fault = faultOf(req, followupOf(plan));
        if (g[1] === 'streamGenerateContent') {
          const r = geminiResponse(plan);
          return streamEvents([sseData({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, index: 0 }] }), sseData(r)], fault);
        }
        return send(200, 'application/json', JSON.stringify(geminiResponse(plan)), fault);
      }
      return send(200, 'application/json', JSON.stringify({ passthrough: true, path: req.url, method: req.method }), faultOf(req, false));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    sent,
    server,
    /** Open connections to this upstream right now. */
    connections: () => new Promise((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n)))),
    close: () => new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections?.();
    }),
  };
}
