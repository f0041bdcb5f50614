"""Session policies end to end in workerd: credentials scoped down with the `Policy` of
AssumeRoleWithWebIdentity (boto3 and the AWS CLI) read inside the policy's prefix, get 403
AccessDenied outside it, and list only what its `s3:prefix` condition allows; a policy the
proxy cannot evaluate is MalformedPolicyDocument at /.sts."""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest
from botocore.exceptions import ClientError

from s3clients import AWS_CLI, catalogue_env, cli_env, code, credentials, s3_for, status

CATALOGUE = {"accounts": {"demo": {"products": {
    "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
    "team-data": {"visibility": "restricted", "readers": ["alice"],
                  "backend": {"type": "r2", "prefix": "demo/team-data/"}},
}}}}
SEED = {
    "public-data/hello.txt": b"hello",
    "team-data/a/one.txt": b"a one",
    "team-data/a/two.txt": b"a two",
    "team-data/a/sub/three.txt": b"a three",
    "team-data/b/secret.txt": b"b secret",
}
ROLE_ARN = "arn:aws:iam::000000000000:role/_default"

# The IAM user guide's folder pattern: read and list team-data/a/ only.
FOLDER_A = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadFolderA", "Effect": "Allow", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::demo/team-data/a/*"},
    {"Sid": "ListFolderA", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::demo",
     "Condition": {"StringLike": {"s3:prefix": ["team-data/a/*"]}}},
]}, indent=2)  # whitespace and all, as users write it
# Listing the account root is allowed, but only public-data may be listed or read below it.
PUBLIC_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::demo/team-data/*"},
    {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::demo",
     "Condition": {"StringLike": {"s3:prefix": "team-data/*"}}},
]})
UNSUPPORTED = json.dumps({"Version": "2012-10-17", "Statement": {
    "Effect": "Allow", "NotAction": "s3:PutObject", "Resource": "*"}})


@pytest.fixture(scope="module")
def env():
    with catalogue_env("policy", CATALOGUE, {f"demo/{k}": body for k, body in SEED.items()}) as pair:
        yield pair


def keys_of(pages) -> list[str]:
    return [o["Key"] for p in pages for o in p.get("Contents", [])]


def denied(call) -> None:
    with pytest.raises(ClientError) as e:
        call()
    assert (code(e.value), status(e.value)) in (("AccessDenied", 403), ("403", 403)), e.value.response


def test_boto3_prefix_limited_policy_reads_inside_is_403_outside_and_lists_only_its_prefix(env):
    w, idp = env
    # Without a policy alice reads the whole product: the policy is what narrows it.
    assert s3_for(w, credentials(w, idp, "alice")).get_object(
        Bucket="demo", Key="team-data/b/secret.txt")["Body"].read() == b"b secret"
    s3 = s3_for(w, credentials(w, idp, "alice", policy=FOLDER_A))
    assert s3.get_object(Bucket="demo", Key="team-data/a/one.txt")["Body"].read() == b"a one"
    assert s3.head_object(Bucket="demo", Key="team-data/a/sub/three.txt")["ContentLength"] == 7
    denied(lambda: s3.get_object(Bucket="demo", Key="team-data/b/secret.txt"))
    denied(lambda: s3.head_object(Bucket="demo", Key="team-data/b/secret.txt"))
    # Even a public object: the effective rights are the policy's AND the caller's.
    denied(lambda: s3.get_object(Bucket="demo", Key="public-data/hello.txt"))
    for version in ("list_objects_v2", "list_objects"):
        pages = s3.get_paginator(version).paginate(Bucket="demo", Prefix="team-data/a/",
                                                   PaginationConfig={"PageSize": 1})
        assert keys_of(pages) == ["team-data/a/one.txt", "team-data/a/sub/three.txt", "team-data/a/two.txt"]
        listing = getattr(s3, version)
        for prefix in ("team-data/", "team-data/b/", "", "public-data/"):
            denied(lambda: listing(Bucket="demo", Prefix=prefix))
    denied(lambda: s3.head_bucket(Bucket="demo"))
    denied(lambda: s3.get_bucket_location(Bucket="demo"))


def test_an_explicit_deny_hides_a_product_from_account_listings(env):
    w, idp = env
    s3 = s3_for(w, credentials(w, idp, "alice", policy=PUBLIC_ONLY))
    top = s3.list_objects_v2(Bucket="demo", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["public-data/"]
    for version in ("list_objects_v2", "list_objects"):
        pages = s3.get_paginator(version).paginate(Bucket="demo", PaginationConfig={"PageSize": 1})
        assert keys_of(pages) == ["public-data/hello.txt"]
    denied(lambda: s3.list_objects_v2(Bucket="demo", Prefix="team-data/a/"))
    denied(lambda: s3.get_object(Bucket="demo", Key="team-data/a/one.txt"))
    assert s3.get_object(Bucket="demo", Key="public-data/hello.txt")["Body"].read() == b"hello"
    s3.head_bucket(Bucket="demo")
    assert s3.get_bucket_location(Bucket="demo")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_boto3_unsupported_or_malformed_policy_is_malformed_policy_document(env):
    w, idp = env
    sts = boto3.client("sts", endpoint_url=w.url + "/.sts", region_name="us-east-1",
                       aws_access_key_id="unused", aws_secret_access_key="unused")
    for policy in (UNSUPPORTED, "not json", '{"Version":"2012-10-17"}'):
        with pytest.raises(ClientError) as e:
            sts.assume_role_with_web_identity(RoleArn=ROLE_ARN, RoleSessionName="scoped",
                                              WebIdentityToken=idp.mint({"sub": "alice"}), Policy=policy)
        assert (code(e.value), status(e.value)) == ("MalformedPolicyDocument", 400), policy
        assert e.value.response["Error"]["Message"], policy


def test_aws_cli_assume_role_with_web_identity_policy_scopes_s3_reads_and_listings(env, tmp_path):
    w, idp = env
    aws, base = AWS_CLI, cli_env(tmp_path)

    def run(*args: str, env: dict = base) -> subprocess.CompletedProcess:
        return subprocess.run(aws + list(args), env=env, capture_output=True, text=True, timeout=60)

    def assume(policy: str) -> subprocess.CompletedProcess:
        return run("sts", "assume-role-with-web-identity", "--endpoint-url", w.url + "/.sts",
                   "--role-arn", ROLE_ARN, "--role-session-name", "cli", "--output", "json",
                   "--web-identity-token", idp.mint({"sub": "alice"}), "--policy", policy)

    p = assume(FOLDER_A)
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)["Credentials"]
    signed = dict(base, AWS_ACCESS_KEY_ID=c["AccessKeyId"], AWS_SECRET_ACCESS_KEY=c["SecretAccessKey"],
                  AWS_SESSION_TOKEN=c["SessionToken"])
    cp = run("s3", "cp", "s3://demo/team-data/a/two.txt", "-", "--endpoint-url", w.url, env=signed)
    assert cp.returncode == 0 and cp.stdout == "a two", cp.stderr
    got = run("s3api", "get-object", "--bucket", "demo", "--key", "team-data/b/secret.txt", str(tmp_path / "out"),
              "--endpoint-url", w.url, env=signed)
    assert got.returncode != 0 and "(AccessDenied)" in got.stderr, got.stderr
    assert not (tmp_path / "out").exists() or b"b secret" not in (tmp_path / "out").read_bytes()
    ls = run("s3", "ls", "--recursive", "s3://demo/team-data/a/", "--endpoint-url", w.url, env=signed)
    assert ls.returncode == 0, ls.stderr
    assert [line.split()[-1] for line in ls.stdout.splitlines()] == [
        "team-data/a/one.txt", "team-data/a/sub/three.txt", "team-data/a/two.txt"]
    ls = run("s3", "ls", "s3://demo/team-data/", "--endpoint-url", w.url, env=signed)
    assert ls.returncode != 0 and "AccessDenied" in ls.stderr, ls.stderr
    p = assume(UNSUPPORTED)
    assert p.returncode != 0 and "(MalformedPolicyDocument)" in p.stderr, p.stderr
