//! The trusted identity providers' signing keys: discovery, JWKS, and a per-isolate cache.
//!
//! Keys are fetched from the issuer's discovery document (OpenID Connect Discovery 1.0
//! §4) and its `jwks_uri`, cached for the JWKS response's `max-age` clamped to
//! [`MIN_TTL_SECS`, `MAX_TTL_SECS`], refetched at once (at most every
//! [`REFETCH_INTERVAL_SECS`]) when a token names an unknown `kid`, and kept in use for
//! [`GRACE_SECS`] past expiry while the IdP cannot be reached.
//!
//! Each fetch is split into a pure request builder and a response parser.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use http::{header, Request, Response, StatusCode};
use serde::Deserialize;

use crate::identity::{check_https_url, Issuer};
use crate::oidc::jwk::{Jwk, JwkSet};
use crate::platform::{Clock, HttpClient};

pub const MIN_TTL_SECS: u64 = 5;
pub const MAX_TTL_SECS: u64 = 86_400;
pub const DEFAULT_TTL_SECS: u64 = 600;
pub const REFETCH_INTERVAL_SECS: u64 = 10;
pub const GRACE_SECS: u64 = 3_600;
/// Largest discovery or JWKS document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdpError {
    #[error("identity provider could not be reached ({what})")]
    Unreachable { what: String },
    #[error("identity provider answered {what}")]
    BadAnswer { what: String },
    #[error("no key with the token's kid at the identity provider")]
    UnknownKid,
}

/// `GET {issuer}/.well-known/openid-configuration` (Discovery §4.1; a trailing slash on
/// the issuer is removed first).
pub fn discovery_request(issuer: &Issuer) -> Request<Vec<u8>> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.as_str().trim_end_matches('/')
    );
    get(&url)
}

/// Reads `jwks_uri` from the discovery document, checking that it names the same issuer
/// exactly (Discovery §4.3) and that the URI is https (or loopback http).
pub fn discovery_response(issuer: &Issuer, res: &Response<Vec<u8>>) -> Result<String, IdpError> {
    #[derive(Deserialize)]
    struct Doc {
        issuer: String,
        jwks_uri: String,
    }
    check_status(res, "discovery document")?;
    let doc: Doc = serde_json::from_slice(res.body()).map_err(|_| IdpError::BadAnswer {
        what: "a discovery document without issuer and jwks_uri".into(),
    })?;
    if doc.issuer != issuer.as_str() {
        return Err(IdpError::BadAnswer {
            what: "a discovery document for another issuer".into(),
        });
    }
    check_https_url(&doc.jwks_uri).map_err(|e| IdpError::BadAnswer {
        what: format!("a jwks_uri that is not acceptable: {e}"),
    })?;
    Ok(doc.jwks_uri)
}

pub fn jwks_request(jwks_uri: &str) -> Request<Vec<u8>> {
    get(jwks_uri)
}

/// The key set and how long it may be cached.
pub fn jwks_response(res: &Response<Vec<u8>>) -> Result<(JwkSet, u64), IdpError> {
    check_status(res, "JWK Set")?;
    let set = JwkSet::parse(res.body()).map_err(|e| IdpError::BadAnswer { what: e.to_string() })?;
    let ttl = res
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age)
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(MIN_TTL_SECS, MAX_TTL_SECS);
    Ok((set, ttl))
}

/// `max-age` from a `Cache-Control` value; `no-store`/`no-cache` count as zero.
fn max_age(cc: &str) -> Option<u64> {
    let mut out = None;
    for directive in cc.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            out = v.trim_matches('"').parse().ok();
        }
    }
    out
}

fn get(url: &str) -> Request<Vec<u8>> {
    Request::get(url)
        .header(header::ACCEPT, "application/json")
        .body(Vec::new())
        .unwrap_or_else(|_| Request::new(Vec::new()))
}

fn check_status(res: &Response<Vec<u8>>, what: &str) -> Result<(), IdpError> {
    if res.status() != StatusCode::OK {
        return Err(IdpError::BadAnswer {
            what: format!("HTTP {} for its {what}", res.status().as_u16()),
        });
    }
    if res.body().len() > MAX_DOCUMENT_BYTES {
        return Err(IdpError::BadAnswer {
            what: format!("an oversized {what}"),
        });
    }
    Ok(())
}

struct Cached {
    keys: Rc<JwkSet>,
    expires_at: u64,
    last_fetch: u64,
}

/// Per-isolate cache of each trusted issuer's keys.
#[derive(Default)]
pub struct KeyCache {
    entries: RefCell<HashMap<Issuer, Cached>>,
}

impl KeyCache {
    /// The key for `kid` at `issuer`, fetching or refetching as the rules above say.
    pub async fn key<H: HttpClient>(
        &self,
        issuer: &Issuer,
        kid: Option<&str>,
        http: &H,
        clock: &dyn Clock,
    ) -> Result<Jwk, IdpError> {
        let now = clock.now_secs();
        let (cached, fresh, may_refetch) = match self.entries.borrow().get(issuer) {
            Some(c) => (
                Some(Rc::clone(&c.keys)),
                now < c.expires_at,
                now >= c.last_fetch + REFETCH_INTERVAL_SECS,
            ),
            None => (None, false, true),
        };
        if let (Some(keys), true) = (&cached, fresh) {
            if let Some(k) = keys.find(kid) {
                return Ok(k.clone());
            }
            if !may_refetch {
                return Err(IdpError::UnknownKid);
            }
        }
        match fetch(issuer, http).await {
            Ok((set, ttl)) => {
                let set = Rc::new(set);
                self.entries.borrow_mut().insert(
                    issuer.clone(),
                    Cached {
                        keys: Rc::clone(&set),
                        expires_at: now + ttl,
                        last_fetch: now,
                    },
                );
                set.find(kid).cloned().ok_or(IdpError::UnknownKid)
            }
            Err(e) => {
                // Unreachable or broken IdP: stale keys serve for a grace period.
                let stale = self
                    .entries
                    .borrow()
                    .get(issuer)
                    .and_then(|c| (now < c.expires_at + GRACE_SECS).then(|| Rc::clone(&c.keys)));
                match stale {
                    Some(keys) => keys.find(kid).cloned().ok_or(e),
                    None => Err(e),
                }
            }
        }
    }
}

async fn fetch<H: HttpClient>(issuer: &Issuer, http: &H) -> Result<(JwkSet, u64), IdpError> {
    let unreachable = |e: crate::platform::FetchError| IdpError::Unreachable { what: e.to_string() };
    let res = http.fetch(discovery_request(issuer)).await.map_err(unreachable)?;
    let jwks_uri = discovery_response(issuer, &res)?;
    let res = http.fetch(jwks_request(&jwks_uri)).await.map_err(unreachable)?;
    jwks_response(&res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, cc: Option<&str>) -> Response<Vec<u8>> {
        let mut b = Response::builder().status(status);
        if let Some(cc) = cc {
            b = b.header("cache-control", cc);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    fn issuer() -> Issuer {
        Issuer::parse_trusted("https://idp.example/tenant/v2.0").unwrap()
    }

    #[test]
    fn discovery_url_appends_the_well_known_path() {
        assert_eq!(
            discovery_request(&issuer()).uri().to_string(),
            "https://idp.example/tenant/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn discovery_must_name_the_same_issuer_and_an_https_jwks_uri() {
        let ok = r#"{"issuer":"https://idp.example/tenant/v2.0","jwks_uri":"https://idp.example/keys"}"#;
        assert_eq!(
            discovery_response(&issuer(), &response(200, ok, None)).unwrap(),
            "https://idp.example/keys"
        );
        let other = ok.replace("tenant", "other");
        assert!(discovery_response(&issuer(), &response(200, &other, None)).is_err());
        let plain = ok.replace("https://idp.example/keys", "http://idp.example/keys");
        assert!(discovery_response(&issuer(), &response(200, &plain, None)).is_err());
        assert!(discovery_response(&issuer(), &response(500, ok, None)).is_err());
    }

    #[test]
    fn jwks_ttl_follows_max_age_within_bounds() {
        let body = r#"{"keys":[]}"#;
        assert_eq!(
            jwks_response(&response(200, body, Some("public, max-age=120")))
                .unwrap()
                .1,
            120
        );
        assert_eq!(
            jwks_response(&response(200, body, Some("max-age=0"))).unwrap().1,
            MIN_TTL_SECS
        );
        assert_eq!(
            jwks_response(&response(200, body, Some("no-store"))).unwrap().1,
            MIN_TTL_SECS
        );
        assert_eq!(
            jwks_response(&response(200, body, Some("max-age=99999999"))).unwrap().1,
            MAX_TTL_SECS
        );
        assert_eq!(jwks_response(&response(200, body, None)).unwrap().1, DEFAULT_TTL_SECS);
    }
}
