"""S3 and STS clients for the S3 suites: credentials from the worker's /.sts (through a test
IdP) and boto3 S3 clients, signed or unsigned, pointed at a worker."""

from __future__ import annotations

import os
import sys

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

# Path-style addressing, one attempt, and SigV4 everywhere: botocore presigns with legacy
# SigV2 unless told "s3v4", and the proxy accepts only AWS4-HMAC-SHA256.
BOTO = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, signature_version="s3v4")


def credentials(w, idp, subject: str, session: str = "e2e") -> dict:
    """Temporary credentials for `subject` from the worker's /.sts, as boto3 client kwargs."""
    sts = boto3.client("sts", endpoint_url=w.url + "/.sts", region_name="us-east-1",
                       aws_access_key_id="unused", aws_secret_access_key="unused")
    token = idp.mint({"sub": subject})
    c = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::000000000000:role/_default",
                                          RoleSessionName=session, WebIdentityToken=token)["Credentials"]
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


def aws_cli(tmp_path, creds: dict | None = None) -> tuple[list[str], dict]:
    """The AWS CLI (from the venv) and an environment with nothing but `creds` in it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    if creds:
        env.update(AWS_ACCESS_KEY_ID=creds["aws_access_key_id"], AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"],
                   AWS_SESSION_TOKEN=creds["aws_session_token"])
    return [sys.executable, "-m", "awscli"], env
