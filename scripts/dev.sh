#!/usr/bin/env bash
# The dev command: installs what is missing (with .venv/bin/aws for the walkthrough),
# generates dev secrets, builds (skipped when nothing changed since the last build), and
# serves the worker on http://127.0.0.1:8787 in the real Workers runtime (workerd).
# A code change is picked up by restarting it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
scripts/dev-vars.sh
# The dev IdP is /.test/mint, so `make dev` runs the bundle with the test routes.
scripts/build.sh --e2e
# No wrangler banner (with its "update available" check) or npm notices; no metrics.
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false WRANGLER_HIDE_BANNER=true
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false
# Seed the local R2 bucket (the embedded catalogue's sample products) once.
if [ ! -f .wrangler/.sample-bucket-seeded ]; then
  (cd dev/sample-bucket && find . -type f | sed 's|^\./||') | while read -r key; do
    node_modules/.bin/wrangler r2 object put "oidc-sts-proxy-data/$key" --file "dev/sample-bucket/$key" --local >/dev/null
    echo "dev: seeded local R2 object $key"
  done
  mkdir -p .wrangler && touch .wrangler/.sample-bucket-seeded
fi
exec node_modules/.bin/wrangler dev build-e2e/index.js --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false
