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
glue="$tmp/web/headroom.js"
grep -q '^let wasmModule, wasmInstance, wasm;$' "$glue" \
  || { echo "build-pkg: the wasm-bindgen glue changed shape (no 'let wasmModule, wasmInstance, wasm;')" >&2; exit 1; }
{
  cat "$glue"
  printf '\n// headroom additions (scripts/build-pkg.sh)\n'
  printf 'export function __headroom_reset() { wasm = undefined; wasmInstance = undefined; __wbg_init_promise = undefined; cachedUint8ArrayMemory0 = null; cachedDataViewMemory0 = null; }\n'
  printf 'export function __headroom_module() { return wasmModule; }\n'
  printf 'export function __headroom_memory_bytes() { return wasm === undefined ? 0 : wasm.memory.buffer.byteLength; }\n'
} > "$out/wasm/headroom.js"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
sed "s/\"version\": \"0.0.0-template\"/\"version\": \"$version\"/" pkg-template/package.json > "$out/package.json"
cp README.md "$out/README.md"
echo "built $out/ (headroom-wasm $version): $(du -h "$out/wasm/headroom_bg.wasm" | cut -f1) wasm, $(gzip -c "$out/wasm/headroom_bg.wasm" | wc -c | awk '{printf "%.1f MB", $1/1048576}') gzipped" >&2
