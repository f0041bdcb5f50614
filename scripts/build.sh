#!/usr/bin/env bash
# Builds a worker bundle (index.js + index_bg.wasm) with local tools only: worker-build
# would otherwise download wasm-bindgen, wasm-opt and esbuild.
#   scripts/build.sh          the release bundle in build/ (`make build`, deployments): no
#                             /.test/* routes compiled in
#   scripts/build.sh --e2e    the bundle the end-to-end suite, `make dev` and `make bench` run,
#                             in build-e2e/: with the `insecure-test-routes` feature
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
case "${1:-}" in
  "") out=build; features=() ;;
  --e2e) out=build-e2e; features=(--features insecure-test-routes) ;;
  *) echo "usage: scripts/build.sh [--e2e]" >&2; exit 2 ;;
esac
worker-build --release --out-dir "$out" "${features[@]}"
test -s "$out/index.js" && test -s "$out/index_bg.wasm"
echo "build ($out): $(stat -c %s "$out/index_bg.wasm") bytes of wasm ($(gzip -9c "$out/index_bg.wasm" | wc -c) gzipped)"
