//! The OpenID provider's routes: discovery, JWKS, and the authorization endpoint.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use crate::config::ProviderConfig;
use crate::oidc::discovery::ProviderMetadata;
use crate::oidc::jwks::{PublishedJwks, JWKS_CACHE_CONTROL};
use crate::oidc::mint::JwtSigner;
use crate::oidc::signer::Signer;
use crate::web::{self, Body};

/// `Cache-Control` of the discovery document: it changes only with the issuer.
const DISCOVERY_CACHE_CONTROL: &str = "public, max-age=3600";

/// Everything the provider serves, computed once per isolate.
pub(crate) struct Provider<'c, S> {
    pub(crate) config: &'c ProviderConfig,
    discovery: Vec<u8>,
    jwks: PublishedJwks,
    pub(crate) jwt_signer: JwtSigner<S>,
}

impl<'c, S: Signer + 'static> Provider<'c, S> {
    pub(crate) fn new(config: &'c ProviderConfig, signer: S) -> Self {
        let discovery = ProviderMetadata::new(&config.issuer).to_json();
        let jwks = PublishedJwks::new(config.active.jwk(), config.previous.as_ref().map(|k| k.jwk()));
        let jwt_signer = JwtSigner::new(signer, config.issuer.clone(), config.active.kid().clone());
        Self {
            config,
            discovery,
            jwks,
            jwt_signer,
        }
    }

    /// `GET /.well-known/openid-configuration`.
    pub(crate) fn discovery(&self) -> Response<Body> {
        let mut res = web::json(StatusCode::OK, self.discovery.clone());
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(DISCOVERY_CACHE_CONTROL));
        res
    }

    /// `GET /.well-known/jwks.json`, with a strong `ETag` and `304` on a match.
    pub(crate) fn jwks(&self, request_headers: &HeaderMap) -> Response<Body> {
        let mut res = if web::if_none_match(request_headers, &self.jwks.etag) == Some(true) {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            web::with_body(StatusCode::OK, "application/jwk-set+json", self.jwks.body.clone())
        };
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(JWKS_CACHE_CONTROL));
        if let Ok(etag) = HeaderValue::from_str(&self.jwks.etag) {
            h.insert(header::ETAG, etag);
        }
        res
    }

    /// `GET /.oauth2/authorize`. No OAuth client is registered with this provider yet, so
    /// every request names an unknown client: RFC 6749 §4.1.2.1 says not to redirect then,
    /// but to tell the user agent directly.
    pub(crate) fn authorize(&self) -> Response<Body> {
        web::json_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "no OAuth client is registered with this provider; it signs tokens for its own upstream calls only",
        )
    }
}
