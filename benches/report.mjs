#!/usr/bin/env node
// Builds benches/results/RESULTS.md and SVG charts from the benchmark outputs (criterion's
// estimates, node.json, peer.json, ml_speed.json), benches/results/ml_speed.md from
// ml_speed.json, and rewrites the README's performance section between the
// `<!-- perf:start -->` and `<!-- perf:end -->` markers.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, 'benches/results');
const read = (p) => (existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null);
const node = read(join(results, 'node.json'));
const peer = read(join(results, 'peer.json'));
const ml = read(join(results, 'ml_speed.json'));
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');

/** Criterion medians (ns) and throughputs per benchmark id, from target/criterion. */
function criterion() {
  const base = join(targetDir, 'criterion');
  const out = [];
  if (!existsSync(base)) return out;
  const walk = (dir, id) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === 'report') continue;
      const p = join(dir, e.name);
      const est = join(p, 'new/estimates.json');
      const bm = join(p, 'new/benchmark.json');
      if (existsSync(est) && existsSync(bm)) {
        const median = read(est).median.point_estimate;
        const b = read(bm);
        const bytes = b.throughput?.Bytes ?? null;
        out.push({ id: b.full_id ?? `${id}/${e.name}`, medianMs: median / 1e6, mbPerS: bytes ? bytes / 1e6 / (median / 1e9) : null });
      } else walk(p, id ? `${id}/${e.name}` : e.name);
    }
  };
  walk(base, '');
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

const fmt = (x, d = 1) => (x == null ? '—' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

/** A horizontal bar chart as SVG. */
function bars(title, rows, unit) {
  const w = 640, rowH = 22, left = 190, top = 34, max = Math.max(...rows.map((r) => r.value || 0), 1e-9);
  const h = top + rows.length * rowH + 16;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`;
  svg += `<rect width="100%" height="100%" fill="#fff"/><text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`;
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const bw = r.value ? ((w - left - 80) * r.value) / max : 0;
    svg += `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>`;
    svg += `<rect x="${left}" y="${y + 3}" width="${bw.toFixed(1)}" height="${rowH - 6}" fill="${r.color ?? '#3b6ea8'}"/>`;
    svg += `<text x="${left + bw + 4}" y="${y + 14}">${r.value == null ? esc(r.note ?? 'n/a') : `${fmt(r.value)} ${unit}`}</text>`;
  });
  return svg + '</svg>\n';
}

const md = [];
const charts = [];
md.push(`# Benchmark results\n`);
if (node) md.push(`Machine: ${node.machine}; Node ${node.node}; ${node.date.slice(0, 10)}${node.quick ? ' (quick run)' : ''}${process.env.BENCH_NOTE ? `; ${process.env.BENCH_NOTE}` : ''}. Commands: \`make bench\` (criterion: \`cargo bench --bench engine\`; Node: \`node benches/node/bench.mjs\`; peer: \`node benches/peer/run.mjs\`).\n`);

if (peer) {
  md.push(`## Compression side by side with ${peer.peer}\n`);
  md.push(`${peer.note}\n`);
  if (peer.kinds) {
    md.push(`Per kind: median tokens saved, and the share of the asked-about facts still visible (all facts of the kind's requests pooled).\n`);
    md.push(`| kind | requests | facts | ours saved (median) | ours facts visible | peer saved (median) | peer facts visible |`);
    md.push(`|---|---|---|---|---|---|---|`);
    const pct = (x) => (x === null ? 'n/a' : `${x}%`);
    for (const k of peer.kinds) md.push(`| ${k.kind} | ${k.requests} | ${k.facts} | ${k.ours.medianSavedPercent}% | ${pct(k.ours.factsVisiblePercent)} | ${k.peer.medianSavedPercent}% | ${pct(k.peer.factsVisiblePercent)} |`);
    md.push('');
  }
  md.push(`| request | kind | tokens before | ours after | ours saved | ours facts | peer after | peer saved | peer facts | ours ms | peer ms |`);
  md.push(`|---|---|---|---|---|---|---|---|---|---|---|`);
  const facts = (r, side) => (r.facts === undefined ? '' : `${r[side].factsVisible}/${r.facts}`);
  for (const r of peer.rows) md.push(`| ${r.name} | ${r.kind} | ${r.tokensBefore} | ${r.ours.tokensAfter} | ${r.ours.savedPercent}% | ${facts(r, 'ours')} | ${r.peer.tokensAfter} | ${r.peer.savedPercent}% | ${facts(r, 'peer')} | ${fmt(r.ours.medianMs, 2)} | ${fmt(r.peer.medianMs, 2)} |`);
  md.push('');
  charts.push(['savings.svg', bars('Tokens saved (%), ours vs headroom-ai 0.42', peer.rows.flatMap((r) => [{ label: `${r.name} (ours)`, value: r.ours.savedPercent }, { label: `${r.name} (peer)`, value: r.peer.savedPercent, color: '#b05a3c' }]), '%')]);
}

if (node) {
  md.push(`## The npm package (wasm in Node)\n`);
  md.push(`Cold start (fresh process: import + first compress): ${fmt(node.coldStart.totalMs)} ms (import ${fmt(node.coldStart.importMs)} ms, first compress ${fmt(node.coldStart.firstCompressMs)} ms; median of ${node.coldStart.runs}).\n`);
  if (node.memory) md.push(`Peak wasm memory compressing a ${fmt(node.memory.inputBytes / 1e6)} MB tool output (grep-like): ${fmt(node.memory.peakBytes / 1048576)} MiB, ${node.memory.peakOverInput}x the input (${node.memory.tokensBefore} -> ${node.memory.tokensAfter} tokens).\n`);
  md.push(`| wasm module | raw | gzip |\n|---|---|---|`);
  for (const [f, s] of Object.entries(node.sizes)) md.push(`| ${f} | ${fmt(s.rawBytes / 1048576, 2)} MiB | ${fmt(s.gzipBytes / 1048576, 2)} MiB |`);
  md.push('');
  md.push(`compress() per request. *Unique*: every run sees a different tool output (no memo helps), timed after 16 other unseen variants (2 for requests over 500 KB) so that V8's tier-up of the code only unseen text runs is not counted per call. *Repeated*: the same request again (an agent resending its history; token counts memoised).\n`);
  md.push(`| request | bytes | saved | unique median ms | unique p99 ms | unique MB/s | repeated median ms |`);
  md.push(`|---|---|---|---|---|---|---|`);
  for (const c of node.compress) md.push(`| ${c.name} | ${c.bytes} | ${c.savedPercent}% | ${fmt(c.unique.medianMs, 2)} | ${fmt(c.unique.p99Ms, 2)} | ${fmt(c.unique.mbPerS, 2)} | ${fmt(c.repeated.medianMs, 2)} |`);
  md.push('');
  md.push(`### Token counting (o200k_base), MB/s on unseen text; counts identical: ${node.tokenizers.filter((t) => t.countsEqual !== undefined).every((t) => t.countsEqual) ? 'yes' : 'NO'}\n`);
  const libs = Object.keys(node.tokenizers[0].libs);
  md.push(`| input | ${libs.join(' | ')} |\n|---|${libs.map(() => '---').join('|')}|`);
  for (const t of node.tokenizers) {
    if (t.input) md.push(`| ${t.input} (ms) | ${libs.map((l) => (t.libs[l].ms != null ? fmt(t.libs[l].ms, 0) : `> ${t.libs[l].timedOutAfterS} s`)).join(' | ')} |`);
    else md.push(`| ${t.size.toLocaleString('en-US')} bytes | ${libs.map((l) => fmt(t.libs[l].mbPerS, 2)).join(' | ')} |`);
  }
  md.push('');
  const mid = node.tokenizers.find((t) => t.size === 100_000);
  if (mid) charts.push(['tokenizers.svg', bars('Token counting, 100 KB unseen text (MB/s, o200k_base)', libs.map((l) => ({ label: l, value: mid.libs[l].mbPerS, color: l === 'headroom-wasm' ? '#3b6ea8' : '#888' })), 'MB/s')]);
}

// The ML compressor (benches/ml_bench.mjs, `make bench-ml`).
const MiB = (b) => fmt(b / 1048576, 1);
const mlGoals = [];
if (ml) {
  const row = (id) => ml.rows.find((r) => r.id === id);
  const tw = row('tract-wasm');
  const web = ml.rows.filter((r) => r.id.startsWith('ortweb-')).sort((a, b) => a.medianMs - b.medianMs)[0];
  const peak = ml.memory.peakWasmMemoryBytes;
  const afterLoad = ml.memory.stages.find((s) => s.stage.includes('load()'));
  const gz = ml.sizes.mlModule.gzipBytes;
  if (tw && web) mlGoals.push([`ML: tract in wasm at least as fast as onnxruntime-web (wasm, 1 thread), one ${ml.window.tokens}-token window`, `classifier ${fmt(tw.medianMs, 0)} ms vs ${fmt(web.medianMs, 0)} ms (onnxruntime-web, its faster setting: ${web.weights}); tract runs at ${fmt(web.medianMs / tw.medianMs, 2)}x its speed`, tw.medianMs <= web.medianMs]);
  mlGoals.push(['ML: peak wasm memory with the default model ≤ 128 MiB', `${MiB(peak)} MiB`, peak <= 128 * 1048576]);
  mlGoals.push(['ML: wasm module and default model size (reported, no budget)', `module ${fmt(gz / 1e6, 2)} MB gzip (${fmt(ml.sizes.mlModule.rawBytes / 1e6, 1)} MB raw); model ${fmt(ml.sizes.model.rawBytes / 1e6, 1)} MB`, null]);

  const table = (rows) => {
    const out = [`| runtime | target | step | weights | median ms | min–max ms | tokens/s | load ms | max \\|Δ logit\\| vs tract native |`, `|---|---|---|---|---|---|---|---|---|`];
    for (const r of rows) out.push(`| ${r.runtime} | ${r.target} | ${r.step} | ${r.weights} | ${fmt(r.medianMs, 1)} | ${fmt(r.minMs, 1)}–${fmt(r.maxMs, 1)} | ${r.tokensPerS.toLocaleString('en-US')} | ${r.loadMs == null ? '' : fmt(r.loadMs, 0)} | ${r.maxAbsLogitDiff ?? ''} |`);
    return out;
  };
  const sizeRows = [`| file | raw | gzip |`, `|---|---|---|`, ...Object.entries({ 'ml wasm module (pkg/wasm-ml/headroom_bg.wasm)': ml.sizes.mlModule, 'core wasm module (pkg/wasm/headroom_bg.wasm)': ml.sizes.coreModule, [`model (${ml.model.path})`]: ml.sizes.model, [`tokenizer (${ml.model.tokenizer})`]: ml.sizes.tokenizer }).map(([k, v]) => `| ${k} | ${fmt(v.rawBytes / 1e6, 2)} MB | ${fmt(v.gzipBytes / 1e6, 2)} MB |`)];
  const setting = `Model \`${ml.model.path}\` (${fmt(ml.model.bytes / 1e6, 1)} MB, sha256 ${ml.model.sha256.slice(0, 12)}…); one window of ${ml.window.tokens} tokens (the start of \`${ml.window.source}\`, ${ml.window.textBytes} bytes), the same ids in every runtime; one thread; median of ${ml.runsPerMeasurement} runs after one warm-up. ${ml.date.slice(0, 10)}, ${ml.machine}, load average ${ml.loadAverage.before} before / ${ml.loadAverage.after} after. Command: \`make bench-ml\` (\`${ml.command}\`).`;
  const memLine = `Wasm memory with the default model (Node, \`${ml.memory.command}\`): ${MiB(afterLoad.wasmMemoryBytes)} MiB after \`LLMLinguaCompressor.load()\`, ${MiB(peak)} MiB peak after compressing \`${ml.memory.text.file}\` (${ml.memory.text.originalTokens} → ${ml.memory.text.compressedTokens} tokens in ${fmt(ml.memory.text.compressMs / 1e3, 1)} s); process RSS ${MiB(afterLoad.rssBytes)} MiB after load. Wasm memory never shrinks: the load's peak is what the instance keeps.`;

  md.push(`## ML compressor (headroom-wasm/ml), one ${ml.window.tokens}-token window\n`);
  md.push(`${setting} Details: [ml_speed.md](ml_speed.md).\n`);
  md.push(...table(ml.rows), '');
  md.push(`${memLine}\n`);
  md.push(...sizeRows, '');
  charts.push(['ml_speed.svg', bars(`ML: one ${ml.window.tokens}-token window, 1 thread (ms, lower is better)`, ml.rows.map((r) => ({ label: `${r.id}`, value: r.medianMs, color: r.target.startsWith('wasm') ? '#3b6ea8' : '#888' })), 'ms')]);

  // benches/results/ml_speed.md: the same figures with the commands and what each row means.
  const doc = [];
  doc.push(`# ML compressor: speed, memory and size (generated by benches/report.mjs from ml_speed.json)\n`);
  doc.push(`${setting}\n`);
  doc.push(`## One window, four runtimes\n`);
  doc.push(...table(ml.rows), '');
  doc.push(`*classifier*: the model alone on the window's ids (one forward pass). *compress()*: the whole LLMLingua-2 call on the window's text at rate 0.5 (tokenizing, the classifier, word probabilities, the token-weighted threshold, counting the result's o200k tokens; ${ml.compressOutput.originalTokens} → ${ml.compressOutput.compressedTokens} o200k tokens). *weights*: the model file holds int8 weights with DequantizeLinear; the engine's tract loader keeps them int8 and dequantizes each layer's weight to fp32 just before its matmul (and only the embedding rows a window uses), so the math is fp32 as in the file's reference; ONNX Runtime folds them to fp32 at load with \`session.disable_quant_qdq=1\` or runs its int8 QDQ kernels by default. *max |Δ logit|*: the largest difference from native tract's logits on the same ids. Versions: ${[...new Set(ml.rows.filter((r) => r.step === 'classifier').map((r) => r.version))].join('; ')}.\n`);
  doc.push(`Commands (run by \`${ml.command}\` in this order, each in its own process):\n`);
  for (const c of [...new Set([...ml.rows.map((r) => r.command), ml.memory.command])]) doc.push(`- \`${c}\``);
  doc.push('');
  doc.push(`## Memory\n`);
  doc.push(`${memLine}\n`);
  doc.push(`| stage | wasm memory | process RSS |\n|---|---|---|`);
  for (const st of ml.memory.stages) doc.push(`| ${st.stage} | ${MiB(st.wasmMemoryBytes)} MiB | ${MiB(st.rssBytes)} MiB |`);
  doc.push('');
  doc.push(`In the speed run (a fresh process, model loaded from bytes): ${MiB(ml.memory.runWindow.afterImport)} MiB after import, ${MiB(ml.memory.runWindow.afterLoad)} MiB after load, ${MiB(ml.memory.runWindow.afterRuns)} MiB after the timed runs. Where the memory goes (native, stage by stage) and the levers: [ml_memory.md](ml_memory.md).\n`);
  doc.push(`## Sizes\n`);
  doc.push(...sizeRows, '');
  doc.push(`gzip at level 9. The ml module is built with \`--features ml\` and \`-C target-feature=+simd128\` (scripts/build-pkg.sh), wasm-opt off as for the core module.\n`);
  doc.push(`## Goals (issue #6)\n`);
  doc.push(`| goal | measured | met |\n|---|---|---|`);
  for (const [g, m, ok] of mlGoals) doc.push(`| ${g} | ${m} | ${ok === null ? '—' : ok ? 'yes' : '**no**'} |`);
  doc.push('');
  writeFileSync(join(results, 'ml_speed.md'), doc.join('\n'));
}

// Issue goals, each marked met or not with the measured figure.
const goals = [];
if (node) {
  const gz = node.sizes['wasm/headroom_bg.wasm']?.gzipBytes;
  if (gz) goals.push(['core wasm module ≤ 3 MB gzip', `${fmt(gz / 1e6, 2)} MB`, gz <= 3e6]);
  goals.push(['cold start (import + first compress) ≤ 50 ms', `${fmt(node.coldStart.totalMs)} ms`, node.coldStart.totalMs <= 50]);
  const typical = node.compress.find((c) => c.name === 'grep_output');
  if (typical) goals.push(['pipeline on a typical ~50 KB agent request ≤ 2 ms in wasm', `${fmt(typical.unique.medianMs, 2)} ms (grep_output, 44 KB, unseen)`, typical.unique.medianMs <= 2]);
  if (node.memory) goals.push(['peak wasm memory compressing a 10 MB tool output ≤ 4x input', `${node.memory.peakOverInput}x`, node.memory.peakOverInput <= 4]);
  for (const t of node.tokenizers.filter((x) => !x.input)) {
    const others = Object.entries(t.libs).filter(([k]) => k !== 'headroom-wasm').map(([, v]) => v.mbPerS);
    const ratio = t.libs['headroom-wasm'].mbPerS / Math.max(...others);
    goals.push([`token counting ≥ 2x the fastest JS tokenizer, ${t.size.toLocaleString('en-US')} bytes`, `${fmt(ratio, 2)}x`, ratio >= 2]);
  }
  if (peer) {
    const better = peer.rows.every((r) => r.ours.savedPercent >= r.peer.savedPercent);
    goals.push(['savings ≥ headroom-ai 0.42 on every request', better ? 'yes, on every request' : 'no', better]);
    // The issues' compression goals on real outputs: median saved and facts visible per kind.
    const kindGoals = [['log', 50, 95], ['search', 50, 95], ['diff', 15, 95], ['prose', 30, 95], ['api', 70, 98]];
    for (const [kind, saved, factsGoal] of kindGoals) {
      const k = (peer.kinds ?? []).find((x) => x.kind === kind);
      if (!k) continue;
      const ok = k.ours.medianSavedPercent >= saved && (k.ours.factsVisiblePercent ?? 0) >= factsGoal;
      goals.push([`${kind}: median tokens saved ≥ ${saved}% with ≥ ${factsGoal}% of asked-about facts visible`, `${k.ours.medianSavedPercent}%, ${k.ours.factsVisiblePercent}% (peer ${k.peer.medianSavedPercent}%, ${k.peer.factsVisiblePercent}%)`, ok]);
    }
    const speed = peer.rows.filter((r) => r.ours.savedPercent > 0).map((r) => r.peer.medianMs / r.ours.medianMs);
    const worst = Math.min(...speed);
    goals.push(['time ≥ 20x less than headroom-ai 0.42', `${fmt(worst, 2)}x (worst request; ours in wasm, the peer native)`, worst >= 20]);
  }
}
// SmartCrusher throughput (issue #3): natively (criterion) and in wasm (Node, unseen requests).
const crit = criterion();
for (const n of [1000, 10000]) {
  const c = crit.find((x) => x.id === `smart_crusher/records/${n}`);
  if (c?.mbPerS) goals.push([`SmartCrusher ≥ 50 MB/s native, ${n.toLocaleString('en-US')} records`, `${fmt(c.mbPerS)} MB/s`, c.mbPerS >= 50]);
  const w = node?.compress.find((x) => x.name === `records_${n / 1000}k`);
  if (w) goals.push([`SmartCrusher ≥ 25 MB/s in wasm (Node), ${n.toLocaleString('en-US')} records`, `${fmt(w.unique.mbPerS)} MB/s (unseen requests)`, w.unique.mbPerS >= 25]);
}
goals.push(...mlGoals);
if (goals.length) {
  md.push(`## Goals\n`);
  md.push(`| goal | measured | met |\n|---|---|---|`);
  for (const [g, m, ok] of goals) md.push(`| ${g} | ${m} | ${ok === null ? '—' : ok ? 'yes' : '**no**'} |`);
  md.push('');
}

if (crit.length) {
  md.push(`## Native engine (criterion, \`cargo bench --bench engine\`)\n`);
  md.push(`| scenario | median | throughput |\n|---|---|---|`);
  for (const c of crit) md.push(`| ${c.id} | ${fmt(c.medianMs, 3)} ms | ${c.mbPerS == null ? '—' : `${fmt(c.mbPerS)} MB/s`} |`);
  md.push('');
}
for (const [name, svg] of charts) {
  writeFileSync(join(results, name), svg);
  md.push(`![${name}](${name})\n`);
}
const text = md.join('\n');
writeFileSync(join(results, 'RESULTS.md'), text);

// README: the section between the markers, with chart paths relative to the repo root.
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- perf:start -->';
const end = '<!-- perf:end -->';
if (readme.includes(start) && readme.includes(end)) {
  const section = text.replace(/^# Benchmark results\n/, '').replace(/!\[(.*?)\]\((.*?)\)/g, '![$1](benches/results/$2)').replace(/(^|[^!])\[([^\]]*)\]\(([\w.-]+\.md)\)/g, '$1[$2](benches/results/$3)').replace(/^## /gm, '### ');
  const next = readme.slice(0, readme.indexOf(start) + start.length) + '\n' + section + '\n' + readme.slice(readme.indexOf(end));
  writeFileSync(readmePath, next);
}
console.log(text);
