"""A real, certified OpenID provider (oidc-provider v9, tests/e2e/node/oidc_provider.mjs) on
loopback, the groundwork of browser sign-in at the edge and of a command-line client, proven
without any worker change (the browser's part is in test_browser.py):

- the authorization code flow with PKCE over the provider's own forms: PKCE required, RFC 9207
  `iss`, refresh tokens only with `prompt=consent`, consent denied;
- the device authorization grant (RFC 8628), approved over the provider's HTML forms, with
  the suite's extensions each shown to fail a misbehaving client: PKCE as Keycloak enforces
  it, `interval` and `slow_down`; a provider without PKCE; one that refuses PKCE parameters;
- the provider's ID tokens at the worker's existing `/.sts`, and the credentials reading a
  restricted object with boto3.
"""

from __future__ import annotations

import time

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from oidc_provider import (DEVICE_GRANT, OAuthError, OidcProvider, Pkce, SignInError, approve_device,
                           confidential_client, poll_until_done, public_client, sign_in)
from s3clients import catalogue_worker, code, s3_for, seed

CLIENT = "e2e-public"  # the default client: public, native, http://127.0.0.1/callback on any port
ALICE = ("alice", "alice-password")


def error_of(r: requests.Response) -> str:
    return r.json().get("error", "")


# ---------------------------------------------------------------------------------------
# discovery


def test_discovery_advertises_s256_only_iss_in_responses_the_device_and_revocation_endpoints(oidc_provider):
    d = oidc_provider.discovery
    assert d["issuer"] == oidc_provider.issuer
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert d["authorization_response_iss_parameter_supported"] is True
    assert d["device_authorization_endpoint"] == oidc_provider.issuer + "/device/auth"
    assert d["revocation_endpoint"] == oidc_provider.issuer + "/token/revocation"
    assert d["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(d["grant_types_supported"]) == {"authorization_code", "refresh_token", DEVICE_GRANT}
    assert {"openid", "offline_access", "profile", "email"} <= set(d["scopes_supported"])


# ---------------------------------------------------------------------------------------
# the authorization code flow over the provider's forms (the browser's part: test_browser.py)


def test_pkce_is_required_on_the_code_flow_and_the_verifier_must_match(oidc_provider, redirect):
    op = oidc_provider
    without = sign_in(op.authorization_url(CLIENT, redirect.url, state="s"), *ALICE)
    assert without.params["error"] == "invalid_request" and without.params["iss"] == op.issuer
    assert "PKCE" in without.params["error_description"]

    pkce = Pkce()
    callback = sign_in(op.authorization_url(CLIENT, redirect.url, pkce=pkce), *ALICE)
    with pytest.raises(OAuthError) as wrong:
        op.exchange_code(CLIENT, callback.params["code"], redirect.url, Pkce())
    assert wrong.value.error == "invalid_grant"


def test_without_prompt_consent_offline_access_is_dropped_and_no_refresh_token_issued(oidc_provider, redirect):
    op, pkce = oidc_provider, Pkce()
    callback = sign_in(op.authorization_url(CLIENT, redirect.url, pkce=pkce, prompt=None), *ALICE)
    tokens = op.exchange_code(CLIENT, callback.params["code"], redirect.url, pkce)
    assert "refresh_token" not in tokens and "offline_access" not in tokens["scope"].split()
    assert op.verify_id_token(tokens["id_token"], CLIENT)["sub"] == "alice"


def test_denying_consent_sends_access_denied_back_with_the_issuer(oidc_provider, redirect):
    callback = sign_in(oidc_provider.authorization_url(CLIENT, redirect.url, pkce=Pkce(), state="d"), *ALICE,
                       deny=True)
    assert callback.params["error"] == "access_denied"
    assert (callback.params["state"], callback.params["iss"]) == ("d", oidc_provider.issuer)


def test_an_unknown_user_cannot_sign_in(oidc_provider, redirect):
    with pytest.raises(SignInError, match="wrong password"):
        sign_in(oidc_provider.authorization_url(CLIENT, redirect.url, pkce=Pkce()), "mallory", "x")


def test_lifetimes_are_configurable_and_a_confidential_client_authenticates_with_its_secret(start_oidc_provider,
                                                                                               redirect):
    op = start_oidc_provider(name="short", ttl={"IdToken": 7, "AccessToken": 9}, clients=[
        confidential_client("e2e-web", "e2e-web-secret", [redirect.url])])
    pkce = Pkce()
    callback = sign_in(op.authorization_url("e2e-web", redirect.url, pkce=pkce), *ALICE)
    tokens = op.exchange_code("e2e-web", callback.params["code"], redirect.url, pkce)  # HTTP Basic
    claims = op.verify_id_token(tokens["id_token"], "e2e-web")
    assert (claims["exp"] - claims["iat"], tokens["expires_in"]) == (7, 9)
    r = requests.post(op.endpoint("token"), auth=("e2e-web", "not-the-secret"),
                      data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert (r.status_code, error_of(r)) == (401, "invalid_client")
    assert op.refresh("e2e-web", tokens["refresh_token"])["id_token"]


# ---------------------------------------------------------------------------------------
# the device authorization grant (RFC 8628), approved over the provider's forms


@pytest.fixture(scope="module")
def device_op():
    """Short polling interval and slow_down step, so the tests are quick."""
    with OidcProvider(name="device", device_interval=1, slow_down_increment=1) as op:
        yield op


def test_device_flow_with_pkce_gives_tokens_to_a_client_that_polls_at_the_interval(device_op):
    pkce = Pkce()
    auth = device_op.device_authorization(CLIENT, pkce)
    assert auth["interval"] == 1 and auth["verification_uri"] == device_op.issuer + "/device"
    assert auth["verification_uri_complete"].endswith("user_code=" + auth["user_code"])
    pending = device_op.poll_device(CLIENT, auth["device_code"], pkce)
    assert error_of(pending) == "authorization_pending"

    assert "signed in" in approve_device(auth["verification_uri_complete"], *ALICE)
    tokens = poll_until_done(device_op, CLIENT, auth["device_code"], pkce, interval=auth["interval"])
    assert device_op.verify_id_token(tokens["id_token"], CLIENT)["sub"] == "alice"
    assert tokens["refresh_token"]  # offline_access needs no prompt=consent on the device flow
    assert device_op.refresh(CLIENT, tokens["refresh_token"])["refresh_token"] != tokens["refresh_token"]


def test_a_device_authorization_without_pkce_is_refused_when_pkce_is_required(device_op):
    with pytest.raises(OAuthError) as refused:
        device_op.device_authorization(CLIENT, pkce=None)
    assert (refused.value.status, refused.value.error) == (400, "invalid_request")
    r = device_op.post("device_authorization", CLIENT, scope="openid", code_challenge=Pkce().challenge,
                       code_challenge_method="plain")
    assert (r.status_code, error_of(r)) == (400, "invalid_request")


def test_a_device_poll_without_the_verifier_or_with_another_is_invalid_grant(device_op):
    pkce = Pkce()
    auth = device_op.device_authorization(CLIENT, pkce)
    approve_device(auth["verification_uri_complete"], *ALICE)
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce=None)) == "invalid_grant"
    time.sleep(auth["interval"])
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce=Pkce())) == "invalid_grant"
    time.sleep(auth["interval"])
    r = device_op.poll_device(CLIENT, auth["device_code"], pkce)
    assert r.status_code == 200 and r.json()["id_token"]


def test_polling_faster_than_the_interval_is_slow_down_and_the_interval_grows(device_op):
    pkce = Pkce()
    auth = device_op.device_authorization(CLIENT, pkce)
    before = device_op.counts()["slow_down"]
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce)) == "authorization_pending"
    # At once again: slow_down, and the interval is now 2 s (1 + the increment of 1 s).
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce)) == "slow_down"
    # A client that ignores slow_down and keeps the old interval keeps being slowed down.
    time.sleep(1.2)
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce)) == "slow_down"
    time.sleep(3.2)  # the interval is 3 s now
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce)) == "authorization_pending"
    assert device_op.counts()["slow_down"] == before + 2


def test_denying_the_device_is_access_denied_for_the_client(device_op):
    pkce = Pkce()
    auth = device_op.device_authorization(CLIENT, pkce)
    assert "aborted" in approve_device(auth["verification_uri_complete"], *ALICE, deny=True)
    assert error_of(device_op.poll_device(CLIENT, auth["device_code"], pkce)) == "access_denied"


def test_oidc_provider_alone_ignores_pkce_on_the_device_flow(start_oidc_provider):
    """Why the suite's extension exists: without it (device_pkce=False, device_interval=0) a
    wrong verifier is accepted, and neither interval nor slow_down is ever sent."""
    op = start_oidc_provider(name="plain-device", device_pkce=False, device_interval=0)
    pkce = Pkce()
    auth = op.device_authorization(CLIENT, pkce)
    assert "interval" not in auth
    approve_device(auth["verification_uri_complete"], *ALICE)
    assert op.poll_device(CLIENT, auth["device_code"], Pkce()).status_code == 200
    assert op.counts()["slow_down"] == 0


def test_a_provider_configured_without_pkce_accepts_both_flows_without_it(start_oidc_provider, redirect):
    op = start_oidc_provider(name="no-pkce", pkce="optional", device_interval=1)
    callback = sign_in(op.authorization_url(CLIENT, redirect.url, pkce=None), *ALICE)
    assert op.exchange_code(CLIENT, callback.params["code"], redirect.url, pkce=None)["id_token"]
    auth = op.device_authorization(CLIENT, pkce=None)
    approve_device(auth["verification_uri_complete"], *ALICE)
    assert poll_until_done(op, CLIENT, auth["device_code"], interval=1)["id_token"]
    # PKCE that is sent is still checked.
    pkce = Pkce()
    auth = op.device_authorization(CLIENT, pkce)
    approve_device(auth["verification_uri_complete"], *ALICE)
    assert error_of(op.poll_device(CLIENT, auth["device_code"], Pkce())) == "invalid_grant"


def test_a_non_compliant_provider_refuses_pkce_parameters_and_works_without_them(start_oidc_provider, redirect):
    op = start_oidc_provider(name="no-pkce-at-all", pkce="reject", device_interval=1)
    # Authorization request with PKCE: back to the client with invalid_request, before any login.
    r = requests.get(op.authorization_url(CLIENT, redirect.url, pkce=Pkce(), state="r"), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(redirect.url + "?")
    assert "error=invalid_request" in r.headers["Location"] and "state=r" in r.headers["Location"]
    with pytest.raises(OAuthError) as refused:
        op.device_authorization(CLIENT, Pkce())
    assert refused.value.error == "invalid_request"
    assert op.counts()["pkce_refused"] == 2

    callback = sign_in(op.authorization_url(CLIENT, redirect.url, pkce=None), *ALICE)
    assert op.exchange_code(CLIENT, callback.params["code"], redirect.url, pkce=None)["id_token"]
    auth = op.device_authorization(CLIENT, pkce=None)
    approve_device(auth["verification_uri_complete"], *ALICE)
    assert poll_until_done(op, CLIENT, auth["device_code"], interval=1)["refresh_token"]


# ---------------------------------------------------------------------------------------
# the provider's ID tokens at the worker's /.sts


def test_an_id_token_from_oidc_provider_gets_sts_credentials_that_read_a_restricted_object(start_oidc_provider,
                                                                                           redirect):
    op = start_oidc_provider(name="sts", clients=[public_client("e2e-sts-client", ["http://127.0.0.1/callback"])])
    catalogue = {"accounts": {"demo": {"products": {
        "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
    worker = catalogue_worker(op, catalogue, "real-idp-e2e")  # AUTH_ISSUER = op.issuer, AUTH_AUDIENCE = its client
    try:
        worker.start()
        seed(worker, {"demo/restricted-data/secret.txt": b"top secret"})

        def id_token_of(user: str, password: str) -> dict:
            pkce = Pkce()
            callback = sign_in(op.authorization_url("e2e-sts-client", redirect.url, pkce=pkce), user, password)
            return op.exchange_code("e2e-sts-client", callback.params["code"], redirect.url, pkce)

        def s3_with(id_token: str):
            sts = boto3.client("sts", endpoint_url=worker.url + "/.sts", region_name="us-east-1",
                               aws_access_key_id="unused", aws_secret_access_key="unused")
            c = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::000000000000:role/_default",
                                                  RoleSessionName="real-idp", WebIdentityToken=id_token)
            assert c["SubjectFromWebIdentityToken"] == op.verify_id_token(id_token, "e2e-sts-client")["sub"]
            c = c["Credentials"]
            return s3_for(worker, {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                                   "aws_session_token": c["SessionToken"]})

        alice = id_token_of(*ALICE)
        body = s3_with(alice["id_token"]).get_object(Bucket="demo", Key="restricted-data/secret.txt")["Body"].read()
        assert body == b"top secret"
        # The ID token that a refresh brings works as well.
        refreshed = op.refresh("e2e-sts-client", alice["refresh_token"])["id_token"]
        assert s3_with(refreshed).head_object(Bucket="demo", Key="restricted-data/secret.txt")["ContentLength"] == 10

        bob = id_token_of("bob", "bob-password")["id_token"]
        with pytest.raises(ClientError) as denied:
            s3_with(bob).get_object(Bucket="demo", Key="restricted-data/secret.txt")
        assert code(denied.value) == "AccessDenied"
    finally:
        worker.stop()
