// Memory of the ML compressor in wasm (the `headroom-wasm/ml` build) under Node: the wasm linear
// memory (`wasmMemoryBytes()`, which never shrinks, so it is the peak so far) and the process RSS
// after import, after loading the default model, and after compressing a long text.
// Build pkg/ first (scripts/build-pkg.sh).   node benches/ml_memory.mjs [PKG_DIR]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const pkg = resolve(process.argv[2] ?? new URL('../pkg', import.meta.url).pathname);
const ml = await import(pathToFileURL(`${pkg}/ml/node.js`));
const MB = (b) => (b / 1048576).toFixed(1);
const row = (stage) => console.log(`${stage.padEnd(40)} wasm memory ${MB(ml.wasmMemoryBytes()).padStart(6)} MiB   rss ${MB(process.memoryUsage().rss).padStart(6)} MiB`);
row('after import');
const c = await ml.LLMLinguaCompressor.load();
row('after LLMLinguaCompressor.load()');
const prose = readFileSync(new URL('../tests/fixtures/text/prose_man_grep.txt', import.meta.url), 'utf8');
const r = c.compress(prose, { rate: 0.5 });
row(`after compress (${r.originalTokens} -> ${r.compressedTokens} tokens)`);
ml.unloadModel();
row('after unloadModel()');
