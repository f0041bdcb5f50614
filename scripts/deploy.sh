#!/usr/bin/env bash
# Deploys the built Worker (build/) to one environment of wrangler.toml, with the secrets
# from the environment variables that scripts/deploy-secrets.sh reads (in CI: the GitHub
# environment's secrets). Called by .github/workflows/deploy.yml.
#
#   scripts/deploy.sh ENV             deploy, then delete the Worker's other secrets
#   scripts/deploy.sh --dry-run ENV   assemble the secrets and let the pinned wrangler check
#                                     the bundle, the environment and the secrets file
#                                     (`wrangler deploy --dry-run`): no network, no account
#
# Code, vars and secrets go up as ONE new version (`wrangler deploy --secrets-file`): the
# active kid (a var) and its key (a secret) can never be live half-changed. Then every
# secret the Worker holds that GitHub did not provide is deleted, so GitHub stays the single
# source of truth: a value set by hand with `wrangler secret put` does not survive a deploy.
#
# WRANGLER (default: the pinned node_modules/.bin/wrangler) may name another command.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "deploy: $*" >&2; exit 1; }

dry_run=
if [ "${1:-}" = --dry-run ]; then dry_run=1; shift; fi
if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: scripts/deploy.sh [--dry-run] ENV"; fi
env_name=$1
scripts/wrangler-var.sh --check-env "$env_name" || die "no [env.$env_name] in wrangler.toml"
if ! [ -s build/index.js ] || ! [ -s build/index_bg.wasm ]; then die "build/ is missing: run scripts/build.sh first"; fi
wrangler=${WRANGLER:-$PWD/node_modules/.bin/wrangler}
command -v "$wrangler" >/dev/null || die "no wrangler at $wrangler: run scripts/setup.sh (npm ci)"

tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
export WRANGLER_SEND_METRICS=false WRANGLER_LOG_PATH="$tmp/wrangler-logs"

# Fails, before anything reaches the network, when a required secret is empty.
scripts/deploy-secrets.sh --dry-run
scripts/deploy-secrets.sh --out "$tmp/secrets.json"
# A kid made by `make keys` names its key's thumbprint: refuse a kid paired with another key.
scripts/kids.py check "$env_name" "$tmp/secrets.json"
# From here on the values are in the file only: wrangler does not get them in its environment.
for name in OIDC_PROVIDER_KEY OIDC_PROVIDER_KEY_PREVIOUS SESSION_TOKEN_KEY SESSION_TOKEN_KEY_PREVIOUS \
  DEPLOY_SECRETS_JSON $(jq -r 'keys[]' "$tmp/secrets.json"); do
  unset -v "$name"
done

if [ -n "$dry_run" ]; then
  "$wrangler" deploy --dry-run --env "$env_name" --outdir "$tmp/out" --secrets-file "$tmp/secrets.json"
  echo "deploy: dry run for $env_name passed (nothing uploaded)"
  exit 0
fi

echo "deploy: code, vars and secrets to $env_name, as one version"
"$wrangler" deploy --env "$env_name" --secrets-file "$tmp/secrets.json"

# Secrets are inherited from version to version; delete those GitHub no longer provides.
"$wrangler" secret list --env "$env_name" --format json > "$tmp/listed.json"
jq -r --slurpfile keep "$tmp/secrets.json" \
  '.[] | select(.type == "secret_text") | .name | select(. as $n | $keep[0] | has($n) | not)' \
  "$tmp/listed.json" > "$tmp/stale"
while IFS= read -r name; do
  echo "deploy: deleting secret $name: not set in the GitHub environment"
  "$wrangler" secret delete "$name" --env "$env_name"
done < "$tmp/stale"
echo "deploy: $env_name deployed"
