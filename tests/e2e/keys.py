"""Fresh RSA keys for a test session, as PEM strings and cryptography objects."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class TestKey:
    kid: str
    private: rsa.RSAPrivateKey

    @property
    def pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def secret_markers(self) -> list[str]:
        """Substrings that would betray the private key if they showed up anywhere."""
        body = [l for l in self.pem.splitlines() if l and not l.startswith("-----")]
        nums = self.private.private_numbers()
        d = base64.urlsafe_b64encode(nums.d.to_bytes((nums.d.bit_length() + 7) // 8, "big")).decode().rstrip("=")
        return body[1:4] + [d[:40]]


def new_key(kid: str, bits: int = 2048) -> TestKey:
    return TestKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits))


def session_key_b64() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()
