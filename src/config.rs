//! Worker configuration: read once per isolate from vars and secrets, checked, typed.
//!
//! Every feature keeps its own `Result`, so a mistake in one setting switches off
//! (with a clear error) only the routes that need it; the rest keeps serving.
//! Errors name the setting, never its value.

use crate::access::catalogue::{Catalogue, CatalogueError};
use crate::access::upstream::UpstreamConfig;
use crate::client_configuration::{CliClient, DEFAULT_SCOPES};
use crate::identity::{Audience, Issuer, UrlError};
use crate::oauth::client::{ClientId, Scopes};
use crate::oidc::keys::{KeyError, Kid, ProviderKey};
use crate::secret::{DerivedKeys, SecretString};
use crate::session::seal::SessionKeys;
use crate::sts::verify::{TrustPolicy, TrustedIssuer};
use crate::sts::StsConfig;

/// Where settings come from: the Workers `Env` in production, a map in tests.
pub(crate) trait Settings {
    /// A plain variable (`[vars]` in wrangler.toml). Empty counts as unset.
    fn var(&self, name: &str) -> Option<String>;
    /// A secret (`wrangler secret`, `.dev.vars`). Empty counts as unset.
    fn secret(&self, name: &str) -> Option<SecretString>;
}

/// A configuration mistake, naming the setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("{setting} is required when {because} is set")]
    Missing {
        setting: &'static str,
        because: &'static str,
    },
    #[error("{setting}: {reason}")]
    BadUrl { setting: &'static str, reason: UrlError },
    #[error("{setting}: {reason}")]
    BadKey { setting: &'static str, reason: KeyError },
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: &'static str,
    },
    /// `CATALOGUE` refused: names the products at fault, never a value.
    #[error("CATALOGUE: {reason}")]
    Catalogue { reason: CatalogueError },
}

/// The OpenID provider's settings.
#[derive(Debug)]
pub(crate) struct ProviderConfig {
    /// `OIDC_PROVIDER_ISSUER`: used verbatim as `iss` and in discovery. No default.
    pub(crate) issuer: Issuer,
    /// `OIDC_PROVIDER_KID` + `OIDC_PROVIDER_KEY`: the signing key. No default.
    pub(crate) active: ProviderKey,
    /// `OIDC_PROVIDER_KID_PREVIOUS` + `OIDC_PROVIDER_KEY_PREVIOUS`: published, never used to sign. Default: none.
    pub(crate) previous: Option<ProviderKey>,
    /// `UPSTREAM_API_AUDIENCE`: `aud` of the JWTs minted for the upstream API. Default: none (minting off).
    pub(crate) upstream_audience: Option<Audience>,
}

/// Everything the worker reads from its environment.
#[derive(Debug)]
pub(crate) struct Config {
    /// `Ok(None)`: no key configured, provider endpoints are off (404).
    pub(crate) provider: Result<Option<ProviderConfig>, ConfigError>,
    /// `Ok(None)`: `AUTH_AUDIENCE` unset, `/.sts` answers 501 NotImplemented (fail closed).
    pub(crate) sts: Result<Option<StsConfig>, ConfigError>,
    /// `SESSION_TOKEN_KEY` (+ `SESSION_TOKEN_KEY_PREVIOUS`): seal and open session tokens.
    pub(crate) session_keys: Result<Option<SessionKeys>, ConfigError>,
    /// `CATALOGUE`: the embedded catalogue for the S3 read path (JSON). Default: none (no products).
    pub(crate) catalogue: Result<Option<Catalogue>, ConfigError>,
    /// `UPSTREAM_API_URL` (+ `UPSTREAM_API_AUDIENCE` and the provider's key): ask the upstream
    /// API instead of `CATALOGUE`. Default: none (the embedded catalogue answers).
    pub(crate) upstream: Result<Option<UpstreamConfig>, ConfigError>,
    /// `CLI_CLIENT_ID`, `CLI_ISSUER`, `CLI_SCOPES`, `CLI_PKCE`: the command-line client's
    /// configuration document. `Ok(None)`: `CLI_CLIENT_ID` unset, the document is 404.
    pub(crate) cli: Result<Option<CliClient>, ConfigError>,
    /// MAC keys for what the worker hands out or shares (listing tokens, shared-cache
    /// entries), derived from `SESSION_TOKEN_KEY`, else `OIDC_PROVIDER_KEY`. None: the
    /// deployment holds neither secret.
    pub(crate) derived_keys: Option<DerivedKeys>,
    /// `INSECURE_TEST_ROUTES=1`: serve `/.test/*` signing routes for the end-to-end suite.
    /// Honoured only while the issuer is a loopback URL, so never in a deployment, and only
    /// in builds with the `insecure-test-routes` feature (never the release bundle). Default: off.
    #[cfg(any(test, feature = "insecure-test-routes"))]
    pub(crate) insecure_test_routes: bool,
}

impl Config {
    pub(crate) fn from_settings(settings: &dyn Settings) -> Self {
        let provider = provider_config(settings);
        #[cfg(any(test, feature = "insecure-test-routes"))]
        let insecure_test_routes = matches!(&provider, Ok(Some(p)) if p.issuer.is_loopback())
            && settings.var("INSECURE_TEST_ROUTES").as_deref() == Some("1");
        let session_keys = session_keys(settings);
        let mut sts = sts_config(settings);
        if matches!((&sts, &session_keys), (Ok(Some(_)), Ok(None))) {
            sts = Err(ConfigError::Missing {
                setting: "SESSION_TOKEN_KEY",
                because: "AUTH_AUDIENCE",
            });
        }
        let catalogue = match settings.var("CATALOGUE") {
            None => Ok(None),
            Some(json) => Catalogue::parse(&json, &trusted_issuers(settings).unwrap_or_default())
                .map(Some)
                .map_err(|reason| ConfigError::Catalogue { reason }),
        };
        let upstream = upstream_config(settings, &provider);
        let cli = cli_client(settings, &sts);
        let derived_keys = settings
            .secret("SESSION_TOKEN_KEY")
            .or_else(|| settings.secret("OIDC_PROVIDER_KEY"))
            .map(|s| DerivedKeys::from_secret(s.expose_secret().trim().as_bytes()));
        Self {
            provider,
            sts,
            session_keys,
            catalogue,
            upstream,
            cli,
            derived_keys,
            #[cfg(any(test, feature = "insecure-test-routes"))]
            insecure_test_routes,
        }
    }

    /// Every configuration error, for logging once per isolate.
    pub(crate) fn errors(&self) -> Vec<&ConfigError> {
        let mut errors: Vec<&ConfigError> = self.provider.as_ref().err().into_iter().collect();
        errors.extend(self.sts.as_ref().err());
        errors.extend(self.session_keys.as_ref().err());
        errors.extend(self.catalogue.as_ref().err());
        errors.extend(self.upstream.as_ref().err());
        errors.extend(self.cli.as_ref().err());
        errors
    }
}

/// Longest session `STS_MAX_SESSION_DURATION_SECS` may allow (AWS's maximum).
const MAX_SESSION_DURATION_SECS: u32 = 43_200;

fn comma_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `AUTH_ISSUER`, each checked; the catalogue needs them even while the STS is broken.
fn trusted_issuers(s: &dyn Settings) -> Result<Vec<Issuer>, ConfigError> {
    let list = s.var("AUTH_ISSUER").unwrap_or_default();
    comma_list(&list)
        .map(|i| {
            Issuer::parse_trusted(i).map_err(|reason| ConfigError::BadUrl {
                setting: "AUTH_ISSUER",
                reason,
            })
        })
        .collect()
}

fn bad_audience() -> ConfigError {
    ConfigError::Invalid {
        setting: "AUTH_AUDIENCE",
        reason: "each audience must be 1 to 256 printable characters",
    }
}

fn audience_list<'a>(values: impl Iterator<Item = &'a str>) -> Result<Vec<Audience>, ConfigError> {
    values.map(|a| Audience::parse(a).ok_or_else(bad_audience)).collect()
}

/// `AUTH_AUDIENCE`: a comma-separated list (every trusted issuer may present any of them),
/// or a JSON object mapping each trusted issuer to the audiences it may present.
fn trust_policy(audience_setting: &str, issuers: Vec<Issuer>) -> Result<TrustPolicy, ConfigError> {
    let invalid = |reason| ConfigError::Invalid {
        setting: "AUTH_AUDIENCE",
        reason,
    };
    if !audience_setting.trim_start().starts_with('{') {
        let audiences = audience_list(comma_list(audience_setting))?;
        return Ok(TrustPolicy::same_audiences(issuers, audiences));
    }
    let map: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(audience_setting)
        .map_err(|_| invalid("must be a comma-separated list or a JSON object of issuer to audience list"))?;
    if map.keys().any(|k| !issuers.iter().any(|i| i.as_str() == k)) {
        return Err(invalid("names an issuer that is not in AUTH_ISSUER"));
    }
    let mut trusted = Vec::with_capacity(issuers.len());
    for issuer in issuers {
        let audiences = map
            .get(issuer.as_str())
            .ok_or_else(|| invalid("must name the audiences of every issuer in AUTH_ISSUER"))?;
        let audiences = audience_list(audiences.iter().map(String::as_str))?;
        if audiences.is_empty() {
            return Err(invalid("must give every issuer at least one audience"));
        }
        trusted.push(TrustedIssuer { issuer, audiences });
    }
    Ok(TrustPolicy { issuers: trusted })
}

fn sts_config(s: &dyn Settings) -> Result<Option<StsConfig>, ConfigError> {
    let Some(audience_setting) = s.var("AUTH_AUDIENCE").filter(|v| comma_list(v).next().is_some()) else {
        return Ok(None);
    };
    let issuers = trusted_issuers(s)?;
    if issuers.is_empty() {
        return Err(ConfigError::Missing {
            setting: "AUTH_ISSUER",
            because: "AUTH_AUDIENCE",
        });
    }
    let trust = trust_policy(&audience_setting, issuers)?;
    let max_duration_secs = match s.var("STS_MAX_SESSION_DURATION_SECS") {
        None => 3600,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (crate::sts::request::MIN_DURATION_SECS..=MAX_SESSION_DURATION_SECS).contains(d))
            .ok_or(ConfigError::Invalid {
                setting: "STS_MAX_SESSION_DURATION_SECS",
                reason: "must be a whole number of seconds from 900 to 43200",
            })?,
    };
    Ok(Some(StsConfig {
        trust,
        max_duration_secs,
    }))
}

fn upstream_config(
    s: &dyn Settings,
    provider: &Result<Option<ProviderConfig>, ConfigError>,
) -> Result<Option<UpstreamConfig>, ConfigError> {
    let Some(url) = s.var("UPSTREAM_API_URL") else {
        return Ok(None);
    };
    let Ok(Some(provider)) = provider else {
        return Err(ConfigError::Missing {
            setting: "OIDC_PROVIDER_KEY",
            because: "UPSTREAM_API_URL",
        });
    };
    let audience = provider.upstream_audience.clone().ok_or(ConfigError::Missing {
        setting: "UPSTREAM_API_AUDIENCE",
        because: "UPSTREAM_API_URL",
    })?;
    UpstreamConfig::new(url.trim(), audience)
        .map(Some)
        .map_err(|reason| ConfigError::BadUrl {
            setting: "UPSTREAM_API_URL",
            reason,
        })
}

/// The command-line client's settings: a public client of one issuer `/.sts` trusts, which
/// `/.sts` accepts as an audience from that issuer (else the CLI's ID tokens would be refused).
fn cli_client(
    s: &dyn Settings,
    sts: &Result<Option<StsConfig>, ConfigError>,
) -> Result<Option<CliClient>, ConfigError> {
    let Some(client_id) = s.var("CLI_CLIENT_ID") else {
        return Ok(None);
    };
    let invalid = |setting, reason| ConfigError::Invalid { setting, reason };
    let client_id = ClientId::parse(client_id.trim())
        .map_err(|_| invalid("CLI_CLIENT_ID", "must be 1 to 256 printable characters"))?;
    let Ok(Some(sts)) = sts else {
        return Err(ConfigError::Missing {
            setting: "AUTH_AUDIENCE",
            because: "CLI_CLIENT_ID",
        });
    };
    let trusted = match s.var("CLI_ISSUER") {
        Some(named) => sts
            .trust
            .issuers
            .iter()
            .find(|t| t.issuer.as_str() == named.trim())
            .ok_or(invalid("CLI_ISSUER", "must be one of the issuers in AUTH_ISSUER"))?,
        None => match sts.trust.issuers.as_slice() {
            [only] => only,
            _ => {
                return Err(invalid(
                    "CLI_ISSUER",
                    "must name the command-line client's issuer when AUTH_ISSUER trusts several",
                ))
            }
        },
    };
    if !trusted.audiences.iter().any(|a| a.as_str() == client_id.as_str()) {
        return Err(invalid(
            "CLI_CLIENT_ID",
            "must be an audience that AUTH_AUDIENCE accepts from the command-line client's issuer",
        ));
    }
    let scopes = Scopes::parse(s.var("CLI_SCOPES").as_deref().map_or(DEFAULT_SCOPES, str::trim))
        .ok()
        .filter(|sc| sc.contains("openid"))
        .ok_or(invalid(
            "CLI_SCOPES",
            "must be space-separated scopes that include openid",
        ))?;
    let pkce = match s.var("CLI_PKCE").as_deref().map(str::trim) {
        None | Some("1" | "true" | "on") => true,
        Some("0" | "false" | "off") => false,
        Some(_) => return Err(invalid("CLI_PKCE", "must be 1, true, on, 0, false or off")),
    };
    Ok(Some(CliClient {
        issuer: trusted.issuer.clone(),
        client_id,
        scopes,
        pkce,
    }))
}

fn session_keys(s: &dyn Settings) -> Result<Option<SessionKeys>, ConfigError> {
    let current = s.secret("SESSION_TOKEN_KEY");
    let previous = s.secret("SESSION_TOKEN_KEY_PREVIOUS");
    match (current, previous) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ConfigError::Missing {
            setting: "SESSION_TOKEN_KEY",
            because: "SESSION_TOKEN_KEY_PREVIOUS",
        }),
        (Some(current), previous) => {
            SessionKeys::new(current.expose_secret(), previous.as_ref().map(|p| p.expose_secret()))
                .map(Some)
                .map_err(|(setting, _)| ConfigError::Invalid {
                    setting,
                    reason: "must be base64 of exactly 32 bytes",
                })
        }
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
    let previous = key_pair(s, "OIDC_PROVIDER_KID_PREVIOUS", "OIDC_PROVIDER_KEY_PREVIOUS")?;
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

/// Settings from a list of pairs, for tests.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct MapSettings(pub(crate) std::collections::BTreeMap<String, String>);

#[cfg(test)]
impl MapSettings {
    pub(crate) fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }
}

#[cfg(test)]
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

    pub(crate) fn sts_settings() -> MapSettings {
        MapSettings::default()
            .with("AUTH_ISSUER", "https://idp.example, http://127.0.0.1:9999")
            .with("AUTH_AUDIENCE", "client-a,client-b")
            .with("SESSION_TOKEN_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    }

    #[test]
    fn sts_config_parses_lists_and_defaults() {
        let c = Config::from_settings(&sts_settings());
        let sts = c.sts.unwrap().unwrap();
        assert_eq!(sts.trust.issuers.len(), 2);
        assert!(sts.trust.issuers.iter().all(|i| i.audiences.len() == 2));
        assert_eq!(sts.max_duration_secs, 3600);
        assert!(c.session_keys.unwrap().is_some());
    }

    #[test]
    fn the_cli_client_is_off_until_its_client_id_is_set() {
        let c = Config::from_settings(&sts_settings());
        assert!(matches!(c.cli, Ok(None)));
    }

    #[test]
    fn the_cli_client_names_one_trusted_issuer_and_an_accepted_audience() {
        let one = sts_settings()
            .with("AUTH_ISSUER", "https://idp.example")
            .with("CLI_CLIENT_ID", "client-b");
        let cli = Config::from_settings(&one).cli.unwrap().unwrap();
        assert_eq!(
            (
                cli.issuer.as_str(),
                cli.client_id.as_str(),
                cli.scopes.as_str(),
                cli.pkce
            ),
            ("https://idp.example", "client-b", "openid offline_access", true)
        );
        let named = sts_settings()
            .with("CLI_CLIENT_ID", "client-a")
            .with("CLI_ISSUER", "http://127.0.0.1:9999")
            .with("CLI_SCOPES", "openid offline_access email")
            .with("CLI_PKCE", "false");
        let cli = Config::from_settings(&named).cli.unwrap().unwrap();
        assert_eq!(cli.issuer.as_str(), "http://127.0.0.1:9999");
        assert!(!cli.pkce && cli.scopes.contains("email"));
    }

    #[test]
    fn cli_client_mistakes_name_the_setting() {
        let base = sts_settings().with("CLI_CLIENT_ID", "client-a");
        let cases = [
            (
                base.clone(),
                "CLI_ISSUER: must name the command-line client's issuer when AUTH_ISSUER trusts several",
            ),
            (
                base.clone().with("CLI_ISSUER", "https://other.example"),
                "CLI_ISSUER: must be one of the issuers in AUTH_ISSUER",
            ),
            (
                base.clone()
                    .with("CLI_ISSUER", "https://idp.example")
                    .with("CLI_CLIENT_ID", "not-accepted"),
                "CLI_CLIENT_ID: must be an audience that AUTH_AUDIENCE accepts from the command-line client's issuer",
            ),
            (
                base.clone()
                    .with("CLI_ISSUER", "https://idp.example")
                    .with("CLI_SCOPES", "offline_access"),
                "CLI_SCOPES: must be space-separated scopes that include openid",
            ),
            (
                base.clone()
                    .with("CLI_ISSUER", "https://idp.example")
                    .with("CLI_PKCE", "maybe"),
                "CLI_PKCE: must be 1, true, on, 0, false or off",
            ),
            (
                MapSettings::default().with("CLI_CLIENT_ID", "osp"),
                "AUTH_AUDIENCE is required when CLI_CLIENT_ID is set",
            ),
        ];
        for (settings, want) in cases {
            let c = Config::from_settings(&settings);
            assert_eq!(c.cli.as_ref().unwrap_err().to_string(), want);
            assert!(
                c.errors().iter().any(|e| e.to_string() == want),
                "logged once with the rest"
            );
        }
        // Per-issuer audiences: the client id must be one of that issuer's.
        let per_issuer = r#"{"https://idp.example": ["web"], "http://127.0.0.1:9999": ["cli"]}"#;
        let s = sts_settings()
            .with("AUTH_AUDIENCE", per_issuer)
            .with("CLI_CLIENT_ID", "cli")
            .with("CLI_ISSUER", "https://idp.example");
        assert!(Config::from_settings(&s).cli.is_err());
        let s = s.with("CLI_ISSUER", "http://127.0.0.1:9999");
        assert!(Config::from_settings(&s).cli.unwrap().is_some());
    }

    #[test]
    fn audiences_may_be_given_per_issuer() {
        let per_issuer = r#"{"https://idp.example": ["web"], "http://127.0.0.1:9999": ["ci", "ci-2"]}"#;
        let sts = Config::from_settings(&sts_settings().with("AUTH_AUDIENCE", per_issuer))
            .sts
            .unwrap()
            .unwrap();
        let names = |i: usize| {
            let t = &sts.trust.issuers[i];
            let auds: Vec<&str> = t.audiences.iter().map(|a| a.as_str()).collect();
            (t.issuer.as_str().to_owned(), auds)
        };
        assert_eq!(names(0), ("https://idp.example".to_owned(), vec!["web"]));
        assert_eq!(names(1), ("http://127.0.0.1:9999".to_owned(), vec!["ci", "ci-2"]));
    }

    #[test]
    fn a_per_issuer_audience_map_must_match_auth_issuer_exactly() {
        for bad in [
            r#"{"https://idp.example": ["web"]}"#,
            r#"{"https://idp.example": ["web"], "http://127.0.0.1:9999": ["ci"], "https://other.example": ["x"]}"#,
            r#"{"https://idp.example": ["web"], "http://127.0.0.1:9999": []}"#,
            r#"{"https://idp.example": "web", "http://127.0.0.1:9999": ["ci"]}"#,
            r#"{"https://idp.example": [""], "http://127.0.0.1:9999": ["ci"]}"#,
            r#"{"https://idp.example/": ["web"], "http://127.0.0.1:9999": ["ci"]}"#,
            "{not json",
        ] {
            let err = Config::from_settings(&sts_settings().with("AUTH_AUDIENCE", bad))
                .sts
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        setting: "AUTH_AUDIENCE",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn sts_is_off_without_an_audience_and_broken_without_its_key_or_issuer() {
        let c = Config::from_settings(&sts_settings().with("AUTH_AUDIENCE", " , "));
        assert!(matches!(c.sts, Ok(None)));
        let c = Config::from_settings(&sts_settings().with("SESSION_TOKEN_KEY", ""));
        assert!(matches!(
            c.sts,
            Err(ConfigError::Missing {
                setting: "SESSION_TOKEN_KEY",
                ..
            })
        ));
        let c = Config::from_settings(&sts_settings().with("AUTH_ISSUER", ""));
        assert!(matches!(
            c.sts,
            Err(ConfigError::Missing {
                setting: "AUTH_ISSUER",
                ..
            })
        ));
        let c = Config::from_settings(&sts_settings().with("AUTH_ISSUER", "http://idp.example"));
        assert!(matches!(
            c.sts,
            Err(ConfigError::BadUrl {
                setting: "AUTH_ISSUER",
                ..
            })
        ));
        let c = Config::from_settings(&sts_settings().with("SESSION_TOKEN_KEY", "MARKER"));
        let text = c.session_keys.unwrap_err().to_string();
        assert!(text.starts_with("SESSION_TOKEN_KEY:") && !text.contains("MARKER"));
        for bad in ["899", "43201", "x"] {
            let c = Config::from_settings(&sts_settings().with("STS_MAX_SESSION_DURATION_SECS", bad));
            assert!(matches!(
                c.sts,
                Err(ConfigError::Invalid {
                    setting: "STS_MAX_SESSION_DURATION_SECS",
                    ..
                })
            ));
        }
    }

    #[test]
    fn overlapping_catalogue_products_are_a_configuration_error_naming_both() {
        let json = r#"{"accounts": {"demo": {"products": {
            "pub": {"visibility": "public", "backend": {"type": "r2", "prefix": "MARKER/"}},
            "all": {"visibility": "restricted", "backend": {"type": "r2", "prefix": ""}}}}}}"#;
        let c = Config::from_settings(&MapSettings::default().with("CATALOGUE", json));
        let text = c.catalogue.unwrap_err().to_string();
        assert!(text.starts_with("CATALOGUE: "), "{text}");
        assert!(text.contains("demo/pub") && text.contains("demo/all"), "{text}");
        assert!(!text.contains("MARKER"), "{text}");
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
