#!/usr/bin/env bash
# The test command: formatting, lints (host and wasm32, with and without the test routes),
# native tests (the worker's core and the command-line client, cli/), the release and
# end-to-end wasm builds, the command-line client `osp` (target/debug/osp, which the
# end-to-end suite runs),
# the workflow files, cargo audit, the tooling tests, and the end-to-end suite against the
# built worker in workerd.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { echo; echo "=== $*"; }
# No wrangler banner ("update available") or npm notices in the output; no metrics.
export WRANGLER_HIDE_BANNER=true WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false

step "setup"
scripts/setup.sh --e2e
step "cargo fmt --check (workspace: the worker and cli/)"
cargo fmt --all --check
step "clippy (host, workspace)"
cargo clippy --workspace --all-targets -- -D warnings
step "clippy (wasm32, the worker only)"
cargo clippy -p oidc-sts-proxy --target wasm32-unknown-unknown --lib -- -D warnings
step "clippy (host and wasm32, with the insecure-test-routes feature)"
cargo clippy --workspace --all-targets --features oidc-sts-proxy/insecure-test-routes -- -D warnings
cargo clippy -p oidc-sts-proxy --target wasm32-unknown-unknown --lib --features insecure-test-routes -- -D warnings
step "native tests (workspace)"
cargo test --workspace
step "wasm build (release bundle, build/)"
scripts/build.sh
step "wasm build (end-to-end bundle with the /.test routes, build-e2e/)"
scripts/build.sh --e2e
step "command-line client (target/debug/osp, for the end-to-end suite)"
cargo build -p oidc-sts-proxy-cli
step "workflow files (GitHub workflow schema, offline)"
.venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
step "cargo audit (RustSec advisories, audit.toml)"
scripts/audit.sh
step "tooling tests (setup, build, audit, deploy, keys, smoke and fuzz scripts; workflows; audit.toml; wrangler.toml)"
.venv/bin/python -m pytest tests/tooling -q -p no:cacheprovider
step "end-to-end suite (workerd via wrangler dev)"
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider "$@"
