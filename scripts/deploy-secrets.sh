#!/usr/bin/env bash
# Assembles the Worker's secrets for one deployment: the JSON object (name -> string) that
# `wrangler deploy --secrets-file` and `wrangler secret bulk` read. Built by jq straight
# from the environment: no value passes through a shell string, a command line or a log.
#
#   required  OIDC_PROVIDER_KEY, SESSION_TOKEN_KEY
#   optional  OIDC_PROVIDER_KEY_PREVIOUS, SESSION_TOKEN_KEY_PREVIOUS, and each secret named
#             in BACKEND_SECRET_NAMES (not a secret itself: names separated by commas or
#             spaces, e.g. the S3 backend credentials the catalogue refers to)
#
# A value comes from the environment variable of the same name or, when that is unset,
# from the JSON object in DEPLOY_SECRETS_JSON (the deploy workflow passes `toJSON(secrets)`
# there, so a backend secret needs no wiring of its own). Empty counts as unset: optional
# secrets are included only when set; an empty required one is an error.
#
# Usage (no mode touches the network):
#   scripts/deploy-secrets.sh --print       the JSON on stdout
#   scripts/deploy-secrets.sh --out FILE    the JSON into FILE, created with mode 600
#   scripts/deploy-secrets.sh --dry-run     what would be uploaded: names and lengths, never values
# Exits 1, having written nothing, when a required secret is empty or a listed name is bad.
set -euo pipefail

usage() { sed -n '/^# Usage/,/^# Exits/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "deploy-secrets: $*" >&2; exit 1; }

mode=${1:-}
out=
case "$mode" in
  --print | --dry-run) [ $# -eq 1 ] || usage ;;
  --out)
    if [ $# -ne 2 ] || [ -z "$2" ]; then usage; fi
    out=$2 ;;
  *) usage ;;
esac
command -v jq >/dev/null || die "jq is required"

# jq definitions shared by the plan and the document. Values are only ever read by jq.
# shellcheck disable=SC2016 # jq programs, not shell expansions
defs='
  def required: ["OIDC_PROVIDER_KEY", "SESSION_TOKEN_KEY"];
  def optional: ["OIDC_PROVIDER_KEY_PREVIOUS", "SESSION_TOKEN_KEY_PREVIOUS"];
  # Credentials of the deploy itself never go into the Worker.
  def forbidden: ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN"];
  def extra: env.DEPLOY_SECRETS_JSON // "" | if . == "" then {} else (try fromjson catch null) end;
  def backend: env.BACKEND_SECRET_NAMES // "" | [splits("[,\\s]+")] | map(select(. != "")) | unique;
  def names: required + optional + (backend - required - optional);
  # Environment first, then DEPLOY_SECRETS_JSON; anything but a non-empty string is unset.
  def value($n): [env[$n], (extra | objects | .[$n])] | map(strings | select(. != "")) | first // "";
'

# The plan, names only: mistakes, and which secrets are set. Nothing secret comes out.
plan=$(jq -n "$defs"'
  {
    errors: (
      (if (extra | type) != "object" then ["DEPLOY_SECRETS_JSON is not a JSON object"] else [] end)
      + [backend[] | select(test("^[A-Za-z_][A-Za-z0-9_]{0,127}$") | not)
         | "BACKEND_SECRET_NAMES: \(@json) is not a valid secret name"]
      + [backend[] | select(. as $n | required + optional | index($n))
         | "BACKEND_SECRET_NAMES: \(.) is managed already; do not list it"]
      + [backend[] | select(ascii_upcase as $n | forbidden | index($n))
         | "BACKEND_SECRET_NAMES: \(.) is a deploy credential and never goes into the Worker"]
      + [required[] | select(value(.) == "")
         | "required secret \(.) is empty or unset (gh secret set \(.) --env <environment>)"]
    ),
    names: [names[] | {name: ., required: (. as $n | required | index($n) != null), length: (value(.) | length)}],
    unset_backend: [backend[] | select(value(.) == "")]
  }')

errors=$(jq -r '.errors[]' <<<"$plan")
if [ -n "$errors" ]; then
  while IFS= read -r line; do echo "deploy-secrets: $line" >&2; done <<<"$errors"
  die "refusing to go on; nothing was written or uploaded"
fi

if [ "$mode" = --dry-run ]; then
  echo "deploy-secrets: dry run (no values shown, nothing written or uploaded)"
  jq -r '.names[] | if .length > 0 then "  upload  \(.name) (\(.length) characters)"
                    elif .required then "  MISSING \(.name)" else "  skip    \(.name) (unset)" end' <<<"$plan"
  exit 0
fi

# Listed but unset: optional, so skipped, but most likely a mistake worth seeing.
while IFS= read -r name; do
  [ -n "$name" ] || continue
  msg="$name is listed in BACKEND_SECRET_NAMES but unset: not uploaded"
  if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::warning title=deploy-secrets::$msg" >&2; fi
  echo "deploy-secrets: warning: $msg" >&2
done < <(jq -r '.unset_backend[]' <<<"$plan")

# The document: jq reads the values from its environment and writes them straight out.
emit() { jq -n "$defs"' reduce names[] as $n ({}; value($n) as $v | if $v != "" then .[$n] = $v else . end)'; }

if [ -n "$out" ]; then
  (umask 077 && rm -f -- "$out" && emit > "$out")
else
  emit
fi
