"""scripts/fuzz.sh (`make fuzz`): every target of fuzz/Cargo.toml is run and gets a row with
its runs and runs/s, a failing one is reported as such with the rate it ran at and the run
goes on, and each target starts from its seeds and its regression inputs. The real script
and manifest in a scratch tree; fake rustup and cargo stand in for nightly and libFuzzer."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import ROOT, SCRIPTS, base_env, run

# `cargo +nightly fuzz run T DIR... -- OPTIONS` writes a libFuzzer-like log: a status line,
# then either the end of a full run or, for the targets in $FAIL, a crash without "Done".
CARGO = r"""#!/bin/bash
echo "cargo $*" >> "$HOME/calls"
case "$1 $2 $3" in
  "fuzz --version "*) echo "cargo-fuzz 0.13.2" ;;
  "+nightly fuzz build") ;;
  "+nightly fuzz run")
    t=$4
    echo "#4096  pulse  cov: 10 ft: 20 corp: 5/100b lim: 4 exec/s: 2048 rss: 40Mb"
    echo "#8192  pulse  cov: 10 ft: 20 corp: 5/100b lim: 4 exec/s: 4096 rss: 40Mb"
    if [[ " $FAIL " == *" $t "* ]]; then
      echo "thread '<unnamed>' panicked: a property failed"
      echo "stat::number_of_executed_units: 9000"
      exit 77
    fi
    echo "stat::number_of_executed_units: 600000"
    echo "Done 600000 runs in 60 second(s)"
    ;;
  *) exit 3 ;;
esac
"""


@pytest.fixture
def fuzz(tmp_path):
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / "scripts").mkdir(parents=True)
    (repo / "fuzz" / "regressions" / "conditionals").mkdir(parents=True)
    shutil.copy(SCRIPTS / "fuzz.sh", repo / "scripts" / "fuzz.sh")
    shutil.copy(ROOT / "fuzz" / "Cargo.toml", repo / "fuzz" / "Cargo.toml")
    bin_ = home / ".cargo" / "bin"
    bin_.mkdir(parents=True)
    for name, body in {"cargo": CARGO, "rustup": "#!/bin/sh\necho nightly-x86_64-unknown-linux-gnu\n"}.items():
        (bin_ / name).write_text(body)
        (bin_ / name).chmod(0o755)

    def go(**extra: str):
        env = base_env(HOME=str(home), **extra)
        env["PATH"] = f"{bin_}:{env['PATH']}"
        r = run([repo / "scripts" / "fuzz.sh"], env=env)
        calls = (home / "calls").read_text() if (home / "calls").exists() else ""
        rows = {m[0]: m[1:] for m in re.findall(r"^(\w+) +(\S+) +(\S+)  (.*)$", r.stdout, re.M)}
        return r, rows, calls

    return go


def manifest_targets() -> list[str]:
    return re.findall(r'\[\[bin\]\]\nname = "(\w+)"', (ROOT / "fuzz" / "Cargo.toml").read_text())


def test_every_target_gets_a_row_with_runs_and_runs_per_second(fuzz):
    targets = manifest_targets()
    assert {"sigv4_canonical", "jwt", "backend_listing", "catalogue", "upstream_answer", "conditionals"} <= set(targets)
    r, rows, calls = fuzz(FUZZ_SECONDS="60")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(rows) == ["target", *targets]
    for t in targets:
        assert rows[t] == ("600000", "10000", "ok"), t
        assert f"+nightly fuzz run {t} work/{t} corpus/{t}" in calls
    assert calls.count("-max_total_time=60 ") == len(targets)


def test_a_failing_target_is_reported_with_its_own_rate_and_the_rest_still_run(fuzz):
    r, rows, _ = fuzz(FUZZ_SECONDS="60", FUZZ_TARGETS="jws conditionals percent", FAIL="conditionals")
    assert r.returncode == 1
    assert list(rows) == ["target", "jws", "conditionals", "percent"]
    runs, rate, result = rows["conditionals"]
    # Not 9000 / 60: the run stopped early, at 4096 runs/s.
    assert (runs, rate) == ("9000", "4096")
    assert result.startswith("FAILED: see fuzz/work/conditionals.log")
    assert rows["percent"] == ("600000", "10000", "ok")


def test_regression_inputs_are_fuzzed_from_too(fuzz):
    _, _, calls = fuzz(FUZZ_TARGETS="conditionals jws")
    assert "run conditionals work/conditionals corpus/conditionals regressions/conditionals --" in calls
    assert "run jws work/jws corpus/jws --" in calls
    assert "-max_total_time=180 " in calls


def test_seconds_must_be_a_whole_number(fuzz):
    r, rows, calls = fuzz(FUZZ_SECONDS="1m")
    assert r.returncode == 2 and "FUZZ_SECONDS must be a whole number" in r.stderr
    assert "fuzz run" not in calls
