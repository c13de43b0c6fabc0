// HeadroomClient: wraps the official `openai` or `@anthropic-ai/sdk` client so every request is
// compressed (or, in the default `audit` mode, only measured) before it is sent, and the model's
// `headroom_retrieve` calls are answered and the call continued without the caller seeing them.
// Everything else on the wrapped client passes through untouched.

import { Headroom, retrieveToolDefinition } from './core.js';
import { ConfigurationError, HeadroomError, StorageError } from './errors.js';
import { formats, takeOverrides, toEngineCall, fromEngineAnswer, compressResponsesBody } from './providers.js';

// ---------------------------------------------------------------------------------------------
// Metrics stores: `memory` here; `jsonl:///path` registered by the Node entry.

const storeFactories = new Map();

/** Registers a metrics store for a `storeUrl` scheme (`jsonl` in Node). */
export function registerMetricsStore(scheme, factory) {
  storeFactories.set(scheme, factory);
}

/** Request metrics kept in memory (the newest `maxRecords`). */
export class MemoryMetricsStore {
  #records = [];
  #max;
  constructor({ maxRecords = 10000 } = {}) {
    this.#max = maxRecords;
  }
  add(record) {
    this.#records.push(record);
    if (this.#records.length > this.#max) this.#records.splice(0, this.#records.length - this.#max);
  }
  all() {
    return this.#records.slice();
  }
  check() {
    return { ok: true, message: 'in memory' };
  }
}

registerMetricsStore('memory', () => new MemoryMetricsStore());

function openStore(storeUrl) {
  if (storeUrl === undefined || storeUrl === null || storeUrl === 'memory' || storeUrl === 'memory://') return new MemoryMetricsStore();
  if (typeof storeUrl === 'object' && typeof storeUrl.add === 'function' && typeof storeUrl.all === 'function') return storeUrl;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(String(storeUrl))?.[1]?.toLowerCase();
  const factory = scheme && storeFactories.get(scheme);
  if (!factory) {
    throw new ConfigurationError(`storeUrl '${storeUrl}' is not supported here (supported: ${[...storeFactories.keys()].map((s) => `${s}:`).join(', ')})`, {
      code: 'invalid_store_url',
      details: { storeUrl: String(storeUrl) },
    });
  }
  return factory(String(storeUrl));
}

// ---------------------------------------------------------------------------------------------

const MODES = ['audit', 'optimize', 'simulate'];

function detectProvider(client, provider) {
  const name = typeof provider === 'string' ? provider : provider?.name;
  if (name !== undefined) {
    const n = String(name).toLowerCase().replace(/provider$/, '');
    if (n === 'openai' || n === 'anthropic') return n;
    throw new ConfigurationError(`provider must be 'openai' or 'anthropic', not '${name}'`, { code: 'invalid_provider' });
  }
  if (client?.chat?.completions && typeof client.chat.completions.create === 'function') return 'openai';
  if (client?.messages && typeof client.messages.create === 'function') return 'anthropic';
  throw new ConfigurationError('cannot tell the provider of originalClient: pass provider: "openai" or "anthropic"', { code: 'invalid_provider' });
}

/** Wraps `target` so the given properties are ours and everything else is the original's. */
function overlay(target, own) {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (Object.prototype.hasOwnProperty.call(own, prop)) return own[prop];
      const v = Reflect.get(t, prop, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

let seq = 0;

export class HeadroomClient {
  #hr;
  #client;
  #provider;
  #mode;
  #store;
  #rounds;
  #storeUrl;
  #storageError = null;
  #session = { requests: 0, optimize: 0, audit: 0, simulate: 0, failed: 0, before: 0, after: 0, saved: 0, retrieveRounds: 0 };

  /**
   * `new HeadroomClient({ originalClient, provider?, defaultMode = 'audit', storeUrl?, maxRetrieveRounds = 3, ...config })`;
   * `config` is the Headroom engine config (model, smartCrusher, rollingWindow, ...).
   */
  constructor(options = {}) {
    const { originalClient, provider, defaultMode = 'audit', storeUrl, maxRetrieveRounds = 3, ...config } = options;
    if (!originalClient || typeof originalClient !== 'object') {
      throw new ConfigurationError('HeadroomClient needs originalClient (an OpenAI or Anthropic client)', { code: 'invalid_config' });
    }
    if (!MODES.includes(defaultMode)) throw new ConfigurationError(`defaultMode must be one of ${MODES.join(', ')}`, { code: 'invalid_config' });
    if (!Number.isInteger(maxRetrieveRounds) || maxRetrieveRounds < 0) throw new ConfigurationError('maxRetrieveRounds must be a non-negative integer', { code: 'invalid_value' });
    this.#client = originalClient;
    this.#provider = detectProvider(originalClient, provider);
    this.#mode = defaultMode;
    this.#rounds = maxRetrieveRounds;
    this.#storeUrl = storeUrl === undefined ? 'memory' : typeof storeUrl === 'string' ? storeUrl : 'custom';
    this.#hr = new Headroom({ ...config, defaultMode: defaultMode === 'simulate' ? 'audit' : defaultMode });
    this.#store = openStore(storeUrl);

    const self = this;
    if (this.#provider === 'openai') {
      const completions = overlay(originalClient.chat.completions, {
        create: (params, reqOpts) => self.#create(formats.openaiChat, (b, o) => originalClient.chat.completions.create(b, o), params, reqOpts),
        simulate: (params) => self.#simulate(formats.openaiChat, params),
      });
      this.chat = overlay(originalClient.chat, { completions });
      if (originalClient.responses) {
        this.responses = overlay(originalClient.responses, {
          create: (params, reqOpts) => self.#create(formats.openaiResponses, (b, o) => originalClient.responses.create(b, o), params, reqOpts),
          simulate: (params) => self.#simulate(formats.openaiResponses, params),
        });
      }
    } else {
      this.messages = overlay(originalClient.messages, {
        create: (params, reqOpts) => self.#create(formats.anthropic, (b, o) => originalClient.messages.create(b, o), params, reqOpts),
        simulate: (params) => self.#simulate(formats.anthropic, params),
      });
    }
    // Anything else (models, files, beta, ...) is the original client's.
    return new Proxy(this, {
      get(t, prop) {
        if (prop in t) {
          const v = Reflect.get(t, prop, t);
          return typeof v === 'function' ? v.bind(t) : v;
        }
        const v = Reflect.get(originalClient, prop, originalClient);
        return typeof v === 'function' ? v.bind(originalClient) : v;
      },
    });
  }

  /** The Headroom engine this client uses (its store holds the originals). */
  get headroom() {
    return this.#hr;
  }

  #compress(format, params, mode, overrides) {
    const opts = { ...overrides, mode };
    if (format === formats.openaiResponses) {
      return compressResponsesBody(params, (chat) => (mode === 'simulate' ? this.#hr.simulate(chat, opts) : this.#hr.compress(chat, opts)), retrieveToolDefinition('openai'));
    }
    const result = mode === 'simulate' ? this.#hr.simulate(params, { ...opts, provider: format.provider }) : this.#hr.compress(params, { ...opts, provider: format.provider });
    return { body: result.request ?? params, result };
  }

  #simulate(format, params) {
    const body = { ...params };
    const overrides = takeOverrides(body);
    const { result } = this.#compress(format, body, 'simulate', overrides);
    this.#record({ result, mode: 'simulate', model: body.model, stream: false, failedOpen: false, started: Date.now() });
    return { ...result, transforms: result.transformsApplied };
  }

  async #create(format, send, params, reqOpts) {
    const started = Date.now();
    const body = { ...params };
    const overrides = takeOverrides(body);
    const mode = overrides.mode ?? this.#mode;
    if (mode === 'simulate') return this.#simulate(format, params);
    let sendBody = body;
    let result = null;
    try {
      ({ body: sendBody, result } = this.#compress(format, body, mode, overrides));
    } catch (err) {
      // Fail open: the original request goes out; the failure is counted.
      if (!(err instanceof HeadroomError)) throw err;
      sendBody = body;
      result = null;
    }
    const record = { result, mode, model: body.model, stream: body.stream === true, failedOpen: result === null, started, rounds: 0 };
    const canRetrieve = (result?.markers?.length ?? 0) > 0 && this.#rounds > 0;
    if (body.stream === true) {
      const stream = await send(sendBody, reqOpts);
      if (!canRetrieve) {
        this.#record(record);
        return stream;
      }
      return this.#retrievingStream(format, send, sendBody, reqOpts, stream, record);
    }
    let res = await send(sendBody, reqOpts);
    let current = sendBody;
    for (let round = 0; canRetrieve && round < this.#rounds; round++) {
      const calls = format.retrieveCalls(res);
      if (!calls.length) break;
      const answers = calls.map((c) => fromEngineAnswer(format, this.#hr.answerRetrieveCall(toEngineCall(format, c))));
      current = format.continueBody(current, res, answers);
      record.rounds += 1;
      res = await send(current, reqOpts);
    }
    record.usage = format.usage(res);
    this.#record(record);
    return res;
  }

  /** The SDK's chunk stream, with a retrieve detour answered in place: same chunk objects, one stream. */
  #retrievingStream(format, send, firstBody, reqOpts, firstStream, record) {
    const self = this;
    let current = firstStream;
    const isAnthropic = format === formats.anthropic;
    const raw = (chunk) => (isAnthropic || format === formats.openaiResponses ? `event: ${chunk.type}\ndata: ${JSON.stringify(chunk)}\n\n` : `data: ${JSON.stringify(chunk)}\n\n`);
    async function* run() {
      let body = firstBody;
      let prev = null;
      for (let round = 0; ; round++) {
        const tracker = format.tracker(prev);
        for await (const chunk of current) {
          const r = raw(chunk);
          const out = tracker.handle(r);
          if (out === r) yield chunk;
          else if (out) yield JSON.parse(out.slice(out.indexOf('data: ') + 6));
        }
        if (!tracker.pending()) break;
        if (round >= self.#rounds) {
          for (const ev of tracker.heldEvents) yield JSON.parse(ev.slice(ev.indexOf('data: ') + 6));
          break;
        }
        const answers = tracker.retrieveCalls().map((c) => fromEngineAnswer(format, self.#hr.answerRetrieveCall(toEngineCall(format, c))));
        body = tracker.continueWith(format, body, answers);
        record.rounds += 1;
        current = await send(body, reqOpts);
        prev = tracker;
      }
      self.#record(record);
    }
    const it = run();
    return {
      [Symbol.asyncIterator]: () => it,
      /** Aborts the upstream stream being read now. */
      get controller() {
        return current.controller;
      },
      toReadableStream() {
        const enc = new TextEncoder();
        return new ReadableStream({
          async pull(c) {
            const { done, value } = await it.next();
            if (done) c.close();
            else c.enqueue(enc.encode(JSON.stringify(value) + '\n'));
          },
          cancel: () => it.return?.(),
        });
      },
    };
  }

  #record({ result, mode, model, stream, failedOpen, started, rounds = 0, usage = null }) {
    const s = this.#session;
    s.requests += 1;
    s[mode] += 1;
    if (failedOpen) s.failed += 1;
    s.retrieveRounds += rounds;
    if (result) {
      s.before += result.tokensBefore;
      s.after += result.tokensAfter;
      s.saved += result.tokensSaved;
    }
    const rec = {
      request_id: `hr-${Date.now().toString(36)}-${(++seq).toString(36)}`,
      timestamp: new Date().toISOString(),
      provider: this.#provider,
      model: String(model ?? ''),
      mode,
      stream,
      tokens_input_before: result?.tokensBefore ?? null,
      tokens_input_after: result?.tokensAfter ?? null,
      tokens_saved: result?.tokensSaved ?? 0,
      potential_tokens_saved: result?.potentialTokensSaved ?? null,
      transforms_applied: result?.transformsApplied ?? [],
      markers: result?.markers?.length ?? 0,
      retrieve_rounds: rounds,
      failed_open: failedOpen,
      tokens_output: usage?.output ?? null,
      latency_ms: Date.now() - started,
    };
    try {
      this.#store.add(rec);
    } catch (err) {
      // Metrics persistence failing never fails the call; validateSetup() reports it.
      this.#storageError = err instanceof StorageError ? err : new StorageError(`metrics store write failed: ${err?.message ?? err}`, { code: 'store_write_failed', cause: err });
    }
  }

  /** Session totals, the effective mode/provider, and which transforms are on. */
  getStats() {
    const s = this.#session;
    const c = this.#hr.config();
    return {
      session: {
        requests_total: s.requests,
        requests_optimized: s.optimize,
        requests_audited: s.audit,
        requests_simulated: s.simulate,
        requests_failed: s.failed,
        tokens_before_total: s.before,
        tokens_after_total: s.after,
        tokens_saved_total: s.saved,
        savings_percent: s.before ? +((100 * s.saved) / s.before).toFixed(2) : 0,
        retrieve_rounds_total: s.retrieveRounds,
      },
      config: { mode: this.#mode, provider: this.#provider, model: c.model, store_url: this.#storeUrl, max_retrieve_rounds: this.#rounds },
      transforms: {
        smart_crusher_enabled: c.smartCrusher?.enabled !== false,
        cache_aligner_enabled: c.cacheAligner?.mode !== 'off',
        cache_optimizer_enabled: c.cacheOptimizer?.enabled !== false,
        rolling_window_enabled: c.rollingWindow?.enabled !== false,
        ccr_enabled: c.ccr?.enabled !== false,
      },
    };
  }

  /** Checks the wrapped client, the engine config and the metrics store. */
  validateSetup() {
    const issues = [];
    const client = this.#client;
    const providerOk = this.#provider === 'openai' ? typeof client.chat?.completions?.create === 'function' : typeof client.messages?.create === 'function';
    if (!providerOk) issues.push(`originalClient does not look like a ${this.#provider} client`);
    let configOk = true;
    try {
      this.#hr.config();
    } catch (err) {
      configOk = false;
      issues.push(`engine: ${err.message}`);
    }
    let storage = { ok: true, message: 'ok' };
    try {
      storage = this.#store.check?.() ?? storage;
    } catch (err) {
      storage = { ok: false, message: String(err?.message ?? err) };
    }
    if (this.#storageError) storage = { ok: false, message: this.#storageError.message };
    if (!storage.ok) issues.push(`storage: ${storage.message}`);
    return {
      valid: issues.length === 0,
      provider: { ok: providerOk, name: this.#provider },
      config: { ok: configOk, mode: this.#mode },
      storage: { ...storage, url: this.#storeUrl },
      issues,
    };
  }

  /** Stored request metrics, oldest first: `{ startTime?, endTime?, model?, mode?, limit? }`. */
  async getMetrics({ startTime, endTime, model, mode, limit } = {}) {
    const t0 = startTime ? new Date(startTime).getTime() : -Infinity;
    const t1 = endTime ? new Date(endTime).getTime() : Infinity;
    let rows = (await this.#store.all()).filter((r) => {
      const t = Date.parse(r.timestamp);
      return t >= t0 && t <= t1 && (!model || r.model === model) && (!mode || r.mode === mode);
    });
    if (limit !== undefined) rows = rows.slice(-limit);
    return rows;
  }

  /** Totals over every stored metric (across sessions for a JSONL store). */
  async getSummary() {
    const rows = await this.#store.all();
    const sum = (k) => rows.reduce((a, r) => a + (r[k] ?? 0), 0);
    const before = sum('tokens_input_before');
    const saved = sum('tokens_saved');
    const byMode = {};
    for (const r of rows) byMode[r.mode] = (byMode[r.mode] ?? 0) + 1;
    return {
      total_requests: rows.length,
      total_tokens_before: before,
      total_tokens_after: sum('tokens_input_after'),
      total_tokens_saved: saved,
      savings_percent: before ? +((100 * saved) / before).toFixed(2) : 0,
      by_mode: byMode,
      failed_open: rows.filter((r) => r.failed_open).length,
      retrieve_rounds: sum('retrieve_rounds'),
      avg_latency_ms: rows.length ? +(sum('latency_ms') / rows.length).toFixed(2) : 0,
    };
  }
}
