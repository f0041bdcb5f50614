"""Shared fixtures: test keys, a worker in workerd with the provider configured, a real OpenID
provider (oidc-provider, see oidc_provider.py) and a real browser (Chromium, see browser.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import Browser  # noqa: E402
from keys import new_key  # noqa: E402
from oidc_provider import OidcProvider, RedirectTarget  # noqa: E402
from workerd import BUNDLE, Worker, free_port  # noqa: E402


def pytest_sessionstart(session):
    if not BUNDLE.exists():
        raise pytest.UsageError(f"{BUNDLE} is missing: run `scripts/build.sh --e2e` first")


@pytest.fixture(scope="session")
def active_key():
    return new_key("e2e-active")


@pytest.fixture(scope="session")
def previous_key():
    return new_key("e2e-previous")


@pytest.fixture(scope="session")
def provider(active_key, previous_key):
    """A worker with two provider keys and the insecure test routes on."""
    port = free_port()
    w = Worker(
        port=port,
        vars={
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}",
            "OIDC_PROVIDER_KID": active_key.kid,
            "OIDC_PROVIDER_KID_PREVIOUS": previous_key.kid,
            "UPSTREAM_API_AUDIENCE": "e2e-upstream",
            "INSECURE_TEST_ROUTES": "1",
        },
        secrets={
            "OIDC_PROVIDER_KEY": active_key.pem,
            "OIDC_PROVIDER_KEY_PREVIOUS": previous_key.pem,
        },
    )
    w.start()
    yield w
    w.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session; take pages from `page` or `new_page()`."""
    with Browser() as b:
        yield b


@pytest.fixture
def page(browser):
    """A fresh page in a fresh browser context (its own cookies), closed after the test."""
    p = browser.new_page()
    yield p
    p.close()


@pytest.fixture(scope="module")
def oidc_provider():
    """oidc-provider with its defaults (public native client `e2e-public`, users alice and bob,
    PKCE required on both flows, refresh-token rotation), one per module."""
    with OidcProvider() as op:
        yield op


@pytest.fixture
def start_oidc_provider():
    """Starts providers configured by the test (`OidcProvider` keyword arguments); stops them after."""
    started: list[OidcProvider] = []

    def start(**config) -> OidcProvider:
        op = OidcProvider(**config)
        started.append(op)
        return op.start()

    yield start
    for op in started:
        op.stop()


@pytest.fixture(scope="module")
def redirect():
    """A client's redirect URI on loopback (http://127.0.0.1:<port>/callback) that records the
    URLs it is opened with; the default client of `oidc_provider` accepts it (any port)."""
    with RedirectTarget() as target:
        yield target
