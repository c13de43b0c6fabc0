#!/usr/bin/env node
// The ML compressor side by side (`make bench-ml`): one model, one window, one thread, four
// runtimes. The native bench (tract) picks the window, the start of
// tests/fixtures/text/prose_man_grep.txt that fills one window of the model, and its ids; the
// other runtimes score the same ids, and their logits are compared with native tract's. Then
// the wasm memory with the default model and the sizes of the ml wasm module and the model.
// Writes benches/results/ml_speed.json (benches/report.mjs turns it into ml_speed.md).
//   node benches/ml_bench.mjs [--runs=N] [--model=M.onnx --tokenizer=T.json]
// Needs: pkg/ built (scripts/build-pkg.sh), `cargo bench --features ml --bench ml_speed --no-run`,
// the ONNX Runtime venv (scripts/setup.sh ort) and benches/node's packages (scripts/setup.sh bench).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg('runs') ?? 10);
const model = arg('model') ?? 'models/default/model.onnx';
const tokenizer = arg('tokenizer') ?? 'models/default/tokenizer.json';
const tmp = join(root, 'benches/results/tmp');
mkdirSync(tmp, { recursive: true });
const windowFile = relative(root, join(tmp, 'ml_window.json'));
const python = existsSync(join(root, '.tools/ort/bin/python')) ? '.tools/ort/bin/python' : 'python3';

/** Runs a command in the repository root, echoes its human lines, returns its last line's JSON. */
function run(cmd, argv, env = {}) {
  const shown = [cmd === process.execPath ? 'node' : cmd, ...argv].join(' ');
  console.error(`\n$ ${shown}`);
  const out = execFileSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = out.trimEnd().split('\n');
  for (const l of lines.slice(0, -1)) console.error(l);
  return { command: shown, result: JSON.parse(lines.at(-1)) };
}

const stats = (ms, tokens) => {
  const s = [...ms].sort((a, b) => a - b);
  const median = s[s.length >> 1];
  return { runs: s.length, medianMs: +median.toFixed(1), minMs: +s[0].toFixed(1), maxMs: +s.at(-1).toFixed(1), tokensPerS: Math.round(tokens / (median / 1e3)) };
};
const maxDiff = (a, b) => (a && b && a.length === b.length ? +Math.max(...a.map((x, i) => Math.abs(x - b[i]))).toFixed(5) : null);
const sha256 = (p) => createHash('sha256').update(readFileSync(join(root, p))).digest('hex');
const size = (p) => ({ path: p, rawBytes: statSync(join(root, p)).size, gzipBytes: gzipSync(readFileSync(join(root, p)), { level: 9 }).length });
const lockVersion = (name) => readFileSync(join(root, 'Cargo.lock'), 'utf8').match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))?.[1];

const loadBefore = loadavg()[0];
const started = new Date();

// 1. Native tract: picks the window and times it (the bench binary is built by `make bench-ml`).
const native = run('cargo', ['bench', '--features', 'ml', '--bench', 'ml_speed', '--', model, tokenizer, String(runs)], { HEADROOM_ML_DEVICE: 'cpu' });
const w = native.result.window;
writeFileSync(join(root, windowFile), JSON.stringify({ source: 'tests/fixtures/text/prose_man_grep.txt', ...w }) + '\n');
const tokens = w.tokens;
const ref = native.result.logits;

// 2. tract in wasm (headroom-wasm/ml), 3. ONNX Runtime (Python), 4. onnxruntime-web (wasm).
const wasm = run(process.execPath, ['benches/ml_speed.mjs', model, tokenizer, windowFile, String(runs)]);
const ort = run(python, ['benches/ml_speed_ort.py', model, windowFile, String(runs), '1']);
const ortweb = run(process.execPath, ['benches/ml_speed_ortweb.mjs', model, windowFile, String(runs)]);
// 5. Wasm memory with the default model (a fresh process).
const memory = run(process.execPath, ['benches/ml_memory.mjs']);

const tract = lockVersion('tract-onnx');
const rows = [
  { id: 'tract-native', runtime: 'tract (native)', version: `tract-onnx ${tract}, ${execFileSync('rustc', ['--version'], { encoding: 'utf8' }).trim()}`, target: 'x86_64', step: 'classifier', weights: 'int8, dequantized per layer at run time', ...stats(native.result.classifierMs, tokens), loadMs: native.result.loadMs, maxAbsLogitDiff: 0, command: native.command },
  { id: 'tract-native-compress', runtime: 'tract (native)', version: `tract-onnx ${tract}`, target: 'x86_64', step: 'compress()', weights: 'int8, dequantized per layer at run time', ...stats(native.result.compressMs, tokens), command: native.command },
  { id: 'tract-wasm', runtime: 'tract (headroom-wasm/ml)', version: `tract-onnx ${tract}, Node ${wasm.result.node}`, target: 'wasm32 simd128', step: 'classifier', weights: 'int8, dequantized per layer at run time', ...stats(wasm.result.classifierMs, tokens), loadMs: wasm.result.loadMs, maxAbsLogitDiff: maxDiff(wasm.result.logits, ref), command: wasm.command },
  { id: 'tract-wasm-compress', runtime: 'tract (headroom-wasm/ml)', version: `tract-onnx ${tract}, Node ${wasm.result.node}`, target: 'wasm32 simd128', step: 'compress()', weights: 'int8, dequantized per layer at run time', ...stats(wasm.result.compressMs, tokens), command: wasm.command },
  ...ort.result.configs.map((c) => ({ id: `ort-${c.weights}`, runtime: 'ONNX Runtime (Python)', version: `onnxruntime ${ort.result.version}`, target: 'x86_64', step: 'classifier', weights: c.label, ...stats(c.ms, tokens), loadMs: c.loadMs, maxAbsLogitDiff: maxDiff(c.logits, ref), command: ort.command })),
  ...ortweb.result.configs.map((c) => ({ id: `ortweb-${c.weights}`, runtime: 'onnxruntime-web (wasm)', version: `onnxruntime-web ${ortweb.result.version}, Node ${process.version}`, target: 'wasm32 simd128', step: 'classifier', weights: c.label, ...stats(c.ms, tokens), loadMs: c.loadMs, maxAbsLogitDiff: maxDiff(c.logits, ref), command: ortweb.command })),
];

const result = {
  date: started.toISOString(),
  machine: `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, ${(Number(execFileSync('awk', ['/MemTotal/ {print $2}', '/proc/meminfo'], { encoding: 'utf8' })) / 1048576).toFixed(0)} GiB, ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU'}`,
  loadAverage: { before: +loadBefore.toFixed(2), after: +loadavg()[0].toFixed(2) },
  node: process.version,
  threads: 1,
  runsPerMeasurement: runs,
  command: `node benches/ml_bench.mjs --runs=${runs}`,
  model: { path: model, tokenizer, bytes: statSync(join(root, model)).size, sha256: sha256(model) },
  window: { source: 'tests/fixtures/text/prose_man_grep.txt', tokens, textBytes: w.textBytes, file: windowFile },
  rows,
  compressOutput: wasm.result.compressed,
  memory: { ...memory.result, command: memory.command, runWindow: wasm.result.wasmMemoryBytes },
  sizes: {
    mlModule: size('pkg/wasm-ml/headroom_bg.wasm'),
    coreModule: size('pkg/wasm/headroom_bg.wasm'),
    model: size(model),
    tokenizer: size(tokenizer),
  },
};
writeFileSync(join(root, 'benches/results/ml_speed.json'), JSON.stringify(result, null, 2) + '\n');
console.error('');
for (const r of rows) console.error(`${r.id.padEnd(22)} ${r.step.padEnd(11)} median ${String(r.medianMs).padStart(7)} ms  (${r.minMs}-${r.maxMs})  ${r.tokensPerS} tokens/s  max|Δlogit| ${r.maxAbsLogitDiff ?? '—'}`);
console.error(`wasm memory peak with the default model: ${(result.memory.peakWasmMemoryBytes / 1048576).toFixed(1)} MiB; wrote benches/results/ml_speed.json`);
