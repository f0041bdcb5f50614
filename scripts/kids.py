#!/usr/bin/env python3
"""Ties each kid to its key, so a rotation cannot pair a kid with the wrong key.

The kid lives in wrangler.toml (a var) and the key in a GitHub secret: they change in
different places. `make keys` therefore ends every kid it makes with `-jkt` and the first
8 hex digits of the key's RFC 7638 JWK SHA-256 thumbprint, and the deploy refuses, before
anything is uploaded, an environment whose kid carries such a suffix that does not match
the key in the same slot (active or previous). Kids without the suffix are not checked.

  scripts/kids.py suffix < key.pem              prints jkt<8 hex> for a PEM PKCS#8 RSA key
  scripts/kids.py check ENV SECRETS_JSON_FILE [WRANGLER_TOML]
                                                checks both slots of [env.ENV] (default: ./wrangler.toml)

Standard library only (runs on a bare CI runner). Never prints key material.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = re.compile(r"-jkt([0-9a-f]{8})$")
SLOTS = (("OIDC_PROVIDER_KID", "OIDC_PROVIDER_KEY"),
         ("OIDC_PROVIDER_KID_PREVIOUS", "OIDC_PROVIDER_KEY_PREVIOUS"))
RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


class BadKey(ValueError):
    """The secret is not a PEM PKCS#8 RSA key."""


def _der(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One DER element at pos: (tag, contents, position after it)."""
    if pos + 2 > len(data):
        raise BadKey("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > len(data):
            raise BadKey("bad DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise BadKey("truncated DER")
    return tag, data[pos:pos + length], pos + length


def _children(contents: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(contents):
        tag, value, pos = _der(contents, pos)
        out.append((tag, value))
    return out


def public_numbers(pem: str) -> tuple[int, int]:
    """(n, e) of a PEM PKCS#8 RSA private key."""
    m = re.search(r"-----BEGIN PRIVATE KEY-----(.*?)-----END PRIVATE KEY-----", pem, re.S)
    if not m:
        raise BadKey("not a PEM PKCS#8 private key")
    try:
        der = base64.b64decode("".join(m.group(1).split()), validate=True)
    except ValueError as e:
        raise BadKey("bad base64 in PEM") from e
    tag, info, _ = _der(der, 0)
    parts = _children(info) if tag == 0x30 else []
    if len(parts) < 3 or parts[1][0] != 0x30 or parts[2][0] != 0x04:
        raise BadKey("not a PKCS#8 PrivateKeyInfo")
    algorithm = _children(parts[1][1])
    if not algorithm or algorithm[0] != (0x06, RSA_OID):
        raise BadKey("not an RSA key")
    tag, rsa_key, _ = _der(parts[2][1], 0)
    fields = _children(rsa_key) if tag == 0x30 else []
    if len(fields) < 3 or any(t != 0x02 for t, _ in fields[:3]):
        raise BadKey("not an RSAPrivateKey")
    return int.from_bytes(fields[1][1], "big"), int.from_bytes(fields[2][1], "big")


def _b64url_uint(v: int) -> str:
    return base64.urlsafe_b64encode(v.to_bytes((v.bit_length() + 7) // 8 or 1, "big")).decode().rstrip("=")


def thumbprint(n: int, e: int) -> bytes:
    """RFC 7638 SHA-256 JWK thumbprint of an RSA public key."""
    # §3.2: the required members only, in lexicographic order, no whitespace.
    canonical = json.dumps({"e": _b64url_uint(e), "kty": "RSA", "n": _b64url_uint(n)},
                           separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).digest()


def suffix(pem: str) -> str:
    """`jkt` + the first 8 hex digits of the key's thumbprint."""
    return "jkt" + thumbprint(*public_numbers(pem)).hex()[:8]


def check(env: str, secrets_file: str, wrangler_toml: str | None = None) -> int:
    import tomllib  # Python 3.11+; `suffix` (used by `make keys`) works on older ones too

    config = tomllib.loads(Path(wrangler_toml or ROOT / "wrangler.toml").read_text())
    if env not in config.get("env", {}):
        print(f"kids: no [env.{env}] in wrangler.toml", file=sys.stderr)
        return 1
    env_vars = config["env"][env].get("vars", {})
    secrets = json.loads(Path(secrets_file).read_text())
    bad = 0
    for kid_name, key_name in SLOTS:
        kid = env_vars.get(kid_name, "")
        m = SUFFIX.search(kid) if isinstance(kid, str) else None
        if not m or key_name not in secrets:
            continue  # no thumbprint claimed, or no key in this slot (the Worker names that)
        try:
            actual = suffix(secrets[key_name])
        except BadKey as e:
            print(f"kids: {key_name} cannot be read ({e})", file=sys.stderr)
            bad += 1
            continue
        if actual != "jkt" + m.group(1):
            print(f"kids: {kid_name} = {kid} (wrangler.toml, [env.{env}.vars]) names a key with "
                  f"thumbprint jkt{m.group(1)}, but the secret {key_name} holds the key with {actual}: "
                  f"the kid and the key were changed in one place only", file=sys.stderr)
            bad += 1
        else:
            print(f"kids: {kid_name} {kid} matches {key_name}")
    return 1 if bad else 0


def main(args: list[str]) -> int:
    if args == ["suffix"]:
        try:
            print(suffix(sys.stdin.read()))
        except BadKey as e:
            print(f"kids: {e}", file=sys.stderr)
            return 1
        return 0
    if len(args) in (3, 4) and args[0] == "check":
        return check(*args[1:])
    print(__doc__.split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
