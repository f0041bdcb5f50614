//! The upstream API client (contract: `docs/upstream-api.md`): per-caller JWTs, one
//! percent-encoded path segment per name, answers cached by subject: per isolate, and in
//! the cache the isolates of a location share (the Workers Cache API), so that a new
//! isolate does not ask again what another one just asked.
//!
//! Each call is a pure `*_request` builder and a `*_response` parser around one fetch.

use std::cell::RefCell;
use std::collections::HashMap;

use http::{header, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::{AccessError, Permissions, ProductAccess, ProductSummary, Visibility};
use crate::encoding::uri_encode;
use crate::identity::{check_https_url, Audience, Caller, UrlError};
use crate::platform::{FetchError, HttpClient, Io};
use crate::secret::MacKey;

/// The subject the upstream API is told about for unsigned requests. The STS never issues
/// credentials to an identity with this subject, so it always means "nobody signed in".
pub(crate) const ANONYMOUS_SUBJECT: &str = "anonymous";
/// How long a positive answer is reused.
const TTL_SECS: u64 = 30;
/// How long a 404 or a denial is reused.
const NEGATIVE_TTL_SECS: u64 = 10;
/// Most answers kept per isolate.
pub(crate) const CACHE_CAPACITY: usize = 4096;

/// `UPSTREAM_API_URL` and `UPSTREAM_API_AUDIENCE`.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamConfig {
    base: String,
    pub(crate) audience: Audience,
}

impl UpstreamConfig {
    /// `base` must be https (http on loopback), without query or fragment; a trailing `/` is dropped.
    pub(crate) fn new(base: &str, audience: Audience) -> Result<Self, UrlError> {
        check_https_url(base)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            audience,
        })
    }
}

fn segment(name: &str) -> String {
    uri_encode(name.as_bytes())
}

fn get(url: String, bearer: &str) -> Request<Vec<u8>> {
    Request::get(url)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::ACCEPT, "application/json")
        .body(Vec::new())
        .unwrap_or_else(|_| Request::new(Vec::new()))
}

/// `GET {base}/products/{account}/{product}`.
fn product_request(config: &UpstreamConfig, account: &str, product: &str, bearer: &str) -> Request<Vec<u8>> {
    get(
        format!("{}/products/{}/{}", config.base, segment(account), segment(product)),
        bearer,
    )
}

/// `GET {base}/accounts/{account}/products`.
fn products_request(config: &UpstreamConfig, account: &str, bearer: &str) -> Request<Vec<u8>> {
    get(
        format!("{}/accounts/{}/products", config.base, segment(account)),
        bearer,
    )
}

fn status_error(status: StatusCode, not_found: AccessError) -> AccessError {
    match status.as_u16() {
        404 => not_found,
        401 | 403 => AccessError::Denied,
        s => AccessError::Unavailable {
            reason: format!("upstream answered HTTP {s}"),
        },
    }
}

fn bad_json() -> AccessError {
    AccessError::Unavailable {
        reason: "upstream answered with an unexpected document".into(),
    }
}

pub(crate) fn product_response(res: &Response<Vec<u8>>) -> Result<ProductAccess, AccessError> {
    if res.status() != StatusCode::OK {
        return Err(status_error(res.status(), AccessError::NoSuchProduct));
    }
    serde_json::from_slice(res.body()).map_err(|_| bad_json())
}

pub(crate) fn products_response(res: &Response<Vec<u8>>) -> Result<Vec<ProductSummary>, AccessError> {
    #[derive(Deserialize)]
    struct Entry {
        product: String,
        visibility: Visibility,
        #[serde(default)]
        permissions: Permissions,
    }
    #[derive(Deserialize)]
    struct Doc {
        products: Vec<Entry>,
    }
    if res.status() != StatusCode::OK {
        return Err(status_error(res.status(), AccessError::NoSuchAccount));
    }
    let doc: Doc = serde_json::from_slice(res.body()).map_err(|_| bad_json())?;
    Ok(doc
        .products
        .into_iter()
        .map(|e| ProductSummary {
            name: e.product,
            visibility: e.visibility,
            permissions: e.permissions,
        })
        .collect())
}

#[derive(Clone)]
enum Answer {
    Product(ProductAccess),
    Products(Vec<ProductSummary>),
}

/// Cache key: the caller's digest (issuer and subject together; `anonymous` for unsigned
/// requests) and the encoded names, so answers never cross callers.
type Key = (String, String, String);

/// An answer as the shared cache holds it: the kinds that are cached, and when it expires.
#[derive(Serialize, Deserialize)]
struct Stored {
    exp: u64,
    answer: StoredAnswer,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredAnswer {
    Product { access: ProductAccess },
    Products { products: Vec<ProductSummary> },
    NoSuchAccount,
    NoSuchProduct,
    Denied,
}

impl StoredAnswer {
    fn of(answer: &Result<Answer, AccessError>) -> Option<Self> {
        Some(match answer {
            Ok(Answer::Product(p)) => StoredAnswer::Product { access: p.clone() },
            Ok(Answer::Products(p)) => StoredAnswer::Products { products: p.clone() },
            Err(AccessError::NoSuchAccount) => StoredAnswer::NoSuchAccount,
            Err(AccessError::NoSuchProduct) => StoredAnswer::NoSuchProduct,
            Err(AccessError::Denied) => StoredAnswer::Denied,
            Err(_) => return None,
        })
    }

    /// How long the answer is reused: 30 s, denials and 404s 10 s.
    fn ttl(&self) -> u64 {
        match self {
            StoredAnswer::Product { .. } | StoredAnswer::Products { .. } => TTL_SECS,
            StoredAnswer::NoSuchAccount | StoredAnswer::NoSuchProduct | StoredAnswer::Denied => NEGATIVE_TTL_SECS,
        }
    }

    fn into_answer(self) -> Result<Answer, AccessError> {
        match self {
            StoredAnswer::Product { access } => Ok(Answer::Product(access)),
            StoredAnswer::Products { products } => Ok(Answer::Products(products)),
            StoredAnswer::NoSuchAccount => Err(AccessError::NoSuchAccount),
            StoredAnswer::NoSuchProduct => Err(AccessError::NoSuchProduct),
            StoredAnswer::Denied => Err(AccessError::Denied),
        }
    }
}

/// A cached answer and when it expires (seconds).
type Cached = (u64, Result<Answer, AccessError>);

/// The client with its per-isolate cache.
pub(crate) struct UpstreamClient {
    pub(crate) config: UpstreamConfig,
    cache: RefCell<HashMap<Key, Cached>>,
    /// Names this configuration (URL and audience) in shared-cache keys, so that answers of
    /// another upstream API are never taken for this one's.
    config_tag: String,
    /// Authenticates what this deployment puts in the shared cache, which other Workers of
    /// the zone (a preview deploy, say) can write to as well. None: the shared cache is not used.
    shared_mac: Option<MacKey>,
}

/// Length of the MAC in front of each shared-cache entry.
const MAC_LEN: usize = 32;

impl UpstreamClient {
    /// `shared_mac` is the key that authenticates shared-cache entries (derived from a
    /// secret of this deployment); without one, only the per-isolate cache is used.
    pub(crate) fn new(config: UpstreamConfig, shared_mac: Option<MacKey>) -> Self {
        let mut tag = Sha256::new();
        tag.update(config.base.as_bytes());
        tag.update([0]);
        tag.update(config.audience.as_str().as_bytes());
        Self {
            config_tag: hex::encode(&tag.finalize()[..8]),
            config,
            cache: RefCell::new(HashMap::new()),
            shared_mac,
        }
    }

    /// What the shared cache holds for `shared_key`: MAC(shared_key, JSON) followed by the
    /// JSON. The key is under the MAC too, so an entry cannot be moved to another caller's key.
    fn seal_shared(mac: &MacKey, shared_key: &str, json: &[u8]) -> Vec<u8> {
        let mut out = mac.tag(&Self::mac_input(shared_key, json)).to_vec();
        out.extend_from_slice(json);
        out
    }

    /// The JSON of a shared entry whose MAC verifies; `None` for a forged or foreign one.
    fn open_shared<'b>(mac: &MacKey, shared_key: &str, bytes: &'b [u8]) -> Option<&'b [u8]> {
        let (tag, json) = bytes.split_at_checked(MAC_LEN)?;
        mac.verify(&Self::mac_input(shared_key, json), tag).then_some(json)
    }

    fn mac_input(shared_key: &str, json: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(shared_key.len() + 1 + json.len());
        input.extend_from_slice(shared_key.as_bytes());
        input.push(0);
        input.extend_from_slice(json);
        input
    }

    /// The shared-cache key of `key`: URL-safe (the names are percent-encoded already).
    fn shared_key(&self, key: &Key) -> String {
        format!("v1/{}/{}/{}/{}", self.config_tag, key.0, key.1, key.2)
    }

    fn key(caller: Option<&Caller>, account: &str, product: Option<&str>) -> Key {
        let who = caller.map_or_else(|| ANONYMOUS_SUBJECT.to_owned(), |c| hex::encode(c.digest()));
        (
            who,
            segment(account),
            product.map(segment).unwrap_or_else(|| "/".into()),
        )
    }

    fn cached(&self, key: &Key, now: u64) -> Option<Result<Answer, AccessError>> {
        self.cache
            .borrow()
            .get(key)
            .filter(|(exp, _)| now < *exp)
            .map(|(_, a)| a.clone())
    }

    /// Keeps `answer` in this isolate until `exp`.
    fn remember(&self, key: Key, answer: &Result<Answer, AccessError>, now: u64, exp: u64) {
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (exp, _)| now < *exp);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, (exp, answer.clone()));
    }

    /// The cached answer for `key` (this isolate's, else the shared cache's), or a fresh one:
    /// mint the caller's JWT (`bearer`), build the request (`request`), fetch it and parse
    /// the response (`parse`), then keep it in both caches. Outages are not cached.
    async fn ask<H, R, F>(
        &self,
        key: Key,
        request: impl FnOnce(&str) -> Request<Vec<u8>>,
        parse: fn(&Response<Vec<u8>>) -> Result<Answer, AccessError>,
        bearer: impl FnOnce() -> F,
        io: &Io<'_, H, R>,
    ) -> Result<Answer, AccessError>
    where
        H: HttpClient,
        F: std::future::Future<Output = Result<String, AccessError>>,
    {
        let now = io.clock.now_secs();
        if let Some(answer) = self.cached(&key, now) {
            return answer;
        }
        let shared_key = self.shared_key(&key);
        if let Some(mac) = &self.shared_mac {
            if let Some(bytes) = io.shared_cache.get(&shared_key).await {
                match Self::open_shared(mac, &shared_key, &bytes) {
                    None => io.log.log(&serde_json::json!({
                        "level": "warn", "msg": "shared cache entry failed authentication; asking upstream",
                    })),
                    Some(json) => {
                        if let Ok(stored) = serde_json::from_slice::<Stored>(json) {
                            // The shared cache's own expiry is a hint; this one is the rule.
                            if now < stored.exp && stored.exp <= now + TTL_SECS {
                                let answer = stored.answer.into_answer();
                                self.remember(key, &answer, now, stored.exp);
                                return answer;
                            }
                        }
                    }
                }
            }
        }
        let token = bearer().await?;
        let answer = match io.http.fetch(request(&token)).await {
            Ok(res) => parse(&res),
            Err(e) => Err(unavailable(e)),
        };
        // Outages are not kept: `StoredAnswer::of` has no form for them.
        if let Some(kept) = StoredAnswer::of(&answer) {
            let ttl = kept.ttl();
            let exp = now + ttl;
            self.remember(key, &answer, now, exp);
            if let (Some(mac), Ok(json)) = (&self.shared_mac, serde_json::to_vec(&Stored { exp, answer: kept })) {
                io.shared_cache
                    .put(&shared_key, Self::seal_shared(mac, &shared_key, &json), ttl)
                    .await;
            }
        }
        answer
    }

    /// What `caller` (`None`: anonymous) may do with one product. `bearer` mints the caller's
    /// JWT on demand.
    pub(crate) async fn product<H: HttpClient, R, F: std::future::Future<Output = Result<String, AccessError>>>(
        &self,
        caller: Option<&Caller>,
        account: &str,
        product: &str,
        bearer: impl FnOnce() -> F,
        io: &Io<'_, H, R>,
    ) -> Result<ProductAccess, AccessError> {
        let key = Self::key(caller, account, Some(product));
        let request = |token: &str| product_request(&self.config, account, product, token);
        let parse = |r: &Response<Vec<u8>>| product_response(r).map(Answer::Product);
        match self.ask(key, request, parse, bearer, io).await? {
            Answer::Product(p) => Ok(p),
            Answer::Products(_) => Err(bad_json()),
        }
    }

    /// The products of an account, with what `caller` may do with each.
    pub(crate) async fn products<H: HttpClient, R, F: std::future::Future<Output = Result<String, AccessError>>>(
        &self,
        caller: Option<&Caller>,
        account: &str,
        bearer: impl FnOnce() -> F,
        io: &Io<'_, H, R>,
    ) -> Result<Vec<ProductSummary>, AccessError> {
        let key = Self::key(caller, account, None);
        let request = |token: &str| products_request(&self.config, account, token);
        let parse = |r: &Response<Vec<u8>>| products_response(r).map(Answer::Products);
        match self.ask(key, request, parse, bearer, io).await? {
            Answer::Products(p) => Ok(p),
            Answer::Product(_) => Err(bad_json()),
        }
    }
}

fn unavailable(e: FetchError) -> AccessError {
    AccessError::Unavailable {
        reason: format!("upstream {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> UpstreamConfig {
        UpstreamConfig::new("https://api.example/v1/", Audience::parse("api").unwrap()).unwrap()
    }

    #[test]
    fn names_become_single_encoded_segments() {
        let r = product_request(&config(), "demo", "we?ird#p&x/../y z", "t");
        assert_eq!(
            r.uri().to_string(),
            "https://api.example/v1/products/demo/we%3Fird%23p%26x%2F..%2Fy%20z"
        );
        assert_eq!(r.headers()["authorization"], "Bearer t");
        let r = products_request(&config(), "dëmo", "t");
        assert_eq!(r.uri().path(), "/v1/accounts/d%C3%ABmo/products");
    }

    fn res(status: u16, body: &str) -> Response<Vec<u8>> {
        Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn statuses_map_to_access_errors() {
        assert_eq!(product_response(&res(404, "")), Err(AccessError::NoSuchProduct));
        assert_eq!(products_response(&res(404, "")), Err(AccessError::NoSuchAccount));
        assert_eq!(product_response(&res(401, "")), Err(AccessError::Denied));
        assert_eq!(product_response(&res(403, "")), Err(AccessError::Denied));
        assert!(matches!(
            product_response(&res(500, "")),
            Err(AccessError::Unavailable { .. })
        ));
        assert!(matches!(
            product_response(&res(200, "{}")),
            Err(AccessError::Unavailable { .. })
        ));
    }

    #[test]
    fn answers_parse() {
        let p = product_response(&res(
            200,
            r#"{"visibility":"restricted","permissions":{"read":true,"list":false},"backend":{"type":"r2","prefix":"x/"}}"#,
        ))
        .unwrap();
        assert_eq!(
            p.permissions,
            Permissions {
                read: true,
                list: false
            }
        );
        let list = products_response(&res(
            200,
            r#"{"products":[{"product":"a","visibility":"public","permissions":{"read":true,"list":true}}]}"#,
        ))
        .unwrap();
        assert_eq!(list[0].name, "a");
    }

    fn caller(iss: &str, sub: &str) -> Caller {
        Caller::new(
            crate::identity::Issuer::parse_trusted(iss).unwrap(),
            crate::identity::Subject::parse(sub).unwrap(),
        )
    }

    fn mac() -> Option<MacKey> {
        Some(crate::secret::DerivedKeys::from_secret(b"test").key("upstream/shared-cache/v1"))
    }

    #[test]
    fn cache_keys_never_cross_callers() {
        let (alice, bob) = (caller(IDP, "alice"), caller(IDP, "bob"));
        let alice_at_ci = caller("https://ci.example", "alice");
        let key = UpstreamClient::key;
        assert_ne!(key(Some(&alice), "a", Some("p")), key(Some(&bob), "a", Some("p")));
        assert_ne!(
            key(Some(&alice), "a", Some("p")),
            key(Some(&alice_at_ci), "a", Some("p"))
        );
        assert_ne!(key(Some(&alice), "a", Some("p")), key(None, "a", Some("p")));
        assert_ne!(key(Some(&alice), "a", Some("p")), key(Some(&alice), "a", None));
    }

    /// Answers by subject and counts the requests it is sent.
    struct CountingUpstream(std::cell::Cell<u32>);

    impl HttpClient for CountingUpstream {
        async fn fetch(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
            self.0.set(self.0.get() + 1);
            let alice = req.headers()["authorization"] == "Bearer alice";
            let body = format!(
                r#"{{"visibility":"restricted","permissions":{{"read":{alice},"list":{alice}}},"backend":{{"type":"r2","prefix":"p/"}}}}"#
            );
            Ok(res(200, &body))
        }
    }

    const IDP: &str = "https://idp.example";

    fn ask(
        client: &UpstreamClient,
        who: &str,
        http: &CountingUpstream,
        clock: &dyn crate::platform::Clock,
        shared: &dyn crate::platform::SharedCache,
    ) -> Result<ProductAccess, AccessError> {
        let log = crate::platform::MemoryLog::default();
        ask_as(client, &caller(IDP, who), http, clock, shared, &log)
    }

    /// Asks as `who`, logging to `log`; the test upstream grants a subject `alice` at any issuer.
    fn ask_as(
        client: &UpstreamClient,
        who: &Caller,
        http: &CountingUpstream,
        clock: &dyn crate::platform::Clock,
        shared: &dyn crate::platform::SharedCache,
        log: &crate::platform::MemoryLog,
    ) -> Result<ProductAccess, AccessError> {
        let random = crate::platform::CountingRandom::default();
        let io = Io::new(clock, &random, http, log).with_shared_cache(shared);
        let bearer = || async { Ok::<_, AccessError>(who.subject.as_str().to_owned()) };
        futures_util::FutureExt::now_or_never(client.product(Some(who), "demo", "data", bearer, &io))
            .expect("no real I/O here")
    }

    /// A second isolate (another client over the same shared cache) takes the first one's
    /// answer instead of asking again, for the same subject only, and only until it expires.
    #[test]
    fn the_shared_cache_spares_other_isolates_the_call_and_never_crosses_subjects() {
        let clock = crate::platform::FixedClock::at_secs(1_790_000_000);
        let shared = crate::platform::MemorySharedCache::new(&clock);
        let http = CountingUpstream(std::cell::Cell::new(0));
        let (first, second) = (
            UpstreamClient::new(config(), mac()),
            UpstreamClient::new(config(), mac()),
        );
        assert!(ask(&first, "alice", &http, &clock, &shared).unwrap().permissions.read);
        assert!(ask(&second, "alice", &http, &clock, &shared).unwrap().permissions.read);
        assert_eq!(http.0.get(), 1, "the second isolate asked again");
        assert!(!ask(&second, "bob", &http, &clock, &shared).unwrap().permissions.read);
        assert_eq!(http.0.get(), 2, "bob was given alice's answer");
        clock.advance_secs(TTL_SECS);
        let third = UpstreamClient::new(config(), mac());
        assert!(ask(&third, "alice", &http, &clock, &shared).unwrap().permissions.read);
        assert_eq!(http.0.get(), 3, "an expired answer was reused");
        // Another upstream API's answers are not this one's.
        let other = UpstreamClient::new(
            UpstreamConfig::new("https://other.example/v1", Audience::parse("api").unwrap()).unwrap(),
            mac(),
        );
        ask(&other, "alice", &http, &clock, &shared).unwrap();
        assert_eq!(http.0.get(), 4);
    }

    #[test]
    fn shared_entries_that_claim_too_long_a_life_are_ignored() {
        let clock = crate::platform::FixedClock::at_secs(1_790_000_000);
        let shared = crate::platform::MemorySharedCache::new(&clock);
        let http = CountingUpstream(std::cell::Cell::new(0));
        let client = UpstreamClient::new(config(), mac());
        let key = client.shared_key(&UpstreamClient::key(Some(&caller(IDP, "alice")), "demo", Some("data")));
        let forged = serde_json::json!({"exp": 1_790_000_000u64 + 86_400, "answer": {"kind": "denied"}});
        let json = serde_json::to_vec(&forged).unwrap();
        let sealed = UpstreamClient::seal_shared(mac().as_ref().unwrap(), &key, &json);
        futures_util::FutureExt::now_or_never(crate::platform::SharedCache::put(&shared, &key, sealed, 86_400));
        assert!(ask(&client, "alice", &http, &clock, &shared).unwrap().permissions.read);
        assert_eq!(http.0.get(), 1);
    }

    fn put_shared(shared: &crate::platform::MemorySharedCache<'_>, key: &str, bytes: Vec<u8>) {
        futures_util::FutureExt::now_or_never(crate::platform::SharedCache::put(shared, key, bytes, TTL_SECS));
    }

    /// Another Worker of the zone can write the Cache API: an entry without this deployment's
    /// MAC, with another key's MAC, or moved from another caller's key is a miss, logged.
    #[test]
    fn forged_or_moved_shared_entries_are_misses() {
        let clock = crate::platform::FixedClock::at_secs(1_790_000_000);
        let shared = crate::platform::MemorySharedCache::new(&clock);
        let http = CountingUpstream(std::cell::Cell::new(0));
        let log = crate::platform::MemoryLog::default();
        let client = UpstreamClient::new(config(), mac());
        let mallory = caller(IDP, "mallory");
        let key = client.shared_key(&UpstreamClient::key(Some(&mallory), "demo", Some("data")));
        let grant = serde_json::to_vec(
            &serde_json::json!({"exp": 1_790_000_010u64, "answer": {"kind": "product",
            "access": {"visibility": "restricted", "permissions": {"read": true, "list": true},
                       "backend": {"type": "r2", "prefix": "p/"}}}}),
        )
        .unwrap();
        let foreign = crate::secret::DerivedKeys::from_secret(b"preview").key("upstream/shared-cache/v1");
        let alice_key = client.shared_key(&UpstreamClient::key(Some(&caller(IDP, "alice")), "demo", Some("data")));
        let forgeries = [
            // Plain JSON, as an unauthenticated writer would put it.
            grant.clone(),
            // MACed with another deployment's key.
            UpstreamClient::seal_shared(&foreign, &key, &grant),
            // A genuine entry of alice's, moved under mallory's key.
            UpstreamClient::seal_shared(mac().as_ref().unwrap(), &alice_key, &grant),
        ];
        for (i, forged) in forgeries.into_iter().enumerate() {
            put_shared(&shared, &key, forged);
            let fresh = UpstreamClient::new(config(), mac());
            let answer = ask_as(&fresh, &mallory, &http, &clock, &shared, &log).unwrap();
            assert!(!answer.permissions.read, "forgery {i} was believed");
            assert_eq!(http.0.get(), i as u32 + 1);
        }
        let warnings = log
            .0
            .borrow()
            .iter()
            .filter(|l| l["msg"].as_str().unwrap_or("").contains("authentication"))
            .count();
        assert_eq!(warnings, 3);
    }

    #[test]
    fn the_same_subject_at_another_issuer_is_asked_about_separately() {
        let clock = crate::platform::FixedClock::at_secs(1_790_000_000);
        let shared = crate::platform::MemorySharedCache::new(&clock);
        let http = CountingUpstream(std::cell::Cell::new(0));
        let client = UpstreamClient::new(config(), mac());
        ask(&client, "alice", &http, &clock, &shared).unwrap();
        let log = crate::platform::MemoryLog::default();
        ask_as(
            &client,
            &caller("https://ci.example", "alice"),
            &http,
            &clock,
            &shared,
            &log,
        )
        .unwrap();
        assert_eq!(http.0.get(), 2, "one issuer's alice was given the other's answer");
    }
}
