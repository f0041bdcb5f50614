#!/usr/bin/env bash
# Builds a worker bundle (index.js + index_bg.wasm) with local tools only: worker-build
# would otherwise download wasm-bindgen, wasm-opt and esbuild.
#   scripts/build.sh          the release bundle in build/ (`make build`, deployments): no
#                             /.test/* routes compiled in
#   scripts/build.sh --e2e    the bundle the end-to-end suite, `make dev` and `make bench` run,
#                             in build-e2e/: with the `insecure-test-routes` feature
# Skips the cargo build and the wasm-opt pass when nothing they read has changed since the
# last build of that bundle: a stamp (build.stamp, build-e2e.stamp beside the output dir)
# over Cargo.toml, Cargo.lock, src/**, the files src/ includes, this script (its flags), the
# feature, RUSTFLAGS and the versions of rustc, worker-build, wasm-bindgen, wasm-opt and
# esbuild, plus the bundle it produced. BUILD_FORCE=1 rebuilds regardless.
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

inputs() {
  echo "out=$out features=${features[*]} RUSTFLAGS=${RUSTFLAGS:-} CARGO_ENCODED_RUSTFLAGS=${CARGO_ENCODED_RUSTFLAGS:-}"
  rustc -Vv; worker-build --version; "$WASM_BINDGEN_BIN" --version; "$WASM_OPT_BIN" --version; "$ESBUILD_BIN" --version
  # Every file the crate can read: src/**, and what it includes from tests/ (test vectors).
  local paths=() p
  for p in Cargo.toml Cargo.lock scripts/build.sh src tests/keys tests/vectors; do
    if [ -e "$p" ]; then paths+=("$p"); fi
  done
  find "${paths[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
}
outputs() { sha256sum "$out/index.js" "$out/index_bg.wasm" 2>/dev/null; }
stamp=$out.stamp
want=$(inputs | sha256sum | cut -d' ' -f1)
if [ -z "${BUILD_FORCE:-}" ] && [ -s "$out/index.js" ] && [ -s "$out/index_bg.wasm" ] \
  && [ "$(cat "$stamp" 2>/dev/null)" = "$want $(outputs | sha256sum | cut -d' ' -f1)" ]; then
  echo "build ($out): up to date (no input changed since the last build; BUILD_FORCE=1 rebuilds)"
else
  rm -f -- "$stamp"
  worker-build --release --out-dir "$out" "${features[@]}"
  test -s "$out/index.js" && test -s "$out/index_bg.wasm"
  echo "$want $(outputs | sha256sum | cut -d' ' -f1)" > "$stamp"
fi
echo "build ($out): $(stat -c %s "$out/index_bg.wasm") bytes of wasm ($(gzip -9c "$out/index_bg.wasm" | wc -c) gzipped)"
