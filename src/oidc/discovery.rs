//! The discovery document (OpenID Connect Discovery 1.0 §3, §4).

use serde::Serialize;

use crate::identity::Issuer;

/// Path of the discovery document under the issuer (Discovery §4).
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Path of the JWK Set under the issuer.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Path of the authorization endpoint under the issuer.
pub(crate) const AUTHORIZE_PATH: &str = "/.oauth2/authorize";

/// Provider metadata. Every field Discovery §3 marks REQUIRED is present, with values
/// that describe what this provider really does: it signs ID-token-shaped JWTs with
/// RS256 and registers no OAuth clients yet, so its authorization endpoint answers
/// every request with an OAuth error, and it has no token endpoint (Discovery §3
/// requires one only for flows other than the implicit one, which is all `id_token`
/// as the sole response type declares).
#[derive(Debug, Serialize)]
pub(crate) struct ProviderMetadata {
    pub(crate) issuer: String,
    authorization_endpoint: String,
    pub(crate) jwks_uri: String,
    response_types_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    scopes_supported: [&'static str; 1],
    claims_supported: [&'static str; 7],
    grant_types_supported: [&'static str; 1],
}

impl ProviderMetadata {
    pub(crate) fn new(issuer: &Issuer) -> Self {
        let base = issuer.as_str();
        Self {
            issuer: base.to_owned(),
            authorization_endpoint: format!("{base}{AUTHORIZE_PATH}"),
            jwks_uri: format!("{base}{JWKS_PATH}"),
            response_types_supported: ["id_token"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
            scopes_supported: ["openid"],
            claims_supported: ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"],
            grant_types_supported: ["implicit"],
        }
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_has_every_required_field_and_the_exact_issuer() {
        let issuer = Issuer::parse_origin("https://id.example.com").unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&ProviderMetadata::new(&issuer).to_json()).unwrap();
        assert_eq!(doc["issuer"], "https://id.example.com");
        assert_eq!(doc["jwks_uri"], "https://id.example.com/.well-known/jwks.json");
        assert_eq!(
            doc["authorization_endpoint"],
            "https://id.example.com/.oauth2/authorize"
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256"])
        );
        for field in ["response_types_supported", "subject_types_supported"] {
            assert!(doc[field].as_array().is_some_and(|a| !a.is_empty()), "{field}");
        }
    }
}
