#!/usr/bin/env bash
# Installs every tool the build and the tests need, pinned, skipping what is already
# there. Safe to run repeatedly; `make dev` and `make test` call it first.
#   WORKER_BUILD_VERSION  worker-build (crates.io), pinned
#   wasm-bindgen-cli      exactly the wasm-bindgen version in Cargo.lock
#   node_modules          wrangler, binaryen (wasm-opt), esbuild, and the end-to-end suite's
#                         oidc-provider and playwright-core, from package-lock.json
#   .venv (--dev, --e2e)  tests/e2e/requirements.txt: the AWS CLI of the README walkthrough
#                         (`make dev` passes --dev) and the end-to-end suite's Python packages
#   cargo-audit (--e2e)   for the test command's `cargo audit` (latest, --locked), only when
#                         that will run: scripts/audit.sh --decide is not `skip`
#   rclone, gdal-bin      (--e2e) Debian's packages, clients of the end-to-end suite (rclone:
#                         the aws-sdk-go signer; GDAL's /vsis3/, as the README shows)
#   chromium              (--e2e) Debian's browser, when $CHROMIUM (default /usr/bin/chromium) is
#                         missing: the sign-in tests drive it headless through playwright-core
#                         (from package-lock.json), which never downloads a browser of its own
# The compiled tools are one-time installs, announced with how long they take.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "" | --dev | --e2e) ;;  # build tools only (make build, deploys) | + .venv | + test tools
  *) echo "usage: scripts/setup.sh [--dev | --e2e]" >&2; exit 2 ;;
esac
WORKER_BUILD_VERSION=0.8.7
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "setup: $*"; }
# Times measured on a 2-core machine (less with more cores); the first run only.
once() { say "one-time install: $1 (compiles from source, about $2 on 2 cores; later runs skip it)"; }
# No npm "update available" / funding notices.
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  once "worker-build $WORKER_BUILD_VERSION" "5 min (8-15 min with wasm-bindgen-cli)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ -z "$bindgen_version" ]; then
  echo "setup: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $NF}')" != "$bindgen_version" ]; then
  once "wasm-bindgen-cli $bindgen_version (matches Cargo.lock)" "5-10 min"
  # Not --locked: the registry lacks one of its pinned dependencies.
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

want=$(stamp package-lock.json)
if [ ! -x node_modules/.bin/wrangler ] || [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$want" ]; then
  say "npm ci (wrangler, binaryen, esbuild; oidc-provider and playwright-core for tests; about 1 min the first time)"
  npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
  echo "$want" > node_modules/.setup-stamp
fi

if [ "${1:-}" = "--e2e" ] && ! cargo audit --version >/dev/null 2>&1; then
  audit_source=$(scripts/audit.sh --decide)
  if [ "${audit_source%% *}" = skip ]; then
    say "not installing cargo-audit: the test command will skip the audit (${audit_source#skip })"
  else
    once "cargo-audit (for the audit against the ${audit_source%% *} advisory database)" "12-25 min"
    cargo install cargo-audit --locked
  fi
fi

# Debian packages the end-to-end suite's clients come in: command -> package.
debs=()
if [ "${1:-}" = "--e2e" ]; then
  command -v rclone >/dev/null 2>&1 || debs+=(rclone)
  command -v ogrinfo >/dev/null 2>&1 || debs+=(gdal-bin)
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || debs+=(chromium)
fi
if [ "${#debs[@]}" -gt 0 ]; then
  say "installing ${debs[*]} (Debian packages; clients and the browser of the end-to-end suite)"
  if [ "$(id -u)" = 0 ]; then
    sudo=
  elif command -v sudo >/dev/null 2>&1; then
    sudo=sudo
  else
    echo "setup: ${debs[*]} missing and this user cannot install Debian packages: apt-get install ${debs[*]}" >&2
    exit 1
  fi
  # A fresh machine has no package lists yet; `install` fails on a stale one, so update first.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${debs[@]}"
fi

want=$(stamp tests/e2e/requirements.txt)
if [ -n "${1:-}" ] && { [ ! -x .venv/bin/aws ] || [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$want" ]; }; then
  say "one-time install: .venv (the AWS CLI for the walkthrough, the end-to-end suite's packages; about 1-2 min)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
  echo "$want" > .venv/.setup-stamp
fi
