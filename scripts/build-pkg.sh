#!/usr/bin/env bash
# Builds the npm package headroom-wasm into pkg/: one release wasm module (wasm-bindgen
# `--target web` glue), the small per-runtime loaders and types from pkg-template/, and the
# bundled examples. Usage: scripts/build-pkg.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=--release
[ "${1:-}" = "--dev" ] && profile=--dev
out=pkg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

wasm-pack build "$profile" --target web --out-dir "$tmp/web" --out-name headroom --no-pack --no-typescript >&2
# The ML build (`headroom-wasm/ml`): the same engine with the `ml` feature (tract), compiled
# with wasm SIMD (+simd128, not relaxed-simd: that gave wrong outputs). Its own target dir, since
# different RUSTFLAGS would otherwise rebuild the core build's artifacts every time.
RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/ml-simd" \
  wasm-pack build "$profile" --target web --out-dir "$tmp/web-ml" --out-name headroom --no-pack --no-typescript -- --features ml >&2

rm -rf "$out"
mkdir -p "$out/wasm"
cp pkg-template/*.js pkg-template/*.d.ts "$out/"
cp -r pkg-template/worker "$out/worker"
cp -r examples "$out/examples"
cp "$tmp/web/headroom_bg.wasm" "$out/wasm/"

# Re-instantiation after a trap needs the glue to forget its instance (wasm-bindgen's initSync
# returns early while its module-level `wasm` is set), and the browser loader needs the compiled
# module it fetched. Add two small exports next to those variables; fail loudly if the glue of a
# new wasm-bindgen version no longer has them.
add_glue() {
  local glue=$1 dest=$2
  grep -q '^let wasmModule, wasmInstance, wasm;$' "$glue" \
    || { echo "build-pkg: the wasm-bindgen glue changed shape (no 'let wasmModule, wasmInstance, wasm;')" >&2; exit 1; }
  {
    cat "$glue"
    printf '\n// headroom additions (scripts/build-pkg.sh)\n'
    printf 'export function __headroom_reset() { wasm = undefined; wasmInstance = undefined; __wbg_init_promise = undefined; cachedUint8ArrayMemory0 = null; cachedDataViewMemory0 = null; }\n'
    printf 'export function __headroom_module() { return wasmModule; }\n'
    printf 'export function __headroom_memory_bytes() { return wasm === undefined ? 0 : wasm.memory.buffer.byteLength; }\n'
  } > "$dest"
}
add_glue "$tmp/web/headroom.js" "$out/wasm/headroom.js"

# headroom-wasm/ml: copies of the root entry's files pointed at the ml module (its own runtime
# state; the shared errors.js), plus the ML classes, and the default model when it exists.
mkdir -p "$out/wasm-ml" "$out/ml"
cp "$tmp/web-ml/headroom_bg.wasm" "$out/wasm-ml/"
add_glue "$tmp/web-ml/headroom.js" "$out/wasm-ml/headroom.js"
# The files that reach the engine are the ml entry's own copies (so the SDK wrapper and the
# middleware run on the ml module); every other relative import (errors.js, ...) points back at
# the root's shared file, so `instanceof` holds across entries.
own='core|runtime|client|ai-middleware|metrics-jsonl|providers'
for f in core.js runtime.js node.js workerd.js browser.js client.js ai-middleware.js metrics-jsonl.js providers.js; do
  sed -e "s#\./wasm/headroom#../wasm-ml/headroom#g" \
      -e "s#'\./\([A-Za-z0-9_-]*\)\.js'#'../\1.js'#g" \
      -E -e "s#'\.\./($own)\.js'#'./\1.js'#g" "pkg-template/$f" > "$out/ml/$f"
done
for f in node.js workerd.js browser.js; do
  printf "export * from './llmlingua.js';\n" >> "$out/ml/$f"
done
cp pkg-template/ml/* "$out/ml/"
if [ -f models/default/model.onnx ] && [ -f models/default/tokenizer.json ]; then
  mkdir -p "$out/models/default"
  cp models/default/model.onnx models/default/tokenizer.json "$out/models/default/"
  [ -f models/default/MODEL_CARD.md ] && cp models/default/MODEL_CARD.md "$out/models/default/"
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
sed "s/\"version\": \"0.0.0-template\"/\"version\": \"$version\"/" pkg-template/package.json > "$out/package.json"
cp README.md "$out/README.md"
size() { echo "$(du -h "$1" | cut -f1) wasm, $(gzip -c "$1" | wc -c | awk '{printf "%.1f MB", $1/1048576}') gzipped"; }
echo "built $out/ (headroom-wasm $version): core $(size "$out/wasm/headroom_bg.wasm"); ml $(size "$out/wasm-ml/headroom_bg.wasm")" >&2
