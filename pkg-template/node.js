// Node entry: instantiates the engine synchronously at import, so importing is enough.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { initSync } from './wasm/headroom.js';
import { setModule } from './runtime.js';

// CCR hashes are SHA-256 of each original: node:crypto's digest (OpenSSL, native code) is
// several times faster than the wasm build's own, which it uses for inputs of 4 KB and more and
// checks for shape (src/digest.rs); browsers and Workers have no synchronous digest and use
// the wasm one. Set before instantiation, looked up once per instance.
const SHA256 = Symbol.for('headroom-wasm.sha256');
if (typeof globalThis[SHA256] !== 'function') {
  globalThis[SHA256] = (bytes) => createHash('sha256').update(bytes).digest('hex');
}

const module = new WebAssembly.Module(readFileSync(new URL('./wasm/headroom_bg.wasm', import.meta.url)));
initSync({ module });
setModule(module);

/** Already initialised in Node; kept so the same code runs everywhere. */
export async function init() {}

export * from './core.js';
export { HeadroomClient, MemoryMetricsStore, registerMetricsStore } from './client.js';
export { headroomMiddleware } from './ai-middleware.js';
export { JsonlMetricsStore } from './metrics-jsonl.js';
