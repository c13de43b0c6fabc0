// Node entry: instantiates the engine synchronously at import, so importing is enough.
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/headroom.js';
import { setModule } from './runtime.js';

const module = new WebAssembly.Module(readFileSync(new URL('./wasm/headroom_bg.wasm', import.meta.url)));
initSync({ module });
setModule(module);

/** Already initialised in Node; kept so the same code runs everywhere. */
export async function init() {}

export * from './core.js';
export { HeadroomClient, MemoryMetricsStore, registerMetricsStore } from './client.js';
export { headroomMiddleware } from './ai-middleware.js';
export { JsonlMetricsStore } from './metrics-jsonl.js';
