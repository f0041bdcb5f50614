"""A test upstream API (docs/upstream-api.md) for the end-to-end suite, run in-process in a
background thread, in the style of `idp.TestIdP`.

    GET /products/{account}/{product}     what one caller may do with one product
    GET /accounts/{account}/products      the products one caller may list

Every request must carry `Authorization: Bearer <JWT>` minted by the worker's OpenID
provider. `TestUpstream` verifies each one with PyJWT against the worker's own JWKS
(`{issuer}/.well-known/jwks.json`, through `PyJWKClient`): RS256, `iss`, `aud`, `exp`,
`iat`, `nbf == iat`, `exp - iat == 60`, `sub` and `jti` present. A token that fails gets a
401 and is recorded as a failure, so a test can assert there were none.

It speaks HTTP/1.1 with keep-alive and an exact Content-Length (workerd pools connections)
and cuts kept-alive connections on `stop()`.

Controls, all plain methods:

- `set_product(account, product, answer, subject=None)`: the answer for one product, for one
  subject or (subject=None) for everyone without their own; `answer` is a dict (200 JSON) or
  an int status (e.g. 404). Unknown products answer 404. A subject is a `sub` (any IdP's), or
  an `(issuer, sub)` pair matched against the token's `sub_id` (RFC 9493 `iss_sub`), which
  wins over a bare `sub`.
- `set_account(account, answer, subject=None)`: the same for `/accounts/{account}/products`;
  a dict, a list of product entries (wrapped as {"products": [...]}), or an int status.
- `fail(path, status=None, invalid_json=False, delay=0.0)`: a failure mode for one RAW path
  (as received, e.g. "/products/demo/up500"): answer `status`, or a 200 with a body that is
  not JSON, after sleeping `delay` seconds. `clear_failure(path)` undoes it.
- `log`: every request, as `Seen(raw_path, segments, sub, ok, error, claims, kid, token)`;
  `seen(raw_path=None, sub=None)`, `count(...)`, `failures()`, `raw_paths()`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import jwt

from loopback import KeepAliveHandler, LoopbackServer

LIFETIME = 60  # exp - iat of every per-caller JWT, by contract


def product_answer(prefix: str, visibility: str = "public", read: bool = True, list: bool = True) -> dict:
    """A 200 answer for `/products/...` with an R2 backend at `prefix`."""
    return {"visibility": visibility, "permissions": {"read": read, "list": list},
            "backend": {"type": "r2", "prefix": prefix}}


def account_entry(product: str, visibility: str = "public", read: bool = True, list: bool = True) -> dict:
    """One entry of an `/accounts/{account}/products` answer."""
    return {"product": product, "visibility": visibility, "permissions": {"read": read, "list": list}}


def encode_segment(s: str) -> str:
    """The contract's encoding of one path segment: unreserved kept, all else %XX upper-case."""
    return quote(s, safe="")  # quote always keeps A-Za-z0-9 and "-._~"


@dataclass
class Seen:
    raw_path: str                 # exactly as received (undecoded), query and all
    segments: list[str]           # raw_path split on "/" (still encoded), without the leading ""
    sub: str | None               # the verified subject (None if verification failed)
    ok: bool                      # the JWT verified
    error: str | None = None      # why not
    claims: dict = field(default_factory=dict)
    kid: str | None = None
    token: str | None = None
    at: float = 0.0


@dataclass
class Failure:
    status: int | None = None
    invalid_json: bool = False
    delay: float = 0.0


class _Handler(KeepAliveHandler):

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        up = self.server.owner
        raw = self.path
        seen = up._verify(raw, self.headers.get("Authorization"))
        with up._lock:
            up.log.append(seen)
            failure = up.failures_by_path.get(raw)
        if not seen.ok:
            self._reply(401, json.dumps({"error": "invalid_token", "detail": seen.error}).encode())
            return
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            if failure.status is not None:
                self._reply(failure.status, b'{"error":"injected"}')
                return
            if failure.invalid_json:
                self._reply(200, b'{"visibility": "public", "permissions": {', "application/json")
                return
        status, body = up._answer(seen)
        self._reply(status, json.dumps(body).encode())

    def do_POST(self) -> None:
        self._reply(405, b'{"error":"method_not_allowed"}')

    do_PUT = do_DELETE = do_POST




class TestUpstream(LoopbackServer):
    """The upstream API on http://127.0.0.1:<port>, in a background thread."""

    handler = _Handler

    __test__ = False  # not a pytest test class

    def __init__(self, issuer: str, audience: str, kid: str | None = None, name: str = "upstream"):
        self.issuer = issuer            # the worker's OIDC_PROVIDER_ISSUER
        self.audience = audience        # the worker's UPSTREAM_API_AUDIENCE
        self.kid = kid                  # if set, every token's header must name this kid
        super().__init__(name)
        self.products: dict[tuple[str, str], dict[str | None, Any]] = {}
        self.accounts: dict[str, dict[str | None, Any]] = {}
        self.failures_by_path: dict[str, Failure] = {}
        self.log: list[Seen] = []
        self._jwks: jwt.PyJWKClient | None = None
        self._jwks_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.port, "start() the upstream first"
        return f"http://127.0.0.1:{self.port}"

    # -- controls ----------------------------------------------------------------------

    def set_product(self, account: str, product: str, answer: dict | int, subject: Any = None) -> None:
        with self._lock:
            self.products.setdefault((account, product), {})[subject] = answer

    def set_account(self, account: str, answer: dict | list | int, subject: Any = None) -> None:
        if isinstance(answer, list):
            answer = {"products": answer}
        with self._lock:
            self.accounts.setdefault(account, {})[subject] = answer

    def fail(self, path: str, status: int | None = None, invalid_json: bool = False, delay: float = 0.0) -> None:
        with self._lock:
            self.failures_by_path[path] = Failure(status, invalid_json, delay)

    def clear_failure(self, path: str) -> None:
        with self._lock:
            self.failures_by_path.pop(path, None)

    # -- the log -----------------------------------------------------------------------

    def seen(self, raw_path: str | None = None, sub: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.log
                    if (raw_path is None or s.raw_path == raw_path) and (sub is None or s.sub == sub)]

    def count(self, raw_path: str | None = None, sub: str | None = None) -> int:
        return len(self.seen(raw_path, sub))

    def failures(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.log if not s.ok]

    def raw_paths(self) -> list[str]:
        with self._lock:
            return [s.raw_path for s in self.log]

    # -- internals ---------------------------------------------------------------------

    def _jwk_client(self) -> jwt.PyJWKClient:
        with self._jwks_lock:
            if self._jwks is None:
                self._jwks = jwt.PyJWKClient(self.issuer + "/.well-known/jwks.json", cache_keys=True, timeout=10)
            return self._jwks

    def _verify(self, raw: str, authorization: str | None) -> Seen:
        segments = raw.split("/")[1:]
        seen = Seen(raw_path=raw, segments=segments, sub=None, ok=False, at=time.time())
        try:
            if not authorization or not authorization.startswith("Bearer "):
                raise ValueError(f"no bearer token: {authorization!r}")
            token = authorization[len("Bearer "):]
            seen.token = token
            header = jwt.get_unverified_header(token)
            seen.kid = header.get("kid")
            if header.get("alg") != "RS256":
                raise ValueError(f"alg {header.get('alg')!r}")
            if self.kid is not None and seen.kid != self.kid:
                raise ValueError(f"kid {seen.kid!r}, expected {self.kid!r}")
            key = self._jwk_client().get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=self.issuer, audience=self.audience,
                                options={"require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]})
            seen.claims = claims
            if claims["exp"] - claims["iat"] != LIFETIME:
                raise ValueError(f"lifetime {claims['exp'] - claims['iat']}, expected {LIFETIME}")
            if claims["nbf"] != claims["iat"]:
                raise ValueError(f"nbf {claims['nbf']} != iat {claims['iat']}")
            if not isinstance(claims["sub"], str) or not claims["sub"]:
                raise ValueError(f"sub {claims['sub']!r}")
            if not isinstance(claims["jti"], str) or len(claims["jti"]) < 16:
                raise ValueError(f"jti {claims['jti']!r}")
            sub_id = claims.get("sub_id")
            if claims["sub"] == "anonymous":
                if sub_id is not None:
                    raise ValueError(f"sub_id {sub_id!r} on an anonymous token")
            elif (not isinstance(sub_id, dict) or sub_id.get("format") != "iss_sub"
                  or not isinstance(sub_id.get("iss"), str) or sub_id.get("sub") != claims["sub"]
                  or set(sub_id) != {"format", "iss", "sub"}):
                raise ValueError(f"sub_id {sub_id!r} is not the iss_sub of sub {claims['sub']!r}")
            seen.sub = claims["sub"]
            seen.ok = True
        except Exception as e:  # noqa: BLE001 - anything wrong is a verification failure
            seen.error = f"{type(e).__name__}: {e}"
        return seen

    def _pick(self, answers: dict[Any, Any] | None, seen: Seen) -> Any:
        if not answers:
            return 404
        sub_id = seen.claims.get("sub_id") or {}
        pair = (sub_id.get("iss"), seen.sub)
        if pair in answers:
            return answers[pair]
        if seen.sub in answers:
            return answers[seen.sub]
        return answers.get(None, 404)

    def _answer(self, seen: Seen) -> tuple[int, Any]:
        raw = seen.raw_path
        if "?" in raw or "#" in raw:
            return 400, {"error": "unexpected query or fragment", "path": raw}
        seg = seen.segments
        with self._lock:
            if len(seg) == 3 and seg[0] == "products":
                answer = self._pick(self.products.get((unquote(seg[1]), unquote(seg[2]))), seen)
            elif len(seg) == 3 and seg[0] == "accounts" and seg[2] == "products":
                answer = self._pick(self.accounts.get(unquote(seg[1])), seen)
            else:
                return 404, {"error": "no such route", "path": raw}
        if isinstance(answer, int):
            return answer, {"error": "status", "status": answer}
        return 200, answer
