//! The trusted identity providers' signing keys: discovery, JWKS, and a per-isolate cache.
//!
//! Keys are fetched from the issuer's discovery document (OpenID Connect Discovery 1.0
//! §4) and its `jwks_uri`, cached for the JWKS response's `max-age` clamped to
//! [`MIN_TTL_SECS`, `MAX_TTL_SECS`], refetched at once (at most every
//! [`REFETCH_INTERVAL_SECS`]) when a token names an unknown `kid`, and kept in use for
//! [`GRACE_SECS`] past expiry while the IdP cannot be reached. A failed fetch throttles
//! the next one just as a successful one does, and concurrent verifications for one
//! issuer share one fetch.
//!
//! Each fetch is split into a pure request builder and a response parser.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::task::{Poll, Waker};

use http::{header, Request, Response, StatusCode};
use serde::Deserialize;

use crate::identity::{check_https_url, Issuer};
use crate::oidc::jwk::{Jwk, JwkSet};
use crate::platform::{Clock, HttpClient};

const MIN_TTL_SECS: u64 = 5;
const MAX_TTL_SECS: u64 = 86_400;
const DEFAULT_TTL_SECS: u64 = 600;
pub(crate) const REFETCH_INTERVAL_SECS: u64 = 10;
pub(crate) const GRACE_SECS: u64 = 3_600;
/// Largest discovery or JWKS document accepted.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdpError {
    #[error("identity provider could not be reached ({what})")]
    Unreachable { what: String },
    #[error("identity provider answered {what}")]
    BadAnswer { what: String },
    #[error("no key with the token's kid at the identity provider")]
    UnknownKid,
}

/// `GET {issuer}/.well-known/openid-configuration` (Discovery §4.1; a trailing slash on
/// the issuer is removed first).
pub(crate) fn discovery_request(issuer: &Issuer) -> Request<Vec<u8>> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.as_str().trim_end_matches('/')
    );
    get(&url)
}

/// Reads `jwks_uri` from the discovery document, checking that it names the same issuer
/// exactly (Discovery §4.3) and that the URI is https (or loopback http).
fn discovery_response(issuer: &Issuer, res: &Response<Vec<u8>>) -> Result<String, IdpError> {
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

fn jwks_request(jwks_uri: &str) -> Request<Vec<u8>> {
    get(jwks_uri)
}

/// The key set and how long it may be cached.
fn jwks_response(res: &Response<Vec<u8>>) -> Result<(JwkSet, u64), IdpError> {
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

/// What is known about one issuer: its last good key set, and when it was last asked.
struct Entry {
    /// The last key set fetched, if any fetch has succeeded.
    keys: Option<Rc<JwkSet>>,
    /// When `keys` stop being fresh.
    expires_at: u64,
    /// When the last fetch (successful or not) finished: after a failure, or for a `kid`
    /// the fresh keys lack, no new fetch before `last_attempt + REFETCH_INTERVAL_SECS`.
    last_attempt: u64,
    /// Why the last fetch failed, while it is the latest word from the IdP.
    last_error: Option<IdpError>,
}

impl Entry {
    /// The answer from what is cached, without fetching.
    fn answer(&self, kid: Option<&str>, now: u64) -> Result<Jwk, IdpError> {
        let usable = self.keys.as_ref().filter(|_| now < self.expires_at + GRACE_SECS);
        match (usable.and_then(|k| k.find(kid)), &self.last_error) {
            (Some(k), _) => Ok(k.clone()),
            // Unreachable or broken IdP: say so rather than blame the token's kid.
            (None, Some(e)) => Err(e.clone()),
            (None, None) if usable.is_some() => Err(IdpError::UnknownKid),
            (None, None) => Err(IdpError::Unreachable {
                what: "no keys fetched yet".into(),
            }),
        }
    }
}

/// One fetch in progress for an issuer, which concurrent verifications wait for.
#[derive(Default)]
struct Flight {
    done: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Flight {
    /// Resolves once the fetch has finished (or its request was dropped).
    fn landed(self: Rc<Self>) -> impl Future<Output = ()> {
        std::future::poll_fn(move |cx| {
            if self.done.get() {
                Poll::Ready(())
            } else {
                let mut waiters = self.waiters.borrow_mut();
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
    }
}

/// Ends a flight when the fetching request finishes or is dropped mid-fetch: the waiters
/// wake and read the cache (or, if nothing was recorded, one of them fetches).
struct Landing<'a> {
    cache: &'a KeyCache,
    issuer: &'a Issuer,
    flight: Rc<Flight>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.cache.in_flight.borrow_mut().remove(self.issuer);
        self.flight.done.set(true);
        for waker in self.flight.waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }
}

/// Per-isolate cache of each trusted issuer's keys. At most one fetch per issuer runs at
/// a time (concurrent verifications join it); after a failed fetch, or for a `kid` the
/// fresh keys lack, a new one starts at most every [`REFETCH_INTERVAL_SECS`]. So neither
/// random `kid`s nor a failing IdP make every `/.sts` request fetch.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: RefCell<HashMap<Issuer, Entry>>,
    in_flight: RefCell<HashMap<Issuer, Rc<Flight>>>,
}

impl KeyCache {
    /// The key for `kid` at `issuer`, fetching or refetching as the rules above say.
    pub(crate) async fn key<H: HttpClient>(
        &self,
        issuer: &Issuer,
        kid: Option<&str>,
        http: &H,
        clock: &dyn Clock,
    ) -> Result<Jwk, IdpError> {
        loop {
            let now = clock.now_secs();
            let joined = self.in_flight.borrow().get(issuer).cloned();
            if let Some(flight) = joined {
                // Single flight: wait for the fetch already under way, then read the cache.
                flight.landed().await;
                if let Some(entry) = self.entries.borrow().get(issuer) {
                    if entry.last_attempt + REFETCH_INTERVAL_SECS > clock.now_secs() {
                        return entry.answer(kid, clock.now_secs());
                    }
                }
                continue;
            }
            if let Some(entry) = self.entries.borrow().get(issuer) {
                let fresh = entry.keys.is_some() && now < entry.expires_at;
                // Expired keys after a good fetch are refetched (at most once per TTL, which
                // is at least MIN_TTL_SECS); an unknown kid, or any request after a failed
                // fetch, waits out the refetch interval.
                let throttled =
                    now < entry.last_attempt + REFETCH_INTERVAL_SECS && (fresh || entry.last_error.is_some());
                match entry.answer(kid, now) {
                    Ok(k) if fresh => return Ok(k),
                    answer if throttled => return answer,
                    _ => {}
                }
            }
            let flight = Rc::new(Flight::default());
            self.in_flight.borrow_mut().insert(issuer.clone(), Rc::clone(&flight));
            let _landing = Landing {
                cache: self,
                issuer,
                flight,
            };
            let result = fetch(issuer, http).await;
            let now = clock.now_secs();
            let mut entries = self.entries.borrow_mut();
            let entry = entries.entry(issuer.clone()).or_insert(Entry {
                keys: None,
                expires_at: 0,
                last_attempt: now,
                last_error: None,
            });
            entry.last_attempt = now;
            match result {
                Ok((set, ttl)) => {
                    entry.keys = Some(Rc::new(set));
                    entry.expires_at = now + ttl;
                    entry.last_error = None;
                }
                Err(e) => entry.last_error = Some(e),
            }
            return entry.answer(kid, now);
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
    use crate::platform::FixedClock;

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

    /// An IdP that counts every request, can be down, and can hold its answers until the
    /// test opens the gate.
    struct CountingIdp {
        /// Fetches started (each begins with the discovery request).
        fetches: Cell<u32>,
        up: Cell<bool>,
        open: Rc<Cell<bool>>,
        max_age: Cell<u64>,
    }

    impl CountingIdp {
        fn new() -> Self {
            Self {
                fetches: Cell::new(0),
                up: Cell::new(true),
                open: Rc::new(Cell::new(true)),
                max_age: Cell::new(300),
            }
        }

        fn fetches(&self) -> u32 {
            self.fetches.get()
        }
    }

    impl HttpClient for CountingIdp {
        async fn fetch(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, crate::platform::FetchError> {
            let discovery = req.uri().path().ends_with("/.well-known/openid-configuration");
            if discovery {
                self.fetches.set(self.fetches.get() + 1);
            }
            crate::platform::gate(Rc::clone(&self.open)).await;
            if !self.up.get() {
                return Err(crate::platform::FetchError::Network);
            }
            let body = if discovery {
                serde_json::json!({"issuer": issuer().as_str(), "jwks_uri": "https://idp.example/keys"})
            } else {
                serde_json::json!({"keys": [crate::oidc::keys::tests::test_key().jwk()]})
            };
            let cc = format!("max-age={}", self.max_age.get());
            Ok(response(200, &body.to_string(), Some(&cc)))
        }
    }

    const KID: &str = "test-1";

    /// Polls until ready (the fake IdP wakes itself while its gate is closed).
    fn until_ready<F: Future>(mut f: std::pin::Pin<&mut F>, cx: &mut std::task::Context<'_>) -> F::Output {
        loop {
            if let Poll::Ready(r) = f.as_mut().poll(cx) {
                return r;
            }
        }
    }

    fn key_now(cache: &KeyCache, kid: &str, idp: &CountingIdp, clock: &FixedClock) -> Result<Jwk, IdpError> {
        futures_util::FutureExt::now_or_never(cache.key(&issuer(), Some(kid), idp, clock))
            .expect("the fake IdP answers without waiting")
    }

    #[test]
    fn random_kids_cause_at_most_one_fetch_per_interval() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        assert!(key_now(&cache, KID, &idp, &clock).is_ok());
        clock.advance_secs(REFETCH_INTERVAL_SECS);
        for i in 0..50 {
            assert_eq!(
                key_now(&cache, &format!("random-{i}"), &idp, &clock),
                Err(IdpError::UnknownKid)
            );
        }
        assert_eq!(idp.fetches(), 2, "the first fetch and one refetch, not one per kid");
        assert!(key_now(&cache, KID, &idp, &clock).is_ok());
    }

    #[test]
    fn a_failing_idp_is_asked_at_most_once_per_interval() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        idp.up.set(false);
        for _ in 0..20 {
            let err = key_now(&cache, KID, &idp, &clock).unwrap_err();
            assert!(matches!(err, IdpError::Unreachable { .. }), "{err:?}");
        }
        assert_eq!(idp.fetches(), 1, "a failure throttles the next fetch too");
        clock.advance_secs(REFETCH_INTERVAL_SECS - 1);
        assert!(key_now(&cache, KID, &idp, &clock).is_err());
        assert_eq!(idp.fetches(), 1);
        // Once the interval has passed the IdP is asked again, and its recovery is seen.
        clock.advance_secs(1);
        idp.up.set(true);
        assert!(key_now(&cache, KID, &idp, &clock).is_ok());
        assert_eq!(idp.fetches(), 2);
    }

    #[test]
    fn a_failed_refetch_keeps_serving_cached_keys_and_throttles_the_next() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        assert!(key_now(&cache, KID, &idp, &clock).is_ok());
        idp.up.set(false);
        clock.advance_secs(400); // past max-age=300, inside the grace period
        for _ in 0..10 {
            assert!(key_now(&cache, KID, &idp, &clock).is_ok());
            assert!(matches!(
                key_now(&cache, "random", &idp, &clock),
                Err(IdpError::Unreachable { .. })
            ));
        }
        assert_eq!(idp.fetches(), 2);
    }

    #[test]
    fn keys_past_a_short_max_age_are_refetched_without_waiting_for_the_interval() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        idp.max_age.set(MIN_TTL_SECS);
        assert!(key_now(&cache, KID, &idp, &clock).is_ok());
        clock.advance_secs(MIN_TTL_SECS);
        assert!(key_now(&cache, KID, &idp, &clock).is_ok());
        assert_eq!(idp.fetches(), 2, "the IdP's max-age is honoured after a good fetch");
    }

    /// Ten look-ups of one issuer's key, all in flight while the IdP holds its answer back.
    fn ten_at_once(
        cache: &KeyCache,
        iss: &Issuer,
        idp: &CountingIdp,
        clock: &FixedClock,
    ) -> Vec<Result<Jwk, IdpError>> {
        let futs: Vec<_> = (0..10).map(|_| cache.key(iss, Some(KID), idp, clock)).collect();
        let mut all = Box::pin(futures_util::future::join_all(futs));
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(all.as_mut().poll(&mut cx).is_pending());
        idp.open.set(true);
        until_ready(all.as_mut(), &mut cx)
    }

    #[test]
    fn concurrent_verifications_for_one_issuer_share_one_fetch() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        let iss = issuer();
        idp.open.set(false);
        let results = ten_at_once(&cache, &iss, &idp, &clock);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(idp.fetches(), 1);
    }

    #[test]
    fn concurrent_verifications_share_a_failure_too() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        let iss = issuer();
        idp.open.set(false);
        idp.up.set(false);
        let results = ten_at_once(&cache, &iss, &idp, &clock);
        assert!(results.iter().all(Result::is_err));
        assert_eq!(idp.fetches(), 1);
    }

    #[test]
    fn a_dropped_fetch_lets_a_waiting_verification_fetch() {
        let (cache, idp, clock) = (KeyCache::default(), CountingIdp::new(), FixedClock::at_secs(1_000));
        let iss = issuer();
        idp.open.set(false);
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut first = Box::pin(cache.key(&iss, Some(KID), &idp, &clock));
        let mut second = Box::pin(cache.key(&iss, Some(KID), &idp, &clock));
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        drop(first);
        idp.open.set(true);
        let result = until_ready(second.as_mut(), &mut cx);
        assert!(result.is_ok());
        assert_eq!(idp.fetches(), 2, "the dropped fetch and the waiter's own");
    }
}
