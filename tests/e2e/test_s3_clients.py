"""Mainstream S3 clients against the worker in workerd, and what the runtime does between
them: rclone (aws-sdk-go signs `Accept-Encoding`, which the runtime rewrites), a SigV4 signer
of our own that signs that header, and responses that reach the client as the worker made
them, never compressed on the way (S3 never compresses what it serves)."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from idp import TestIdP
from s3clients import catalogue_worker, credentials, seed

CATALOGUE = {"accounts": {"demo": {"products": {
    "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
    "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                        "backend": {"type": "r2", "prefix": "demo/restricted-data/"}},
}}}}
# Text of types Cloudflare compresses by default, well past its minimum size (48 bytes).
TEXT = b"".join(b"line %d of a text that compresses very well\n" % i for i in range(200))
XML = b'<?xml version="1.0"?>\n<rows>' + b"<row>compressible</row>" * 200 + b"</rows>\n"
SECRET = b"top secret, " * 20


@pytest.fixture(scope="module")
def env():
    with TestIdP(name="clients-idp") as idp, catalogue_worker(idp, CATALOGUE, "clients-e2e") as w:
        seed(w, {
            "demo/public-data/notes.txt": (TEXT, "text/plain"),
            "demo/public-data/rows.xml": (XML, "application/xml"),
            "demo/public-data/README.txt": (b"readme", "text/plain"),
            "demo/public-data/back\\slash.txt": (b"backslash", "text/plain"),
            "demo/restricted-data/secret.txt": (SECRET, "text/plain"),
        })
        yield w, idp


@pytest.fixture(scope="module")
def alice(env):
    """Alice's temporary credentials from the worker's /.sts (she reads restricted-data)."""
    return credentials(*env, "alice")


def signed(w, creds: dict, path: str, accept_encoding: str, send: str | None = None) -> requests.Response:
    """GET `path` signed with botocore's SigV4 signer over an explicit `Accept-Encoding`, sent
    as signed (or as `send`) with `requests`, which sends a header it is given as it is."""
    req = AWSRequest(method="GET", url=w.url + path, headers={"Accept-Encoding": accept_encoding})
    S3SigV4Auth(Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"],
                            creds["aws_session_token"]), "s3", "us-east-1").add_auth(req)
    assert "accept-encoding" in req.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    headers = dict(req.headers.items())
    if send is not None:
        headers["Accept-Encoding"] = send
    return requests.get(req.url, headers=headers, timeout=10)


@pytest.mark.parametrize("accept_encoding", ["gzip", "identity", "gzip, deflate, br", ""])
def test_a_signature_over_the_accept_encoding_the_client_sent_verifies(env, alice, accept_encoding):
    w, _ = env
    r = signed(w, alice, "/demo/restricted-data/secret.txt", accept_encoding)
    assert r.status_code == 200, r.text
    assert r.content == SECRET


def test_a_signature_over_another_accept_encoding_than_the_one_sent_does_not_verify(env, alice):
    w, _ = env
    r = signed(w, alice, "/demo/restricted-data/secret.txt", "gzip", send="identity")
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text


def rclone(tmp_path, *args: str, creds: dict | None = None, endpoint: str) -> subprocess.CompletedProcess:
    """Runs Debian's rclone with one S3 remote `w:` for the worker (path style, provider
    `Other`), signed with `creds` or anonymous without, and no other configuration."""
    conf = ["[w]", "type = s3", "provider = Other", f"endpoint = {endpoint}", "force_path_style = true",
            "region = us-east-1"]
    if creds is not None:
        conf += [f"access_key_id = {creds['aws_access_key_id']}",
                 f"secret_access_key = {creds['aws_secret_access_key']}",
                 f"session_token = {creds['aws_session_token']}"]
    (tmp_path / "rclone.conf").write_text("\n".join(conf) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env["RCLONE_CONFIG"] = str(tmp_path / "rclone.conf")
    return subprocess.run(["rclone", "--retries", "1", "--low-level-retries", "1", *args],
                          env=env, capture_output=True, timeout=120)


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is installed by scripts/setup.sh --e2e")
def test_rclone_reads_a_restricted_object_with_sts_credentials_and_a_public_one_anonymously(env, alice, tmp_path):
    w, _ = env
    got = rclone(tmp_path, "cat", "w:demo/restricted-data/secret.txt", creds=alice, endpoint=w.url)
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == SECRET
    listed = rclone(tmp_path, "lsf", "w:demo/restricted-data/", creds=alice, endpoint=w.url)
    assert listed.returncode == 0 and listed.stdout.decode().split() == ["secret.txt"], listed.stderr.decode()
    got = rclone(tmp_path, "cat", "w:demo/public-data/notes.txt", endpoint=w.url)
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == TEXT
    denied = rclone(tmp_path, "cat", "w:demo/restricted-data/secret.txt", endpoint=w.url)
    assert denied.returncode != 0 and SECRET not in denied.stdout


def raw_get(w, path: str, accept_encoding: str, **headers: str) -> tuple[int, dict, bytes]:
    """Status, headers and the body's bytes exactly as they came over the wire (http.client
    decodes nothing)."""
    conn = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": accept_encoding, **headers})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def without_request_id(body: bytes) -> bytes:
    return re.sub(rb"<RequestId>[^<]*</RequestId>", b"", body)


@pytest.mark.parametrize("path, status", [
    ("/demo/public-data/notes.txt", 200),
    ("/demo/public-data/rows.xml", 200),
    ("/demo?list-type=2&prefix=public-data/", 200),
    ("/demo/public-data/missing.txt", 404),
    ("/demo/restricted-data/secret.txt", 403),
])
@pytest.mark.parametrize("accept_encoding", ["gzip, br", "gzip", "br", "gzip;q=1, identity;q=0", "*"])
def test_bodies_are_served_uncompressed_whatever_the_client_accepts(env, path, status, accept_encoding):
    w, _ = env
    plain = raw_get(w, path, "identity")
    got = raw_get(w, path, accept_encoding)
    assert got[0] == plain[0] == status
    # No coding applied; `identity` is what keeps `wrangler dev` from applying one.
    assert got[1].get("content-encoding", "identity") == "identity", got[1]
    assert without_request_id(got[2]) == without_request_id(plain[2])
    if path.endswith(".txt") and status == 200:
        assert got[2] == TEXT
    # What stops Cloudflare's edge from compressing them (it is not in front of `wrangler dev`).
    assert "no-transform" in got[1].get("cache-control", ""), got[1]


def test_a_range_is_served_uncompressed(env):
    w, _ = env
    got = raw_get(w, "/demo/public-data/notes.txt", "gzip, br", Range="bytes=100-599")
    assert got[0] == 206 and got[2] == TEXT[100:600]
    assert got[1].get("content-encoding", "identity") == "identity" and got[1]["content-length"] == "500"


def curl_as_is(w, path: str) -> tuple[str, bytes]:
    out = subprocess.run(["curl", "-s", "--path-as-is", "-w", "\n%{http_code}", w.url + path],
                         capture_output=True, timeout=30)
    body, _, status = out.stdout.rpartition(b"\n")
    return status.decode(), body


def test_dot_segments_and_backslashes_in_the_url_are_resolved_before_the_worker_sees_them(env, alice):
    # What the README says about keys with such segments: the runtime parses the URL as a
    # WHATWG URL, so these name another key, and a key holding them cannot be addressed.
    w, _ = env
    for path in ("/demo/public-data/a/../README.txt", "/demo/public-data/a/%2E%2E/README.txt",
                 "/demo/public-data/./README.txt", "/demo/public-data/a/.%2e/README.txt",
                 "/demo/public-data/a\\..\\README.txt", "/demo/x/../public-data/README.txt"):
        assert curl_as_is(w, path) == ("200", b"readme"), path
    # `..` past the root stays at the root; `%5C` and `..%2F` are no separators.
    assert curl_as_is(w, "/demo/../../demo/public-data/README.txt") == ("200", b"readme")
    assert curl_as_is(w, "/demo/public-data/back%5Cslash.txt") == ("200", b"backslash")
    assert curl_as_is(w, "/demo/public-data/a/..%2FREADME.txt")[0] == "404"
    # A signature covers the path as sent, which the worker never sees.
    req = AWSRequest(method="GET", url=w.url + "/demo/public-data/a/../README.txt")
    S3SigV4Auth(Credentials(alice["aws_access_key_id"], alice["aws_secret_access_key"],
                            alice["aws_session_token"]), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
    try:
        conn.request("GET", "/demo/public-data/a/../README.txt", headers=dict(req.headers.items()))
        res = conn.getresponse()
        assert res.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in res.read()
    finally:
        conn.close()
