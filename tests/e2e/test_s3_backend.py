"""The S3 read path against an S3-compatible HTTP backend, end to end in workerd: products whose
catalogue entry says `{"type": "s3", ...}` are read from moto's S3 on loopback, which checks the
SigV4 signature of every request the worker makes with the credentials secret the entry names
(s3backend.py). Clients are boto3 (signed with credentials from /.sts, and unsigned) and the AWS
CLI; the local R2 bucket is not involved."""

from __future__ import annotations

import gzip
import json
import os
import subprocess

import pytest
import requests
from botocore.exceptions import ClientError

from idp import TestIdP
from keys import new_key, session_key_b64
from s3backend import MotoS3
from s3clients import aws_cli, code, credentials, s3_for, status
from workerd import Worker, free_port

BUCKET = "proxy-data"
HELLO = os.urandom(1024)
BIG = os.urandom(5 * 1024 * 1024 + 7)  # past the 1 MiB the worker ever buffers from a fetch
ODD_KEYS = ["a b.txt", "plus+sign.txt", "ünïcödé/文件.txt", "percent%25.txt", "dir//double.txt", "tilde~(x)!.txt"]
PAGES = [f"pages/p{i}.txt" for i in range(5)]
TREE = [f"d{i}/{f}" for i in range(5) for f in ("x.txt", "y.txt")]  # 5 common prefixes
GZ = gzip.compress(b'{"measurement": 42}\n' * 500)  # stored with Content-Encoding: gzip


def s3(endpoint: str, prefix: str, credentials: str | None = "BACKEND_MOTO") -> dict:
    spec = {"type": "s3", "endpoint": endpoint, "bucket": BUCKET, "prefix": prefix}
    if credentials:
        spec["credentials"] = credentials
    return spec


@pytest.fixture(scope="module")
def env():
    moto = MotoS3(auth=True).start()
    open_moto = MotoS3(auth=False).start()  # a public bucket: the worker reads it unsigned
    idp = TestIdP(name="s3b-idp").start()
    port = free_port()
    key = new_key("s3b-e2e")
    catalogue = {"accounts": {"demo": {"products": {
        "mirror": {"visibility": "public", "backend": s3(moto.url, "mirror/")},
        "private": {"visibility": "restricted", "readers": ["alice"], "backend": s3(moto.url, "private/")},
        # Their own prefixes: two products on one bucket and prefix are refused (they would
        # read each other's objects).
        "wrongkey": {"visibility": "public", "backend": s3(moto.url, "wrongkey/", "BACKEND_WRONG")},
        "nokey": {"visibility": "public", "backend": s3(moto.url, "nokey/", "BACKEND_NOT_SET")},
        "tree": {"visibility": "public", "backend": s3(moto.url, "tree/")},
        "open": {"visibility": "public", "backend": s3(open_moto.url, "open/", None)},
        "down": {"visibility": "public", "backend": s3(f"http://127.0.0.1:{free_port()}", "x/")},
    }}}}
    w = Worker(
        port=port,
        vars={
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}",
            "OIDC_PROVIDER_KID": key.kid,
            "AUTH_ISSUER": idp.issuer,
            "AUTH_AUDIENCE": idp.audience,
            "CATALOGUE": json.dumps(catalogue),
        },
        secrets={
            "OIDC_PROVIDER_KEY": key.pem,
            "SESSION_TOKEN_KEY": session_key_b64(),
            "BACKEND_MOTO": moto.secret_value,
            "BACKEND_WRONG": f"{moto.access_key_id}:not-the-secret",
        },
    )
    try:
        seed = moto.client()
        seed.create_bucket(Bucket=BUCKET)
        seed.put_object(Bucket=BUCKET, Key="mirror/hello.txt", Body=HELLO, ContentType="text/plain")
        seed.put_object(Bucket=BUCKET, Key="mirror/big.bin", Body=BIG, ContentType="application/octet-stream")
        for k in ODD_KEYS + PAGES:
            seed.put_object(Bucket=BUCKET, Key=f"mirror/{k}", Body=k.encode())
        seed.put_object(Bucket=BUCKET, Key="private/secret.txt", Body=b"top secret")
        seed.put_object(Bucket=BUCKET, Key="mirror/data.json.gz", Body=GZ, ContentEncoding="gzip",
                        ContentType="application/json")
        seed.put_object(Bucket=BUCKET, Key="elsewhere.txt", Body=b"outside every product")
        seed.put_object(Bucket=BUCKET, Key="wrongkey/hello.txt", Body=HELLO)
        for k in TREE:
            seed.put_object(Bucket=BUCKET, Key=f"tree/{k}", Body=k.encode())
        public = open_moto.client()
        public.create_bucket(Bucket=BUCKET)
        public.put_object(Bucket=BUCKET, Key="open/readme.txt", Body=b"read me", ACL="public-read")
        w.start()
        yield w, idp, moto
    finally:
        w.stop()
        idp.stop()
        open_moto.stop()
        moto.stop()


@pytest.fixture(scope="module")
def anon(env):
    return s3_for(env[0])


@pytest.fixture(scope="module")
def alice(env):
    w, idp, _ = env
    return s3_for(w, credentials(w, idp, "alice"))


@pytest.fixture(scope="module")
def bob(env):
    w, idp, _ = env
    return s3_for(w, credentials(w, idp, "bob"))


def test_public_object_reads_anonymously_with_the_backends_metadata(env, anon):
    _, _, moto = env
    direct = moto.client().head_object(Bucket=BUCKET, Key="mirror/hello.txt")
    obj = anon.get_object(Bucket="demo", Key="mirror/hello.txt")
    assert obj["Body"].read() == HELLO
    assert obj["ContentLength"] == 1024 and obj["ContentType"] == "text/plain"
    assert obj["ETag"] == direct["ETag"] and obj["LastModified"] == direct["LastModified"]
    assert obj["ResponseMetadata"]["HTTPHeaders"]["cache-control"] == "public, max-age=60, no-transform"
    head = anon.head_object(Bucket="demo", Key="mirror/hello.txt")
    assert head["ContentLength"] == 1024 and head["ETag"] == direct["ETag"]


def test_restricted_object_is_read_by_its_reader_only(anon, alice, bob):
    for client in (anon, bob):
        with pytest.raises(ClientError) as e:
            client.get_object(Bucket="demo", Key="private/secret.txt")
        assert code(e.value) == "AccessDenied"
    got = alice.get_object(Bucket="demo", Key="private/secret.txt")
    assert got["Body"].read() == b"top secret"
    assert got["ResponseMetadata"]["HTTPHeaders"]["cache-control"] == "private, no-store, no-transform"


def test_objects_past_the_fetch_buffer_limit_stream_through(alice):
    got = alice.get_object(Bucket="demo", Key="mirror/big.bin")
    assert got["ContentLength"] == len(BIG)
    assert got["Body"].read() == BIG


def test_range_is_passed_through(anon):
    got = anon.get_object(Bucket="demo", Key="mirror/big.bin", Range="bytes=1000000-1000099")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes 1000000-1000099/{len(BIG)}"
    assert got["Body"].read() == BIG[1000000:1000100]
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket="demo", Key="mirror/hello.txt", Range="bytes=5000-")
    assert code(e.value) == "InvalidRange" and status(e.value) == 416


def test_objects_stored_with_a_content_encoding_are_served_as_stored(anon):
    # The runtime's fetch would decode the gzip (breaking Content-Length and the ETag's meaning).
    got = anon.get_object(Bucket="demo", Key="mirror/data.json.gz")
    assert got["ContentLength"] == len(GZ) and got["Body"].read() == GZ
    assert anon.head_object(Bucket="demo", Key="mirror/data.json.gz")["ContentLength"] == len(GZ)
    # A range of them is refused clearly: workerd's fetch never delivers such a 206 body.
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket="demo", Key="mirror/data.json.gz", Range="bytes=10-19")
    assert code(e.value) == "NotImplemented" and status(e.value) == 501


def test_conditionals_answer_304_and_412(anon):
    etag = anon.head_object(Bucket="demo", Key="mirror/hello.txt")["ETag"]
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket="demo", Key="mirror/hello.txt", IfNoneMatch=etag)
    assert status(e.value) == 304
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket="demo", Key="mirror/hello.txt", IfMatch='"not-the-etag"')
    assert status(e.value) == 412
    assert anon.get_object(Bucket="demo", Key="mirror/hello.txt", IfMatch=etag)["Body"].read() == HELLO


def test_missing_keys_are_no_such_key(anon):
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket="demo", Key="mirror/nope.txt")
    assert code(e.value) == "NoSuchKey" and status(e.value) == 404
    with pytest.raises(ClientError) as e:
        anon.head_object(Bucket="demo", Key="mirror/nope.txt")
    assert status(e.value) == 404


@pytest.mark.parametrize("name", ODD_KEYS)
def test_keys_with_spaces_plus_unicode_and_percent_reach_the_backend_unchanged(alice, name):
    assert alice.get_object(Bucket="demo", Key=f"mirror/{name}")["Body"].read() == name.encode()


def test_dot_segments_never_read_another_key(env):
    w, _, _ = env
    # "mirror/../elsewhere.txt" is "elsewhere.txt", outside every product, once a URL parser
    # removes the "..": the runtime does so to the incoming URL (so the product is
    # "elsewhere.txt"), and the worker refuses to put such a key in a backend URL.
    for path in ["/demo/mirror/../elsewhere.txt", "/demo/mirror/%2E%2E/elsewhere.txt", "/demo/mirror/x/%2e%2e/%2e%2e/elsewhere.txt"]:
        out = subprocess.run(["curl", "-s", "--path-as-is", "-w", "\n%{http_code}", w.url + path],
                             capture_output=True, text=True, timeout=30)
        body, code_ = out.stdout.rsplit("\n", 1)
        assert code_ in ("400", "404"), (path, code_, body)
        assert "outside every product" not in body and "<Error>" in body


def test_listing_maps_the_backend_prefix_and_paginates_across_three_pages(anon):
    pages = list(anon.get_paginator("list_objects_v2").paginate(
        Bucket="demo", Prefix="mirror/pages/", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == [f"mirror/{k}" for k in PAGES]
    top = anon.list_objects_v2(Bucket="demo", Prefix="mirror/", Delimiter="/")
    assert {p["Prefix"] for p in top["CommonPrefixes"]} == {"mirror/dir/", "mirror/pages/", "mirror/ünïcödé/"}
    keys = {o["Key"] for o in top["Contents"]}
    assert {"mirror/hello.txt", "mirror/a b.txt", "mirror/plus+sign.txt"} <= keys
    assert all(k.startswith("mirror/") for k in keys)
    v1 = anon.list_objects(Bucket="demo", Prefix="mirror/pages/", MaxKeys=2)
    assert [o["Key"] for o in v1["Contents"]] == ["mirror/pages/p0.txt", "mirror/pages/p1.txt"] and v1["IsTruncated"]


def test_unsigned_backend_for_a_public_bucket(anon):
    assert anon.get_object(Bucket="demo", Key="open/readme.txt")["Body"].read() == b"read me"


def test_wrong_backend_credentials_are_a_logged_503_not_a_client_error(env, anon):
    w, _, _ = env
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket="demo", Key="wrongkey/hello.txt")
    assert status(e.value) == 503 and code(e.value) == "ServiceUnavailable"
    assert "not-the-secret" not in w.log()


def test_a_missing_credentials_secret_is_named_in_the_log_not_the_response(env, anon):
    w, _, _ = env
    r = requests.get(f"{w.url}/demo/nokey/hello.txt", timeout=10)
    assert r.status_code == 503 and "Retry-After" in r.headers
    assert "BACKEND_NOT_SET" not in r.text
    assert w.wait_for_line(lambda line: line.get("secret") == "BACKEND_NOT_SET"), w.log()


def test_an_unreachable_backend_is_503_with_retry_after(env):
    w, _, _ = env
    r = requests.get(f"{w.url}/demo/down/x.txt", timeout=30)
    assert r.status_code == 503 and "<Code>ServiceUnavailable</Code>" in r.text and "Retry-After" in r.headers


def test_aws_cli_cp_and_presigned_curl(env, alice, tmp_path):
    w, idp, _ = env
    aws, signed = aws_cli(tmp_path, credentials(w, idp, "alice"))
    target = tmp_path / "big.bin"
    cp = subprocess.run(aws + ["s3", "cp", "s3://demo/mirror/big.bin", str(target), "--endpoint-url", w.url],
                        env=signed, capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert target.read_bytes() == BIG
    url = alice.generate_presigned_url("get_object", Params={"Bucket": "demo", "Key": "private/secret.txt"},
                                       ExpiresIn=60)
    out = subprocess.run(["curl", "-s", url], capture_output=True, timeout=30)
    assert out.stdout == b"top secret"


def test_v1_pages_of_common_prefixes_go_on_from_next_marker_with_the_paginator_and_the_cli(env, anon, tmp_path):
    w, _, _ = env
    want = [f"tree/d{i}/" for i in range(5)]
    pages = list(anon.get_paginator("list_objects").paginate(
        Bucket="demo", Prefix="tree/", Delimiter="/", PaginationConfig={"PageSize": 2}))
    assert [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])] == want
    assert len(pages) == 3
    for page in pages[:-1]:
        assert page["IsTruncated"] and page["NextMarker"] == page["CommonPrefixes"][-1]["Prefix"]
    aws, env_ = aws_cli(tmp_path)
    out = subprocess.run(aws + ["s3api", "list-objects", "--bucket", "demo", "--prefix", "tree/", "--delimiter", "/",
                                "--page-size", "2", "--endpoint-url", w.url, "--no-sign-request", "--output", "json"],
                         env=env_, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [p["Prefix"] for p in json.loads(out.stdout)["CommonPrefixes"]] == want


def test_a_foreign_continuation_token_is_invalid_argument_not_a_retried_503(env, anon, alice):
    _, _, moto = env
    # The backend's own token (what a client of the bucket itself holds), once passed through.
    raw = moto.client().list_objects_v2(Bucket=BUCKET, Prefix="tree/", MaxKeys=2)["NextContinuationToken"]
    ours = anon.list_objects_v2(Bucket="demo", Prefix="tree/", MaxKeys=2)["NextContinuationToken"]
    assert anon.list_objects_v2(Bucket="demo", Prefix="tree/", MaxKeys=2, ContinuationToken=ours)["KeyCount"] == 2
    for client, prefix, token in ((anon, "tree/", raw), (anon, "mirror/", ours), (alice, "tree/", ours),
                                  (anon, "tree/", "bm90LWEtdG9rZW4")):
        with pytest.raises(ClientError) as e:
            client.list_objects_v2(Bucket="demo", Prefix=prefix, MaxKeys=2, ContinuationToken=token)
        assert status(e.value) == 400 and code(e.value) == "InvalidArgument", (prefix, token)
