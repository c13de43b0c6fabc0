#!/usr/bin/env node
// Node benchmark of the npm package as built in pkg/ (wasm): cold start, per-call latency and
// throughput of compress() on realistic requests, token counting side by side with the JS
// tokenizers users would otherwise pick (counts must be identical), and the sizes of the wasm
// modules (core and ml).
// Writes benches/results/node.json. Usage: node benches/node/bench.mjs [--quick]
// [--only=sizes,coldStart,memory,compress,tokenizers] (a subset: printed, not written)
// [--pkg=DIR] (another build of the package, e.g. to compare before/after)
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const pkg = arg('pkg') ? resolve(arg('pkg')) : join(root, 'pkg');
const only = arg('only')?.split(',');
const quick = process.argv.includes('--quick');
const budgetMs = quick ? 400 : 2000;
const hw = await import(pathToFileURL(join(pkg, 'node.js')).href);

function summarise(samples, bytes) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const median = at(0.5);
  return { runs: s.length, medianMs: +median.toFixed(3), p99Ms: +at(0.99).toFixed(3), mbPerS: bytes ? +(bytes / 1e6 / (median / 1e3)).toFixed(2) : undefined };
}

/** Runs fn(i) until the time budget is spent (at least minRuns times). */
function measure(fn, { minRuns = 5, maxRuns = 10_000, ms = budgetMs } = {}) {
  const samples = [];
  const start = performance.now();
  for (let i = 0; i < maxRuns && (i < minRuns || performance.now() - start < ms); i++) {
    const t = performance.now();
    fn(i);
    samples.push(performance.now() - t);
  }
  return samples;
}

// ---------- inputs ----------
const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f.replace('.json', ''), text: readFileSync(join(root, 'examples', f), 'utf8') }));

/** One real tool output per text compressor (tests/fixtures/text, sources in SOURCES.md), as a
 * tool result in a request: MB/s per compressor. */
const TEXT_FIXTURES = [
  ['search', 'search_serde_json_fn.txt'], ['log', 'log_pytest_fail.txt'], ['diff', 'diff_clap_builder.txt'],
  ['text', 'prose_man_grep.txt'], ['mixed', 'mixed_agent_scratchpad.md'],
];
const textFixtures = TEXT_FIXTURES.map(([kind, file]) => ({
  name: `${kind}: ${file}`,
  text: JSON.stringify({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'What does this output say, and what failed?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: readFileSync(join(root, 'tests/fixtures/text', file), 'utf8') },
    ],
  }),
}));

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];
function records(n, salt) {
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push({
      id: i, name: `item-${i}-${salt}`, status: i % 97 === 0 ? 'failed' : 'ok', latency_ms: 20 + ((i * 7919) % 50),
      region: REGIONS[i % 3], owner: { login: `user${i % 40}`, id: i % 40 },
      updated_at: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`,
    });
  }
  return JSON.stringify(items);
}
function recordsRequest(n, salt) {
  return JSON.stringify({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'Which items failed in us-east-1?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'list', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: records(n, salt) },
    ],
  });
}

/** A variant of a request whose longest string (the tool output) differs by a few bytes, so no
 * memo or cache can help: every run compresses unseen text. */
function variant(text, i) {
  const body = JSON.parse(text);
  let best = null;
  (function walk(v, parent, key) {
    if (typeof v === 'string') {
      if (!best || v.length > best.v.length) best = { v, parent, key };
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, v, k);
    }
  })(body, null, null);
  if (best) best.parent[best.key] = `run ${i}\n${best.v}`;
  return JSON.stringify(body);
}

// ---------- cold start ----------
function coldStart() {
  const script = `
    const t0 = performance.now();
    const hw = await import(${JSON.stringify(pathToFileURL(join(pkg, 'node.js')).href)});
    const t1 = performance.now();
    hw.compress(${JSON.stringify(examples[0].text)});
    const t2 = performance.now();
    console.log(JSON.stringify({ importMs: t1 - t0, firstCompressMs: t2 - t1 }));`;
  const runs = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    runs.push(JSON.parse(out));
  }
  const med = (k) => +summarise(runs.map((r) => r[k])).medianMs.toFixed(1);
  return { runs: runs.length, importMs: med('importMs'), firstCompressMs: med('firstCompressMs'), totalMs: +(med('importMs') + med('firstCompressMs')).toFixed(1) };
}

// ---------- compress ----------
/** A 500-turn agent conversation (~200k tokens) over gpt-4o's window (RollingWindow drops). */
function longConversation(salt) {
  const messages = [{ role: 'system', content: 'You are a coding agent. Today is 2026-11-21.' }];
  for (let t = 0; t < 500; t++) {
    messages.push({ role: 'user', content: `Step ${t}: run the next check and report.` });
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `c${t}`, type: 'function', function: { name: 'run', arguments: `{"step":${t}}` } }] });
    let out = `run ${salt}\n`;
    for (let i = 0; i < 40; i++) out += `check ${t}.${i}: ok in ${(t * 31 + i * 7) % 97} ms\n`;
    messages.push({ role: 'tool', tool_call_id: `c${t}`, content: out });
    messages.push({ role: 'assistant', content: `Step ${t} passed.` });
  }
  return JSON.stringify({ model: 'gpt-4o', messages });
}

function compressBench() {
  const hr = new hw.Headroom();
  const inputs = [
    ...examples,
    ...textFixtures,
    { name: 'records_1k', text: recordsRequest(1000, 0), make: (i) => recordsRequest(1000, i) },
    { name: 'records_10k', text: recordsRequest(10000, 0), make: (i) => recordsRequest(10000, i) },
    { name: 'conversation_500_turns', text: longConversation(0), make: (i) => longConversation(i) },
  ];
  const out = [];
  for (const input of inputs) {
    const bytes = Buffer.byteLength(input.text);
    const pool = Array.from({ length: input.text.length > 500_000 ? 12 : 64 }, (_, i) => (input.make ? input.make(i + 1) : variant(input.text, i + 1)));
    const first = hr.compress(input.text);
    // Unseen text runs code that repeated text skips (token counting, hashing): warm it with a
    // few other unseen variants first, so V8's tier-up is not timed here (cold start is, above).
    for (let i = 0; i < (input.text.length > 500_000 ? 2 : 16); i++) hr.compress(input.make ? input.make(1000 + i) : variant(input.text, 1000 + i));
    const unique = measure((i) => hr.compress(pool[i % pool.length]), { maxRuns: pool.length, minRuns: Math.min(pool.length, quick ? 5 : 20) });
    const repeated = measure(() => hr.compress(input.text));
    out.push({
      name: input.name, bytes, tokensBefore: first.tokensBefore, tokensAfter: first.tokensAfter,
      savedPercent: +((100 * first.tokensSaved) / first.tokensBefore).toFixed(1),
      unique: summarise(unique, bytes), repeated: summarise(repeated, bytes),
    });
  }
  // The records again with the wasm build's own SHA-256, as browsers and Workers run them (no
  // synchronous host digest there; Node's entry offers node:crypto's, src/digest.rs). The hook is
  // looked up once per instance, so the module is re-instantiated without it, then with it.
  const key = Symbol.for('headroom-wasm.sha256');
  const hostDigest = globalThis[key];
  const reinstantiate = () => { try { hw.__testTrap(); } catch {} };
  globalThis[key] = undefined;
  reinstantiate();
  try {
    const plain = new hw.Headroom();
    for (const n of [1000, 10000]) {
      const text = recordsRequest(n, 0);
      const bytes = Buffer.byteLength(text);
      const pool = Array.from({ length: n > 1000 ? 12 : 64 }, (_, i) => recordsRequest(n, 2000 + i));
      const first = plain.compress(text);
      for (let i = 0; i < (n > 1000 ? 2 : 16); i++) plain.compress(recordsRequest(n, 3000 + i));
      const unique = measure((i) => plain.compress(pool[i % pool.length]), { maxRuns: pool.length, minRuns: Math.min(pool.length, quick ? 5 : 20) });
      const repeated = measure(() => plain.compress(text));
      out.push({
        name: `records_${n / 1000}k (wasm SHA-256)`, bytes, tokensBefore: first.tokensBefore, tokensAfter: first.tokensAfter,
        savedPercent: +((100 * first.tokensSaved) / first.tokensBefore).toFixed(1),
        unique: summarise(unique, bytes), repeated: summarise(repeated, bytes),
      });
    }
  } finally {
    globalThis[key] = hostDigest;
    reinstantiate();
  }
  return out;
}

// ---------- tokenizers ----------
async function tokenizerBench() {
  const { Tiktoken } = await import('js-tiktoken/lite');
  const o200kRanks = (await import('js-tiktoken/ranks/o200k_base')).default;
  const gpt = await import('gpt-tokenizer/encoding/o200k_base');
  const { get_encoding } = await import('tiktoken');
  const jsT = new Tiktoken(o200kRanks);
  const tk = get_encoding('o200k_base');
  const libs = {
    'headroom-wasm': (s) => hw.countWithEncoding(s, 'o200k_base'),
    'gpt-tokenizer': (s) => gpt.countTokens(s),
    'js-tiktoken': (s) => jsT.encode(s).length,
    'tiktoken (wasm)': (s) => tk.encode_ordinary(s).length,
  };
  const corpus = examples.map((e) => e.text).join('\n');
  const sizes = quick ? [1_000, 100_000] : [1_000, 100_000, 10_000_000];
  const results = [];
  for (const size of sizes) {
    // Unseen text per run: a different window of the corpus each time (tokenizers cache chunks).
    const texts = Array.from({ length: size >= 1e7 ? 3 : 24 }, (_, i) => {
      let s = '';
      const off = (i * 7919) % corpus.length;
      while (s.length < size) s += corpus.slice(off) + corpus.slice(0, off);
      return s.slice(0, size);
    });
    const counts = {};
    const row = { size, libs: {} };
    for (const [name, fn] of Object.entries(libs)) {
      counts[name] = fn(texts[0]);
      const samples = measure((i) => fn(texts[i % texts.length]), { minRuns: Math.min(texts.length, 3), maxRuns: texts.length });
      row.libs[name] = summarise(samples, size);
    }
    row.countsEqual = new Set(Object.values(counts)).size === 1;
    row.count = counts['headroom-wasm'];
    results.push(row);
  }
  // Adversarial: one long run without spaces, where naive BPE goes quadratic. Each library runs
  // in its own process with a time limit.
  const adv = quick ? 20_000 : 200_000;
  const advRow = { size: adv, input: `'a' x ${adv}`, libs: {} };
  for (const name of Object.keys(libs)) {
    const limitS = quick ? 10 : 60;
    const code = `
      const name = ${JSON.stringify(name)};
      const s = 'a'.repeat(${adv});
      let f;
      if (name === 'headroom-wasm') { const hw = await import(${JSON.stringify(pathToFileURL(join(pkg, 'node.js')).href)}); f = (x) => hw.countWithEncoding(x, 'o200k_base'); }
      if (name === 'gpt-tokenizer') { const g = await import('gpt-tokenizer/encoding/o200k_base'); f = g.countTokens; }
      if (name === 'js-tiktoken') { const { Tiktoken } = await import('js-tiktoken/lite'); const r = (await import('js-tiktoken/ranks/o200k_base')).default; const t = new Tiktoken(r); f = (x) => t.encode(x).length; }
      if (name === 'tiktoken (wasm)') { const { get_encoding } = await import('tiktoken'); const t = get_encoding('o200k_base'); f = (x) => t.encode_ordinary(x).length; }
      const t0 = performance.now(); const n = f(s); console.log(JSON.stringify({ ms: performance.now() - t0, n }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: here, encoding: 'utf8', timeout: limitS * 1000 });
    advRow.libs[name] = r.status === 0 ? JSON.parse(r.stdout) : { ms: null, timedOutAfterS: limitS };
  }
  results.push(advRow);
  tk.free();
  return results;
}

/** Peak wasm memory while compressing a 10 MB tool output, in a fresh process. */
function peakMemory() {
  const script = `
    const hw = await import(${JSON.stringify(pathToFileURL(join(pkg, 'node.js')).href)});
    const before = hw.wasmMemoryBytes();
    const lines = [];
    let size = 0;
    for (let i = 0; size < 10_000_000; i++) { const l = \`src/module_\${i % 500}.rs:\${i}:    let value_\${i} = compute(\${i}); // TODO check\`; lines.push(l); size += l.length + 1; }
    const output = lines.join('\\n');
    const r = hw.compress([{ role: 'user', content: 'where is value_777 computed?' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'grep', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: output }]);
    console.log(JSON.stringify({ inputBytes: output.length, beforeBytes: before, peakBytes: hw.wasmMemoryBytes(), tokensBefore: r.tokensBefore, tokensAfter: r.tokensAfter }));`;
  const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  return { ...r, peakOverInput: +(r.peakBytes / r.inputBytes).toFixed(2) };
}

function sizes() {
  const out = {};
  for (const dir of ['wasm', 'wasm-ml']) {
    let files;
    try {
      files = readdirSync(join(pkg, dir)).filter((f) => f.endsWith('.wasm'));
    } catch {
      continue;
    }
    for (const f of files) {
      const p = join(pkg, dir, f);
      out[`${dir}/${f}`] = { rawBytes: statSync(p).size, gzipBytes: gzipSync(readFileSync(p), { level: 9 }).length };
    }
  }
  return out;
}

const sections = { sizes, coldStart, memory: peakMemory, compress: compressBench, tokenizers: tokenizerBench };
const result = {
  date: new Date().toISOString(),
  node: process.version,
  machine: `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, ${(Number(execFileSync('awk', ['/MemTotal/ {print $2}', '/proc/meminfo'], { encoding: 'utf8' })) / 1048576).toFixed(0)} GiB, ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU'}`,
  quick,
};
for (const [name, run] of Object.entries(sections)) {
  if (!only || only.includes(name)) result[name] = await run();
}
if (!only && !arg('pkg')) {
  mkdirSync(join(root, 'benches/results'), { recursive: true });
  writeFileSync(join(root, 'benches/results/node.json'), JSON.stringify(result, null, 2) + '\n');
}
console.log(JSON.stringify(result, null, 2));
