// Memory of the ML compressor in wasm (the `headroom-wasm/ml` build) under Node: the wasm linear
// memory (`wasmMemoryBytes()`, which never shrinks, so it is the peak so far) and the process RSS
// after import, after loading the default model, and after compressing a long text.
// Build pkg/ first (scripts/build-pkg.sh).   node benches/ml_memory.mjs [PKG_DIR]
// The last line printed is one JSON object (bytes per stage).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const pkg = resolve(process.argv[2] ?? new URL('../pkg', import.meta.url).pathname);
const ml = await import(pathToFileURL(`${pkg}/ml/node.js`));
const MB = (b) => (b / 1048576).toFixed(1);
const stages = [];
const row = (stage) => {
  const s = { stage, wasmMemoryBytes: ml.wasmMemoryBytes(), rssBytes: process.memoryUsage().rss };
  stages.push(s);
  console.log(`${stage.padEnd(40)} wasm memory ${MB(s.wasmMemoryBytes).padStart(6)} MiB   rss ${MB(s.rssBytes).padStart(6)} MiB`);
};
row('after import');
const c = await ml.LLMLinguaCompressor.load();
row('after LLMLinguaCompressor.load()');
const file = 'prose_man_grep.txt';
const prose = readFileSync(new URL(`../tests/fixtures/text/${file}`, import.meta.url), 'utf8');
const t0 = performance.now();
const r = c.compress(prose, { rate: 0.5 });
const compressMs = performance.now() - t0;
row(`after compress (${r.originalTokens} -> ${r.compressedTokens} tokens)`);
ml.unloadModel();
row('after unloadModel()');
console.log(JSON.stringify({
  node: process.version, model: 'models/default (LLMLinguaCompressor.load())',
  text: { file: `tests/fixtures/text/${file}`, bytes: Buffer.byteLength(prose), originalTokens: r.originalTokens, compressedTokens: r.compressedTokens, compressMs: +compressMs.toFixed(1) },
  stages, peakWasmMemoryBytes: Math.max(...stages.map((s) => s.wasmMemoryBytes)),
}));
