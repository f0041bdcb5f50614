"""Shared helpers for the tooling tests: the repository's shell scripts, run in a clean
environment so nothing from the developer's shell (or CI's secrets) leaks in."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"
BUNDLE = ROOT / "build" / "index.js"
ADVISORY_DB = (ROOT / ".." / "shared" / "advisory-db").resolve()


def base_env(**extra: str) -> dict[str, str]:
    """PATH and HOME only, plus `extra`: no secret from the caller's environment."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "LANG": "C.UTF-8", "WRANGLER_SEND_METRICS": "false"}
    env.update(extra)
    return env


def run(args: list[str | Path], env: dict[str, str] | None = None, timeout: float = 120,
        **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], env=env if env is not None else base_env(),
                          capture_output=True, text=True, timeout=timeout, **kw)


def cargo_audit() -> str | None:
    found = shutil.which("cargo-audit") or shutil.which("cargo-audit", path=str(Path.home() / ".cargo" / "bin"))
    return found


needs_wrangler_and_bundle = pytest.mark.skipif(
    not (WRANGLER.exists() and BUNDLE.exists()),
    reason="needs node_modules (scripts/setup.sh) and build/ (make build)")
