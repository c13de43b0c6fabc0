// Provider wire formats as the proxy and the SDK wrappers see them: where a response carries a
// `headroom_retrieve` call, how to continue the conversation with its answer, where usage is, and
// how to follow a server-sent-event stream so a retrieve call can be answered mid-stream without
// the client ever seeing it. Shared by proxy.js and client.js; no engine state lives here.

export const RETRIEVE = 'headroom_retrieve';

// The seed's per-request fields; stripped from the body before it is sent.
export const OVERRIDES = ['headroom_mode', 'headroom_output_buffer_tokens', 'headroom_keep_turns', 'headroom_tool_profiles'];

/** Strips the seed's per-request `headroom_*` fields from a body; returns engine options from them. */
export function takeOverrides(body) {
  const options = {};
  if (!body || typeof body !== 'object' || Array.isArray(body)) return options;
  if (body.headroom_mode !== undefined) options.mode = body.headroom_mode;
  if (body.headroom_output_buffer_tokens !== undefined) options.outputBufferTokens = body.headroom_output_buffer_tokens;
  if (body.headroom_keep_turns !== undefined) options.keepTurns = body.headroom_keep_turns;
  if (body.headroom_tool_profiles !== undefined) {
    const profiles = {};
    for (const [name, p] of Object.entries(body.headroom_tool_profiles ?? {})) {
      const q = {};
      for (const [k, v] of Object.entries(p ?? {})) q[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = v;
      profiles[name] = q;
    }
    options.toolProfiles = profiles;
  }
  for (const k of OVERRIDES) delete body[k];
  return options;
}

const clone = (v) => (typeof structuredClone === 'function' ? structuredClone(v) : JSON.parse(JSON.stringify(v)));

// ---------------------------------------------------------------------------------------------
// Server-sent events: split a byte stream into events, keeping each event's exact text so a
// relay can pass it on unchanged.

/** Incremental SSE splitter: `push(text)` returns the complete events (raw text with separator). */
export class SseSplitter {
  #buf = '';

  push(text) {
    this.#buf += text;
    const out = [];
    const re = /\r\n\r\n|\n\n|\r\r/g;
    let start = 0;
    let m;
    while ((m = re.exec(this.#buf)) !== null) {
      out.push(this.#buf.slice(start, m.index + m[0].length));
      start = m.index + m[0].length;
    }
    this.#buf = this.#buf.slice(start);
    return out;
  }

  /** Whatever is left when the stream ends (an event without its blank line), or ''. */
  rest() {
    const r = this.#buf;
    this.#buf = '';
    return r;
  }
}

/** `{ event, data, json }` of one raw event; `json` is the parsed data or undefined. */
export function parseSse(raw) {
  let event = 'message';
  const data = [];
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    else if (line.startsWith('event:')) event = line.slice(line[6] === ' ' ? 7 : 6);
  }
  const text = data.join('\n');
  let json;
  if (text && text !== '[DONE]') {
    try {
      json = JSON.parse(text);
    } catch {}
  }
  return { event, data: text, json, isData: data.length > 0 };
}

const sse = (event, json) => `event: ${event}\ndata: ${JSON.stringify(json)}\n\n`;

// ---------------------------------------------------------------------------------------------
// Usage: { input, cached, output } tokens, from a response body or a stream event.

function addUsage(acc, u) {
  if (!u) return acc;
  acc = acc ?? { input: 0, cached: 0, output: 0 };
  acc.input += u.input ?? 0;
  acc.cached += u.cached ?? 0;
  acc.output += u.output ?? 0;
  return acc;
}

function openaiUsage(u) {
  if (!u || typeof u !== 'object') return null;
  // Chat Completions: prompt/completion; Responses: input/output.
  const input = u.prompt_tokens ?? u.input_tokens ?? 0;
  const cached = u.prompt_tokens_details?.cached_tokens ?? u.input_tokens_details?.cached_tokens ?? 0;
  return { input, cached, output: u.completion_tokens ?? u.output_tokens ?? 0 };
}

function anthropicUsage(u) {
  if (!u || typeof u !== 'object') return null;
  // input_tokens excludes cache reads and writes; cache writes are billed at about the input price.
  const cached = u.cache_read_input_tokens ?? 0;
  return { input: (u.input_tokens ?? 0) + cached + (u.cache_creation_input_tokens ?? 0), cached, output: u.output_tokens ?? 0 };
}

function googleUsage(u) {
  if (!u || typeof u !== 'object') return null;
  return { input: u.promptTokenCount ?? 0, cached: u.cachedContentTokenCount ?? 0, output: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0) };
}

/** USD for a usage record at a price `{ input, cachedInput, output }` per 1M tokens. */
export function usageCost(usage, price) {
  if (!usage || !price) return 0;
  const fresh = Math.max(0, usage.input - usage.cached);
  return (fresh * price.input + usage.cached * price.cachedInput + usage.output * price.output) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Formats. Each: `provider` (the engine's name), `retrieveCalls(response)`,
// `continueBody(body, response, answers)`, `usage(response)`, and `tracker(prev)` for streams.

function mergeUserAnswers(answers, key) {
  // Several tool results go back in one user turn (Anthropic and Gemini want them together).
  return { role: 'user', [key]: answers.flatMap((a) => a[key]) };
}

const openaiChat = {
  name: 'openai-chat',
  provider: 'openai',
  retrieveCalls(res) {
    const msg = res?.choices?.[0]?.message;
    return (msg?.tool_calls ?? []).filter((c) => c?.function?.name === RETRIEVE);
  },
  continueBody(body, res, answers) {
    const msg = res.choices[0].message;
    const calls = this.retrieveCalls(res);
    return this.continueWith(body, msg.content ?? null, calls, answers);
  },
  continueWith(body, content, calls, answers) {
    const next = { ...body, messages: [...body.messages] };
    // Only the retrieve calls go back: other calls of the same turn have no results yet, and
    // the model makes them again once it has read the original.
    next.messages.push({ role: 'assistant', content: content || null, tool_calls: calls });
    next.messages.push(...answers);
    return next;
  },
  usage: (res) => openaiUsage(res?.usage),
  tracker: (prev) => new OpenAiChatTracker(prev),
};

const anthropic = {
  name: 'anthropic',
  provider: 'anthropic',
  retrieveCalls(res) {
    return (Array.isArray(res?.content) ? res.content : []).filter((b) => b?.type === 'tool_use' && b.name === RETRIEVE);
  },
  continueBody(body, res, answers) {
    const blocks = res.content.filter((b) => b.type !== 'tool_use' || b.name === RETRIEVE);
    return this.continueWith(body, blocks, answers);
  },
  continueWith(body, blocks, answers) {
    const next = { ...body, messages: [...body.messages] };
    next.messages.push({ role: 'assistant', content: blocks });
    next.messages.push(mergeUserAnswers(answers, 'content'));
    return next;
  },
  usage: (res) => anthropicUsage(res?.usage),
  tracker: (prev) => new AnthropicTracker(prev),
};

const google = {
  name: 'google',
  provider: 'google',
  retrieveCalls(res) {
    const parts = res?.candidates?.[0]?.content?.parts ?? [];
    return parts.filter((p) => p?.functionCall?.name === RETRIEVE);
  },
  continueBody(body, res, answers) {
    const parts = (res.candidates[0].content.parts ?? []).filter((p) => !p.functionCall || p.functionCall.name === RETRIEVE);
    return this.continueWith(body, parts, answers);
  },
  continueWith(body, parts, answers) {
    const next = { ...body, contents: [...body.contents] };
    next.contents.push({ role: 'model', parts });
    next.contents.push(mergeUserAnswers(answers, 'parts'));
    return next;
  },
  usage: (res) => googleUsage(res?.usageMetadata),
  tracker: (prev) => new GoogleTracker(prev),
};

const openaiResponses = {
  name: 'openai-responses',
  provider: 'openai',
  retrieveCalls(res) {
    return (res?.output ?? []).filter((i) => i?.type === 'function_call' && i.name === RETRIEVE);
  },
  continueBody(body, res, answers) {
    return this.continueWith(body, this.retrieveCalls(res), answers);
  },
  continueWith(body, calls, answers) {
    const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : [...(body.input ?? [])];
    for (const c of calls) input.push({ type: 'function_call', call_id: c.call_id, name: c.name, arguments: c.arguments });
    input.push(...answers);
    // A stored previous response would repeat the calls; the input now carries the whole turn.
    return { ...body, input };
  },
  usage: (res) => openaiUsage(res?.usage),
  tracker: (prev) => new ResponsesTracker(prev),
};

export const formats = { openaiChat, anthropic, google, openaiResponses };

/**
 * The engine-shaped call for `hr.answerRetrieveCall` and the answer in the format's shape.
 * Responses API calls are answered through their Chat Completions twin.
 */
export function toEngineCall(format, call) {
  if (format === openaiResponses) return { id: call.call_id, type: 'function', function: { name: call.name, arguments: call.arguments } };
  return call;
}

export function fromEngineAnswer(format, answer) {
  if (format === openaiResponses) return { type: 'function_call_output', call_id: answer.tool_call_id, output: answer.content };
  return answer;
}

/** The hash and query a retrieve call asks for (any format), or null. */
export function retrieveArgs(format, call) {
  let args;
  if (format === openaiChat) args = call.function?.arguments;
  else if (format === openaiResponses) args = call.arguments;
  else if (format === anthropic) args = call.input;
  else args = call.functionCall?.args;
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      return null;
    }
  }
  if (!args || typeof args.hash !== 'string') return null;
  return { hash: args.hash.trim(), query: typeof args.query === 'string' ? args.query : undefined };
}

/**
 * An answer built without the engine (the original came from an outside store, or is not there),
 * in the engine's shapes. `content === null` means not found.
 */
export function answerWithoutEngine(format, call, hash, content, query) {
  let text;
  const isError = content === null;
  if (isError) {
    text = `Error: no original is stored under hash ${String(hash).slice(0, 64)} (it may have expired). Re-run the tool that produced it to get the full output.`;
  } else {
    text = content;
    const terms = (query ?? '').toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((t) => t.length > 1);
    if (terms.length) {
      const hits = content.split('\n').filter((l) => terms.some((t) => l.toLowerCase().includes(t)));
      if (hits.length) text = hits.join('\n');
    }
  }
  if (format === openaiChat) return { role: 'tool', tool_call_id: call.id, content: text };
  if (format === openaiResponses) return { type: 'function_call_output', call_id: call.call_id, output: text };
  if (format === anthropic) {
    const block = { type: 'tool_result', tool_use_id: call.id, content: text };
    if (isError) block.is_error = true;
    return { role: 'user', content: [block] };
  }
  const fr = { name: RETRIEVE, response: { [isError ? 'error' : 'output']: text } };
  if (call.functionCall?.id) fr.id = call.functionCall.id;
  return { role: 'user', parts: [{ functionResponse: fr }] };
}

// ---------------------------------------------------------------------------------------------
// Stream trackers. `handle(raw)` returns the text to send on (the event itself, a rewritten
// event, or '' to hold it back); once a retrieve call starts everything after it is held back.
// At the end, `pending()` says whether a retrieve call needs answering, `continueWith(body,
// answers)` builds the next request, and `held()` is what to send if the detour is abandoned.

class TrackerBase {
  constructor() {
    this.withholding = false;
    this.heldEvents = [];
    this.usage = null;
  }
  held() {
    return this.heldEvents.join('');
  }
  hold(raw) {
    this.withholding = true;
    this.heldEvents.push(raw);
    return '';
  }
}

class OpenAiChatTracker extends TrackerBase {
  constructor() {
    super();
    this.text = '';
    this.calls = new Map(); // tool_call index -> { id, type, function: { name, arguments } }
    this.retrieveIdx = new Set();
  }
  handle(raw) {
    const e = parseSse(raw);
    if (e.json?.usage) this.usage = addUsage(this.usage, openaiUsage(e.json.usage));
    const delta = e.json?.choices?.[0]?.delta;
    if (delta) {
      for (const tc of delta.tool_calls ?? []) {
        let c = this.calls.get(tc.index);
        if (!c) this.calls.set(tc.index, (c = { id: tc.id, type: 'function', function: { name: '', arguments: '' } }));
        if (tc.id) c.id = tc.id;
        if (tc.function?.name) c.function.name += tc.function.name;
        if (tc.function?.arguments) c.function.arguments += tc.function.arguments;
        if (c.function.name === RETRIEVE) this.retrieveIdx.add(tc.index);
      }
      if (this.retrieveIdx.size) return this.hold(raw);
      if (typeof delta.content === 'string') this.text += delta.content;
    }
    if (this.withholding) return this.hold(raw);
    return raw;
  }
  pending() {
    return this.retrieveIdx.size > 0;
  }
  retrieveCalls() {
    return [...this.retrieveIdx].sort((a, b) => a - b).map((i) => this.calls.get(i));
  }
  continueWith(format, body, answers) {
    return format.continueWith(body, this.text, this.retrieveCalls(), answers);
  }
  /** A continuation stream's own first chunk repeats `role: assistant`; harmless for clients. */
}

class AnthropicTracker extends TrackerBase {
  constructor(prev) {
    super();
    // Continuations: drop the new stream's message_start and shift its block indexes past the
    // blocks the client already has, so the client sees one message.
    this.continuation = !!prev;
    this.offset = prev ? prev.relayedBlocks : 0;
    this.relayedBlocks = this.offset;
    this.blocks = new Map(); // index -> block being assembled
    this.jsonParts = new Map();
    this.retrieveIdx = new Set();
    this.relayedContent = prev ? prev.relayedContent : [];
  }
  handle(raw) {
    const e = parseSse(raw);
    const j = e.json;
    if (!j) return this.withholding ? this.hold(raw) : raw;
    if (j.type === 'message_start') {
      this.usage = addUsage(this.usage, anthropicUsage(j.message?.usage));
      if (this.continuation) return '';
    } else if (j.type === 'message_delta' && j.usage) {
      this.usage = addUsage(this.usage, { output: j.usage.output_tokens ?? 0 });
    }
    if (j.type === 'content_block_start') {
      const block = clone(j.content_block);
      this.blocks.set(j.index, block);
      if (block.type === 'tool_use' && block.name === RETRIEVE) {
        this.retrieveIdx.add(j.index);
        this.jsonParts.set(j.index, '');
      }
    } else if (j.type === 'content_block_delta') {
      const b = this.blocks.get(j.index);
      const d = j.delta ?? {};
      if (b && d.type === 'text_delta') b.text = (b.text ?? '') + d.text;
      if (d.type === 'input_json_delta' && this.jsonParts.has(j.index)) this.jsonParts.set(j.index, this.jsonParts.get(j.index) + d.partial_json);
    }
    if (this.retrieveIdx.size) return this.hold(raw);
    if (j.type === 'content_block_stop') {
      const b = this.blocks.get(j.index);
      if (b && b.type === 'text') this.relayedContent = [...this.relayedContent, b];
      this.relayedBlocks += 1;
    }
    if (this.offset && typeof j.index === 'number' && j.type.startsWith('content_block_')) {
      return sse(e.event, { ...j, index: j.index + this.offset });
    }
    return raw;
  }
  pending() {
    return this.retrieveIdx.size > 0;
  }
  retrieveCalls() {
    return [...this.retrieveIdx].map((i) => {
      const b = this.blocks.get(i);
      let input = {};
      try {
        input = JSON.parse(this.jsonParts.get(i) || '{}');
      } catch {}
      return { type: 'tool_use', id: b.id, name: RETRIEVE, input };
    });
  }
  continueWith(format, body, answers) {
    return format.continueWith(body, [...this.relayedContent, ...this.retrieveCalls()], answers);
  }
}

class GoogleTracker extends TrackerBase {
  constructor() {
    super();
    this.parts = [];
    this.calls = [];
  }
  handle(raw) {
    const e = parseSse(raw);
    const j = e.json;
    if (j?.usageMetadata) this.usage = googleUsage(j.usageMetadata); // cumulative per chunk
    const parts = j?.candidates?.[0]?.content?.parts ?? [];
    const calls = parts.filter((p) => p?.functionCall?.name === RETRIEVE);
    if (calls.length) this.calls.push(...calls);
    if (this.calls.length) return this.hold(raw);
    for (const p of parts) if (typeof p.text === 'string') this.parts.push({ text: p.text });
    return raw;
  }
  pending() {
    return this.calls.length > 0;
  }
  retrieveCalls() {
    return this.calls;
  }
  continueWith(format, body, answers) {
    const text = this.parts.map((p) => p.text).join('');
    return format.continueWith(body, [...(text ? [{ text }] : []), ...this.calls], answers);
  }
}

class ResponsesTracker extends TrackerBase {
  constructor(prev) {
    super();
    this.continuation = !!prev;
    this.offset = prev ? prev.relayedItems : 0;
    this.relayedItems = this.offset;
    this.calls = [];
  }
  handle(raw) {
    const e = parseSse(raw);
    const j = e.json;
    if (!j) return this.withholding ? this.hold(raw) : raw;
    if (j.type === 'response.completed' && j.response?.usage) this.usage = addUsage(this.usage, openaiUsage(j.response.usage));
    if (j.type === 'response.output_item.added' && j.item?.type === 'function_call' && j.item.name === RETRIEVE) this.withholding = true;
    if (j.type === 'response.output_item.done' && j.item?.type === 'function_call' && j.item.name === RETRIEVE) this.calls.push(j.item);
    if (this.withholding) return this.hold(raw);
    if (this.continuation && (j.type === 'response.created' || j.type === 'response.in_progress')) return '';
    if (j.type === 'response.output_item.done') this.relayedItems += 1;
    if (this.offset && typeof j.output_index === 'number') return sse(e.event, { ...j, output_index: j.output_index + this.offset });
    return raw;
  }
  pending() {
    return this.calls.length > 0;
  }
  retrieveCalls() {
    return this.calls;
  }
  continueWith(format, body, answers) {
    return format.continueWith(body, this.calls, answers);
  }
}

// ---------------------------------------------------------------------------------------------
// The Responses API through the engine: its `input` items are mapped onto a Chat Completions
// request, tool outputs compressed there are written back by call id, and the retrieve tool is
// added in the Responses shape when a marker was left.

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}

/** Compresses a Responses API body with `compress(chatRequest)`; returns `{ body, result }`. */
export function compressResponsesBody(body, compress, retrieveTool) {
  const messages = [];
  if (typeof body.instructions === 'string' && body.instructions) messages.push({ role: 'system', content: body.instructions });
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
  for (const item of items) {
    if (item?.type === 'function_call') {
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments ?? '' } };
      const last = messages[messages.length - 1];
      if (last?.role === 'assistant' && last.tool_calls && last.content === null) last.tool_calls.push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item?.type === 'function_call_output') {
      const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '');
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: output });
    } else if (item && (item.type === 'message' || item.role)) {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (['system', 'user', 'assistant'].includes(role)) messages.push({ role, content: textOf(item.content) });
    }
  }
  const tools = (body.tools ?? [])
    .filter((t) => t?.type === 'function')
    .map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
  const chat = { model: body.model, messages };
  if (tools.length) chat.tools = tools;
  const result = compress(chat);
  const out = { ...body };
  if (Array.isArray(body.input)) {
    const byId = new Map();
    for (const m of result.messages ?? []) if (m?.role === 'tool') byId.set(m.tool_call_id, m.content);
    out.input = body.input.map((item) => {
      if (item?.type !== 'function_call_output' || !byId.has(item.call_id)) return item;
      const original = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '');
      const now = byId.get(item.call_id);
      return now === original ? item : { ...item, output: now };
    });
  }
  if (result.markers?.length && !(body.tools ?? []).some((t) => t?.name === RETRIEVE)) {
    const f = retrieveTool.function;
    out.tools = [...(body.tools ?? []), { type: 'function', name: f.name, description: f.description, parameters: f.parameters }];
  }
  return { body: out, result };
}
