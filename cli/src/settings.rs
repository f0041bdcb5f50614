//! Where things live, the config file, and how a profile's settings are put together:
//! flags over the config file's profile over the deployment's client-configuration document.
//!
//! ```toml
//! # ~/.config/osp/config.toml: one table per profile
//! [default]
//! url = "https://data.example.com"
//!
//! [work]
//! url = "https://data.work.example"
//! client_id = "osp-work"        # any field of the document can be overridden
//! pkce = false                  # a provider that refuses PKCE parameters (warned about)
//! token_store = "file"          # auto (default) | keyring | file
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oidc_sts_proxy::client_configuration::{ClientConfiguration, Region, DEFAULT_REGION, DEFAULT_SCOPES};
use oidc_sts_proxy::identity::Issuer;
use oidc_sts_proxy::oauth::client::{ClientId, Scopes};
use oidc_sts_proxy::oauth::metadata::Endpoint;
use serde::{Deserialize, Serialize};

use crate::error::CliError;

pub const DEFAULT_PROFILE: &str = "default";
/// The directory name under the config, state and cache directories.
pub const APP: &str = "osp";

/// A profile name: 1 to 64 of `A-Z a-z 0-9 _ . -`, not starting with a dot (it names files
/// and an AWS config section).
pub fn check_profile(name: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "profile name {name:?}: use 1 to 64 letters, digits, '_', '.' or '-'"
        )))
    }
}

/// The directories the CLI uses.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `$XDG_CONFIG_HOME/osp/config.toml`, else `~/.config/osp/config.toml` (on every Unix,
    /// as on Linux); the platform's config directory on Windows.
    pub config_file: PathBuf,
    /// Profiles (settings found at login), the token files of the keyring-less fallback,
    /// lock files: `$XDG_STATE_HOME/osp`, else `~/.local/state/osp` (the platform's local
    /// data directory where it has no state directory).
    pub state_dir: PathBuf,
    /// `AWS_CONFIG_FILE`, else `~/.aws/config`.
    pub aws_config: PathBuf,
}

impl Paths {
    pub fn from_env() -> Result<Self, CliError> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = dirs::home_dir().ok_or_else(|| CliError::Usage("no home directory: set HOME".into()))?;
        let config_base = env("XDG_CONFIG_HOME").unwrap_or_else(|| {
            if cfg!(unix) {
                home.join(".config")
            } else {
                dirs::config_dir().unwrap_or_else(|| home.join(".config"))
            }
        });
        let state_base = env("XDG_STATE_HOME")
            .or_else(dirs::state_dir)
            .or_else(dirs::data_local_dir)
            .unwrap_or_else(|| home.join(".local").join("state"));
        Ok(Self {
            config_file: config_base.join(APP).join("config.toml"),
            state_dir: state_base.join(APP),
            aws_config: env("AWS_CONFIG_FILE").unwrap_or_else(|| home.join(".aws").join("config")),
        })
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.state_dir.join("profiles")
    }

    pub fn profile_file(&self, profile: &str) -> PathBuf {
        self.profiles_dir().join(format!("{profile}.json"))
    }

    pub fn token_file(&self, profile: &str) -> PathBuf {
        self.state_dir.join("tokens").join(format!("{profile}.json"))
    }

    pub fn lock_file(&self, profile: &str) -> PathBuf {
        self.state_dir.join("locks").join(format!("{profile}.lock"))
    }
}

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenStoreChoice {
    /// The OS keyring when one answers, else a file readable only by the user.
    #[default]
    Auto,
    /// The OS keyring only (an error when none answers).
    Keyring,
    /// A file readable only by the user, in the state directory.
    File,
}

/// One profile of the config file. Every field optional; unknown fields are an error
/// (a typo would otherwise be silently ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProfile {
    pub url: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Option<String>,
    pub pkce: Option<bool>,
    pub sts_endpoint: Option<String>,
    pub s3_endpoint: Option<String>,
    pub region: Option<String>,
    pub token_store: Option<TokenStoreChoice>,
}

/// Reads the config file's profile `name` (none when the file or the profile is absent).
pub fn file_profile(path: &Path, name: &str) -> Result<FileProfile, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileProfile::default()),
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
    };
    let mut profiles: BTreeMap<String, FileProfile> =
        toml::from_str(&text).map_err(|e| CliError::Usage(format!("{}: {}", path.display(), e.message())))?;
    Ok(profiles.remove(name).unwrap_or_default())
}

/// What flags say (each overrides the config file and the document).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub url: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Option<String>,
    pub no_pkce: bool,
    pub sts_endpoint: Option<String>,
    pub s3_endpoint: Option<String>,
    pub region: Option<String>,
    pub token_store: Option<TokenStoreChoice>,
}

/// A profile's settings, resolved at login and kept in the state directory (no secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub url: Option<String>,
    pub issuer: String,
    pub client_id: String,
    pub scopes: String,
    pub pkce: bool,
    pub sts_endpoint: String,
    pub s3_endpoint: String,
    pub region: String,
    pub token_store: TokenStoreChoice,
}

/// The checked form of [`Settings`].
pub struct Checked {
    pub issuer: Issuer,
    pub client_id: ClientId,
    pub scopes: Scopes,
    pub sts_endpoint: Endpoint,
}

impl Settings {
    /// Flags, then the config file, then the document (fetched only when a URL is known).
    pub fn resolve(
        flags: &Overrides,
        file: &FileProfile,
        document: Option<&ClientConfiguration>,
    ) -> Result<Self, CliError> {
        let pick = |flag: &Option<String>, file: &Option<String>, doc: Option<String>, name: &str| {
            flag.clone()
                .or_else(|| file.clone())
                .or(doc)
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "no {name}: give the deployment's URL (`osp login https://...`), or set {name} in the config file or with --{}",
                        name.replace('_', "-")
                    ))
                })
        };
        let settings = Self {
            url: flags.url.clone().or_else(|| file.url.clone()),
            issuer: pick(
                &flags.issuer,
                &file.issuer,
                document.map(|d| d.issuer.as_str().to_owned()),
                "issuer",
            )?,
            client_id: pick(
                &flags.client_id,
                &file.client_id,
                document.map(|d| d.client_id.as_str().to_owned()),
                "client_id",
            )?,
            scopes: pick(
                &flags.scopes,
                &file.scopes,
                Some(document.map_or(DEFAULT_SCOPES.to_owned(), |d| d.scopes.as_str().to_owned())),
                "scopes",
            )?,
            pkce: !flags.no_pkce && file.pkce.or(document.map(|d| d.pkce)).unwrap_or(true),
            sts_endpoint: pick(
                &flags.sts_endpoint,
                &file.sts_endpoint,
                document.map(|d| d.sts_endpoint.as_str().to_owned()),
                "sts_endpoint",
            )?,
            s3_endpoint: pick(
                &flags.s3_endpoint,
                &file.s3_endpoint,
                document.map(|d| d.s3_endpoint.as_str().to_owned()),
                "s3_endpoint",
            )?,
            region: pick(
                &flags.region,
                &file.region,
                Some(document.map_or(DEFAULT_REGION.to_owned(), |d| d.region.as_str().to_owned())),
                "region",
            )?,
            token_store: flags.token_store.or(file.token_store).unwrap_or_default(),
        };
        settings.check()?;
        Ok(settings)
    }

    /// Every value checked as the document's fields are.
    pub fn check(&self) -> Result<Checked, CliError> {
        let bad = |name: &str, why: &str| CliError::Usage(format!("{name}: {why}"));
        Endpoint::parse(&self.s3_endpoint).map_err(|e| bad("s3_endpoint", &e.to_string()))?;
        Region::parse(&self.region).ok_or_else(|| bad("region", "not a region name (a-z, 0-9, -)"))?;
        Ok(Checked {
            issuer: Issuer::parse_trusted(&self.issuer).map_err(|e| bad("issuer", &e.to_string()))?,
            client_id: ClientId::parse(&self.client_id).map_err(|e| bad("client_id", &e.to_string()))?,
            scopes: Scopes::parse(&self.scopes).map_err(|e| bad("scopes", &e.to_string()))?,
            sts_endpoint: Endpoint::parse(&self.sts_endpoint).map_err(|e| bad("sts_endpoint", &e.to_string()))?,
        })
    }

    pub fn load(paths: &Paths, profile: &str) -> Result<Option<Self>, CliError> {
        let path = paths.profile_file(profile);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CliError::Store(format!("{}: {e}; run `osp login` again", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::io(format!("reading {}", path.display()), e)),
        }
    }

    pub fn save(&self, paths: &Paths, profile: &str) -> Result<(), CliError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| CliError::Store(e.to_string()))?;
        crate::store::write_private(&paths.profile_file(profile), &json)
    }
}

/// Every profile with saved settings, by name.
pub fn known_profiles(paths: &Paths) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(paths.profiles_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .filter(|n| check_profile(n).is_ok())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use oidc_sts_proxy::client_configuration::configuration_response;

    fn document() -> ClientConfiguration {
        let body = serde_json::json!({
            "issuer": "https://idp.example", "client_id": "osp", "scopes": "openid offline_access",
            "pkce": true, "sts_endpoint": "https://data.example/.sts", "s3_endpoint": "https://data.example",
            "region": "eu-west-1"
        });
        configuration_response(&http::Response::new(body.to_string().into_bytes())).unwrap()
    }

    #[test]
    fn the_document_alone_is_enough() {
        let s = Settings::resolve(
            &Overrides {
                url: Some("https://data.example".into()),
                ..Default::default()
            },
            &FileProfile::default(),
            Some(&document()),
        )
        .unwrap();
        assert_eq!(s.url.as_deref(), Some("https://data.example"));
        assert_eq!(
            (s.issuer.as_str(), s.client_id.as_str(), s.scopes.as_str()),
            ("https://idp.example", "osp", "openid offline_access")
        );
        assert!(s.pkce);
        assert_eq!(
            (s.sts_endpoint.as_str(), s.s3_endpoint.as_str(), s.region.as_str()),
            ("https://data.example/.sts", "https://data.example", "eu-west-1")
        );
        assert_eq!(s.token_store, TokenStoreChoice::Auto);
    }

    #[test]
    fn flags_override_the_file_which_overrides_the_document() {
        let file = FileProfile {
            client_id: Some("from-file".into()),
            region: Some("us-west-2".into()),
            pkce: Some(false),
            token_store: Some(TokenStoreChoice::File),
            ..Default::default()
        };
        let flags = Overrides {
            client_id: Some("from-flag".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&flags, &file, Some(&document())).unwrap();
        assert_eq!(s.client_id, "from-flag");
        assert_eq!(s.region, "us-west-2");
        assert!(!s.pkce, "pkce = false in the file");
        assert_eq!(s.token_store, TokenStoreChoice::File);
        let s = Settings::resolve(
            &Overrides {
                no_pkce: true,
                ..Default::default()
            },
            &FileProfile::default(),
            Some(&document()),
        )
        .unwrap();
        assert!(!s.pkce, "--no-pkce");
    }

    #[test]
    fn without_a_document_the_required_values_must_be_given() {
        let err = Settings::resolve(&Overrides::default(), &FileProfile::default(), None).unwrap_err();
        assert!(err.to_string().contains("no issuer"), "{err}");
        let file = FileProfile {
            issuer: Some("https://idp.example".into()),
            client_id: Some("osp".into()),
            sts_endpoint: Some("https://data.example/.sts".into()),
            s3_endpoint: Some("https://data.example".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&Overrides::default(), &file, None).unwrap();
        assert_eq!(
            (s.scopes.as_str(), s.region.as_str(), s.pkce),
            ("openid offline_access", "us-east-1", true)
        );
        let bad = FileProfile {
            issuer: Some("http://idp.example".into()),
            ..file
        };
        assert!(Settings::resolve(&Overrides::default(), &bad, None)
            .unwrap_err()
            .to_string()
            .starts_with("issuer:"));
    }

    #[test]
    fn the_config_file_has_one_table_per_profile_and_refuses_unknown_fields() {
        let dir = crate::testutil::TempDir::new();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[default]\nurl = \"https://a.example\"\n\n[work]\nurl = \"https://b.example\"\npkce = false\ntoken_store = \"file\"\n",
        )
        .unwrap();
        assert_eq!(
            file_profile(&path, "default").unwrap().url.as_deref(),
            Some("https://a.example")
        );
        let work = file_profile(&path, "work").unwrap();
        assert_eq!(
            (work.pkce, work.token_store),
            (Some(false), Some(TokenStoreChoice::File))
        );
        assert!(file_profile(&path, "other").unwrap().url.is_none());
        assert!(file_profile(&dir.path().join("absent.toml"), "default")
            .unwrap()
            .url
            .is_none());
        std::fs::write(&path, "[default]\nclientid = \"typo\"\n").unwrap();
        assert!(file_profile(&path, "default")
            .unwrap_err()
            .to_string()
            .contains("clientid"));
    }

    #[test]
    fn profile_names_are_file_and_section_safe() {
        for ok in ["default", "work-2", "a.b_c"] {
            assert!(check_profile(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "a b", "..", "é", &"x".repeat(65)] {
            assert!(check_profile(bad).is_err(), "{bad}");
        }
    }
}
