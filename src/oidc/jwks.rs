//! The JWK Set (RFC 7517 §5) with the active and the previous public key.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::oidc::keys::RsaPublicJwk;

/// `Cache-Control` of the JWK Set. Five minutes keeps relying parties' copies fresh
/// enough for rotation (see the README's rotation runbook) while sparing the worker.
pub(crate) const JWKS_CACHE_CONTROL: &str = "public, max-age=300, stale-while-revalidate=60";

#[derive(Serialize)]
struct JwkSet<'a> {
    keys: Vec<&'a RsaPublicJwk>,
}

/// The serialized JWK Set and its strong entity tag, computed once per isolate.
#[derive(Debug, Clone)]
pub(crate) struct PublishedJwks {
    pub(crate) body: Vec<u8>,
    /// Strong `ETag`: quoted hex of the first 16 bytes of SHA-256 of the body.
    pub(crate) etag: String,
}

impl PublishedJwks {
    /// Active key first, then the previous one if any.
    pub(crate) fn new(active: &RsaPublicJwk, previous: Option<&RsaPublicJwk>) -> Self {
        let set = JwkSet {
            keys: std::iter::once(active).chain(previous).collect(),
        };
        let body = serde_json::to_vec(&set).unwrap_or_default();
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Self { body, etag }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::keys::tests::test_key;

    #[test]
    fn jwks_lists_active_then_previous_with_rsa_fields() {
        let key = test_key();
        let mut prev = key.jwk().clone();
        prev.kid = "old".into();
        let jwks = PublishedJwks::new(key.jwk(), Some(&prev));
        let v: serde_json::Value = serde_json::from_slice(&jwks.body).unwrap();
        let keys = v["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["kid"], "test-1");
        assert_eq!(keys[1]["kid"], "old");
        for k in keys {
            assert_eq!(
                (&k["kty"], &k["use"], &k["alg"], &k["e"]),
                (&"RSA".into(), &"sig".into(), &"RS256".into(), &"AQAB".into())
            );
        }
    }

    #[test]
    fn etag_is_strong_and_changes_with_the_keys() {
        let key = test_key();
        let a = PublishedJwks::new(key.jwk(), None);
        let mut other = key.jwk().clone();
        other.kid = "x".into();
        let b = PublishedJwks::new(key.jwk(), Some(&other));
        assert!(a.etag.starts_with('"') && !a.etag.starts_with("W/"));
        assert_ne!(a.etag, b.etag);
        assert_eq!(a.etag, PublishedJwks::new(key.jwk(), None).etag);
    }
}
