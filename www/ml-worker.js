// The playground's second Web Worker: the ML compressor (`headroom-wasm/ml`, the package's ml
// build and its default model). A separate worker, so a compression that takes seconds never
// holds up the engine worker, and the ml module (24 MB of wasm, ~215 MB of memory with the
// model) is fetched only when asked for. Same protocol as worker.js: { id, type, ... } ->
// { id, ok, ... }, plus { type: 'progress', loaded, total } while loading.
import { serve } from './worker-rpc.js';
import { alignWords, ML_FILES } from './view.js';

/** Progress messages are sent at most this often (the last one always). */
const PROGRESS_MS = 50;

let ml = null; // the module of headroom-wasm/ml once loaded
let compressor = null;

const handlers = {
  /** Fetches the ml module and the default model, reporting bytes loaded of `total`. */
  async load({ total }) {
    const t0 = performance.now();
    const loaded = { wasm: 0, model: 0, tokenizer: 0 };
    let last = 0;
    const report = (force = false) => {
      const now = performance.now();
      if (!force && now - last < PROGRESS_MS) return;
      last = now;
      const sum = loaded.wasm + loaded.model + loaded.tokenizer;
      self.postMessage({ type: 'progress', loaded: sum, total: Math.max(total ?? 0, sum) });
    };
    ml = await import(ML_FILES.entry);
    const wasm = await fetchBytes(new URL(ML_FILES.wasm, self.location.href), (n) => {
      loaded.wasm = n;
      report();
    });
    await ml.init(wasm);
    const t1 = performance.now();
    compressor = await ml.LLMLinguaCompressor.load(undefined, undefined, {
      onProgress: ({ file, loaded: n }) => {
        loaded[file] = n;
        report();
      },
    });
    report(true);
    return {
      version: ml.version(),
      bytes: loaded.wasm + loaded.model + loaded.tokenizer,
      ms: performance.now() - t0,
      modelMs: performance.now() - t1,
    };
  },

  /** Compresses `text` at `rate` (tokens of `model` counted) and aligns the output to its words. */
  compress({ text, options }) {
    if (!compressor) throw new Error('load the model first');
    const t0 = performance.now();
    const result = compressor.compress(text, options);
    const ms = performance.now() - t0;
    return { result, ms, words: alignWords(text, result.compressed) };
  },
};

serve(handlers);

/** GETs `url` as bytes, calling `onBytes(loadedSoFar)` as chunks arrive. */
async function fetchBytes(url, onBytes) {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`could not load ${url}: HTTP ${res.status}`);
  const chunks = [];
  let n = 0;
  for (const reader = res.body.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
    onBytes(n);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
