#!/usr/bin/env bash
# Installs every tool the build and the tests need, pinned, skipping what is already
# there. Safe to run repeatedly; `make dev` and `make test` call it first.
#   WORKER_BUILD_VERSION  worker-build (crates.io), pinned
#   wasm-bindgen-cli      exactly the wasm-bindgen version in Cargo.lock
#   node_modules          wrangler, binaryen (wasm-opt), esbuild from package-lock.json
#   .venv (with --e2e)    the end-to-end suite's Python packages, tests/e2e/requirements.txt
#   cargo-audit (--e2e)   for the test command's `cargo audit` (latest, --locked)
#   rclone (--e2e)        Debian's package, a client of the end-to-end suite (aws-sdk-go signer)
set -euo pipefail
cd "$(dirname "$0")/.."
WORKER_BUILD_VERSION=0.8.7
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "setup: $*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ -z "$bindgen_version" ]; then
  echo "setup: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $NF}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (matches Cargo.lock)"
  # Not --locked: the registry lacks one of its pinned dependencies.
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

want=$(stamp package-lock.json)
if [ ! -x node_modules/.bin/wrangler ] || [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$want" ]; then
  say "npm ci (wrangler, binaryen, esbuild)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.setup-stamp
fi

if [ "${1:-}" = "--e2e" ] && ! cargo audit --version >/dev/null 2>&1; then
  say "installing cargo-audit"
  cargo install cargo-audit --locked
fi

if [ "${1:-}" = "--e2e" ] && ! command -v rclone >/dev/null 2>&1; then
  say "installing rclone (Debian package)"
  if [ "$(id -u)" = 0 ]; then
    sudo=
  elif command -v sudo >/dev/null 2>&1; then
    sudo=sudo
  else
    echo "setup: rclone is missing and this user cannot install Debian packages: apt-get install rclone" >&2
    exit 1
  fi
  # A fresh machine has no package lists yet; `install` fails on a stale one, so update first.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends rclone
fi

if [ "${1:-}" = "--e2e" ]; then
  want=$(stamp tests/e2e/requirements.txt)
  if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$want" ]; then
    say "creating .venv for the end-to-end suite"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
    echo "$want" > .venv/.setup-stamp
  fi
fi
