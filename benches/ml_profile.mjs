// Where tract in wasm spends one window, next to onnxruntime-web (a profiling aid, not part of
// `make bench`). Run `make bench-ml` first (it builds pkg/ and writes the window file).
//   node benches/ml_profile.mjs [MODEL.onnx TOKENIZER.json] [--rounds=N] [--window=FILE] [--pkg=DIR]
// (--pkg: another build of the package, e.g. an ml module built with other target features)
// 1. Interleaved A/B in one process: tract (headroom-wasm/ml, mlLogits) and onnxruntime-web
//    (wasm, 1 thread, disable_quant_qdq) alternate on the same ids, so both see the same load
//    on a shared machine; reports medians and the median of the per-round ratios.
// 2. A V8 CPU profile of tract's runs only (after load), self time per wasm function grouped by
//    kind (the ml module keeps its name section; onnxruntime-web's wasm has none, so only its
//    total is known).
// Prints one JSON object last.
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const opt = (n, d) => process.argv.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const [model = `${root}models/default/model.onnx`, tok = `${root}models/default/tokenizer.json`] = args;
const rounds = Number(opt('rounds', 12));
const { ids } = JSON.parse(readFileSync(opt('window', `${root}benches/results/tmp/ml_window.json`), 'utf8'));
const pkg = resolve(opt('pkg', `${root}pkg`));
const ml = await import(pathToFileURL(`${pkg}/ml/node.js`).href);
const glue = await import(pathToFileURL(`${pkg}/wasm-ml/headroom.js`).href);
const ort = await import(pathToFileURL(createRequire(`${root}benches/node/package.json`).resolve('onnxruntime-web')).href);
ort.env.wasm.numThreads = 1;

const n = ids.length;
const big = BigInt64Array.from(ids, (x) => BigInt(x));
const bytes = readFileSync(model);
await ml.LLMLinguaCompressor.load(bytes, readFileSync(tok, 'utf8'));
const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], extra: { session: { disable_quant_qdq: '1' } } });
const feed = { input_ids: new ort.Tensor('int64', big, [1, n]), attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]) };
if (s.inputNames.includes('token_type_ids')) feed.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n), [1, n]);
glue.mlLogits(big);
await s.run(feed);

// 1. A/B.
const tract = [], web = [];
for (let i = 0; i < rounds; i++) {
  let t = performance.now();
  glue.mlLogits(big);
  tract.push(performance.now() - t);
  t = performance.now();
  await s.run(feed);
  web.push(performance.now() - t);
}
const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const ab = {
  rounds, tokens: n,
  tractMedianMs: +med(tract).toFixed(1), ortwebMedianMs: +med(web).toFixed(1),
  tractMinMs: +Math.min(...tract).toFixed(1), ortwebMinMs: +Math.min(...web).toFixed(1),
  medianRatioTractOverOrtweb: +med(tract.map((x, i) => x / web[i])).toFixed(3),
};
console.log(`A/B, ${rounds} rounds: tract ${ab.tractMedianMs} ms, onnxruntime-web ${ab.ortwebMedianMs} ms (median per-round ratio ${ab.medianRatioTractOverOrtweb})`);

// 2. Profile tract's runs.
const KINDS = [
  ['f32 GEMM kernel (src/ml/wasm_gemm.rs; tract\'s wasm_f32_*)', /wasm_gemm|mmm_f32_gemm|sys_wasm_f32/],
  ['GEMM packing and tiling', /frame::pack|run_blocked|MatMatMul|input_store|frame::mmm/],
  ['softmax', /softmax/],
  ['casts', /cast/i],
  ['element-wise and broadcast ops (add, mul, gelu, ...)', /BinMiniOp|element_wise|ElementWise|ndarray::zip|gelu|erf|by_scalar/i],
  ['normalisation and reductions', /reduce|norm/i],
  ['allocation and copies', /dlmalloc|memcpy|memmove|memset|alloc::/],
];
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
const runs = Math.max(3, rounds >> 1);
await session.post('Profiler.start');
const t0 = performance.now();
for (let i = 0; i < runs; i++) glue.mlLogits(big);
const wallMs = (performance.now() - t0) / runs;
const { profile } = await session.post('Profiler.stop');
session.disconnect();
const byNode = new Map(profile.nodes.map((x) => [x.id, x]));
const self = new Map();
profile.samples.forEach((id, i) => {
  const name = byNode.get(id).callFrame.functionName || '(js)';
  self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const kinds = new Map();
for (const [name, us] of self) {
  const k = KINDS.find(([, re]) => re.test(name))?.[0] ?? (name.startsWith('(') ? name : 'other');
  kinds.set(k, (kinds.get(k) ?? 0) + us);
}
const share = (us) => ({ msPerRun: +((us / 1e3 / runs) * (wallMs / (total / 1e3 / runs))).toFixed(1), percent: +((100 * us) / total).toFixed(1) });
const out = {
  model, pkg, node: process.version, ab, profile: { runs, wallMsPerRun: +wallMs.toFixed(1), kinds: Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, share(us)])),
    top: [...self].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([name, us]) => ({ name: name.replace(/::h[0-9a-f]{16}$/, ''), ...share(us) })) },
};
console.log(`tract profile, ${runs} runs, ${out.profile.wallMsPerRun} ms each:`);
for (const [k, v] of Object.entries(out.profile.kinds)) console.log(`  ${String(v.msPerRun).padStart(7)} ms  ${String(v.percent).padStart(5)}%  ${k}`);
console.log(JSON.stringify(out));
