// `headroom-wasm/proxy` for workerd: the shared handler over the workerd build of the engine.
import { init } from './workerd.js';
import { createProxyHandlerWith } from './proxy.js';

/** One fetch-style handler (Request -> Promise<Response>); see proxy.js for the options. */
export function createProxyHandler(options) {
  return createProxyHandlerWith(init, options);
}

export { MemoryCcrStore, KvCcrStore, tenantOf, redact } from './proxy.js';
