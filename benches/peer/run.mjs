#!/usr/bin/env node
// Side by side with the peer (Python headroom-ai 0.42, via compare.py in its venv): the same
// requests through both, tokens counted with one tokenizer (ours, o200k_base, checked equal to
// tiktoken), time per request for each. Writes benches/results/peer.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const hw = await import(pathToFileURL(join(root, 'pkg/node.js')).href);
const runs = process.argv.includes('--quick') ? 3 : 15;

/** The peer takes OpenAI or Anthropic messages; Google requests are converted to OpenAI's shape. */
function toMessages(body) {
  if (body.messages) return body.messages;
  const out = [];
  for (const c of body.contents) {
    for (const p of c.parts) {
      if (p.text) out.push({ role: c.role === 'model' ? 'assistant' : 'user', content: p.text });
      if (p.functionCall) out.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${p.functionCall.name}`, type: 'function', function: { name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args) } }] });
      if (p.functionResponse) out.push({ role: 'tool', tool_call_id: `call_${p.functionResponse.name}`, content: p.functionResponse.response.output ?? JSON.stringify(p.functionResponse.response) });
    }
  }
  return out;
}

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];
const records = (n) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i}`, status: i % 97 === 0 ? 'failed' : 'ok', latency_ms: 20 + ((i * 7919) % 50), region: REGIONS[i % 3], owner: { login: `user${i % 40}`, id: i % 40 } })));

/** One tool output as an OpenAI request: the question, the call, the output. */
const toolRequest = (question, tool, output) => [
  { role: 'user', content: question },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: tool, arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: output },
];

/** Every changed line of a unified diff (what a reader of a diff asks about). */
function diffFacts(text) {
  const out = new Set();
  let inHunk = false;
  for (const l of text.split('\n')) {
    if (l.startsWith('@@ ')) inHunk = true;
    else if (l.startsWith('diff ')) inHunk = false;
    else if (inHunk && /^[+-]/.test(l) && l.trim().length > 1) out.add(l);
  }
  return [...out];
}

const read = (p) => readFileSync(join(root, p), 'utf8');
const example = (name) => JSON.parse(read(`examples/${name}.json`));
const grepDe = (text) => [...new Set(text.split('\n').filter((l) => /src\/de\.rs:\d+:/.test(l) && l.includes('unwrap()')).map((l) => l.replace(/^.*src\/de\.rs:/, '')))];
const ex = {
  build_log: { kind: 'log', facts: () => ['Installed package `wasm-pack v0.15.1`', 'Installed package `wasm-bindgen-cli v0.2.130`', 'warning: the following packages contain code that will be rejected by a future version of Rust'] },
  diff: { kind: 'diff', facts: (b) => diffFacts(b.messages[2].content) },
  grep_output: { kind: 'search', facts: (b) => grepDe(b.messages[2].content[0].content) },
  json_api: { kind: 'json', facts: () => ['serde_json', '1.0.154'] },
  long_chat: { kind: 'chat', facts: (b) => [b.messages[0].content, b.messages.at(-1).content] },
  // The peer takes no Anthropic `system`: only the messages go to both sides.
  system_date: { kind: 'chat', facts: (b) => [b.messages[0].content] },
};
const inputs = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const body = JSON.parse(readFileSync(join(root, 'examples', f), 'utf8'));
    const name = f.replace('.json', '');
    const e = ex[name] ?? { kind: 'other', facts: () => [] };
    return { name, kind: e.kind, source: `examples/${f}`, model: 'gpt-4o', messages: toMessages(body), facts: e.facts(body), runs };
  });

// Real tool outputs (tests/fixtures/text, sources in SOURCES.md there) with the question a user
// asks and the facts the answer needs (the same as tests/text_compressors.rs and
// tests/mixed_content.rs).
const TEXT = [
  ['search_serde_json_fn', 'search', 'grep', 'where is parse_integer defined in src/de.rs?', ['462:    fn parse_integer(&mut self, positive: bool) -> Result<ParserNumber> {']],
  ['search_context_peek_error', 'search', 'grep', 'where is peek_error defined?', ['248:    fn peek_error(&self, reason: ErrorCode) -> Error {', '249-        let position = self.read.peek_position();']],
  ['log_pytest_fail', 'log', 'bash', 'why does the test fail?', ['tests/test_cart.py::test_discount_applied_once FAILED', 'E       AssertionError: cart total 32.0 != 36.0 after 10% discount', 'tests/test_cart.py:15: AssertionError', '1 failed, 454 passed', '>       assert total == expected']],
  ['log_cargo_build_fail', 'log', 'bash', 'fix the build', ['error[E0308]: mismatched types', '  --> src/lib.rs:17:25', 'error[E0277]: cannot add `usize` to `u64`', 'warning: unused variable: `unused`', 'error: could not compile `buildfail` (lib) due to 2 previous errors; 1 warning emitted']],
  ['log_cargo_test_fail', 'log', 'bash', 'which test fails and why?', ['test tests::word_count_handles_tabs ... FAILED', 'assertion `left == right` failed: tabs must separate words in "alpha\\tbeta gamma"', '  left: 2', ' right: 3', 'at ./src/lib.rs:1058:9', 'test result: FAILED. 220 passed; 1 failed']],
  ['log_npm_install', 'log', 'bash', 'did the install work?', ['added 68 packages in 3s', 'npm warn Unknown user config "nodedir"', 'npm verbose exit 0']],
  ['log_pip_install', 'log', 'bash', 'did pytest install?', ['Successfully installed iniconfig-2.3.1 packaging-26.3 pluggy-1.7.0 pygments-2.21.0 pytest-9.2.0']],
  ['diff_serde_json', 'diff', 'bash', 'what changed?', null],
  ['diff_clap_builder', 'diff', 'bash', 'what changed?', null],
  ['prose_man_grep', 'prose', 'read_file', 'What does the -w / --word-regexp option of grep do?', ['-w, --word-regexp', 'Select only those lines containing matches that form whole words.', 'are  letters,  digits, and the underscore.', 'grep, egrep, fgrep, rgrep - print lines that match patterns']],
  ['prose_regex_changelog', 'prose', 'read_file', 'Which release added the regex! macro, and what is the macro for?', ['1.13.0 (2026-07-09)', 'This release includes a new API, a `regex!` macro, for lazy compilation of']],
  ['mixed_readme_answer', 'mixed', 'read_file', 'Which license does regex-syntax use, and which version is locked?', ['regex-syntax', '0.8.11', 'cargo metadata --format-version 1 --offline > metadata.json', 'println!("{} {} has no license field", p.name, p.version);']],
  ['mixed_agent_scratchpad', 'mixed', 'read_file', 'Why does test_discount_applied_once fail, and which pydantic version is installed?', ['tests/test_cart.py::test_discount_applied_once FAILED', 'E       AssertionError: cart total 32.0 != 36.0 after 10% discount', '1 failed, 454 passed', '"pydantic"', '2.14.3']],
];
for (const [name, kind, tool, query, facts] of TEXT) {
  const file = readdirSync(join(root, 'tests/fixtures/text')).find((f) => f.startsWith(`${name}.`));
  const text = read(`tests/fixtures/text/${file}`);
  inputs.push({ name, kind, source: `tests/fixtures/text/${file}`, model: 'gpt-4o', runs, messages: toolRequest(query, tool, text), facts: facts ?? diffFacts(text) });
}

// Real API outputs (benches/peer/fixtures/api, made by make_api_fixtures.py: database query
// results, GitHub-shaped issue lists, function-schema lists).
for (const f of readdirSync(join(here, 'fixtures/api')).filter((f) => f.endsWith('.json')).sort()) {
  const fx = JSON.parse(readFileSync(join(here, 'fixtures/api', f), 'utf8'));
  inputs.push({ name: fx.name, kind: 'api', source: fx.source, model: 'gpt-4o', runs, messages: toolRequest(fx.query, fx.tool, fx.output), facts: fx.facts });
}
inputs.push({
  name: 'records_1k', kind: 'json', source: 'generated (benches/peer/run.mjs)', model: 'gpt-4o', runs,
  messages: toolRequest('Which items failed in us-east-1?', 'list', records(1000)),
  facts: Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 97 === 0 && REGIONS[i % 3] === 'us-east-1').map((i) => `item-${i}`),
});

/** All text a model sees in `messages` (every string, at any depth). */
function visibleText(messages) {
  const out = [];
  const walk = (v) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(messages);
  return out.join('\n');
}
const factsVisible = (facts, messages) => {
  const text = visibleText(messages);
  return facts.filter((f) => text.includes(f)).length;
};

mkdirSync(join(root, 'benches/results/tmp'), { recursive: true });
const inPath = join(root, 'benches/results/tmp/peer-in.json');
const outPath = join(root, 'benches/results/tmp/peer-out.json');
writeFileSync(inPath, JSON.stringify(inputs));
const python = join(root, '.tools/peer-venv/bin/python');
execFileSync(python, [join(here, 'compare.py'), inPath, outPath], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, HF_HUB_OFFLINE: '1' } });
const peer = JSON.parse(readFileSync(outPath, 'utf8'));

const count = (messages) => hw.countTokens(messages, 'gpt-4o');
const rows = [];
for (const input of inputs) {
  const hr = new hw.Headroom({ model: 'gpt-4o' });
  const ours = hr.compress(input.messages);
  const times = [];
  for (let i = 0; i < input.runs; i++) {
    const t = performance.now();
    hr.compress(input.messages);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const p = peer.results.find((r) => r.name === input.name);
  const before = count(input.messages);
  const peerAfter = count(p.messages);
  const oursAfter = count(ours.messages);
  for (const f of input.facts) if (!visibleText(input.messages).includes(f)) throw new Error(`${input.name}: fact not in the input: ${f}`);
  rows.push({
    name: input.name, kind: input.kind, source: input.source, tokensBefore: before, facts: input.facts.length,
    ours: { tokensAfter: oursAfter, savedPercent: +((100 * (before - oursAfter)) / before).toFixed(1), medianMs: +times[Math.floor(times.length / 2)].toFixed(2), factsVisible: factsVisible(input.facts, ours.messages) },
    peer: { tokensAfter: peerAfter, savedPercent: +((100 * (before - peerAfter)) / before).toFixed(1), medianMs: +p.medianMs.toFixed(2), factsVisible: factsVisible(input.facts, p.messages) },
  });
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n === 0 ? 0 : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
/** Per kind: median tokens saved, and the share of all asked-about facts still visible. */
const kinds = [...new Set(rows.map((r) => r.kind))].map((kind) => {
  const rs = rows.filter((r) => r.kind === kind);
  const facts = rs.reduce((a, r) => a + r.facts, 0);
  const side = (k) => ({
    medianSavedPercent: +median(rs.map((r) => r[k].savedPercent)).toFixed(1),
    factsVisiblePercent: facts ? +((100 * rs.reduce((a, r) => a + r[k].factsVisible, 0)) / facts).toFixed(1) : null,
  });
  return { kind, requests: rs.length, facts, ours: side('ours'), peer: side('peer') };
});
const result = {
  date: new Date().toISOString(), peer: peer.peer,
  note: 'Ours: the wasm package in Node, same input repeated (memoised token counts). Peer: in-process Python with its Rust core; offline, it cannot download tiktoken data and falls back to estimating tokens, which makes it faster than it would be online. Tokens of both outputs counted with o200k_base. Facts: strings the answer to the request\'s question needs (the failing test and its assertion, the error line, the match in the file asked about, every changed line of a diff, the paragraph that answers, the record asked about); visible means present verbatim in the output messages.',
  kinds, rows,
};
writeFileSync(join(root, 'benches/results/peer.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(kinds, null, 2));
for (const r of rows) console.log(`${r.name.padEnd(28)} ${r.kind.padEnd(7)} ${String(r.tokensBefore).padStart(7)}  ours ${String(r.ours.savedPercent).padStart(5)}% ${r.ours.factsVisible}/${r.facts}  peer ${String(r.peer.savedPercent).padStart(5)}% ${r.peer.factsVisible}/${r.facts}`);
