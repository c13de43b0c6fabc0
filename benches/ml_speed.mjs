// Speed of the ML compressor in wasm (the `headroom-wasm/ml` build, simd128) under Node: one full
// window through compress(). Build pkg/ first (scripts/build-pkg.sh).
//   node benches/ml_speed.mjs [MODEL.onnx TOKENIZER.json] [RUNS] [WINDOW_CHARS]
// WINDOW_CHARS: the text length that fills one window with that model's tokenizer (the native
// bench, benches/ml_speed.rs, prints the matching text length as `chars`).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [model = 'tests/fixtures/ml/wordpiece/model.onnx', tok = 'tests/fixtures/ml/wordpiece/tokenizer.json', runs = '10', chars] = process.argv.slice(2);
const ml = await import(new URL('../pkg/ml/node.js', import.meta.url));
const prose = readFileSync(new URL('../tests/fixtures/text/prose_man_grep.txt', import.meta.url), 'utf8');
const bytes = readFileSync(model);
let t = performance.now();
const c = await ml.LLMLinguaCompressor.load(bytes, readFileSync(tok, 'utf8'));
const loadMs = performance.now() - t;
const text = prose.slice(0, Number(chars ?? 2000));
c.compress(text, { rate: 0.5 });
const times = [];
for (let i = 0; i < Number(runs); i++) {
  t = performance.now();
  c.compress(text, { rate: 0.5 });
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const med = times[times.length >> 1];
console.log(`model ${model} (${(bytes.length / 1e6).toFixed(1)} MB), load ${loadMs.toFixed(0)} ms, wasm rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
console.log(`text of ${text.length} chars: compress() ${med.toFixed(1)} ms (median of ${runs})`);
