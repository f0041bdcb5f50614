"""Isolation between callers of different IdPs, end to end in workerd: a caller is the pair
(issuer, subject), so with two trusted issuers the second IdP's `alice` never reads what the
first IdP's `alice` may, whether the embedded catalogue or the upstream API answers; each
issuer presents only its own audiences (`AUTH_AUDIENCE` as a JSON object); logs carry a
pseudonym of the pair, never the subject."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from idp import TestIdP
from keys import new_key, session_key_b64
from s3clients import code, s3_for
from upstream import TestUpstream, account_entry, product_answer
from workerd import Worker, free_port

R2 = '[[r2_buckets]]\nbinding = "DATA"\nbucket_name = "e2e-data"\n'


def sts_credentials(w, token: str) -> dict:
    sts = boto3.client("sts", endpoint_url=w.url + "/.sts", region_name="us-east-1",
                       aws_access_key_id="unused", aws_secret_access_key="unused")
    c = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::000000000000:role/_default",
                                          RoleSessionName="iso", WebIdentityToken=token)["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def seed(w, objects: dict[str, bytes]) -> None:
    for k, body in objects.items():
        r = requests.put(f"{w.url}/.test/r2/{k}", data=body, timeout=10)
        assert r.status_code == 204, (k, r.status_code, r.text)


def only_the_first_issuers_alice_reads(idps, w):
    """S3 clients for `alice` of each IdP; asserts the web IdP's reads the restricted object
    and the CI IdP's is AccessDenied."""
    web, ci = idps
    alice_web = s3_for(w, sts_credentials(w, web.mint({"sub": "alice"})))
    alice_ci = s3_for(w, sts_credentials(w, ci.mint({"sub": "alice"})))
    assert alice_web.get_object(Bucket="demo", Key="restricted-data/secret.txt")["Body"].read() == b"top secret"
    with pytest.raises(ClientError) as e:
        alice_ci.get_object(Bucket="demo", Key="restricted-data/secret.txt")
    assert code(e.value) == "AccessDenied"
    return alice_web, alice_ci


@pytest.fixture(scope="module")
def idps():
    web = TestIdP(name="iso-web", audience="web").start()
    ci = TestIdP(name="iso-ci", audience="sts.data.example").start()
    yield web, ci
    web.stop()
    ci.stop()


def worker(idps, extra_vars: dict, port: int | None = None) -> Worker:
    web, ci = idps
    port = port or free_port()
    key = new_key("iso")
    vars = {
        "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}",
        "OIDC_PROVIDER_KID": key.kid,
        "INSECURE_TEST_ROUTES": "1",  # seeding the local bucket
        "AUTH_ISSUER": f"{web.issuer},{ci.issuer}",
        "AUTH_AUDIENCE": json.dumps({web.issuer: ["web"], ci.issuer: ["sts.data.example"]}),
    }
    vars.update(extra_vars)
    return Worker(port=port, vars=vars, extra_toml=R2,
                  secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key_b64()})


@pytest.fixture(scope="module")
def catalogue_worker(idps):
    web, _ = idps
    catalogue = {"accounts": {"demo": {"products": {
        "restricted-data": {"visibility": "restricted", "readers": [{"iss": web.issuer, "sub": "alice"}],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
    w = worker(idps, {"CATALOGUE": json.dumps(catalogue)})
    with w:
        seed(w, {"demo/restricted-data/secret.txt": b"top secret"})
        yield w


def test_the_same_subject_at_another_trusted_issuer_reads_nothing_of_the_first_issuers_caller(idps, catalogue_worker):
    w = catalogue_worker
    alice_web, alice_ci = only_the_first_issuers_alice_reads(idps, w)
    with pytest.raises(ClientError) as e:
        alice_ci.list_objects_v2(Bucket="demo", Prefix="restricted-data/")
    assert code(e.value) == "AccessDenied"
    listed = alice_ci.list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in listed.get("CommonPrefixes", [])] == []
    listed = alice_web.list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["restricted-data/"]


def test_each_issuer_presents_only_its_own_audiences(idps, catalogue_worker):
    web, ci = idps
    w = catalogue_worker
    for token in (ci.mint({"sub": "alice", "aud": "web"}), web.mint({"sub": "alice", "aud": "sts.data.example"})):
        r = requests.post(w.url + "/.sts", timeout=10, data={
            "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleSessionName": "iso",
            "RoleArn": "arn:aws:iam::000000000000:role/_default", "WebIdentityToken": token})
        assert r.status_code == 403 and "<Code>IDPRejectedClaim</Code>" in r.text, r.text


def test_the_exchange_log_carries_a_pseudonym_of_issuer_and_subject(idps, catalogue_worker):
    web, ci = idps
    w = catalogue_worker
    sub = "iso-log-subject@example.com"
    sts_credentials(w, web.mint({"sub": sub}))
    sts_credentials(w, ci.mint({"sub": sub}))
    lines = []
    for issuer in (web.issuer, ci.issuer):
        line = w.wait_for_line(lambda l, i=issuer: l.get("msg") == "sts exchange" and l.get("issuer") == i
                               and l.get("outcome") == "ok")
        assert line is not None
        lines.append(line)
    pseudonyms = {line["caller"] for line in lines}
    assert len(pseudonyms) == 2 and all(len(p) == 16 for p in pseudonyms), pseudonyms
    assert sub not in w.log()


def test_a_bare_subject_reader_with_two_trusted_issuers_is_a_configuration_error(idps):
    catalogue = {"accounts": {"demo": {"products": {
        "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
    web, _ = idps
    with worker(idps, {"CATALOGUE": json.dumps(catalogue)}) as w:
        seed(w, {"demo/restricted-data/secret.txt": b"top secret"})
        client = s3_for(w, sts_credentials(w, web.mint({"sub": "alice"})))
        with pytest.raises(ClientError) as e:
            client.get_object(Bucket="demo", Key="restricted-data/secret.txt")
        assert code(e.value) == "ServiceUnavailable"
        line = w.wait_for_line(lambda l: l.get("msg") == "configuration error")
        assert line is not None and "demo/restricted-data" in line["error"], w.worker_lines()


def test_the_upstream_api_is_asked_about_each_issuers_caller_with_sub_id(idps):
    web, ci = idps
    port = free_port()
    up = TestUpstream(issuer=f"http://127.0.0.1:{port}", audience="iso-upstream").start()
    restricted = {"visibility": "restricted", "permissions": {"read": False, "list": False},
                  "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}
    up.set_product("demo", "restricted-data", restricted)
    up.set_product("demo", "restricted-data",
                   product_answer("demo/restricted-data/", visibility="restricted"), subject=(web.issuer, "alice"))
    up.set_account("demo", [account_entry("restricted-data", visibility="restricted")])
    try:
        w = worker(idps, {"UPSTREAM_API_URL": up.url, "UPSTREAM_API_AUDIENCE": "iso-upstream"}, port=port)
        with w:
            seed(w, {"demo/restricted-data/secret.txt": b"top secret"})
            only_the_first_issuers_alice_reads(idps, w)
            seen = up.seen("/products/demo/restricted-data", sub="alice")
            assert up.failures() == [], [s.error for s in up.failures()]
            assert {s.claims["sub_id"]["iss"] for s in seen} == {web.issuer, ci.issuer}
    finally:
        up.stop()
