// Browser (and generic ESM) entry: fetching and compiling the module is asynchronous, so call
// `await init()` once before using the API. `init(input?)` accepts a URL, a Response, bytes or a
// WebAssembly.Module; by default it fetches the .wasm file next to this module.
import __wbg_init, { __headroom_module } from './wasm/headroom.js';
import { setModule, state } from './runtime.js';

let pending = null;

export function init(input) {
  if (state.ready) return Promise.resolve();
  if (!pending) {
    pending = (async () => {
      const source = input ?? new URL('./wasm/headroom_bg.wasm', import.meta.url);
      await __wbg_init({ module_or_path: source });
      setModule(__headroom_module());
    })();
    pending.catch(() => {
      pending = null;
    });
  }
  return pending;
}

export * from './core.js';
export { HeadroomClient, MemoryMetricsStore, registerMetricsStore } from './client.js';
export { headroomMiddleware } from './ai-middleware.js';
