"""scripts/smoke.sh against a fake Worker on loopback: every failure it must catch, and the
retry that rides out a deploy still propagating. (tests/e2e/test_smoke_script.py runs it
against the real Worker in workerd.)"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ROOT, base_env, run

SCRIPT = ROOT / "scripts" / "smoke.sh"
N = "u" * 342  # a 2048-bit modulus is 342 base64url characters


def jwk(kid: str) -> dict:
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": N, "e": "AQAB"}


class Fake:
    def __init__(self):
        self.requests = 0
        self.features = {"oidc_provider": "enabled"}
        self.issuer = None  # default: the server's own URL
        self.kids_by_request = lambda n: ["new", "old"]
        self.jwks_status = 200

    def answer(self, path: str) -> tuple[int, object]:
        self.requests += 1
        if path == "/":
            return 200, {"name": "oidc-sts-proxy", "features": self.features}
        if path == "/.well-known/openid-configuration":
            iss = self.issuer or self.url
            return 200, {"issuer": iss, "jwks_uri": self.url + "/.well-known/jwks.json"}
        if path == "/.well-known/jwks.json":
            if self.jwks_status != 200:
                return self.jwks_status, {"error": "server_error", "error_description": "boom"}
            return 200, {"keys": [jwk(k) for k in self.kids_by_request(self.requests)]}
        return 404, {"error": "not_found"}


@pytest.fixture
def fake():
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = state.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def smoke(*args: str, timeout: int = 0):
    return run([SCRIPT, *args], env=base_env(SMOKE_TIMEOUT=str(timeout), SMOKE_INTERVAL="0.2"), timeout=60)


def test_passes_when_the_active_kid_is_served_first(fake):
    r = smoke(fake.url, "new")
    assert r.returncode == 0, r.stderr
    assert "smoke: ok" in r.stdout and "active kid new" in r.stdout


def test_passes_with_the_previous_kid_after_it_and_a_trailing_slash(fake):
    r = smoke(fake.url + "/", "new", "old")
    assert r.returncode == 0, r.stderr


def test_fails_when_the_active_kid_is_not_first(fake):
    r = smoke(fake.url, "old")
    assert r.returncode == 1
    assert 'the first (active) key is not RSA kid "old"; served kids: ["new","old"]' in r.stderr


def test_fails_when_the_expected_previous_kid_is_missing(fake):
    r = smoke(fake.url, "new", "older")
    assert r.returncode == 1
    assert 'previous kid "older" is not served' in r.stderr


def test_fails_when_the_issuer_is_not_the_url(fake):
    fake.issuer = "https://id.example.com"
    r = smoke(fake.url, "new")
    assert r.returncode == 1
    assert 'discovery: issuer is "https://id.example.com"' in r.stderr


def test_fails_when_the_provider_is_not_enabled(fake):
    fake.features = {"oidc_provider": "misconfigured"}
    r = smoke(fake.url, "new")
    assert r.returncode == 1
    assert "the OpenID provider is not enabled" in r.stderr


def test_fails_on_an_error_status_and_says_which(fake):
    fake.jwks_status = 500
    r = smoke(fake.url, "new")
    assert r.returncode == 1
    assert "/.well-known/jwks.json: HTTP 500" in r.stderr


def test_fails_when_nothing_listens():
    r = smoke("http://127.0.0.1:9", "new")
    assert r.returncode == 1
    assert "smoke: FAILED" in r.stderr


def test_retries_while_the_new_version_propagates(fake):
    # The first JWKS answers come from the old version (old kid active), then the new one.
    fake.kids_by_request = lambda n: ["old"] if n < 7 else ["new", "old"]
    r = smoke(fake.url, "new", "old", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "smoke: not yet" in r.stderr


@pytest.mark.parametrize("args", [[], ["http://x"], ["", "kid"], ["http://x", "kid", "prev", "extra"]])
def test_usage_errors(args):
    r = smoke(*args)
    assert r.returncode == 2
    assert "usage" in r.stderr
