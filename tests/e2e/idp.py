"""A small OpenID provider for the end-to-end suite, run in-process in a background thread.

`TestIdP` serves plain http on a free loopback port (the worker accepts http for loopback
issuers):

    GET /.well-known/openid-configuration   discovery (issuer, jwks_uri, ...)
    GET /jwks                               the published keys, `Cache-Control: max-age=N`

It speaks HTTP/1.1 with keep-alive and an exact Content-Length: workerd pools connections,
and a server that closed after each reply would make its fetches fail.

Controls, all plain methods: `add_key` / `publish` / `rotate` (which keys are in the JWKS),
`max_age` (settable attribute), `go_down(listen=...)` (answer 503 to everything, or stop
listening and drop every open connection) and `come_back()`, `count(path)` (requests per
path, also counted while answering 503), and token minting: `mint(...)` with sensible
default claims, plus hostile helpers (`mint_alg_none`, `mint_hs256_with_public_key`,
`mint_unknown_kid`, `tampered`, `oversized`, `mint_es256`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from loopback import KeepAliveHandler, LoopbackServer

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()
"""Pass as a claim or header value to `mint` to leave that member out entirely."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _json_b64(obj: dict) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def _uint(v: int) -> str:
    return b64url(v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big"))


@dataclass
class IdPKey:
    """A signing key of the test IdP: RSA (RS256) or EC P-256 (ES256)."""

    kid: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def alg(self) -> str:
        return "RS256" if isinstance(self.private, rsa.RSAPrivateKey) else "ES256"

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self) -> dict:
        pub = self.private.public_key().public_numbers()
        if isinstance(self.private, rsa.RSAPrivateKey):
            return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": _uint(pub.n), "e": _uint(pub.e)}
        return {"kty": "EC", "use": "sig", "alg": "ES256", "kid": self.kid, "crv": "P-256",
                "x": b64url(pub.x.to_bytes(32, "big")), "y": b64url(pub.y.to_bytes(32, "big"))}

    def sign(self, signing_input: bytes) -> bytes:
        """JWS signature bytes (RS256: PKCS#1 v1.5; ES256: raw r || s, RFC 7518 §3.4)."""
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def new_rsa_key(kid: str, bits: int = 2048) -> IdPKey:
    return IdPKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits))


def new_ec_key(kid: str) -> IdPKey:
    return IdPKey(kid, ec.generate_private_key(ec.SECP256R1()))


def sign_compact(header: dict, claims: dict, key: IdPKey | None, alg: str | None = None) -> str:
    """A compact JWS with exactly this header, signed by `key` (none: empty signature).

    Unlike PyJWT this never adjusts the header, so a test can make it say anything."""
    signing_input = f"{_json_b64(header)}.{_json_b64(claims)}"
    sig = b"" if key is None else key.sign(signing_input.encode())
    return f"{signing_input}.{b64url(sig)}"


class _Handler(KeepAliveHandler):

    def _reply(self, status: int, body: bytes, content_type: str = "application/json",
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        idp = self.server.owner
        path = self.path.split("?", 1)[0]
        with idp._lock:
            idp.requests[path] += 1
            down = idp.down
            max_age = idp.max_age
        if down:
            self._reply(503, b'{"error":"temporarily_unavailable"}', headers={"Retry-After": "1"})
        elif path == DISCOVERY_PATH:
            self._reply(200, json.dumps(idp.discovery()).encode(), headers={"Cache-Control": f"max-age={max_age}"})
        elif path == JWKS_PATH:
            self._reply(200, json.dumps(idp.jwks()).encode(), headers={"Cache-Control": f"public, max-age={max_age}"})
        else:
            self._reply(404, b'{"error":"not_found"}')

    do_HEAD = do_GET




class TestIdP(LoopbackServer):
    """An OpenID provider on http://127.0.0.1:<port>, in a background thread."""

    handler = _Handler

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "idp", max_age: int = 300, audience: str = "e2e-client",
                 subject: str = "e2e-subject", key_bits: int = 2048):
        super().__init__(name)
        self.max_age = max_age
        self.audience = audience
        self.subject = subject
        self.key_bits = key_bits
        self.down = False
        self.requests: Counter[str] = Counter()
        self.keys: dict[str, IdPKey] = {}
        self.published: list[str] = []
        self._key_serial = 0
        self.add_key()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        assert self.port, "start() the IdP first"
        return f"http://127.0.0.1:{self.port}"

    def go_down(self, listen: bool = True) -> None:
        """Answer 503 to everything (listen=True), or stop listening entirely (listen=False)."""
        with self._lock:
            self.down = True
        if not listen:
            self._close()

    def come_back(self) -> None:
        """Serve normally again, listening again on the same port if needed."""
        with self._lock:
            self.down = False
        if self._server is None:
            self.start()

    # -- documents ---------------------------------------------------------------------

    def discovery(self) -> dict:
        iss = self.issuer
        return {
            "issuer": iss,
            "authorization_endpoint": iss + "/authorize",
            "token_endpoint": iss + "/token",
            "jwks_uri": iss + JWKS_PATH,
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }

    def jwks(self) -> dict:
        with self._lock:
            return {"keys": [self.keys[k].jwk() for k in self.published]}

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests[path]

    # -- keys --------------------------------------------------------------------------

    def _next_kid(self) -> str:
        self._key_serial += 1
        return f"{self.name}-{self._key_serial}"

    def add_key(self, kid: str | None = None, key: Any = None, kty: str = "RSA", publish: bool = True) -> IdPKey:
        """Adds a key (a cryptography private key, or a fresh RSA/EC one), published or not."""
        kid = kid or self._next_kid()
        if key is None:
            k = new_rsa_key(kid, self.key_bits) if kty == "RSA" else new_ec_key(kid)
        else:
            k = IdPKey(kid, key)
        with self._lock:
            self.keys[kid] = k
            if publish and kid not in self.published:
                self.published.append(kid)
        return k

    def publish(self, *kids: str) -> None:
        """Makes exactly these keys the published JWKS, in this order."""
        with self._lock:
            for kid in kids:
                assert kid in self.keys, kid
            self.published = list(kids)

    def rotate(self, keep_old: bool = False, kty: str = "RSA") -> IdPKey:
        """Publishes a new key first (and drops the others unless keep_old); it becomes the default."""
        new = self.add_key(kty=kty, publish=False)
        with self._lock:
            self.published = [new.kid] + (self.published if keep_old else [])
        return new

    @property
    def current(self) -> IdPKey:
        """The default signing key: the first published one."""
        with self._lock:
            return self.keys[self.published[0]]

    # -- tokens ------------------------------------------------------------------------

    def claims(self, overrides: dict | None = None, lifetime: int = 300) -> dict:
        now = int(time.time())
        c = {"iss": self.issuer, "sub": self.subject, "aud": self.audience, "iat": now, "exp": now + lifetime}
        for k, v in (overrides or {}).items():
            if v is OMIT:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def mint(self, claims_overrides: dict | None = None, header_overrides: dict | None = None,
             key: IdPKey | None = None, alg: str | None = None, lifetime: int = 300) -> str:
        """A token signed by `key` (default: the current key) with default claims
        iss, sub, aud, iat, exp=iat+lifetime, changed by `claims_overrides` (OMIT removes).

        Without header overrides it is signed by PyJWT; with them, the header is taken
        verbatim ({"alg", "typ", "kid"} + overrides; OMIT removes) and signed here, so a
        test can make the header lie (e.g. `alg` not matching the key)."""
        key = key or self.current
        alg = alg or key.alg
        claims = self.claims(claims_overrides, lifetime)
        if not header_overrides and alg == key.alg:
            return jwt.encode(claims, key.private, algorithm=alg, headers={"kid": key.kid})
        header = {"alg": alg, "typ": "JWT", "kid": key.kid}
        for k, v in (header_overrides or {}).items():
            if v is OMIT:
                header.pop(k, None)
            else:
                header[k] = v
        return sign_compact(header, claims, key)

    def mint_es256(self, claims_overrides: dict | None = None, key: IdPKey | None = None) -> str:
        """ES256 with an EC P-256 key (added and published on first use)."""
        if key is None:
            with self._lock:
                key = next((k for k in self.keys.values() if k.alg == "ES256"), None)
            key = key or self.add_key(kty="EC")
        return self.mint(claims_overrides, key=key)

    def mint_alg_none(self, claims_overrides: dict | None = None) -> str:
        """`alg: none`, unsigned: `header.payload.` with an empty signature."""
        header = {"alg": "none", "typ": "JWT", "kid": self.current.kid}
        return sign_compact(header, self.claims(claims_overrides), None)

    def mint_hs256_with_public_key(self, claims_overrides: dict | None = None, key: IdPKey | None = None) -> str:
        """The classic key-confusion attack: HS256 keyed with the RSA public key's PEM."""
        key = key or self.current
        header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
        signing_input = f"{_json_b64(header)}.{_json_b64(self.claims(claims_overrides))}"
        mac = hmac.new(key.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    def mint_unknown_kid(self, claims_overrides: dict | None = None, kid: str | None = None) -> str:
        """Signed by a fresh key that is not (yet) in the JWKS."""
        ghost = self.add_key(kid=kid or f"{self.name}-ghost-{self._key_serial + 1}", publish=False)
        return self.mint(claims_overrides, key=ghost)

    def tampered(self, claims_overrides: dict | None = None, **changed: Any) -> str:
        """A validly signed token whose payload is re-encoded with `changed` claims after
        signing (default: a different sub), keeping the original signature."""
        token = self.mint(claims_overrides)
        h, p, s = token.split(".")
        claims = json.loads(b64url_decode(p))
        claims.update(changed or {"sub": "someone-else"})
        return f"{h}.{_json_b64(claims)}.{s}"

    def oversized(self, length: int = 20_500) -> str:
        """A validly signed token longer than `length` characters (a padded claim)."""
        pad = "x"
        while True:
            token = self.mint({"pad": pad})
            if len(token) > length:
                return token
            pad += "x" * ((length - len(token)) * 3 // 4 + 16)


def signature_of(token: str) -> str:
    return token.rsplit(".", 1)[-1]
