//! Worker configuration: read once per isolate from vars and secrets, checked, typed.
//!
//! Every feature keeps its own `Result`, so a mistake in one setting switches off
//! (with a clear error) only the routes that need it; the rest keeps serving.
//! Errors name the setting, never its value.

use crate::identity::{Audience, Issuer, UrlError};
use crate::oidc::keys::{KeyError, Kid, ProviderKey};
use crate::secret::SecretString;

/// Where settings come from: the Workers `Env` in production, a map in tests.
pub trait Settings {
    /// A plain variable (`[vars]` in wrangler.toml). Empty counts as unset.
    fn var(&self, name: &str) -> Option<String>;
    /// A secret (`wrangler secret`, `.dev.vars`). Empty counts as unset.
    fn secret(&self, name: &str) -> Option<SecretString>;
}

/// A configuration mistake, naming the setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting} is required when {because} is set")]
    Missing {
        setting: &'static str,
        because: &'static str,
    },
    #[error("{setting}: {reason}")]
    BadUrl {
        setting: &'static str,
        reason: UrlError,
    },
    #[error("{setting}: {reason}")]
    BadKey {
        setting: &'static str,
        reason: KeyError,
    },
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: &'static str,
    },
}

/// The OpenID provider's settings.
#[derive(Debug)]
pub struct ProviderConfig {
    /// `OIDC_PROVIDER_ISSUER`: used verbatim as `iss` and in discovery. No default.
    pub issuer: Issuer,
    /// `OIDC_PROVIDER_KID` + `OIDC_PROVIDER_KEY`: the signing key. No default.
    pub active: ProviderKey,
    /// `OIDC_PROVIDER_KID_PREVIOUS` + `OIDC_PROVIDER_KEY_PREVIOUS`: published, never used to sign. Default: none.
    pub previous: Option<ProviderKey>,
    /// `UPSTREAM_API_AUDIENCE`: `aud` of the JWTs minted for the upstream API. Default: none (minting off).
    pub upstream_audience: Option<Audience>,
}

/// Everything the worker reads from its environment.
#[derive(Debug)]
pub struct Config {
    /// `Ok(None)`: no key configured, provider endpoints are off (404).
    pub provider: Result<Option<ProviderConfig>, ConfigError>,
    /// `INSECURE_TEST_ROUTES=1`: serve `/.test/*` signing routes for the end-to-end suite.
    /// Honoured only while the issuer is a loopback URL, so never in a deployment. Default: off.
    pub insecure_test_routes: bool,
}

impl Config {
    pub fn from_settings(settings: &dyn Settings) -> Self {
        let provider = provider_config(settings);
        let on_loopback = matches!(&provider, Ok(Some(p)) if p.issuer.is_loopback());
        let insecure_test_routes =
            on_loopback && settings.var("INSECURE_TEST_ROUTES").as_deref() == Some("1");
        Self {
            provider,
            insecure_test_routes,
        }
    }

    /// Every configuration error, for logging once per isolate.
    pub fn errors(&self) -> Vec<&ConfigError> {
        self.provider.as_ref().err().into_iter().collect()
    }
}

fn provider_config(s: &dyn Settings) -> Result<Option<ProviderConfig>, ConfigError> {
    let Some(active) = key_pair(s, "OIDC_PROVIDER_KID", "OIDC_PROVIDER_KEY")? else {
        return Ok(None);
    };
    let issuer_value = s.var("OIDC_PROVIDER_ISSUER").ok_or(ConfigError::Missing {
        setting: "OIDC_PROVIDER_ISSUER",
        because: "OIDC_PROVIDER_KEY",
    })?;
    let issuer = Issuer::parse_origin(&issuer_value).map_err(|reason| ConfigError::BadUrl {
        setting: "OIDC_PROVIDER_ISSUER",
        reason,
    })?;
    let previous = key_pair(
        s,
        "OIDC_PROVIDER_KID_PREVIOUS",
        "OIDC_PROVIDER_KEY_PREVIOUS",
    )?;
    if previous.as_ref().is_some_and(|p| p.kid() == active.kid()) {
        return Err(ConfigError::Invalid {
            setting: "OIDC_PROVIDER_KID_PREVIOUS",
            reason: "must differ from OIDC_PROVIDER_KID",
        });
    }
    let upstream_audience = match s.var("UPSTREAM_API_AUDIENCE") {
        None => None,
        Some(v) => Some(Audience::parse(&v).ok_or(ConfigError::Invalid {
            setting: "UPSTREAM_API_AUDIENCE",
            reason: "must be 1 to 256 printable characters",
        })?),
    };
    Ok(Some(ProviderConfig {
        issuer,
        active,
        previous,
        upstream_audience,
    }))
}

/// Reads a kid and its PEM key; both or neither must be set.
fn key_pair(
    s: &dyn Settings,
    kid_name: &'static str,
    key_name: &'static str,
) -> Result<Option<ProviderKey>, ConfigError> {
    match (s.var(kid_name), s.secret(key_name)) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::Missing {
            setting: key_name,
            because: kid_name,
        }),
        (None, Some(_)) => Err(ConfigError::Missing {
            setting: kid_name,
            because: key_name,
        }),
        (Some(kid), Some(pem)) => {
            let kid = Kid::parse(&kid).ok_or(ConfigError::Invalid {
                setting: kid_name,
                reason: "must be 1 to 128 of A-Z a-z 0-9 . _ -",
            })?;
            ProviderKey::from_pkcs8_pem(kid, pem.expose_secret())
                .map(Some)
                .map_err(|reason| ConfigError::BadKey {
                    setting: key_name,
                    reason,
                })
        }
    }
}

/// Settings from a list of pairs, for tests and native tools.
#[derive(Debug, Default, Clone)]
pub struct MapSettings(pub std::collections::BTreeMap<String, String>);

impl MapSettings {
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl Settings for MapSettings {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }
    fn secret(&self, name: &str) -> Option<SecretString> {
        self.var(name).map(SecretString::new)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::oidc::keys::tests::{TEST_KEY2_PEM, TEST_KEY_PEM};

    pub(crate) fn provider_settings() -> MapSettings {
        MapSettings::default()
            .with("OIDC_PROVIDER_ISSUER", "https://id.example.com")
            .with("OIDC_PROVIDER_KID", "key-2")
            .with("OIDC_PROVIDER_KEY", TEST_KEY_PEM)
            .with("OIDC_PROVIDER_KID_PREVIOUS", "key-1")
            .with("OIDC_PROVIDER_KEY_PREVIOUS", TEST_KEY2_PEM)
            .with("UPSTREAM_API_AUDIENCE", "upstream-api")
    }

    #[test]
    fn full_provider_config_parses() {
        let c = Config::from_settings(&provider_settings());
        let p = c.provider.unwrap().unwrap();
        assert_eq!(p.issuer.as_str(), "https://id.example.com");
        assert_eq!(p.active.kid().as_str(), "key-2");
        assert_eq!(p.previous.unwrap().kid().as_str(), "key-1");
    }

    #[test]
    fn no_key_means_provider_off() {
        let c = Config::from_settings(&MapSettings::default());
        assert!(matches!(c.provider, Ok(None)));
        assert!(c.errors().is_empty());
    }

    #[test]
    fn kid_without_key_and_key_without_kid_are_errors() {
        let s = provider_settings().with("OIDC_PROVIDER_KEY_PREVIOUS", "");
        let err = Config::from_settings(&s).provider.unwrap_err();
        assert_eq!(
            err.to_string(),
            "OIDC_PROVIDER_KEY_PREVIOUS is required when OIDC_PROVIDER_KID_PREVIOUS is set"
        );
        let s = provider_settings().with("OIDC_PROVIDER_KID", "");
        let err = Config::from_settings(&s).provider.unwrap_err();
        assert!(err.to_string().starts_with("OIDC_PROVIDER_KID is required"));
    }

    #[test]
    fn errors_name_the_setting_never_the_value() {
        let s = provider_settings().with("OIDC_PROVIDER_KEY", "MARKER-NOT-A-PEM");
        let err = Config::from_settings(&s).provider.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("OIDC_PROVIDER_KEY: not a PEM"), "{text}");
        assert!(!text.contains("MARKER") && !format!("{err:?}").contains("MARKER"));
        let s = provider_settings().with("OIDC_PROVIDER_ISSUER", "http://MARKER.example.com");
        let text = Config::from_settings(&s).provider.unwrap_err().to_string();
        assert_eq!(
            text,
            "OIDC_PROVIDER_ISSUER: must use https (plain http only for loopback hosts)"
        );
    }

    #[test]
    fn missing_issuer_and_equal_kids_are_errors() {
        let s = provider_settings().with("OIDC_PROVIDER_ISSUER", "");
        assert!(matches!(
            Config::from_settings(&s).provider,
            Err(ConfigError::Missing {
                setting: "OIDC_PROVIDER_ISSUER",
                ..
            })
        ));
        let s = provider_settings().with("OIDC_PROVIDER_KID_PREVIOUS", "key-2");
        assert!(matches!(
            Config::from_settings(&s).provider,
            Err(ConfigError::Invalid {
                setting: "OIDC_PROVIDER_KID_PREVIOUS",
                ..
            })
        ));
    }
}
