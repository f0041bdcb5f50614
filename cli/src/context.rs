//! What every command is given: the network, the clock, randomness, the keyring, the
//! directories and the terminal, so that tests can put fakes in their place.

use oidc_sts_proxy::platform::Random;

use crate::http::Transport;
use crate::settings::Paths;
use crate::store::Vault;

/// Wall-clock seconds, and waiting for a time.
pub trait Waiter {
    fn now(&self) -> u64;
    fn sleep_until(&self, secs: u64);
}

/// The system clock.
pub struct SystemWaiter;

impl Waiter for SystemWaiter {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn sleep_until(&self, secs: u64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let target = std::time::Duration::from_secs(secs);
        if let Some(wait) = target.checked_sub(now) {
            std::thread::sleep(wait);
        }
    }
}

/// Opens a URL in a browser.
pub type Opener<'a> = Box<dyn Fn(&str) -> std::io::Result<()> + 'a>;

pub struct Context<'a> {
    pub http: &'a dyn Transport,
    pub clock: &'a dyn Waiter,
    pub random: &'a dyn Random,
    pub keyring: &'a dyn Vault,
    pub paths: Paths,
    /// Messages for the person (stderr): never a token.
    pub messages: Box<dyn Fn(&str) + 'a>,
    /// Whether a browser can be shown here.
    pub browser_available: bool,
    /// Opens a URL in the browser (`Err` when none could be started).
    pub open_browser: Opener<'a>,
}

impl Context<'_> {
    pub fn say(&self, message: &str) {
        (self.messages)(message);
    }
}

/// Messages to stderr.
pub fn to_stderr(message: &str) {
    eprintln!("{message}");
}
