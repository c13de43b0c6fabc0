// Cloudflare Workers entry: the runtime hands us the compiled module (wrangler and miniflare
// import `.wasm` files as WebAssembly.Module), so instantiation is synchronous at import.
import wasmModule from './wasm/headroom_bg.wasm';
import { initSync } from './wasm/headroom.js';
import { setModule } from './runtime.js';

initSync({ module: wasmModule });
setModule(wasmModule);

/** Already initialised in Workers; kept so the same code runs everywhere. */
export async function init() {}

export * from './core.js';
export { HeadroomClient, MemoryMetricsStore, registerMetricsStore } from './client.js';
export { headroomMiddleware } from './ai-middleware.js';
