//! The S3 read path: authenticate, authorise against the catalogue, then answer from the
//! object store. Every error is S3 XML with S3's status.

use http::{header, HeaderValue, Request, Response, StatusCode};

use crate::identity::{Caller, Subject};
use crate::oidc::mint::JwtSigner;
use crate::oidc::signer::Signer;
use crate::platform::{HttpClient, Io};
use crate::policy::Action;
use crate::s3::auth::{self, Principal};
use crate::s3::error::{ListingError, Resource, S3Error};
use crate::s3::list::{self, ListEntry};
use crate::s3::list_token::{self, Binding, CallerTag, Position};
use crate::s3::object::{self, Conditional, ObjectError, ObjectMeta};
use crate::s3::remote::RemoteStore;
use crate::s3::route::{self, ListParams, ObjectTarget, S3Request, MAX_KEYS};
use crate::s3::sign::BackendCredentials;
use crate::s3::store::{ListPage, ListQuery, ObjectStore, StoreError, StoredObject};
use crate::secret::MacKey;
use crate::session::seal::SessionKeys;
use crate::upstream::catalogue::Catalogue;
use crate::upstream::client::{UpstreamClient, ANONYMOUS_SUBJECT};
use crate::upstream::{AccessError, BackendSpec, ProductAccess, ProductSummary, Visibility};
use crate::web::{self, Body};

/// The S3 read path as configured.
pub struct S3Service<'c> {
    pub catalogue: Option<&'c Catalogue>,
    /// The setting (`UPSTREAM_API_URL` or `CATALOGUE`) that is set but refused: every look-up
    /// is then a 503 naming it, never a 404 nor an answer from the other source.
    pub misconfigured: Option<&'static str>,
    /// When set, asked instead of the catalogue.
    pub upstream: Option<UpstreamClient>,
    pub session_keys: Option<&'c SessionKeys>,
    /// MACs listing continuation tokens ([`list_token::key`]).
    pub list_key: MacKey,
}

/// What the router should do with a path.
pub enum Dispatch {
    /// Not an S3 request (`/` or a dot path): the router answers.
    NotS3,
    /// Answered.
    Answered(Response<Body>),
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
                return Err(StoreError::Credentials { name: name.clone() }.into());
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

/// `AccessDenied`: the caller's rights do not cover the request.
fn denied(resource: Resource) -> S3Error {
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

impl<'c> S3Service<'c> {
    /// Routes and answers `req` if it is an S3 request.
    /// `signer` mints the per-caller JWTs for the upstream API (the provider's; `None` when off).
    pub async fn handle<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        signer: Option<&JwtSigner<S>>,
    ) -> Dispatch {
        let request_id = crate::session::request_id(io.random);
        let resource = req.uri().path().to_owned();
        let routed = route::parse(req.method(), req.uri().path(), req.uri().query());
        let result = match routed {
            Ok(S3Request::Service) | Ok(S3Request::Reserved) => return Dispatch::NotS3,
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
        let answered = self.answer_as(&principal, op, req, io, signer).await;
        match (answered, &principal) {
            (Err(e), Principal::Anonymous) => Err(S3Error::Anonymous(Box::new(e))),
            (answered, _) => answered,
        }
    }

    async fn answer_as<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        principal: &Principal,
        op: S3Request,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        signer: Option<&JwtSigner<S>>,
    ) -> Result<Response<Body>, S3Error> {
        let caller = principal.caller();
        let caller_tag = list_token::caller_tag(principal);
        let catalogue = &Lookup {
            service: self,
            principal,
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
                catalogue.products(&account).await?;
                Ok(Response::new(Body::Empty))
            }
            S3Request::GetBucketLocation { account } => {
                catalogue.products(&account).await?;
                Ok(xml(list::location_xml(None)))
            }
            S3Request::ListObjectsV2 { account, params } => {
                let binding = binding(&caller_tag, &account, &params.common);
                let page = self
                    .list(
                        &binding,
                        &params.common,
                        params.start_after.as_deref(),
                        params.continuation_token.as_deref(),
                        false,
                        catalogue,
                        io,
                    )
                    .await?;
                let next_token = page
                    .next
                    .as_ref()
                    .map(|p| list_token::encode(&self.list_key, &binding, p));
                let body = list::list_v2_xml(&account, &params, &page.entries, &page.prefixes, next_token.as_deref());
                // A token is the caller's own: no cache may hand the page to another.
                Ok(listing(body, page.restricted || next_token.is_some()))
            }
            S3Request::ListObjectsV1 { account, params } => {
                let page = self
                    .list(
                        &binding(&caller_tag, &account, &params.common),
                        &params.common,
                        params.marker.as_deref(),
                        None,
                        true,
                        catalogue,
                        io,
                    )
                    .await?;
                let next_marker = page.truncated.then(|| page.last_name()).flatten();
                let body = list::list_v1_xml(
                    &account,
                    &params,
                    &page.entries,
                    &page.prefixes,
                    page.truncated,
                    next_marker,
                );
                Ok(listing(body, page.restricted))
            }
            S3Request::Service | S3Request::Reserved | S3Request::Preflight => Err(denied(Resource::Bucket)),
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
        let access = self
            .product_access(&t.account, &t.product, Resource::Object, catalogue, io)
            .await?;
        if !access.permissions.read {
            return Err(denied(Resource::Object));
        }
        let no_such_key = || ObjectError::NoSuchKey;
        let rest = t.rest.as_deref().filter(|r| !r.is_empty()).ok_or_else(no_such_key)?;
        let key = format!("{}{rest}", access.backend.prefix(&t.account, &t.product));
        let store = &product_store(&access.backend, io)?;
        let headers = req.headers();
        let conditional = headers.contains_key(header::IF_MATCH)
            || headers.contains_key(header::IF_NONE_MATCH)
            || headers.contains_key(header::IF_MODIFIED_SINCE)
            || headers.contains_key(header::IF_UNMODIFIED_SINCE);
        let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
        // Metadata first when it decides the answer (HEAD, conditionals, ranges).
        let mut res = if head || conditional || range_header.is_some() {
            let stored = store.head(&key).await?.ok_or_else(no_such_key)?;
            if range_header.is_some() && !head && stored.content_encoding.is_some() {
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
            if !head {
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
        res = with_cache_control(res, access.visibility);
        Ok(res)
    }

    /// What the caller may do with a product, its backend checked: an upstream API answer
    /// whose prefix breaks the rules (see [`crate::upstream::BackendSpec::check_upstream`]) is
    /// logged and answered with a 503, never used. (The catalogue's are checked when parsed.)
    async fn product_access<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        account: &str,
        product: &str,
        resource: Resource,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<ProductAccess, S3Error> {
        let access = catalogue.product(account, product, resource).await?;
        if self.upstream.is_some() {
            if let Err(e) = access.backend.check_upstream(account, product) {
                io.log.log(&serde_json::json!({
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

    /// One page of a listing. `start_after` is v2's `start-after` or v1's `marker`; `v1`:
    /// the client pages on by `NextMarker`, so the page may end anywhere.
    #[allow(clippy::too_many_arguments)]
    async fn list<H: HttpClient, R: ObjectStore, S: Signer + 'static>(
        &self,
        binding: &Binding<'_>,
        params: &ListParams,
        start_after: Option<&str>,
        token: Option<&str>,
        v1: bool,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<Page, S3Error> {
        let position = token
            .map(|t| list_token::decode(&self.list_key, binding, t))
            .transpose()?;
        let account = binding.account;
        let Some((product, rest_prefix)) = params.prefix.split_once('/') else {
            let mut products = catalogue.products(account).await?;
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
                Some("/") => account_prefixes(&products, params, start_after, position),
                None => {
                    self.list_account(account, params, &products, start_after, position, v1, catalogue, io)
                        .await
                }
                Some(_) => Err(ListingError::AccountDelimiter.into()),
            };
        };
        // As for objects (see `route`): no empty or dot-segment product ever reaches the
        // upstream URL or a cache key.
        if product.is_empty() || product == "." || product == ".." {
            return Err(S3Error::Access {
                source: AccessError::NoSuchProduct,
                resource: Resource::Bucket,
            });
        }
        let cursor = match position {
            None => None,
            Some(Position::Cursor { c }) => Some(c),
            Some(_) => return Err(ListingError::BadToken.into()),
        };
        // A start before the product's keys lists them all; one past them, none.
        let product_start = product_key(product);
        let start_after = match start_after {
            Some(s) if s >= product_start.as_str() && !s.starts_with(&product_start) => return Ok(Page::default()),
            s => s.and_then(|s| s.strip_prefix(&product_start)),
        };
        let (page, next) = self
            .list_product(
                account,
                product,
                rest_prefix,
                params,
                start_after,
                cursor,
                v1,
                catalogue,
                io,
            )
            .await?;
        Ok(Page {
            next: next.map(|c| Position::Cursor { c }),
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
        v1: bool,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<(Page, Option<String>), S3Error> {
        let access = self
            .product_access(account, product, Resource::Bucket, catalogue, io)
            .await?;
        if !access.permissions.list {
            return Err(denied(Resource::Bucket));
        }
        let backend_prefix = access.backend.prefix(account, product);
        let store = product_store(&access.backend, io)?;
        // ListObjects: with a delimiter, a marker that is one of the listing's common
        // prefixes skips everything under it (so v1 pages on from `NextMarker` = the last
        // common prefix). Backends may return that prefix again: it is dropped, and v1,
        // which may end a page anywhere, asks for one more so that every page moves on.
        let skipped = start_after
            .filter(|s| cursor.is_none() && is_common_prefix(s, rest_prefix, params.delimiter.as_deref()))
            .map(|s| format!("{product}/{s}"));
        let extra = u16::from(v1 && skipped.is_some());
        let query = ListQuery {
            prefix: format!("{backend_prefix}{rest_prefix}"),
            delimiter: params.delimiter.clone(),
            start_after: start_after.map(|s| format!("{backend_prefix}{s}")),
            cursor,
            limit: u32::from((params.max_keys + extra).clamp(1, MAX_KEYS)),
        };
        let listed = if params.max_keys == 0 {
            Default::default()
        } else {
            store.list(&query).await?
        };
        // Never a key outside the product's prefix, whatever the backend returns.
        let to_s3 = |k: &str| {
            k.strip_prefix(backend_prefix.as_str())
                .map(|rest| format!("{product}/{rest}"))
        };
        let entries: Vec<ListEntry> = listed
            .objects
            .iter()
            .filter_map(|o| {
                Some(ListEntry {
                    key: to_s3(&o.key)?,
                    size: o.size,
                    etag: o.etag.clone(),
                    last_modified_secs: o.last_modified_secs,
                })
            })
            .collect();
        let mut prefixes: Vec<String> = listed.common_prefixes.iter().filter_map(|p| to_s3(p)).collect();
        let outside = listed.objects.len() + listed.common_prefixes.len() - entries.len() - prefixes.len();
        if outside > 0 {
            io.log.log(&serde_json::json!({
                "level": "error", "msg": "listing entries outside the product's prefix dropped",
                "count": outside, "account": account, "product": product,
            }));
        }
        if let Some(skip) = &skipped {
            prefixes.retain(|p| p != skip);
        }
        let mut page = Page {
            entries,
            prefixes,
            truncated: listed.truncated,
            next: None,
            restricted: access.visibility == Visibility::Restricted,
        };
        if v1 && page.trim(usize::from(params.max_keys)) {
            page.truncated = true;
        }
        let next = if listed.truncated { listed.cursor } else { None };
        Ok((page, next))
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
        position: Option<Position>,
        v1: bool,
        catalogue: &Lookup<'_, H, R, S>,
        io: &Io<'_, H, R>,
    ) -> Result<Page, S3Error> {
        /// Backend listings one request may make while it finds only empty pages.
        const MAX_BACKEND_CALLS: usize = 25;
        let names = listable(products, &params.prefix);
        // Where to begin: the token's product and cursor, else just after `start_after`.
        let (mut i, mut cursor, mut within) = match position {
            Some(Position::Product { p, c }) => {
                let i = names.iter().position(|n| product_key(n) >= product_key(&p));
                // The cursor belongs to its product only (which may have gone meanwhile).
                let c = c.filter(|_| i.is_some_and(|i| names[i] == p));
                (i, c, None)
            }
            Some(_) => return Err(ListingError::BadToken.into()),
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
                    v1,
                    catalogue,
                    io,
                )
                .await?;
            calls += 1;
            let at = i.unwrap_or_default();
            if !page.entries.is_empty() || !page.prefixes.is_empty() {
                let next = match next {
                    Some(c) => Some(Position::Product {
                        p: (*name).to_owned(),
                        c: Some(c),
                    }),
                    None => names.get(at + 1).map(|n| Position::Product {
                        p: (*n).to_owned(),
                        c: None,
                    }),
                };
                return Ok(Page {
                    truncated: next.is_some(),
                    next,
                    ..page
                });
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
                if !v1 {
                    return Ok(Page {
                        truncated: true,
                        next: Some(Position::Product {
                            p: (*resume).to_owned(),
                            c: cursor,
                        }),
                        ..Page::default()
                    });
                }
                return Err(ListingError::TooManyEmptyProducts.into());
            }
        }
        Ok(Page::default())
    }
}

/// The listing a continuation token belongs to.
fn binding<'a>(caller: &'a CallerTag, account: &'a str, params: &'a ListParams) -> Binding<'a> {
    Binding {
        caller,
        account,
        prefix: &params.prefix,
        delimiter: params.delimiter.as_deref(),
    }
}

/// Is `name` one of the common prefixes of a listing of `prefix` by `delimiter` (the
/// listing's prefix, then up to and including the first delimiter after it)?
fn is_common_prefix(name: &str, prefix: &str, delimiter: Option<&str>) -> bool {
    let Some(d) = delimiter.filter(|d| !d.is_empty()) else {
        return false;
    };
    name.strip_prefix(prefix)
        .is_some_and(|after| after.find(d).is_some_and(|i| i + d.len() == after.len()))
}

/// The account level with delimiter `/`: the products the caller may list, as common
/// prefixes, after `start_after` (a marker or start-after) or the token's position.
fn account_prefixes(
    products: &[ProductSummary],
    params: &ListParams,
    start_after: Option<&str>,
    position: Option<Position>,
) -> Result<Page, S3Error> {
    let after = match position {
        None => start_after.map(str::to_owned),
        Some(Position::AfterPrefix { a }) => Some(a),
        Some(_) => return Err(ListingError::BadToken.into()),
    };
    if params.max_keys == 0 {
        return Ok(Page::default());
    }
    let mut rest = listable(products, &params.prefix)
        .into_iter()
        .map(product_key)
        .filter(|p| after.as_deref().is_none_or(|s| p.as_str() > s));
    let prefixes: Vec<String> = rest.by_ref().take(usize::from(params.max_keys)).collect();
    let truncated = rest.next().is_some();
    let restricted = products
        .iter()
        .any(|p| p.visibility == Visibility::Restricted && prefixes.contains(&product_key(&p.name)));
    Ok(Page {
        next: prefixes
            .last()
            .filter(|_| truncated)
            .map(|a| Position::AfterPrefix { a: a.clone() }),
        entries: Vec::new(),
        prefixes,
        truncated,
        restricted,
    })
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

    /// What the caller may do with a product; `resource` is what the request reads.
    async fn product(&self, account: &str, product: &str, resource: Resource) -> Result<ProductAccess, S3Error> {
        self.misconfigured()?;
        let answer = match (&self.service.upstream, self.service.catalogue) {
            (Some(up), _) => {
                up.product(self.caller, account, product, || self.bearer(up), self.io)
                    .await
            }
            (None, Some(c)) => c.product(account, product, self.caller),
            (None, None) => Err(AccessError::NoCatalogue),
        };
        answer.map_err(|source| S3Error::Access { source, resource })
    }

    /// The products of an account the caller may know of.
    async fn products(&self, account: &str) -> Result<Vec<ProductSummary>, S3Error> {
        self.misconfigured()?;
        let answer = match (&self.service.upstream, self.service.catalogue) {
            (Some(up), _) => up.products(self.caller, account, || self.bearer(up), self.io).await,
            (None, Some(c)) => c.products(account, self.caller),
            (None, None) => Err(AccessError::NoCatalogue),
        };
        answer.map_err(|source| S3Error::Access {
            source,
            resource: Resource::Bucket,
        })
    }
}

#[derive(Default)]
struct Page {
    entries: Vec<ListEntry>,
    prefixes: Vec<String>,
    /// More follow (`IsTruncated`).
    truncated: bool,
    /// Where ListObjectsV2's next page begins: set whenever `truncated` is, except on
    /// ListObjects v1 pages, which go on from their last name.
    next: Option<Position>,
    /// A restricted product's names are on it.
    restricted: bool,
}

impl Page {
    /// The last key or common prefix, whichever sorts last: ListObjects v1's `NextMarker`.
    fn last_name(&self) -> Option<&str> {
        let key = self.entries.last().map(|e| e.key.as_str());
        key.max(self.prefixes.last().map(String::as_str))
    }

    /// Drops the last names (in key order) past `max`; whether any were.
    fn trim(&mut self, max: usize) -> bool {
        let mut trimmed = false;
        while self.entries.len() + self.prefixes.len() > max {
            let key_is_last = self.entries.last().map(|e| e.key.as_str()) > self.prefixes.last().map(String::as_str);
            if key_is_last {
                self.entries.pop();
            } else {
                self.prefixes.pop();
            }
            trimmed = true;
        }
        trimmed
    }
}

fn xml(body: String) -> Response<Body> {
    web::with_body(StatusCode::OK, "application/xml", body.into_bytes())
}

/// A listing document, cached as the objects it names are (`private` for restricted ones).
fn listing(body: String, private: bool) -> Response<Body> {
    let visibility = if private {
        Visibility::Restricted
    } else {
        Visibility::Public
    };
    with_cache_control(xml(body), visibility)
}

/// Restricted products are never stored in a shared cache.
fn with_cache_control(mut r: Response<Body>, visibility: Visibility) -> Response<Body> {
    let value = match visibility {
        Visibility::Restricted => "private, no-store",
        Visibility::Public => "public, max-age=60",
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{CountingRandom, FixedClock, MemoryLog, NoHttp};
    use futures_util::FutureExt;
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    /// An R2-like store: keys in order, roll-up at the delimiter (a common prefix counts once
    /// towards the limit), `start_after` exclusive, a cursor that goes on after the last name.
    #[derive(Default)]
    struct MemoryStore {
        keys: BTreeSet<String>,
        /// Listed whatever was asked, as a misbehaving backend might.
        rogue: Vec<String>,
        queries: RefCell<Vec<ListQuery>>,
    }

    impl MemoryStore {
        fn with(keys: &[&str]) -> Self {
            Self {
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                ..Self::default()
            }
        }
    }

    fn stored(key: &str) -> StoredObject {
        StoredObject {
            key: key.to_owned(),
            size: key.len() as u64,
            etag: "\"e\"".into(),
            last_modified_secs: 1_700_000_000,
            content_type: None,
            content_encoding: None,
        }
    }

    impl ObjectStore for MemoryStore {
        async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
            Ok(self.keys.contains(key).then(|| stored(key)))
        }
        async fn get(
            &self,
            key: &str,
            _range: Option<(u64, u64)>,
        ) -> Result<Option<(StoredObject, web::StreamBody)>, StoreError> {
            Ok(self
                .keys
                .contains(key)
                .then(|| (stored(key), web::StreamBody(Box::new(key.as_bytes().to_vec())))))
        }
        async fn list(&self, q: &ListQuery) -> Result<ListPage, StoreError> {
            self.queries.borrow_mut().push(q.clone());
            let after = q.cursor.as_deref().or(q.start_after.as_deref());
            let mut page = ListPage::default();
            let mut last = None;
            for k in self
                .keys
                .iter()
                .filter(|k| k.starts_with(&q.prefix) && after.is_none_or(|a| k.as_str() > a))
            {
                let rolled = q
                    .delimiter
                    .as_deref()
                    .and_then(|d| k[q.prefix.len()..].find(d).map(|i| &k[..q.prefix.len() + i + d.len()]));
                if rolled.is_some() && page.common_prefixes.last().map(String::as_str) == rolled {
                    continue;
                }
                if page.objects.len() + page.common_prefixes.len() == q.limit as usize {
                    page.truncated = true;
                    break;
                }
                match rolled {
                    Some(p) => {
                        page.common_prefixes.push(p.to_owned());
                        last = Some(format!("{p}\u{10FFFF}"));
                    }
                    None => {
                        page.objects.push(stored(k));
                        last = Some(k.clone());
                    }
                }
            }
            page.cursor = last.filter(|_| page.truncated);
            page.objects.extend(self.rogue.iter().map(|k| stored(k)));
            Ok(page)
        }
    }

    const CATALOGUE: &str = r#"{"accounts": {"demo": {"products": {
        "a": {"visibility": "public", "backend": {"type": "r2"}},
        "b": {"visibility": "public", "backend": {"type": "r2"}}}}}}"#;

    struct Harness {
        catalogue: Catalogue,
        log: MemoryLog,
    }

    impl Harness {
        fn new() -> Self {
            Self {
                catalogue: Catalogue::parse(CATALOGUE, &[]).unwrap(),
                log: MemoryLog::default(),
            }
        }

        fn get(&self, store: &MemoryStore, uri: &str) -> Response<Body> {
            self.send(store, Request::get(uri).body(Vec::new()).unwrap())
        }

        /// The service's answer to `req`, with the harness's catalogue and log.
        fn send(&self, store: &MemoryStore, req: Request<Vec<u8>>) -> Response<Body> {
            let service = S3Service {
                catalogue: Some(&self.catalogue),
                misconfigured: None,
                upstream: None,
                session_keys: None,
                list_key: list_token::key(None),
            };
            let (clock, random) = (FixedClock::at_secs(1_800_000_000), CountingRandom::default());
            let io = Io::new(&clock, &random, &NoHttp, &self.log).with_store(store);
            match service
                .handle(&req, &io, None::<&JwtSigner<RsaSigner>>)
                .now_or_never()
                .unwrap()
            {
                Dispatch::Answered(res) => res,
                Dispatch::NotS3 => panic!("{} is S3", req.uri()),
            }
        }
    }

    /// The parts of a listing document the tests look at.
    #[derive(Debug, Default)]
    struct Listing {
        keys: Vec<String>,
        prefixes: Vec<String>,
        truncated: bool,
        next_marker: Option<String>,
        next_token: Option<String>,
    }

    fn listing_of(res: &Response<Body>) -> Listing {
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
        Listing {
            keys: texts(&["Contents", "Key"]),
            prefixes: texts(&["CommonPrefixes", "Prefix"]),
            truncated: texts(&["IsTruncated"]) == ["true"],
            next_marker: texts(&["NextMarker"]).pop(),
            next_token: texts(&["NextContinuationToken"]).pop(),
        }
    }

    fn code_of(res: &Response<Body>) -> String {
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

    #[test]
    fn a_listing_never_shows_keys_outside_the_products_prefix() {
        let h = Harness::new();
        let mut store = MemoryStore::with(&["demo/a/mine.txt"]);
        store.rogue = vec!["demo/b/secret.txt".into(), "elsewhere".into()];
        let listed = listing_of(&h.get(&store, "/demo?list-type=2&prefix=a/"));
        assert_eq!(listed.keys, ["a/mine.txt"]);
        let logged = h.log.0.borrow();
        let line = logged
            .iter()
            .find(|l| l["msg"] == "listing entries outside the product's prefix dropped")
            .expect("logged");
        assert_eq!(line["count"], 2);
        assert!(!line.to_string().contains("secret"), "{line}");
    }

    /// Follows a v1 listing by `NextMarker` to its end: every page's names.
    fn v1_pages(h: &Harness, store: &MemoryStore, query: &str) -> Vec<Listing> {
        let mut pages = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let uri = match &marker {
                None => format!("/demo?{query}"),
                Some(m) => format!("/demo?{query}&marker={}", crate::encoding::listing_encode(m)),
            };
            let page = listing_of(&h.get(store, &uri));
            let (truncated, next) = (page.truncated, page.next_marker.clone());
            pages.push(page);
            if !truncated {
                return pages;
            }
            assert!(
                next.is_some(),
                "a truncated page without NextMarker: {:?}",
                pages.last()
            );
            assert!(pages.len() < 50, "no progress");
            marker = next;
        }
    }

    #[test]
    fn v1_pages_of_common_prefixes_carry_next_marker_and_never_repeat_a_prefix() {
        let h = Harness::new();
        let keys: Vec<String> = (0..5)
            .flat_map(|d| [format!("demo/a/dir{d}/x"), format!("demo/a/dir{d}/y")])
            .collect();
        let store = MemoryStore::with(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        for max_keys in [1, 2, 3] {
            let pages = v1_pages(&h, &store, &format!("prefix=a/&delimiter=/&max-keys={max_keys}"));
            let prefixes: Vec<String> = pages.iter().flat_map(|p| p.prefixes.clone()).collect();
            let want: Vec<String> = (0..5).map(|d| format!("a/dir{d}/")).collect();
            assert_eq!(prefixes, want, "max-keys={max_keys}");
            assert!(pages.iter().all(|p| p.keys.is_empty()));
            for p in &pages {
                assert!(p.prefixes.len() <= max_keys, "{p:?}");
                if p.truncated {
                    assert_eq!(p.next_marker.as_ref(), p.prefixes.last());
                }
            }
        }
    }

    #[test]
    fn v1_next_marker_is_the_last_key_or_prefix_whichever_sorts_last() {
        let h = Harness::new();
        let store = MemoryStore::with(&[
            "demo/a/k1",
            "demo/a/m/x",
            "demo/a/m/y",
            "demo/a/n",
            "demo/a/o/z",
            "demo/a/p",
        ]);
        let pages = v1_pages(&h, &store, "prefix=a/&delimiter=/&max-keys=2");
        let names: Vec<Vec<String>> = pages
            .iter()
            .map(|p| {
                let mut all = [p.keys.clone(), p.prefixes.clone()].concat();
                all.sort();
                all
            })
            .collect();
        assert_eq!(names, [vec!["a/k1", "a/m/"], vec!["a/n", "a/o/"], vec!["a/p"]]);
        assert_eq!(pages[0].next_marker.as_deref(), Some("a/m/"));
        assert_eq!(pages[1].next_marker.as_deref(), Some("a/o/"));
    }

    #[test]
    fn v2_tokens_continue_their_own_listing_only() {
        let h = Harness::new();
        let store = MemoryStore::with(&["demo/a/1", "demo/a/2", "demo/a/3", "demo/b/1", "demo/b/2"]);
        let first = listing_of(&h.get(&store, "/demo?list-type=2&prefix=a/&max-keys=2"));
        let token = first.next_token.expect("truncated");
        let next = listing_of(&h.get(
            &store,
            &format!("/demo?list-type=2&prefix=a/&max-keys=2&continuation-token={token}"),
        ));
        assert_eq!(next.keys, ["a/3"]);
        // Another product, another listing of the same product, garbage, a backend's cursor.
        let backend_cursor = "1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D";
        for query in [
            format!("prefix=b/&continuation-token={token}"),
            format!("prefix=a/&delimiter=/&continuation-token={token}"),
            format!("continuation-token={token}"),
            format!("prefix=a/&continuation-token={backend_cursor}"),
            "prefix=a/&continuation-token=***".to_owned(),
        ] {
            let res = h.get(&store, &format!("/demo?list-type=2&{query}"));
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(code_of(&res), "InvalidArgument", "{query}");
        }
        // None of them reached the backend.
        assert_eq!(store.queries.borrow().len(), 2);
    }

    #[test]
    fn account_listings_of_more_products_than_max_keys_page_on() {
        let json = r#"{"accounts": {"demo": {"products": {
            "p1": {"visibility": "public", "backend": {"type": "r2"}},
            "p2": {"visibility": "public", "backend": {"type": "r2"}},
            "p3": {"visibility": "public", "backend": {"type": "r2"}}}}}}"#;
        let h = Harness {
            catalogue: Catalogue::parse(json, &[]).unwrap(),
            log: MemoryLog::default(),
        };
        let store = MemoryStore::default();
        let pages = v1_pages(&h, &store, "delimiter=/&max-keys=2");
        let prefixes: Vec<Vec<String>> = pages.iter().map(|p| p.prefixes.clone()).collect();
        assert_eq!(prefixes, [vec!["p1/", "p2/"], vec!["p3/"]]);
        let first = listing_of(&h.get(&store, "/demo?list-type=2&delimiter=/&max-keys=2"));
        let token = first.next_token.expect("truncated");
        let rest = listing_of(&h.get(
            &store,
            &format!("/demo?list-type=2&delimiter=/&max-keys=2&continuation-token={token}"),
        ));
        assert_eq!(rest.prefixes, ["p3/"]);
        assert!(!rest.truncated);
    }

    #[test]
    fn public_listings_are_cacheable_unless_they_carry_a_callers_token() {
        let h = Harness::new();
        let store = MemoryStore::with(&["demo/a/1", "demo/a/2"]);
        let whole = h.get(&store, "/demo?list-type=2&prefix=a/");
        assert_eq!(whole.headers()["cache-control"], "public, max-age=60");
        let v1 = h.get(&store, "/demo?prefix=a/&max-keys=1");
        assert_eq!(v1.headers()["cache-control"], "public, max-age=60");
        let paged = h.get(&store, "/demo?list-type=2&prefix=a/&max-keys=1");
        assert_eq!(paged.headers()["cache-control"], "private, no-store");
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

    #[test]
    fn a_backend_refusing_the_listings_parameters_is_the_callers_error() {
        let err = S3Error::from(StoreError::BadParameters {
            code: "InvalidArgument",
        })
        .wire();
        assert_eq!(err.code, crate::s3::error::S3Code::InvalidArgument);
        assert_eq!(err.retry_after, None);
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{CountingRandom, FixedClock, MemoryLog, NoHttp};
    use crate::policy::SessionPolicy;
    use crate::s3::auth::tests::{keys, session_with, signed_get, NOW};
    use crate::s3::error::ANONYMOUS_DENIED;
    use crate::upstream::catalogue::tests::DEMO as CATALOGUE;
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
            catalogue: Some(&catalogue),
            misconfigured: None,
            upstream: None,
            session_keys: Some(&keys),
            list_key: list_token::key(None),
        };
        let (claims, token) = session_with(NOW + 600, policy.map(|p| SessionPolicy::parse(p).unwrap()));
        let req = signed_get(uri, &claims.akid, &claims.secret, &token);
        status_and_body(&service, &req)
    }

    /// An unsigned GET of `uri` against the demo catalogue: the status and body.
    fn anonymous_get(uri: &str) -> (StatusCode, String) {
        let idp = crate::identity::Issuer::parse_trusted("https://idp.example").unwrap();
        let catalogue = Catalogue::parse(CATALOGUE, &[idp]).unwrap();
        let service = S3Service {
            catalogue: Some(&catalogue),
            misconfigured: None,
            upstream: None,
            session_keys: None,
            list_key: list_token::key(None),
        };
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
        let Dispatch::Answered(res) = service
            .handle(req, &io, None::<&JwtSigner<RsaSigner>>)
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
