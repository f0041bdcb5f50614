"""A real browser (Debian's headless Chromium through playwright-core, tests/e2e/browser.py) at a
real OpenID provider (oidc-provider v9, oidc_provider.py): the browser signs in at the
provider's own pages (authorization code + PKCE S256) and lands on a loopback redirect URI of
the test's own; the code is exchanged for tokens in the page, as a browser app would; refresh
tokens rotate, and a reused one is `invalid_grant`. The provider's cookies are the browser's.
"""

from __future__ import annotations

import pytest

from oidc_provider import OAuthError, Pkce

CLIENT = "e2e-public"  # the default client: public, native, http://127.0.0.1/callback on any port
ALICE = ("alice", "alice-password")


def sign_in_in_browser(page, user: str, password: str) -> None:
    """Fills the provider's login page, then allows on its consent page."""
    page.wait_for("#login")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    page.wait_for("#consent")
    page.click("#allow")


# The code exchange as a browser app does it: fetch() from the redirect URI's page (CORS).
EXCHANGE_IN_PAGE = """async ({token_endpoint, form}) => {
  const r = await fetch(token_endpoint, {method: 'POST', body: new URLSearchParams(form)});
  return {status: r.status, body: await r.json()};
}"""


def test_the_browser_signs_in_with_pkce_and_the_rotated_refresh_token_cannot_be_reused(oidc_provider, redirect, page):
    op, pkce = oidc_provider, Pkce()
    url = op.authorization_url(CLIENT, redirect.url, pkce=pkce, state="state-1", nonce="nonce-1")
    page.goto(url)
    sign_in_in_browser(page, *ALICE)
    page.wait_for_url(redirect.url + "?")
    assert page.text("#callback") == "callback received"
    callback = redirect.last
    # RFC 9207: the issuer comes back with the code; the state is ours.
    assert callback.params["iss"] == op.issuer and callback.params["state"] == "state-1"
    assert [n["status"] for n in page.navigations()][-1] == 200

    exchanged = page.evaluate(EXCHANGE_IN_PAGE, {"token_endpoint": op.endpoint("token"), "form": {
        "grant_type": "authorization_code", "code": callback.params["code"], "redirect_uri": redirect.url,
        "client_id": CLIENT, "code_verifier": pkce.verifier}})
    assert exchanged["status"] == 200, exchanged
    tokens = exchanged["body"]
    claims = op.verify_id_token(tokens["id_token"], CLIENT, nonce="nonce-1")
    assert (claims["sub"], claims["name"], claims["email"]) == ("alice", "Alice Example", "alice@example.org")
    assert "offline_access" in tokens["scope"].split() and tokens["refresh_token"]

    # Refresh-token rotation: a new refresh token each time, and a new ID token.
    first = tokens["refresh_token"]
    rotated = op.refresh(CLIENT, first)
    assert rotated["refresh_token"] != first
    assert op.verify_id_token(rotated["id_token"], CLIENT)["sub"] == "alice"
    # Reuse detection: the old one is invalid_grant, and the whole grant is revoked with it.
    with pytest.raises(OAuthError) as reused:
        op.refresh(CLIENT, first)
    assert (reused.value.status, reused.value.error) == (400, "invalid_grant")
    with pytest.raises(OAuthError) as revoked:
        op.refresh(CLIENT, rotated["refresh_token"])
    assert revoked.value.error == "invalid_grant"


def test_a_wrong_password_keeps_the_browser_on_the_providers_login_page(oidc_provider, redirect, page):
    page.goto(oidc_provider.authorization_url(CLIENT, redirect.url, pkce=Pkce()))
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "not-her-password")
    page.click("#sign-in")
    page.wait_for("#login-error")
    assert page.url.startswith(oidc_provider.issuer + "/interaction/")
    assert page.navigations()[-1]["status"] == 401


def test_the_providers_session_cookie_is_in_the_browser_and_clearing_it_asks_to_sign_in_again(oidc_provider,
                                                                                           redirect, page):
    op = oidc_provider
    page.goto(op.authorization_url(CLIENT, redirect.url, pkce=Pkce()))
    sign_in_in_browser(page, *ALICE)
    page.wait_for_url(redirect.url)
    session = [c for c in page.cookies(op.issuer) if c["name"] == f"op{op.port}_session"]
    assert len(session) == 1 and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"

    # Signed in: the next authorization goes straight to consent (prompt=consent), no login.
    page.goto(op.authorization_url(CLIENT, redirect.url, pkce=Pkce()))
    page.wait_for("#consent")
    page.clear_cookies()
    assert page.cookies() == []
    page.goto(op.authorization_url(CLIENT, redirect.url, pkce=Pkce()))
    page.wait_for("#login")


def test_cookies_set_in_a_context_reach_its_tabs_and_fetches_but_not_another_context(browser, redirect, page):
    page.add_cookies([{"name": "e2e_marker", "value": "one", "url": redirect.origin}])
    page.goto(redirect.url)
    assert page.evaluate("() => document.cookie") == "e2e_marker=one"
    fetched = page.fetch("/callback?from=fetch")
    assert fetched["status"] == 200 and "callback received" in fetched["body"]
    assert redirect.last.params == {"from": "fetch"}

    tab = page.new_tab()
    tab.goto(redirect.url)
    assert tab.evaluate("() => document.cookie") == "e2e_marker=one"
    other = browser.new_page()
    try:
        other.goto(redirect.url)
        assert other.evaluate("() => document.cookie") == ""
    finally:
        other.close()
