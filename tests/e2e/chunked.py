"""A chunked upload whose last chunk is held back until the worker has answered: the worker
must decide from what it has read so far (at most the 64 KiB bound, or nothing at all)
instead of waiting for the body's end.

`wrangler dev`'s proxy passes the request on at once but holds the worker's answer until
the request body has ended, so "answered before the end" is read from the worker's own
log line for the request; then the body is finished and the answer read from the socket.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from workerd import Worker

CHUNK = b"a" * 16384


@dataclass
class Answer:
    status: int | None  # what the client got; None when the connection was reset unread
    logged_status: int | None  # what the worker logged before the body was finished
    headers: dict[str, str]  # lower-case names
    body: bytes
    # The peer closed the connection while the body was still being sent (the answer came
    # first and the unread rest of the upload made the kernel reset the connection).
    reset: bool = False


def _request_lines(worker: Worker, method: str, path: str) -> list[dict]:
    out = []
    for line in worker.log().splitlines():
        if line.startswith("{"):
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if v.get("msg") == "request" and v.get("method") == method and v.get("path") == path:
                out.append(v)
    return out


def _logged_status(worker: Worker, method: str, path: str, before: int, wait: float) -> int | None:
    """The status of the first request line logged after the `before` ones, waiting up to `wait` s."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        lines = _request_lines(worker, method, path)
        if len(lines) > before:
            return lines[before]["status"]
        time.sleep(0.1)
    return None


def upload_answered_before_its_end(worker: Worker, method: str, path: str, send_bytes: int,
                                   headers: dict[str, str] | None = None, wait: float = 10) -> Answer:
    """Sends `method path` with `Transfer-Encoding: chunked` and `send_bytes` of body in 16 KiB
    chunks, waits up to `wait` seconds for the worker to log its answer, then sends the last
    chunk and reads the answer."""
    u = urlsplit(worker.url)
    head = [f"{method} {path} HTTP/1.1", f"Host: {u.netloc}", "Transfer-Encoding: chunked", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    before = len(_request_lines(worker, method, path))
    logged = None
    data = b""
    reset = False
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        try:
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for _ in range(send_bytes // len(CHUNK)):
                s.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            logged = _logged_status(worker, method, path, before, wait)
            s.sendall(b"0\r\n\r\n")
            while got := s.recv(65536):
                data += got
        except (ConnectionResetError, BrokenPipeError):
            # Answered and closed while the upload was still coming: the unread rest of it
            # makes the kernel reset the connection, and the answer may go down with it.
            # What the worker decided is in its log line.
            reset = True
    if logged is None:
        logged = _logged_status(worker, method, path, before, wait)
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        return Answer(status=None, logged_status=logged, headers={}, body=b"", reset=reset)
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Answer(status=int(lines[0].split()[1]), logged_status=logged, headers=hdrs, body=body, reset=reset)
