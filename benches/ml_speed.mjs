// Speed of the ML compressor in wasm (the `headroom-wasm/ml` build: tract, simd128, one thread)
// under Node: one full window through the classifier alone, and through compress(). Build pkg/
// first (scripts/build-pkg.sh).
//   node benches/ml_speed.mjs MODEL.onnx TOKENIZER.json WINDOW [RUNS] [--pkg=DIR]
// WINDOW: the window JSON benches/ml_bench.mjs writes (`{"text": ..., "ids": [...]}`: the text
// that fills one window and the ids the model sees, from the native bench), or a length in
// characters of tests/fixtures/text/prose_man_grep.txt (compress() only). The last line printed
// is one JSON object.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const pkg = resolve(process.argv.find((a) => a.startsWith('--pkg='))?.slice(6) ?? fileURLToPath(new URL('../pkg', import.meta.url)));
const [model, tok, window, runs = '10'] = args;
const ml = await import(pathToFileURL(`${pkg}/ml/node.js`).href);
// The same module instance the ml entry initialised (ES modules are singletons): its bench hook.
const glue = await import(pathToFileURL(`${pkg}/wasm-ml/headroom.js`).href);

let text, ids;
if (/^\d+$/.test(window)) {
  text = readFileSync(new URL('../tests/fixtures/text/prose_man_grep.txt', import.meta.url), 'utf8').slice(0, Number(window));
} else {
  ({ text, ids } = JSON.parse(readFileSync(window, 'utf8')));
}
const memAtImport = ml.wasmMemoryBytes();
let t0 = performance.now();
const c = await ml.LLMLinguaCompressor.load(readFileSync(model), readFileSync(tok, 'utf8'));
const loadMs = performance.now() - t0;
const memAfterLoad = ml.wasmMemoryBytes();

function time(fn) {
  fn();
  const t = [];
  for (let i = 0; i < Number(runs); i++) {
    const a = performance.now();
    fn();
    t.push(performance.now() - a);
  }
  return t.sort((a, b) => a - b).map((x) => +x.toFixed(3));
}
const out = { runtime: 'tract (headroom-wasm/ml)', node: process.version, runs: Number(runs), loadMs: +loadMs.toFixed(1), textBytes: Buffer.byteLength(text) };
if (ids) {
  const big = BigInt64Array.from(ids, (x) => BigInt(x));
  out.tokens = ids.length;
  out.logits = Array.from(glue.mlLogits(big), (x) => Math.round(x * 1e5) / 1e5);
  out.classifierMs = time(() => glue.mlLogits(big));
}
const r = c.compress(text, { rate: 0.5 });
out.compressed = { originalTokens: r.originalTokens, compressedTokens: r.compressedTokens };
out.compressMs = time(() => c.compress(text, { rate: 0.5 }));
out.wasmMemoryBytes = { afterImport: memAtImport, afterLoad: memAfterLoad, afterRuns: ml.wasmMemoryBytes() };
const med = (v) => v[v.length >> 1];
if (out.classifierMs) console.log(`tract wasm: ${out.tokens}-token window, classifier ${med(out.classifierMs).toFixed(1)} ms`);
console.log(`tract wasm: text of ${out.textBytes} bytes, compress() ${med(out.compressMs).toFixed(1)} ms (median of ${runs}); load ${loadMs.toFixed(0)} ms`);
console.log(JSON.stringify(out));
