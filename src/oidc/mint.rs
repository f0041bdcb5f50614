//! Minting short-lived, per-caller RS256 JWTs for the upstream API, as cheaply as possible.
//!
//! A signature costs milliseconds inside wasm, and the upstream client asks for a token on
//! every upstream request. So a token minted for a (caller, audience) pair is reused while
//! more than half of its lifetime remains; concurrent requests for the same pair share one
//! signing future instead of each signing; and a failed signature is never handed to the
//! others: a request that joined a failed future signs for itself.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};

use crate::identity::{Audience, Issuer, Subject};
use crate::oidc::jwt::{compact, signing_input, Header, SubjectId, UpstreamClaims};
use crate::oidc::keys::Kid;
use crate::oidc::signer::{SignError, Signer};
use crate::platform::{Clock, Random};

/// Lifetime of a minted token, in seconds.
const TOKEN_LIFETIME_SECS: u64 = 60;
/// Most (subject, audience) pairs kept per isolate.
pub(crate) const CACHE_CAPACITY: usize = 1024;

/// A minted token (the compact JWS), shared cheaply between requests.
pub(crate) type Token = Rc<str>;

type SignFuture = Shared<LocalBoxFuture<'static, Result<Token, SignError>>>;

struct Entry {
    iat: u64,
    generation: u64,
    token: SignFuture,
}

/// What a token is minted for: the subject, the IdP that vouched for it (`None` for the
/// subject `anonymous` and for tokens that speak for this provider itself), the audience.
type MintKey = (Subject, Option<Issuer>, Audience);

/// Mints RS256 JWTs `{iss, sub, sub_id?, aud, iat, nbf, exp = iat + 60, jti}` with the active key.
pub(crate) struct JwtSigner<S> {
    signer: Rc<S>,
    issuer: Issuer,
    kid: Kid,
    cache: RefCell<HashMap<MintKey, Entry>>,
    next_generation: Cell<u64>,
    signatures: Cell<u64>,
}

impl<S: Signer + 'static> JwtSigner<S> {
    pub(crate) fn new(signer: S, issuer: Issuer, kid: Kid) -> Self {
        Self {
            signer: Rc::new(signer),
            issuer,
            kid,
            cache: RefCell::new(HashMap::new()),
            next_generation: Cell::new(0),
            signatures: Cell::new(0),
        }
    }

    /// The signature primitive underneath (for the insecure test routes).
    #[cfg(any(test, feature = "insecure-test-routes"))]
    pub(crate) fn primitive(&self) -> &S {
        &self.signer
    }

    /// How many signatures this signer has started (a cost counter for tests and benchmarks).
    #[cfg(any(test, feature = "insecure-test-routes"))]
    pub(crate) fn signatures(&self) -> u64 {
        self.signatures.get()
    }

    /// A token for `subject` (of the IdP `idp`) and `audience`, reused while more than half
    /// its lifetime remains. With an `idp`, the token says which IdP's subject it is
    /// (`sub_id`, RFC 9493 §3.2.8 "iss_sub"): subjects are unique only within their issuer.
    pub(crate) async fn mint(
        &self,
        subject: &Subject,
        idp: Option<&Issuer>,
        audience: &Audience,
        clock: &dyn Clock,
        random: &dyn Random,
    ) -> Result<Token, SignError> {
        let key = (subject.clone(), idp.cloned(), audience.clone());
        let now = clock.now_secs();
        let mut failed: Option<u64> = None;
        loop {
            let cached = self.cache.borrow().get(&key).and_then(|e| {
                let fresh = now >= e.iat && now < e.iat + TOKEN_LIFETIME_SECS / 2;
                (fresh && failed != Some(e.generation)).then(|| (e.generation, e.token.clone()))
            });
            let joined = cached.is_some();
            let (generation, token) = match cached {
                Some(found) => found,
                None => self.start(&key, now, random),
            };
            match token.await {
                Ok(token) => return Ok(token),
                Err(e) => {
                    self.forget(&key, generation);
                    // Our own failure, or a second one: report it. Someone else's first
                    // failure: never handed on; join a newer signature or start one.
                    if !joined || failed.is_some() {
                        return Err(e);
                    }
                    failed = Some(generation);
                }
            }
        }
    }

    /// Starts one signature and publishes it in the cache before awaiting it.
    fn start(&self, key: &MintKey, now: u64, random: &dyn Random) -> (u64, SignFuture) {
        let mut jti = [0u8; 16];
        random.fill(&mut jti);
        let header = Header {
            alg: "RS256".into(),
            typ: "JWT".into(),
            kid: self.kid.as_str().into(),
        };
        let claims = UpstreamClaims {
            iss: self.issuer.as_str().into(),
            sub: key.0.as_str().into(),
            sub_id: key.1.as_ref().map(|idp| SubjectId {
                format: "iss_sub".into(),
                iss: idp.as_str().into(),
                sub: key.0.as_str().into(),
            }),
            aud: key.2.as_str().into(),
            iat: now,
            nbf: now,
            exp: now + TOKEN_LIFETIME_SECS,
            jti: hex::encode(jti),
        };
        let input = signing_input(&header, &claims);
        let signer = Rc::clone(&self.signer);
        let token = async move {
            let signature = signer.sign_rs256(input.as_bytes()).await?;
            Ok(Token::from(compact(&input, &signature)))
        }
        .boxed_local()
        .shared();
        self.signatures.set(self.signatures.get() + 1);
        let generation = self.next_generation.get();
        self.next_generation.set(generation + 1);
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(key) {
            cache.retain(|_, e| now >= e.iat && now < e.iat + TOKEN_LIFETIME_SECS / 2);
            if cache.len() >= CACHE_CAPACITY {
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, e)| (e.iat, e.generation))
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(
            key.clone(),
            Entry {
                iat: now,
                generation,
                token: token.clone(),
            },
        );
        (generation, token)
    }

    fn forget(&self, key: &MintKey, generation: u64) {
        let mut cache = self.cache.borrow_mut();
        if cache.get(key).is_some_and(|e| e.generation == generation) {
            cache.remove(key);
        }
    }

    #[cfg(test)]
    fn cached_pairs(&self) -> usize {
        self.cache.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::keys::tests::test_key;
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{CountingRandom, FixedClock};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use futures_util::future::join_all;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use sha2::Sha256;
    use std::task::Poll;

    fn sub(s: &str) -> Subject {
        Subject::parse(s).unwrap()
    }
    fn aud() -> Audience {
        Audience::parse("upstream").unwrap()
    }
    fn jwt_signer() -> JwtSigner<RsaSigner> {
        let key = test_key();
        JwtSigner::new(
            RsaSigner::new(&key),
            Issuer::parse_origin("https://id.example.com").unwrap(),
            key.kid().clone(),
        )
    }
    fn block<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("future completes without I/O")
    }

    #[test]
    fn minted_token_has_the_documented_header_and_claims_and_verifies() {
        let (clock, random) = (FixedClock::at_secs(1_700_000_000), CountingRandom::default());
        let signer = jwt_signer();
        let token = block(signer.mint(&sub("alice"), None, &aud(), &clock, &random)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "test-1"})
        );
        let claims: UpstreamClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims.iss, "https://id.example.com");
        assert_eq!((claims.sub.as_str(), claims.aud.as_str()), ("alice", "upstream"));
        assert_eq!(
            (claims.iat, claims.nbf, claims.exp),
            (1_700_000_000, 1_700_000_000, 1_700_000_060)
        );
        assert_eq!(claims.jti.len(), 32);
        assert_eq!(claims.sub_id, None);
        let sig = Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        let vk = VerifyingKey::<Sha256>::new(test_key().private_key().to_public_key());
        vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn a_token_for_an_idp_subject_names_the_idp_in_sub_id() {
        let (clock, random) = (FixedClock::at_secs(1_700_000_000), CountingRandom::default());
        let signer = jwt_signer();
        let (a, b) = (
            Issuer::parse_trusted("https://a.example").unwrap(),
            Issuer::parse_trusted("https://b.example").unwrap(),
        );
        let at_a = block(signer.mint(&sub("alice"), Some(&a), &aud(), &clock, &random)).unwrap();
        let at_b = block(signer.mint(&sub("alice"), Some(&b), &aud(), &clock, &random)).unwrap();
        assert_ne!(at_a, at_b, "one IdP's alice was handed the other's token");
        let payload = at_a.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(
            claims["sub_id"],
            serde_json::json!({"format": "iss_sub", "iss": "https://a.example", "sub": "alice"})
        );
    }

    #[test]
    fn token_is_reused_while_more_than_half_its_lifetime_remains() {
        let (clock, random) = (FixedClock::at_secs(1_000), CountingRandom::default());
        let signer = jwt_signer();
        let first = block(signer.mint(&sub("alice"), None, &aud(), &clock, &random)).unwrap();
        clock.advance_secs(29);
        let again = block(signer.mint(&sub("alice"), None, &aud(), &clock, &random)).unwrap();
        assert_eq!(first, again);
        assert_eq!(signer.signatures(), 1);
        clock.advance_secs(1);
        let renewed = block(signer.mint(&sub("alice"), None, &aud(), &clock, &random)).unwrap();
        assert_ne!(first, renewed);
        assert_eq!(signer.signatures(), 2);
    }

    #[test]
    fn different_subjects_get_different_tokens() {
        let (clock, random) = (FixedClock::at_secs(1_000), CountingRandom::default());
        let signer = jwt_signer();
        let a = block(signer.mint(&sub("alice"), None, &aud(), &clock, &random)).unwrap();
        let b = block(signer.mint(&sub("bob"), None, &aud(), &clock, &random)).unwrap();
        assert_ne!(a, b);
        assert_eq!(signer.signatures(), 2);
    }

    #[test]
    fn cache_is_bounded() {
        let (clock, random) = (FixedClock::at_secs(1_000), CountingRandom::default());
        let (signer, open, _) = gated(false);
        open.set(true);
        for i in 0..CACHE_CAPACITY + 5 {
            block(signer.mint(&sub(&format!("user-{i}")), None, &aud(), &clock, &random)).unwrap();
        }
        assert_eq!(signer.cached_pairs(), CACHE_CAPACITY);
    }

    /// A signer whose signatures complete only when the test says so, and can fail.
    struct GatedSigner {
        open: Rc<Cell<bool>>,
        fail_first: Cell<bool>,
        calls: Rc<Cell<u32>>,
    }

    impl Signer for GatedSigner {
        async fn sign_rs256(&self, _message: &[u8]) -> Result<Vec<u8>, SignError> {
            self.calls.set(self.calls.get() + 1);
            let fail = self.fail_first.replace(false);
            crate::platform::gate(Rc::clone(&self.open)).await;
            if fail {
                Err(SignError::Failed)
            } else {
                Ok(vec![1, 2, 3])
            }
        }
    }

    fn gated(fail_first: bool) -> (JwtSigner<GatedSigner>, Rc<Cell<bool>>, Rc<Cell<u32>>) {
        let open = Rc::new(Cell::new(false));
        let calls = Rc::new(Cell::new(0));
        let s = GatedSigner {
            open: Rc::clone(&open),
            fail_first: Cell::new(fail_first),
            calls: Rc::clone(&calls),
        };
        let issuer = Issuer::parse_origin("https://id.example.com").unwrap();
        (JwtSigner::new(s, issuer, Kid::parse("k").unwrap()), open, calls)
    }

    fn poll_all<T>(futs: &mut [std::pin::Pin<Box<dyn std::future::Future<Output = T> + '_>>]) -> Vec<Option<T>> {
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        futs.iter_mut()
            .map(|f| match f.as_mut().poll(&mut cx) {
                Poll::Ready(v) => Some(v),
                Poll::Pending => None,
            })
            .collect()
    }

    #[test]
    fn concurrent_requests_for_one_subject_share_one_signature() {
        let (clock, random) = (FixedClock::at_secs(1_000), CountingRandom::default());
        let (signer, open, calls) = gated(false);
        let (alice, aud) = (sub("alice"), aud());
        let futs: Vec<_> = (0..10)
            .map(|_| signer.mint(&alice, None, &aud, &clock, &random))
            .collect();
        open.set(true);
        let results = block(join_all(futs));
        assert!(results
            .iter()
            .all(|r| r.as_ref().unwrap() == results[0].as_ref().unwrap()));
        assert_eq!(calls.get(), 1);
        assert_eq!(signer.signatures(), 1);
    }

    #[test]
    fn a_failed_signature_is_not_handed_to_the_requests_that_joined_it() {
        let (clock, random) = (FixedClock::at_secs(1_000), CountingRandom::default());
        let (signer, open, calls) = gated(true);
        let (alice, aud) = (sub("alice"), aud());
        type MintFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Token, SignError>> + 'a>>;
        let mut futs: Vec<MintFuture<'_>> = (0..3)
            .map(|_| Box::pin(signer.mint(&alice, None, &aud, &clock, &random)) as _)
            .collect();
        assert!(poll_all(&mut futs).iter().all(Option::is_none));
        open.set(true);
        let mut results = poll_all(&mut futs);
        // The leader sees its own failure; the two that joined it sign again (sharing one retry).
        assert_eq!(results.remove(0).unwrap(), Err(SignError::Failed));
        let retried: Vec<_> = results.into_iter().map(|r| r.unwrap().unwrap()).collect();
        assert_eq!(retried[0], retried[1]);
        assert_eq!(calls.get(), 2);
        // A later request gets the good cached token, not the failure.
        drop(futs);
        let later = block(signer.mint(&alice, None, &aud, &clock, &random)).unwrap();
        assert_eq!(later, retried[0]);
    }
}
