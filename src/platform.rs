//! What the core needs from the outside world, passed in rather than reached for.
//!
//! The core never calls `SystemTime::now()` (it panics on `wasm32-unknown-unknown`)
//! nor an RNG of its own: the Workers adapter implements these traits with
//! `Date.now()` and `crypto.getRandomValues`, tests pin them.

/// Wall-clock time.
pub(crate) trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// Whole seconds since the Unix epoch.
    fn now_secs(&self) -> u64 {
        self.now_millis() / 1000
    }
}

/// Cryptographically secure randomness.
pub trait Random {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating-system / runtime CSPRNG (`getrandom`; `crypto.getRandomValues` on Workers).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the platform has no entropy source at all,
        // which is a broken runtime, not bad input: there is nothing safe to fall back to.
        if let Err(e) = getrandom::getrandom(buf) {
            panic!("no secure randomness available: {e}"); // ok: unrecoverable platform fault
        }
    }
}

/// The system clock, for native tools and tests that want real time.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that says what it is told, for tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct FixedClock(pub(crate) std::cell::Cell<u64>);

#[cfg(test)]
impl FixedClock {
    pub(crate) fn at_secs(secs: u64) -> Self {
        Self(std::cell::Cell::new(secs * 1000))
    }
    pub(crate) fn advance_secs(&self, secs: u64) {
        self.0.set(self.0.get() + secs * 1000);
    }
}

#[cfg(test)]
impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0.get()
    }
}

/// For tests: a future that stays pending until `open` is set, so a test can hold several
/// requests in flight at once and then let them go.
#[cfg(test)]
pub(crate) async fn gate(open: std::rc::Rc<std::cell::Cell<bool>>) {
    std::future::poll_fn(move |cx| {
        if open.get() {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Deterministic "randomness" for tests: a counter.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct CountingRandom(pub(crate) std::cell::Cell<u8>);

#[cfg(test)]
impl Random for CountingRandom {
    fn fill(&self, buf: &mut [u8]) {
        for b in buf {
            let v = self.0.get().wrapping_add(1);
            self.0.set(v);
            *b = v;
        }
    }
}

/// Why an outbound request produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("timed out")]
    Timeout,
    #[error("connection failed")]
    Network,
    #[error("response body too large")]
    TooLarge,
}

/// Outbound HTTP (Workers `fetch`). Implementations bound the time and the body size.
#[allow(async_fn_in_trait)] // single-threaded runtime: futures need not be Send
pub(crate) trait HttpClient {
    async fn fetch(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, FetchError>;

    /// Like [`HttpClient::fetch`], but the body is streamed through, never read into memory
    /// (the Workers adapter hands the runtime's stream on). The time bound covers the headers.
    /// The default buffers, which is what tests want.
    async fn fetch_stream(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> Result<http::Response<crate::web::StreamBody>, FetchError> {
        let (parts, body) = self.fetch(req).await?.into_parts();
        Ok(http::Response::from_parts(
            parts,
            crate::web::StreamBody(Box::new(body)),
        ))
    }
}

/// A cache shared by the isolates of a location (the Workers Cache API), for small values.
/// Best effort: a miss or a failed write only costs the work the cache would have saved.
/// The futures are boxed so that the trait can sit behind `&dyn` in [`Io`].
pub(crate) trait SharedCache {
    /// The value stored under `key` and not yet expired.
    fn get<'a>(&'a self, key: &'a str) -> futures_util::future::LocalBoxFuture<'a, Option<Vec<u8>>>;
    /// Stores `value` under `key` for `ttl_secs`.
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_secs: u64) -> futures_util::future::LocalBoxFuture<'a, ()>;
}

/// No shared cache: every isolate asks for itself.
#[derive(Debug, Default, Clone, Copy)]
struct NoSharedCache;

impl SharedCache for NoSharedCache {
    fn get<'a>(&'a self, _key: &'a str) -> futures_util::future::LocalBoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async { None })
    }
    fn put<'a>(
        &'a self,
        _key: &'a str,
        _value: Vec<u8>,
        _ttl_secs: u64,
    ) -> futures_util::future::LocalBoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// A shared cache in memory that honours TTLs against a clock, for tests ("isolates" are the
/// clients that share it).
#[cfg(test)]
pub(crate) struct MemorySharedCache<'c> {
    pub(crate) clock: &'c dyn Clock,
    pub(crate) entries: std::cell::RefCell<std::collections::HashMap<String, (u64, Vec<u8>)>>,
}

#[cfg(test)]
impl<'c> MemorySharedCache<'c> {
    pub(crate) fn new(clock: &'c dyn Clock) -> Self {
        Self {
            clock,
            entries: Default::default(),
        }
    }
}

#[cfg(test)]
impl SharedCache for MemorySharedCache<'_> {
    fn get<'a>(&'a self, key: &'a str) -> futures_util::future::LocalBoxFuture<'a, Option<Vec<u8>>> {
        let now = self.clock.now_secs();
        let hit = self
            .entries
            .borrow()
            .get(key)
            .filter(|(exp, _)| now < *exp)
            .map(|(_, v)| v.clone());
        Box::pin(async move { hit })
    }
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_secs: u64) -> futures_util::future::LocalBoxFuture<'a, ()> {
        let exp = self.clock.now_secs() + ttl_secs;
        self.entries.borrow_mut().insert(key.to_owned(), (exp, value));
        Box::pin(async {})
    }
}

/// Worker secrets looked up by name at request time (the backend credentials a catalogue
/// entry names).
pub(crate) trait Secrets {
    fn secret(&self, name: &str) -> Option<crate::secret::SecretString>;
}

/// No secrets at all.
#[derive(Debug, Default, Clone, Copy)]
struct NoSecrets;

impl Secrets for NoSecrets {
    fn secret(&self, _name: &str) -> Option<crate::secret::SecretString> {
        None
    }
}

/// Structured log output (one JSON object a line).
pub(crate) trait Log {
    fn log(&self, line: &serde_json::Value);
}

/// Everything a request handler may reach outside itself.
pub(crate) struct Io<'a, H, R = crate::backend::store::NoStore> {
    pub(crate) clock: &'a dyn Clock,
    pub(crate) random: &'a dyn Random,
    pub(crate) http: &'a H,
    pub(crate) log: &'a dyn Log,
    /// The object store (the R2 binding on Workers).
    pub(crate) store: &'a R,
    /// Worker secrets by name (backend credentials).
    pub(crate) secrets: &'a dyn Secrets,
    /// The cache the isolates of a location share (upstream answers).
    pub(crate) shared_cache: &'a dyn SharedCache,
}

impl<'a, H> Io<'a, H> {
    /// I/O without an object store.
    pub(crate) fn new(clock: &'a dyn Clock, random: &'a dyn Random, http: &'a H, log: &'a dyn Log) -> Self {
        Io {
            clock,
            random,
            http,
            log,
            store: &crate::backend::store::NoStore,
            secrets: &NoSecrets,
            shared_cache: &NoSharedCache,
        }
    }
}

impl<'a, H, R> Io<'a, H, R> {
    /// The same I/O with `store` as the object store.
    pub(crate) fn with_store<S>(self, store: &'a S) -> Io<'a, H, S> {
        Io {
            clock: self.clock,
            random: self.random,
            http: self.http,
            log: self.log,
            store,
            secrets: self.secrets,
            shared_cache: self.shared_cache,
        }
    }

    /// The same I/O with `secrets` to look backend credentials up in.
    pub(crate) fn with_secrets(self, secrets: &'a dyn Secrets) -> Self {
        Io { secrets, ..self }
    }

    /// The same I/O with `cache` as the shared cache.
    pub(crate) fn with_shared_cache(self, shared_cache: &'a dyn SharedCache) -> Self {
        Io { shared_cache, ..self }
    }
}

/// An `HttpClient` for code paths that must not make requests, in tests.
#[cfg(test)]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoHttp;

#[cfg(test)]
impl HttpClient for NoHttp {
    async fn fetch(&self, _req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, FetchError> {
        Err(FetchError::Network)
    }
}

/// Collects log lines, for tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemoryLog(pub(crate) std::cell::RefCell<Vec<serde_json::Value>>);

#[cfg(test)]
impl Log for MemoryLog {
    fn log(&self, line: &serde_json::Value) {
        self.0.borrow_mut().push(line.clone());
    }
}
