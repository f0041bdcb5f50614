//! Compact JWS (RFC 7515 §7.1) for the JWTs this provider mints (RFC 7519).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The JOSE header of a minted token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    pub(crate) typ: String,
    pub(crate) kid: String,
}

/// The claims of a JWT minted for the upstream API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UpstreamClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    /// The caller as (IdP issuer, subject): RFC 9493's `iss_sub` subject identifier.
    /// Absent for `anonymous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub_id: Option<SubjectId>,
    pub(crate) aud: String,
    pub(crate) iat: u64,
    pub(crate) nbf: u64,
    pub(crate) exp: u64,
    pub(crate) jti: String,
}

/// An RFC 9493 subject identifier in the `iss_sub` format (§3.2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubjectId {
    pub(crate) format: String,
    pub(crate) iss: String,
    pub(crate) sub: String,
}

/// `BASE64URL(header) '.' BASE64URL(claims)`: the bytes that get signed (RFC 7515 §5.1 step 5).
pub(crate) fn signing_input<H: Serialize, C: Serialize>(header: &H, claims: &C) -> String {
    // Serializing plain structs of strings and integers to JSON cannot fail.
    let h = serde_json::to_vec(header).unwrap_or_default();
    let c = serde_json::to_vec(claims).unwrap_or_default();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(h), URL_SAFE_NO_PAD.encode(c))
}

/// Appends the signature to the signing input (RFC 7515 §7.1).
pub(crate) fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_input_is_two_base64url_json_parts() {
        let h = Header {
            alg: "RS256".into(),
            typ: "JWT".into(),
            kid: "k1".into(),
        };
        let input = signing_input(&h, &serde_json::json!({"sub": "a"}));
        let (a, b) = input.split_once('.').unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(a).unwrap(),
            br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(b).unwrap(), br#"{"sub":"a"}"#);
        assert_eq!(compact(&input, &[0xfb, 0xff]), format!("{input}.-_8"));
    }
}
