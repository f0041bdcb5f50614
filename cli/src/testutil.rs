//! Fakes and helpers for the tests: a temporary directory, a clock that jumps, a test
//! context collecting what the person would have been told.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use oidc_sts_proxy::identity::Issuer;
use oidc_sts_proxy::oauth::metadata::{metadata_response, ProviderMetadata};

use crate::context::{Context, Waiter};
use crate::http::Transport;
use crate::settings::Paths;
use crate::store::fake::MemoryKeyring;

pub const ISSUER: &str = "https://idp.example/realms/r1";

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let mut bytes = [0u8; 8];
        oidc_sts_proxy::platform::Random::fill(&oidc_sts_proxy::platform::SystemRandom, &mut bytes);
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("osp-test-{name}"));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn test_paths(dir: &TempDir) -> Paths {
    Paths {
        config_file: dir.path().join("config").join("osp").join("config.toml"),
        state_dir: dir.path().join("state").join("osp"),
        aws_config: dir.path().join("aws").join("config"),
    }
}

/// A provider's metadata (the shape of oidc-provider's and Keycloak's), edited.
pub fn metadata(edit: impl FnOnce(&mut serde_json::Value)) -> ProviderMetadata {
    let mut doc = serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://idp.example/realms/r1/auth",
        "token_endpoint": "https://idp.example/realms/r1/token",
        "jwks_uri": "https://idp.example/realms/r1/certs",
        "device_authorization_endpoint": "https://idp.example/realms/r1/device",
        "revocation_endpoint": "https://idp.example/realms/r1/revoke",
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "authorization_response_iss_parameter_supported": true
    });
    edit(&mut doc);
    metadata_response(
        &Issuer::parse_trusted(ISSUER).unwrap(),
        &http::Response::new(doc.to_string().into_bytes()),
    )
    .unwrap()
}

/// A clock that jumps to wherever it is asked to sleep until, and remembers the jumps
/// (as offsets from its start).
pub struct JumpingClock {
    start: u64,
    now: Cell<u64>,
    sleeps: RefCell<Vec<u64>>,
}

impl JumpingClock {
    pub fn at(start: u64) -> Self {
        Self {
            start,
            now: Cell::new(start),
            sleeps: RefCell::new(Vec::new()),
        }
    }

    pub fn sleeps(&self) -> Vec<u64> {
        self.sleeps.borrow().clone()
    }

    pub fn advance(&self, secs: u64) {
        self.now.set(self.now.get() + secs);
    }
}

impl Waiter for JumpingClock {
    fn now(&self) -> u64 {
        self.now.get()
    }

    fn sleep_until(&self, secs: u64) {
        self.sleeps.borrow_mut().push(secs - self.start);
        self.now.set(self.now.get().max(secs));
    }
}

pub struct TestContext<'a> {
    pub http: &'a dyn Transport,
    pub dir: TempDir,
    pub clock: JumpingClock,
    pub keyring: MemoryKeyring,
    messages: RefCell<Vec<String>>,
}

/// Where the test clock starts: 2026-11-23T10:00:00Z.
pub const T0: u64 = 1_795_428_000;

impl<'a> TestContext<'a> {
    pub fn new(http: &'a dyn Transport) -> Self {
        Self {
            http,
            dir: TempDir::new(),
            clock: JumpingClock::at(T0),
            keyring: MemoryKeyring::broken(),
            messages: RefCell::new(Vec::new()),
        }
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.borrow().clone()
    }

    pub fn paths(&self) -> Paths {
        test_paths(&self.dir)
    }

    pub fn context(&self) -> Context<'_> {
        self.context_with_browser(|_| Err(std::io::Error::other("no browser in tests")))
    }

    pub fn context_with_browser(&self, open: impl Fn(&str) -> std::io::Result<()> + 'static) -> Context<'_> {
        Context {
            http: self.http,
            clock: &self.clock,
            random: &oidc_sts_proxy::platform::SystemRandom,
            keyring: &self.keyring,
            paths: self.paths(),
            messages: Box::new(|m| self.messages.borrow_mut().push(m.to_owned())),
            browser_available: true,
            open_browser: Box::new(open),
        }
    }
}
