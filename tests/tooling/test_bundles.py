"""The release bundle (`make build`, build/) holds none of the insecure test routes; the
end-to-end bundle (`scripts/build.sh --e2e`, build-e2e/) holds them, so the suite tests
the same code plus those routes only."""

from __future__ import annotations

import pytest

from conftest import ROOT

RELEASE = ROOT / "build" / "index_bg.wasm"
E2E = ROOT / "build-e2e" / "index_bg.wasm"
# Paths of the test routes (src/testing.rs, src/adapter/mod.rs) as they appear in the wasm
# data (the compiler merges or splits some literals: `/.test/credentials` is not stored whole).
TEST_PATHS = [b"/.test/sign", b"/.test/mint", b"/.test/r2/"]


@pytest.mark.skipif(not RELEASE.exists(), reason="needs build/ (make build)")
def test_release_wasm_holds_no_test_route():
    wasm = RELEASE.read_bytes()
    assert b"/.test/" not in wasm
    assert b"INSECURE_TEST_ROUTES" not in wasm


@pytest.mark.skipif(not E2E.exists(), reason="needs build-e2e/ (scripts/build.sh --e2e)")
def test_end_to_end_wasm_holds_every_test_route():
    wasm = E2E.read_bytes()
    for path in TEST_PATHS:
        assert path in wasm, path
