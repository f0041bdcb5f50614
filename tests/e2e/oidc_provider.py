"""A real OpenID provider for the end-to-end suite: the npm package `oidc-provider` (v9), run by
`tests/e2e/node/oidc_provider.mjs` on a free loopback port, plus a plain-HTTP OAuth client for it.

    op = OidcProvider(clients=[public_client("cli", ["http://127.0.0.1/callback"])]).start()
    op.issuer, op.discovery["device_authorization_endpoint"]
    pkce = Pkce()
    url = op.authorization_url("cli", "http://127.0.0.1:5000/callback", pkce=pkce, state="s")
    callback = sign_in(url, "alice", op.users["alice"]["password"])   # the provider's own forms
    tokens = op.exchange_code("cli", callback.params["code"], "http://127.0.0.1:5000/callback", pkce)
    op.refresh("cli", tokens["refresh_token"])                          # rotates it
    op.stop()

Configuration (keyword arguments of `OidcProvider`, passed to the script as JSON):
`clients` (oidc-provider client metadata; default one public native client `e2e-public`
with redirect URI http://127.0.0.1/callback on any port), `users` ({name: {password, name,
email}}; default alice and bob, see `DEFAULT_USERS`), `pkce` ("required" | "optional", a
provider configured without PKCE | "reject", a non-compliant IdP that refuses PKCE
parameters), `device_pkce` (PKCE on the device flow as Keycloak does it; default on),
`device_interval` (the `interval` sent, and the poll spacing below which `slow_down` is
answered; 0 turns both off), `slow_down_increment`, `ttl` ({"IdToken": s, "AccessToken": s,
...}), `scopes`.

The provider's discovery document advertises `authorization_response_iss_parameter_supported:
true` and sends `iss` in every authorization response (RFC 9207),
`code_challenge_methods_supported: ["S256"]`, a `device_authorization_endpoint`, a
`revocation_endpoint` and an `introspection_endpoint`. It issues a refresh token only when
`offline_access` is granted, which for the authorization code flow needs `prompt=consent`
(OpenID Connect Core 11); it rotates refresh tokens on every use and answers the reuse of a
rotated one with `invalid_grant` (revoking the grant).

Browser-free sign-in: `sign_in` (authorization code flow) and `approve_device` (device flow)
walk the provider's own HTML forms with a `requests.Session`, as a person would: user name and
password, then consent (or `deny=True`: Cancel / Deny).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jwt
import requests

from loopback import KeepAliveHandler, LoopbackServer
from workerd import ROOT, stop_process_group

SCRIPT = Path(__file__).resolve().parent / "node" / "oidc_provider.mjs"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

DEFAULT_USERS = {
    "alice": {"password": "alice-password", "name": "Alice Example", "email": "alice@example.org"},
    "bob": {"password": "bob-password", "name": "Bob Example", "email": "bob@example.org"},
}


def public_client(client_id: str, redirect_uris: list[str], native: bool = True, **metadata: Any) -> dict:
    """A public client (no secret, `token_endpoint_auth_method: none`). Native (the default):
    a loopback redirect URI matches on any port (RFC 8252 7.3)."""
    return {"client_id": client_id, "redirect_uris": redirect_uris, "token_endpoint_auth_method": "none",
            "application_type": "native" if native else "web", **metadata}


def confidential_client(client_id: str, secret: str, redirect_uris: list[str], **metadata: Any) -> dict:
    """A confidential web client authenticating with HTTP Basic (`client_secret_basic`)."""
    return {"client_id": client_id, "client_secret": secret, "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": "client_secret_basic", "application_type": "web", **metadata}


@dataclass
class Pkce:
    """An RFC 7636 verifier (43 characters from 32 random bytes) and its S256 challenge."""

    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OAuthError(Exception):
    """An OAuth error answer: `error`, `error_description`, HTTP `status`."""

    def __init__(self, status: int, body: dict):
        self.status = status
        self.error = body.get("error", "")
        self.description = body.get("error_description", "")
        super().__init__(f"{status} {self.error}: {self.description}")


def _json_or_error(r: requests.Response) -> dict:
    try:
        body = r.json()
    except ValueError:
        body = {"error": "not_json", "error_description": r.text[:200]}
    if r.status_code != 200 or "error" in body:
        raise OAuthError(r.status_code, body)
    return body


class OidcProvider:
    """oidc-provider in a Node process on http://127.0.0.1:<free port>."""

    def __init__(self, clients: list[dict] | None = None, users: dict | None = None, pkce: str = "required",
                 device_pkce: bool = True, device_interval: float = 5, slow_down_increment: float = 5,
                 ttl: dict[str, int] | None = None, scopes: list[str] | None = None, name: str = "op"):
        self.name = name
        self.users = users or DEFAULT_USERS
        self.config = {
            "port": 0,
            "clients": clients or [public_client("e2e-public", ["http://127.0.0.1/callback"])],
            "users": self.users,
            "pkce": pkce,
            "device_pkce": device_pkce,
            "device_interval": device_interval,
            "slow_down_increment": slow_down_increment,
            "ttl": ttl or {},
        }
        if scopes is not None:
            self.config["scopes"] = scopes
        self.dir = Path(tempfile.mkdtemp(prefix=f"oidc-provider-{name}-"))
        self.log_path = self.dir / "provider.log"
        self.proc: subprocess.Popen | None = None
        self.issuer = ""
        self.port = 0
        self.discovery: dict = {}
        self.http = requests.Session()  # the client's own connection pool

    @property
    def clients(self) -> list[dict]:
        return self.config["clients"]

    @property
    def audience(self) -> str:
        """The first client's id: the `aud` of its ID tokens (for `/.sts`'s AUTH_AUDIENCE)."""
        return self.clients[0]["client_id"]

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "OidcProvider":
        node = os.environ.get("NODE", "node")
        env = dict(os.environ, NO_COLOR="1")
        self.proc = subprocess.Popen([node, str(SCRIPT), json.dumps(self.config)], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log_path, "wb"), start_new_session=True)
        ready: list[dict] = []
        reader = threading.Thread(target=lambda: ready.append(json.loads(self.proc.stdout.readline() or "{}")),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not ready or not ready[0].get("ready"):
            self.stop()
            raise RuntimeError(f"oidc-provider did not start within {timeout}s:\n{self.log()}")
        self.issuer, self.port = ready[0]["issuer"], ready[0]["port"]
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self.http.get(self.issuer + "/.well-known/openid-configuration", timeout=5)
                if r.status_code == 200:
                    self.discovery = r.json()
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"oidc-provider served no discovery document within {timeout}s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Ends the Node process (its process group); safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        stop_process_group(self.proc)
        self.http.close()

    def log(self) -> str:
        """The provider's stderr: one line per request (method, path, status), warnings."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "OidcProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test-only routes --------------------------------------------------------------

    def counts(self) -> dict:
        """Requests per path, token requests per grant type, `slow_down` answers, PKCE refusals."""
        return self.http.get(self.issuer + "/_test/counts", timeout=5).json()

    def reset_counts(self) -> None:
        assert self.http.post(self.issuer + "/_test/reset", timeout=5).status_code == 204

    # -- an OAuth client over plain HTTP -----------------------------------------------

    def endpoint(self, name: str) -> str:
        """A URL from the discovery document, e.g. `endpoint("token")` -> token_endpoint."""
        return self.discovery[f"{name}_endpoint"]

    def _client(self, client_id: str) -> dict:
        return next(c for c in self.clients if c["client_id"] == client_id)

    def _auth(self, client_id: str, form: dict) -> tuple[dict, tuple[str, str] | None]:
        secret = self._client(client_id).get("client_secret")
        if secret is None:
            return {**form, "client_id": client_id}, None
        return form, (client_id, secret)

    def post(self, endpoint: str, client_id: str, **form: str) -> requests.Response:
        """A form POST to `endpoint` ("token", "device_authorization", "revocation", ...) as
        `client_id` (its secret by HTTP Basic when it has one). Values of None are left out."""
        body, auth = self._auth(client_id, {k: v for k, v in form.items() if v is not None})
        return self.http.post(self.endpoint(endpoint), data=body, auth=auth, timeout=10)

    def authorization_url(self, client_id: str, redirect_uri: str, pkce: Pkce | None = None, state: str | None = None,
                          nonce: str | None = None, scope: str = "openid offline_access profile email",
                          prompt: str | None = "consent", **extra: str) -> str:
        """An authorization request (code flow). `prompt=consent` by default: oidc-provider
        drops `offline_access` (so issues no refresh token) without it."""
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
                  "state": state or secrets.token_urlsafe(16), "nonce": nonce or secrets.token_urlsafe(16)}
        if prompt is not None:
            params["prompt"] = prompt
        if pkce is not None:
            params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
        params.update(extra)
        return self.endpoint("authorization") + "?" + urllib.parse.urlencode(params)

    def exchange_code(self, client_id: str, code: str, redirect_uri: str, pkce: Pkce | None) -> dict:
        """The token response for an authorization code (raises OAuthError)."""
        return _json_or_error(self.post("token", client_id, grant_type="authorization_code", code=code,
                                        redirect_uri=redirect_uri, code_verifier=pkce.verifier if pkce else None))

    def refresh(self, client_id: str, refresh_token: str) -> dict:
        """The token response for a refresh token (raises OAuthError, e.g. `invalid_grant`)."""
        return _json_or_error(self.post("token", client_id, grant_type="refresh_token", refresh_token=refresh_token))

    def device_authorization(self, client_id: str, pkce: Pkce | None = None,
                             scope: str = "openid offline_access profile email") -> dict:
        """RFC 8628 3.1-3.2: device_code, user_code, verification_uri(_complete), expires_in,
        interval (raises OAuthError)."""
        form = {"scope": scope}
        if pkce is not None:
            form.update(code_challenge=pkce.challenge, code_challenge_method="S256")
        return _json_or_error(self.post("device_authorization", client_id, **form))

    def poll_device(self, client_id: str, device_code: str, pkce: Pkce | None = None) -> requests.Response:
        """One device-code token request (RFC 8628 3.4), answered as is."""
        return self.post("token", client_id, grant_type=DEVICE_GRANT, device_code=device_code,
                         code_verifier=pkce.verifier if pkce else None)

    def revoke(self, client_id: str, token: str, hint: str | None = "refresh_token") -> None:
        """RFC 7009 revocation (200 even for an unknown token)."""
        r = self.post("revocation", client_id, token=token, token_type_hint=hint)
        assert r.status_code == 200, (r.status_code, r.text)

    def verify_id_token(self, id_token: str, client_id: str, nonce: str | None = None) -> dict:
        """The ID token's claims, its RS256 signature checked against the provider's JWKS."""
        keys = jwt.PyJWKClient(self.discovery["jwks_uri"], cache_keys=False)
        claims = jwt.decode(id_token, keys.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                            audience=client_id, issuer=self.issuer)
        if nonce is not None:
            assert claims.get("nonce") == nonce, "nonce mismatch"
        return claims


# ---------------------------------------------------------------------------------------
# The provider's HTML forms, walked over plain HTTP.


@dataclass
class Form:
    id: str | None
    action: str
    method: str
    fields: dict[str, str]
    submits: list[tuple[str | None, str | None, str | None]]  # (id, name, value) of submit buttons


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self.ids: dict[str, str] = {}  # element id -> its text (error messages, user code)
        self._open: list[tuple[str, str]] = []  # (tag, id) of the open elements that have an id
        self._text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("id"), a.get("action", ""), a.get("method", "get").upper(), {}, []))
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type") == "submit":
                self.forms[-1].submits.append((a.get("id"), a["name"], a.get("value", "")))
            else:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("type", "submit") == "submit":
            self.forms[-1].submits.append((a.get("id"), a.get("name"), a.get("value")))
        if "id" in a and tag not in ("input", "form", "br", "img", "meta"):
            self._open.append((tag, a["id"]))
            self._text[a["id"]] = []

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            _, done = self._open.pop()
            self.ids[done] = "".join(self._text.pop(done, [])).strip()

    def handle_data(self, data):
        for _, open_id in self._open:
            self._text[open_id].append(data)


def parse_page(html: str) -> _Forms:
    p = _Forms()
    p.feed(html)
    p.close()
    return p


@dataclass
class Callback:
    """Where the provider sent the browser back to the client (not fetched)."""

    url: str

    @property
    def params(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.url).query))


class SignInError(AssertionError):
    pass


def _origin(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def walk_forms(url: str, user: str | None, password: str | None, deny: bool = False,
               session: requests.Session | None = None, max_steps: int = 20) -> Callback | str:
    """Follows the provider's pages from `url` as a person would: the user-code form as given,
    sign in as `user`, consent (or `deny`). Returns a `Callback` when the provider redirects
    to another origin (the client's redirect URI, not fetched), else the final page's text
    (e.g. the device flow's success page). Raises SignInError on an error page or a refused
    login."""
    s = session or requests.Session()
    origin = _origin(url)
    method, data = "GET", None
    denied = False  # an abort form was sent: the page after it is the answer, not a failure
    for _ in range(max_steps):
        r = s.request(method, url, data=data, allow_redirects=False, timeout=10)
        if r.is_redirect:
            url = urllib.parse.urljoin(url, r.headers["Location"])
            if _origin(url) != origin:
                return Callback(url)
            method, data = "GET", None
            continue
        page = parse_page(r.text)
        if denied:
            return " ".join(page.ids.values()) or r.text
        if "error" in page.ids or "login-error" in page.ids or "device-error" in page.ids:
            detail = page.ids.get("error_description") or page.ids.get("login-error") or page.ids.get("device-error")
            raise SignInError(f"{r.status_code} at {url}: {page.ids.get('error', '')} {detail}")
        forms = [f for f in page.forms if (f.id == "abort") == deny] or [f for f in page.forms if f.id != "abort"]
        if not forms:
            return " ".join(page.ids.values()) or r.text
        form = forms[0]
        denied = form.id == "abort"
        data = dict(form.fields)
        if "login" in data or "password" in data:
            if user is None:
                raise SignInError(f"asked to sign in at {url}, no user given")
            data.update(login=user, password=password or "")
        for _, name, value in form.submits[:1]:
            if name:
                data[name] = value or ""
        method, url = form.method, urllib.parse.urljoin(url, form.action or url)
    raise SignInError(f"no end after {max_steps} pages, at {url}")


def sign_in(authorization_url: str, user: str, password: str, deny: bool = False,
            session: requests.Session | None = None) -> Callback:
    """The authorization code flow's user part over HTTP: sign in and consent (or deny);
    the redirect back to the client, not followed."""
    out = walk_forms(authorization_url, user, password, deny=deny, session=session)
    if not isinstance(out, Callback):
        raise SignInError(f"the provider did not redirect back; last page: {out[:300]}")
    return out


def approve_device(verification_uri_complete: str, user: str, password: str, deny: bool = False,
                   session: requests.Session | None = None) -> str:
    """The device flow's user part over HTTP (RFC 8628 3.3): open the verification URI with the
    code, confirm it, sign in, consent (or `deny`: abort at the first page that offers it).
    Returns the final page's text."""
    out = walk_forms(verification_uri_complete, user, password, deny=deny, session=session)
    if isinstance(out, Callback):
        raise SignInError(f"unexpected redirect to {out.url}")
    return out


def poll_until_done(op: OidcProvider, client_id: str, device_code: str, pkce: Pkce | None = None,
                    interval: float | None = None, timeout: float = 60) -> dict:
    """A well-behaved device-flow client (RFC 8628 3.4-3.5): polls every `interval` seconds
    (default: the server's, else 5), adding 5 s on `slow_down`, until tokens or an error."""
    step = 5.0 if interval is None else interval
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(step)
        r = op.poll_device(client_id, device_code, pkce)
        body = r.json()
        if r.status_code == 200:
            return body
        if body.get("error") == "authorization_pending":
            continue
        if body.get("error") == "slow_down":
            step += 5
            continue
        raise OAuthError(r.status_code, body)
    raise TimeoutError("device flow did not finish")


# ---------------------------------------------------------------------------------------
# A client's redirect URI on loopback, for browser flows.


class _RedirectHandler(KeepAliveHandler):
    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path.split("?", 1)[0] != "/callback":  # a browser asks for /favicon.ico too
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with owner._lock:
            owner.received.append(f"{owner.origin}{self.path}")
        body = b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Callback</title></head>' \
               b'<body><p id="callback">callback received</p></body></html>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class RedirectTarget(LoopbackServer):
    """A client's redirect URI, http://127.0.0.1:<port>/callback: serves a small page and
    records every URL it was opened with (`received`, `last`); other paths are 404."""

    handler = _RedirectHandler

    def __init__(self, name: str = "redirect"):
        super().__init__(name)
        self.received: list[str] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + "/callback"

    @property
    def last(self) -> Callback:
        with self._lock:
            assert self.received, "the redirect URI was never opened"
            return Callback(self.received[-1])
