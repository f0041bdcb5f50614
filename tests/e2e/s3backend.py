"""An S3-compatible storage backend on loopback: moto's S3 in server mode, in its own process,
behind a keep-alive front.

workerd reuses connections, and moto's werkzeug server closes every connection after one
reply (it sends `Connection: close`), which made the worker's second fetch in one request
fail. So the worker talks to `KeepAliveFront`, an HTTP/1.1 keep-alive server that forwards
each request unchanged (`Host` included, so signatures still verify) to moto on a fresh
connection. `MotoS3.url` is the front; `MotoS3.direct_url` is moto itself.

With `auth=True` moto checks every request's SigV4 signature against an IAM access key (its
`INITIAL_NO_AUTH_ACTION_COUNT` lets the first three requests through unauthenticated: they
create the IAM user, its policy and its key), so a worker that signs its outbound requests
wrongly is refused, as AWS S3 would refuse it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from loopback import KeepAliveHandler, LoopbackServer
from workerd import free_port, stop_process_group

_SETUP_ACTIONS = 3  # create_user, put_user_policy, create_access_key


class _Forward(KeepAliveHandler):
    server: "object"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.server.owner.target_port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in ("connection", "keep-alive"):
                    conn.putheader(name, value)
            conn.endheaders(body)
            res = conn.getresponse()
            data = res.read()
        finally:
            conn.close()
        self.send_response(res.status, res.reason)
        for name, value in res.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", res.getheader("content-length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


class KeepAliveFront(LoopbackServer):
    """Forwards every request, byte for byte, to 127.0.0.1:`target_port`; keeps connections alive."""

    handler = _Forward

    def __init__(self, target_port: int):
        super().__init__("moto-front")
        self.target_port = target_port


class MotoS3:
    def __init__(self, auth: bool = True):
        self.auth = auth
        self.direct_port = free_port()
        self.direct_url = f"http://127.0.0.1:{self.direct_port}"
        self.front = KeepAliveFront(self.direct_port)
        self.url = ""
        self.access_key_id = "unused"
        self.secret_access_key = "unused"
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="moto-", suffix=".log")[1])

    def start(self, timeout: float = 30.0) -> "MotoS3":
        env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1")
        if self.auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_SETUP_ACTIONS)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.direct_port)],
            env=env, stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.direct_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto did not listen within {timeout}s: {self.log()}")
                time.sleep(0.1)
        self.front.start()
        self.url = f"http://127.0.0.1:{self.front.port}"
        if self.auth:
            iam = boto3.client("iam", endpoint_url=self.direct_url, region_name="us-east-1",
                               aws_access_key_id="setup", aws_secret_access_key="setup")
            iam.create_user(UserName="proxy")
            iam.put_user_policy(UserName="proxy", PolicyName="read", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="proxy")["AccessKey"]
            self.access_key_id, self.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]
        return self

    def client(self, direct: bool = True, **overrides):
        """A boto3 client with the backend's own key, for seeding and for direct reads: to moto
        itself, or (`direct=False`) through the front the worker uses."""
        kw = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        kw.update(overrides)
        return boto3.client("s3", endpoint_url=self.direct_url if direct else self.url, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                                          request_checksum_calculation="when_required"),
                            **kw)

    @property
    def secret_value(self) -> str:
        """The worker secret for this backend: ACCESS_KEY_ID:SECRET_ACCESS_KEY."""
        return f"{self.access_key_id}:{self.secret_access_key}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        self.front.stop()
        stop_process_group(self.proc)
        self.log_path.unlink(missing_ok=True)
