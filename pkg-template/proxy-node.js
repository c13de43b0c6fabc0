// `headroom-wasm/proxy` for node: the shared handler over the node build of the engine.
import { init } from './node.js';
import { createProxyHandlerWith } from './proxy.js';

/** One fetch-style handler (Request -> Promise<Response>); see proxy.js for the options. */
export function createProxyHandler(options) {
  return createProxyHandlerWith(init, options);
}

export { MemoryCcrStore, KvCcrStore, tenantOf, redact } from './proxy.js';
export { startProxyServer } from './proxy-server.js';
