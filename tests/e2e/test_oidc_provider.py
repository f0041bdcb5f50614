"""The OpenID provider endpoints, end to end in workerd."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from workerd import Worker, free_port

SEEN: list[str] = []  # every response this module received, for the no-secret check


def call(method: str, url: str, **kw) -> requests.Response:
    r = requests.request(method, url, timeout=15, **kw)
    SEEN.append(f"{r.status_code} {dict(r.headers)}\n{r.text}")
    return r


def b64url_int(v: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")


def test_discovery_has_the_required_fields_and_the_exact_issuer(provider):
    r = call("GET", provider.url + "/.well-known/openid-configuration")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert "max-age" in r.headers["cache-control"]
    doc = r.json()
    assert doc["issuer"] == provider.url  # verbatim: no trailing slash added
    assert doc["jwks_uri"] == provider.url + "/.well-known/jwks.json"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    for field in ("authorization_endpoint", "response_types_supported", "subject_types_supported"):
        assert doc[field], field
    # The advertised authorization endpoint exists and answers with an OAuth error.
    r = call("GET", doc["authorization_endpoint"] + "?client_id=x&response_type=id_token")
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_jwks_holds_both_keys_matching_their_pems(provider, active_key, previous_key):
    r = call("GET", provider.url + "/.well-known/jwks.json")
    assert r.status_code == 200
    keys = {k["kid"]: k for k in r.json()["keys"]}
    assert list(keys) == [active_key.kid, previous_key.kid]
    for key in (active_key, previous_key):
        jwk = keys[key.kid]
        assert (jwk["kty"], jwk["use"], jwk["alg"]) == ("RSA", "sig", "RS256")
        nums = key.private.public_key().public_numbers()
        assert b64url_int(jwk["n"]) == nums.n and b64url_int(jwk["e"]) == nums.e
        assert "=" not in jwk["n"] and not base64.urlsafe_b64decode(jwk["n"] + "==").startswith(b"\0")


@pytest.mark.parametrize("which", ["active", "previous"])
def test_a_jwt_signed_with_either_key_verifies_against_the_served_jwks(provider, active_key, previous_key, which):
    key = active_key if which == "active" else previous_key
    now = int(time.time())
    token = jwt.encode({"iss": provider.url, "sub": "someone", "aud": "rp", "iat": now, "exp": now + 60},
                       key.pem, algorithm="RS256", headers={"kid": key.kid})
    client = jwt.PyJWKClient(provider.url + "/.well-known/jwks.json")
    signing_key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], audience="rp", issuer=provider.url)
    assert claims["sub"] == "someone"


def test_jwks_etag_gives_304(provider):
    first = call("GET", provider.url + "/.well-known/jwks.json")
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = call("GET", provider.url + "/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = call("GET", provider.url + "/.well-known/jwks.json", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200


def test_head_has_get_headers_and_no_body(provider):
    get = call("GET", provider.url + "/.well-known/jwks.json")
    head = call("HEAD", provider.url + "/.well-known/jwks.json")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]
    head = call("HEAD", provider.url + "/.well-known/openid-configuration")
    assert head.status_code == 200 and head.content == b""


def test_cors_preflight_and_simple_requests(provider):
    r = call("OPTIONS", provider.url + "/.well-known/jwks.json",
             headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                      "Access-Control-Request-Headers": "if-none-match"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert r.headers["access-control-allow-headers"] == "if-none-match"
    r = call("GET", provider.url + "/.well-known/openid-configuration", headers={"Origin": "https://app.example"})
    assert r.headers["access-control-allow-origin"] == "*"


def test_unknown_route_is_404_and_wrong_method_is_405_with_allow(provider):
    r = call("GET", provider.url + "/.well-known/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = call(method, provider.url + "/.well-known/jwks.json", data=b"x")
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET, HEAD, OPTIONS"
        assert r.json()["error"] == "method_not_allowed"


def test_service_info_reports_features(provider):
    info = call("GET", provider.url + "/").json()
    assert info["name"] == "oidc-sts-proxy"
    assert info["features"]["oidc_provider"] == "enabled"
    assert info["features"]["upstream_jwt"] == "enabled"


def test_webcrypto_rsa_crate_and_openssl_make_identical_signatures(provider, active_key):
    msg = b"header.payload for a deterministic PKCS#1 v1.5 signature"
    q = base64.urlsafe_b64encode(msg).decode().rstrip("=")
    by_webcrypto = call("GET", provider.url + f"/.test/sign?msg={q}&signer=webcrypto").json()["signature"]
    by_rsa = call("GET", provider.url + f"/.test/sign?msg={q}&signer=rsa").json()["signature"]
    by_openssl = base64.urlsafe_b64encode(
        active_key.private.sign(msg, padding.PKCS1v15(), hashes.SHA256())).decode().rstrip("=")
    assert by_webcrypto == by_rsa == by_openssl


def test_minted_upstream_jwt_verifies_and_is_reused(provider, active_key):
    first = call("GET", provider.url + "/.test/mint?sub=alice@example.com").json()
    second = call("GET", provider.url + "/.test/mint?sub=alice@example.com").json()
    assert first["token"] == second["token"]
    assert second["signatures"] == first["signatures"]  # the second call did not sign
    client = jwt.PyJWKClient(provider.url + "/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(first["token"]).key
    claims = jwt.decode(first["token"], key, algorithms=["RS256"], audience="e2e-upstream", issuer=provider.url)
    assert claims["sub"] == "alice@example.com"
    assert claims["exp"] - claims["iat"] == 60 and claims["nbf"] == claims["iat"]
    assert len(claims["jti"]) == 32
    assert jwt.get_unverified_header(first["token"]) == {"alg": "RS256", "typ": "JWT", "kid": active_key.kid}
    other = call("GET", provider.url + "/.test/mint?sub=bob").json()
    assert other["token"] != first["token"] and other["signatures"] == first["signatures"] + 1


def test_worker_with_a_bad_pem_explains_and_keeps_serving(active_key):
    port = free_port()
    marker = "MARKER-NOT-A-KEY-4711"
    with Worker(port=port, vars={"OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}", "OIDC_PROVIDER_KID": "k1"},
                secrets={"OIDC_PROVIDER_KEY": f"-----BEGIN PRIVATE KEY-----\n{marker}\n-----END PRIVATE KEY-----"}) as w:
        for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration"):
            r = call("GET", w.url + path)
            assert r.status_code == 500
            assert r.json()["error"] == "server_error"
            assert "OIDC_PROVIDER_KEY" in r.json()["error_description"]
            assert marker not in r.text
        info = call("GET", w.url + "/")
        assert info.status_code == 200 and info.json()["features"]["oidc_provider"] == "misconfigured"
        time.sleep(0.5)
        errors = [l for l in w.worker_lines() if l.get("msg") == "configuration error"]
        assert len(errors) == 1, w.log()  # once per isolate, not per request
        assert "OIDC_PROVIDER_KEY" in errors[0]["error"]
        assert marker not in w.log()


def test_worker_without_a_key_has_no_provider_routes(active_key):
    with Worker(vars={}) as w:
        assert call("GET", w.url + "/.well-known/jwks.json").status_code == 404
        assert call("GET", w.url + "/.well-known/openid-configuration").status_code == 404
        assert call("GET", w.url + "/").json()["features"]["oidc_provider"] == "disabled"


def test_no_secret_appears_in_any_response_or_log(provider, active_key, previous_key):
    # Runs last in this module: everything above was recorded in SEEN.
    assert len(SEEN) > 20
    haystack = "\n".join(SEEN) + provider.log()
    for key in (active_key, previous_key):
        for marker in key.secret_markers():
            assert marker not in haystack
