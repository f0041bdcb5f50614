"""scripts/deploy-secrets.sh: the JSON it would upload for given environment variables,
and its refusals. Everything here is offline; no value may reach a command line."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conftest import ROOT, base_env, run

SCRIPT = ROOT / "scripts" / "deploy-secrets.sh"
PEM = "-----BEGIN PRIVATE KEY-----\nMARKER-PEM-LINE-1\nMARKER-PEM-LINE-2\n-----END PRIVATE KEY-----\n"
REQUIRED = {"OIDC_PROVIDER_KEY": PEM, "SESSION_TOKEN_KEY": "MARKER-SESSION-KEY-AAAAAAAAAAAAAAAAAAAAAAAAA="}


def assemble(*args: str, **env: str):
    return run([SCRIPT, *args], env=base_env(**env))


def printed(**env: str) -> dict:
    r = assemble("--print", **env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_required_secrets_only_give_exactly_those_two():
    assert printed(**REQUIRED) == REQUIRED


def test_optional_secrets_are_included_only_when_set():
    doc = printed(**REQUIRED, OIDC_PROVIDER_KEY_PREVIOUS=PEM.replace("MARKER", "OLD"),
                  SESSION_TOKEN_KEY_PREVIOUS="")
    assert doc == {**REQUIRED, "OIDC_PROVIDER_KEY_PREVIOUS": PEM.replace("MARKER", "OLD")}
    doc = printed(**REQUIRED, SESSION_TOKEN_KEY_PREVIOUS="old-session")
    assert doc == {**REQUIRED, "SESSION_TOKEN_KEY_PREVIOUS": "old-session"}


def test_backend_secrets_come_from_the_listed_names_env_first_then_the_json(capfd):
    secrets_json = json.dumps({"R2_SECRET": "from-json", "S3_SECRET": "s3-from-json",
                               "UNLISTED": "never", "github_token": "ghs_never"})
    r = assemble("--print", **REQUIRED, BACKEND_SECRET_NAMES=" R2_SECRET, S3_SECRET\tMISSING_ONE ",
                 R2_SECRET="from-env", DEPLOY_SECRETS_JSON=secrets_json, GITHUB_ACTIONS="true")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {**REQUIRED, "R2_SECRET": "from-env", "S3_SECRET": "s3-from-json"}
    # A listed but unset one is optional, so skipped, but called out (and annotated in Actions).
    assert "MISSING_ONE is listed in BACKEND_SECRET_NAMES but unset" in r.stderr
    assert "::warning" in r.stderr
    assert "never" not in r.stdout and "ghs_" not in r.stdout


def test_required_secrets_may_come_from_the_json_too():
    r = assemble("--print", DEPLOY_SECRETS_JSON=json.dumps(REQUIRED))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == REQUIRED


def test_values_are_carried_byte_for_byte_and_never_evaluated(tmp_path):
    canary = tmp_path / "pwned"
    nasty = (f'$(touch {canary}) `touch {canary}` ${{HOME}} "quoted" \'single\' back\\slash '
             "tab\there\nnewline ünïcødé 🔑 \\n {\"json\": true} ; | & < >")
    doc = printed(OIDC_PROVIDER_KEY=PEM, SESSION_TOKEN_KEY=nasty)
    assert doc["SESSION_TOKEN_KEY"] == nasty
    assert doc["OIDC_PROVIDER_KEY"] == PEM  # newlines intact
    assert not canary.exists()


def test_secret_values_never_appear_on_any_command_line(tmp_path):
    # A jq in front of the real one records every argument vector it is given.
    shim = tmp_path / "bin"
    shim.mkdir()
    log = tmp_path / "argv.log"
    real_jq = next(Path(p) / "jq" for p in os.environ["PATH"].split(":") if (Path(p) / "jq").exists())
    (shim / "jq").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real_jq}" "$@"\n')
    (shim / "jq").chmod(0o755)
    env = base_env(**REQUIRED, OIDC_PROVIDER_KEY_PREVIOUS="MARKER-PREVIOUS", BACKEND_SECRET_NAMES="B",
                   B="MARKER-BACKEND", DEPLOY_SECRETS_JSON='{"C": "MARKER-JSON"}')
    env["PATH"] = f"{shim}:{env['PATH']}"
    for mode in (["--print"], ["--dry-run"], ["--out", str(tmp_path / "s.json")]):
        r = run([SCRIPT, *mode], env=env)
        assert r.returncode == 0, r.stderr
    argv = log.read_text()
    assert argv, "the jq shim was not used"
    assert "MARKER" not in argv


@pytest.mark.parametrize("missing", ["OIDC_PROVIDER_KEY", "SESSION_TOKEN_KEY"])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_an_empty_required_secret_fails_loudly_and_writes_nothing(tmp_path, missing, how):
    env = dict(REQUIRED)
    if how == "unset":
        del env[missing]
    else:
        env[missing] = ""
    out = tmp_path / "secrets.json"
    for mode in (["--print"], ["--out", str(out)], ["--dry-run"]):
        r = assemble(*mode, **env)
        assert r.returncode == 1
        assert r.stdout == ""
        assert f"required secret {missing} is empty or unset" in r.stderr
        assert "nothing was written or uploaded" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("names, complaint", [
    ("bad-name", '"bad-name" is not a valid secret name'),
    ("1ABC", '"1ABC" is not a valid secret name'),
    ("OIDC_PROVIDER_KEY_PREVIOUS", "is managed already"),
    ("CLOUDFLARE_API_TOKEN", "is a deploy credential"),
    ("github_token", "is a deploy credential"),
])
def test_bad_backend_secret_names_are_refused(names, complaint):
    r = assemble("--print", **REQUIRED, BACKEND_SECRET_NAMES=names, CLOUDFLARE_API_TOKEN="MARKER-CF")
    assert r.returncode == 1
    assert complaint in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", '"a string"'])
def test_a_malformed_secrets_json_is_refused(value):
    r = assemble("--print", **REQUIRED, DEPLOY_SECRETS_JSON=value)
    assert r.returncode == 1
    assert "DEPLOY_SECRETS_JSON is not a JSON object" in r.stderr


def test_dry_run_lists_names_and_never_values():
    r = assemble("--dry-run", **REQUIRED, SESSION_TOKEN_KEY_PREVIOUS="MARKER-OLD",
                 BACKEND_SECRET_NAMES="R2_SECRET,NOT_SET", R2_SECRET="MARKER-R2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "  upload  OIDC_PROVIDER_KEY (%d characters)" % len(PEM) in lines
    assert "  upload  SESSION_TOKEN_KEY_PREVIOUS (10 characters)" in lines
    assert "  skip    OIDC_PROVIDER_KEY_PREVIOUS (unset)" in lines
    assert "  upload  R2_SECRET (9 characters)" in lines
    assert "  skip    NOT_SET (unset)" in lines
    assert "MARKER" not in r.stdout + r.stderr


def test_out_writes_a_private_file(tmp_path):
    out = tmp_path / "secrets.json"
    out.write_text("stale, world-readable")
    out.chmod(0o644)
    r = assemble("--out", str(out), **REQUIRED)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text()) == REQUIRED


@pytest.mark.parametrize("args", [[], ["--bogus"], ["--out"], ["--print", "extra"]])
def test_usage_errors(args):
    r = assemble(*args, **REQUIRED)
    assert r.returncode == 2
    assert "Usage" in r.stderr
