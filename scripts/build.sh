#!/usr/bin/env bash
# Builds the worker bundle into build/ (index.js + index_bg.wasm) with local tools only:
# worker-build would otherwise download wasm-bindgen, wasm-opt and esbuild.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
worker-build --release
test -s build/index.js && test -s build/index_bg.wasm
echo "build: $(stat -c %s build/index_bg.wasm) bytes of wasm ($(gzip -9c build/index_bg.wasm | wc -c) gzipped)"
