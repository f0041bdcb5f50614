//! An identity provider's metadata, as a client needs it: OpenID Connect Discovery 1.0 §3
//! (with RFC 8414 §2 for the OAuth fields and RFC 9207 §3 for `iss` in authorization
//! responses).
//!
//! Fetched from the same discovery URL the STS uses for an issuer's keys
//! ([`crate::sts::idp_keys::discovery_request`]); the parser checks the issuer exactly and
//! every endpoint URL with the rule the STS applies to `jwks_uri`.

use http::{Request, Response, StatusCode, Uri};
use serde::Deserialize;

use crate::identity::{check_https_url, Issuer, UrlError};
use crate::sts::idp_keys::MAX_DOCUMENT_BYTES;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MetadataError {
    #[error("identity provider answered HTTP {status} for its metadata")]
    Status { status: u16 },
    #[error("identity provider's metadata is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("identity provider's metadata is not acceptable: {reason}")]
    Malformed { reason: String },
    #[error("identity provider's metadata names another issuer")]
    IssuerMismatch,
    #[error("identity provider's {field} is not an acceptable URL")]
    BadUrl {
        field: &'static str,
        #[source]
        reason: UrlError,
    },
}

/// An endpoint URL from the metadata (or the CLI's configuration): https, or http on a
/// loopback host; no fragment or user information; a query allowed and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    url: String,
    uri: Uri,
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Result<Self, UrlError> {
        let uri = super::check_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            uri,
        })
    }

    /// The URL exactly as the provider wrote it.
    pub(crate) fn as_str(&self) -> &str {
        &self.url
    }

    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }
}

/// What a client needs from a provider's metadata.
#[derive(Debug, Clone)]
pub(crate) struct ProviderMetadata {
    /// Equal, exactly, to the issuer the metadata was fetched for.
    pub(crate) issuer: Issuer,
    pub(crate) authorization_endpoint: Endpoint,
    pub(crate) token_endpoint: Endpoint,
    /// Checked with the STS's rule for it (no query).
    pub(crate) jwks_uri: Endpoint,
    /// RFC 8628 §4.
    pub(crate) device_authorization_endpoint: Option<Endpoint>,
    /// RFC 8414 §2 (from RFC 7009).
    pub(crate) revocation_endpoint: Option<Endpoint>,
    /// OpenID Connect RP-Initiated Logout 1.0 §2.1.
    pub(crate) end_session_endpoint: Option<Endpoint>,
    /// RFC 8414 §2; `None` when the metadata omits it.
    pub(crate) code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 8414 §2; when omitted, `["authorization_code", "implicit"]`.
    pub(crate) grant_types_supported: Vec<String>,
    /// RFC 9207 §3; when omitted, `false`. When `true`, authorization responses without
    /// `iss` are refused.
    pub(crate) authorization_response_iss_parameter_supported: bool,
}

impl ProviderMetadata {
    /// Does the provider say it supports S256 (RFC 8414 §2)? When the field is omitted the
    /// provider says nothing; many providers that enforce PKCE omit it, so this is advice
    /// for a warning, not a reason to switch PKCE off.
    pub(crate) fn advertises_s256(&self) -> bool {
        self.code_challenge_methods_supported
            .as_ref()
            .is_some_and(|m| m.iter().any(|m| m == "S256"))
    }

    /// Does the provider list `grant_type` (RFC 8414 §2, with its default)?
    pub(crate) fn supports_grant_type(&self, grant_type: &str) -> bool {
        self.grant_types_supported.iter().any(|g| g == grant_type)
    }
}

/// `GET {issuer}/.well-known/openid-configuration` (Discovery §4.1): the STS's own request
/// for the same document.
pub(crate) fn metadata_request(issuer: &Issuer) -> Request<Vec<u8>> {
    crate::sts::idp_keys::discovery_request(issuer)
}

/// Parses and checks the metadata fetched for `issuer`.
pub(crate) fn metadata_response(issuer: &Issuer, res: &Response<Vec<u8>>) -> Result<ProviderMetadata, MetadataError> {
    #[derive(Deserialize)]
    struct Doc {
        issuer: String,
        authorization_endpoint: String,
        token_endpoint: String,
        jwks_uri: String,
        device_authorization_endpoint: Option<String>,
        revocation_endpoint: Option<String>,
        end_session_endpoint: Option<String>,
        code_challenge_methods_supported: Option<Vec<String>>,
        grant_types_supported: Option<Vec<String>>,
        #[serde(default)]
        authorization_response_iss_parameter_supported: bool,
    }

    // Discovery §4.2: a successful response is 200 with a JSON object.
    if res.status() != StatusCode::OK {
        return Err(MetadataError::Status {
            status: res.status().as_u16(),
        });
    }
    if res.body().len() > MAX_DOCUMENT_BYTES {
        return Err(MetadataError::TooLarge);
    }
    // Discovery §3: issuer, authorization_endpoint, token_endpoint and jwks_uri are REQUIRED.
    // A field given twice is refused (serde), not resolved by picking one.
    let doc: Doc = serde_json::from_slice(res.body()).map_err(|e| MetadataError::Malformed {
        reason: super::display_text(&e.to_string()),
    })?;
    // Discovery §4.3: the issuer MUST be identical to the one the document was fetched for.
    if doc.issuer != issuer.as_str() {
        return Err(MetadataError::IssuerMismatch);
    }
    let endpoint =
        |field: &'static str, url: &str| Endpoint::parse(url).map_err(|reason| MetadataError::BadUrl { field, reason });
    let optional = |field: &'static str, url: Option<String>| url.map(|u| endpoint(field, &u)).transpose();
    // The STS fetches jwks_uri with its own rule (no query); the same rule here.
    check_https_url(&doc.jwks_uri).map_err(|reason| MetadataError::BadUrl {
        field: "jwks_uri",
        reason,
    })?;
    Ok(ProviderMetadata {
        issuer: issuer.clone(),
        authorization_endpoint: endpoint("authorization_endpoint", &doc.authorization_endpoint)?,
        token_endpoint: endpoint("token_endpoint", &doc.token_endpoint)?,
        jwks_uri: endpoint("jwks_uri", &doc.jwks_uri)?,
        device_authorization_endpoint: optional("device_authorization_endpoint", doc.device_authorization_endpoint)?,
        revocation_endpoint: optional("revocation_endpoint", doc.revocation_endpoint)?,
        end_session_endpoint: optional("end_session_endpoint", doc.end_session_endpoint)?,
        code_challenge_methods_supported: doc.code_challenge_methods_supported,
        grant_types_supported: doc
            .grant_types_supported
            .unwrap_or_else(|| vec!["authorization_code".into(), "implicit".into()]),
        authorization_response_iss_parameter_supported: doc.authorization_response_iss_parameter_supported,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ISSUER: &str = "https://idp.example/realms/r1";

    pub(crate) fn issuer() -> Issuer {
        Issuer::parse_trusted(ISSUER).unwrap()
    }

    pub(crate) fn document() -> serde_json::Value {
        serde_json::json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://idp.example/realms/r1/auth?ui=new",
            "token_endpoint": "https://idp.example/realms/r1/token",
            "jwks_uri": "https://idp.example/realms/r1/certs",
            "device_authorization_endpoint": "https://idp.example/realms/r1/device",
            "revocation_endpoint": "https://idp.example/realms/r1/revoke",
            "end_session_endpoint": "https://idp.example/realms/r1/logout",
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
            "authorization_response_iss_parameter_supported": true,
            "response_types_supported": ["code"],
            "some_extension": {"nested": [1, 2, 3]}
        })
    }

    /// Metadata parsed from [`document`] changed by `edit`.
    pub(crate) fn metadata_with(edit: impl FnOnce(&mut serde_json::Value)) -> ProviderMetadata {
        let mut doc = document();
        edit(&mut doc);
        metadata_response(&issuer(), &ok(&doc.to_string())).unwrap()
    }

    fn ok(body: &str) -> Response<Vec<u8>> {
        Response::new(body.as_bytes().to_vec())
    }

    fn parse_edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<ProviderMetadata, MetadataError> {
        let mut doc = document();
        edit(&mut doc);
        metadata_response(&issuer(), &ok(&doc.to_string()))
    }

    #[test]
    fn the_request_is_the_sts_discovery_request() {
        let req = metadata_request(&issuer());
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(
            req.uri().to_string(),
            "https://idp.example/realms/r1/.well-known/openid-configuration"
        );
        assert_eq!(req.headers()["accept"], "application/json");
    }

    #[test]
    fn a_full_document_gives_every_field() {
        let m = metadata_with(|_| {});
        assert_eq!(m.issuer.as_str(), ISSUER);
        assert_eq!(
            m.authorization_endpoint.as_str(),
            "https://idp.example/realms/r1/auth?ui=new"
        );
        assert_eq!(m.token_endpoint.as_str(), "https://idp.example/realms/r1/token");
        assert_eq!(m.jwks_uri.as_str(), "https://idp.example/realms/r1/certs");
        assert_eq!(
            m.device_authorization_endpoint.as_ref().unwrap().as_str(),
            "https://idp.example/realms/r1/device"
        );
        assert_eq!(
            m.revocation_endpoint.as_ref().unwrap().as_str(),
            "https://idp.example/realms/r1/revoke"
        );
        assert_eq!(
            m.end_session_endpoint.as_ref().unwrap().as_str(),
            "https://idp.example/realms/r1/logout"
        );
        assert!(m.advertises_s256());
        assert!(m.supports_grant_type("refresh_token"));
        assert!(!m.supports_grant_type("implicit"));
        assert!(m.authorization_response_iss_parameter_supported);
    }

    #[test]
    fn omitted_optional_fields_take_their_rfc_defaults() {
        let m = metadata_with(|d| {
            let o = d.as_object_mut().unwrap();
            for f in [
                "device_authorization_endpoint",
                "revocation_endpoint",
                "end_session_endpoint",
                "code_challenge_methods_supported",
                "grant_types_supported",
                "authorization_response_iss_parameter_supported",
            ] {
                o.remove(f);
            }
        });
        assert!(m.device_authorization_endpoint.is_none());
        assert!(m.revocation_endpoint.is_none());
        assert!(m.end_session_endpoint.is_none());
        assert!(!m.advertises_s256());
        assert!(m.supports_grant_type("authorization_code"));
        assert!(m.supports_grant_type("implicit"));
        assert!(!m.supports_grant_type("refresh_token"));
        assert!(!m.authorization_response_iss_parameter_supported);
    }

    #[test]
    fn only_s256_counts_as_advertised_pkce() {
        let m = metadata_with(|d| d["code_challenge_methods_supported"] = serde_json::json!(["plain"]));
        assert!(!m.advertises_s256());
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        for other in [
            "https://idp.example/realms/r1/",
            "https://IDP.example/realms/r1",
            "https://idp.example/realms/r2",
            "http://idp.example/realms/r1",
        ] {
            assert_eq!(
                parse_edited(|d| d["issuer"] = other.into()).unwrap_err(),
                MetadataError::IssuerMismatch,
                "{other}"
            );
        }
    }

    #[test]
    fn every_endpoint_must_be_https_or_loopback_http() {
        for field in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "device_authorization_endpoint",
            "revocation_endpoint",
            "end_session_endpoint",
        ] {
            for bad in [
                "http://idp.example/x",
                "https://idp.example/x#f",
                "/relative",
                "javascript:alert(1)",
            ] {
                let err = parse_edited(|d| d[field] = bad.into()).unwrap_err();
                assert!(
                    matches!(err, MetadataError::BadUrl { field: f, .. } if f == field),
                    "{field} {bad}: {err:?}"
                );
            }
            assert!(
                parse_edited(|d| d[field] = "http://127.0.0.1:3000/x".into()).is_ok(),
                "{field}"
            );
        }
        // The STS's rule for jwks_uri has no query; the other endpoints may have one.
        assert!(parse_edited(|d| d["token_endpoint"] = "https://idp.example/t?x=1".into()).is_ok());
        assert!(matches!(
            parse_edited(|d| d["jwks_uri"] = "https://idp.example/k?x=1".into()),
            Err(MetadataError::BadUrl { field: "jwks_uri", .. })
        ));
    }

    #[test]
    fn required_fields_missing_wrong_types_and_duplicates_are_malformed() {
        for field in ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"] {
            let err = parse_edited(|d| {
                d.as_object_mut().unwrap().remove(field);
            })
            .unwrap_err();
            assert!(
                matches!(&err, MetadataError::Malformed { reason } if reason.contains(field)),
                "{err:?}"
            );
        }
        assert!(matches!(
            parse_edited(|d| d["authorization_response_iss_parameter_supported"] = "true".into()),
            Err(MetadataError::Malformed { .. })
        ));
        let duplicated = format!("{{\"issuer\":\"https://evil.example\",{}", &document().to_string()[1..]);
        assert!(matches!(
            metadata_response(&issuer(), &ok(&duplicated)),
            Err(MetadataError::Malformed { .. })
        ));
        for junk in ["", "[]", "null", "<html>", "{"] {
            assert!(matches!(
                metadata_response(&issuer(), &ok(junk)),
                Err(MetadataError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn a_non_200_or_oversized_answer_is_refused() {
        let mut res = ok(&document().to_string());
        *res.status_mut() = StatusCode::NOT_FOUND;
        assert_eq!(
            metadata_response(&issuer(), &res).unwrap_err(),
            MetadataError::Status { status: 404 }
        );
        let mut doc = document();
        doc["padding"] = "x".repeat(MAX_DOCUMENT_BYTES).into();
        assert_eq!(
            metadata_response(&issuer(), &ok(&doc.to_string())).unwrap_err(),
            MetadataError::TooLarge
        );
    }
}
