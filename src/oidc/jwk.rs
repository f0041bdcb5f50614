//! Parsing a JWK Set (RFC 7517 §5) of an external identity provider.
//!
//! Only RSA signing keys become usable; keys of other types are kept (as
//! [`JwkKey::Unsupported`]) so that a token naming one gets a precise error.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::{BigUint, RsaPublicKey};
use serde::Deserialize;

/// Smallest RSA modulus accepted from an IdP.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted from an IdP (bounds verification cost).
pub(crate) const MAX_RSA_BITS: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwkError {
    #[error("JWK Set is not a JSON object with a \"keys\" array")]
    NotAJwkSet,
}

/// The key material of one JWK.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JwkKey {
    Rsa(RsaPublicKey),
    /// A key we cannot use for verification (other `kty`, malformed, wrong size or `use`).
    Unsupported {
        kty: String,
    },
}

/// One JWK from an IdP's set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    /// `alg`, when the IdP pins the key to one algorithm (RFC 7517 §4.4).
    pub(crate) alg: Option<String>,
    pub(crate) key: JwkKey,
}

/// A parsed JWK Set.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct JwkSet {
    pub(crate) keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl JwkSet {
    /// Parses a JWK Set document. Individual unusable keys do not fail the set.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, JwkError> {
        let raw: RawSet = serde_json::from_slice(json).map_err(|_| JwkError::NotAJwkSet)?;
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value::<RawJwk>(v).ok())
            .map(Jwk::from_raw)
            .collect();
        Ok(Self { keys })
    }

    /// The key a token's `kid` names; without a `kid`, the only key of the set.
    pub(crate) fn find(&self, kid: Option<&str>) -> Option<&Jwk> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }
}

impl Jwk {
    fn from_raw(raw: RawJwk) -> Self {
        let kty = raw.kty.clone().unwrap_or_default();
        let unsupported = || JwkKey::Unsupported { kty: kty.clone() };
        // RFC 7517 §4.2: a key whose "use" is not "sig" must not verify signatures.
        let key = if raw.use_.as_deref().is_some_and(|u| u != "sig") {
            unsupported()
        } else if kty == "RSA" {
            rsa_key(raw.n.as_deref(), raw.e.as_deref())
                .map(JwkKey::Rsa)
                .unwrap_or_else(unsupported)
        } else {
            unsupported()
        };
        Self {
            kid: raw.kid,
            alg: raw.alg,
            key,
        }
    }
}

/// RFC 7518 §6.3.1: `n` and `e` as base64url big-endian unsigned integers.
fn rsa_key(n: Option<&str>, e: Option<&str>) -> Option<RsaPublicKey> {
    let n = BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(n?).ok()?);
    let e = BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(e?).ok()?);
    let bits = n.bits();
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return None;
    }
    RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    /// RFC 7517 Appendix A.1 (public keys): an EC key and an RSA key.
    const RFC7517_A1: &str = include_str!("../../tests/vectors/rfc7517-a1-public-keys.json");

    #[test]
    fn rfc7517_a1_public_key_set_parses() {
        let set = JwkSet::parse(RFC7517_A1.as_bytes()).unwrap();
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.keys[0].key, JwkKey::Unsupported { kty: "EC".into() });
        let rsa = set.find(Some("2011-04-29")).unwrap();
        assert_eq!(rsa.alg.as_deref(), Some("RS256"));
        let JwkKey::Rsa(key) = &rsa.key else {
            panic!("RSA key expected")
        };
        assert_eq!(key.e(), &BigUint::from(65537u32));
        assert_eq!(key.n().bits(), 2048);
    }

    #[test]
    fn find_without_kid_needs_a_single_key() {
        let set = JwkSet::parse(RFC7517_A1.as_bytes()).unwrap();
        assert!(set.find(None).is_none());
        assert!(set.find(Some("nope")).is_none());
    }

    #[test]
    fn encryption_keys_and_small_keys_are_unusable() {
        let doc = RFC7517_A1.replace("\"alg\":\"RS256\"", "\"alg\":\"RS256\",\"use\":\"enc\"");
        let set = JwkSet::parse(doc.as_bytes()).unwrap();
        assert!(matches!(
            set.find(Some("2011-04-29")).unwrap().key,
            JwkKey::Unsupported { .. }
        ));
        let small = br#"{"keys":[{"kty":"RSA","kid":"s","n":"AQAB","e":"AQAB"}]}"#;
        assert!(matches!(
            JwkSet::parse(small).unwrap().keys[0].key,
            JwkKey::Unsupported { .. }
        ));
    }

    #[test]
    fn documents_that_are_not_sets_are_rejected() {
        for bad in [&b"[]"[..], b"{}", b"{\"keys\":{}}", b"not json", b""] {
            assert_eq!(JwkSet::parse(bad), Err(JwkError::NotAJwkSet));
        }
    }
}
