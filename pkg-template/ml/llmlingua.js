// The ML compressor classes of `headroom-wasm/ml` (this folder is the ml build: the same API as
// the root entry over a wasm module built with the `ml` feature, plus what is here).
//
// One model is loaded at a time per module instance (`unloadModel()` frees it); Headroom
// instances with an `llmlingua` config use it too. Compression is synchronous and takes a
// noticeable time per 512-token window: in browsers, run it in a Web Worker.

import * as glue from '../wasm-ml/headroom.js';
import { ConfigurationError, ValidationError } from '../errors.js';
import { state } from './runtime.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

function call(fn) {
  if (typeof state.call !== 'function') {
    throw new ConfigurationError('headroom-wasm/ml is not initialised: in browsers, call `await init()` first', {
      code: 'not_initialised',
    });
  }
  return state.call(fn);
}

function isUrlLike(x) {
  return x instanceof URL || (typeof x === 'string' && !x.trimStart().startsWith('{'));
}

/** Reads a URL (http(s), file:, or in Node a path) as bytes, reporting progress. */
async function fetchBytes(source, file, onProgress) {
  // In Node a string without a scheme is a file path; elsewhere it is relative to the page.
  const base = typeof location !== 'undefined' ? location.href : undefined;
  const url = source instanceof URL ? source : isNode && !/^[a-z]+:/i.test(source) ? null : new URL(source, base);
  if (isNode && (url === null || url.protocol === 'file:')) {
    const fsName = 'node:fs/promises';
    const { readFile } = await import(/* @vite-ignore */ fsName);
    // A view on the Buffer, not a copy: 23 MB less at the load's peak.
    const buf = await readFile(url ?? source);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    onProgress?.({ file, loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  const res = await fetch(url);
  if (!res.ok) throw new ConfigurationError(`could not fetch ${url}: HTTP ${res.status}`, { code: 'fetch_failed' });
  const total = Number(res.headers.get('content-length')) || undefined;
  if (!res.body || !onProgress) return new Uint8Array(await res.arrayBuffer());
  const chunks = [];
  let loaded = 0;
  for (const reader = res.body.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress({ file, loaded, total });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function modelBytes(model, onProgress) {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  if (ArrayBuffer.isView(model)) return new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
  if (isUrlLike(model)) return fetchBytes(model, 'model', onProgress);
  throw new ConfigurationError('model must be bytes (Uint8Array, ArrayBuffer) or a URL', { code: 'invalid_model' });
}

async function tokenizerText(tokenizer, onProgress) {
  if (typeof tokenizer === 'string' && !isUrlLike(tokenizer)) return tokenizer;
  if (isUrlLike(tokenizer)) return new TextDecoder().decode(await fetchBytes(tokenizer, 'tokenizer', onProgress));
  if (tokenizer && typeof tokenizer === 'object') return JSON.stringify(tokenizer);
  throw new ConfigurationError('tokenizerJson must be a JSON string, an object or a URL', { code: 'invalid_tokenizer' });
}

/**
 * The model shipped in the package (models/default), if the package carries one. Resolved when
 * asked for, not at import: in a bundled Worker `import.meta.url` is no base URL, and throwing
 * at import would keep the whole entry from loading.
 */
const defaultFile = (name) => new URL(`../models/default/${name}`, import.meta.url);

export class LLMLinguaCompressor {
  #id;

  /** @internal Use `await LLMLinguaCompressor.load(...)`. */
  constructor(id) {
    this.#id = id;
  }

  /**
   * Loads a token-classification model (ONNX bytes or a URL) and its tokenizer.json (a string,
   * an object or a URL), replacing any loaded model. With no arguments, loads the model shipped
   * in the package (models/default).
   */
  static async load(model, tokenizerJson, options = {}) {
    const onProgress = typeof options.onProgress === 'function' ? options.onProgress : undefined;
    const isDefault = model === undefined && tokenizerJson === undefined;
    if (isDefault) {
      try {
        model = defaultFile('model.onnx');
        tokenizerJson = defaultFile('tokenizer.json');
      } catch (err) {
        throw new ConfigurationError(`the default model cannot be located here (${err.message}); pass the model's bytes and its tokenizerJson`, { code: 'model_unavailable', cause: err });
      }
    } else if (model === undefined || tokenizerJson === undefined) {
      throw new ConfigurationError('pass both a model and its tokenizerJson, or neither for the default model', {
        code: 'invalid_model',
      });
    }
    let bytes, tok;
    try {
      [bytes, tok] = await Promise.all([modelBytes(model, onProgress), tokenizerText(tokenizerJson, onProgress)]);
    } catch (err) {
      if (err instanceof ConfigurationError) throw err;
      const which = isDefault ? 'the default model (models/default) is not in this package: ' : '';
      throw new ConfigurationError(`${which}could not read the model: ${err.message}`, { code: 'model_unavailable', cause: err });
    }
    const id = call(() => glue.mlLoadModel(bytes, tok));
    return new LLMLinguaCompressor(id);
  }

  /**
   * Compresses `text` (synchronous). Options: `rate` (fraction of tokens kept, default 0.5) or
   * `targetTokens`, `forceTokens`, `forceReserveDigit` (default true), `dropConsecutive`
   * (default true), `deadlineMs`, `granularity` (`"word"`, default, or `"segment"`: whole lines
   * and sentences ranked), `model` (the target LLM whose tokens are counted, default
   * gpt-4o). Returns `{ compressed, originalTokens, compressedTokens, savingsPercentage, warnings }`.
   */
  compress(text, options = {}) {
    if (typeof text !== 'string') throw new ValidationError('compress expects a string', { code: 'invalid_content' });
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('options must be an object', { code: 'invalid_options' });
    }
    if (call(() => glue.mlModelId()) !== this.#id) {
      throw new ConfigurationError('this compressor\'s model was unloaded or replaced; load it again', {
        code: 'model_not_loaded',
      });
    }
    const opts = JSON.stringify(options);
    return JSON.parse(call(() => glue.mlCompress(text, opts)));
  }
}

/** Frees the loaded model. */
export function unloadModel() {
  call(() => glue.mlUnloadModel());
}

/** Whether a model is loaded. */
export function isModelLoaded() {
  return call(() => glue.mlModelId()) !== 0;
}
