#!/usr/bin/env bash
# The test command's `cargo audit` (RustSec advisories, audit.toml), against the best
# advisory database this machine has:
#   live      the RustSec advisory-db repository answers (cargo-audit fetches it itself)
#   snapshot  else the copy at ../shared/advisory-db (this project's CI), --no-fetch
#   skip      neither: reported as skipped, with that reason
#
#   scripts/audit.sh            run cargo audit against that source (says which)
#   scripts/audit.sh --decide   print the source only: `live`, `snapshot PATH` or `skip REASON`
#                               (scripts/setup.sh installs cargo-audit only unless `skip`)
#
# Overrides (for the tooling tests): AUDIT_SNAPSHOT (the snapshot path), AUDIT_PROBE (the
# command whose success means the live database is reachable), AUDIT_CARGO (cargo).
set -euo pipefail
cd "$(dirname "$0")/.."

# The repository cargo-audit itself fetches (its default advisory database URL).
url=https://github.com/RustSec/advisory-db.git
snapshot=${AUDIT_SNAPSHOT:-../shared/advisory-db}
probe=${AUDIT_PROBE:-"timeout 8 env GIT_TERMINAL_PROMPT=0 git ls-remote --quiet $url HEAD"}
cargo=${AUDIT_CARGO:-cargo}

decide() {
  # Cheap: one ref listing, a few seconds at most (fails at once without DNS).
  if sh -c "$probe" >/dev/null 2>&1; then
    echo live
  elif [ -d "$snapshot" ]; then
    echo "snapshot $snapshot"
  else
    echo "skip $url is not reachable from this machine and there is no snapshot at $snapshot"
  fi
}

source=$(decide)
if [ "${1:-}" = --decide ]; then
  echo "$source"
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: scripts/audit.sh [--decide]" >&2; exit 2; }

case "$source" in
  live)
    echo "cargo audit: against the live RustSec advisory database ($url)"
    exec $cargo audit ;;
  snapshot\ *)
    echo "cargo audit: against the advisory database snapshot at ${source#snapshot }"
    exec $cargo audit --db "${source#snapshot }" --no-fetch ;;
  *)
    echo "cargo audit: SKIPPED: ${source#skip }"
    echo "(the CI audit job checks against the live database)" ;;
esac
