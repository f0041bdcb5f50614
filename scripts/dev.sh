#!/usr/bin/env bash
# The dev command: installs what is missing, generates dev secrets, builds, and serves
# the worker on http://127.0.0.1:8787 in the real Workers runtime (workerd).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/dev-vars.sh
scripts/build.sh
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
exec node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false
