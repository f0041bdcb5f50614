//! Verifying a compact JWS (RFC 7515 §5.2) from an external identity provider,
//! following the JWT best current practices (RFC 8725).
//!
//! The algorithm comes from an allow-list and must fit the key's type (RFC 8725 §3.1,
//! §3.2): `none`, every HMAC algorithm, and anything unlisted are refused before any
//! key is touched. A header with `crit` is refused: this verifier understands no
//! extension (RFC 7515 §4.1.11).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use serde::Deserialize;
use sha2::Sha256;

use crate::oidc::jwk::{Jwk, JwkKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwsError {
    #[error("token is not a compact JWS (three base64url parts)")]
    Malformed,
    #[error("token header is not valid JSON with an \"alg\"")]
    BadHeader,
    #[error("algorithm {alg} is not accepted (only RS256)")]
    AlgorithmNotAllowed { alg: String },
    #[error("token header has critical extensions this verifier does not understand")]
    UnknownCritical,
    #[error("key type does not match the token's algorithm")]
    KeyTypeMismatch,
    #[error("signature does not verify")]
    BadSignature,
}

/// The algorithms accepted, each bound to one key family.
const ALLOWED: &[&str] = &["RS256"];

#[derive(Debug, Deserialize)]
pub(crate) struct JwsHeader {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// A compact JWS split into its parts, nothing verified yet.
#[derive(Debug)]
pub(crate) struct UnverifiedJws<'a> {
    pub(crate) header: JwsHeader,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> UnverifiedJws<'a> {
    /// Splits and decodes (RFC 7515 §5.2 steps 1-7), and checks the header's
    /// algorithm against the allow-list and `crit`.
    pub(crate) fn parse(token: &'a str) -> Result<Self, JwsError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JwsError::Malformed);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| JwsError::Malformed);
        let header_bytes = decode(h)?;
        let payload = decode(p)?;
        let signature = decode(s)?;
        let header: JwsHeader = serde_json::from_slice(&header_bytes).map_err(|_| JwsError::BadHeader)?;
        if !ALLOWED.contains(&header.alg.as_str()) {
            return Err(JwsError::AlgorithmNotAllowed {
                alg: printable(&header.alg),
            });
        }
        if header.crit.is_some() {
            return Err(JwsError::UnknownCritical);
        }
        let signing_input = &token[..h.len() + 1 + p.len()];
        Ok(Self {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The payload before the signature is checked: only for choosing which issuer's
    /// keys to check it with. Nothing read here may be trusted.
    pub(crate) fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the signature with `key` (RFC 7515 §5.2 step 8) and returns the payload.
    pub(crate) fn verify(self, key: &Jwk) -> Result<Vec<u8>, JwsError> {
        if key.alg.as_deref().is_some_and(|a| a != self.header.alg) {
            return Err(JwsError::KeyTypeMismatch);
        }
        match (&key.key, self.header.alg.as_str()) {
            (JwkKey::Rsa(public), "RS256") => {
                let signature = Signature::try_from(self.signature.as_slice()).map_err(|_| JwsError::BadSignature)?;
                VerifyingKey::<Sha256>::new(public.clone())
                    .verify(self.signing_input.as_bytes(), &signature)
                    .map_err(|_| JwsError::BadSignature)?;
                Ok(self.payload)
            }
            _ => Err(JwsError::KeyTypeMismatch),
        }
    }
}

/// An attacker-chosen string made safe and short for messages and logs.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jwk::JwkSet;

    const A2_JWS: &str = include_str!("../../tests/vectors/rfc7515-a2-jws.txt");
    const A2_JWK: &str = include_str!("../../tests/vectors/rfc7515-a2-jwk.json");

    fn a2_key() -> Jwk {
        let set = JwkSet::parse(format!("{{\"keys\":[{A2_JWK}]}}").as_bytes()).unwrap();
        set.keys.into_iter().next().unwrap()
    }

    #[test]
    fn rfc7515_a2_rs256_example_verifies() {
        let jws = UnverifiedJws::parse(A2_JWS.trim()).unwrap();
        assert_eq!(jws.header.alg, "RS256");
        assert_eq!(jws.header.kid, None);
        let payload = jws.verify(&a2_key()).unwrap();
        assert_eq!(
            payload,
            b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
        );
    }

    #[test]
    fn rfc7515_a2_with_a_changed_payload_fails() {
        let token = A2_JWS.trim().replacen(".eyJpc3MiOiJqb2Ui", ".eyJpc3MiOiJqb2Xi", 1);
        let jws = UnverifiedJws::parse(&token).unwrap();
        assert_eq!(jws.verify(&a2_key()), Err(JwsError::BadSignature));
    }

    #[test]
    fn none_and_hmac_algorithms_are_refused_before_any_key() {
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"RS512"}"#,
            r#"{"alg":"ES256"}"#,
        ] {
            let token = format!("{}.e30.", URL_SAFE_NO_PAD.encode(header));
            assert!(
                matches!(UnverifiedJws::parse(&token), Err(JwsError::AlgorithmNotAllowed { .. })),
                "{header}"
            );
        }
    }

    #[test]
    fn critical_headers_are_refused() {
        let token = format!("{}.e30.AA", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","crit":["exp"]}"#));
        assert_eq!(UnverifiedJws::parse(&token).unwrap_err(), JwsError::UnknownCritical);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in ["", "a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.AA=", "e30.e30.AA"] {
            assert!(UnverifiedJws::parse(token).is_err(), "{token}");
        }
    }

    #[test]
    fn a_key_pinned_to_another_algorithm_or_of_another_type_is_a_mismatch() {
        let mut key = a2_key();
        key.alg = Some("RS512".into());
        assert_eq!(
            UnverifiedJws::parse(A2_JWS.trim()).unwrap().verify(&key),
            Err(JwsError::KeyTypeMismatch)
        );
        let ec = Jwk {
            kid: None,
            alg: None,
            key: JwkKey::Unsupported { kty: "EC".into() },
        };
        assert_eq!(
            UnverifiedJws::parse(A2_JWS.trim()).unwrap().verify(&ec),
            Err(JwsError::KeyTypeMismatch)
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_input_never_panics(s in "\\PC{0,300}") {
            let _ = UnverifiedJws::parse(&s);
        }

        #[test]
        fn parsing_dotted_base64ish_input_never_panics(s in "[A-Za-z0-9_.=-]{0,300}") {
            let _ = UnverifiedJws::parse(&s);
        }
    }
}
