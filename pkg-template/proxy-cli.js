// `headroom-wasm proxy`: flags -> startProxyServer options, logging to stderr and a JSONL file.
import { appendFileSync } from 'node:fs';
import { startProxyServer } from './proxy-server.js';
import { version } from './node.js';

export const PROXY_HELP = `Usage: headroom-wasm proxy [options]

Runs the compression proxy. Point clients at it:
  OPENAI_BASE_URL=http://127.0.0.1:8787/v1   ANTHROPIC_BASE_URL=http://127.0.0.1:8787

Options:
  --port N                 port (default 8787; 0 picks a free one)
  --host H                 interface to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --no-optimize            audit only: forward requests unchanged, still count what could be saved
  --no-cache               no CacheAligner rewriting and no cache breakpoint insertion
  --budget USD             stop (429) once upstream usage since start costs this much at list prices
  --log-file PATH          append one JSON line per request/event (API keys redacted)
  --log-level LEVEL        debug|info|warn|error|silent for stderr (default info)
  --openai-api-url URL     upstream origin for OpenAI routes (default https://api.openai.com)
  --anthropic-api-url URL  upstream origin for /v1/messages (default https://api.anthropic.com)
  --gemini-api-url URL     upstream origin for Gemini routes (default https://generativelanguage.googleapis.com)
  --max-body-bytes N       reject larger bodies with 413 (default 33554432)
  --upstream-timeout-ms N  abort an upstream call that sends no headers, or goes quiet mid-answer,
                           for N ms: 504, or an SSE error event mid-stream (default 600000; 0: none)
  --llmlingua, --llmlingua-rate R   ML compression: not available in this build
  --help

Routes: GET /health /stats /metrics /v1/retrieve/{hash}; POST /v1/chat/completions /v1/responses
/v1/messages /v1beta/models/{m}:generateContent|:streamGenerateContent /v1/compress; anything
else is passed through. Headers: x-headroom-mode (optimize|audit), x-headroom-bypass: true.
`;

const VALUE_FLAGS = ['port', 'host', 'budget', 'log-file', 'log-level', 'openai-api-url', 'anthropic-api-url', 'gemini-api-url', 'max-body-bytes', 'upstream-timeout-ms', 'llmlingua-rate'];
const BOOL_FLAGS = ['no-optimize', 'no-cache', 'llmlingua', 'help'];

class UsageError extends Error {}

export function parseProxyArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].startsWith('--') ? argv[i].slice(2).split(/=(.*)/s) : [null];
    if (k === null) throw new UsageError(`unexpected argument '${argv[i]}'`);
    if (BOOL_FLAGS.includes(k)) {
      a[k] = true;
      continue;
    }
    if (!VALUE_FLAGS.includes(k)) throw new UsageError(`unknown option --${k}`);
    if (v === undefined) v = argv[++i];
    if (v === undefined) throw new UsageError(`--${k} needs a value`);
    a[k] = v;
  }
  return a;
}

function number(a, k, { int = false } = {}) {
  const n = Number(a[k]);
  if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw new UsageError(`--${k} must be a non-negative ${int ? 'integer' : 'number'}`);
  return n;
}

export async function proxyMain(argv) {
  let a;
  try {
    a = parseProxyArgs(argv);
    if (a.help) {
      console.log(PROXY_HELP);
      return;
    }
    if (a.llmlingua || a['llmlingua-rate'] !== undefined) {
      throw new UsageError('--llmlingua is not available in this build (the ML compressor entry is not shipped yet); run without it');
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`headroom-wasm proxy: ${err.message}\n\n${PROXY_HELP}`);
    process.exitCode = 2;
    return;
  }
  const level = a['log-level'] ?? 'info';
  const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
  if (!(level in levels)) {
    console.error(`headroom-wasm proxy: --log-level must be one of ${Object.keys(levels).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  let options;
  try {
    options = {
      port: a.port !== undefined ? number(a, 'port', { int: true }) : 8787,
      host: a.host ?? '127.0.0.1',
      mode: a['no-optimize'] ? 'audit' : 'optimize',
      upstreams: {},
      logLevel: a['log-file'] ? 'debug' : level,
    };
    if (a['no-cache']) options.config = { cacheAligner: { mode: 'detect' }, cacheOptimizer: { enabled: false } };
    if (a.budget !== undefined) options.budgetUsd = number(a, 'budget');
    if (a['max-body-bytes'] !== undefined) options.maxBodyBytes = number(a, 'max-body-bytes', { int: true });
    if (a['upstream-timeout-ms'] !== undefined) options.upstreamTimeoutMs = number(a, 'upstream-timeout-ms', { int: true });
    for (const [flag, k] of [['openai-api-url', 'openai'], ['anthropic-api-url', 'anthropic'], ['gemini-api-url', 'google']]) {
      if (a[flag] === undefined) continue;
      const u = new URL(a[flag]);
      if (!/^https?:$/.test(u.protocol)) throw new UsageError(`--${flag} must be an http(s) URL`);
      options.upstreams[k] = a[flag];
    }
  } catch (err) {
    console.error(`headroom-wasm proxy: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  const logFile = a['log-file'];
  const stderrLevel = levels[level];
  options.logger = (entry) => {
    if (logFile) appendFileSync(logFile, JSON.stringify(entry) + '\n');
    if (levels[entry.level] >= stderrLevel) {
      const { ts, level: l, msg, ...rest } = entry;
      console.error(`${ts} ${l} ${msg} ${JSON.stringify(rest)}`);
    }
  };
  let proxy;
  try {
    proxy = await startProxyServer(options);
  } catch (err) {
    console.error(`headroom-wasm proxy: cannot listen on ${options.host}:${options.port} (${err.code ?? err.message})`);
    process.exitCode = 1;
    return;
  }
  if (stderrLevel <= levels.info) {
    console.error(`headroom-wasm ${version()} proxy listening on ${proxy.url} (${options.mode}${options.budgetUsd !== undefined ? `, budget $${options.budgetUsd}` : ''})`);
    console.error('  LLMLingua: not available in this build');
  }
  const stop = () => proxy.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
