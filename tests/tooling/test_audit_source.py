"""scripts/audit.sh: `cargo audit` runs against the live advisory database when it is
reachable, else against the snapshot, and says which; it is skipped, with the true reason,
only when neither is there. A fake probe and a fake cargo stand in for the network and
cargo-audit."""

from __future__ import annotations

import time

from conftest import SCRIPTS, base_env, run

AUDIT = SCRIPTS / "audit.sh"
URL = "https://github.com/RustSec/advisory-db.git"


def audit(tmp_path, *args: str, reachable: bool, snapshot: bool):
    snap = tmp_path / "advisory-db"
    if snapshot:
        snap.mkdir(exist_ok=True)
    env = base_env(AUDIT_PROBE="true" if reachable else "false", AUDIT_SNAPSHOT=str(snap),
                   AUDIT_CARGO="echo fake-cargo")
    return run([AUDIT, *args], env=env), snap


def test_live_database_is_used_when_reachable_even_with_a_snapshot(tmp_path):
    decided, _ = audit(tmp_path, "--decide", reachable=True, snapshot=True)
    assert decided.stdout.strip() == "live"
    ran, _ = audit(tmp_path, reachable=True, snapshot=True)
    assert ran.returncode == 0, ran.stderr
    assert "against the live RustSec advisory database" in ran.stdout
    assert "fake-cargo audit\n" in ran.stdout  # cargo-audit fetches it: no --db, no --no-fetch


def test_snapshot_is_used_without_network_and_named(tmp_path):
    decided, snap = audit(tmp_path, "--decide", reachable=False, snapshot=True)
    assert decided.stdout.strip() == f"snapshot {snap}"
    ran, _ = audit(tmp_path, reachable=False, snapshot=True)
    assert ran.returncode == 0, ran.stderr
    assert f"snapshot at {snap}" in ran.stdout
    assert f"fake-cargo audit --db {snap} --no-fetch" in ran.stdout


def test_skipped_only_without_network_and_snapshot_with_both_reasons(tmp_path):
    decided, snap = audit(tmp_path, "--decide", reachable=False, snapshot=False)
    assert decided.stdout.startswith("skip ")
    ran, _ = audit(tmp_path, reachable=False, snapshot=False)
    assert ran.returncode == 0, ran.stderr
    assert "SKIPPED" in ran.stdout and "fake-cargo" not in ran.stdout
    assert f"{URL} is not reachable" in ran.stdout and f"no snapshot at {snap}" in ran.stdout
    assert "cannot fetch" not in ran.stdout


def test_default_probe_asks_the_repository_cargo_audit_uses_and_gives_up_quickly(tmp_path):
    assert URL in AUDIT.read_text()
    start = time.monotonic()
    r = run([AUDIT, "--decide"], env=base_env(AUDIT_SNAPSHOT=str(tmp_path / "none")), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] in {"live", "skip"}
    assert time.monotonic() - start < 15

