// The proxy: one fetch-style handler (Request -> Promise<Response>) that the Node server
// (proxy-server.js) and the Worker entry (worker/index.js) both use. It compresses LLM requests
// on their way to the provider, relays answers (server-sent events byte for byte), answers the
// model's `headroom_retrieve` calls itself and calls the provider again, invisibly to the client.
//
// Safety rules: a request the engine cannot compress is forwarded as it came (fail open); an
// unreachable upstream is a 502 with a JSON error, one slower than `upstreamTimeoutMs` a 504, one
// that breaks off mid-answer a 502 (or, mid-stream, an SSE `error` event and an aborted stream);
// upstream errors pass through as they are and the proxy never retries; a client that goes away
// aborts the upstream call. API keys are forwarded and never written to logs, stats or metrics.
// Originals are stored per tenant (a hash of the caller's API key): one caller can never read
// another's.

import { Headroom, retrieveToolDefinition, version } from './core.js';
import { HeadroomError, ConfigurationError, ValidationError } from './errors.js';
import { state } from './runtime.js';
import {
  formats,
  RETRIEVE,
  SseSplitter,
  usageCost,
  toEngineCall,
  fromEngineAnswer,
  retrieveArgs,
  answerWithoutEngine,
  compressResponsesBody,
  takeOverrides,
} from './providers.js';

const DEFAULT_UPSTREAMS = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  google: 'https://generativelanguage.googleapis.com',
};

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const HOP_BY_HOP = ['host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'content-length'];
const RATIO_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

// ---------------------------------------------------------------------------------------------
// Stores of originals, namespaced by tenant. Async, so Workers KV fits behind the same interface.

/** In-memory store: LRU over `maxEntries`, entries expire after `ttlSeconds`. */
export class MemoryCcrStore {
  #map = new Map();
  #max;
  #ttlMs;

  constructor({ maxEntries = 1000, ttlSeconds = 1800 } = {}) {
    this.#max = maxEntries;
    this.#ttlMs = ttlSeconds * 1000;
  }

  async put(tenant, hash, content) {
    const key = `${tenant}:${hash}`;
    this.#map.delete(key);
    this.#map.set(key, { content, expires: Date.now() + this.#ttlMs });
    while (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value);
  }

  async get(tenant, hash) {
    const key = `${tenant}:${hash}`;
    const e = this.#map.get(key);
    if (!e) return null;
    this.#map.delete(key);
    if (e.expires < Date.now()) return null;
    this.#map.set(key, e);
    return e.content;
  }

  get size() {
    return this.#map.size;
  }
}

/** Workers KV store (`env.HEADROOM_CCR`): keys `tenant:hash`, expiring after `ttlSeconds` (KV's minimum is 60). */
export class KvCcrStore {
  #kv;
  #ttl;

  constructor(kv, { ttlSeconds = 1800 } = {}) {
    if (!kv || typeof kv.get !== 'function' || typeof kv.put !== 'function') {
      throw new ConfigurationError('KvCcrStore needs a KV namespace binding (with get and put)', { code: 'invalid_config' });
    }
    this.#kv = kv;
    this.#ttl = Math.max(60, ttlSeconds);
  }

  async put(tenant, hash, content) {
    await this.#kv.put(`${tenant}:${hash}`, content, { expirationTtl: this.#ttl });
  }

  async get(tenant, hash) {
    return (await this.#kv.get(`${tenant}:${hash}`)) ?? null;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const HEX = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The tenant of a request: 16 hex digits of SHA-256 over its API key, or `anonymous`. */
export async function tenantOf(apiKey) {
  if (!apiKey) return 'anonymous';
  return HEX(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(apiKey))).slice(0, 16);
}

/** Every credential a request carries, the tenant's key first (Authorization, x-api-key, x-goog-api-key, ?key=). */
function secretsOf(request, url) {
  const out = [];
  const auth = request.headers.get('authorization');
  if (auth) {
    const m = /^\s*(?:Bearer|Basic)\s+(.+)$/i.exec(auth);
    out.push((m ? m[1] : auth).trim());
  }
  for (const v of [request.headers.get('x-api-key'), request.headers.get('x-goog-api-key'), url.searchParams.get('key')]) if (v) out.push(v.trim());
  return out.filter(Boolean);
}

const KEY_PATTERNS = [/sk-[A-Za-z0-9_\-]{8,}/g, /AIza[0-9A-Za-z_\-]{20,}/g, /Bearer\s+[^\s"',]+/gi, /([?&]key=)[^&\s"']+/g];

/** Replaces the request's key(s) (a string or a list) and anything shaped like a provider key with `[REDACTED]`. */
export function redact(text, key) {
  let s = String(text);
  for (const k of Array.isArray(key) ? key : [key]) {
    if (typeof k === 'string' && k.length >= 4) s = s.split(k).join('[REDACTED]');
  }
  for (const re of KEY_PATTERNS) s = s.replace(re, (m, p1) => (typeof p1 === 'string' && m.startsWith(p1) ? `${p1}[REDACTED]` : '[REDACTED]'));
  return s;
}

function jsonError(status, type, message, extra = {}) {
  return new Response(JSON.stringify({ error: { type, message, ...extra } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

class Histogram {
  constructor(buckets) {
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
    this.sum = 0;
    this.count = 0;
  }
  observe(v) {
    this.sum += v;
    this.count += 1;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i] += 1;
    });
  }
  render(name, help) {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${+this.sum.toFixed(6)}`, `${name}_count ${this.count}`);
    return lines.join('\n');
  }
}

class BodyTooLarge extends Error {}

async function readBody(request, limit) {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Not cancelled (in Node that destroys the socket under the answer): the host discards the
      // rest, and the Node server closes the connection after the 413.
      reader.releaseLock();
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** The upstream did not answer, or went quiet mid-answer, for longer than `upstreamTimeoutMs`. */
class UpstreamTimeout extends Error {
  code = 'timeout';
}
/** Ends a relayed stream whose upstream broke off. */
class StreamAborted extends Error {}
/** The client went away: nobody is left to answer. */
class ClientClosed extends Error {
  code = 'client_closed';
}

/**
 * One call to the upstream. It is aborted when the client goes away (`signal`), when the upstream
 * takes longer than `timeoutMs` to send its status and headers, or when its body then goes quiet
 * for that long while someone is reading it. The body comes back wrapped so that every chunk
 * re-arms the timer and cancelling it (the client left) aborts the upstream connection; the timer
 * is cleared on every way out, so nothing lingers after the exchange.
 */
async function callUpstream(doFetch, url, init, { signal, timeoutMs }) {
  if (signal?.aborted) throw new ClientClosed('the client closed the connection');
  const ctrl = new AbortController();
  let timer = null;
  let reader = null;
  const clear = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const arm = () => {
    clear();
    if (!(timeoutMs > 0)) return;
    timer = setTimeout(() => {
      timer = null;
      ctrl.abort(new UpstreamTimeout(`the upstream provider sent nothing for ${timeoutMs} ms`));
    }, timeoutMs);
  };
  const onClientGone = () => ctrl.abort(new ClientClosed('the client closed the connection'));
  signal?.addEventListener('abort', onClientGone, { once: true });
  const release = () => {
    clear();
    signal?.removeEventListener('abort', onClientGone);
  };
  // Whatever a runtime does with an aborted fetch's body, a pending read ends with the reason.
  const aborted = new Promise((_, reject) => {
    ctrl.signal.addEventListener('abort', () => {
      reject(ctrl.signal.reason);
      reader?.cancel(ctrl.signal.reason).catch(() => {});
    }, { once: true });
  });
  aborted.catch(() => {});
  const why = (err) => (ctrl.signal.aborted && ctrl.signal.reason instanceof Error ? ctrl.signal.reason : err);

  arm();
  let res;
  try {
    res = await Promise.race([doFetch(url, { ...init, signal: ctrl.signal }), aborted]);
  } catch (err) {
    release();
    throw why(err);
  }
  clear();
  if (!res.body) {
    release();
    return res;
  }
  reader = res.body.getReader();
  const body = new ReadableStream(
    {
      async pull(controller) {
        arm();
        let r;
        try {
          r = await Promise.race([reader.read(), aborted]);
          // A read that ended because the call was aborted is not the end of the answer.
          if (ctrl.signal.aborted) throw ctrl.signal.reason;
        } catch (err) {
          release();
          throw why(err);
        }
        clear();
        if (r.done) {
          release();
          controller.close();
        } else controller.enqueue(r.value);
      },
      cancel(reason) {
        release();
        ctrl.abort(new ClientClosed('the client closed the connection'));
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

function concatBytes(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * The index just past the last blank line (an SSE event's end: \n\n, \r\r or \r\n\r\n, as
 * SseSplitter splits) in `b`, or 0. Only ends at or after `from` (where the new bytes start) are
 * looked for: there is none before it.
 */
function eventsEnd(b, from = 0) {
  for (let i = b.length - 1; i >= Math.max(1, from); i--) {
    const c = b[i];
    if (c === 0x0a && (b[i - 1] === 0x0a || (i >= 3 && b[i - 1] === 0x0d && b[i - 2] === 0x0a && b[i - 3] === 0x0d))) return i + 1;
    if (c === 0x0d && b[i - 1] === 0x0d) return i + 1;
  }
  return 0;
}

function forwardHeaders(headers, extra = {}) {
  const out = new Headers();
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (HOP_BY_HOP.includes(lk) || lk.startsWith('x-headroom-') || lk === 'accept-encoding') continue;
    out.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) out.set(k, v);
  return out;
}

function responseHeaders(upstream, extra = {}) {
  const out = new Headers();
  for (const [k, v] of upstream.headers) {
    const lk = k.toLowerCase();
    // fetch has already decoded the body, so its encoding and length no longer apply.
    if (HOP_BY_HOP.includes(lk) || lk === 'content-encoding') continue;
    out.append(k, v);
  }
  for (const [k, v] of Object.entries(extra)) out.set(k, String(v));
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * Creates the proxy's request handler. Options (all optional):
 * - `upstreams`: `{ openai, anthropic, google }` origins (the incoming path is appended)
 * - `mode`: `optimize` (default) or `audit`; `config`: Headroom config
 * - `store`: a CCR store `{ get(tenant, hash), put(tenant, hash, content) }` (default in memory)
 * - `budgetUsd`: spend limit since start (429 once spent); `maxBodyBytes` (413 above; 32 MiB)
 * - `upstreamTimeoutMs`: how long the upstream may take to start answering, and then go quiet
 *   mid-answer, before the call is aborted (504 / an SSE `error` event); 600000 (10 min, as the
 *   OpenAI and Anthropic SDKs); 0 turns it off
 * - `maxRetrieveRounds` (3); `fetch` (the global fetch); `logger(entry)`, `logLevel` (info)
 */
export function createProxyHandlerWith(init, options = {}) {
  const opts = { ...options };
  for (const k of Object.keys(opts)) {
    if (!['upstreams', 'mode', 'config', 'store', 'budgetUsd', 'maxBodyBytes', 'maxRetrieveRounds', 'upstreamTimeoutMs', 'fetch', 'logger', 'logLevel', 'llmlingua'].includes(k)) {
      throw new ConfigurationError(`unknown proxy option '${k}'`, { code: 'invalid_config', details: { option: k } });
    }
  }
  const mode = opts.mode ?? 'optimize';
  if (!['optimize', 'audit'].includes(mode)) throw new ConfigurationError(`proxy mode must be optimize or audit, not '${mode}'`, { code: 'invalid_config' });
  if (opts.budgetUsd !== undefined && !(Number.isFinite(opts.budgetUsd) && opts.budgetUsd >= 0)) {
    throw new ConfigurationError('budgetUsd must be a non-negative number', { code: 'invalid_value', details: { field: 'budgetUsd' } });
  }
  for (const field of ['upstreamTimeoutMs', 'maxBodyBytes', 'maxRetrieveRounds']) {
    const v = opts[field];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) {
      throw new ConfigurationError(`${field} must be a non-negative integer`, { code: 'invalid_value', details: { field } });
    }
  }
  if (opts.llmlingua) {
    throw new ConfigurationError('--llmlingua is not available in this build (the ml entry is not shipped yet)', { code: 'unavailable' });
  }
  const upstreams = {};
  for (const [k, def] of Object.entries(DEFAULT_UPSTREAMS)) upstreams[k] = String(opts.upstreams?.[k] ?? def).replace(/\/+$/, '');
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const rounds = opts.maxRetrieveRounds ?? 3;
  const timeoutMs = opts.upstreamTimeoutMs ?? 600_000;
  const doFetch = opts.fetch ?? ((...a) => fetch(...a));
  const store = opts.store ?? new MemoryCcrStore();
  const threshold = LEVELS[opts.logLevel ?? 'info'] ?? LEVELS.info;
  const logger = opts.logger ?? null;

  let hr = null;
  let retrieveTool = null;
  const started = Date.now();
  const stats = {
    requests: 0,
    byMode: { optimize: 0, audit: 0, bypass: 0, passthrough: 0 },
    failed: 0,
    rateLimited: 0,
    upstreamErrors: 0,
    upstreamTimeouts: 0,
    clientClosed: 0,
    tooLarge: 0,
    retrieveRounds: 0,
    retrievals: 0,
    tokensBefore: 0,
    tokensAfter: 0,
    tokensSaved: 0,
    usageInput: 0,
    usageOutput: 0,
    costUsd: 0,
    savingsUsd: 0,
  };
  // Where the engine is ready at once (Node, Workers), a bad config throws here, not per request.
  if (state.ready) {
    hr = new Headroom(opts.config);
    retrieveTool = retrieveToolDefinition('openai');
  }
  const ratio = new Histogram(RATIO_BUCKETS);
  const compressMs = new Histogram(LATENCY_BUCKETS_MS);

  // One engine for every request: concurrent first requests share one initialisation (an engine
  // swapped between a compress and its retrieve would lose that request's originals).
  let starting = null;
  async function engine() {
    if (hr) return hr;
    starting ??= (async () => {
      await init();
      hr = new Headroom(opts.config);
      retrieveTool = retrieveToolDefinition('openai');
      return hr;
    })();
    try {
      return await starting;
    } catch (err) {
      starting = null;
      throw err;
    }
  }

  /** Copies a result's originals from the engine to the store. They are read at once, before any await. */
  async function keepOriginals(tenant, markers) {
    const originals = (markers ?? []).map((h) => [h, hr.retrieve(h)]);
    for (const [h, original] of originals) if (original !== null) await store.put(tenant, h, original);
  }

  function log(level, msg, fields = {}, key) {
    if (!logger || LEVELS[level] < threshold) return;
    const entry = { ts: new Date().toISOString(), level, msg: redact(msg, key) };
    for (const [k, v] of Object.entries(fields)) entry[k] = typeof v === 'string' ? redact(v, key) : v;
    try {
      logger(entry);
    } catch {}
  }

  function addCost(model, usage) {
    if (!usage) return;
    stats.usageInput += usage.input;
    stats.usageOutput += usage.output;
    const price = hr?.modelPrice(String(model ?? ''));
    stats.costUsd += usageCost(usage, price);
  }

  async function answer(format, call, tenant) {
    const args = retrieveArgs(format, call);
    stats.retrievals += 1;
    const content = args ? await store.get(tenant, args.hash) : null;
    if (content !== null && hr.retrieve(args.hash) === content) {
      return fromEngineAnswer(format, hr.answerRetrieveCall(toEngineCall(format, call)));
    }
    return answerWithoutEngine(format, call, args?.hash ?? '', content, args?.query);
  }

  /** A call to the upstream, tied to the client's request (see callUpstream). */
  function upstream(request, url, init) {
    return callUpstream(doFetch, url, init, { signal: request.signal, timeoutMs });
  }

  /**
   * The answer when the upstream call failed: the client left (499, nobody reads it), the upstream
   * was too slow (504), could not be reached (502) or broke off mid-answer (502).
   */
  function upstreamFailed(err, url, key, { started = false } = {}) {
    if (err instanceof ClientClosed) {
      stats.clientClosed += 1;
      log('info', 'client closed the connection', { path: url.pathname }, key);
      return jsonError(499, 'client_closed', 'the client closed the connection');
    }
    if (err instanceof UpstreamTimeout) {
      stats.upstreamErrors += 1;
      stats.upstreamTimeouts += 1;
      log('error', 'upstream timeout', { path: url.pathname, timeoutMs }, key);
      return jsonError(504, 'upstream_timeout', `the upstream provider sent nothing for ${timeoutMs} ms`);
    }
    if (!started) return unreachable(err, url, key);
    stats.upstreamErrors += 1;
    const code = String(err?.cause?.code ?? err?.code ?? err?.name ?? 'error');
    log('error', 'upstream answer cut short', { path: url.pathname, code }, key);
    return jsonError(502, 'upstream_incomplete', `the upstream provider's answer broke off (${code})`, { code });
  }

  /** The route of a request: its format, provider, model and whether it streams. */
  function route(method, url, body) {
    const p = url.pathname;
    if (method !== 'POST') return null;
    if (p.endsWith('/chat/completions')) return { format: formats.openaiChat, upstream: 'openai', stream: body?.stream === true };
    if (p.endsWith('/responses')) return { format: formats.openaiResponses, upstream: 'openai', stream: body?.stream === true };
    if (/\/v1\/messages$/.test(p)) return { format: formats.anthropic, upstream: 'anthropic', stream: body?.stream === true };
    const g = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(p);
    if (g) return { format: formats.google, upstream: 'google', stream: g[2] === 'streamGenerateContent', model: decodeURIComponent(g[1]), sse: url.searchParams.get('alt') === 'sse' };
    return null;
  }

  function pickUpstream(request, url) {
    if (url.pathname.startsWith('/v1beta') || request.headers.has('x-goog-api-key')) return 'google';
    if (request.headers.has('anthropic-version') || request.headers.has('x-api-key')) return 'anthropic';
    return 'openai';
  }

  async function passthrough(request, url, key, bytes, kind = 'passthrough') {
    stats.byMode[kind] += 1;
    const target = upstreams[pickUpstream(request, url)] + url.pathname + url.search;
    const init = { method: request.method, headers: forwardHeaders(request.headers) };
    if (bytes && bytes.byteLength && !['GET', 'HEAD'].includes(request.method)) init.body = bytes;
    let res;
    try {
      res = await upstream(request, target, init);
    } catch (err) {
      return upstreamFailed(err, url, key);
    }
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: responseHeaders(res) });
  }

  function unreachable(err, url, key) {
    stats.upstreamErrors += 1;
    const code = err?.cause?.code ?? err?.code ?? 'fetch_failed';
    log('error', 'upstream unreachable', { path: url.pathname, code: String(code) }, key);
    return jsonError(502, 'upstream_unreachable', `the upstream provider could not be reached (${code})`, { code: String(code) });
  }

  async function llm(request, url, key, tenant, bytes, text, body, rt) {
    const t0 = Date.now();
    const headerMode = request.headers.get('x-headroom-mode');
    const overrides = takeOverrides(body);
    const hadOverrides = Object.keys(overrides).length > 0;
    let reqMode = overrides.mode ?? headerMode ?? mode;
    if (!['optimize', 'audit'].includes(reqMode)) reqMode = mode;
    overrides.mode = reqMode;
    const model = rt.model ?? body.model;
    if (rt.model) overrides.model = rt.model;

    if (opts.budgetUsd !== undefined && stats.costUsd >= opts.budgetUsd) {
      stats.rateLimited += 1;
      return jsonError(429, 'budget_exceeded', `the proxy's budget of $${opts.budgetUsd} is spent ($${stats.costUsd.toFixed(4)} so far)`);
    }

    // Compress (or, in audit mode, measure). Any failure forwards the original bytes.
    let sendBody = body;
    let result = null;
    let failOpen = false;
    const tc = Date.now();
    try {
      await engine();
      if (rt.format === formats.openaiResponses) {
        const r = compressResponsesBody(body, (chat) => hr.compress(chat, overrides), retrieveTool);
        result = r.result;
        sendBody = r.body;
      } else {
        // JSON text in when the body is as it came: the engine parses it once, no re-serialising.
        result = hr.compress(hadOverrides ? body : text, { ...overrides, provider: rt.format.provider });
        sendBody = result.request ?? body;
      }
      await keepOriginals(tenant, result.markers);
    } catch (err) {
      failOpen = true;
      result = null;
      stats.failed += 1;
      log('warn', 'compression failed; forwarding the original request', { path: url.pathname, error: err?.code ?? err?.name ?? 'error', detail: String(err?.message ?? err) }, key);
    }
    const compressTime = Date.now() - tc;
    compressMs.observe(compressTime);
    stats.byMode[reqMode] += 1;
    if (result) {
      stats.tokensBefore += result.tokensBefore;
      stats.tokensAfter += result.tokensAfter;
      stats.tokensSaved += result.tokensSaved;
      ratio.observe(result.tokensBefore ? result.tokensAfter / result.tokensBefore : 1);
      const price = hr.modelPrice(String(model ?? ''));
      if (price) stats.savingsUsd += (result.tokensSaved * price.input) / 1e6;
    }
    const hdr = result
      ? { 'x-headroom-tokens-before': result.tokensBefore, 'x-headroom-tokens-after': result.tokensAfter, 'x-headroom-tokens-saved': result.tokensSaved, 'x-headroom-mode': reqMode }
      : { 'x-headroom-mode': 'failed-open' };

    const target = upstreams[rt.upstream] + url.pathname + url.search;
    const headers = forwardHeaders(request.headers, { 'content-type': 'application/json' });
    let res;
    try {
      // Unchanged requests go out as the exact bytes that came in.
      const unchanged = failOpen || (!hadOverrides && (reqMode === 'audit' || (!result.markers?.length && !result.transformsApplied?.length)));
      res = await upstream(request, target, { method: 'POST', headers, body: unchanged ? bytes : JSON.stringify(sendBody) });
    } catch (err) {
      return upstreamFailed(err, url, key);
    }
    const canRetrieve = !failOpen && (result?.markers?.length ?? 0) > 0 && rounds > 0;
    const base = {
      path: url.pathname,
      tenant,
      mode: reqMode,
      model: String(model ?? ''),
      tokensBefore: result?.tokensBefore ?? null,
      tokensAfter: result?.tokensAfter ?? null,
      tokensSaved: result?.tokensSaved ?? null,
      compressMs: compressTime,
      failOpen,
    };
    if (!res.ok) {
      stats.upstreamErrors += 1;
      log('warn', 'upstream error', { ...base, status: res.status }, key);
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers: responseHeaders(res, hdr) });
    }
    const isSse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
    if (rt.stream && isSse) {
      return streamRelay({ request, url, res, rt, headers, target, sendBody, canRetrieve, tenant, key, hdr, base, model, t0 });
    }
    if (rt.stream) {
      // A stream that is not SSE (Gemini without alt=sse): relayed as is, retrieve not handled.
      log('info', 'request', { ...base, status: res.status, stream: true, ms: Date.now() - t0 }, key);
      return new Response(res.body, { status: res.status, headers: responseHeaders(res, hdr) });
    }

    // Not streaming: answer retrieve calls until the model stops asking (bounded). A body that
    // breaks off is a 502 (504 if it went quiet), never half an answer; one that is not JSON is
    // relayed as it came.
    let payload;
    try {
      payload = await res.text();
    } catch (err) {
      return upstreamFailed(err, url, key, { started: true });
    }
    let current = sendBody;
    let last = res;
    let json;
    for (let round = 0; ; round++) {
      try {
        json = JSON.parse(payload);
      } catch {
        break;
      }
      addCost(model, rt.format.usage(json));
      const calls = canRetrieve ? rt.format.retrieveCalls(json) : [];
      if (!calls.length || round >= rounds) break;
      const answers = [];
      for (const c of calls) answers.push(await answer(rt.format, c, tenant));
      current = rt.format.continueBody(current, json, answers);
      stats.retrieveRounds += 1;
      let answered = false;
      try {
        last = await upstream(request, target, { method: 'POST', headers, body: JSON.stringify(current) });
        answered = true;
        payload = await last.text();
      } catch (err) {
        return upstreamFailed(err, url, key, { started: answered });
      }
      if (!last.ok) {
        stats.upstreamErrors += 1;
        break;
      }
    }
    log('info', 'request', { ...base, status: last.status, ms: Date.now() - t0 }, key);
    return new Response(payload, { status: last.status, statusText: last.statusText, headers: responseHeaders(last, hdr) });
  }

  function streamRelay({ request, url, res, rt, headers, target, sendBody, canRetrieve, tenant, key, hdr, base, model, t0 }) {
    const enc = new TextEncoder();
    let reader = res.body.getReader();
    let cancelled = false;

    // The relay, one chunk per step; pulled only when the client asks for more (back-pressure).
    async function* relay() {
      let current = sendBody;
      let prev = null;
      for (let round = 0; ; round++) {
        const tracker = rt.format.tracker(prev);
        const dec = new TextDecoder();
        const split = new SseSplitter();
        let partial = new Uint8Array(0); // raw relay: bytes of an event not yet complete
        for (;;) {
          const { done, value } = await reader.read();
          if (cancelled) return;
          if (done) break;
          if (!canRetrieve) {
            // Nothing to intercept: pass the bytes on unchanged, whole events at a time (so an
            // upstream that breaks off never leaves half an event with the client), and read
            // usage on the side.
            for (const ev of split.push(dec.decode(value, { stream: true }))) tracker.handle(ev);
            const bytes = partial.length ? concatBytes(partial, value) : value;
            const end = eventsEnd(bytes, partial.length);
            partial = bytes.subarray(end);
            if (end) yield end === bytes.length ? bytes : bytes.slice(0, end);
            continue;
          }
          let send = '';
          for (const ev of split.push(dec.decode(value, { stream: true }))) send += tracker.handle(ev);
          if (send) yield enc.encode(send);
        }
        // The stream ended without a final blank line: what is left goes out as it came.
        if (partial.length) yield partial;
        const rest = split.rest() + dec.decode();
        if (rest && canRetrieve) {
          const send = tracker.handle(rest);
          if (send) yield enc.encode(send);
        }
        addCost(model, tracker.usage);
        if (!canRetrieve || !tracker.pending()) break;
        if (round >= rounds) {
          // Out of rounds: give the client what was held back rather than nothing.
          yield enc.encode(tracker.held());
          break;
        }
        const answers = [];
        for (const c of tracker.retrieveCalls()) answers.push(await answer(rt.format, c, tenant));
        if (cancelled) return;
        current = tracker.continueWith(rt.format, current, answers);
        stats.retrieveRounds += 1;
        const next = await upstream(request, target, { method: 'POST', headers, body: JSON.stringify(current) });
        if (cancelled) {
          next.body?.cancel().catch(() => {});
          return;
        }
        if (!next.ok || !next.body) {
          stats.upstreamErrors += 1;
          const msg = { error: { type: 'upstream_error', status: next.status, message: redact(await next.text(), key).slice(0, 500) } };
          yield enc.encode(`event: error\ndata: ${JSON.stringify(msg)}\n\n`);
          break;
        }
        reader = next.body.getReader();
        prev = tracker;
      }
      log('info', 'request', { ...base, status: res.status, stream: true, ms: Date.now() - t0 }, key);
    }

    const steps = relay();
    let failure = null;
    const out = new ReadableStream(
      {
        async pull(controller) {
          if (failure) return controller.error(failure);
          let step;
          try {
            step = await steps.next();
          } catch (err) {
            if (cancelled || err instanceof ClientClosed) return;
            // The upstream broke off (reset, timeout) mid-stream. The client has whole events
            // only; tell it why with an SSE error event, then (on the next pull, once the event
            // is out) end the stream abnormally: Node drops the connection without the final
            // chunk; workerd ends the response, so there the error event is the signal.
            stats.upstreamErrors += 1;
            const timeout = err instanceof UpstreamTimeout;
            if (timeout) stats.upstreamTimeouts += 1;
            log('error', 'stream relay failed', { ...base, error: String(err?.message ?? err) }, key);
            failure = new StreamAborted(`headroom: the upstream stream broke off (${redact(String(err?.message ?? err), key)}); answer aborted`);
            const type = timeout ? 'upstream_timeout' : 'upstream_incomplete';
            const message = timeout ? `the upstream provider sent nothing for ${timeoutMs} ms` : "the upstream provider's stream broke off";
            return controller.enqueue(enc.encode(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`));
          }
          if (cancelled) return;
          if (step.done) controller.close();
          else controller.enqueue(step.value);
        },
        cancel() {
          if (cancelled) return;
          cancelled = true;
          stats.clientClosed += 1;
          log('info', 'client closed the stream', { path: url.pathname }, key);
          return reader.cancel().catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(out, { status: res.status, headers: responseHeaders(res, hdr) });
  }

  function statsJson() {
    const s = stats;
    return {
      requests: {
        total: s.requests,
        cached: 0,
        rate_limited: s.rateLimited,
        failed: s.failed,
        by_mode: { ...s.byMode },
        upstream_errors: s.upstreamErrors,
        upstream_timeouts: s.upstreamTimeouts,
        client_closed: s.clientClosed,
        too_large: s.tooLarge,
        retrieve_rounds: s.retrieveRounds,
      },
      tokens: {
        input: s.tokensBefore,
        output: s.usageOutput,
        saved: s.tokensSaved,
        savings_percent: s.tokensBefore ? +((100 * s.tokensSaved) / s.tokensBefore).toFixed(2) : 0,
        sent: s.tokensAfter,
        upstream_input: s.usageInput,
      },
      cost: {
        total_cost_usd: +s.costUsd.toFixed(6),
        total_savings_usd: +s.savingsUsd.toFixed(6),
        budget_usd: opts.budgetUsd ?? null,
      },
      cache: { entries: typeof store.size === 'number' ? store.size : null, total_hits: s.retrievals },
      uptime_s: Math.round((Date.now() - started) / 1000),
    };
  }

  function metricsText() {
    const s = stats;
    const lines = ['# HELP headroom_requests_total Total requests processed', '# TYPE headroom_requests_total counter'];
    for (const [m, n] of Object.entries(s.byMode)) lines.push(`headroom_requests_total{mode="${m}"} ${n}`);
    const counters = [
      ['headroom_tokens_saved_total', 'Total tokens saved', s.tokensSaved],
      ['headroom_tokens_input_total', 'Input tokens before compression', s.tokensBefore],
      ['headroom_failed_open_total', 'Requests forwarded unchanged because compression failed', s.failed],
      ['headroom_upstream_errors_total', 'Upstream errors and unreachable upstreams', s.upstreamErrors],
      ['headroom_upstream_timeouts_total', 'Upstream calls aborted after upstreamTimeoutMs without an answer', s.upstreamTimeouts],
      ['headroom_client_closed_total', 'Requests whose client went away before the answer was complete', s.clientClosed],
      ['headroom_requests_too_large_total', 'Requests refused with 413 (body over maxBodyBytes)', s.tooLarge],
      ['headroom_retrieve_rounds_total', 'headroom_retrieve calls answered by the proxy (rounds)', s.retrieveRounds],
      ['headroom_cost_usd_total', 'Upstream spend from reported usage at list prices', +s.costUsd.toFixed(6)],
    ];
    for (const [name, help, value] of counters) lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
    lines.push(
      ratio.render('headroom_compression_ratio', 'Compression ratio (tokens after / before) histogram'),
      compressMs.render('headroom_compression_latency_ms', 'Time spent compressing a request, milliseconds'),
    );
    return lines.join('\n') + '\n';
  }

  return async function handle(request) {
    const url = new URL(request.url);
    const key = secretsOf(request, url); // for redaction; the first one names the tenant
    try {
      if (request.method === 'GET' && url.pathname === '/health') {
        return Response.json({ status: 'healthy', version: version(), mode, upstreams: Object.keys(upstreams), uptime_s: Math.round((Date.now() - started) / 1000) });
      }
      if (request.method === 'GET' && url.pathname === '/stats') return Response.json(statsJson());
      if (request.method === 'GET' && url.pathname === '/metrics') {
        return new Response(metricsText(), { headers: { 'content-type': 'text/plain; version=0.0.4' } });
      }
      const retrieveMatch = /^\/v1\/retrieve\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && retrieveMatch) {
        const hash = retrieveMatch[1];
        if (!/^[0-9a-f]{24}$/.test(hash)) return jsonError(400, 'invalid_hash', 'a retrieval hash is 24 lowercase hex digits');
        const content = await store.get(await tenantOf(key[0]), hash);
        // Another tenant's hash looks exactly like a missing one.
        if (content === null) return jsonError(404, 'not_found', 'no original is stored under this hash for this API key');
        stats.retrievals += 1;
        return Response.json({ hash, content });
      }

      let bytes;
      try {
        bytes = await readBody(request, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          stats.tooLarge += 1;
          log('warn', 'request body too large', { path: url.pathname, maxBodyBytes: maxBody }, key);
          return jsonError(413, 'request_too_large', `the request body is larger than ${maxBody} bytes`);
        }
        // The client went away while sending its body.
        if (request.signal?.aborted) return upstreamFailed(new ClientClosed('the client closed the connection'), url, key);
        throw err;
      }
      stats.requests += 1;

      if (request.method === 'POST' && url.pathname === '/v1/compress') {
        await engine();
        let input;
        try {
          input = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
        } catch {
          return jsonError(400, 'invalid_json', 'the body is not UTF-8 JSON');
        }
        try {
          const options = { mode: request.headers.get('x-headroom-mode') ?? mode };
          const result = hr.compress(input, options);
          await keepOriginals(await tenantOf(key[0]), result.markers);
          stats.byMode[options.mode === 'audit' ? 'audit' : 'optimize'] += 1;
          stats.tokensBefore += result.tokensBefore;
          stats.tokensAfter += result.tokensAfter;
          stats.tokensSaved += result.tokensSaved;
          return Response.json(result, { headers: { 'x-headroom-tokens-before': String(result.tokensBefore), 'x-headroom-tokens-after': String(result.tokensAfter), 'x-headroom-tokens-saved': String(result.tokensSaved) } });
        } catch (err) {
          if (err instanceof HeadroomError) return jsonError(err instanceof ValidationError ? 400 : 500, err.code, err.message);
          throw err;
        }
      }

      // A body that is not UTF-8 JSON is not ours to touch: it is passed through as it came.
      let text = '';
      let body = null;
      if (request.method === 'POST') {
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
          body = JSON.parse(text);
        } catch {}
      }
      const rt = body && typeof body === 'object' && !Array.isArray(body) ? route(request.method, url, body) : null;
      const bypass = /^(1|true|yes)$/i.test(request.headers.get('x-headroom-bypass') ?? '');
      if (!rt) return passthrough(request, url, key, bytes);
      if (bypass) return passthrough(request, url, key, bytes, 'bypass');
      return await llm(request, url, key, await tenantOf(key[0]), bytes, text, body, rt);
    } catch (err) {
      log('error', 'proxy error', { path: url.pathname, error: String(err?.message ?? err) }, key);
      return jsonError(500, 'proxy_error', redact(String(err?.message ?? err), key));
    }
  };
}
