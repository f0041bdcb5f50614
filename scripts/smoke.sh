#!/usr/bin/env bash
# Smoke test of a running Worker: `/`, the discovery document and the JWKS answer, the
# discovery document names this URL as issuer, and the JWKS serves the expected active kid
# first (and the previous kid after it, when given).
#
#   scripts/smoke.sh URL EXPECTED_KID [EXPECTED_PREVIOUS_KID]
#
# Retries until every check passes or SMOKE_TIMEOUT seconds (default 120) have gone by: a
# fresh deploy takes a little while to reach every location, and a fresh custom domain
# longer; SMOKE_INTERVAL (default 3) seconds between tries. Needs curl and jq.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ] || [ -z "$1" ] || [ -z "$2" ]; then
  echo "usage: scripts/smoke.sh URL EXPECTED_KID [EXPECTED_PREVIOUS_KID]" >&2
  exit 2
fi
url=${1%/}
kid=$2
previous=${3:-}
timeout=${SMOKE_TIMEOUT:-120}
interval=${SMOKE_INTERVAL:-3}
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# GET $1 into $tmp/body; fail (with why) unless 200 and JSON.
fetch() {
  local status
  status=$(curl -sS -o "$tmp/body" -w '%{http_code}' --max-time 10 \
    -H 'Accept: application/json' -H 'Cache-Control: no-cache' "$1" 2>"$tmp/err") \
    || { why="GET $1: $(head -c 300 "$tmp/err")"; return 1; }
  if [ "$status" != 200 ]; then
    why="GET $1: HTTP $status: $(head -c 300 "$tmp/body")"
    return 1
  fi
  jq -e 'type == "object"' "$tmp/body" >/dev/null 2>&1 || { why="GET $1: not a JSON object"; return 1; }
}

# Every check once; sets $why on the first failure.
check() {
  fetch "$url/" || return 1
  jq -e '.features.oidc_provider == "enabled"' "$tmp/body" >/dev/null \
    || { why="/: the OpenID provider is not enabled: $(jq -c '.features' "$tmp/body")"; return 1; }

  fetch "$url/.well-known/openid-configuration" || return 1
  jq -e --arg iss "$url" '.issuer == $iss' "$tmp/body" >/dev/null \
    || { why="discovery: issuer is $(jq -c '.issuer' "$tmp/body"), expected \"$url\""; return 1; }
  jwks_uri=$(jq -r '.jwks_uri' "$tmp/body")
  [ "$jwks_uri" = "$url/.well-known/jwks.json" ] \
    || { why="discovery: jwks_uri is $jwks_uri, expected $url/.well-known/jwks.json"; return 1; }

  fetch "$jwks_uri" || return 1
  kids=$(jq -c '[.keys[]?.kid]' "$tmp/body")
  jq -e --arg kid "$kid" '.keys[0] | .kid == $kid and .kty == "RSA" and .alg == "RS256" and (.n | length) > 300' \
    "$tmp/body" >/dev/null \
    || { why="jwks: the first (active) key is not RSA kid \"$kid\"; served kids: $kids"; return 1; }
  if [ -n "$previous" ]; then
    jq -e --arg kid "$previous" '.keys[1:] | any(.kid == $kid)' "$tmp/body" >/dev/null \
      || { why="jwks: previous kid \"$previous\" is not served after the active key; served kids: $kids"; return 1; }
  fi
}

why=
deadline=$((SECONDS + timeout))
until check; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "smoke: FAILED after ${timeout}s: $why" >&2
    exit 1
  fi
  echo "smoke: not yet: $why" >&2
  sleep "$interval"
done
echo "smoke: ok: $url serves the OpenID provider with active kid $kid${previous:+ and previous kid $previous} (kids: $kids)"
