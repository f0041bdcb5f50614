#!/usr/bin/env bash
# Reads one var of one deployment environment from wrangler.toml (for the deploy workflow:
# the URL and the kids the smoke test expects come from the config that was deployed).
#
#   scripts/wrangler-var.sh ENV NAME        prints [env.ENV.vars].NAME ("" when unset)
#   scripts/wrangler-var.sh --check-env ENV exit 0 when [env.ENV] exists
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import sys
import tomllib

with open("wrangler.toml", "rb") as f:
    envs = tomllib.load(f).get("env", {})
args = sys.argv[1:]
if len(args) == 2 and args[0] == "--check-env":
    sys.exit(0 if args[1] in envs else 1)
if len(args) != 2:
    sys.exit("usage: scripts/wrangler-var.sh ENV NAME | --check-env ENV")
env, name = args
if env not in envs:
    sys.exit(f"wrangler-var: no [env.{env}] in wrangler.toml")
value = envs[env].get("vars", {}).get(name, "")
print(value if isinstance(value, str) else "")
PY
