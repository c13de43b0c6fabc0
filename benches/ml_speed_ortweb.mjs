// onnxruntime-web (wasm backend, SIMD, 1 thread) in Node on the same window as the other ML
// speed benches, for comparison. onnxruntime-web is a dependency of benches/node
// (`scripts/setup.sh bench` installs it); --ortweb-dir=DIR takes it from another install.
//   node benches/ml_speed_ortweb.mjs MODEL.onnx WINDOW [RUNS]
// WINDOW: the window JSON benches/ml_bench.mjs writes (`{"ids": [...]}`), or a token count
// (synthetic ids). Two session configs: `disable_quant_qdq` (int8 weights expanded to fp32 at
// load, as tract does) and ORT's default (int8 QDQ). The last line printed is one JSON object.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const dir = process.argv.find((a) => a.startsWith('--ortweb-dir='))?.slice(13) ?? fileURLToPath(new URL('./node/', import.meta.url));
const [model, window, runs = '10'] = args;
const require = createRequire(join(dir, 'package.json'));
const ort = await import(pathToFileURL(require.resolve('onnxruntime-web')).href);
const version = ort.env.versions?.web ?? 'unknown';
ort.env.wasm.numThreads = 1;

const ids = /^\d+$/.test(window)
  ? BigInt64Array.from({ length: Number(window) }, (_, i) => BigInt(1000 + (i % 1000)))
  : BigInt64Array.from(JSON.parse(readFileSync(window, 'utf8')).ids, (x) => BigInt(x));
const len = ids.length;
const bytes = readFileSync(model);
const out = { runtime: 'onnxruntime-web', version, backend: 'wasm', threads: 1, tokens: len, runs: Number(runs), configs: [] };
for (const [weights, label, session] of [
  ['fp32', 'fp32 (disable_quant_qdq)', { disable_quant_qdq: '1' }],
  ['int8', 'ORT default (int8 QDQ)', {}],
]) {
  let t0 = performance.now();
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], extra: { session } });
  const loadMs = performance.now() - t0;
  const feed = { input_ids: new ort.Tensor('int64', ids, [1, len]), attention_mask: new ort.Tensor('int64', new BigInt64Array(len).fill(1n), [1, len]) };
  if (s.inputNames.includes('token_type_ids')) feed.token_type_ids = new ort.Tensor('int64', new BigInt64Array(len), [1, len]);
  const first = await s.run(feed);
  const logits = Array.from(first[s.outputNames[0]].data, (x) => Math.round(x * 1e5) / 1e5);
  const t = [];
  for (let i = 0; i < Number(runs); i++) {
    t0 = performance.now();
    await s.run(feed);
    t.push(performance.now() - t0);
  }
  await s.release();
  t.sort((a, b) => a - b);
  const med = t[t.length >> 1];
  console.log(`onnxruntime-web ${version} wasm, 1 thread, ${label}: ${len}-token window ${med.toFixed(1)} ms = ${(len / (med / 1000)).toFixed(0)} tokens/s`);
  out.configs.push({ weights, label, loadMs: +loadMs.toFixed(1), ms: t.map((x) => +x.toFixed(3)), logits });
}
console.log(JSON.stringify(out));
