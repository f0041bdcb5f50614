//! The client-configuration document: what a native client (the command-line client `osp`)
//! needs to sign in and get S3 credentials from this deployment, published by the worker at
//! [`WELL_KNOWN_PATH`] so that `osp login https://data.example` needs nothing else.
//!
//! ```json
//! {"issuer": "https://idp.example", "client_id": "osp", "scopes": "openid offline_access",
//!  "pkce": true, "sts_endpoint": "https://data.example/.sts",
//!  "s3_endpoint": "https://data.example", "region": "us-east-1"}
//! ```
//!
//! Both halves live here, sans-IO: the worker answers the route (`answer`, from the
//! operator's `CLI_*` settings, `CliClient`, and the origin the request reached), the client
//! fetches ([`configuration_request`]) and reads it strictly ([`configuration_response`]);
//! every field is a checked type.

use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::identity::{Issuer, UrlError};
use crate::oauth::client::{ClientId, Scopes};
use crate::oauth::metadata::Endpoint;
use crate::web::{self, Body};

/// Where the worker publishes the document (RFC 8615: a name of this application's own).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oidc-sts-proxy-client";
/// The region the document names: the worker accepts any, SDKs want one.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The scopes asked for when the operator names none: an ID token and a refresh token.
pub const DEFAULT_SCOPES: &str = "openid offline_access";
/// Longest document read.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigurationError {
    #[error("the deployment URL is not acceptable")]
    BaseUrl {
        #[source]
        reason: UrlError,
    },
    #[error("the deployment publishes no client configuration (HTTP 404): it does not offer the command-line client, or the URL is not an oidc-sts-proxy")]
    NotOffered,
    #[error("the deployment answered HTTP {status} for its client configuration")]
    Status { status: u16 },
    #[error("the client configuration is not acceptable: {reason}")]
    Malformed { reason: String },
}

/// An AWS region name as SDKs accept it: 1 to 32 of `a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region(String);

impl Region {
    pub fn parse(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= 32
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The document's content.
#[derive(Debug, Clone)]
pub struct ClientConfiguration {
    /// The identity provider the client signs in at (one `/.sts` trusts).
    pub issuer: Issuer,
    /// The public client registered at that provider for native clients (an audience
    /// `/.sts` accepts from it).
    pub client_id: ClientId,
    /// What to ask for.
    pub scopes: Scopes,
    /// Whether the provider expects PKCE (RFC 7636) on both flows.
    pub pkce: bool,
    /// `AssumeRoleWithWebIdentity`.
    pub sts_endpoint: Endpoint,
    /// The S3 read path (path-style).
    pub s3_endpoint: Endpoint,
    pub region: Region,
}

impl ClientConfiguration {
    /// The document as the worker serves it.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "issuer": self.issuer.as_str(),
            "client_id": self.client_id.as_str(),
            "scopes": self.scopes.as_str(),
            "pkce": self.pkce,
            "sts_endpoint": self.sts_endpoint.as_str(),
            "s3_endpoint": self.s3_endpoint.as_str(),
            "region": self.region.as_str(),
        })
        .to_string()
    }
}

/// What the operator set for the command-line client.
#[derive(Debug, Clone)]
pub(crate) struct CliClient {
    /// `CLI_ISSUER`: one of `AUTH_ISSUER`. Default: the only trusted issuer (several
    /// trusted and none named is a configuration error).
    pub(crate) issuer: Issuer,
    /// `CLI_CLIENT_ID`: the public client registered at that issuer for native clients, an
    /// audience `AUTH_AUDIENCE` accepts from it. No default: unset, the document is 404.
    pub(crate) client_id: ClientId,
    /// `CLI_SCOPES`: must hold `openid`. Default: `openid offline_access`.
    pub(crate) scopes: Scopes,
    /// `CLI_PKCE`: whether the IdP expects PKCE; off only for one that refuses it. Default: on.
    pub(crate) pkce: bool,
}

impl CliClient {
    /// The document for the deployment reached at `origin` (`https://host`).
    fn document(&self, origin: &str) -> Option<ClientConfiguration> {
        Some(ClientConfiguration {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            pkce: self.pkce,
            sts_endpoint: Endpoint::parse(&format!("{origin}{}", crate::sts::STS_PATH)).ok()?,
            s3_endpoint: Endpoint::parse(origin).ok()?,
            region: Region::parse(DEFAULT_REGION)?,
        })
    }
}

/// The deployment's origin as the client reached it: the `Host` it sent (the worker runs
/// only for its own routes' hosts), with https, or http for a loopback host (`wrangler
/// dev`). The endpoints in the document are then exactly the URLs the client already uses,
/// as path-style S3 requires behind a custom domain.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority: http::uri::Authority = host.parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let scheme = if crate::identity::is_loopback_host(authority.host()) {
        "http"
    } else {
        "https"
    };
    Some(format!("{scheme}://{}", authority.as_str()))
}

/// `GET /.well-known/oidc-sts-proxy-client`: the document, `404` while `CLI_CLIENT_ID` is
/// unset, `500` naming the setting when it is misconfigured, `400` without a usable `Host`.
pub(crate) fn answer(cli: &Result<Option<CliClient>, ConfigError>, req: &Request<Vec<u8>>) -> Response<Body> {
    let cli = match cli {
        Ok(Some(c)) => c,
        Ok(None) => return web::json_error(StatusCode::NOT_FOUND, "not_found", "no such route"),
        Err(e) => {
            return web::json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &format!("the command-line client's configuration is misconfigured: {e}"),
            )
        }
    };
    let Some(document) = request_origin(req.headers()).and_then(|origin| cli.document(&origin)) else {
        return web::json_error(StatusCode::BAD_REQUEST, "invalid_request", "no usable Host header");
    };
    let mut res = web::json(StatusCode::OK, document.to_json().into_bytes());
    // Per host (a shared cache keys on the URL, host included); settings change with deploys.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// `GET {base}/.well-known/oidc-sts-proxy-client` for a deployment URL (an origin, https or
/// loopback http; a trailing slash is allowed, a path is not: the document is at the root).
pub fn configuration_request(base: &str) -> Result<Request<Vec<u8>>, ConfigurationError> {
    let origin = Issuer::parse_origin(base.strip_suffix('/').unwrap_or(base))
        .map_err(|reason| ConfigurationError::BaseUrl { reason })?;
    let uri: http::Uri =
        format!("{}{WELL_KNOWN_PATH}", origin.as_str())
            .parse()
            .map_err(|_| ConfigurationError::BaseUrl {
                reason: UrlError::NotAbsolute,
            })?;
    let mut req = Request::new(Vec::new());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = uri;
    req.headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    Ok(req)
}

/// Reads the document strictly: every field present, of its type, checked; unknown fields
/// ignored (a later worker may add some); a repeated field refused.
pub fn configuration_response(res: &Response<Vec<u8>>) -> Result<ClientConfiguration, ConfigurationError> {
    #[derive(Deserialize)]
    struct Doc {
        issuer: String,
        client_id: String,
        scopes: String,
        pkce: bool,
        sts_endpoint: String,
        s3_endpoint: String,
        region: String,
    }
    let malformed = |reason: &str| ConfigurationError::Malformed {
        reason: reason.to_owned(),
    };
    match res.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(ConfigurationError::NotOffered),
        s => return Err(ConfigurationError::Status { status: s.as_u16() }),
    }
    if res.body().len() > MAX_DOCUMENT_BYTES {
        return Err(malformed("larger than 16 KiB"));
    }
    let doc: Doc = serde_json::from_slice(res.body()).map_err(|e| ConfigurationError::Malformed {
        reason: crate::oauth::display_text(&e.to_string()),
    })?;
    let endpoint = |name: &str, url: &str| Endpoint::parse(url).map_err(|_| malformed(name));
    Ok(ClientConfiguration {
        issuer: Issuer::parse_trusted(&doc.issuer).map_err(|_| malformed("issuer is not an https URL"))?,
        client_id: ClientId::parse(&doc.client_id).map_err(|_| malformed("client_id is not a client id"))?,
        scopes: Scopes::parse(&doc.scopes).map_err(|_| malformed("scopes are not RFC 6749 scopes"))?,
        pkce: doc.pkce,
        sts_endpoint: endpoint("sts_endpoint is not an https URL", &doc.sts_endpoint)?,
        s3_endpoint: endpoint("s3_endpoint is not an https URL", &doc.s3_endpoint)?,
        region: Region::parse(&doc.region).ok_or_else(|| malformed("region is not a region name"))?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn example() -> ClientConfiguration {
        ClientConfiguration {
            issuer: Issuer::parse_trusted("https://idp.example/realms/r1").unwrap(),
            client_id: ClientId::parse("osp").unwrap(),
            scopes: Scopes::parse(DEFAULT_SCOPES).unwrap(),
            pkce: true,
            sts_endpoint: Endpoint::parse("https://data.example/.sts").unwrap(),
            s3_endpoint: Endpoint::parse("https://data.example").unwrap(),
            region: Region::parse(DEFAULT_REGION).unwrap(),
        }
    }

    fn ok(body: &str) -> Response<Vec<u8>> {
        Response::new(body.as_bytes().to_vec())
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<ClientConfiguration, ConfigurationError> {
        let mut doc: serde_json::Value = serde_json::from_str(&example().to_json()).unwrap();
        edit(&mut doc);
        configuration_response(&ok(&doc.to_string()))
    }

    #[test]
    fn the_request_goes_to_the_well_known_path_of_the_origin() {
        for base in ["https://data.example", "https://data.example/", "http://127.0.0.1:8787"] {
            let req = configuration_request(base).unwrap();
            assert_eq!(req.method(), Method::GET);
            assert_eq!(
                req.uri().to_string(),
                format!("{}/.well-known/oidc-sts-proxy-client", base.trim_end_matches('/'))
            );
        }
        for bad in [
            "http://data.example",
            "https://data.example/path",
            "data.example",
            "https://data.example?x",
        ] {
            assert!(
                matches!(configuration_request(bad), Err(ConfigurationError::BaseUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn what_the_worker_writes_the_client_reads() {
        let doc = example().to_json();
        let back = configuration_response(&ok(&doc)).unwrap();
        assert_eq!(back.issuer.as_str(), "https://idp.example/realms/r1");
        assert_eq!(back.client_id.as_str(), "osp");
        assert_eq!(back.scopes.as_str(), "openid offline_access");
        assert!(back.pkce);
        assert_eq!(back.sts_endpoint.as_str(), "https://data.example/.sts");
        assert_eq!(back.s3_endpoint.as_str(), "https://data.example");
        assert_eq!(back.region.as_str(), "us-east-1");
        assert!(edited(|d| d["later_field"] = 1.into()).is_ok());
    }

    #[test]
    fn every_field_is_required_and_checked() {
        for field in [
            "issuer",
            "client_id",
            "scopes",
            "pkce",
            "sts_endpoint",
            "s3_endpoint",
            "region",
        ] {
            assert!(
                matches!(
                    edited(|d| {
                        d.as_object_mut().unwrap().remove(field);
                    }),
                    Err(ConfigurationError::Malformed { .. })
                ),
                "{field}"
            );
        }
        let bad: [(&str, serde_json::Value); 8] = [
            ("issuer", "http://idp.example".into()),
            ("client_id", "".into()),
            ("scopes", "openid  email".into()),
            ("pkce", "yes".into()),
            ("sts_endpoint", "http://data.example/.sts".into()),
            ("s3_endpoint", "https://data.example#x".into()),
            ("region", "US East".into()),
            ("region", "".into()),
        ];
        for (field, value) in bad {
            assert!(
                matches!(
                    edited(|d| d[field] = value.clone()),
                    Err(ConfigurationError::Malformed { .. })
                ),
                "{field} = {value}"
            );
        }
        let twice = format!("{{\"pkce\":false,{}", &example().to_json()[1..]);
        assert!(matches!(
            configuration_response(&ok(&twice)),
            Err(ConfigurationError::Malformed { .. })
        ));
    }

    fn cli_client() -> CliClient {
        CliClient {
            issuer: Issuer::parse_trusted("https://idp.example/realms/r1").unwrap(),
            client_id: ClientId::parse("osp").unwrap(),
            scopes: Scopes::parse(DEFAULT_SCOPES).unwrap(),
            pkce: true,
        }
    }

    fn get(host: Option<&str>) -> Request<Vec<u8>> {
        let mut b = Request::builder().uri(WELL_KNOWN_PATH);
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        b.body(Vec::new()).unwrap()
    }

    fn body(res: Response<Body>) -> Response<Vec<u8>> {
        let (parts, body) = res.into_parts();
        Response::from_parts(parts, body.as_bytes().to_vec())
    }

    #[test]
    fn the_route_answers_the_document_for_the_host_the_client_reached() {
        for (host, origin) in [
            ("data.example.com", "https://data.example.com"),
            ("data.example.com:8443", "https://data.example.com:8443"),
            ("127.0.0.1:8787", "http://127.0.0.1:8787"),
            ("localhost:8787", "http://localhost:8787"),
        ] {
            let res = body(answer(&Ok(Some(cli_client())), &get(Some(host))));
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["cache-control"], "public, max-age=300");
            let doc = configuration_response(&res).unwrap();
            assert_eq!(doc.s3_endpoint.as_str(), origin);
            assert_eq!(doc.sts_endpoint.as_str(), format!("{origin}/.sts"));
            assert_eq!(doc.issuer.as_str(), "https://idp.example/realms/r1");
            assert_eq!(
                (doc.client_id.as_str(), doc.scopes.as_str(), doc.pkce),
                ("osp", DEFAULT_SCOPES, true)
            );
            assert_eq!(doc.region.as_str(), "us-east-1");
        }
    }

    #[test]
    fn unset_is_404_misconfigured_is_500_naming_the_setting_and_a_bad_host_is_400() {
        assert_eq!(
            answer(&Ok(None), &get(Some("d.example"))).status(),
            StatusCode::NOT_FOUND
        );
        let err = ConfigError::Missing {
            setting: "CLI_ISSUER",
            because: "CLI_CLIENT_ID",
        };
        let res = body(answer(&Err(err), &get(Some("d.example"))));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(String::from_utf8_lossy(res.body()).contains("CLI_ISSUER"));
        for host in [None, Some("user@d.example"), Some("d.example/x"), Some("")] {
            assert_eq!(
                answer(&Ok(Some(cli_client())), &get(host)).status(),
                StatusCode::BAD_REQUEST,
                "{host:?}"
            );
        }
    }

    #[test]
    fn a_404_means_not_offered_and_other_statuses_are_named() {
        let mut res = ok("");
        *res.status_mut() = StatusCode::NOT_FOUND;
        assert_eq!(
            configuration_response(&res).unwrap_err(),
            ConfigurationError::NotOffered
        );
        *res.status_mut() = StatusCode::BAD_GATEWAY;
        assert_eq!(
            configuration_response(&res).unwrap_err(),
            ConfigurationError::Status { status: 502 }
        );
        assert!(matches!(
            configuration_response(&ok(&"x".repeat(MAX_DOCUMENT_BYTES + 1))),
            Err(ConfigurationError::Malformed { .. })
        ));
    }
}
