// The proxy: one fetch-style handler (Request -> Promise<Response>) that the Node server
// (proxy-server.js) and the Worker entry (worker/index.js) both use. It compresses LLM requests
// on their way to the provider, relays answers (server-sent events byte for byte), answers the
// model's `headroom_retrieve` calls itself and calls the provider again, invisibly to the client.
//
// Safety rules: a request the engine cannot compress is forwarded as it came (fail open); an
// unreachable upstream is a 502 with a JSON error; upstream errors pass through as they are; API
// keys are forwarded and never written to logs, stats or metrics. Originals are stored per tenant
// (a hash of the caller's API key): one caller can never read another's.

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

function apiKeyOf(request, url) {
  const auth = request.headers.get('authorization');
  if (auth) {
    const m = /^\s*Bearer\s+(.+)$/i.exec(auth);
    return (m ? m[1] : auth).trim();
  }
  return request.headers.get('x-api-key') ?? request.headers.get('x-goog-api-key') ?? url.searchParams.get('key') ?? null;
}

const KEY_PATTERNS = [/sk-[A-Za-z0-9_\-]{8,}/g, /AIza[0-9A-Za-z_\-]{20,}/g, /Bearer\s+[^\s"',]+/gi, /([?&]key=)[^&\s"']+/g];

/** Replaces the request's key and anything shaped like a provider key with `[REDACTED]`. */
export function redact(text, key) {
  let s = String(text);
  if (key && key.length >= 4) s = s.split(key).join('[REDACTED]');
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
      reader.cancel().catch(() => {});
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
 * - `maxRetrieveRounds` (3); `fetch` (the global fetch); `logger(entry)`, `logLevel` (info)
 */
export function createProxyHandlerWith(init, options = {}) {
  const opts = { ...options };
  for (const k of Object.keys(opts)) {
    if (!['upstreams', 'mode', 'config', 'store', 'budgetUsd', 'maxBodyBytes', 'maxRetrieveRounds', 'fetch', 'logger', 'logLevel', 'llmlingua'].includes(k)) {
      throw new ConfigurationError(`unknown proxy option '${k}'`, { code: 'invalid_config', details: { option: k } });
    }
  }
  const mode = opts.mode ?? 'optimize';
  if (!['optimize', 'audit'].includes(mode)) throw new ConfigurationError(`proxy mode must be optimize or audit, not '${mode}'`, { code: 'invalid_config' });
  if (opts.budgetUsd !== undefined && !(Number.isFinite(opts.budgetUsd) && opts.budgetUsd >= 0)) {
    throw new ConfigurationError('budgetUsd must be a non-negative number', { code: 'invalid_value', details: { field: 'budgetUsd' } });
  }
  if (opts.llmlingua) {
    throw new ConfigurationError('--llmlingua is not available in this build (the ml entry is not shipped yet)', { code: 'unavailable' });
  }
  const upstreams = {};
  for (const [k, def] of Object.entries(DEFAULT_UPSTREAMS)) upstreams[k] = String(opts.upstreams?.[k] ?? def).replace(/\/+$/, '');
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const rounds = opts.maxRetrieveRounds ?? 3;
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

  async function engine() {
    if (!hr) {
      await init();
      hr = new Headroom(opts.config);
      retrieveTool = retrieveToolDefinition('openai');
    }
    return hr;
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

  async function upstreamFetch(url, headers, body) {
    return doFetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
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
      res = await doFetch(target, init);
    } catch (err) {
      return unreachable(err, url, key);
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
      for (const h of result.markers ?? []) {
        const original = hr.retrieve(h);
        if (original !== null) await store.put(tenant, h, original);
      }
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
      res = await doFetch(target, { method: 'POST', headers, body: unchanged ? bytes : JSON.stringify(sendBody) });
    } catch (err) {
      return unreachable(err, url, key);
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
      return streamRelay({ res, rt, headers, target, sendBody, canRetrieve, tenant, key, hdr, base, model, t0 });
    }
    if (rt.stream) {
      // A stream that is not SSE (Gemini without alt=sse): relayed as is, retrieve not handled.
      log('info', 'request', { ...base, status: res.status, stream: true, ms: Date.now() - t0 }, key);
      return new Response(res.body, { status: res.status, headers: responseHeaders(res, hdr) });
    }

    // Not streaming: answer retrieve calls until the model stops asking (bounded).
    let payload = await res.text();
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
      try {
        last = await upstreamFetch(target, headers, current);
      } catch (err) {
        return unreachable(err, url, key);
      }
      payload = await last.text();
      if (!last.ok) {
        stats.upstreamErrors += 1;
        break;
      }
    }
    log('info', 'request', { ...base, status: last.status, ms: Date.now() - t0 }, key);
    return new Response(payload, { status: last.status, statusText: last.statusText, headers: responseHeaders(last, hdr) });
  }

  function streamRelay({ res, rt, headers, target, sendBody, canRetrieve, tenant, key, hdr, base, model, t0 }) {
    const enc = new TextEncoder();
    let reader = res.body.getReader();
    let cancelled = false;
    const out = new ReadableStream({
      async start(controller) {
        let current = sendBody;
        let prev = null;
        try {
          for (let round = 0; ; round++) {
            const tracker = rt.format.tracker(prev);
            const dec = new TextDecoder();
            const split = new SseSplitter();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              if (cancelled) return;
              if (!canRetrieve) {
                // Nothing to intercept: pass the bytes on as they come, and read usage on the side.
                controller.enqueue(value);
                for (const ev of split.push(dec.decode(value, { stream: true }))) tracker.handle(ev);
                continue;
              }
              let send = '';
              for (const ev of split.push(dec.decode(value, { stream: true }))) send += tracker.handle(ev);
              if (send) controller.enqueue(enc.encode(send));
            }
            const rest = split.rest() + dec.decode();
            if (rest && canRetrieve) {
              const send = tracker.handle(rest);
              if (send) controller.enqueue(enc.encode(send));
            }
            addCost(model, tracker.usage);
            if (!canRetrieve || !tracker.pending()) break;
            if (round >= rounds) {
              // Out of rounds: give the client what was held back rather than nothing.
              controller.enqueue(enc.encode(tracker.held()));
              break;
            }
            const answers = [];
            for (const c of tracker.retrieveCalls()) answers.push(await answer(rt.format, c, tenant));
            current = tracker.continueWith(rt.format, current, answers);
            stats.retrieveRounds += 1;
            const next = await upstreamFetch(target, headers, current);
            if (!next.ok || !next.body) {
              stats.upstreamErrors += 1;
              const msg = { error: { type: 'upstream_error', status: next.status, message: redact(await next.text(), key).slice(0, 500) } };
              controller.enqueue(enc.encode(`event: error\ndata: ${JSON.stringify(msg)}\n\n`));
              break;
            }
            reader = next.body.getReader();
            prev = tracker;
          }
          log('info', 'request', { ...base, status: res.status, stream: true, ms: Date.now() - t0 }, key);
          controller.close();
        } catch (err) {
          stats.upstreamErrors += 1;
          log('error', 'stream relay failed', { ...base, error: String(err?.message ?? err) }, key);
          try {
            controller.error(err);
          } catch {}
        }
      },
      cancel() {
        cancelled = true;
        reader.cancel().catch(() => {});
      },
    });
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
    lines.push(
      '# HELP headroom_tokens_saved_total Total tokens saved',
      '# TYPE headroom_tokens_saved_total counter',
      `headroom_tokens_saved_total ${s.tokensSaved}`,
      '# HELP headroom_tokens_input_total Input tokens before compression',
      '# TYPE headroom_tokens_input_total counter',
      `headroom_tokens_input_total ${s.tokensBefore}`,
      '# HELP headroom_failed_open_total Requests forwarded unchanged because compression failed',
      '# TYPE headroom_failed_open_total counter',
      `headroom_failed_open_total ${s.failed}`,
      '# HELP headroom_upstream_errors_total Upstream errors and unreachable upstreams',
      '# TYPE headroom_upstream_errors_total counter',
      `headroom_upstream_errors_total ${s.upstreamErrors}`,
      '# HELP headroom_retrieve_rounds_total headroom_retrieve calls answered by the proxy (rounds)',
      '# TYPE headroom_retrieve_rounds_total counter',
      `headroom_retrieve_rounds_total ${s.retrieveRounds}`,
      '# HELP headroom_cost_usd_total Upstream spend from reported usage at list prices',
      '# TYPE headroom_cost_usd_total counter',
      `headroom_cost_usd_total ${+s.costUsd.toFixed(6)}`,
      ratio.render('headroom_compression_ratio', 'Compression ratio (tokens after / before) histogram'),
      compressMs.render('headroom_compression_latency_ms', 'Time spent compressing a request, milliseconds'),
    );
    return lines.join('\n') + '\n';
  }

  return async function handle(request) {
    const url = new URL(request.url);
    const key = apiKeyOf(request, url);
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
        const hash = decodeURIComponent(retrieveMatch[1]);
        if (!/^[0-9a-f]{24}$/.test(hash)) return jsonError(400, 'invalid_hash', 'a retrieval hash is 24 lowercase hex digits');
        const content = await store.get(await tenantOf(key), hash);
        // Another tenant's hash looks exactly like a missing one.
        if (content === null) return jsonError(404, 'not_found', 'no original is stored under this hash for this API key');
        stats.retrievals += 1;
        return Response.json({ hash, content });
      }

      let bytes;
      try {
        bytes = await readBody(request, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLarge) return jsonError(413, 'request_too_large', `the request body is larger than ${maxBody} bytes`);
        throw err;
      }
      stats.requests += 1;

      if (request.method === 'POST' && url.pathname === '/v1/compress') {
        await engine();
        let input;
        try {
          input = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          return jsonError(400, 'invalid_json', 'the body is not JSON');
        }
        try {
          const options = { mode: request.headers.get('x-headroom-mode') ?? mode };
          const result = hr.compress(input, options);
          const tenant = await tenantOf(key);
          for (const h of result.markers) {
            const original = hr.retrieve(h);
            if (original !== null) await store.put(tenant, h, original);
          }
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

      const text = new TextDecoder().decode(bytes);
      let body = null;
      if (request.method === 'POST') {
        try {
          body = JSON.parse(text);
        } catch {}
      }
      const rt = body && typeof body === 'object' && !Array.isArray(body) ? route(request.method, url, body) : null;
      const bypass = /^(1|true|yes)$/i.test(request.headers.get('x-headroom-bypass') ?? '');
      if (!rt) return passthrough(request, url, key, bytes);
      if (bypass) return passthrough(request, url, key, bytes, 'bypass');
      return await llm(request, url, key, await tenantOf(key), bytes, text, body, rt);
    } catch (err) {
      log('error', 'proxy error', { path: url.pathname, error: String(err?.message ?? err) }, key);
      return jsonError(500, 'proxy_error', redact(String(err?.message ?? err), key));
    }
  };
}
