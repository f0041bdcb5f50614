"""scripts/keys.sh and `make keys`: a new RSA-2048 PKCS#8 key with a new kid and a new
32-byte session key, printed only: nothing is written into the repository or anywhere."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import ROOT, base_env, run
from test_kids import expected_suffix

SCRIPT = ROOT / "scripts" / "keys.sh"
KID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def sections(text: str) -> dict[str, str]:
    """The readable output's `## NAME ...` sections, by name."""
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line.split()[1]
            out[name] = ""
        elif name and line and not line.startswith("#"):
            out[name] += line + "\n"
    return {k: v.strip() for k, v in out.items()}


def check(kid: str, pem: str, session: str, prefix: str = "") -> None:
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert KID.match(kid) and kid.startswith(f"{prefix}{today}-jkt"), kid
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, what the Worker requires
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert kid.endswith("-" + expected_suffix(key))  # the kid names this key's thumbprint
    assert len(base64.b64decode(session, validate=True)) == 32


def test_readable_output_has_kid_key_and_session_key_and_how_to_store_them():
    r = run([SCRIPT, "staging"])
    assert r.returncode == 0, r.stderr
    s = sections(r.stdout)
    check(s["OIDC_PROVIDER_KID"], s["OIDC_PROVIDER_KEY"], s["SESSION_TOKEN_KEY"], prefix="staging-")
    assert "gh secret set OIDC_PROVIDER_KEY --env staging" in r.stdout
    assert "gh secret set SESSION_TOKEN_KEY --env staging" in r.stdout
    assert "[env.staging.vars]" in r.stdout


def test_json_output_and_every_run_is_new():
    docs = []
    for _ in range(2):
        r = run([SCRIPT, "--json"])
        assert r.returncode == 0, r.stderr
        docs.append(json.loads(r.stdout))
    for d in docs:
        assert set(d) == {"OIDC_PROVIDER_KID", "OIDC_PROVIDER_KEY", "SESSION_TOKEN_KEY"}
        check(d["OIDC_PROVIDER_KID"], d["OIDC_PROVIDER_KEY"], d["SESSION_TOKEN_KEY"])
    for name in docs[0]:
        assert docs[0][name] != docs[1][name], name


def test_nothing_is_written_anywhere(tmp_path):
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    status = ["git", "-C", str(ROOT), "status", "--porcelain", "--ignored", "--untracked-files=all",
              "--", ".", ":!target", ":!node_modules", ":!.venv", ":!build", ":!tests/tooling",
              ":!tests/e2e"]
    before = subprocess.run(status, capture_output=True, text=True, check=True).stdout
    for args in ([SCRIPT, "production"], [SCRIPT, "--json", "preview"]):
        r = run(args, env=base_env(HOME=str(home), TMPDIR=str(scratch)), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    after = subprocess.run(status, capture_output=True, text=True, check=True).stdout
    assert before == after
    assert list(home.iterdir()) == [] and list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "tmp"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_no_file_is_opened_for_writing(tmp_path):
    """Stronger than looking at directories afterwards: every write-open, rename, unlink or
    mkdir the script and its children attempt, anywhere."""
    trace = tmp_path / "trace"
    r = run(["strace", "-f", "-qq", "-o", trace, "-e",
             "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,link,symlink",
             SCRIPT, "--json", "production"])
    if r.returncode != 0 and "ptrace" in r.stderr:
        pytest.skip(f"strace cannot trace here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    writes = [line for line in trace.read_text().splitlines()
              if re.search(r"O_WRONLY|O_RDWR|O_CREAT|mkdir|rename|unlink|link\(", line)
              and '"/dev/null"' not in line and '"/dev/tty"' not in line]
    assert writes == []


@pytest.mark.parametrize("args", [["a b"], ["--bogus"], ["x", "y"], ["bad/env"]])
def test_bad_arguments_are_refused(args):
    r = run([SCRIPT, *args])
    assert r.returncode == 2
    assert r.stdout == ""


def test_make_keys_prints_them():
    r = run(["make", "-s", "keys", "ENVIRONMENT=preview"], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    s = sections(r.stdout)
    check(s["OIDC_PROVIDER_KID"], s["OIDC_PROVIDER_KEY"], s["SESSION_TOKEN_KEY"], prefix="preview-")
