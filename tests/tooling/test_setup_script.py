"""scripts/setup.sh: `make dev` (--dev) leaves the AWS CLI in .venv, a build-only setup does
not; cargo-audit is compiled only when the audit will run; every compile is announced as a
one-time install with how long it takes; the end-to-end setup installs Debian's chromium
(never a downloaded browser) when it is missing, in the one apt-get of rclone and GDAL. The
real script in a scratch tree, fake tools (apt-get and sudo record their calls)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, SCRIPTS, base_env, run

FAKES = {
    "rustup": "echo wasm32-unknown-unknown",
    "worker-build": 'if [ -e "$HOME/wb" ]; then echo "worker-build 0.8.7"; else exit 1; fi',
    "wasm-bindgen": "echo wasm-bindgen 0.2.130",
    "cargo": 'if [ "$1" = audit ]; then exit 1; fi; echo "cargo $*" >> "$HOME/calls"; touch "$HOME/wb"',
    "npm": "mkdir -p node_modules/.bin && touch node_modules/.bin/wrangler && chmod +x node_modules/.bin/wrangler",
    "python3": 'mkdir -p .venv/bin && printf "#!/bin/sh\\ntouch .venv/bin/aws; chmod +x .venv/bin/aws\\n" > .venv/bin/pip && chmod +x .venv/bin/pip',
    "rclone": "true",
    "ogrinfo": "true",
    # Not root, with sudo: apt-get runs through it.
    "id": 'if [ "$1" = -u ]; then echo 1000; else /usr/bin/id "$@"; fi',
    "sudo": 'echo "sudo $*" >> "$HOME/calls"; exec "$@"',
    "apt-get": 'echo "apt-get $*" >> "$HOME/calls"',
}


@pytest.fixture
def setup(tmp_path):
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / "scripts").mkdir(parents=True)
    (repo / "tests" / "e2e").mkdir(parents=True)
    for name in ("setup.sh", "audit.sh"):
        shutil.copy(SCRIPTS / name, repo / "scripts" / name)
    (repo / "Cargo.lock").write_text('[[package]]\nname = "wasm-bindgen"\nversion = "0.2.130"\n')
    (repo / "package-lock.json").write_text("{}\n")
    shutil.copy(ROOT / "tests" / "e2e" / "requirements.txt", repo / "tests" / "e2e" / "requirements.txt")
    bin_ = home / ".cargo" / "bin"
    bin_.mkdir(parents=True)
    for name, body in FAKES.items():
        (bin_ / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / name).chmod(0o755)
    chromium = tmp_path / "chromium"  # present unless a test points CHROMIUM elsewhere
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)

    def go(*args: str, **extra: str):
        extra.setdefault("CHROMIUM", str(chromium))
        env = base_env(HOME=str(home), AUDIT_SNAPSHOT=str(tmp_path / "no-snapshot"), **extra)
        env["PATH"] = f"{bin_}:{env['PATH']}"  # the fakes first
        r = run([repo / "scripts" / "setup.sh", *args], env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        calls = (home / "calls").read_text() if (home / "calls").exists() else ""
        return r.stdout, calls

    return repo, go


def test_dev_setup_leaves_the_aws_cli_and_a_build_setup_does_not(setup):
    repo, go = setup
    go()
    assert not (repo / ".venv").exists()
    out, _ = go("--dev")
    assert (repo / ".venv" / "bin" / "aws").exists()
    assert "one-time install: .venv" in out


def test_compiled_tools_are_announced_as_one_time_installs_with_their_time(setup):
    _, go = setup
    out, calls = go()
    assert "cargo install worker-build" in calls
    line = next(l for l in out.splitlines() if "worker-build" in l)
    assert "one-time install" in line and "min" in line
    again, calls_again = go()
    assert "worker-build" not in again and calls_again == calls


def test_cargo_audit_is_not_compiled_when_the_audit_would_be_skipped(setup):
    _, go = setup
    out, calls = go("--e2e", AUDIT_PROBE="false")
    assert "cargo-audit" not in calls
    assert "not installing cargo-audit" in out and "no snapshot" in out


def test_cargo_audit_is_compiled_when_the_live_database_is_reachable(setup):
    _, go = setup
    out, calls = go("--e2e", AUDIT_PROBE="true")
    assert "cargo install cargo-audit --locked" in calls
    line = next(l for l in out.splitlines() if "cargo-audit" in l)
    assert "one-time install" in line and "live" in line and "min" in line


def apt_calls(calls: str) -> list[str]:
    return [line for line in calls.splitlines() if line.startswith("apt-get")]


def test_e2e_setup_installs_debians_chromium_when_it_is_missing(setup, tmp_path):
    _, go = setup
    out, calls = go("--e2e", AUDIT_PROBE="false", CHROMIUM=str(tmp_path / "no-chromium"))
    assert "installing chromium (Debian packages" in out
    assert apt_calls(calls) == ["apt-get update -qq", "apt-get install -y -qq --no-install-recommends chromium"]
    assert "sudo apt-get install -y -qq --no-install-recommends chromium" in calls  # not root: through sudo


def path_without(tmp_path, *missing: str) -> str:
    """This PATH with `missing` gone: one folder of links to every other program on it."""
    only = tmp_path / "path-without"
    only.mkdir()
    for folder in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = os.path.join(folder, name)
            if name not in missing and not (only / name).exists() and os.access(target, os.X_OK):
                (only / name).symlink_to(target)
    return str(only)


def test_chromium_rclone_and_gdal_share_one_apt_get_update_and_install(setup, tmp_path):
    _, go = setup
    for tool in ("rclone", "ogrinfo"):
        (tmp_path / "home" / ".cargo" / "bin" / tool).unlink()
    _, calls = go("--e2e", AUDIT_PROBE="false", CHROMIUM=str(tmp_path / "no-chromium"),
                  PATH=path_without(tmp_path, "rclone", "ogrinfo"))
    assert apt_calls(calls) == ["apt-get update -qq",
                                "apt-get install -y -qq --no-install-recommends rclone gdal-bin chromium"]


def test_a_present_chromium_or_a_setup_without_e2e_installs_no_debian_package(setup, tmp_path):
    _, go = setup
    _, calls = go("--e2e", AUDIT_PROBE="false")
    assert apt_calls(calls) == []
    _, calls = go("--dev", CHROMIUM=str(tmp_path / "no-chromium"))
    assert apt_calls(calls) == []


def test_the_browser_comes_from_debian_never_from_a_playwright_download():
    """playwright-core (no browser download at install) rather than playwright, and no script
    runs `playwright install`."""
    dev = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    assert "playwright-core" in dev and "playwright" not in dev and "@playwright/test" not in dev
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert not any(p.endswith("node_modules/playwright") for p in lock)
    for script in (ROOT / "scripts").iterdir():
        assert "playwright install" not in script.read_text(), script
    assert "'/usr/bin/chromium'" in (ROOT / "tests" / "e2e" / "node" / "browser.mjs").read_text()
