//! The provider's RSA keys: parsed once from PEM, checked, and turned into JWKs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::Serialize;

use crate::secret::SecretBytes;

/// Smallest modulus accepted (NIST SP 800-57: 2048 bits through 2030).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest modulus accepted: beyond this signing gets slow for no gain.
pub const MAX_RSA_BITS: usize = 4096;

/// Why a key could not be used. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM-encoded PKCS#8 RSA private key (expected \"-----BEGIN PRIVATE KEY-----\"; convert PKCS#1 with `openssl pkcs8 -topk8 -nocrypt`)")]
    NotPkcs8Pem,
    #[error("RSA key is {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted")]
    BadSize { bits: usize },
    #[error("RSA key failed its consistency check")]
    Inconsistent,
}

/// A key id (`kid`): 1 to 128 of `[A-Za-z0-9._-]`, so it is safe in JSON, headers and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kid(String);

impl Kid {
    pub fn parse(value: &str) -> Option<Self> {
        let ok = (1..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One RSA public key as a JWK (RFC 7517 §4, RFC 7518 §6.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RsaPublicJwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    /// Modulus, base64url of the unsigned big-endian bytes without leading zeros (RFC 7518 §6.3.1.1).
    pub n: String,
    /// Public exponent, encoded like `n`.
    pub e: String,
}

/// A parsed, checked RSA private key with its id.
pub struct ProviderKey {
    kid: Kid,
    private: RsaPrivateKey,
    jwk: RsaPublicJwk,
}

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKey")
            .field("kid", &self.kid)
            .field("private", &"[redacted]")
            .finish()
    }
}

impl ProviderKey {
    /// Parses a PEM PKCS#8 RSA private key and checks its size.
    pub fn from_pkcs8_pem(kid: Kid, pem: &str) -> Result<Self, KeyError> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::NotPkcs8Pem)?;
        let bits = private.size() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::BadSize { bits });
        }
        private.validate().map_err(|_| KeyError::Inconsistent)?;
        let jwk = RsaPublicJwk {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid: kid.as_str().to_owned(),
            n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        };
        Ok(Self { kid, private, jwk })
    }

    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    pub fn jwk(&self) -> &RsaPublicJwk {
        &self.jwk
    }

    pub fn private_key(&self) -> &RsaPrivateKey {
        &self.private
    }

    /// The key as PKCS#8 DER, for importing into WebCrypto.
    pub fn pkcs8_der(&self) -> Result<SecretBytes, crate::oidc::signer::SignError> {
        let doc = self
            .private
            .to_pkcs8_der()
            .map_err(|_| crate::oidc::signer::SignError::KeyUnavailable)?;
        Ok(SecretBytes::new(doc.as_bytes().to_vec()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 2048-bit test key, generated for this project's tests only.
    pub(crate) const TEST_KEY_PEM: &str = include_str!("../../tests/keys/test-rsa-2048.pem");
    pub(crate) const TEST_KEY2_PEM: &str = include_str!("../../tests/keys/test-rsa-2048-b.pem");
    const SMALL_KEY_PEM: &str = include_str!("../../tests/keys/test-rsa-1024.pem");
    const PKCS1_KEY_PEM: &str = include_str!("../../tests/keys/test-rsa-2048-pkcs1.pem");

    pub(crate) fn test_key() -> ProviderKey {
        ProviderKey::from_pkcs8_pem(Kid::parse("test-1").unwrap(), TEST_KEY_PEM).unwrap()
    }

    #[test]
    fn kid_allows_only_safe_characters() {
        assert!(Kid::parse("2026-11-key_1.a").is_some());
        for bad in ["", "a b", "a\"b", "ä", "a/b", &"k".repeat(129)] {
            assert!(Kid::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn jwk_components_are_unpadded_base64url_without_leading_zeros() {
        let key = test_key();
        let jwk = key.jwk();
        assert_eq!(jwk.e, "AQAB");
        let n = URL_SAFE_NO_PAD.decode(&jwk.n).unwrap();
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        assert!(!jwk.n.contains('=') && !jwk.n.contains('+') && !jwk.n.contains('/'));
    }

    #[test]
    fn small_key_is_rejected_with_its_size() {
        let err = ProviderKey::from_pkcs8_pem(Kid::parse("k").unwrap(), SMALL_KEY_PEM).unwrap_err();
        assert_eq!(err, KeyError::BadSize { bits: 1024 });
    }

    #[test]
    fn pkcs1_and_garbage_are_not_pkcs8() {
        for pem in [
            PKCS1_KEY_PEM,
            "",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            let err = ProviderKey::from_pkcs8_pem(Kid::parse("k").unwrap(), pem).unwrap_err();
            assert_eq!(err, KeyError::NotPkcs8Pem);
        }
    }

    #[test]
    fn debug_does_not_print_the_private_key() {
        let printed = format!("{:?}", test_key());
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("BigUint"));
    }
}
