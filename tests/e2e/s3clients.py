"""S3 and STS clients for the S3 suites: credentials from the worker's /.sts (through a test
IdP) and boto3 S3 clients, signed or unsigned, pointed at a worker; and a worker serving a
catalogue from a local R2 bucket, with a way to seed it."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager

import boto3
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from idp import TestIdP
from keys import new_key, session_key_b64
from workerd import Worker, free_port

# Path-style addressing, one attempt, and SigV4 everywhere: botocore presigns with legacy
# SigV2 unless told "s3v4", and the proxy accepts only AWS4-HMAC-SHA256.
BOTO = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, signature_version="s3v4")


def credentials(w, idp, subject: str, session: str = "e2e", policy: str | None = None) -> dict:
    """Temporary credentials for `subject` from the worker's /.sts, as boto3 client kwargs,
    scoped down by the session `policy` (a JSON document) if one is given."""
    sts = boto3.client("sts", endpoint_url=w.url + "/.sts", region_name="us-east-1",
                       aws_access_key_id="unused", aws_secret_access_key="unused")
    token = idp.mint({"sub": subject})
    scoped = {"Policy": policy} if policy is not None else {}
    c = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::000000000000:role/_default",
                                          RoleSessionName=session, WebIdentityToken=token, **scoped)["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def s3_for(w, creds: dict | None = None):
    """A boto3 S3 client for the worker: signed with `creds`, unsigned without."""
    if creds is None:
        return boto3.client("s3", endpoint_url=w.url, region_name="us-east-1",
                            config=BOTO.merge(Config(signature_version=UNSIGNED)))
    return boto3.client("s3", endpoint_url=w.url, region_name="us-east-1", config=BOTO, **creds)


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def status(e: ClientError) -> int:
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


def catalogue_worker(idp, catalogue: dict, name: str) -> Worker:
    """A worker (not started) with the OpenID provider, /.sts trusting `idp`, the embedded
    `catalogue` and a local R2 bucket, with the test routes on for `seed`."""
    port = free_port()
    key = new_key(name)
    return Worker(
        port=port,
        vars={
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}",
            "OIDC_PROVIDER_KID": key.kid,
            "INSECURE_TEST_ROUTES": "1",  # for seeding the local bucket only
            "AUTH_ISSUER": idp.issuer,
            "AUTH_AUDIENCE": idp.audience,
            "CATALOGUE": json.dumps(catalogue),
        },
        secrets={"OIDC_PROVIDER_KEY": key.pem, "SESSION_TOKEN_KEY": session_key_b64()},
        extra_toml='[[r2_buckets]]\nbinding = "DATA"\nbucket_name = "e2e-data"\n',
    )


def seed(w, objects: dict[str, bytes | tuple[bytes, str]]) -> None:
    """Writes `objects` (bucket key -> body, or (body, content type); default text/plain) into
    the worker's local R2 bucket."""
    for k, value in objects.items():
        body, content_type = value if isinstance(value, tuple) else (value, "text/plain")
        quoted = requests.utils.quote(k, safe="/")
        r = requests.put(f"{w.url}/.test/r2/{quoted}", data=body, headers={"content-type": content_type}, timeout=10)
        assert r.status_code == 204, (k, r.status_code, r.text)


@contextmanager
def catalogue_env(name: str, catalogue: dict, objects: dict[str, bytes]):
    """A started test IdP and `catalogue_worker` with `objects` seeded, as `(worker, idp)`."""
    idp = TestIdP(name=f"{name}-idp").start()
    w = catalogue_worker(idp, catalogue, f"{name}-e2e")
    try:
        w.start()
        seed(w, objects)
        yield w, idp
    finally:
        w.stop()
        idp.stop()


# The AWS CLI from the suite's virtualenv.
AWS_CLI = [sys.executable, "-m", "awscli"]


def cli_env(tmp_path) -> dict:
    """An environment for the AWS CLI with no AWS configuration, credentials or metadata."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def aws_cli(tmp_path, creds: dict | None = None) -> tuple[list[str], dict]:
    """The AWS CLI (from the venv) and an environment with nothing but `creds` in it."""
    env = cli_env(tmp_path)
    if creds:
        env.update(AWS_ACCESS_KEY_ID=creds["aws_access_key_id"], AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"],
                   AWS_SESSION_TOKEN=creds["aws_session_token"])
    return AWS_CLI, env
