//! The S3 read path: authenticate, authorise against the catalogue or the upstream API, then
//! answer from the product's object store. Every error is S3 XML with S3's status.
//!
//! [`S3Service`] is the path as configured; a [`Call`] is one request being answered (what it
//! came with and who sent it), and each step of the answer is a method on it: objects here,
//! listings in [`crate::s3::list`].

use http::{header, HeaderValue, Request, Response, StatusCode};

use crate::access::catalogue::Catalogue;
use crate::access::upstream::{UpstreamClient, ANONYMOUS_SUBJECT};
use crate::access::{AccessError, ProductAccess, ProductSummary, Visibility};
use crate::backend::spec::BackendSpec;
use crate::backend::store::{ObjectStore, StoredObject};
use crate::backend::ProductStore;
use crate::identity::{Caller, Subject};
use crate::oidc::mint::JwtSigner;
use crate::oidc::signer::Signer;
use crate::platform::{HttpClient, Io};
use crate::s3::auth::{self, Principal};
use crate::s3::error::{Resource, S3Error};
use crate::s3::list::xml::location_xml;
use crate::s3::object::{self, Conditional, ObjectError, ObjectMeta};
use crate::s3::route::{self, ObjectTarget, S3Request};
use crate::secret::MacKey;
use crate::session::seal::SessionKeys;
use crate::web::{self, Body};

/// The S3 read path as configured.
pub(crate) struct S3Service<'c> {
    pub(crate) catalogue: Option<&'c Catalogue>,
    /// The setting (`UPSTREAM_API_URL` or `CATALOGUE`) that is set but refused: every look-up
    /// is then a 503 naming it, never a 404 nor an answer from the other source.
    pub(crate) misconfigured: Option<&'static str>,
    /// When set, asked instead of the catalogue.
    pub(crate) upstream: Option<UpstreamClient>,
    pub(crate) session_keys: Option<&'c SessionKeys>,
    /// MACs listing continuation tokens ([`crate::s3::list::token::key`]).
    pub(crate) list_key: MacKey,
}

/// For tests and fuzz targets: the service of a catalogue alone (no upstream API, no session
/// keys, the fixed public listing-token key).
#[cfg(any(test, feature = "fuzzing"))]
impl<'c> S3Service<'c> {
    pub(crate) fn from_catalogue(catalogue: &'c Catalogue) -> Self {
        Self {
            catalogue: Some(catalogue),
            misconfigured: None,
            upstream: None,
            session_keys: None,
            list_key: crate::s3::list::token::key(None),
        }
    }
}

impl<'c> S3Service<'c> {
    /// Routes and answers an S3 request (the router sends every path that is neither `/` nor
    /// a dot path). `signer` mints the per-caller JWTs for the upstream API (the provider's;
    /// `None` when off).
    pub(crate) async fn handle<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        signer: Option<&JwtSigner<S>>,
    ) -> Response<Body> {
        let request_id = crate::session::request_id(io.random);
        let resource = req.uri().path().to_owned();
        let routed = route::parse(req.method(), req.uri().path(), req.uri().query());
        let result = match routed {
            Ok(S3Request::Preflight) => Ok(web::preflight(req.headers(), route::ALLOWED_METHODS)),
            Ok(op) => self.answer(op, req, io, signer).await,
            Err(e) => Err(e.into()),
        };
        let mut res = match result {
            Ok(res) => res,
            Err(e) => {
                // The detail is for the log; the answer carries S3's fixed text for the case.
                io.log.log(&serde_json::json!({
                    "level": "info", "msg": "s3 error", "code": e.code().as_str(), "reason": e.to_string(),
                    "request_id": request_id,
                }));
                e.to_response(&resource, &request_id)
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut().insert("x-amz-request-id", v);
        }
        res
    }

    /// Authenticates, then answers `op` as the caller.
    async fn answer<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        op: S3Request,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        signer: Option<&JwtSigner<S>>,
    ) -> Result<Response<Body>, S3Error> {
        let principal = auth::authenticate(req, self.session_keys, io.clock.now_secs())?;
        let call = Call {
            service: self,
            req,
            io,
            signer,
            caller: principal.caller(),
            principal: &principal,
        };
        match (call.answer(op).await, &principal) {
            (Err(e), Principal::Anonymous) => Err(S3Error::Anonymous(Box::new(e))),
            (answered, _) => answered,
        }
    }
}

/// One S3 request being answered: what it came with and who sent it.
pub(crate) struct Call<'a, H, R, S> {
    pub(crate) service: &'a S3Service<'a>,
    req: &'a Request<Vec<u8>>,
    pub(crate) io: &'a Io<'a, H, R>,
    /// Mints the caller's JWTs for the upstream API; `None` when the provider is off.
    signer: Option<&'a JwtSigner<S>>,
    pub(crate) principal: &'a Principal,
    /// Who asks, (issuer, subject); `None`: anonymous.
    caller: Option<Caller>,
}

/// GetObject or HeadObject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// The object's bytes.
    Get,
    /// Its headers only.
    Head,
}

impl<H: HttpClient, R: ObjectStore, S: Signer + 'static> Call<'_, H, R, S> {
    async fn answer(&self, op: S3Request) -> Result<Response<Body>, S3Error> {
        // The session policy first (AWS evaluates it once per request, before the resource is
        // looked at); the caller's own rights are checked where the product is looked up.
        self.principal.authorize(&op)?;
        match op {
            S3Request::GetObject(t) => self.object(&t, Read::Get).await,
            S3Request::HeadObject(t) => self.object(&t, Read::Head).await,
            S3Request::HeadBucket { account } => {
                self.products(&account).await?;
                Ok(Response::new(Body::Empty))
            }
            S3Request::GetBucketLocation { account } => {
                self.products(&account).await?;
                Ok(xml(location_xml(None)))
            }
            S3Request::ListObjectsV2 { account, params } => self.list_v2(&account, &params).await,
            S3Request::ListObjectsV1 { account, params } => self.list_v1(&account, &params).await,
            S3Request::Preflight => Err(denied(Resource::Bucket)),
        }
    }

    /// GetObject or HeadObject: conditionals (RFC 9110 §13.2.2), then a range (§14), from
    /// the product's store.
    async fn object(&self, t: &ObjectTarget, read: Read) -> Result<Response<Body>, S3Error> {
        let access = self.product_access(&t.account, &t.product, Resource::Object).await?;
        if !access.permissions.read {
            return Err(denied(Resource::Object));
        }
        let no_such_key = || ObjectError::NoSuchKey;
        let rest = t.rest.as_deref().filter(|r| !r.is_empty()).ok_or_else(no_such_key)?;
        let key = format!("{}{rest}", access.backend.prefix(&t.account, &t.product));
        let store = &self.store(&access.backend)?;
        let headers = self.req.headers();
        let conditional = headers.contains_key(header::IF_MATCH)
            || headers.contains_key(header::IF_NONE_MATCH)
            || headers.contains_key(header::IF_MODIFIED_SINCE)
            || headers.contains_key(header::IF_UNMODIFIED_SINCE);
        let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
        // Metadata first when it decides the answer (HEAD, conditionals, ranges).
        let res = if read == Read::Head || conditional || range_header.is_some() {
            let stored = store.head(&key).await?.ok_or_else(no_such_key)?;
            if range_header.is_some() && read == Read::Get && stored.content_encoding.is_some() {
                // workerd's fetch decodes a Content-Encoding, and in its pass-through mode a
                // partial (206) encoded body never arrives: refuse rather than hang.
                return Err(ObjectError::EncodedRange.into());
            }
            let meta = meta_of(&stored);
            match object::evaluate_conditionals(headers, &meta) {
                Conditional::Proceed => {}
                Conditional::NotModified => {
                    let mut r = Response::new(Body::Empty);
                    *r.status_mut() = StatusCode::NOT_MODIFIED;
                    *r.headers_mut() = object::not_modified_headers(&meta);
                    return Ok(with_cache_control(r, access.visibility));
                }
                Conditional::PreconditionFailed => return Err(ObjectError::PreconditionFailed.into()),
            }
            let range = match range_header {
                Some(h) => object::parse_range(h, meta.size)?,
                None => None,
            };
            let mut r = Response::new(Body::Empty);
            *r.headers_mut() = object::response_headers(&meta, range.as_ref());
            *r.status_mut() = object::status(range.as_ref());
            if read == Read::Get {
                let want = range.as_ref().map(|r| (r.start, r.len()));
                let (_, body) = store.get(&key, want).await?.ok_or_else(no_such_key)?;
                *r.body_mut() = Body::Stream(body);
            }
            r
        } else {
            let (stored, body) = store.get(&key, None).await?.ok_or_else(no_such_key)?;
            let mut r = Response::new(Body::Stream(body));
            *r.headers_mut() = object::response_headers(&meta_of(&stored), None);
            r
        };
        Ok(with_cache_control(res, access.visibility))
    }

    /// What the caller may do with a product, its backend checked: an upstream API answer
    /// whose prefix breaks the rules (see [`crate::backend::spec::BackendSpec::check_upstream`]) is
    /// logged and answered with a 503, never used. (The catalogue's are checked when parsed.)
    pub(crate) async fn product_access(
        &self,
        account: &str,
        product: &str,
        resource: Resource,
    ) -> Result<ProductAccess, S3Error> {
        let access = self.product(account, product, resource).await?;
        if self.service.upstream.is_some() {
            if let Err(e) = access.backend.check_upstream(account, product) {
                self.io.log.log(&serde_json::json!({
                    "level": "error", "msg": "upstream answer refused", "reason": e.to_string(),
                    "account": account, "product": product,
                }));
                let reason = "the upstream API answered with an unusable backend".to_owned();
                return Err(S3Error::Access {
                    source: AccessError::Unavailable { reason },
                    resource,
                });
            }
        }
        Ok(access)
    }

    /// The store behind `backend` (see [`crate::backend::open`]).
    pub(crate) fn store<'b>(&'b self, backend: &'b BackendSpec) -> Result<ProductStore<'b, R, H>, S3Error> {
        Ok(crate::backend::open(backend, self.io)?)
    }

    /// A 503 naming the refused setting, when authorisation is misconfigured.
    fn misconfigured(&self) -> Result<(), S3Error> {
        match self.service.misconfigured {
            None => Ok(()),
            Some(setting) => Err(S3Error::Misconfigured { setting }),
        }
    }

    /// The caller's JWT for the upstream API: `sub` and, for a signed-in caller, `sub_id`
    /// naming its IdP; `anonymous` for unsigned requests.
    async fn bearer(&self, upstream: &UpstreamClient) -> Result<String, AccessError> {
        let unavailable = |reason: &str| AccessError::Unavailable {
            reason: reason.to_owned(),
        };
        let signer = self
            .signer
            .ok_or_else(|| unavailable("the OpenID provider is not configured"))?;
        let anonymous = || Subject::parse(ANONYMOUS_SUBJECT).ok_or_else(|| unavailable("subject is not usable"));
        let (subject, idp) = match &self.caller {
            Some(c) => (c.subject.clone(), Some(&c.issuer)),
            None => (anonymous()?, None),
        };
        signer
            .mint(&subject, idp, &upstream.config.audience, self.io.clock, self.io.random)
            .await
            .map(|t| t.to_string())
            .map_err(|_| unavailable("could not sign the upstream token"))
    }

    /// What the caller may do with a product (the upstream API when configured, else the
    /// catalogue); `resource` is what the request reads.
    async fn product(&self, account: &str, product: &str, resource: Resource) -> Result<ProductAccess, S3Error> {
        self.misconfigured()?;
        let caller = self.caller.as_ref();
        let answer = match (&self.service.upstream, self.service.catalogue) {
            (Some(up), _) => up.product(caller, account, product, || self.bearer(up), self.io).await,
            (None, Some(c)) => c.product(account, product, caller),
            (None, None) => Err(AccessError::NoCatalogue),
        };
        answer.map_err(|source| S3Error::Access { source, resource })
    }

    /// The products of an account the caller may know of.
    pub(crate) async fn products(&self, account: &str) -> Result<Vec<ProductSummary>, S3Error> {
        self.misconfigured()?;
        let caller = self.caller.as_ref();
        let answer = match (&self.service.upstream, self.service.catalogue) {
            (Some(up), _) => up.products(caller, account, || self.bearer(up), self.io).await,
            (None, Some(c)) => c.products(account, caller),
            (None, None) => Err(AccessError::NoCatalogue),
        };
        answer.map_err(|source| S3Error::Access {
            source,
            resource: Resource::Bucket,
        })
    }
}

/// `AccessDenied`: the caller's rights do not cover the request.
pub(crate) fn denied(resource: Resource) -> S3Error {
    S3Error::Access {
        source: AccessError::Denied,
        resource,
    }
}

fn meta_of(o: &StoredObject) -> ObjectMeta {
    ObjectMeta {
        size: o.size,
        etag: o.etag.clone(),
        last_modified_secs: o.last_modified_secs,
        content_type: o.content_type.clone(),
    }
}

/// A `200` XML document.
pub(crate) fn xml(body: String) -> Response<Body> {
    web::with_body(StatusCode::OK, "application/xml", body.into_bytes())
}

/// Restricted products are never stored in a shared cache.
pub(crate) fn with_cache_control(mut r: Response<Body>, visibility: Visibility) -> Response<Body> {
    let value = match visibility {
        Visibility::Restricted => "private, no-store",
        Visibility::Public => "public, max-age=60",
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    r
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    pub(crate) use crate::backend::store::memory::MemoryStore;
    use crate::backend::store::StoreError;
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{CountingRandom, FixedClock, MemoryLog, NoHttp};
    use futures_util::FutureExt;

    pub(crate) const CATALOGUE: &str = r#"{"accounts": {"demo": {"products": {
        "a": {"visibility": "public", "backend": {"type": "r2"}},
        "b": {"visibility": "public", "backend": {"type": "r2"}}}}}}"#;

    pub(crate) struct Harness {
        pub(crate) catalogue: Catalogue,
        pub(crate) log: MemoryLog,
        /// [`S3Service::misconfigured`].
        pub(crate) misconfigured: Option<&'static str>,
    }

    impl Harness {
        pub(crate) fn new() -> Self {
            Self::with_catalogue(CATALOGUE)
        }

        pub(crate) fn with_catalogue(json: &str) -> Self {
            Self {
                catalogue: Catalogue::parse(json, &[]).unwrap(),
                log: MemoryLog::default(),
                misconfigured: None,
            }
        }

        pub(crate) fn get(&self, store: &MemoryStore, uri: &str) -> Response<Body> {
            self.send(store, Request::get(uri).body(Vec::new()).unwrap())
        }

        /// The service's answer to `req`, with the harness's catalogue and log.
        pub(crate) fn send(&self, store: &MemoryStore, req: Request<Vec<u8>>) -> Response<Body> {
            let service = S3Service {
                misconfigured: self.misconfigured,
                ..S3Service::from_catalogue(&self.catalogue)
            };
            let (clock, random) = (FixedClock::at_secs(1_800_000_000), CountingRandom::default());
            let io = Io::new(&clock, &random, &NoHttp, &self.log).with_store(store);
            service
                .handle(&req, &io, None::<&JwtSigner<RsaSigner>>)
                .now_or_never()
                .unwrap()
        }
    }

    /// The parts of a listing document the tests look at.
    #[derive(Debug, Default)]
    pub(crate) struct ListingDoc {
        pub(crate) keys: Vec<String>,
        pub(crate) prefixes: Vec<String>,
        pub(crate) truncated: bool,
        pub(crate) next_marker: Option<String>,
        pub(crate) next_token: Option<String>,
    }

    pub(crate) fn listing_of(res: &Response<Body>) -> ListingDoc {
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{:?}",
            String::from_utf8_lossy(res.body().as_bytes())
        );
        let text = std::str::from_utf8(res.body().as_bytes()).unwrap();
        let doc = roxmltree::Document::parse(text).unwrap();
        let texts = |path: &[&str]| -> Vec<String> {
            doc.descendants()
                .filter(|n| {
                    n.tag_name().name() == path[path.len() - 1]
                        && (path.len() == 1 || n.parent_element().map(|p| p.tag_name().name()) == Some(path[0]))
                })
                .map(|n| n.text().unwrap_or("").to_owned())
                .collect()
        };
        ListingDoc {
            keys: texts(&["Contents", "Key"]),
            prefixes: texts(&["CommonPrefixes", "Prefix"]),
            truncated: texts(&["IsTruncated"]) == ["true"],
            next_marker: texts(&["NextMarker"]).pop(),
            next_token: texts(&["NextContinuationToken"]).pop(),
        }
    }

    pub(crate) fn code_of(res: &Response<Body>) -> String {
        let text = String::from_utf8_lossy(res.body().as_bytes()).into_owned();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let code = doc.descendants().find(|n| n.has_tag_name("Code")).unwrap();
        code.text().unwrap().to_owned()
    }

    #[test]
    fn an_r2_product_without_a_prefix_cannot_read_another_products_keys() {
        let h = Harness::new();
        let store = MemoryStore::with(&["demo/a/mine.txt", "demo/b/secret.txt"]);
        assert_eq!(h.get(&store, "/demo/a/mine.txt").status(), StatusCode::OK);
        let res = h.get(&store, "/demo/a/demo/b/secret.txt");
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(code_of(&res), "NoSuchKey");
        let listed = listing_of(&h.get(&store, "/demo?list-type=2&prefix=a/"));
        assert_eq!(listed.keys, ["a/mine.txt"]);
    }

    /// A request for `uri` with `headers`.
    fn request(method: http::Method, uri: &str, headers: &[(&str, &str)]) -> Request<Vec<u8>> {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Vec::new()).unwrap()
    }

    /// The status and S3 code of `res`, `"ok"` for a success.
    fn outcome(res: &Response<Body>) -> (StatusCode, String) {
        let code = if res.status().is_client_error() || res.status().is_server_error() {
            code_of(res)
        } else {
            "ok".to_owned()
        };
        (res.status(), code)
    }

    const KEY: &str = "demo/a/dir/k.txt";

    #[test]
    fn get_streams_the_object_with_its_headers_and_head_sends_them_alone() {
        let (h, store) = (Harness::new(), MemoryStore::with(&[KEY]));
        let get = h.get(&store, "/demo/a/dir/k.txt");
        assert_eq!(get.status(), StatusCode::OK);
        assert!(matches!(get.body(), Body::Stream(_)));
        let head = h.send(&store, request(http::Method::HEAD, "/demo/a/dir/k.txt", &[]));
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.body(), &Body::Empty);
        for res in [&get, &head] {
            assert_eq!(res.headers()["content-length"], KEY.len().to_string().as_str());
            assert_eq!(res.headers()["etag"], "\"e\"");
            assert_eq!(res.headers()["cache-control"], "public, max-age=60");
            assert_eq!(res.headers()["last-modified"], "Tue, 14 Nov 2023 22:13:20 GMT");
        }
    }

    #[test]
    fn a_range_is_206_and_an_unsatisfiable_one_416_naming_the_size() {
        let (h, store) = (Harness::new(), MemoryStore::with(&[KEY]));
        let ranged = h.send(
            &store,
            request(http::Method::GET, "/demo/a/dir/k.txt", &[("range", "bytes=0-3")]),
        );
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            ranged.headers()["content-range"],
            format!("bytes 0-3/{}", KEY.len()).as_str()
        );
        assert_eq!(ranged.headers()["content-length"], "4");
        let past = h.send(
            &store,
            request(http::Method::GET, "/demo/a/dir/k.txt", &[("range", "bytes=999-")]),
        );
        assert_eq!(
            outcome(&past),
            (StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange".into())
        );
        assert_eq!(
            past.headers()["content-range"],
            format!("bytes */{}", KEY.len()).as_str()
        );
    }

    #[test]
    fn conditionals_answer_304_and_412_before_any_body() {
        let (h, store) = (Harness::new(), MemoryStore::with(&[KEY]));
        let get = |headers: &[(&str, &str)]| h.send(&store, request(http::Method::GET, "/demo/a/dir/k.txt", headers));
        let not_modified = get(&[("if-none-match", "W/\"e\"")]);
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(not_modified.body(), &Body::Empty);
        assert_eq!(not_modified.headers()["etag"], "\"e\"");
        assert_eq!(
            outcome(&get(&[("if-match", "\"other\"")])),
            (StatusCode::PRECONDITION_FAILED, "PreconditionFailed".into())
        );
        assert_eq!(get(&[("if-none-match", "\"other\"")]).status(), StatusCode::OK);
    }

    #[test]
    fn missing_keys_products_and_accounts_are_s3s_not_found_codes() {
        let (h, store) = (Harness::new(), MemoryStore::with(&[KEY]));
        for (uri, want) in [
            ("/demo/a/dir/nope.txt", "NoSuchKey"),
            ("/demo/a", "NoSuchKey"),
            ("/demo/a/", "NoSuchKey"),
            ("/demo/nope/k.txt", "NoSuchKey"),
            ("/nope/a/k.txt", "NoSuchBucket"),
            ("/nope?list-type=2", "NoSuchBucket"),
            ("/demo?list-type=2&prefix=nope/", "NoSuchBucket"),
        ] {
            assert_eq!(
                outcome(&h.get(&store, uri)),
                (StatusCode::NOT_FOUND, want.into()),
                "{uri}"
            );
        }
        let head_bucket = |uri| h.send(&store, request(http::Method::HEAD, uri, &[])).status();
        assert_eq!(head_bucket("/demo"), StatusCode::OK);
        assert_eq!(head_bucket("/nope"), StatusCode::NOT_FOUND);
        let location = h.get(&store, "/demo?location");
        assert_eq!(location.status(), StatusCode::OK);
        assert!(String::from_utf8_lossy(location.body().as_bytes()).contains("LocationConstraint"));
    }

    #[test]
    fn backend_failures_are_503s_with_a_retry_hint_and_throttling_is_slow_down() {
        let h = Harness::new();
        for (fail, code, retry) in [
            (StoreError::Throttled, "SlowDown", "1"),
            (StoreError::Unavailable, "ServiceUnavailable", "5"),
            (StoreError::Refused { status: 403 }, "ServiceUnavailable", "5"),
        ] {
            let store = MemoryStore {
                fail: Some(fail.clone()),
                ..MemoryStore::with(&[KEY])
            };
            for uri in ["/demo/a/dir/k.txt", "/demo?list-type=2&prefix=a/"] {
                let res = h.get(&store, uri);
                assert_eq!(
                    outcome(&res),
                    (StatusCode::SERVICE_UNAVAILABLE, code.into()),
                    "{fail:?} {uri}"
                );
                assert_eq!(res.headers()["retry-after"], retry, "{fail:?}");
            }
        }
    }

    #[test]
    fn a_range_of_an_encoded_object_is_not_implemented_but_the_whole_object_is_served() {
        let h = Harness::new();
        let store = MemoryStore {
            encoding: Some("gzip"),
            ..MemoryStore::with(&[KEY])
        };
        let ranged = h.send(
            &store,
            request(http::Method::GET, "/demo/a/dir/k.txt", &[("range", "bytes=0-3")]),
        );
        assert_eq!(outcome(&ranged), (StatusCode::NOT_IMPLEMENTED, "NotImplemented".into()));
        assert_eq!(h.get(&store, "/demo/a/dir/k.txt").status(), StatusCode::OK);
        let head = h.send(
            &store,
            request(http::Method::HEAD, "/demo/a/dir/k.txt", &[("range", "bytes=0-3")]),
        );
        assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
    }

    #[test]
    fn misconfigured_authorisation_is_a_503_naming_the_setting_for_every_read() {
        let h = Harness {
            misconfigured: Some("UPSTREAM_API_URL"),
            ..Harness::new()
        };
        let store = MemoryStore::with(&[KEY]);
        for uri in ["/demo/a/dir/k.txt", "/demo?list-type=2", "/demo?location"] {
            let res = h.get(&store, uri);
            assert_eq!(
                outcome(&res),
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable".into())
            );
            assert!(String::from_utf8_lossy(res.body().as_bytes()).contains("UPSTREAM_API_URL"));
        }
        assert!(store.queries.borrow().is_empty());
    }

    #[test]
    fn every_answer_carries_its_request_id() {
        let (h, store) = (Harness::new(), MemoryStore::with(&[KEY]));
        for uri in ["/demo/a/dir/k.txt", "/demo/a/nope", "/demo?list-type=2"] {
            let id = h.get(&store, uri).headers()["x-amz-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(id.len(), 36, "{uri}: {id}");
        }
    }

    #[test]
    fn a_refusal_logs_its_detail_and_answers_with_s3s_fixed_text() {
        let h = Harness::new();
        let store = MemoryStore::with(&["demo/a/k"]);
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20270115/us-east-1/s3/aws4_request, \
                    Credential=AKID/20270115/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
        let req = Request::get("/demo/a/k")
            .header("authorization", auth)
            .header("x-amz-date", "20270115T080000Z")
            .body(Vec::new())
            .unwrap();
        let res = h.send(&store, req);
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(code_of(&res), "InvalidArgument");
        let body = String::from_utf8_lossy(res.body().as_bytes()).into_owned();
        assert!(!body.contains("repeats a component"), "{body}");
        assert!(
            body.contains("<Message>The authorization header is malformed"),
            "{body}"
        );
        let logged = h.log.0.borrow();
        let line = logged.iter().find(|l| l["msg"] == "s3 error").expect("logged");
        assert_eq!(line["code"], "InvalidArgument");
        assert_eq!(line["reason"], "authorization header repeats a component");
        assert_eq!(line["request_id"], res.headers()["x-amz-request-id"].to_str().unwrap());
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::access::catalogue::tests::DEMO as CATALOGUE;
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{CountingRandom, FixedClock, MemoryLog, NoHttp};
    use crate::policy::SessionPolicy;
    use crate::s3::auth::tests::{keys, session_with, signed_get, NOW};
    use crate::s3::error::ANONYMOUS_DENIED;
    use futures_util::FutureExt;

    /// Reads and listings of public-data only.
    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo/public-data/*"},
        {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo",
         "Condition":{"StringLike":{"s3:prefix":["","public-data/*"]}}}]}"#;

    /// Alice (a reader of restricted-data) with `policy`: the status and body of GET `uri`.
    fn get(policy: Option<&str>, uri: &str) -> (StatusCode, String) {
        let idp = crate::identity::Issuer::parse_trusted("https://idp.example").unwrap();
        let catalogue = Catalogue::parse(CATALOGUE, &[idp]).unwrap();
        let keys = keys();
        let service = S3Service {
            session_keys: Some(&keys),
            ..S3Service::from_catalogue(&catalogue)
        };
        let (claims, token) = session_with(NOW + 600, policy.map(|p| SessionPolicy::parse(p).unwrap()));
        let req = signed_get(uri, &claims.akid, claims.secret.expose_secret(), &token);
        status_and_body(&service, &req)
    }

    /// An unsigned GET of `uri` against the demo catalogue: the status and body.
    fn anonymous_get(uri: &str) -> (StatusCode, String) {
        let idp = crate::identity::Issuer::parse_trusted("https://idp.example").unwrap();
        let catalogue = Catalogue::parse(CATALOGUE, &[idp]).unwrap();
        let service = S3Service::from_catalogue(&catalogue);
        let req = Request::get(uri).body(Vec::new()).unwrap();
        status_and_body(&service, &req)
    }

    /// `service`'s answer to `req` at `NOW`: the status and body.
    fn status_and_body(service: &S3Service<'_>, req: &Request<Vec<u8>>) -> (StatusCode, String) {
        let (clock, random, log) = (
            FixedClock::at_secs(NOW),
            CountingRandom::default(),
            MemoryLog::default(),
        );
        let io = Io::new(&clock, &random, &NoHttp, &log);
        let res = service
            .handle(req, &io, None::<&JwtSigner<RsaSigner>>)
            .now_or_never()
            .unwrap();
        (
            res.status(),
            String::from_utf8_lossy(res.body().as_bytes()).into_owned(),
        )
    }

    #[test]
    fn an_anonymous_read_of_restricted_data_is_told_to_sign_and_not_whether_the_key_exists() {
        // Any key of a restricted product, and its listing: one answer, naming signed credentials.
        let answers: Vec<_> = [
            "/demo/restricted-data/secret.txt",
            "/demo/restricted-data/no-such-key",
            "/demo?list-type=2&prefix=restricted-data/",
        ]
        .iter()
        .map(|uri| anonymous_get(uri))
        .collect();
        assert!(ANONYMOUS_DENIED.contains("signed with credentials"));
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::FORBIDDEN, "{body}");
            assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
            assert!(
                body.contains(&format!("<Message>{ANONYMOUS_DENIED}</Message>")),
                "{body}"
            );
        }
        // The same document but for the echoed resource.
        let without_id = |b: &str| b.split("<Resource>").next().unwrap_or_default().to_owned();
        assert_eq!(without_id(&answers[0].1), without_id(&answers[1].1));
        // A signed caller without the right keeps the plain message.
        let (status, body) = get(Some(POLICY), "/demo/restricted-data/a.txt");
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!body.contains(ANONYMOUS_DENIED), "{body}");
    }

    #[test]
    fn the_session_policy_narrows_what_the_catalogue_allows() {
        // Without a policy alice reaches the (unconfigured) store for both products: 503.
        for uri in ["/demo/public-data/a.txt", "/demo/restricted-data/a.txt"] {
            assert_eq!(get(None, uri).0, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        }
        assert_eq!(
            get(Some(POLICY), "/demo/public-data/a.txt").0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        for uri in [
            "/demo/restricted-data/a.txt",
            "/demo?list-type=2&prefix=restricted-data/",
            "/demo?prefix=restricted-data/",
            "/demo?location",
        ] {
            let (status, body) = get(Some(POLICY), uri);
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
            assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
        }
    }

    #[test]
    fn an_account_listing_shows_only_the_products_the_policy_lets_be_listed() {
        let (status, body) = get(None, "/demo?list-type=2&delimiter=/");
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<Prefix>restricted-data/</Prefix>"), "{body}");
        let (status, body) = get(Some(POLICY), "/demo?list-type=2&delimiter=/");
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<Prefix>public-data/</Prefix>"), "{body}");
        assert!(!body.contains("restricted-data"), "{body}");
        // An explicit deny of one product's listing hides it from an otherwise open policy.
        let deny = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:*","Resource":"*"},
            {"Effect":"Deny","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo",
             "Condition":{"StringLike":{"s3:prefix":"restricted-data/*"}}}]}"#;
        let (_, body) = get(Some(deny), "/demo?delimiter=/");
        assert!(
            body.contains("<Prefix>public-data/</Prefix>") && !body.contains("restricted-data"),
            "{body}"
        );
    }
}
