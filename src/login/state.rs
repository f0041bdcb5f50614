//! The one-time login state of issue 14: what `/.auth/login` remembers until the callback,
//! stored under the `state` it sends to the provider, and taken exactly once.
//!
//! The contract every store meets (and `contract::run` checks, in tests): `put` never overwrites
//! (a distinct [`StateError::Collision`]); `take` reads and deletes atomically, so of any
//! number of concurrent callbacks with one state exactly one gets the login, and a state
//! that is unknown, already taken or older than [`STATE_TTL_SECS`] is
//! [`StateError::NotFound`]. A login is bound to the browser that started it: the store
//! keeps a hash of the binding cookie's value, and [`PendingLogin::resume`] gives the login's
//! contents only to a request carrying that cookie (login CSRF, RFC 9700 §4.7).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::login::return_to::ReturnTo;
use crate::oauth::authorize::Nonce;
/// The state token is the OAuth `state` parameter the CLI makes too, so it lives with the
/// protocol: 256 random bits, base64url, parsed strictly ([`StateToken::parse`]).
pub(crate) use crate::oauth::authorize::StateToken;
use crate::oauth::client::RedirectUri;
use crate::oauth::pkce::CodeVerifier;
use crate::platform::Random;
use crate::secret::SecretString;

/// How long a login may take, from `/.auth/login` to the callback: 10 minutes.
pub(crate) const STATE_TTL_SECS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StateError {
    #[error("a login with this state already exists")]
    Collision,
    #[error("no login with this state (unknown, expired or already used)")]
    NotFound,
    #[error("the login was started in another browser (no or another binding cookie)")]
    OtherBrowser,
    #[error("the state store is unavailable: {reason}")]
    Unavailable { reason: String },
}

/// The browser-binding cookie's value: 256 random bits, set on the browser when the login
/// starts. The store keeps only its [`BindingDigest`].
pub(crate) struct BrowserBinding(SecretString);

impl BrowserBinding {
    pub(crate) fn generate(random: &dyn Random) -> Self {
        Self(SecretString::new(crate::oauth::random_token(random)))
    }

    /// The cookie's value, to set on the browser. Call sites are the places to audit.
    pub(crate) fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub(crate) fn digest(&self) -> BindingDigest {
        BindingDigest::of(self.expose_secret())
    }
}

impl std::fmt::Debug for BrowserBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserBinding([redacted])")
    }
}

/// SHA-256 of a binding cookie's value, under a label of its own.
#[derive(Clone)]
pub(crate) struct BindingDigest([u8; 32]);

impl BindingDigest {
    fn of(cookie_value: &str) -> Self {
        Self(
            Sha256::new_with_prefix(b"oidc-sts-proxy/login-binding/v1\0")
                .chain_update(cookie_value.as_bytes())
                .finalize()
                .into(),
        )
    }

    /// Does `cookie_value` hash to this digest? Constant time.
    fn matches(&self, cookie_value: &str) -> bool {
        self.0.ct_eq(&Self::of(cookie_value).0).into()
    }
}

impl std::fmt::Debug for BindingDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindingDigest([redacted])")
    }
}

/// A login in flight, as stored under its state.
///
/// The fields are private: the verifier and the rest are reached only through
/// [`PendingLogin::resume`], which checks the browser first.
///
/// Seam for persistent stores: this type has no `Serialize` on purpose. A store that
/// writes it out (the Durable Object store of issue 14) must encrypt the PKCE verifier at rest
/// with a key derived from the session key, the state as associated data; that serialisation
/// is to be written with that store, so that nothing can write the verifier in clear by
/// accident.
#[derive(Debug)]
pub(crate) struct PendingLogin {
    verifier: Option<CodeVerifier>,
    nonce: Nonce,
    return_to: ReturnTo,
    redirect_uri: RedirectUri,
    created_at: u64,
    binding: BindingDigest,
}

/// A login taken from the store and checked to belong to the browser at the callback.
#[derive(Debug)]
pub(crate) struct ResumedLogin {
    /// `None` when PKCE is switched off (`LOGIN_PKCE`).
    pub(crate) verifier: Option<CodeVerifier>,
    pub(crate) nonce: Nonce,
    pub(crate) return_to: ReturnTo,
    pub(crate) redirect_uri: RedirectUri,
    pub(crate) created_at: u64,
}

impl PendingLogin {
    /// A login started at `created_at` (seconds since the epoch) by the browser given
    /// `binding` as its cookie.
    pub(crate) fn new(
        verifier: Option<CodeVerifier>,
        nonce: Nonce,
        return_to: ReturnTo,
        redirect_uri: RedirectUri,
        created_at: u64,
        binding: &BrowserBinding,
    ) -> Self {
        Self {
            verifier,
            nonce,
            return_to,
            redirect_uri,
            created_at,
            binding: binding.digest(),
        }
    }

    pub(crate) fn created_at(&self) -> u64 {
        self.created_at
    }

    /// Is the login at least [`STATE_TTL_SECS`] old at `now`? Every store decides expiry
    /// with this.
    pub(crate) fn is_expired_at(&self, now: u64) -> bool {
        now >= self.created_at.saturating_add(STATE_TTL_SECS)
    }

    /// The login's contents, if `cookie_value` (the binding cookie the callback request
    /// carries, if any) is the one set when the login started.
    pub(crate) fn resume(self, cookie_value: Option<&str>) -> Result<ResumedLogin, StateError> {
        match cookie_value {
            Some(v) if self.binding.matches(v) => Ok(ResumedLogin {
                verifier: self.verifier,
                nonce: self.nonce,
                return_to: self.return_to,
                redirect_uri: self.redirect_uri,
                created_at: self.created_at,
            }),
            _ => Err(StateError::OtherBrowser),
        }
    }
}

/// Where logins in flight wait for their callback. One instance may serve several isolates
/// and locations (the Durable Object store), so atomicity is the store's, not the caller's.
#[allow(async_fn_in_trait)] // single-threaded runtime: futures need not be Send
pub(crate) trait StateStore {
    /// Stores `login` under `state`; [`StateError::Collision`] if the state is already there
    /// (never overwritten, expired or not).
    async fn put(&self, state: &StateToken, login: PendingLogin) -> Result<(), StateError>;

    /// Reads and deletes the login under `state` in one atomic step;
    /// [`StateError::NotFound`] if there is none, or if it has expired at `now` (seconds since
    /// the epoch; see [`PendingLogin::is_expired_at`]), in which case it is deleted too.
    async fn take(&self, state: &StateToken, now: u64) -> Result<PendingLogin, StateError>;
}

/// A store in memory, for native tests. Each storage operation can be held at a gate, as
/// a real store's round trip would be, so tests can keep many of them in flight.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemoryStateStore {
    entries: std::cell::RefCell<std::collections::HashMap<String, PendingLogin>>,
    open: Option<std::rc::Rc<std::cell::Cell<bool>>>,
}

#[cfg(test)]
impl MemoryStateStore {
    /// A store whose operations wait until `open` is set.
    pub(crate) fn gated(open: std::rc::Rc<std::cell::Cell<bool>>) -> Self {
        Self {
            entries: Default::default(),
            open: Some(open),
        }
    }

    /// The round trip to storage.
    async fn round_trip(&self) {
        if let Some(open) = &self.open {
            crate::platform::gate(std::rc::Rc::clone(open)).await;
        }
    }
}

#[cfg(test)]
impl StateStore for MemoryStateStore {
    async fn put(&self, state: &StateToken, login: PendingLogin) -> Result<(), StateError> {
        self.round_trip().await;
        match self.entries.borrow_mut().entry(state.as_str().to_owned()) {
            std::collections::hash_map::Entry::Occupied(_) => Err(StateError::Collision),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(login);
                Ok(())
            }
        }
    }

    async fn take(&self, state: &StateToken, now: u64) -> Result<PendingLogin, StateError> {
        self.round_trip().await;
        // The delete decides: whoever removes the entry has it.
        let login = self.entries.borrow_mut().remove(state.as_str());
        match login {
            Some(login) if !login.is_expired_at(now) => Ok(login),
            _ => Err(StateError::NotFound),
        }
    }
}

/// The state-store contract as a test suite any implementation can be run through.
#[cfg(test)]
pub(crate) mod contract {
    use std::cell::Cell;
    use std::future::Future;
    use std::rc::Rc;
    use std::task::{Context, Poll};

    use super::*;
    use crate::platform::SystemRandom;

    /// When the logins of the contract start.
    pub(crate) const T0: u64 = 1_700_000_000;
    /// How many callbacks race for one state.
    pub(crate) const RACERS: usize = 20;

    pub(crate) fn login(created_at: u64, binding: &BrowserBinding) -> PendingLogin {
        PendingLogin::new(
            Some(CodeVerifier::generate(&SystemRandom)),
            Nonce::generate(&SystemRandom),
            ReturnTo::parse(Some("/acct/p/key.tif")).unwrap(),
            RedirectUri::parse("https://data.example/.auth/callback").unwrap(),
            created_at,
            binding,
        )
    }

    fn new_state() -> StateToken {
        StateToken::generate(&SystemRandom)
    }

    /// Polls until ready: the stores' gates wake themselves, so a no-op waker will do.
    fn block<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    /// Runs every clause of the contract against `store`, whose storage round trips wait
    /// for `open` (a store with real latency may ignore it). Panics on the first breach.
    pub(crate) fn run<S: StateStore>(store: &S, open: &Rc<Cell<bool>>) {
        open.set(true);
        put_then_take_gives_the_login_back(store);
        a_second_put_under_one_state_collides(store);
        an_unknown_state_is_not_found(store);
        a_state_is_taken_once(store);
        an_expired_state_is_not_found_and_is_gone(store);
        let winners = concurrent_take_winners(store, open);
        assert_eq!(winners, 1, "{RACERS} concurrent takes of one state: exactly one wins");
    }

    fn put_then_take_gives_the_login_back<S: StateStore>(store: &S) {
        let (state, binding) = (new_state(), BrowserBinding::generate(&SystemRandom));
        let stored = login(T0, &binding);
        let (nonce, challenge) = (
            stored.nonce.clone(),
            stored.verifier.as_ref().map(CodeVerifier::challenge),
        );
        block(store.put(&state, stored)).unwrap();
        let taken = block(store.take(&state, T0 + 1)).unwrap();
        assert_eq!(taken.created_at(), T0);
        let resumed = taken.resume(Some(binding.expose_secret())).unwrap();
        assert!(nonce.ct_eq(resumed.nonce.as_str()));
        assert_eq!(resumed.verifier.as_ref().map(CodeVerifier::challenge), challenge);
        assert_eq!(resumed.return_to.as_str(), "/acct/p/key.tif");
        assert_eq!(resumed.redirect_uri.as_str(), "https://data.example/.auth/callback");
    }

    fn a_second_put_under_one_state_collides<S: StateStore>(store: &S) {
        let (state, binding) = (new_state(), BrowserBinding::generate(&SystemRandom));
        block(store.put(&state, login(T0, &binding))).unwrap();
        let other = BrowserBinding::generate(&SystemRandom);
        assert_eq!(
            block(store.put(&state, login(T0 + 5, &other))),
            Err(StateError::Collision)
        );
        // The first login is still there, unchanged.
        let taken = block(store.take(&state, T0 + 6)).unwrap();
        assert_eq!(taken.created_at(), T0);
        assert!(taken.resume(Some(binding.expose_secret())).is_ok());
    }

    fn an_unknown_state_is_not_found<S: StateStore>(store: &S) {
        assert_eq!(block(store.take(&new_state(), T0)).unwrap_err(), StateError::NotFound);
    }

    fn a_state_is_taken_once<S: StateStore>(store: &S) {
        let (state, binding) = (new_state(), BrowserBinding::generate(&SystemRandom));
        block(store.put(&state, login(T0, &binding))).unwrap();
        assert!(block(store.take(&state, T0 + 1)).is_ok());
        assert_eq!(block(store.take(&state, T0 + 2)).unwrap_err(), StateError::NotFound);
    }

    fn an_expired_state_is_not_found_and_is_gone<S: StateStore>(store: &S) {
        let binding = BrowserBinding::generate(&SystemRandom);
        // One second short of the TTL: still there.
        let fresh = new_state();
        block(store.put(&fresh, login(T0, &binding))).unwrap();
        assert!(block(store.take(&fresh, T0 + STATE_TTL_SECS - 1)).is_ok());
        // At the TTL: not found, and deleted (not found even at an earlier time).
        let stale = new_state();
        block(store.put(&stale, login(T0, &binding))).unwrap();
        assert_eq!(
            block(store.take(&stale, T0 + STATE_TTL_SECS)).unwrap_err(),
            StateError::NotFound
        );
        assert_eq!(block(store.take(&stale, T0)).unwrap_err(), StateError::NotFound);
    }

    /// How many of [`RACERS`] takes of one state, all in flight at once, get the login.
    pub(crate) fn concurrent_take_winners<S: StateStore>(store: &S, open: &Rc<Cell<bool>>) -> usize {
        let (state, binding) = (new_state(), BrowserBinding::generate(&SystemRandom));
        open.set(true);
        block(store.put(&state, login(T0, &binding))).unwrap();
        open.set(false);
        let takes: Vec<_> = (0..RACERS).map(|_| store.take(&state, T0 + 1)).collect();
        let mut all = std::pin::pin!(futures_util::future::join_all(takes));
        let waker = futures_util::task::noop_waker();
        assert!(
            all.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(),
            "the takes wait at the gate"
        );
        open.set(true);
        let results = block(all);
        assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StateError::NotFound))));
        results.iter().filter(|r| r.is_ok()).count()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::contract::{self, login, RACERS, T0};
    use super::*;
    use crate::platform::SystemRandom;

    #[test]
    fn the_memory_store_meets_the_contract() {
        let open = Rc::new(Cell::new(true));
        contract::run(&MemoryStateStore::gated(Rc::clone(&open)), &open);
    }

    /// A store that looks before it deletes, with a round trip in between: the contract's
    /// race must catch it (so the race can fail).
    struct ReadThenDelete(MemoryStateStore);

    impl StateStore for ReadThenDelete {
        async fn put(&self, state: &StateToken, login: PendingLogin) -> Result<(), StateError> {
            self.0.put(state, login).await
        }

        async fn take(&self, state: &StateToken, now: u64) -> Result<PendingLogin, StateError> {
            let seen = self.0.entries.borrow().contains_key(state.as_str());
            self.0.round_trip().await;
            let removed = self.0.entries.borrow_mut().remove(state.as_str());
            match (seen, removed) {
                (_, Some(l)) => Ok(l),
                (true, None) => Ok(login(now, &BrowserBinding::generate(&SystemRandom))),
                (false, None) => Err(StateError::NotFound),
            }
        }
    }

    #[test]
    fn the_contract_race_catches_a_store_that_reads_before_it_deletes() {
        let open = Rc::new(Cell::new(true));
        let broken = ReadThenDelete(MemoryStateStore::gated(Rc::clone(&open)));
        assert_eq!(contract::concurrent_take_winners(&broken, &open), RACERS);
    }

    #[test]
    fn a_login_resumes_only_in_the_browser_that_started_it() {
        let binding = BrowserBinding::generate(&SystemRandom);
        let other = BrowserBinding::generate(&SystemRandom);
        assert!(login(T0, &binding).resume(Some(binding.expose_secret())).is_ok());
        for cookie in [
            None,
            Some(other.expose_secret()),
            Some(""),
            Some(&binding.expose_secret()[1..]),
        ] {
            assert_eq!(
                login(T0, &binding).resume(cookie).unwrap_err(),
                StateError::OtherBrowser,
                "{cookie:?}"
            );
        }
    }

    #[test]
    fn expiry_is_at_ten_minutes_exactly() {
        let l = login(T0, &BrowserBinding::generate(&SystemRandom));
        assert_eq!(STATE_TTL_SECS, 600);
        assert!(!l.is_expired_at(T0));
        assert!(!l.is_expired_at(T0 + 599));
        assert!(l.is_expired_at(T0 + 600));
        // A clock behind the login's start does not expire it.
        assert!(!l.is_expired_at(T0 - 5));
    }

    #[test]
    fn nothing_secret_shows_in_debug_output() {
        let binding = BrowserBinding::generate(&SystemRandom);
        let l = login(T0, &binding);
        let printed = format!("{binding:?} {l:?}");
        assert!(!printed.contains(binding.expose_secret()), "{printed}");
        assert!(printed.contains("CodeVerifier([redacted])"), "{printed}");
    }
}
