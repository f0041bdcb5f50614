"""audit.toml: cargo-audit really reads it (through .cargo/audit.toml), every ignore is
still needed and explains itself, and its `deny` setting is in effect."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from conftest import ADVISORY_DB, ROOT, base_env, cargo_audit, run

AUDIT_TOML = ROOT / "audit.toml"
CONFIG = tomllib.loads(AUDIT_TOML.read_text())
IGNORES = CONFIG["advisories"]["ignore"]

needs_audit = pytest.mark.skipif(
    cargo_audit() is None or not ADVISORY_DB.is_dir(),
    reason="needs cargo-audit (scripts/setup.sh --e2e) and the advisory snapshot at ../shared/advisory-db")


def audit(cwd: Path, *extra: str):
    env = base_env()
    env["PATH"] = f"{Path.home() / '.cargo' / 'bin'}:{env['PATH']}"
    return run(["cargo", "audit", "--db", ADVISORY_DB, "--no-fetch", *extra], env=env, cwd=cwd)


def test_cargo_audit_reads_audit_toml_through_the_cargo_directory():
    link = ROOT / ".cargo" / "audit.toml"
    assert link.is_symlink() and link.resolve() == AUDIT_TOML.resolve()


def test_each_ignore_is_a_single_advisory_with_why_and_when_to_revisit():
    body = AUDIT_TOML.read_text().split("ignore = [", 1)[1].split("\n]", 1)[0]
    # The comment block that precedes each entry, back to the previous entry.
    blocks = re.findall(r'((?:\s*#[^\n]*\n)+)\s*"(RUSTSEC-[^"]*)",', body)
    assert [advisory for _, advisory in blocks] == IGNORES and IGNORES
    for comment, advisory in blocks:
        assert re.fullmatch(r"RUSTSEC-\d{4}-\d{4}", advisory), advisory
        assert advisory in comment, f"{advisory}: the comment above it must name it"
        assert "Why a deployment does not take it" in comment, advisory
        assert "Revisit" in comment, advisory
    assert "informational_warnings" not in CONFIG["advisories"]
    assert "severity_threshold" not in CONFIG["advisories"]


@needs_audit
def test_the_project_passes_with_audit_toml_in_effect():
    r = audit(ROOT, "--json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    report = json.loads(r.stdout)
    assert report["settings"]["ignore"] == IGNORES  # proof that this file is what cargo-audit read
    assert report["vulnerabilities"]["found"] is False


@needs_audit
def test_every_ignored_advisory_still_applies_without_the_config(tmp_path):
    """When an upgrade makes an ignore unnecessary, this fails: delete the entry."""
    shutil.copy(ROOT / "Cargo.lock", tmp_path / "Cargo.lock")
    r = audit(tmp_path, "--json")
    found = {v["advisory"]["id"] for v in json.loads(r.stdout)["vulnerabilities"]["list"]}
    for advisory in IGNORES:
        assert advisory in found, f"{advisory} no longer applies to Cargo.lock: remove it from audit.toml"


@needs_audit
def test_unsound_advisories_are_denied(tmp_path):
    # abomonation 0.7.3 carries the informational "unsound" advisory RUSTSEC-2021-0120.
    (tmp_path / "Cargo.lock").write_text(
        'version = 4\n\n[[package]]\nname = "abomonation"\nversion = "0.7.3"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n\n'
        '[[package]]\nname = "probe"\nversion = "0.1.0"\ndependencies = ["abomonation"]\n')
    without = audit(tmp_path, "--no-yanked")
    assert without.returncode == 0, without.stderr
    (tmp_path / ".cargo").mkdir()
    shutil.copy(AUDIT_TOML, tmp_path / ".cargo" / "audit.toml")
    with_config = audit(tmp_path, "--no-yanked")
    assert with_config.returncode != 0
    assert "RUSTSEC-2021-0120" in with_config.stdout and "denied" in with_config.stderr
