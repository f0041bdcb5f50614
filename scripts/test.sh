#!/usr/bin/env bash
# The test command: formatting, lints (host and wasm32), native tests, the wasm build,
# the workflow files, cargo audit, the tooling tests, and the end-to-end suite against the
# built worker in workerd.
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
step "workflow files (GitHub workflow schema, offline)"
.venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
step "cargo audit (RustSec advisories, audit.toml)"
if [ -d ../shared/advisory-db ]; then
  cargo audit --db ../shared/advisory-db --no-fetch
else
  echo "cargo audit: SKIPPED: no advisory database snapshot at ../shared/advisory-db"
  echo "(this machine cannot fetch the live one; the CI audit job checks against it)"
fi
step "tooling tests (deploy, keys and smoke scripts; workflows; audit.toml; wrangler.toml)"
.venv/bin/python -m pytest tests/tooling -q -p no:cacheprovider
step "end-to-end suite (workerd via wrangler dev)"
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider "$@"
