// onnxruntime-web (wasm backend, SIMD, 1 thread) in Node on the same window as benches/ml_speed.mjs,
// for comparison. Needs `npm install onnxruntime-web` somewhere; pass its folder.
//   node benches/ml_speed_ortweb.mjs ORTWEB_DIR MODEL.onnx N_TOKENS [RUNS]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const [dir, model, n, runs = '10'] = process.argv.slice(2);
const require = createRequire(join(dir, 'package.json'));
const ort = await import(pathToFileURL(require.resolve('onnxruntime-web')).href);
ort.env.wasm.numThreads = 1;
const so = { executionProviders: ['wasm'], extra: { session: { disable_quant_qdq: '1' } } };
const s = await ort.InferenceSession.create(readFileSync(model), so);
const len = Number(n);
const ids = BigInt64Array.from({ length: len }, (_, i) => BigInt(1000 + (i % 1000)));
const feed = { input_ids: new ort.Tensor('int64', ids, [1, len]), attention_mask: new ort.Tensor('int64', new BigInt64Array(len).fill(1n), [1, len]) };
if (s.inputNames.includes('token_type_ids')) feed.token_type_ids = new ort.Tensor('int64', new BigInt64Array(len), [1, len]);
await s.run(feed);
const t = [];
for (let i = 0; i < Number(runs); i++) {
  const a = performance.now();
  await s.run(feed);
  t.push(performance.now() - a);
}
t.sort((a, b) => a - b);
const med = t[t.length >> 1];
console.log(`onnxruntime-web ${ort.env.versions?.web ?? ''} wasm, 1 thread: ${len}-token window ${med.toFixed(1)} ms = ${(len / (med / 1000)).toFixed(0)} tokens/s`);
