#!/usr/bin/env node
// A/B of two package builds in one process: compress() on unseen 1k/10k-record requests, the two
// builds interleaved round by round (so both see the same machine load). Prints min and median
// of the per-round medians. Usage: node benches/node/ab.mjs PKG_A PKG_B [records=1000] [rounds=8]
import { pathToFileURL } from 'node:url';
const [A, B, nrec = '1000', rounds = '8'] = process.argv.slice(2);
const mods = [await import(pathToFileURL(A + '/node.js').href), await import(pathToFileURL(B + '/node.js').href)];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];
function records(n, salt) { const items = []; for (let i = 0; i < n; i++) items.push({ id: i, name: `item-${i}-${salt}`, status: i % 97 === 0 ? 'failed' : 'ok', latency_ms: 20 + ((i * 7919) % 50), region: REGIONS[i % 3], owner: { login: `user${i % 40}`, id: i % 40 }, updated_at: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z` }); return JSON.stringify(items); }
const req = (s) => JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Which items failed in us-east-1?' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'list', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: records(Number(nrec), s) }] });
const hrs = mods.map((m) => new m.Headroom());
let salt = 1; const per = Number(nrec) > 5000 ? 6 : 24;
for (const hr of hrs) for (let i = 0; i < 16; i++) hr.compress(req(salt++));
const res = [[], []];
for (let r = 0; r < Number(rounds); r++) {
  const pool = Array.from({ length: per }, () => req(salt++));
  for (const k of (r % 2 ? [1, 0] : [0, 1])) {
    const t = []; for (const p of pool) { const t0 = performance.now(); hrs[k].compress(p); t.push(performance.now() - t0); }
    t.sort((a, b) => a - b); res[k].push(t[t.length >> 1]);
  }
}
const bytes = req(0).length;
for (const k of [0, 1]) { const s = [...res[k]].sort((a, b) => a - b); console.log(`${k ? 'B' : 'A'} min ${s[0].toFixed(2)} med ${s[s.length >> 1].toFixed(2)} ms  -> ${(bytes / 1e6 / (s[0] / 1e3)).toFixed(1)} / ${(bytes / 1e6 / (s[s.length >> 1] / 1e3)).toFixed(1)} MB/s   ${[A, B][k]}`); }
