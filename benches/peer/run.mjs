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

const kinds = { json_api: 'json', grep_output: 'search', build_log: 'log', diff: 'diff' };
const inputs = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const body = JSON.parse(readFileSync(join(root, 'examples', f), 'utf8'));
    const name = f.replace('.json', '');
    return { name, kind: kinds[name] ?? 'other', model: 'gpt-4o', messages: toMessages(body), runs };
  });
inputs.push({
  name: 'records_1k', kind: 'json', model: 'gpt-4o', runs,
  messages: [
    { role: 'user', content: 'Which items failed in us-east-1?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'list', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: records(1000) },
  ],
});

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
  rows.push({
    name: input.name, kind: input.kind, tokensBefore: before,
    ours: { tokensAfter: count(ours.messages), savedPercent: +((100 * (before - count(ours.messages))) / before).toFixed(1), medianMs: +times[Math.floor(times.length / 2)].toFixed(2) },
    peer: { tokensAfter: peerAfter, savedPercent: +((100 * (before - peerAfter)) / before).toFixed(1), medianMs: +p.medianMs.toFixed(2) },
  });
}
const result = { date: new Date().toISOString(), peer: peer.peer, note: 'Ours: the wasm package in Node, same input repeated (memoised token counts). Peer: in-process Python with its Rust core; offline, it cannot download tiktoken data and falls back to estimating tokens, which makes it faster than it would be online. Tokens of both outputs counted with o200k_base.', rows };
writeFileSync(join(root, 'benches/results/peer.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(rows, null, 2));
