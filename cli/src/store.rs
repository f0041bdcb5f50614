//! Where a profile's secrets live: the ID token, the refresh token and the cached STS
//! credentials, as one record, in the OS keyring (Secret Service, macOS Keychain, Windows
//! Credential Manager) when one answers, else in a file readable only by the user
//! (`0600` in a `0700` directory of the state directory). Never printed.
//!
//! `auto` reads the keyring first, then the file; writes go to the keyring when it answers,
//! else to the file (and a copy in the other place is removed); delete removes both.
//! A per-profile lock file serialises every read-modify-write (two `osp credentials` at
//! once must not both spend one rotating refresh token).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use oidc_sts_proxy::oauth::token::{IdToken, RefreshToken};
use oidc_sts_proxy::secret::SecretString;
use oidc_sts_proxy::sts::client::StsCredentials;
use serde::{Deserialize, Serialize};

use crate::error::CliError;
use crate::settings::{Paths, TokenStoreChoice};

/// The keyring service name; the profile is the entry's user name.
pub const KEYRING_SERVICE: &str = "osp";

/// A profile's secrets.
#[derive(Debug)]
pub struct Secrets {
    pub id_token: IdToken,
    pub refresh_token: Option<RefreshToken>,
    /// The STS credentials last handed out, cached.
    pub credentials: Option<StsCredentials>,
}

/// The record's serialised form (only ever built to be written, and dropped at once).
#[derive(Serialize, Deserialize)]
struct Record {
    version: u32,
    id_token: String,
    refresh_token: Option<String>,
    credentials: Option<RecordCredentials>,
}

#[derive(Serialize, Deserialize)]
struct RecordCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: u64,
    subject: String,
}

impl Secrets {
    fn to_json(&self) -> zeroize::Zeroizing<String> {
        let record = Record {
            version: 1,
            id_token: self.id_token.expose_secret().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            credentials: self.credentials.as_ref().map(|c| RecordCredentials {
                access_key_id: c.access_key_id.clone(),
                secret_access_key: c.secret_access_key.expose_secret().to_owned(),
                session_token: c.session_token.expose_secret().to_owned(),
                expiration: c.expiration,
                subject: c.subject.clone(),
            }),
        };
        let json = serde_json::to_string(&record).unwrap_or_default();
        zeroize_record(record);
        zeroize::Zeroizing::new(json)
    }

    fn from_json(text: &str) -> Option<Self> {
        let record: Record = serde_json::from_str(text).ok()?;
        if record.version != 1 {
            return None;
        }
        Some(Self {
            id_token: IdToken::new(record.id_token),
            refresh_token: record.refresh_token.map(RefreshToken::new),
            credentials: record.credentials.map(|c| StsCredentials {
                access_key_id: c.access_key_id,
                secret_access_key: SecretString::new(c.secret_access_key),
                session_token: SecretString::new(c.session_token),
                expiration: c.expiration,
                subject: c.subject,
            }),
        })
    }
}

fn zeroize_record(record: Record) {
    use zeroize::Zeroize as _;
    let Record {
        mut id_token,
        refresh_token,
        credentials,
        ..
    } = record;
    id_token.zeroize();
    if let Some(mut t) = refresh_token {
        t.zeroize();
    }
    if let Some(mut c) = credentials {
        c.secret_access_key.zeroize();
        c.session_token.zeroize();
    }
}

/// Where a record was found or put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Keyring,
    File(PathBuf),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Keyring => write!(f, "the OS keyring (service \"{KEYRING_SERVICE}\")"),
            Self::File(p) => write!(f, "{} (readable only by you)", p.display()),
        }
    }
}

/// One place that can hold the record text.
pub trait Vault {
    /// `Ok(None)` when there is no entry.
    fn get(&self, profile: &str) -> Result<Option<zeroize::Zeroizing<String>>, String>;
    fn set(&self, profile: &str, text: &str) -> Result<(), String>;
    fn delete(&self, profile: &str) -> Result<(), String>;
}

/// The OS keyring, or none on a platform without one.
pub struct Keyring;

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
impl Vault for Keyring {
    fn get(&self, profile: &str) -> Result<Option<zeroize::Zeroizing<String>>, String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, profile).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(p) => Ok(Some(zeroize::Zeroizing::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn set(&self, profile: &str, text: &str) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, profile).map_err(|e| e.to_string())?;
        entry.set_password(text).map_err(|e| e.to_string())
    }

    fn delete(&self, profile: &str) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, profile).map_err(|e| e.to_string())?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
impl Vault for Keyring {
    fn get(&self, _: &str) -> Result<Option<zeroize::Zeroizing<String>>, String> {
        Err("no OS keyring on this platform".into())
    }
    fn set(&self, _: &str, _: &str) -> Result<(), String> {
        Err("no OS keyring on this platform".into())
    }
    fn delete(&self, _: &str) -> Result<(), String> {
        Err("no OS keyring on this platform".into())
    }
}

/// A profile's secrets, in the keyring or the file.
pub struct Store<'a> {
    keyring: &'a dyn Vault,
    choice: TokenStoreChoice,
    file: PathBuf,
    profile: String,
}

impl<'a> Store<'a> {
    pub fn new(keyring: &'a dyn Vault, paths: &Paths, profile: &str, choice: TokenStoreChoice) -> Self {
        Self {
            keyring,
            choice,
            file: paths.token_file(profile),
            profile: profile.to_owned(),
        }
    }

    /// The record and where it was, or `None`. A keyring that does not answer is skipped in
    /// `auto` (the file is read), an error with `keyring`.
    pub fn load(&self) -> Result<Option<(Secrets, Location)>, CliError> {
        let mut keyring_error = None;
        if self.choice != TokenStoreChoice::File {
            match self.keyring.get(&self.profile) {
                Ok(Some(text)) => {
                    return Secrets::from_json(&text)
                        .map(|s| Some((s, Location::Keyring)))
                        .ok_or_else(|| self.unreadable(&Location::Keyring))
                }
                Ok(None) => {}
                Err(e) if self.choice == TokenStoreChoice::Keyring => {
                    return Err(CliError::Store(format!("the OS keyring does not answer: {e}")))
                }
                Err(e) => keyring_error = Some(e),
            }
        }
        if self.choice == TokenStoreChoice::Keyring {
            return Ok(None);
        }
        match std::fs::read_to_string(&self.file) {
            Ok(text) => {
                let text = zeroize::Zeroizing::new(text);
                let location = Location::File(self.file.clone());
                Secrets::from_json(&text)
                    .map(|s| Some((s, location.clone())))
                    .ok_or_else(|| self.unreadable(&location))
            }
            // Tokens saved in a keyring that this session cannot reach (a scheduled job
            // has no desktop session): say so rather than "not signed in".
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match keyring_error {
                Some(k) if self.marker().exists() => Err(CliError::login_required(
                    format!(
                        "no saved tokens here: the OS keyring does not answer ({k}) and there is no token file (for a job without a desktop session, log in with --token-store file)"
                    ),
                    &self.profile,
                )),
                _ => Ok(None),
            },
            Err(e) => Err(CliError::io(format!("reading {}", self.file.display()), e)),
        }
    }

    /// A file (no secret in it) saying the record is in the keyring, so that a session
    /// that cannot reach the keyring can tell "tokens elsewhere" from "signed out".
    fn marker(&self) -> PathBuf {
        self.file.with_extension("in-keyring")
    }

    fn unreadable(&self, at: &Location) -> CliError {
        CliError::login_required(format!("the saved tokens in {at} are unreadable"), &self.profile)
    }

    /// Writes the record; returns where it went.
    pub fn save(&self, secrets: &Secrets) -> Result<Location, CliError> {
        let text = secrets.to_json();
        if self.choice != TokenStoreChoice::File {
            match self.keyring.set(&self.profile, &text) {
                Ok(()) => {
                    remove_file(&self.file)?;
                    write_private(&self.marker(), b"the tokens of this profile are in the OS keyring\n")?;
                    return Ok(Location::Keyring);
                }
                Err(e) if self.choice == TokenStoreChoice::Keyring => {
                    return Err(CliError::Store(format!("the OS keyring does not answer: {e}")))
                }
                Err(_) => {}
            }
        }
        write_private(&self.file, text.as_bytes())?;
        remove_file(&self.marker())?;
        if self.choice == TokenStoreChoice::Auto {
            // A keyring that answers no writes may still hold an older record: best effort.
            let _ = self.keyring.delete(&self.profile);
        }
        Ok(Location::File(self.file.clone()))
    }

    /// Removes the record from both places.
    pub fn delete(&self) -> Result<(), CliError> {
        remove_file(&self.file)?;
        remove_file(&self.marker())?;
        match self.keyring.delete(&self.profile) {
            Err(e) if self.choice == TokenStoreChoice::Keyring => {
                Err(CliError::Store(format!("the OS keyring does not answer: {e}")))
            }
            _ => Ok(()),
        }
    }
}

fn remove_file(path: &Path) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::io(format!("removing {}", path.display()), e)),
    }
}

/// Creates `dir` and its missing parents, the new ones readable only by the user.
fn private_dir(dir: &Path) -> Result<(), CliError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| CliError::io(format!("creating {}", dir.display()), e))
}

/// Writes `bytes` to `path` atomically (a temporary file in the same directory, renamed),
/// the file readable and writable only by the user (`0600`) from its creation on.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options
        .open(&tmp)
        .and_then(|mut f| {
            #[cfg(unix)]
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::io(format!("writing {}", path.display()), e));
    }
    Ok(())
}

/// An exclusive lock on a profile, held until dropped.
pub struct ProfileLock(#[allow(dead_code)] File);

impl ProfileLock {
    pub fn acquire(paths: &Paths, profile: &str) -> Result<Self, CliError> {
        let path = paths.lock_file(profile);
        private_dir(path.parent().unwrap_or(Path::new(".")))?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|e| CliError::io(format!("opening {}", path.display()), e))?;
        file.lock()
            .map_err(|e| CliError::io(format!("locking {}", path.display()), e))?;
        Ok(Self(file))
    }
}

#[cfg(test)]
pub mod fake {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;

    /// A keyring in memory, or one that never answers.
    #[derive(Default)]
    pub struct MemoryKeyring {
        pub entries: RefCell<BTreeMap<String, String>>,
        pub broken: bool,
    }

    impl MemoryKeyring {
        pub fn broken() -> Self {
            Self {
                broken: true,
                ..Default::default()
            }
        }
    }

    impl Vault for MemoryKeyring {
        fn get(&self, profile: &str) -> Result<Option<zeroize::Zeroizing<String>>, String> {
            if self.broken {
                return Err("no D-Bus session".into());
            }
            Ok(self.entries.borrow().get(profile).cloned().map(zeroize::Zeroizing::new))
        }
        fn set(&self, profile: &str, text: &str) -> Result<(), String> {
            if self.broken {
                return Err("no D-Bus session".into());
            }
            self.entries.borrow_mut().insert(profile.into(), text.into());
            Ok(())
        }
        fn delete(&self, profile: &str) -> Result<(), String> {
            if self.broken {
                return Err("no D-Bus session".into());
            }
            self.entries.borrow_mut().remove(profile);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::MemoryKeyring;
    use super::*;
    use crate::testutil::{test_paths, TempDir};

    fn secrets() -> Secrets {
        Secrets {
            id_token: IdToken::new("MARKER-ID.a.b".into()),
            refresh_token: Some(RefreshToken::new("MARKER-RT".into())),
            credentials: Some(StsCredentials {
                access_key_id: "ASIAABCDEFGHIJKLMNOP".into(),
                secret_access_key: SecretString::new("MARKER-SECRET".into()),
                session_token: SecretString::new("MARKER-SESSION".into()),
                expiration: 1_000,
                subject: "alice".into(),
            }),
        }
    }

    #[test]
    fn without_a_keyring_the_record_is_a_0600_file_in_a_0700_directory() {
        let dir = TempDir::new();
        let paths = test_paths(&dir);
        let keyring = MemoryKeyring::broken();
        let store = Store::new(&keyring, &paths, "p", TokenStoreChoice::Auto);
        let at = store.save(&secrets()).unwrap();
        assert_eq!(at, Location::File(paths.token_file("p")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&paths.token_file("p")), 0o600);
            assert_eq!(mode(paths.token_file("p").parent().unwrap()), 0o700);
        }
        let (back, at) = store.load().unwrap().unwrap();
        assert!(matches!(at, Location::File(_)));
        assert_eq!(back.id_token.expose_secret(), "MARKER-ID.a.b");
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "MARKER-RT");
        let c = back.credentials.unwrap();
        assert_eq!(
            (
                c.secret_access_key.expose_secret(),
                c.session_token.expose_secret(),
                c.expiration
            ),
            ("MARKER-SECRET", "MARKER-SESSION", 1_000)
        );
        store.delete().unwrap();
        assert!(store.load().unwrap().is_none());
        assert!(!paths.token_file("p").exists());
    }

    #[test]
    fn with_a_keyring_the_record_goes_there_and_no_file_is_left() {
        let dir = TempDir::new();
        let paths = test_paths(&dir);
        let keyring = MemoryKeyring::default();
        // An older file copy (a login made without a keyring) is removed by the next save.
        Store::new(&MemoryKeyring::broken(), &paths, "p", TokenStoreChoice::Auto)
            .save(&secrets())
            .unwrap();
        let store = Store::new(&keyring, &paths, "p", TokenStoreChoice::Auto);
        assert!(matches!(store.load().unwrap().unwrap().1, Location::File(_)));
        assert_eq!(store.save(&secrets()).unwrap(), Location::Keyring);
        assert!(!paths.token_file("p").exists());
        assert!(keyring.entries.borrow()["p"].contains("MARKER-RT"));
        assert_eq!(store.load().unwrap().unwrap().1, Location::Keyring);
        store.delete().unwrap();
        assert!(keyring.entries.borrow().is_empty());
    }

    #[test]
    fn an_explicit_choice_is_honoured_and_a_silent_keyring_is_an_error_only_when_chosen() {
        let dir = TempDir::new();
        let paths = test_paths(&dir);
        let keyring = MemoryKeyring::default();
        let at = Store::new(&keyring, &paths, "p", TokenStoreChoice::File)
            .save(&secrets())
            .unwrap();
        assert!(matches!(at, Location::File(_)));
        assert!(keyring.entries.borrow().is_empty());
        let broken = MemoryKeyring::broken();
        let err = Store::new(&broken, &paths, "p", TokenStoreChoice::Keyring)
            .save(&secrets())
            .unwrap_err();
        assert!(err.to_string().contains("keyring does not answer"), "{err}");
    }

    #[test]
    fn tokens_in_a_keyring_this_session_cannot_reach_are_told_apart_from_signed_out() {
        let dir = TempDir::new();
        let paths = test_paths(&dir);
        let desktop = MemoryKeyring::default();
        Store::new(&desktop, &paths, "p", TokenStoreChoice::Auto)
            .save(&secrets())
            .unwrap();
        let cron = MemoryKeyring::broken();
        let store = Store::new(&cron, &paths, "p", TokenStoreChoice::Auto);
        let err = store.load().unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_LOGIN_REQUIRED);
        assert!(
            err.to_string()
                .contains("the OS keyring does not answer (no D-Bus session)"),
            "{err}"
        );
        assert!(err.to_string().contains("--token-store file"), "{err}");
        Store::new(&desktop, &paths, "p", TokenStoreChoice::Auto)
            .delete()
            .unwrap();
        assert!(store.load().unwrap().is_none(), "signed out is signed out");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let printed = format!("{:?}", secrets());
        assert!(!printed.contains("MARKER"), "{printed}");
    }

    #[test]
    fn an_unreadable_record_asks_for_a_new_login() {
        let dir = TempDir::new();
        let paths = test_paths(&dir);
        write_private(&paths.token_file("p"), b"{not json").unwrap();
        let err = Store::new(&MemoryKeyring::broken(), &paths, "p", TokenStoreChoice::Auto)
            .load()
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_LOGIN_REQUIRED);
    }

    #[test]
    fn the_profile_lock_excludes_a_second_holder_until_dropped() {
        let dir = TempDir::new();
        let paths = test_paths(&dir);
        let first = ProfileLock::acquire(&paths, "p").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let paths2 = paths.clone();
        let waiter = std::thread::spawn(move || {
            let _second = ProfileLock::acquire(&paths2, "p").unwrap();
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(std::time::Duration::from_millis(200)).is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
    }
}
