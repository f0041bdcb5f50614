//! The whole request path: route by path to one protocol family, then finish every answer
//! in one place (`HEAD` derived from `GET`, the CORS headers).
//!
//! Every non-S3 route lives under a dot-prefixed path (`/.well-known`, `/.oauth2`,
//! `/.sts`, `/.test`): S3 bucket names cannot start with a dot, so they never collide, and
//! [`Route::of`] decides once whether a request is S3's. Each family checks its own methods
//! and answers its own 405 and CORS preflight: S3 (`s3::route`) and the STS in AWS's XML, the
//! JSON routes (the service document, the OpenID provider, the test routes) here.
//! The `/.test` routes exist only in builds with the `insecure-test-routes` feature (the
//! end-to-end suite's and `make dev`'s bundle), never in the release bundle.

use http::{Method, Request, Response, StatusCode};

use crate::access::upstream::UpstreamClient;
use crate::backend::store::ObjectStore;
use crate::client_configuration::CliClient;
use crate::config::{Config, ConfigError};
use crate::info::{FeatureState, Features, S3State, ServiceInfo};
use crate::oidc::discovery::{AUTHORIZE_PATH, DISCOVERY_PATH, JWKS_PATH};
use crate::oidc::keys::ProviderKey;
use crate::oidc::provider::Provider;
#[cfg(any(test, feature = "insecure-test-routes"))]
use crate::oidc::signer::RsaSigner;
use crate::oidc::signer::Signer;
use crate::platform::{HttpClient, Io};
use crate::s3::service::S3Service;
use crate::sts::{Sts, StsState, STS_PATH};
#[cfg(any(test, feature = "insecure-test-routes"))]
use crate::testing;
use crate::web::{self, Body, READ_METHODS};

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Service,
    /// The command-line client's configuration document.
    ClientConfiguration,
    Discovery,
    Jwks,
    Authorize,
    Sts,
    #[cfg(any(test, feature = "insecure-test-routes"))]
    TestSign,
    #[cfg(any(test, feature = "insecure-test-routes"))]
    TestMint,
    #[cfg(any(test, feature = "insecure-test-routes"))]
    TestCredentials,
    /// Every path but `/` that is not a dot path: path-style S3.
    S3,
    /// A dot path that is none of the above.
    NotFound,
}

impl Route {
    pub(crate) fn of(path: &str) -> Self {
        match path {
            "/" => Route::Service,
            crate::client_configuration::WELL_KNOWN_PATH => Route::ClientConfiguration,
            DISCOVERY_PATH => Route::Discovery,
            JWKS_PATH => Route::Jwks,
            AUTHORIZE_PATH => Route::Authorize,
            STS_PATH | "/.sts/" => Route::Sts,
            #[cfg(any(test, feature = "insecure-test-routes"))]
            testing::SIGN_PATH => Route::TestSign,
            #[cfg(any(test, feature = "insecure-test-routes"))]
            testing::MINT_PATH => Route::TestMint,
            #[cfg(any(test, feature = "insecure-test-routes"))]
            testing::CREDENTIALS_PATH => Route::TestCredentials,
            // S3 bucket names cannot start with a dot: a dot path is never S3's.
            p if p.starts_with("/.") => Route::NotFound,
            _ => Route::S3,
        }
    }

    /// The methods a route serves; the first is what `Allow` lists first.
    pub(crate) fn methods(self) -> &'static [Method] {
        match self {
            Route::Sts => crate::sts::METHODS,
            Route::S3 => crate::s3::route::ALLOWED_METHODS,
            _ => READ_METHODS,
        }
    }
}

/// The label of the key that authenticates upstream answers in the shared cache.
const UPSTREAM_CACHE_MAC_LABEL: &str = "upstream/shared-cache/v1";

/// Whether answering `method` on `path` reads the request body. Only a route that serves
/// a body-carrying method does (`POST /.sts`); everything else, S3 writes included, is
/// answered from the method and path alone, so the adapter never reads a body it would
/// throw away (an S3 `PUT` gets its 405 without a byte of its upload being read).
pub(crate) fn reads_body(method: &Method, path: &str) -> bool {
    !READ_METHODS.contains(method) && Route::of(path).methods().contains(method)
}

/// The provider as configured: off (no key), misconfigured, or serving.
enum ProviderState<'c, S> {
    Off,
    Misconfigured(&'c ConfigError),
    On(Box<Provider<'c, S>>),
}

/// The application: everything built once per isolate from the configuration.
pub(crate) struct App<'c, S> {
    provider: ProviderState<'c, S>,
    cli: &'c Result<Option<CliClient>, ConfigError>,
    sts: Sts<'c>,
    s3: S3Service<'c>,
    /// Present only when `INSECURE_TEST_ROUTES` is honoured.
    #[cfg(any(test, feature = "insecure-test-routes"))]
    test_rsa_signer: Option<RsaSigner>,
}

impl<'c, S: Signer + 'static> App<'c, S> {
    /// Builds the app. `make_signer` picks how the active key signs (WebCrypto on Workers).
    pub(crate) fn new(config: &'c Config, make_signer: impl FnOnce(&ProviderKey) -> S) -> Self {
        let provider = match &config.provider {
            Ok(None) => ProviderState::Off,
            Err(e) => ProviderState::Misconfigured(e),
            Ok(Some(p)) => ProviderState::On(Box::new(Provider::new(p, make_signer(&p.active)))),
        };
        let sts_state = match (&config.sts, &config.session_keys) {
            (Ok(None), _) => StsState::Off,
            (Err(e), _) | (Ok(Some(_)), Err(e)) => StsState::Misconfigured(format!("the STS is misconfigured: {e}")),
            (Ok(Some(c)), Ok(Some(keys))) => StsState::On { config: c, keys },
            (Ok(Some(_)), Ok(None)) => {
                StsState::Misconfigured("the STS is misconfigured: SESSION_TOKEN_KEY is not set".into())
            }
        };
        let s3 = S3Service {
            catalogue: config.catalogue.as_ref().ok().and_then(Option::as_ref),
            // A broken upstream setting never falls back to the catalogue.
            misconfigured: if config.upstream.is_err() {
                Some("UPSTREAM_API_URL")
            } else if config.catalogue.is_err() && !matches!(config.upstream, Ok(Some(_))) {
                Some("CATALOGUE")
            } else {
                None
            },
            upstream: config
                .upstream
                .as_ref()
                .ok()
                .and_then(Option::as_ref)
                .cloned()
                .map(|c| {
                    let shared_mac = config.derived_keys.as_ref().map(|k| k.key(UPSTREAM_CACHE_MAC_LABEL));
                    UpstreamClient::new(c, shared_mac)
                }),
            session_keys: config.session_keys.as_ref().ok().and_then(Option::as_ref),
            list_key: crate::s3::list::token::key(config.derived_keys.as_ref()),
        };
        Self {
            provider,
            cli: &config.cli,
            sts: Sts::new(sts_state),
            s3,
            #[cfg(any(test, feature = "insecure-test-routes"))]
            test_rsa_signer: match &config.provider {
                Ok(Some(p)) if config.insecure_test_routes => Some(RsaSigner::new(&p.active)),
                _ => None,
            },
        }
    }

    pub(crate) fn provider(&self) -> Option<&Provider<'c, S>> {
        match &self.provider {
            ProviderState::On(p) => Some(p),
            _ => None,
        }
    }

    /// How the S3 read path decides and where its data lives, for `GET /`.
    fn s3_state(&self) -> S3State {
        let (state, authorisation, backends) = match (&self.s3.misconfigured, &self.s3.upstream, self.s3.catalogue) {
            (Some(_), _, _) => (FeatureState::Misconfigured, None, Vec::new()),
            // The upstream API names each product's backend in its answers.
            (None, Some(_), _) => (FeatureState::Enabled, Some("upstream_api"), Vec::new()),
            (None, None, Some(c)) => (FeatureState::Enabled, Some("catalogue"), c.backend_kinds()),
            (None, None, None) => (FeatureState::Disabled, None, Vec::new()),
        };
        S3State {
            state,
            authorisation,
            backends,
        }
    }

    fn service_info(&self) -> ServiceInfo {
        let (oidc_provider, upstream_jwt) = match &self.provider {
            ProviderState::Off => (FeatureState::Disabled, FeatureState::Disabled),
            ProviderState::Misconfigured(_) => (FeatureState::Misconfigured, FeatureState::Misconfigured),
            ProviderState::On(p) => (
                FeatureState::Enabled,
                if p.config.upstream_audience.is_some() {
                    FeatureState::Enabled
                } else {
                    FeatureState::Disabled
                },
            ),
        };
        let sts = if self.sts.is_enabled() {
            FeatureState::Enabled
        } else if self.sts.is_misconfigured() {
            FeatureState::Misconfigured
        } else {
            FeatureState::Disabled
        };
        let cli_client = match self.cli {
            Ok(None) => FeatureState::Disabled,
            Ok(Some(_)) => FeatureState::Enabled,
            Err(_) => FeatureState::Misconfigured,
        };
        ServiceInfo::new(Features {
            oidc_provider,
            upstream_jwt,
            sts,
            s3: self.s3_state(),
            cli_client,
        })
    }

    /// Answers one request: its family answers, then every answer is finished here.
    pub(crate) async fn handle<H: HttpClient, R: ObjectStore>(
        &self,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
    ) -> Response<Body> {
        let mut res = match self.effective_route(Route::of(req.uri().path())) {
            Route::S3 => {
                let signer = self.provider().map(|p| &p.jwt_signer);
                self.s3.handle(req, io, signer).await
            }
            Route::Sts => self.sts.handle(req, io).await,
            route => self.json_route(route, req, io).await,
        };
        if req.method() == Method::HEAD {
            res = web::into_head(res);
        }
        web::add_cors(&mut res);
        res
    }

    /// Provider routes exist only while the provider is configured, test routes only when enabled.
    fn effective_route(&self, route: Route) -> Route {
        match route {
            Route::Discovery | Route::Jwks | Route::Authorize if matches!(self.provider, ProviderState::Off) => {
                Route::NotFound
            }
            #[cfg(any(test, feature = "insecure-test-routes"))]
            Route::TestSign | Route::TestMint | Route::TestCredentials if self.test_rsa_signer.is_none() => {
                Route::NotFound
            }
            other => other,
        }
    }

    /// The routes that answer in JSON: their methods, preflights and 405s, then the route.
    /// (`io` serves the test routes only.)
    #[cfg_attr(not(any(test, feature = "insecure-test-routes")), allow(unused_variables))]
    async fn json_route<H: HttpClient, R>(
        &self,
        route: Route,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
    ) -> Response<Body> {
        let methods = route.methods();
        if route == Route::NotFound {
            return not_found();
        } else if req.method() == Method::OPTIONS {
            return web::preflight(req.headers(), methods);
        } else if !methods.contains(req.method()) {
            return web::method_not_allowed(methods);
        }
        match route {
            Route::Service => return web::json(StatusCode::OK, self.service_info().to_json()),
            Route::ClientConfiguration => return crate::client_configuration::answer(self.cli, req),
            #[cfg(any(test, feature = "insecure-test-routes"))]
            Route::TestCredentials => {
                return testing::credentials(req, self.s3.session_keys, self.sts.first_issuer(), io.clock, io.random);
            }
            _ => {}
        }
        let provider = match &self.provider {
            ProviderState::On(p) => p,
            ProviderState::Misconfigured(e) => return misconfigured(e),
            ProviderState::Off => return not_found(),
        };
        match route {
            Route::Discovery => provider.discovery(),
            Route::Jwks => provider.jwks(req.headers()),
            Route::Authorize => provider.authorize(),
            #[cfg(any(test, feature = "insecure-test-routes"))]
            Route::TestSign => match &self.test_rsa_signer {
                Some(rsa) => testing::sign(req, provider, rsa).await,
                None => not_found(),
            },
            #[cfg(any(test, feature = "insecure-test-routes"))]
            Route::TestMint => testing::mint(req, provider, io.clock, io.random).await,
            _ => not_found(),
        }
    }
}

fn not_found() -> Response<Body> {
    web::json_error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The provider's routes while its configuration is broken: names the setting, never its value.
fn misconfigured(e: &ConfigError) -> Response<Body> {
    web::json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        &format!("the OpenID provider is misconfigured: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::provider_settings;
    use crate::config::MapSettings;
    use crate::platform::{CountingRandom, FixedClock, MemoryLog, NoHttp};
    use futures_util::FutureExt;

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Vec<u8>> {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Vec::new()).unwrap()
    }

    fn call(config: &Config, req: Request<Vec<u8>>) -> Response<Body> {
        let app = App::new(config, RsaSigner::new);
        let (clock, random, log) = (
            FixedClock::at_secs(1_000),
            CountingRandom::default(),
            MemoryLog::default(),
        );
        let io = Io::new(&clock, &random, &NoHttp, &log);
        app.handle(&req, &io).now_or_never().unwrap()
    }

    fn body_json(res: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(res.body().as_bytes()).unwrap()
    }

    #[test]
    fn discovery_and_jwks_are_served_with_cors_and_caching() {
        let config = Config::from_settings(&provider_settings());
        let res = call(&config, request(Method::GET, DISCOVERY_PATH, &[]));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert!(res.headers().contains_key("cache-control"));
        assert_eq!(body_json(&res)["issuer"], "https://id.example.com");
        let res = call(&config, request(Method::GET, JWKS_PATH, &[]));
        let kids: Vec<_> = body_json(&res)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect();
        assert_eq!(kids, vec!["key-2", "key-1"]);
    }

    #[test]
    fn a_refused_catalogue_makes_the_s3_path_answer_503_not_404() {
        let catalogue = r#"{"accounts": {"demo": {"products": {"p": {"visibility": "restricted",
            "readers": ["alice"], "backend": {"type": "r2", "prefix": "demo/p/"}}}}}}"#;
        let settings = crate::config::tests::sts_settings().with("CATALOGUE", catalogue);
        let config = Config::from_settings(&settings);
        let err = config.catalogue.as_ref().unwrap_err().to_string();
        assert!(err.contains("demo/p"), "{err}");
        let res = call(&config, request(Method::GET, "/demo/p/file.txt", &[]));
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(String::from_utf8_lossy(res.body().as_bytes()).contains("CATALOGUE"));
    }

    #[test]
    fn a_refused_upstream_setting_is_a_503_and_never_falls_back_to_the_catalogue() {
        let catalogue = r#"{"accounts": {"demo": {"products": {"p": {"visibility": "public",
            "backend": {"type": "r2"}}}}}}"#;
        let settings = provider_settings()
            .with("CATALOGUE", catalogue)
            .with("UPSTREAM_API_URL", "http://upstream.example");
        let config = Config::from_settings(&settings);
        assert!(config.upstream.is_err());
        let res = call(&config, request(Method::GET, "/demo/p/file.txt", &[]));
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(String::from_utf8_lossy(res.body().as_bytes()).contains("UPSTREAM_API_URL"));
        let info = body_json(&call(&config, request(Method::GET, "/", &[])));
        assert_eq!(info["features"]["s3"]["state"], "misconfigured");
    }

    #[test]
    fn the_service_document_says_how_the_s3_path_authorises_and_where_data_lives() {
        let catalogue = r#"{"accounts": {"demo": {"products": {
            "a": {"visibility": "public", "backend": {"type": "r2"}},
            "b": {"visibility": "public", "backend": {"type": "s3", "endpoint": "https://s3.example", "bucket": "x"}}}}}}"#;
        let config = Config::from_settings(&provider_settings().with("CATALOGUE", catalogue));
        let info = body_json(&call(&config, request(Method::GET, "/", &[])));
        assert_eq!(
            info["features"]["s3"],
            serde_json::json!({"state": "enabled", "authorisation": "catalogue", "backends": ["r2", "s3"]})
        );
        let info = body_json(&call(
            &Config::from_settings(&MapSettings::default()),
            request(Method::GET, "/", &[]),
        ));
        assert_eq!(info["features"]["s3"]["state"], "disabled");
    }

    #[test]
    fn the_cli_client_document_is_served_with_get_and_head_and_named_among_the_features() {
        let off = Config::from_settings(&crate::config::tests::sts_settings());
        let host = [("host", "data.example.com")];
        let path = crate::client_configuration::WELL_KNOWN_PATH;
        assert_eq!(
            call(&off, request(Method::GET, path, &host)).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            body_json(&call(&off, request(Method::GET, "/", &[])))["features"]["cli_client"],
            "disabled"
        );

        let settings = crate::config::tests::sts_settings()
            .with("CLI_CLIENT_ID", "client-a")
            .with("CLI_ISSUER", "https://idp.example");
        let on = Config::from_settings(&settings);
        let res = call(&on, request(Method::GET, path, &host));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        let doc = body_json(&res);
        assert_eq!(doc["sts_endpoint"], "https://data.example.com/.sts");
        assert_eq!(doc["client_id"], "client-a");
        let head = call(&on, request(Method::HEAD, path, &host));
        assert_eq!((head.status(), head.body().as_bytes().len()), (StatusCode::OK, 0));
        let post = call(&on, request(Method::POST, path, &host));
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            body_json(&call(&on, request(Method::GET, "/", &[])))["features"]["cli_client"],
            "enabled"
        );

        let broken = Config::from_settings(&settings.with("CLI_ISSUER", "https://unknown.example"));
        let res = call(&broken, request(Method::GET, path, &host));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body_json(&res)["error_description"]
            .as_str()
            .unwrap()
            .contains("CLI_ISSUER"));
        assert_eq!(
            body_json(&call(&broken, request(Method::GET, "/", &[])))["features"]["cli_client"],
            "misconfigured"
        );
    }

    /// The `ETag` of the JWKS `config` publishes.
    fn jwks_etag(config: &Config) -> String {
        call(config, request(Method::GET, JWKS_PATH, &[])).headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn jwks_answers_304_to_a_matching_etag() {
        let config = Config::from_settings(&provider_settings());
        let etag = jwks_etag(&config);
        let res = call(&config, request(Method::GET, JWKS_PATH, &[("if-none-match", &etag)]));
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert!(res.body().is_empty());
        assert_eq!(res.headers()["etag"], etag.as_str());
    }

    #[test]
    fn jwks_compares_if_none_match_weakly_and_ignores_a_malformed_one() {
        let config = Config::from_settings(&provider_settings());
        let etag = jwks_etag(&config);
        let status = |value: &str| call(&config, request(Method::GET, JWKS_PATH, &[("if-none-match", value)])).status();
        for hit in [format!("W/{etag}"), format!("\"other\", {etag}"), "*".to_owned()] {
            assert_eq!(status(&hit), StatusCode::NOT_MODIFIED, "{hit}");
        }
        let bare = etag.trim_matches('"').to_owned();
        for miss in [bare, format!("{etag}, *"), "\"other\"".to_owned()] {
            assert_eq!(status(&miss), StatusCode::OK, "{miss}");
        }
    }

    #[test]
    fn head_has_the_get_headers_and_no_body() {
        let config = Config::from_settings(&provider_settings());
        let get = call(&config, request(Method::GET, JWKS_PATH, &[]));
        let head = call(&config, request(Method::HEAD, JWKS_PATH, &[]));
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.body().is_empty());
        assert_eq!(head.headers()["content-length"], get.body().len().to_string().as_str());
        assert_eq!(head.headers()["etag"], get.headers()["etag"]);
    }

    #[test]
    fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
        let config = Config::from_settings(&provider_settings());
        let res = call(&config, request(Method::GET, "/.well-known/nope", &[]));
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(body_json(&res)["error"], "not_found");
        let res = call(&config, request(Method::POST, JWKS_PATH, &[]));
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers()["allow"], "GET, HEAD, OPTIONS");
        let res = call(&config, request(Method::DELETE, "/", &[]));
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        // STS clients get AWS XML there.
        let res = call(&config, request(Method::PUT, "/.sts", &[]));
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers()["allow"], "GET, HEAD, OPTIONS, POST");
        let body = String::from_utf8(res.body().as_bytes().to_vec()).unwrap();
        assert!(
            body.contains("<Code>MethodNotAllowed</Code>") && body.contains("<ErrorResponse"),
            "{body}"
        );
    }

    #[test]
    fn preflight_is_answered_on_known_routes() {
        let config = Config::from_settings(&provider_settings());
        let res = call(
            &config,
            request(
                Method::OPTIONS,
                JWKS_PATH,
                &[
                    ("origin", "https://app.example"),
                    ("access-control-request-method", "GET"),
                ],
            ),
        );
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert_eq!(res.headers()["access-control-allow-methods"], "GET, HEAD, OPTIONS");
    }

    #[test]
    fn provider_routes_are_404_without_a_key_and_the_service_still_answers() {
        let config = Config::from_settings(&MapSettings::default());
        assert_eq!(
            call(&config, request(Method::GET, JWKS_PATH, &[])).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&config, request(Method::GET, DISCOVERY_PATH, &[])).status(),
            StatusCode::NOT_FOUND
        );
        let res = call(&config, request(Method::GET, "/", &[]));
        assert_eq!(body_json(&res)["features"]["oidc_provider"], "disabled");
    }

    #[test]
    fn broken_key_gives_a_clear_error_naming_the_setting_and_the_rest_serves() {
        let settings = provider_settings().with("OIDC_PROVIDER_KEY", "MARKER-SECRET-VALUE");
        let config = Config::from_settings(&settings);
        let res = call(&config, request(Method::GET, JWKS_PATH, &[]));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let desc = body_json(&res)["error_description"].as_str().unwrap().to_owned();
        assert!(desc.contains("OIDC_PROVIDER_KEY"), "{desc}");
        assert!(!desc.contains("MARKER"));
        let res = call(&config, request(Method::GET, "/", &[]));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body_json(&res)["features"]["oidc_provider"], "misconfigured");
    }

    #[test]
    fn post_is_allowed_on_the_sts_only() {
        let config = Config::from_settings(&provider_settings());
        let res = call(
            &config,
            request(Method::OPTIONS, STS_PATH, &[("access-control-request-method", "POST")]),
        );
        assert_eq!(
            res.headers()["access-control-allow-methods"],
            "GET, HEAD, OPTIONS, POST"
        );
        let res = call(
            &config,
            request(Method::OPTIONS, JWKS_PATH, &[("access-control-request-method", "POST")]),
        );
        assert_eq!(res.headers()["access-control-allow-methods"], "GET, HEAD, OPTIONS");
        assert_eq!(
            call(&config, request(Method::POST, "/", &[])).status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn root_is_the_service_document_not_s3() {
        assert_eq!(Route::of("/"), Route::Service);
        let config = Config::from_settings(&provider_settings());
        for method in [Method::GET, Method::POST] {
            let res = call(&config, request(method.clone(), "/", &[]));
            assert_eq!(res.headers()["content-type"], "application/json", "{method}");
        }
    }

    #[test]
    fn dot_paths_are_reserved_for_the_router() {
        for path in ["/.sts", "/.well-known/jwks.json", "/.nope", "/.well-known/nope", "/."] {
            assert_ne!(Route::of(path), Route::S3, "{path}");
        }
        for path in ["/acct", "/acct/p/k", "/a.b", "/-x", "//", "*"] {
            assert_eq!(Route::of(path), Route::S3, "{path}");
        }
        // An unknown dot path is the router's JSON 404 for every method, never S3 XML.
        let config = Config::from_settings(&provider_settings());
        for method in [Method::GET, Method::POST, Method::PUT] {
            let res = call(&config, request(method.clone(), "/.nope/acct/key", &[]));
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method}");
            assert_eq!(body_json(&res)["error"], "not_found");
        }
    }

    #[test]
    fn every_family_answers_its_own_405_and_preflight_and_all_get_cors() {
        let config = Config::from_settings(&provider_settings());
        let cases = [
            ("/acct/p/k", "GET, HEAD, OPTIONS", "<Code>MethodNotAllowed</Code>"),
            (STS_PATH, "GET, HEAD, OPTIONS, POST", "<Code>MethodNotAllowed</Code>"),
            (JWKS_PATH, "GET, HEAD, OPTIONS", "method_not_allowed"),
        ];
        for (path, allow, body) in cases {
            let res = call(&config, request(Method::DELETE, path, &[]));
            assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(res.headers()["allow"], allow, "{path}");
            assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
            assert!(String::from_utf8_lossy(res.body().as_bytes()).contains(body), "{path}");
            let preflight = call(&config, request(Method::OPTIONS, path, &[]));
            assert_eq!(preflight.status(), StatusCode::NO_CONTENT, "{path}");
            assert_eq!(preflight.headers()["access-control-allow-methods"], allow, "{path}");
            assert_eq!(preflight.headers()["access-control-allow-origin"], "*", "{path}");
        }
    }

    #[test]
    fn head_is_finished_the_same_way_for_every_family() {
        let config = Config::from_settings(&provider_settings());
        for path in ["/", JWKS_PATH, STS_PATH, "/acct/p/k"] {
            let res = call(&config, request(Method::HEAD, path, &[]));
            assert!(res.body().is_empty(), "{path}");
            assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
        }
    }

    #[test]
    fn only_a_route_serving_the_method_reads_the_body() {
        assert!(reads_body(&Method::POST, STS_PATH));
        assert!(reads_body(&Method::POST, "/.sts/"));
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT, Method::DELETE] {
            assert!(!reads_body(&m, STS_PATH), "{m}");
        }
        for m in [Method::PUT, Method::POST, Method::DELETE, Method::PATCH] {
            for path in ["/acct/prod/key", "/acct", "/", JWKS_PATH, "/.test/mint"] {
                assert!(!reads_body(&m, path), "{m} {path}");
            }
        }
    }

    #[test]
    fn sts_without_an_audience_answers_501_not_implemented() {
        let config = Config::from_settings(&MapSettings::default());
        for path in [STS_PATH, "/.sts/"] {
            let res = call(&config, request(Method::POST, path, &[]));
            assert_eq!(res.status(), StatusCode::NOT_IMPLEMENTED);
            assert!(String::from_utf8_lossy(res.body().as_bytes()).contains("<Code>NotImplemented</Code>"));
        }
    }

    #[test]
    fn test_routes_exist_only_when_enabled_on_a_loopback_issuer() {
        let on_loopback = provider_settings()
            .with("OIDC_PROVIDER_ISSUER", "http://127.0.0.1:8787")
            .with("INSECURE_TEST_ROUTES", "1");
        let config = Config::from_settings(&on_loopback);
        assert!(config.insecure_test_routes);
        let res = call(&config, request(Method::GET, "/.test/sign?msg=aGk", &[]));
        assert_eq!(res.status(), StatusCode::OK);
        let public = provider_settings().with("INSECURE_TEST_ROUTES", "1");
        let config = Config::from_settings(&public);
        assert!(!config.insecure_test_routes);
        for path in ["/.test/sign?msg=aGk", "/.test/mint?sub=a", "/.test/credentials?sub=a"] {
            assert_eq!(
                call(&config, request(Method::GET, path, &[])).status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
}
