#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target of fuzz/ (src/fuzz/) for FUZZ_SECONDS each
# (default 180), or only FUZZ_TARGETS="jws percent", and prints runs and runs/s per target.
# Needs the nightly toolchain; installs cargo-fuzz once. Each target starts from its seeds
# (fuzz/corpus/<target>) and regression inputs (fuzz/regressions/<target>). New inputs go to
# fuzz/work/<target> (git-ignored), crashes to fuzz/artifacts/<target>/: copy a crash into
# fuzz/regressions/<target>/ with its fix, and `make test` replays it on stable from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${FUZZ_SECONDS:-180}
case "$secs" in '' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: libFuzzer needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: one-time install: cargo-fuzz (compiles from source, about 2-3 min on 2 cores; later runs skip it)"
  cargo install cargo-fuzz --locked
fi
targets=${FUZZ_TARGETS:-$(awk '/^\[\[bin\]\]/ { getline; gsub(/"/, "", $3); print $3 }' fuzz/Cargo.toml)}
cd fuzz
echo "fuzz: building the targets (nightly, sanitizer on; the first build takes a few minutes)"
cargo +nightly fuzz build >/dev/null
printf '%-16s %12s %10s  %s\n' target runs runs/s result
status=0
for t in $targets; do
  mkdir -p "work/$t"
  log="work/$t.log"
  dirs=("work/$t" "corpus/$t")
  if [ -d "regressions/$t" ]; then dirs+=("regressions/$t"); fi
  if cargo +nightly fuzz run "$t" "${dirs[@]}" -- -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="FAILED: see fuzz/$log and fuzz/artifacts/$t/"
    status=1
  fi
  # A full run ends "Done 1234567 runs in 180 second(s)"; one that stopped early (a crash)
  # has only its final stats and its last status line's "exec/s: N".
  read -r runs took < <(awk '/^Done [0-9]+ runs in [0-9]+ second/ { print $2, $5 }' "$log" | tail -1) || true
  if [ -n "${runs:-}" ]; then
    rate=$(( runs / (took > 0 ? took : 1) ))
  else
    runs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -1)
    rate=$(awk '{ for (i = 1; i < NF; i++) if ($i == "exec/s:") r = $(i + 1) } END { print r }' "$log")
  fi
  printf '%-16s %12s %10s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$result"
  unset runs took rate
done
exit $status
