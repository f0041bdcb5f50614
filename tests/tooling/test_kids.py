"""scripts/kids.py: a kid made by `make keys` names its key's RFC 7638 thumbprint, and the
deploy refuses a kid paired with another key (the kid is in wrangler.toml, the key in
GitHub: one of them changed without the other)."""

from __future__ import annotations

import base64
import hashlib
import json
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import ROOT, run

sys.path.insert(0, str(ROOT / "scripts"))
import kids  # noqa: E402

SCRIPT = ROOT / "scripts" / "kids.py"


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def two_keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def expected_suffix(key) -> str:
    nums = key.public_key().public_numbers()
    b64 = lambda v: base64.urlsafe_b64encode(v.to_bytes((v.bit_length() + 7) // 8, "big")).decode().rstrip("=")  # noqa: E731
    canonical = '{"e":"%s","kty":"RSA","n":"%s"}' % (b64(nums.e), b64(nums.n))
    return "jkt" + hashlib.sha256(canonical.encode()).hexdigest()[:8]


def test_thumbprint_matches_rfc_7638_section_3_1():
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3o"
         "knjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZH"
         "zu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8"
         "awapJzKnqDKgw")
    thumb = kids.thumbprint(int.from_bytes(base64.urlsafe_b64decode(n + "=="), "big"), 65537)
    assert base64.urlsafe_b64encode(thumb).decode().rstrip("=") == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_suffix_of_a_pem_key(two_keys):
    for key in two_keys:
        r = run([SCRIPT, "suffix"], input=pem(key))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == expected_suffix(key)


@pytest.mark.parametrize("text", ["", "not a key", pem(ec.generate_private_key(ec.SECP256R1())),
                                  "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----"])
def test_suffix_refuses_what_is_not_an_rsa_pkcs8_key(text):
    r = run([SCRIPT, "suffix"], input=text)
    assert r.returncode == 1 and r.stdout == ""


def write(tmp_path, kid: str, kid_previous: str | None, secrets: dict):
    toml = tmp_path / "wrangler.toml"
    lines = ['name = "x"', "[env.staging.vars]", f'OIDC_PROVIDER_KID = "{kid}"']
    if kid_previous:
        lines.append(f'OIDC_PROVIDER_KID_PREVIOUS = "{kid_previous}"')
    toml.write_text("\n".join(lines) + "\n")
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps(secrets))
    return toml, secrets_file


def check(tmp_path, *args):
    toml, secrets_file = write(tmp_path, *args)
    return run([SCRIPT, "check", "staging", secrets_file, toml])


def test_matching_kids_pass(tmp_path, two_keys):
    a, b = two_keys
    r = check(tmp_path, f"staging-2026-11-23-{expected_suffix(a)}", f"staging-2026-05-01-{expected_suffix(b)}",
              {"OIDC_PROVIDER_KEY": pem(a), "OIDC_PROVIDER_KEY_PREVIOUS": pem(b)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("matches") == 2


def test_swapped_keys_are_refused_naming_both_sides(tmp_path, two_keys):
    a, b = two_keys
    r = check(tmp_path, f"k-{expected_suffix(a)}", f"p-{expected_suffix(b)}",
              {"OIDC_PROVIDER_KEY": pem(b), "OIDC_PROVIDER_KEY_PREVIOUS": pem(a)})
    assert r.returncode == 1
    assert f"OIDC_PROVIDER_KID = k-{expected_suffix(a)}" in r.stderr
    assert f"the secret OIDC_PROVIDER_KEY holds the key with {expected_suffix(b)}" in r.stderr
    assert "OIDC_PROVIDER_KID_PREVIOUS" in r.stderr
    assert "PRIVATE" not in r.stdout + r.stderr


def test_kids_without_a_thumbprint_and_empty_slots_are_not_checked(tmp_path, two_keys):
    a, _ = two_keys
    r = check(tmp_path, "production-2026-05-01", None, {"OIDC_PROVIDER_KEY": pem(a)})
    assert r.returncode == 0, r.stderr
    r = check(tmp_path, f"k-{expected_suffix(a)}", "p-jkt00000000", {"OIDC_PROVIDER_KEY": pem(a)})
    assert r.returncode == 0, r.stderr  # no previous key: the Worker itself reports that pair


def test_an_unreadable_key_in_a_checked_slot_is_refused(tmp_path):
    r = check(tmp_path, "k-jkt00000000", None, {"OIDC_PROVIDER_KEY": "garbage"})
    assert r.returncode == 1 and "OIDC_PROVIDER_KEY cannot be read" in r.stderr


def test_the_deploy_runs_the_check_before_wrangler():
    text = (ROOT / "scripts" / "deploy.sh").read_text()
    assert text.index('scripts/kids.py check "$env_name"') < text.index('"$wrangler" deploy')
