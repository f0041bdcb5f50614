"""scripts/build.sh skips the cargo build and the wasm-opt pass (worker-build) when nothing
they read has changed since the last build of that bundle, and rebuilds when something
has. Runs the real script in a scratch tree whose tools are fakes that log each call."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import SCRIPTS, base_env, run

FAKE_WORKER_BUILD = """#!/bin/sh
if [ "$1" = --version ]; then echo "worker-build ${FAKE_WB_VERSION:-0.8.7}"; exit 0; fi
echo "$*" >> "$BUILD_LOG"
while [ $# -gt 0 ]; do [ "$1" = --out-dir ] && out=$2; shift; done
mkdir -p "$out" && echo js > "$out/index.js" && echo wasm > "$out/index_bg.wasm"
"""


def fake(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)


@pytest.fixture
def tree(tmp_path):
    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPTS / "build.sh", repo / "scripts" / "build.sh")
    (repo / "Cargo.toml").write_text("[package]\n")
    (repo / "Cargo.lock").write_text("version = 4\n")
    (repo / "src").mkdir()
    (repo / "src" / "lib.rs").write_text("// v1\n")
    bin_ = home / ".cargo" / "bin"
    fake(bin_ / "worker-build", FAKE_WORKER_BUILD)
    fake(bin_ / "wasm-bindgen", "#!/bin/sh\necho wasm-bindgen 0.2.130\n")
    fake(bin_ / "rustc", "#!/bin/sh\necho rustc 1.90.0\n")
    for tool in ("wasm-opt", "esbuild"):
        fake(repo / "node_modules" / ".bin" / tool, f"#!/bin/sh\necho {tool} 1\n")
    log = tmp_path / "calls"
    env = base_env(HOME=str(home), BUILD_LOG=str(log))

    def build(*args: str, **extra: str):
        r = run([repo / "scripts" / "build.sh", *args], env={**env, **extra})
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    def builds() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    return repo, build, builds


def test_second_build_without_changes_skips_worker_build(tree):
    repo, build, builds = tree
    build("--e2e")
    second = build("--e2e")
    assert builds() == 1
    assert "up to date" in second.stdout
    assert (repo / "build-e2e.stamp").is_file()  # beside the output dir, not in it


def test_a_source_change_rebuilds(tree):
    repo, build, builds = tree
    build("--e2e")
    (repo / "src" / "lib.rs").write_text("// v2\n")
    build("--e2e")
    assert builds() == 2
    (repo / "src" / "new.rs").write_text("// a new module\n")
    build("--e2e")
    assert builds() == 3


def test_lockfile_flags_and_tool_versions_are_inputs(tree):
    repo, build, builds = tree
    build("--e2e")
    (repo / "Cargo.lock").write_text("version = 4\n# changed\n")
    build("--e2e")
    assert builds() == 2
    build("--e2e", RUSTFLAGS="-C opt-level=s")
    assert builds() == 3
    build("--e2e", RUSTFLAGS="-C opt-level=s", FAKE_WB_VERSION="0.8.8")
    assert builds() == 4
    build("--e2e", RUSTFLAGS="-C opt-level=s", FAKE_WB_VERSION="0.8.8")
    assert builds() == 4


def test_each_bundle_has_its_own_stamp(tree):
    repo, build, builds = tree
    build("--e2e")
    build()
    assert builds() == 2  # the release bundle is not the e2e one
    build()
    build("--e2e")
    assert builds() == 2


def test_a_changed_or_missing_bundle_is_rebuilt(tree):
    repo, build, builds = tree
    build("--e2e")
    (repo / "build-e2e" / "index_bg.wasm").write_text("edited by hand\n")
    build("--e2e")
    assert builds() == 2
    (repo / "build-e2e" / "index.js").unlink()
    build("--e2e")
    assert builds() == 3
    build("--e2e", BUILD_FORCE="1")
    assert builds() == 4
