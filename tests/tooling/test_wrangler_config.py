"""wrangler.toml: the local defaults at the top stay as they are; each deployment
environment carries all of its own vars, observability, a custom domain that matches its
issuer, and no secret; the compatibility date is one the pinned workerd accepts."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from urllib.parse import urlsplit

import pytest

from conftest import ROOT

TEXT = (ROOT / "wrangler.toml").read_text()
CONFIG = tomllib.loads(TEXT)
ENVS = ("preview", "staging", "production")
SECRETS = {"OIDC_PROVIDER_KEY", "OIDC_PROVIDER_KEY_PREVIOUS", "SESSION_TOKEN_KEY", "SESSION_TOKEN_KEY_PREVIOUS"}


def test_top_level_is_the_local_development_setup():
    assert CONFIG["name"] == "oidc-sts-proxy" and CONFIG["main"] == "build/index.js"
    assert CONFIG["observability"] == {"enabled": True}
    assert CONFIG["vars"]["OIDC_PROVIDER_ISSUER"] == "http://127.0.0.1:8787"
    assert CONFIG["vars"]["OIDC_PROVIDER_KID"] == "dev-1"


def test_compatibility_date_is_one_the_pinned_workerd_accepts():
    assert date.fromisoformat(CONFIG["compatibility_date"]) <= date(2026, 5, 3)
    for env_name in ENVS:
        assert "compatibility_date" not in CONFIG["env"][env_name]  # inherited from the top


@pytest.mark.parametrize("env_name", ENVS)
def test_each_environment_has_its_own_vars_domain_and_observability(env_name):
    env = CONFIG["env"][env_name]
    assert env["observability"] == {"enabled": True}
    assert env["workers_dev"] is False and env["preview_urls"] is False
    v = env["vars"]
    issuer = urlsplit(v["OIDC_PROVIDER_ISSUER"])
    # An origin, https: what the Worker accepts as a deployed issuer.
    assert issuer.scheme == "https" and issuer.path == "" and not issuer.query
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", v["OIDC_PROVIDER_KID"])
    assert v["UPSTREAM_API_AUDIENCE"]
    assert "INSECURE_TEST_ROUTES" not in v
    # The Worker is served on exactly the issuer's host.
    assert env["routes"] == [{"pattern": issuer.hostname, "custom_domain": True}]


def test_environments_do_not_share_workers_issuers_or_kids():
    for key in ("name",):
        assert len({CONFIG["env"][e][key] for e in ENVS}) == len(ENVS)
    for var in ("OIDC_PROVIDER_ISSUER", "OIDC_PROVIDER_KID"):
        assert len({CONFIG["env"][e]["vars"][var] for e in ENVS}) == len(ENVS)


def test_no_secret_in_the_file():
    assert "PRIVATE KEY" not in TEXT
    every_vars = [CONFIG.get("vars", {})] + [env.get("vars", {}) for env in CONFIG["env"].values()]
    for v in every_vars:
        assert not SECRETS & set(v)
    # Nothing that looks like a 32-byte base64 key or a long token.
    assert not re.search(r'=\s*"[A-Za-z0-9+/]{43}="', TEXT)
