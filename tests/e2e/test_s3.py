"""The S3 read path, end to end in workerd: credentials from /.sts (through the test IdP),
SigV4-signed and anonymous reads with boto3, a presigned URL fetched with curl, and the AWS
CLI, against the local R2 bucket and the embedded catalogue."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from chunked import upload_answered_before_its_end
from s3clients import aws_cli, catalogue_env, code, credentials, s3_for, status

CATALOGUE = {"accounts": {"demo": {"products": {
    "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
    "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                        "backend": {"type": "r2", "prefix": "demo/restricted-data/"}},
    # Its keys sort before public-data's ("-" < "/"), though its name sorts after.
    "public-data-extra": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/extra/"}},
    "empty": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/empty/"}},
    # No prefix: it lives under demo/carols/, never the whole shared bucket.
    "carols": {"visibility": "restricted", "readers": ["carol"], "backend": {"type": "r2"}},
}}}}
TREE = [f"tree/d{i}/{f}" for i in range(5) for f in ("x.txt", "y.txt")]  # 5 common prefixes
HELLO = os.urandom(1024)
ODD_KEYS = ["a b.txt", "plus+sign.txt", "ünïcödé/文件.txt", "percent%25.txt", "dir//double.txt"]
PAGES = [f"pages/p{i}.txt" for i in range(5)]


@pytest.fixture(scope="module")
def env():
    objects = {"demo/public-data/hello.txt": HELLO, "demo/restricted-data/secret.txt": b"top secret"}
    objects.update({f"demo/public-data/{k}": k.encode() for k in ODD_KEYS + PAGES})
    objects["demo/extra/x.txt"] = b"extra"
    objects.update({f"demo/carols/{k}": k.encode() for k in ["own.txt"] + TREE})
    with catalogue_env("s3", CATALOGUE, objects) as pair:
        yield pair


@pytest.fixture(scope="module")
def alice(env):
    w, idp = env
    return s3_for(w, credentials(w, idp, "alice"))


@pytest.fixture(scope="module")
def bob(env):
    w, idp = env
    return s3_for(w, credentials(w, idp, "bob"))


@pytest.fixture(scope="module")
def carol(env):
    w, idp = env
    return s3_for(w, credentials(w, idp, "carol"))



def test_public_object_reads_anonymously(env):
    w, _ = env
    obj = s3_for(w).get_object(Bucket="demo", Key="public-data/hello.txt")
    assert obj["Body"].read() == HELLO
    assert obj["ContentLength"] == 1024 and obj["ETag"].startswith('"')
    assert obj["AcceptRanges"] == "bytes"


def test_restricted_object_is_denied_anonymously_and_to_others_and_read_by_its_reader(env, alice, bob):
    w, _ = env
    for client in (s3_for(w), bob):
        with pytest.raises(ClientError) as e:
            client.get_object(Bucket="demo", Key="restricted-data/secret.txt")
        assert code(e.value) == "AccessDenied"
    got = alice.get_object(Bucket="demo", Key="restricted-data/secret.txt")
    assert got["Body"].read() == b"top secret"
    assert "private" in got["ResponseMetadata"]["HTTPHeaders"]["cache-control"]


def test_an_anonymous_read_of_restricted_data_is_told_to_sign_without_learning_whether_the_key_exists(env):
    w, _ = env
    bodies = []
    for key in ("restricted-data/secret.txt", "restricted-data/no-such-key.txt"):
        r = requests.get(f"{w.url}/demo/{key}", timeout=10)
        assert r.status_code == 403, r.text
        assert "<Code>AccessDenied</Code>" in r.text and "signed with credentials from /.sts" in r.text, r.text
        bodies.append(r.text.split("<Resource>")[0])
    assert bodies[0] == bodies[1]


def test_signed_reads_of_keys_with_spaces_plus_unicode_percent_and_double_slashes(alice):
    for k in ODD_KEYS:
        assert alice.get_object(Bucket="demo", Key=f"public-data/{k}")["Body"].read() == k.encode(), k


def test_range_conditional_and_head(alice):
    part = alice.get_object(Bucket="demo", Key="public-data/hello.txt", Range="bytes=10-19")
    assert part["Body"].read() == HELLO[10:20]
    assert part["ContentRange"] == "bytes 10-19/1024"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    head = alice.head_object(Bucket="demo", Key="public-data/hello.txt")
    assert head["ContentLength"] == 1024
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="demo", Key="public-data/hello.txt", IfNoneMatch=head["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="demo", Key="public-data/hello.txt", IfMatch='"nope"')
    assert code(e.value) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="demo", Key="public-data/hello.txt", Range="bytes=5000-6000")
    assert code(e.value) == "InvalidRange"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == "bytes */1024"


def test_missing_key_bucket_and_writes(env, alice):
    w, _ = env
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="demo", Key="public-data/nope.txt")
    assert code(e.value) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="nobody", Key="x/y")
    assert code(e.value) == "NoSuchBucket"
    r = requests.put(w.url + "/demo/public-data/new.txt", data=b"x", timeout=10)
    assert r.status_code == 405 and "<Code>MethodNotAllowed</Code>" in r.text
    assert "GET" in r.headers["allow"]


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
def test_a_chunked_write_is_405_before_any_of_its_body_is_read(env, method):
    # 128 KiB sent, no Content-Length, the last chunk held back: answered from method and
    # path alone, before the body ends.
    w, _ = env
    a = upload_answered_before_its_end(w, method, "/demo/public-data/new.txt", 128 * 1024)
    assert a.logged_status == 405 and (a.status == 405 or a.reset), a
    if a.status is not None:  # the answer reached the client (under load it may go down with the reset)
        assert b"<Code>MethodNotAllowed</Code>" in a.body
        assert a.headers["allow"] == "GET, HEAD, OPTIONS"
    r = requests.get(w.url + "/demo/public-data/hello.txt", timeout=10)  # the worker is fine
    assert r.status_code == 200 and r.content == HELLO


def test_listing_products_and_paginating_across_three_pages(env, alice):
    w, _ = env
    top = s3_for(w).list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in top.get("CommonPrefixes", [])] == ["empty/", "public-data-extra/", "public-data/"]
    top = alice.list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == [
        "empty/", "public-data-extra/", "public-data/", "restricted-data/"]
    pages = list(alice.get_paginator("list_objects_v2").paginate(
        Bucket="demo", Prefix="public-data/pages/", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == [f"public-data/{k}" for k in PAGES]
    v1 = s3_for(w).list_objects(Bucket="demo", Prefix="public-data/", Delimiter="/")
    assert "public-data/hello.txt" in [o["Key"] for o in v1["Contents"]]


def test_recursive_account_listing_covers_every_listable_product_and_nothing_else(env, alice, tmp_path):
    w, idp = env
    public = sorted(["public-data/hello.txt", "public-data-extra/x.txt"] + [f"public-data/{k}" for k in ODD_KEYS + PAGES])
    for client, expected in ((s3_for(w), public), (alice, public + ["restricted-data/secret.txt"])):
        for version in ("list_objects_v2", "list_objects"):
            pages = list(client.get_paginator(version).paginate(Bucket="demo", PaginationConfig={"PageSize": 5}))
            keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
            assert keys == expected, version
            assert len(pages) >= 3
    assert [o["Key"] for o in alice.list_objects_v2(Bucket="demo", Prefix="restricted")["Contents"]] == [
        "restricted-data/secret.txt"]
    aws, base = aws_cli(tmp_path)
    ls = subprocess.run(aws + ["s3", "ls", "--recursive", "s3://demo/", "--endpoint-url", w.url, "--no-sign-request"],
                        env=base, capture_output=True, text=True, timeout=60)
    assert ls.returncode == 0, ls.stderr
    assert len(ls.stdout.splitlines()) == len(public) and "restricted-data" not in ls.stdout
    with pytest.raises(ClientError) as e:
        s3_for(w).list_objects_v2(Bucket="demo", ContinuationToken="not-a-token")
    assert code(e.value) == "InvalidArgument"
    nothing = s3_for(w).list_objects_v2(Bucket="demo", MaxKeys=0)
    assert not nothing["IsTruncated"] and "Contents" not in nothing
    # A dot-segment product in a listing prefix never reaches the catalogue or upstream.
    for prefix in ("../public-data/", "./x", "/x"):
        with pytest.raises(ClientError) as e:
            s3_for(w).list_objects_v2(Bucket="demo", Prefix=prefix)
        assert code(e.value) == "NoSuchBucket", prefix


def test_presigned_url_works_with_curl_until_it_expires(alice):
    url = alice.generate_presigned_url("get_object", Params={"Bucket": "demo", "Key": "public-data/hello.txt"},
                                       ExpiresIn=2)
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], capture_output=True, text=True)
    assert out.stdout == "200"
    time.sleep(3)
    out = subprocess.run(["curl", "-s", url], capture_output=True, text=True)
    assert "<Code>AccessDenied</Code>" in out.stdout


def test_legacy_sigv2_presigned_urls_are_refused_clearly(env):
    w, idp = env
    legacy = boto3.client("s3", endpoint_url=w.url, region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}, signature_version="s3"),
                          **credentials(w, idp, "alice"))
    url = legacy.generate_presigned_url("get_object", Params={"Bucket": "demo", "Key": "public-data/hello.txt"})
    r = requests.get(url, timeout=10)
    assert r.status_code == 400 and "<Code>AuthorizationQueryParametersError</Code>" in r.text


def test_tampered_session_token_is_invalid(env):
    w, idp = env
    creds = credentials(w, idp, "alice")
    t = creds["aws_session_token"]
    creds["aws_session_token"] = t[:20] + ("A" if t[20] != "A" else "B") + t[21:]
    with pytest.raises(ClientError) as e:
        s3_for(w, creds).get_object(Bucket="demo", Key="public-data/hello.txt")
    assert code(e.value) == "InvalidToken"


def test_credentials_past_their_expiry_are_expired_token(env):
    w, _ = env
    # /.sts issues 900 s at least; the loopback-only test route seals 2 s credentials the same way.
    c = requests.get(f"{w.url}/.test/credentials", params={"sub": "alice", "ttl": "2"}, timeout=10).json()
    client = s3_for(w, {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                        "aws_session_token": c["SessionToken"]})
    assert client.get_object(Bucket="demo", Key="restricted-data/secret.txt")["Body"].read() == b"top secret"
    time.sleep(3)
    with pytest.raises(ClientError) as e:
        client.get_object(Bucket="demo", Key="restricted-data/secret.txt")
    assert code(e.value) == "ExpiredToken" and status(e.value) == 400


def test_aws_cli_ls_and_cp(env, tmp_path):
    w, idp = env
    aws, base = aws_cli(tmp_path)
    ls = subprocess.run(aws + ["s3", "ls", "s3://demo/", "--endpoint-url", w.url, "--no-sign-request"],
                        env=base, capture_output=True, text=True, timeout=60)
    assert ls.returncode == 0, ls.stderr
    assert "PRE public-data/" in ls.stdout
    target = tmp_path / "hello.txt"
    cp = subprocess.run(aws + ["s3", "cp", "s3://demo/public-data/hello.txt", str(target), "--endpoint-url", w.url,
                               "--no-sign-request"], env=base, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert target.read_bytes() == HELLO
    _, signed = aws_cli(tmp_path, credentials(w, idp, "alice"))
    cp = subprocess.run(aws + ["s3", "cp", "s3://demo/restricted-data/secret.txt", "-", "--endpoint-url", w.url],
                        env=signed, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout == "top secret"


def test_a_request_signed_with_a_skewed_clock_is_refused(alice, monkeypatch):
    import datetime
    import botocore.auth
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    with pytest.raises(ClientError) as e:
        alice.get_object(Bucket="demo", Key="public-data/hello.txt")
    assert code(e.value) == "RequestTimeTooSkewed"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_product_without_a_prefix_cannot_read_another_products_key(env, carol):
    # carols has no prefix: with the whole shared bucket as its key space, its reader would
    # read restricted-data's object (whose key is demo/restricted-data/secret.txt) through it.
    with pytest.raises(ClientError) as e:
        carol.get_object(Bucket="demo", Key="carols/demo/restricted-data/secret.txt")
    assert code(e.value) == "NoSuchKey"
    assert carol.get_object(Bucket="demo", Key="carols/own.txt")["Body"].read() == b"own.txt"
    listed = carol.list_objects_v2(Bucket="demo", Prefix="carols/")
    assert {o["Key"] for o in listed["Contents"]} == {"carols/own.txt"} | {f"carols/{k}" for k in TREE}


def test_a_restricted_products_listing_is_private_and_a_public_ones_cacheable(env, alice):
    w, _ = env
    restricted = alice.list_objects_v2(Bucket="demo", Prefix="restricted-data/")
    assert restricted["ResponseMetadata"]["HTTPHeaders"]["cache-control"] == "private, no-store, no-transform"
    public = s3_for(w).list_objects_v2(Bucket="demo", Prefix="public-data/")
    assert public["ResponseMetadata"]["HTTPHeaders"]["cache-control"] == "public, max-age=60, no-transform"


def test_v1_pages_of_common_prefixes_go_on_from_next_marker_with_the_paginator_and_the_cli(env, carol, tmp_path):
    w, idp = env
    want = [f"carols/tree/d{i}/" for i in range(5)]
    pages = list(carol.get_paginator("list_objects").paginate(
        Bucket="demo", Prefix="carols/tree/", Delimiter="/", PaginationConfig={"PageSize": 2}))
    assert [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])] == want
    assert len(pages) == 3
    for page in pages[:-1]:
        assert page["IsTruncated"] and page["NextMarker"] == page["CommonPrefixes"][-1]["Prefix"]
    aws, env_ = aws_cli(tmp_path, credentials(w, idp, "carol"))
    out = subprocess.run(aws + ["s3api", "list-objects", "--bucket", "demo", "--prefix", "carols/tree/",
                                "--delimiter", "/", "--page-size", "2", "--endpoint-url", w.url, "--output", "json"],
                         env=env_, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [p["Prefix"] for p in json.loads(out.stdout)["CommonPrefixes"]] == want


def test_a_continuation_token_of_another_product_or_caller_is_invalid_argument(env, alice, carol):
    w, _ = env
    token = carol.list_objects_v2(Bucket="demo", Prefix="carols/", MaxKeys=2)["NextContinuationToken"]
    assert carol.list_objects_v2(Bucket="demo", Prefix="carols/", MaxKeys=2, ContinuationToken=token)["KeyCount"] == 2
    public = s3_for(w).list_objects_v2(Bucket="demo", Prefix="public-data/", MaxKeys=1)["NextContinuationToken"]
    for client, prefix, t in ((carol, "public-data/", token),  # another product
                              (alice, "carols/", token),  # another caller (alice may not list carols at all)
                              (alice, "public-data/", public),  # anonymous's token, alice's request
                              (carol, "carols/", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))):  # tampered
        with pytest.raises(ClientError) as e:
            client.list_objects_v2(Bucket="demo", Prefix=prefix, MaxKeys=2, ContinuationToken=t)
        assert code(e.value) == "InvalidArgument" and status(e.value) == 400, (prefix, t)
