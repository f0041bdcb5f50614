"""A newcomer's `make dev` and `make test` show no wrangler banner (with its "update
available" check) and no npm update or funding notices: the scripts set the switches, and
the pinned wrangler really reads its switch."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, SCRIPTS

WRANGLER_CLI = ROOT / "node_modules" / "wrangler" / "wrangler-dist" / "cli.js"


@pytest.mark.parametrize("script", ["dev.sh", "test.sh"])
def test_dev_and_test_hide_the_wrangler_banner_and_npm_notices(script):
    text = (SCRIPTS / script).read_text()
    exported = " ".join(re.findall(r"^export (.*)$", text, re.M))
    for setting in ("WRANGLER_HIDE_BANNER=true", "WRANGLER_SEND_METRICS=false", "NO_UPDATE_NOTIFIER=1",
                    "npm_config_update_notifier=false", "npm_config_fund=false"):
        assert setting in exported, f"{script}: {setting}"


def test_setup_runs_npm_without_notices():
    text = (SCRIPTS / "setup.sh").read_text()
    assert "NO_UPDATE_NOTIFIER=1" in text and "--no-update-notifier" in text and "--no-fund" in text


@pytest.mark.skipif(not WRANGLER_CLI.exists(), reason="needs node_modules (scripts/setup.sh)")
def test_the_pinned_wrangler_skips_banner_and_update_check_on_that_switch():
    cli = WRANGLER_CLI.read_text()
    assert 'variableName: "WRANGLER_HIDE_BANNER"' in cli
    banner = cli[cli.index("async function printWranglerBanner"):][:1000]
    assert "if (getWranglerHideBanner()) {\n    return;" in banner  # before updateCheck()
    assert banner.index("getWranglerHideBanner") < banner.index("updateCheck")
