"""scripts/smoke.sh, the deploy workflow's last step, against the real Worker in workerd."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from workerd import ROOT

SMOKE = ROOT / "scripts" / "smoke.sh"


def smoke(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "SMOKE_TIMEOUT": "0", "SMOKE_INTERVAL": "0.2"}
    return subprocess.run([str(SMOKE), *args], env=env, capture_output=True, text=True, timeout=60)


def test_smoke_passes_against_the_worker_with_its_active_and_previous_kids(provider, active_key, previous_key):
    r = smoke(provider.url, active_key.kid, previous_key.kid)
    assert r.returncode == 0, r.stderr
    assert f"active kid {active_key.kid} and previous kid {previous_key.kid}" in r.stdout


def test_smoke_fails_when_the_deployed_kid_is_not_the_expected_one(provider, active_key, previous_key):
    # What a rotation looks like when wrangler.toml and the GitHub secret disagree.
    r = smoke(provider.url, previous_key.kid)
    assert r.returncode == 1
    assert f'the first (active) key is not RSA kid "{previous_key.kid}"' in r.stderr
    assert active_key.kid in r.stderr  # names what is served


def test_smoke_fails_when_the_url_is_not_the_issuer(provider, active_key):
    # Same Worker, reached under another origin: discovery names a different issuer.
    if "127.0.0.1" not in {a[4][0] for a in socket.getaddrinfo("localhost", None)}:
        pytest.skip("localhost does not resolve to 127.0.0.1 here")
    other = provider.url.replace("127.0.0.1", "localhost")
    r = smoke(other, active_key.kid)
    assert r.returncode == 1
    assert f'issuer is "{provider.url}"' in r.stderr
