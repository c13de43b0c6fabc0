#!/usr/bin/env node
// headroom-wasm command line: compress or count a request, or run the bundled demo.
import { readFileSync, readdirSync } from 'node:fs';
import { Headroom, HeadroomError, version } from './node.js';

const HELP = `headroom-wasm ${version()}: context optimization for LLM requests

Usage:
  headroom-wasm demo                      compress the bundled example requests and print savings
  headroom-wasm compress [FILE|-] [opts]  compress a request (JSON) and print the result as JSON
  headroom-wasm count [FILE|-] [--model M]  count a request's tokens
  headroom-wasm proxy [--port 8787] ...    run the compression proxy (proxy --help for its options)
  headroom-wasm --version | --help

Options for compress:
  --mode audit|optimize|simulate   (default optimize)
  --model NAME                     model for token counting when the request names none
  --config JSON                    Headroom config as JSON, e.g. '{"smartCrusher":{"maxItemsAfterCrush":30}}'
  --output request|messages|full   what to print (default full: the whole result)
`;

function parseArgs(argv) {
  const args = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[i + 1]?.startsWith('--') ? true : argv[++i]];
      args[k] = v ?? true;
    } else args._.push(a);
  }
  return args;
}

function readInput(file) {
  return readFileSync(!file || file === '-' ? 0 : file, 'utf8');
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function demo() {
  const dir = new URL('./examples/', import.meta.url);
  const hr = new Headroom();
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  console.log(`headroom-wasm ${version()} demo: ${files.length} bundled requests (real tool outputs, a long chat, a system prompt with a date)\n`);
  console.log(`${pad('example', 18)}${pad('provider', 11)}${pad('tokens before', 15)}${pad('after', 9)}${pad('saved', 14)}${pad('ms', 8)}transforms`);
  for (const f of files) {
    const request = readFileSync(new URL(f, dir), 'utf8');
    const r = hr.compress(request);
    const pct = r.tokensBefore ? ((100 * r.tokensSaved) / r.tokensBefore).toFixed(1) : '0.0';
    console.log(
      `${pad(f.replace(/\.json$/, ''), 18)}${pad(r.provider, 11)}${pad(r.tokensBefore, 15)}${pad(r.tokensAfter, 9)}${pad(`${r.tokensSaved} (${pct}%)`, 14)}${pad(r.timing.total.toFixed(1), 8)}${r.transformsApplied.join(', ') || '(none)'}`,
    );
    for (const w of r.warnings) console.log(`  warning: ${w}`);
    for (const h of r.markers) {
      const original = hr.retrieve(h);
      console.log(`  marker ${h}: original retrievable (${original === null ? 'MISSING' : `${original.length} chars`})`);
    }
  }
  const s = hr.stats();
  console.log(`\ntotal: ${s.tokensBeforeTotal} -> ${s.tokensAfterTotal} tokens, ${s.tokensSavedTotal} saved (${s.savingsPercent.toFixed(1)}%)`);
}

function main() {
  if (process.argv[2] === 'proxy') return import('./proxy-cli.js').then((m) => m.proxyMain(process.argv.slice(3)));
  const args = parseArgs(process.argv.slice(2));
  const cmd = args._[0];
  if (args.version) return console.log(version());
  if (!cmd || args.help || cmd === 'help') return console.log(HELP);
  if (cmd === 'demo') return demo();
  if (cmd === 'compress') {
    const config = args.config ? JSON.parse(args.config) : undefined;
    const hr = new Headroom(config);
    const options = {};
    if (args.mode) options.mode = args.mode;
    if (args.model) options.model = args.model;
    const r = hr.compress(readInput(args._[1]), options);
    const out = args.output === 'request' ? (r.request ?? r.messages) : args.output === 'messages' ? r.messages : r;
    return console.log(JSON.stringify(out, null, 2));
  }
  if (cmd === 'count') {
    const hr = new Headroom();
    const text = readInput(args._[1]);
    let input = text;
    try {
      input = JSON.parse(text); // a request; anything else is counted as plain text
    } catch {}
    if (input === null || typeof input !== 'object') input = text;
    return console.log(hr.countTokens(input, args.model));
  }
  console.error(`unknown command '${cmd}'\n\n${HELP}`);
  process.exitCode = 2;
}

try {
  main();
} catch (err) {
  if (err instanceof HeadroomError) {
    console.error(`${err.name} [${err.code}]: ${err.message}`);
    process.exitCode = 1;
  } else throw err;
}
