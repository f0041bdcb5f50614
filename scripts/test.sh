#!/usr/bin/env bash
# The test command: formatting, lints (host and wasm32), native tests, the wasm build,
# and the end-to-end suite against the built worker in workerd.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { echo; echo "=== $*"; }

step "setup"
scripts/setup.sh --e2e
step "cargo fmt --check"
cargo fmt --check
step "clippy (host)"
cargo clippy --all-targets -- -D warnings
step "clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
step "native tests"
cargo test
step "wasm build"
scripts/build.sh
step "end-to-end suite (workerd via wrangler dev)"
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider "$@"
