//! The S3 read path: authenticate, authorise against the catalogue, then answer from the
//! object store. Every error is S3 XML with S3's status.

use http::{header, HeaderValue, Request, Response, StatusCode};

use crate::identity::{Caller, Subject};
use crate::oidc::mint::JwtSigner;
use crate::oidc::signer::Signer;
use crate::platform::{HttpClient, Io};
use crate::policy::Action;
use crate::s3::auth::{self, Principal};
use crate::s3::error::{S3Code, S3Error};
use crate::s3::list::{self, ListEntry};
use crate::s3::object::{self, Conditional, ObjectMeta};
use crate::s3::remote::RemoteStore;
use crate::s3::route::{self, ListParams, ObjectTarget, S3Request};
use crate::s3::sign::BackendCredentials;
use crate::s3::store::{ListPage, ListQuery, ObjectStore, StoreError, StoredObject};
use crate::sts::credentials::request_id;
use crate::sts::seal::SessionKeys;
use crate::upstream::catalogue::Catalogue;
use crate::upstream::client::{UpstreamClient, ANONYMOUS_SUBJECT};
use crate::upstream::{AccessError, BackendSpec, ProductAccess, ProductSummary, Visibility};
use crate::web::{self, Body};

/// The S3 read path as configured.
pub struct S3Service<'c> {
    pub catalogue: Option<&'c Catalogue>,
    /// `CATALOGUE` is set but refused: every look-up is a 503 naming the setting, not a 404.
    pub catalogue_misconfigured: bool,
    /// When set, asked instead of the catalogue.
    pub upstream: Option<UpstreamClient>,
    pub session_keys: Option<&'c SessionKeys>,
}

/// What the router should do with a path.
pub enum Dispatch {
    /// Not an S3 request (`/` or a dot path): the router answers.
    NotS3,
    /// Answered.
    Answered(Response<Body>),
}

fn store_error(e: StoreError) -> S3Error {
    let (code, message, retry_after) = match e {
        StoreError::Unaddressable => {
            return S3Error::new(
                S3Code::InvalidArgument,
                "keys with a '.' or '..' segment cannot be read from this product's backend",
            )
        }
        StoreError::Throttled => (S3Code::SlowDown, "Please reduce your request rate.".to_owned(), 1),
        // The name of a missing secret is for the log (see `product_store`), not the caller.
        StoreError::Credentials { .. } => (
            S3Code::ServiceUnavailable,
            "the product's storage backend is not configured correctly; please retry later".to_owned(),
            30,
        ),
        e => (S3Code::ServiceUnavailable, format!("{e}; please retry"), 5),
    };
    let mut err = S3Error::new(code, message);
    err.retry_after = Some(retry_after);
    err
}

/// The object store a product lives in, for one request.
enum ProductStore<'a, R, H> {
    R2(&'a R),
    Remote(RemoteStore<'a, H>),
}

impl<R: ObjectStore, H: HttpClient> ObjectStore for ProductStore<'_, R, H> {
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        match self {
            ProductStore::R2(s) => s.head(key).await,
            ProductStore::Remote(s) => s.head(key).await,
        }
    }
    async fn get(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<(StoredObject, crate::web::StreamBody)>, StoreError> {
        match self {
            ProductStore::R2(s) => s.get(key, range).await,
            ProductStore::Remote(s) => s.get(key, range).await,
        }
    }
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        match self {
            ProductStore::R2(s) => s.list(query).await,
            ProductStore::Remote(s) => s.list(query).await,
        }
    }
}

/// The store behind `backend`: the R2 binding, or an S3-compatible endpoint with the
/// credentials its entry names (looked up now, so a rotated secret takes effect at once).
fn product_store<'a, H: HttpClient, R>(
    backend: &'a BackendSpec,
    io: &'a Io<'_, H, R>,
) -> Result<ProductStore<'a, R, H>, S3Error> {
    let BackendSpec::S3(remote) = backend else {
        return Ok(ProductStore::R2(io.store));
    };
    let credentials = match &remote.credentials {
        None => None,
        Some(name) => {
            let parsed = io
                .secrets
                .secret(name)
                .and_then(|value| BackendCredentials::parse(value.expose_secret()));
            if parsed.is_none() {
                io.log.log(&serde_json::json!({
                    "level": "error", "msg": "backend credentials missing or malformed", "secret": name,
                }));
                return Err(store_error(StoreError::Credentials { name: name.clone() }));
            }
            parsed
        }
    };
    Ok(ProductStore::Remote(RemoteStore {
        backend: remote,
        credentials,
        http: io.http,
        clock: io.clock,
    }))
}

fn access_error(e: AccessError, object: bool) -> S3Error {
    match e {
        AccessError::NoSuchAccount | AccessError::NoCatalogue => {
            S3Error::new(S3Code::NoSuchBucket, "The specified bucket does not exist")
        }
        AccessError::NoSuchProduct if object => S3Error::new(S3Code::NoSuchKey, "The specified key does not exist."),
        AccessError::NoSuchProduct => S3Error::new(S3Code::NoSuchBucket, "The specified bucket does not exist"),
        AccessError::Denied => denied(),
        AccessError::Unavailable { reason } => {
            let mut err = S3Error::new(S3Code::ServiceUnavailable, format!("{reason}; please retry"));
            err.retry_after = Some(5);
            err
        }
    }
}

fn denied() -> S3Error {
    S3Error::new(S3Code::AccessDenied, "Access Denied")
}

fn meta_of(o: &StoredObject) -> ObjectMeta {
    ObjectMeta {
        size: o.size,
        etag: o.etag.clone(),
        last_modified_secs: o.last_modified_secs,
        content_type: o.content_type.clone(),
    }
}

impl<'c> S3Service<'c> {
    /// Routes and answers `req` if it is an S3 request.
    /// `signer` mints the per-caller JWTs for the upstream API (the provider's; `None` when off).
    pub async fn handle<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        signer: Option<&JwtSigner<S>>,
    ) -> Dispatch {
        let request_id = request_id(io.random);
        let resource = req.uri().path().to_owned();
        let routed = route::parse(req.method(), req.uri().path(), req.uri().query());
        let result = match routed {
            Ok(S3Request::Service) | Ok(S3Request::Reserved) => return Dispatch::NotS3,
            Ok(S3Request::Preflight) => Ok(web::preflight(req.headers(), route::ALLOWED_METHODS)),
            Ok(op) => self.answer(op, req, io, signer).await,
            Err(e) => Err(e),
        };
        let mut res = match result {
            Ok(res) => res,
            Err(e) => {
                let mut res = e.to_response(&resource, &request_id);
                if e.code == S3Code::MethodNotAllowed {
                    res.headers_mut()
                        .insert(header::ALLOW, web::allow_value(route::ALLOWED_METHODS));
                }
                io.log.log(&serde_json::json!({
                    "level": "info", "msg": "s3 error", "code": e.code.wire().0, "reason": e.message,
                    "request_id": request_id,
                }));
                res
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut().insert("x-amz-request-id", v);
        }
        Dispatch::Answered(res)
    }

    async fn answer<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        op: S3Request,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        signer: Option<&JwtSigner<S>>,
    ) -> Result<Response<Body>, S3Error> {
        let principal = auth::authenticate(req, self.session_keys, io.clock.now_secs())?;
        let caller = principal.caller();
        let catalogue = &Lookup {
            service: self,
            principal: &principal,
            caller: caller.as_ref(),
            io,
            signer,
        };
        // The session policy first (AWS evaluates it once per request, before the resource is
        // looked at); the caller's own rights are checked where the product is looked up.
        principal.authorize(&op)?;
        match op {
            S3Request::GetObject(t) => self.object(&t, req, catalogue, io, false).await,
            S3Request::HeadObject(t) => self.object(&t, req, catalogue, io, true).await,
            S3Request::HeadBucket { account } => {
                catalogue.products(&account).await.map_err(|e| access_error(e, false))?;
                Ok(Response::new(Body::Empty))
            }
            S3Request::GetBucketLocation { account } => {
                catalogue.products(&account).await.map_err(|e| access_error(e, false))?;
                Ok(xml(list::location_xml(None)))
            }
            S3Request::ListObjectsV2 { account, params } => {
                let page = self
                    .list(
                        &account,
                        &params.common,
                        params.start_after.as_deref(),
                        params.continuation_token.as_deref(),
                        true,
                        catalogue,
                        io,
                    )
                    .await?;
                Ok(xml(list::list_v2_xml(
                    &account,
                    &params,
                    &page.entries,
                    &page.prefixes,
                    page.next_token.as_deref(),
                )))
            }
            S3Request::ListObjectsV1 { account, params } => {
                let page = self
                    .list(
                        &account,
                        &params.common,
                        params.marker.as_deref(),
                        None,
                        false,
                        catalogue,
                        io,
                    )
                    .await?;
                let next_marker = page.next_token.as_ref().and(page.entries.last().map(|e| e.key.clone()));
                Ok(xml(list::list_v1_xml(
                    &account,
                    &params,
                    &page.entries,
                    &page.prefixes,
                    page.next_token.is_some(),
                    next_marker.as_deref(),
                )))
            }
            S3Request::Service | S3Request::Reserved | S3Request::Preflight => Err(denied()),
        }
    }

    async fn object<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        t: &ObjectTarget,
        req: &Request<Vec<u8>>,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
        head: bool,
    ) -> Result<Response<Body>, S3Error> {
        let access = catalogue
            .product(&t.account, &t.product)
            .await
            .map_err(|e| access_error(e, true))?;
        if !access.permissions.read {
            return Err(denied());
        }
        let no_such_key = || S3Error::new(S3Code::NoSuchKey, "The specified key does not exist.");
        let rest = t.rest.as_deref().filter(|r| !r.is_empty()).ok_or_else(no_such_key)?;
        let key = format!("{}{rest}", access.backend.prefix());
        let store = &product_store(&access.backend, io)?;
        let headers = req.headers();
        let conditional = headers.contains_key(header::IF_MATCH)
            || headers.contains_key(header::IF_NONE_MATCH)
            || headers.contains_key(header::IF_MODIFIED_SINCE)
            || headers.contains_key(header::IF_UNMODIFIED_SINCE);
        let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
        // Metadata first when it decides the answer (HEAD, conditionals, ranges).
        let mut res = if head || conditional || range_header.is_some() {
            let stored = store.head(&key).await.map_err(store_error)?.ok_or_else(no_such_key)?;
            if range_header.is_some() && !head && stored.content_encoding.is_some() {
                // workerd's fetch decodes a Content-Encoding, and in its pass-through mode a
                // partial (206) encoded body never arrives: refuse rather than hang.
                return Err(S3Error::new(
                    S3Code::NotImplemented,
                    "ranged reads of an object stored with a Content-Encoding are not supported by this proxy; \
                     read the whole object",
                ));
            }
            let meta = meta_of(&stored);
            match object::evaluate_conditionals(headers, &meta) {
                Conditional::Proceed => {}
                Conditional::NotModified => {
                    let mut r = Response::new(Body::Empty);
                    *r.status_mut() = StatusCode::NOT_MODIFIED;
                    *r.headers_mut() = object::not_modified_headers(&meta);
                    return Ok(with_cache_control(r, &access));
                }
                Conditional::PreconditionFailed => {
                    return Err(S3Error::new(
                        S3Code::PreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold",
                    ))
                }
            }
            let range = match range_header {
                Some(h) => object::parse_range(h, meta.size).map_err(|mut e| {
                    e.object_size = Some(meta.size);
                    e
                })?,
                None => None,
            };
            let mut r = Response::new(Body::Empty);
            *r.headers_mut() = object::response_headers(&meta, range.as_ref());
            *r.status_mut() = object::status(range.as_ref());
            if !head {
                let want = range.as_ref().map(|r| (r.start, r.len()));
                let (_, body) = store
                    .get(&key, want)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(no_such_key)?;
                *r.body_mut() = Body::Stream(body);
            }
            r
        } else {
            let (stored, body) = store
                .get(&key, None)
                .await
                .map_err(store_error)?
                .ok_or_else(no_such_key)?;
            let mut r = Response::new(Body::Stream(body));
            *r.headers_mut() = object::response_headers(&meta_of(&stored), None);
            r
        };
        res = with_cache_control(res, &access);
        Ok(res)
    }

    #[allow(clippy::too_many_arguments)]
    async fn list<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        account: &str,
        params: &ListParams,
        start_after: Option<&str>,
        token: Option<&str>,
        v2: bool,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<Page, S3Error> {
        let Some((product, rest_prefix)) = params.prefix.split_once('/') else {
            let mut products = catalogue.products(account).await.map_err(|e| access_error(e, false))?;
            // Past the request's own s3:prefix check, a product shows (and is paged) only if
            // the session policy would let its own listing, `{product}/`, through too.
            let principal = catalogue.principal;
            products.retain(|p| {
                let prefix = product_key(&p.name);
                principal
                    .allows(Action::ListBucket, account, None, Some(&prefix))
                    .is_ok()
            });
            return match params.delimiter.as_deref() {
                // The account level: its products, as common prefixes.
                Some("/") => Ok(Page {
                    entries: Vec::new(),
                    prefixes: listable(&products, &params.prefix)
                        .into_iter()
                        .map(|p| format!("{p}/"))
                        .filter(|p| start_after.is_none_or(|s| p.as_str() > s))
                        .take(usize::from(params.max_keys))
                        .collect(),
                    next_token: None,
                }),
                None => {
                    self.list_account(account, params, &products, start_after, token, v2, catalogue, io)
                        .await
                }
                Some(_) => Err(S3Error::new(
                    S3Code::InvalidArgument,
                    "at the account level the only delimiter is /; or name a product in the prefix",
                )),
            };
        };
        // As for objects (see `route`): no empty or dot-segment product ever reaches the
        // upstream URL or a cache key.
        if product.is_empty() || product == "." || product == ".." {
            return Err(access_error(AccessError::NoSuchProduct, false));
        }
        let cursor = token.map(list::decode_token).transpose()?;
        let start_after = start_after.and_then(|s| s.strip_prefix(&format!("{product}/")));
        let (page, next) = self
            .list_product(
                account,
                product,
                rest_prefix,
                params,
                start_after,
                cursor,
                catalogue,
                io,
            )
            .await?;
        Ok(Page {
            next_token: next.as_deref().map(list::encode_token),
            ..page
        })
    }

    /// One page of one product's listing, and the backend's cursor for the next one.
    #[allow(clippy::too_many_arguments)]
    async fn list_product<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        account: &str,
        product: &str,
        rest_prefix: &str,
        params: &ListParams,
        start_after: Option<&str>,
        cursor: Option<String>,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<(Page, Option<String>), S3Error> {
        let access = catalogue
            .product(account, product)
            .await
            .map_err(|e| access_error(e, false))?;
        if !access.permissions.list {
            return Err(denied());
        }
        let backend_prefix = access.backend.prefix();
        let store = product_store(&access.backend, io)?;
        let query = ListQuery {
            prefix: format!("{backend_prefix}{rest_prefix}"),
            delimiter: params.delimiter.clone(),
            start_after: start_after.map(|s| format!("{backend_prefix}{s}")),
            cursor,
            limit: u32::from(params.max_keys.max(1)),
        };
        let page = if params.max_keys == 0 {
            Default::default()
        } else {
            store.list(&query).await.map_err(store_error)?
        };
        let to_s3 = |k: &str| format!("{product}/{}", k.strip_prefix(backend_prefix).unwrap_or(k));
        let next = if page.truncated { page.cursor } else { None };
        Ok((
            Page {
                entries: page
                    .objects
                    .iter()
                    .map(|o| ListEntry {
                        key: to_s3(&o.key),
                        size: o.size,
                        etag: o.etag.clone(),
                        last_modified_secs: o.last_modified_secs,
                    })
                    .collect(),
                prefixes: page.common_prefixes.iter().map(|p| to_s3(p)).collect(),
                next_token: None,
            },
            next,
        ))
    }

    /// A listing of a whole account without a delimiter (`aws s3 ls --recursive`, rclone):
    /// the keys of every product the caller may list, product after product in key order.
    /// A page never spans two products; the continuation token names the product and the
    /// backend's cursor in it. Empty products and empty backend pages are skipped, within a
    /// budget of backend calls per request: past it ListObjectsV2 gets an empty page with a
    /// token to go on from, ListObjects v1 (whose `NextMarker` needs a key) `SlowDown`.
    #[allow(clippy::too_many_arguments)]
    async fn list_account<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        account: &str,
        params: &ListParams,
        products: &[ProductSummary],
        start_after: Option<&str>,
        token: Option<&str>,
        v2: bool,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<Page, S3Error> {
        /// Backend listings one request may make while it finds only empty pages.
        const MAX_BACKEND_CALLS: usize = 25;
        let names = listable(products, &params.prefix);
        // Where to begin: the token's product and cursor, else just after `start_after`.
        let (mut i, mut cursor, mut within) = match token.map(decode_account_token).transpose()? {
            Some(AccountToken { p, c }) => {
                let i = names.iter().position(|n| product_key(n) >= product_key(&p));
                // The cursor belongs to its product only (which may have gone meanwhile).
                let c = c.filter(|_| i.is_some_and(|i| names[i] == p));
                (i, c, None)
            }
            None => match start_after {
                None => (Some(0), None, None),
                Some(s) => {
                    let i = names
                        .iter()
                        .position(|n| s < product_key(n).as_str() || s.starts_with(&product_key(n)));
                    let within = i
                        .and_then(|i| s.strip_prefix(&product_key(names[i])))
                        .map(str::to_owned);
                    (i, None, within)
                }
            },
        };
        if params.max_keys == 0 {
            return Ok(Page::default());
        }
        let mut calls = 0;
        while let Some(name) = i.and_then(|i| names.get(i)) {
            let (page, next) = self
                .list_product(
                    account,
                    name,
                    "",
                    params,
                    within.take().as_deref(),
                    cursor.take(),
                    catalogue,
                    io,
                )
                .await?;
            calls += 1;
            let at = i.unwrap_or_default();
            if !page.entries.is_empty() || !page.prefixes.is_empty() {
                let next_token = match next {
                    Some(c) => Some(encode_account_token(name, Some(c))),
                    None => names.get(at + 1).map(|n| encode_account_token(n, None)),
                };
                return Ok(Page { next_token, ..page });
            }
            // An empty page: the same product's next one, else the next product.
            match next {
                Some(c) => cursor = Some(c),
                None => i = Some(at + 1),
            }
            let Some(resume) = i.and_then(|i| names.get(i)) else {
                break;
            };
            if calls >= MAX_BACKEND_CALLS {
                if v2 {
                    return Ok(Page {
                        next_token: Some(encode_account_token(resume, cursor)),
                        ..Page::default()
                    });
                }
                let mut err = S3Error::new(
                    S3Code::SlowDown,
                    "too many empty products to page through with ListObjects; use ListObjectsV2",
                );
                err.retry_after = Some(1);
                return Err(err);
            }
        }
        Ok(Page::default())
    }
}

/// How a product's keys begin: products are ordered as their keys are (`a/` after `a-b/`).
fn product_key(name: &str) -> String {
    format!("{name}/")
}

/// The names of the products the caller may list, under `prefix`, sorted.
fn listable<'p>(products: &'p [ProductSummary], prefix: &str) -> Vec<&'p str> {
    let mut names: Vec<&str> = products
        .iter()
        .filter(|p| p.permissions.list && p.name.starts_with(prefix))
        .map(|p| p.name.as_str())
        .collect();
    names.sort_unstable_by_key(|n| product_key(n));
    names.dedup();
    names
}

/// An account listing's continuation token: the product to go on with and the backend's
/// cursor in it (none: from its start), as base64url JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct AccountToken {
    p: String,
    c: Option<String>,
}

fn encode_account_token(product: &str, cursor: Option<String>) -> String {
    let token = AccountToken {
        p: product.to_owned(),
        c: cursor,
    };
    list::encode_token(&serde_json::to_string(&token).unwrap_or_default())
}

fn decode_account_token(token: &str) -> Result<AccountToken, S3Error> {
    serde_json::from_str(&list::decode_token(token)?).map_err(|_| list::bad_token())
}

/// Product look-ups for one request: the upstream API when configured, else the catalogue.
struct Lookup<'a, H, R, S> {
    service: &'a S3Service<'a>,
    principal: &'a Principal,
    /// Who asks, (issuer, subject); `None`: anonymous.
    caller: Option<&'a Caller>,
    io: &'a Io<'a, H, R>,
    signer: Option<&'a JwtSigner<S>>,
}

impl<H: HttpClient, R, S: Signer + 'static> Lookup<'_, H, R, S> {
    fn no_catalogue(&self) -> AccessError {
        if self.service.catalogue_misconfigured {
            AccessError::Unavailable {
                reason: "the catalogue (CATALOGUE) is misconfigured; the worker's log says why".into(),
            }
        } else {
            AccessError::NoCatalogue
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
        let (subject, idp) = match self.caller {
            Some(c) => (c.subject.clone(), Some(&c.issuer)),
            None => (anonymous()?, None),
        };
        signer
            .mint(&subject, idp, &upstream.config.audience, self.io.clock, self.io.random)
            .await
            .map(|t| t.to_string())
            .map_err(|_| unavailable("could not sign the upstream token"))
    }

    async fn product(&self, account: &str, product: &str) -> Result<ProductAccess, AccessError> {
        match (&self.service.upstream, self.service.catalogue) {
            (Some(up), _) => {
                up.product(self.caller, account, product, || self.bearer(up), self.io)
                    .await
            }
            (None, Some(c)) => c.product(account, product, self.caller),
            (None, None) => Err(self.no_catalogue()),
        }
    }

    async fn products(&self, account: &str) -> Result<Vec<ProductSummary>, AccessError> {
        match (&self.service.upstream, self.service.catalogue) {
            (Some(up), _) => up.products(self.caller, account, || self.bearer(up), self.io).await,
            (None, Some(c)) => c.products(account, self.caller),
            (None, None) => Err(self.no_catalogue()),
        }
    }
}

#[derive(Default)]
struct Page {
    entries: Vec<ListEntry>,
    prefixes: Vec<String>,
    next_token: Option<String>,
}

fn xml(body: String) -> Response<Body> {
    web::with_body(StatusCode::OK, "application/xml", body.into_bytes())
}

/// Restricted products are never stored in a shared cache.
fn with_cache_control(mut r: Response<Body>, access: &ProductAccess) -> Response<Body> {
    let value = match access.visibility {
        Visibility::Restricted => "private, no-store",
        Visibility::Public => "public, max-age=60",
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    r
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{CountingRandom, FixedClock, MemoryLog, NoHttp};
    use crate::policy::SessionPolicy;
    use crate::s3::auth::tests::{keys, session_with, signed_get, NOW};
    use futures_util::FutureExt;

    const CATALOGUE: &str = r#"{"accounts": {"demo": {"products": {
        "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
        "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}"#;

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
            catalogue: Some(&catalogue),
            catalogue_misconfigured: false,
            upstream: None,
            session_keys: Some(&keys),
        };
        let (claims, token) = session_with(NOW + 600, policy.map(|p| SessionPolicy::parse(p).unwrap()));
        let req = signed_get(uri, &claims.akid, &claims.secret, &token);
        let (clock, random, log) = (
            FixedClock::at_secs(NOW),
            CountingRandom::default(),
            MemoryLog::default(),
        );
        let io = Io::new(&clock, &random, &NoHttp, &log);
        let Dispatch::Answered(res) = service
            .handle(&req, &io, None::<&JwtSigner<RsaSigner>>)
            .now_or_never()
            .unwrap()
        else {
            panic!("not S3");
        };
        (
            res.status(),
            String::from_utf8_lossy(res.body().as_bytes()).into_owned(),
        )
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
