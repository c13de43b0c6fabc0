// The public JS API over the wasm engine, shared by every entry point. The engine is called
// with JSON text (a request as its UTF-8 bytes) and answers JSON text: one copy each way per call.
//
// Entry points (node.js, workerd.js, browser.js) instantiate the wasm module their own way and
// hand the compiled WebAssembly.Module to `setModule`, which also lets us re-instantiate after a
// trap (a Rust panic in wasm is a trap that leaves the instance unusable).

import * as glue from './wasm/headroom.js';
import {
  HeadroomError,
  ConfigurationError,
  CompressionError,
  ValidationError,
  fromEngineError,
} from './errors.js';

import { state } from './runtime.js';

/** Inner engine objects of the current generation, so a trap can detach them from the dead instance. */
let live = new Set();
const utf8 = new TextEncoder();

function ensureReady() {
  if (!state.ready) {
    throw new HeadroomError(
      'headroom-wasm is not initialised: in browsers, call `await init()` once before using it',
      { code: 'not_initialised' },
    );
  }
}

function reinstantiate() {
  for (const ref of live) {
    const inner = ref.deref();
    // Detach without calling into wasm: the old pointers mean nothing to the new instance.
    if (inner && typeof inner.__destroy_into_raw === 'function') inner.__destroy_into_raw();
  }
  live = new Set();
  state.generation += 1;
  glue.__headroom_reset();
  glue.initSync({ module: state.module });
}

/** Runs `fn` against the engine, mapping engine errors to classes and traps to a fresh instance. */
function call(fn) {
  ensureReady();
  try {
    return fn();
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      let recovered = false;
      try {
        reinstantiate();
        recovered = true;
      } catch {
        state.ready = false;
      }
      throw new CompressionError(
        `the wasm engine trapped (${err.message}); it was re-instantiated${recovered ? '' : ' unsuccessfully'}, and engine state (stores, stats) was reset`,
        { code: 'wasm_trap', details: { recovered }, cause: err },
      );
    }
    throw fromEngineError(err);
  }
}

function wellFormed(s, what) {
  if (typeof s.isWellFormed === 'function' ? !s.isWellFormed() : /[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw new ValidationError(`${what} contains a lone UTF-16 surrogate, which cannot be sent as UTF-8`, {
      code: 'lone_surrogate',
    });
  }
  return s;
}

function jsonText(value, what, code) {
  if (typeof value === 'string') return wellFormed(value, what);
  let text;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new ValidationError(`${what} cannot be serialised to JSON: ${err.message}`, { code, cause: err });
  }
  if (text === undefined) throw new ValidationError(`${what} is not a JSON value`, { code });
  return text;
}

function requestText(request) {
  if (typeof request === 'string') return wellFormed(request, 'the request');
  if (request === null || typeof request !== 'object') {
    throw new ValidationError('a request must be a messages array or a provider request body (an object)', {
      code: 'invalid_request',
      details: { type: request === null ? 'null' : typeof request },
    });
  }
  return jsonText(request, 'the request', 'invalid_request');
}

function configText(config, what = 'the configuration') {
  if (config === undefined || config === null) return undefined;
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigurationError(`${what} must be an object`, { code: 'invalid_config' });
  }
  // JSON would turn NaN and Infinity into null; name the field instead.
  const bad = findNonFinite(config, '');
  if (bad) throw new ConfigurationError(`${bad} must be a finite number`, { code: 'invalid_value', details: { field: bad } });
  return jsonText(config, what, 'invalid_config');
}

function findNonFinite(value, path) {
  if (typeof value === 'number' && !Number.isFinite(value)) return path || '(value)';
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = findNonFinite(v, path ? `${path}.${k}` : k);
      if (found) return found;
    }
  }
  return null;
}

/**
 * The engine. `new Headroom(config?)`; all methods are synchronous.
 */
export class Headroom {
  #inner;
  #config;
  #generation;
  #share;
  #maxBytes = Infinity;

  constructor(config, /* internal */ shareWith) {
    ensureReady();
    this.#config = configText(config);
    this.#share = shareWith;
    this.#create();
    this.#maxBytes = JSON.parse(call(() => this.#inner.configJson())).limits.maxRequestBytes;
  }

  /** Rejects a request text that is certainly over limits.maxRequestBytes before copying it into
   * wasm memory (which never shrinks): a UTF-16 length over the limit means more bytes than that. */
  #sized(text) {
    if (text.length > this.#maxBytes) {
      throw new ValidationError(`the request is over limits.maxRequestBytes (${this.#maxBytes})`, {
        code: 'request_too_large',
        details: { minBytes: text.length, limit: this.#maxBytes },
      });
    }
    return text;
  }

  #create() {
    this.#generation = state.generation;
    this.#inner = call(() =>
      this.#share ? this.#share.#engine().withSharedStore(this.#config) : new glue.WasmHeadroom(this.#config),
    );
    // Workers have neither WeakRef nor FinalizationRegistry: nothing frees old pointers there,
    // so there is nothing to detach either.
    if (typeof WeakRef === 'function') live.add(new WeakRef(this.#inner));
  }

  #engine() {
    if (this.#generation !== state.generation) this.#create();
    return this.#inner;
  }

  /** Compresses a request: a messages array, a provider body, or either as JSON text. */
  compress(request, options) {
    const req = this.#sized(requestText(request));
    const opts = configText(options, 'options');
    // Bytes, not a string: TextEncoder is native; wasm-bindgen's string copy loops in JS.
    const bytes = utf8.encode(req);
    return JSON.parse(call(() => this.#engine().compress(bytes, opts)));
  }

  /** Runs the pipeline and returns the plan without any provider call. */
  simulate(request, options) {
    const req = this.#sized(requestText(request));
    const opts = configText(options, 'options');
    return JSON.parse(call(() => this.#engine().simulate(req, opts)));
  }

  /** The original content behind a marker's hash, or null. */
  retrieve(hash) {
    if (typeof hash !== 'string') {
      throw new ValidationError('a retrieval hash must be a string', { code: 'invalid_hash' });
    }
    return call(() => this.#engine().retrieve(hash)) ?? null;
  }

  /** Tokens in a string, or in a whole request counted the way providers bill it. */
  countTokens(textOrRequest, model) {
    if (model !== undefined && typeof model !== 'string') {
      throw new ValidationError('model must be a string', { code: 'invalid_model' });
    }
    if (typeof textOrRequest === 'string') {
      const text = wellFormed(textOrRequest, 'the text');
      return call(() => this.#engine().countText(text, model));
    }
    const req = requestText(textOrRequest);
    return call(() => this.#engine().countRequest(req, model));
  }

  /**
   * Answers the model's `headroom_retrieve` tool call (OpenAI, Anthropic or Google shape) with
   * the tool-result message to append: the original, or a not-found error for the model.
   */
  answerRetrieveCall(toolCall) {
    const text = jsonText(toolCall, 'the tool call', 'invalid_tool_call');
    return JSON.parse(call(() => this.#engine().answerRetrieveCall(text)));
  }

  /** Per-instance statistics. */
  stats() {
    return JSON.parse(call(() => this.#engine().stats()));
  }

  /** `{ input, cachedInput, output }` USD per 1M tokens for `model` (config `pricing` first, then the built-in table), or null. */
  modelPrice(model) {
    if (typeof model !== 'string') throw new ValidationError('model must be a string', { code: 'invalid_model' });
    return JSON.parse(call(() => this.#engine().modelPrice(model)));
  }

  /** The effective configuration, defaults filled in. */
  config() {
    return JSON.parse(call(() => this.#engine().configJson()));
  }

  /** @internal Used by the standalone text compressors. */
  _compressText(kind, content, query, config) {
    return call(() => this.#engine().compressText(kind, content, query, config));
  }

  /** A new engine with its own config that shares this one's store of originals. */
  withSharedStore(config) {
    return new Headroom(config, this);
  }
}

let defaultInstance = null;
const perConfig = new Map();

function defaultEngine() {
  if (!defaultInstance || defaultInstance.generation !== state.generation) {
    defaultInstance = { engine: new Headroom(), generation: state.generation };
    perConfig.clear();
  }
  return defaultInstance.engine;
}

/** One-call compression over a shared default instance; markers are retrievable with `retrieve`. */
export function compress(request, config) {
  if (config === undefined || config === null) return defaultEngine().compress(request);
  const key = configText(config);
  let engine = perConfig.get(key);
  if (!engine) {
    engine = defaultEngine().withSharedStore(config);
    if (perConfig.size >= 16) perConfig.delete(perConfig.keys().next().value);
    perConfig.set(key, engine);
  }
  return engine.compress(request);
}

/** The original behind a hash from the module-level `compress`, or null. */
export function retrieve(hash) {
  return defaultEngine().retrieve(hash);
}

/** Tokens in a string or request (default model gpt-4o). */
export function countTokens(textOrRequest, model) {
  return defaultEngine().countTokens(textOrRequest, model);
}

/** Exact tiktoken count with a named encoding: `o200k_base` or `cl100k_base`. */
export function countWithEncoding(text, encoding) {
  wellFormed(String(text), 'the text');
  return call(() => glue.countWithEncoding(text, encoding));
}

/** The `headroom_retrieve` tool definition in a provider's format, to add to requests yourself. */
export function retrieveToolDefinition(provider = 'openai') {
  return JSON.parse(call(() => glue.retrieveToolJson(provider)));
}

/** `{ contentType, confidence, metadata }` of a tool output (json, search_results, build_output, diff, html, source_code, plain_text). */
export function detectContentType(content) {
  if (typeof content !== 'string') throw new ValidationError('detectContentType expects a string', { code: 'invalid_content' });
  return JSON.parse(call(() => glue.detectContentType(wellFormed(content, 'the content'))));
}

/**
 * The standalone text compressors. `new SearchCompressor(config?, { store? })` where `store` is a
 * Headroom instance whose store keeps the originals (default: the module-level one, readable with
 * the module-level `retrieve(hash)`). `compress(content, { query })` returns
 * `{ compressed, originalCount, compressedCount, unit, compressionRatio, hash }`.
 */
class TextCompressorBase {
  #kind;
  #config;
  #store;

  constructor(kind, config, options = {}) {
    ensureReady();
    this.#kind = kind;
    this.#config = configText(config);
    if (this.#config !== undefined) call(() => glue.checkTextConfig(kind, this.#config));
    if (options.store !== undefined && !(options.store instanceof Headroom)) {
      throw new ConfigurationError('options.store must be a Headroom instance', { code: 'invalid_config' });
    }
    this.#store = options.store;
  }

  compress(content, options = {}) {
    if (typeof content !== 'string') throw new ValidationError('compress expects a string', { code: 'invalid_content' });
    const query = options.query ?? '';
    if (typeof query !== 'string') throw new ValidationError('options.query must be a string', { code: 'invalid_options' });
    const text = wellFormed(content, 'the content');
    const store = this.#store ?? defaultEngine();
    return JSON.parse(store._compressText(this.#kind, text, wellFormed(query, 'the query'), this.#config));
  }
}

export class SearchCompressor extends TextCompressorBase {
  constructor(config, options) {
    super('search', config, options);
  }
}
export class LogCompressor extends TextCompressorBase {
  constructor(config, options) {
    super('log', config, options);
  }
}
export class DiffCompressor extends TextCompressorBase {
  constructor(config, options) {
    super('diff', config, options);
  }
}
export class TextCompressor extends TextCompressorBase {
  constructor(config, options) {
    super('text', config, options);
  }
}

/**
 * Decodes SmartCrusher's table format back into the JSON value it stands for (arrays of records,
 * maps of records keyed by id, arrays of several item shapes; see the README's table format).
 */
export function decodeTable(text) {
  if (typeof text !== 'string') throw new ValidationError('decodeTable expects a string', { code: 'invalid_table' });
  return JSON.parse(call(() => glue.decodeTable(wellFormed(text, 'the table'))));
}

/**
 * Bytes of linear memory the wasm instance holds. Wasm memory grows but never shrinks, so this is
 * the peak so far: a diagnostic for memory budgets (Workers allow 128 MB per isolate).
 */
export function wasmMemoryBytes() {
  return state.ready ? glue.__headroom_memory_bytes() : 0;
}

/** The engine version. */
export function version() {
  return call(() => glue.engineVersion());
}

export {
  HeadroomError,
  ConfigurationError,
  ProviderError,
  StorageError,
  CompressionError,
  ValidationError,
} from './errors.js';

/** Test-only: makes the wasm module trap, to exercise recovery. Not part of the supported API. */
export function __testTrap() {
  return call(() => glue.__headroomTestTrap());
}

// For the ML entry (ml/llmlingua.js), which calls the engine through the same error mapping.
state.call = call;
