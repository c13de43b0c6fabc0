// The headroom proxy as a Cloudflare Worker. Originals are kept in Workers KV (binding
// HEADROOM_CCR) under `tenant:hash`, the tenant being a hash of the caller's API key; without the
// binding they stay in this isolate's memory. Settings come from [vars] in wrangler.toml.
//
// Deploy: copy this folder, `npm install headroom-wasm`, create the KV namespace, `wrangler deploy`.
import { createProxyHandler, KvCcrStore, MemoryCcrStore } from 'headroom-wasm/proxy';

let handler = null;

function setup(env) {
  const store = env.HEADROOM_CCR ? new KvCcrStore(env.HEADROOM_CCR, { ttlSeconds: Number(env.HEADROOM_CCR_TTL_SECONDS ?? 1800) }) : new MemoryCcrStore();
  const upstreams = {};
  if (env.OPENAI_API_URL) upstreams.openai = env.OPENAI_API_URL;
  if (env.ANTHROPIC_API_URL) upstreams.anthropic = env.ANTHROPIC_API_URL;
  if (env.GEMINI_API_URL) upstreams.google = env.GEMINI_API_URL;
  const options = { store, upstreams, mode: env.HEADROOM_MODE === 'audit' ? 'audit' : 'optimize' };
  // The budget is per isolate: Workers run many isolates, so it is a soft cap at best.
  if (env.HEADROOM_BUDGET_USD) options.budgetUsd = Number(env.HEADROOM_BUDGET_USD);
  if (env.HEADROOM_UPSTREAM_TIMEOUT_MS) options.upstreamTimeoutMs = Number(env.HEADROOM_UPSTREAM_TIMEOUT_MS);
  if (env.HEADROOM_MAX_BODY_BYTES) options.maxBodyBytes = Number(env.HEADROOM_MAX_BODY_BYTES);
  if (env.HEADROOM_LOG_LEVEL) {
    options.logLevel = env.HEADROOM_LOG_LEVEL;
    options.logger = (entry) => console.log(JSON.stringify(entry)); // keys are redacted before this
  }
  return createProxyHandler(options);
}

export default {
  async fetch(request, env) {
    handler ??= setup(env);
    return handler(request);
  },
};
