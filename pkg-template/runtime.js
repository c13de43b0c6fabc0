// Instantiation state shared by core.js and the entry points (not part of the public API).

export const state = {
  /** The compiled WebAssembly.Module, kept to re-instantiate after a trap. */
  module: null,
  ready: false,
  /** Bumped on every re-instantiation; engine objects of older generations are rebuilt. */
  generation: 0,
};

/** Called by an entry point once the glue is instantiated. */
export function setModule(module) {
  state.module = module;
  state.ready = true;
}
