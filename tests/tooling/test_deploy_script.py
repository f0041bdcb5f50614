"""scripts/deploy.sh: one atomic `wrangler deploy --secrets-file`, then stale secrets are
deleted. A fake wrangler records what it is asked; the real pinned wrangler checks the
dry run (bundle, environment, secrets file) without any network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import BUNDLE, ROOT, base_env, needs_wrangler_and_bundle, run

SCRIPT = ROOT / "scripts" / "deploy.sh"
REQUIRED = {"OIDC_PROVIDER_KEY": "MARKER-PEM", "SESSION_TOKEN_KEY": "MARKER-SESSION"}

pytestmark = pytest.mark.skipif(not BUNDLE.exists(), reason="needs build/ (make build)")

FAKE = r"""#!/usr/bin/env python3
import json, os, sys
from pathlib import Path
state = Path(os.environ["FAKE_STATE"])
args = sys.argv[1:]
call = {"args": args, "env_markers": sorted(k for k, v in os.environ.items() if "MARKER" in v)}
if args[:1] == ["deploy"] and "--secrets-file" in args:
    f = Path(args[args.index("--secrets-file") + 1])
    call["secrets"] = json.loads(f.read_text())
    call["secrets_mode"] = oct(f.stat().st_mode & 0o777)
    call["secrets_path"] = str(f)
with (state / "calls.jsonl").open("a") as log:
    log.write(json.dumps(call) + "\n")
if args[:2] == ["secret", "list"]:
    print(json.dumps([{"name": n, "type": "secret_text"} for n in json.loads(os.environ["FAKE_EXISTING"])]))
if os.environ.get("FAKE_FAIL") == args[0]:
    sys.exit(1)
"""


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "wrangler"
    script.write_text(FAKE)
    script.chmod(0o755)

    def deploy(env_name: str, existing: list[str], **env: str):
        r = run([SCRIPT, env_name], env=base_env(WRANGLER=str(script), FAKE_STATE=str(tmp_path),
                                                 FAKE_EXISTING=json.dumps(existing), **env))
        log = tmp_path / "calls.jsonl"
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return r, calls
    return deploy


def test_deploys_code_vars_and_secrets_as_one_version_then_deletes_stale_secrets(fake):
    existing = ["OIDC_PROVIDER_KEY", "SESSION_TOKEN_KEY", "OIDC_PROVIDER_KEY_PREVIOUS", "HAND_PUT"]
    r, calls = fake("staging", existing, **REQUIRED, SESSION_TOKEN_KEY_PREVIOUS="MARKER-OLD",
                    BACKEND_SECRET_NAMES="R2_SECRET", R2_SECRET="MARKER-R2")
    assert r.returncode == 0, r.stderr
    assert [c["args"][:3] for c in calls] == [
        ["deploy", "--env", "staging"],
        ["secret", "list", "--env"],
        ["secret", "delete", "OIDC_PROVIDER_KEY_PREVIOUS"],
        ["secret", "delete", "HAND_PUT"],
    ]
    deploy = calls[0]
    assert deploy["secrets"] == {**REQUIRED, "SESSION_TOKEN_KEY_PREVIOUS": "MARKER-OLD", "R2_SECRET": "MARKER-R2"}
    assert deploy["secrets_mode"] == "0o600"
    assert all(c["args"][-2:] == ["--env", "staging"] for c in calls[2:])
    # wrangler never sees a secret value in its environment; the file is gone afterwards.
    assert all(c["env_markers"] == [] for c in calls)
    assert not Path(deploy["secrets_path"]).exists()
    assert "MARKER" not in r.stdout + r.stderr


def test_nothing_is_deleted_when_the_worker_holds_only_what_github_has(fake):
    r, calls = fake("production", list(REQUIRED), **REQUIRED)
    assert r.returncode == 0, r.stderr
    assert [c["args"][:2] for c in calls] == [["deploy", "--env"], ["secret", "list"]]


def test_a_missing_required_secret_stops_before_wrangler_runs(fake):
    r, calls = fake("staging", [], OIDC_PROVIDER_KEY="MARKER-PEM")
    assert r.returncode == 1
    assert "required secret SESSION_TOKEN_KEY is empty or unset" in r.stderr
    assert calls == []


def test_an_unknown_environment_is_refused(fake):
    r, calls = fake("prod", [], **REQUIRED)
    assert r.returncode == 1
    assert "no [env.prod] in wrangler.toml" in r.stderr
    assert calls == []


def test_a_failed_deploy_deletes_nothing(fake):
    r, calls = fake("staging", ["OLD"], **REQUIRED, FAKE_FAIL="deploy")
    assert r.returncode != 0
    assert [c["args"][0] for c in calls] == ["deploy"]
    assert not Path(calls[0]["secrets_path"]).exists()


@needs_wrangler_and_bundle
@pytest.mark.parametrize("env_name", ["preview", "staging", "production"])
def test_the_pinned_wrangler_accepts_the_environment_and_the_secrets_file(env_name):
    r = run([SCRIPT, "--dry-run", env_name],
            env=base_env(**REQUIRED, OIDC_PROVIDER_KEY_PREVIOUS="MARKER-PREV",
                         BACKEND_SECRET_NAMES="R2_SECRET", R2_SECRET="MARKER-R2"))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    for name in ("OIDC_PROVIDER_KEY", "SESSION_TOKEN_KEY", "OIDC_PROVIDER_KEY_PREVIOUS", "R2_SECRET"):
        assert f'env.{name} ("(hidden)")' in out
    assert "env.OIDC_PROVIDER_ISSUER (\"https://" in out
    assert f"dry run for {env_name} passed" in out
    assert "MARKER" not in out + r.stderr
