#!/usr/bin/env bash
# Prints a new OpenID provider key (RSA-2048, PEM PKCS#8) with a new kid, and a new
# SESSION_TOKEN_KEY (base64 of 32 random bytes), for an operator to store as GitHub
# environment secrets. Writes nothing anywhere: the values exist only in this output.
#
#   scripts/keys.sh [ENV]          readable, with the commands that store each value
#   scripts/keys.sh --json [ENV]   one JSON object: OIDC_PROVIDER_KID, OIDC_PROVIDER_KEY,
#                                  SESSION_TOKEN_KEY
# ENV (preview, staging, production, ...) prefixes the kid and fills in the commands.
set -euo pipefail

json=
if [ "${1:-}" = --json ]; then json=1; shift; fi
if [ $# -gt 1 ] || [[ "${1:-}" == -* ]]; then
  echo "usage: scripts/keys.sh [--json] [ENV]" >&2
  exit 2
fi
env_name=${1:-}
if [ -n "$env_name" ] && ! [[ "$env_name" =~ ^[A-Za-z0-9_-]{1,32}$ ]]; then
  echo "keys: ENV must be 1 to 32 of A-Z a-z 0-9 _ -" >&2
  exit 2
fi

key=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)
session=$(openssl rand -base64 32)
case "$key" in
  "-----BEGIN PRIVATE KEY-----"*) ;;
  *) echo "keys: openssl did not produce a PKCS#8 key" >&2; exit 1 ;;
esac
# kid: [ENV-]date-jkt<8 hex of the key's RFC 7638 thumbprint>, within the Worker's 1-128 of
# [A-Za-z0-9._-]. The deploy checks that suffix against the key in the same slot
# (scripts/kids.py), so a kid can never go live with somebody else's key.
kid="${env_name:+$env_name-}$(date -u +%Y-%m-%d)-$(printf '%s\n' "$key" | "$(dirname "$0")/kids.py" suffix)"

if [ -n "$json" ]; then
  # The values reach jq through its environment, not its command line.
  KEYS_KID=$kid KEYS_KEY=$key KEYS_SESSION=$session jq -n \
    '{OIDC_PROVIDER_KID: env.KEYS_KID, OIDC_PROVIDER_KEY: env.KEYS_KEY, SESSION_TOKEN_KEY: env.KEYS_SESSION}'
  exit 0
fi

e=${env_name:-<environment>}
cat <<EOF
# New keys${env_name:+ for $env_name}, made $(date -u +%Y-%m-%dT%H:%M:%SZ). Nothing was written to disk.
# Keep a copy in your password manager: GitHub secrets cannot be read back, and the next
# rotation needs this key again, for the _PREVIOUS slot (README, "Rotating the OIDC key").
# \`gh secret set\` prompts for one line only: pipe the PEM in, e.g. from the clipboard
# (\`pbpaste | gh secret set ...\`, \`xclip -o -sel clip | gh secret set ...\`) or from your
# password manager's CLI. Which slot the key goes into depends on the step you are at.

## OIDC_PROVIDER_KID (a var, not a secret): wrangler.toml, [env.$e.vars]
$kid

## OIDC_PROVIDER_KEY (a secret): ... | gh secret set OIDC_PROVIDER_KEY --env $e
$key

## SESSION_TOKEN_KEY (a secret): gh secret set SESSION_TOKEN_KEY --env $e
$session
EOF
