// Two (or more) builds of the ML package in one Node process, the classifier's runs on one
// window interleaved, so that both see the same machine load: for before/after comparisons of an
// engine change on a shared machine. Build each pkg/ with scripts/build-pkg.sh and copy it aside.
//   node benches/ml_ab.mjs WINDOW PKG_DIR_A PKG_DIR_B [...] [--runs=N]
// WINDOW: the window JSON benches/ml_bench.mjs writes (benches/results/tmp/ml_window.json).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 12);
const [windowFile, ...pkgs] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const { ids } = JSON.parse(readFileSync(windowFile, 'utf8'));
const big = BigInt64Array.from(ids, (x) => BigInt(x));
const root = new URL('..', import.meta.url);
const model = readFileSync(new URL('models/default/model.onnx', root));
const tok = readFileSync(new URL('models/default/tokenizer.json', root), 'utf8');
const builds = [];
for (const p of pkgs.map((p) => resolve(p))) {
  const ml = await import(pathToFileURL(`${p}/ml/node.js`).href);
  const glue = await import(pathToFileURL(`${p}/wasm-ml/headroom.js`).href);
  await ml.LLMLinguaCompressor.load(model, tok);
  glue.mlLogits(big); // warm-up
  builds.push({ pkg: p, glue, ms: [] });
}
for (let r = 0; r < runs; r++) {
  for (const b of builds) {
    const t = performance.now();
    b.glue.mlLogits(big);
    b.ms.push(performance.now() - t);
  }
}
const out = builds.map(({ pkg, ms }) => {
  const s = [...ms].sort((a, b) => a - b);
  return { pkg, runs, tokens: ids.length, medianMs: +s[s.length >> 1].toFixed(1), minMs: +s[0].toFixed(1), maxMs: +s.at(-1).toFixed(1) };
});
for (const o of out) console.log(`${o.pkg}: classifier median ${o.medianMs} ms (min ${o.minMs}, max ${o.maxMs}, ${runs} runs)`);
console.log(JSON.stringify(out));
