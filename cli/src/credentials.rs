//! `osp credentials`: S3 credentials for a tool, never interactive. Cached STS credentials
//! while they have a few minutes left; else the ID token exchanged at the deployment's
//! `/.sts`, refreshed first (the refresh token rotated and saved at once) when it is about
//! to expire; when only a new interactive login would help, a clear error and
//! [`crate::error::EXIT_LOGIN_REQUIRED`], never a browser.

use oidc_sts_proxy::oauth::client::Client;
use oidc_sts_proxy::oauth::error::{EndpointError, ErrorCode};
use oidc_sts_proxy::oauth::metadata::{metadata_request, metadata_response, ProviderMetadata};
use oidc_sts_proxy::oauth::token::{token_request, token_response, Grant};
use oidc_sts_proxy::sts::client::{exchange_request, exchange_response, ExchangeError, StsCredentials};

use crate::claims::UnverifiedClaims;
use crate::context::Context;
use crate::error::CliError;
use crate::settings::{Checked, Settings};
use crate::store::{ProfileLock, Secrets, Store};

/// Cached credentials are handed out while they have more than this left (5 minutes:
/// AWS SDKs refresh `credential_process` credentials a few minutes before `Expiration`).
pub const CREDENTIALS_MARGIN_SECS: u64 = 300;
/// An ID token is refreshed when it has less than this left.
pub const ID_TOKEN_MARGIN_SECS: u64 = 60;

/// The provider's metadata (OIDC Discovery), fetched.
pub fn provider_metadata(ctx: &Context<'_>, checked: &Checked) -> Result<ProviderMetadata, CliError> {
    let res = ctx
        .http
        .send(metadata_request(&checked.issuer))
        .map_err(|reason| CliError::Network {
            what: format!(
                "fetching the identity provider's metadata from {}",
                checked.issuer.as_str()
            ),
            reason,
        })?;
    Ok(metadata_response(&checked.issuer, &res)?)
}

/// The profile's settings and its store, or the error that says to log in.
pub fn open_profile<'c>(ctx: &'c Context<'_>, profile: &str) -> Result<(Settings, Store<'c>), CliError> {
    let settings = Settings::load(&ctx.paths, profile)?
        .ok_or_else(|| CliError::login_required(format!("profile {profile} is not signed in"), profile))?;
    let store = Store::new(ctx.keyring, &ctx.paths, profile, settings.token_store);
    Ok((settings, store))
}

/// Fresh credentials for `profile`, and its settings.
pub fn credentials(ctx: &Context<'_>, profile: &str) -> Result<(StsCredentials, Settings), CliError> {
    let _lock = ProfileLock::acquire(&ctx.paths, profile)?;
    let (settings, store) = open_profile(ctx, profile)?;
    let checked = settings.check()?;
    let (mut secrets, _) = store
        .load()?
        .ok_or_else(|| CliError::login_required(format!("profile {profile} is not signed in"), profile))?;
    let now = ctx.clock.now();
    if let Some(c) = secrets.credentials.take() {
        if c.expiration > now + CREDENTIALS_MARGIN_SECS {
            return Ok((c, settings));
        }
    }
    let mut refreshed = false;
    if id_token_expiry(&secrets) <= now + ID_TOKEN_MARGIN_SECS {
        refresh(ctx, profile, &checked, &store, &mut secrets)?;
        refreshed = true;
    }
    let credentials = match exchange(ctx, &checked, &secrets) {
        // The deployment's clock says the token has expired although ours did not: refresh
        // once and try again.
        Err(ExchangeError::Refused { code, .. }) if code == "ExpiredTokenException" && !refreshed => {
            refresh(ctx, profile, &checked, &store, &mut secrets)?;
            exchange(ctx, &checked, &secrets)
        }
        other => other,
    }
    .map_err(CliError::sts)?;
    secrets.credentials = Some(credentials);
    store.save(&secrets)?;
    let credentials = secrets
        .credentials
        .take()
        .ok_or_else(|| CliError::Store("lost the credentials".into()))?;
    Ok((credentials, settings))
}

fn id_token_expiry(secrets: &Secrets) -> u64 {
    UnverifiedClaims::read(secrets.id_token.expose_secret()).map_or(0, |c| c.exp)
}

/// RFC 6749 §6 refresh: a new ID token, and a rotated refresh token saved before anything
/// else happens (the old one is spent).
fn refresh(
    ctx: &Context<'_>,
    profile: &str,
    checked: &Checked,
    store: &Store<'_>,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    let Some(refresh_token) = secrets.refresh_token.as_ref() else {
        return Err(CliError::login_required(
            "the ID token has expired and there is no refresh token",
            profile,
        ));
    };
    let provider = provider_metadata(ctx, checked)?;
    let client = Client::public(checked.client_id.clone());
    let grant = Grant::RefreshToken {
        refresh_token,
        scopes: None,
    };
    let answer = ctx
        .http
        .send(token_request(&provider.token_endpoint, &client, &grant))
        .map_err(EndpointError::from)
        .and_then(|res| token_response(&res));
    let tokens = match answer {
        Ok(t) => t,
        // The grant is gone (expired, revoked, or a reused rotated token): only a new login
        // helps; the dead tokens go.
        Err(EndpointError::Refused {
            error: ErrorCode::InvalidGrant,
            description,
            ..
        }) => {
            store.delete()?;
            return Err(CliError::login_required(
                format!(
                    "the identity provider no longer accepts the saved sign-in ({})",
                    crate::error::refusal(&ErrorCode::InvalidGrant, description.as_deref())
                ),
                profile,
            ));
        }
        Err(e) => return Err(CliError::endpoint("refreshing the sign-in", e)),
    };
    let id_token = tokens
        .id_token
        .ok_or_else(|| CliError::login_required("the identity provider's refresh answer has no ID token", profile))?;
    // OpenID Connect Core §12.2: the same issuer and audience (no nonce on refresh).
    UnverifiedClaims::read(id_token.expose_secret())
        .and_then(|c| c.check(checked.issuer.as_str(), checked.client_id.as_str(), None))
        .map_err(|e| CliError::OAuth {
            what: "refreshing the sign-in".into(),
            detail: e.to_string(),
        })?;
    secrets.id_token = id_token;
    // RFC 6749 §6: a new refresh token replaces the old; none sent, the old one stays.
    if let Some(rotated) = tokens.refresh_token {
        secrets.refresh_token = Some(rotated);
    }
    secrets.credentials = None;
    store.save(secrets)?;
    Ok(())
}

fn exchange(ctx: &Context<'_>, checked: &Checked, secrets: &Secrets) -> Result<StsCredentials, ExchangeError> {
    let subject = UnverifiedClaims::read(secrets.id_token.expose_secret()).map_or_else(|_| "osp".to_owned(), |c| c.sub);
    let req = exchange_request(
        checked.sts_endpoint.uri(),
        secrets.id_token.expose_secret(),
        &subject,
        None,
    );
    let res = ctx.http.send(req).map_err(|e| ExchangeError::Malformed {
        reason: match e {
            oidc_sts_proxy::platform::FetchError::Timeout => "no answer (timed out)",
            oidc_sts_proxy::platform::FetchError::TooLarge => "an answer too large",
            oidc_sts_proxy::platform::FetchError::Network => "no answer (the deployment could not be reached)",
        },
    })?;
    exchange_response(&res)
}

/// How `osp credentials` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The AWS `credential_process` JSON (Version 1).
    Process,
    /// `export` lines for a POSIX shell (`eval "$(osp credentials --format env)"`), with
    /// the endpoint and region.
    Env,
    /// JSON with STS's field names, the endpoint and the region.
    Json,
}

/// The text `osp credentials` prints.
pub fn render(format: Format, c: &StsCredentials, settings: &Settings) -> String {
    let expiration = oidc_sts_proxy::time::rfc3339(c.expiration);
    match format {
        Format::Process => serde_json::json!({
            "Version": 1,
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key.expose_secret(),
            "SessionToken": c.session_token.expose_secret(),
            "Expiration": expiration,
        })
        .to_string(),
        Format::Json => serde_json::json!({
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key.expose_secret(),
            "SessionToken": c.session_token.expose_secret(),
            "Expiration": expiration,
            "EndpointUrl": settings.s3_endpoint,
            "Region": settings.region,
        })
        .to_string(),
        Format::Env => [
            ("AWS_ACCESS_KEY_ID", c.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.expose_secret()),
            ("AWS_SESSION_TOKEN", c.session_token.expose_secret()),
            ("AWS_CREDENTIAL_EXPIRATION", &expiration),
            ("AWS_ENDPOINT_URL", &settings.s3_endpoint),
            ("AWS_REGION", &settings.region),
            ("AWS_DEFAULT_REGION", &settings.region),
        ]
        .iter()
        .map(|(k, v)| format!("export {k}={}", shell_quote(v)))
        .collect::<Vec<_>>()
        .join("\n"),
    }
}

/// A POSIX shell word: single-quoted, `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::unsigned_jwt;
    use crate::http::fake::Scripted;
    use crate::settings::TokenStoreChoice;
    use crate::testutil::{TestContext, ISSUER, T0};
    use oidc_sts_proxy::oauth::token::{IdToken, RefreshToken};

    const STS: &str = "https://data.example/.sts";

    fn settings() -> Settings {
        Settings {
            url: Some("https://data.example".into()),
            issuer: ISSUER.into(),
            client_id: "osp".into(),
            scopes: "openid offline_access".into(),
            pkce: true,
            sts_endpoint: STS.into(),
            s3_endpoint: "https://data.example".into(),
            region: "us-east-1".into(),
            token_store: TokenStoreChoice::Auto,
        }
    }

    fn id_token(exp: u64) -> String {
        unsigned_jwt(&serde_json::json!({"iss": ISSUER, "sub": "alice", "aud": "osp", "exp": exp}))
    }

    fn signed_in(t: &TestContext<'_>, id_exp: u64, refresh: Option<&str>) {
        let paths = t.paths();
        settings().save(&paths, "default").unwrap();
        Store::new(&t.keyring, &paths, "default", TokenStoreChoice::Auto)
            .save(&Secrets {
                id_token: IdToken::new(id_token(id_exp)),
                refresh_token: refresh.map(|r| RefreshToken::new(r.into())),
                credentials: None,
            })
            .unwrap();
    }

    fn saved(t: &TestContext<'_>) -> Option<Secrets> {
        Store::new(&t.keyring, &t.paths(), "default", TokenStoreChoice::Auto)
            .load()
            .unwrap()
            .map(|(s, _)| s)
    }

    fn sts_answer(key: &str, expires: u64) -> String {
        format!(
            r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>alice</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>MARKER-SESSION</SessionToken>
      <SecretAccessKey>MARKER-SECRET</SecretAccessKey>
      <Expiration>{}</Expiration>
      <AccessKeyId>{key}</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#,
            oidc_sts_proxy::time::rfc3339(expires)
        )
    }

    fn discovery() -> serde_json::Value {
        serde_json::json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://idp.example/realms/r1/auth",
            "token_endpoint": "https://idp.example/realms/r1/token",
            "jwks_uri": "https://idp.example/realms/r1/certs"
        })
    }

    fn form_value(http: &Scripted, i: usize, name: &str) -> Option<String> {
        http.form(i).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    #[test]
    fn a_valid_id_token_is_exchanged_and_the_credentials_are_cached() {
        let http = Scripted::default().text(200, &sts_answer("ASIAAAAAAAAAAAAAAAA1", T0 + 3600));
        let t = TestContext::new(&http);
        signed_in(&t, T0 + 600, Some("rt-1"));
        let (c, _) = credentials(&t.context(), "default").unwrap();
        assert_eq!(c.access_key_id, "ASIAAAAAAAAAAAAAAAA1");
        assert_eq!(http.uri(0), STS);
        assert_eq!(form_value(&http, 0, "WebIdentityToken"), Some(id_token(T0 + 600)));
        assert_eq!(form_value(&http, 0, "RoleSessionName").as_deref(), Some("alice"));
        // Cached: no request the second time, until 5 minutes before they expire.
        let (again, _) = credentials(&t.context(), "default").unwrap();
        assert_eq!(again.access_key_id, "ASIAAAAAAAAAAAAAAAA1");
        assert_eq!(http.sent.borrow().len(), 1);
    }

    #[test]
    fn credentials_about_to_expire_are_replaced() {
        let http = Scripted::default()
            .text(200, &sts_answer("ASIAAAAAAAAAAAAAAAA1", T0 + 900))
            .text(200, &sts_answer("ASIAAAAAAAAAAAAAAAA2", T0 + 4000));
        let t = TestContext::new(&http);
        signed_in(&t, T0 + 3600, None);
        credentials(&t.context(), "default").unwrap();
        t.clock.advance(900 - CREDENTIALS_MARGIN_SECS);
        let (c, _) = credentials(&t.context(), "default").unwrap();
        assert_eq!(c.access_key_id, "ASIAAAAAAAAAAAAAAAA2");
    }

    #[test]
    fn a_near_expiry_id_token_is_refreshed_and_the_rotated_refresh_token_saved() {
        let new_id = id_token(T0 + 300);
        let http = Scripted::default()
            .json(200, discovery())
            .json(
                200,
                serde_json::json!({"access_token": "at", "token_type": "Bearer", "id_token": new_id, "refresh_token": "rt-2"}),
            )
            .text(200, &sts_answer("ASIAAAAAAAAAAAAAAAA1", T0 + 3600));
        let t = TestContext::new(&http);
        signed_in(&t, T0 + 30, Some("rt-1"));
        credentials(&t.context(), "default").unwrap();
        assert_eq!(http.uri(1), "https://idp.example/realms/r1/token");
        assert_eq!(form_value(&http, 1, "grant_type").as_deref(), Some("refresh_token"));
        assert_eq!(form_value(&http, 1, "refresh_token").as_deref(), Some("rt-1"));
        assert_eq!(form_value(&http, 2, "WebIdentityToken"), Some(new_id.clone()));
        let s = saved(&t).unwrap();
        assert_eq!(s.refresh_token.unwrap().expose_secret(), "rt-2");
        assert_eq!(s.id_token.expose_secret(), new_id);
    }

    #[test]
    fn a_refused_refresh_token_fails_fast_asks_for_a_login_and_forgets_the_tokens() {
        let http = Scripted::default().json(200, discovery()).json(
            400,
            serde_json::json!({"error": "invalid_grant", "error_description": "grant request is invalid"}),
        );
        let t = TestContext::new(&http);
        signed_in(&t, T0 - 10, Some("rt-1"));
        let err = credentials(&t.context(), "default").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_LOGIN_REQUIRED);
        let text = err.to_string();
        assert!(
            text.contains("invalid_grant") && text.ends_with("run `osp login`"),
            "{text}"
        );
        assert!(saved(&t).is_none());
        assert!(t.messages().is_empty(), "nothing interactive: {:?}", t.messages());
    }

    #[test]
    fn an_expired_id_token_without_a_refresh_token_asks_for_a_login_without_any_request() {
        let http = Scripted::default();
        let t = TestContext::new(&http);
        signed_in(&t, T0 - 10, None);
        let err = credentials(&t.context(), "default").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_LOGIN_REQUIRED);
        assert!(http.sent.borrow().is_empty());
    }

    #[test]
    fn an_unreachable_provider_keeps_the_tokens_and_is_not_a_login_error() {
        let http = Scripted::default()
            .json(200, discovery())
            .then(|_| Err(oidc_sts_proxy::platform::FetchError::Timeout));
        let t = TestContext::new(&http);
        signed_in(&t, T0 - 10, Some("rt-1"));
        let err = credentials(&t.context(), "default").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_FAILURE);
        assert!(err.to_string().contains("could not be reached"), "{err}");
        assert_eq!(saved(&t).unwrap().refresh_token.unwrap().expose_secret(), "rt-1");
    }

    #[test]
    fn not_signed_in_is_a_login_error() {
        let http = Scripted::default();
        let t = TestContext::new(&http);
        let err = credentials(&t.context(), "work").unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile work is not signed in; run `osp login --profile work`"
        );
    }

    #[test]
    fn an_sts_refusal_is_named_with_its_code() {
        let http = Scripted::default().text(
            400,
            "<ErrorResponse><Error><Type>Sender</Type><Code>IDPRejectedClaim</Code><Message>audience</Message></Error></ErrorResponse>",
        );
        let t = TestContext::new(&http);
        signed_in(&t, T0 + 600, Some("rt"));
        let err = credentials(&t.context(), "default").unwrap_err().to_string();
        assert!(err.contains("IDPRejectedClaim") && err.contains("client id"), "{err}");
    }

    #[test]
    fn the_three_formats() {
        let c = StsCredentials {
            access_key_id: "ASIAAAAAAAAAAAAAAAA1".into(),
            secret_access_key: oidc_sts_proxy::secret::SecretString::new("se'cret".into()),
            session_token: oidc_sts_proxy::secret::SecretString::new("tok".into()),
            expiration: T0,
            subject: "alice".into(),
        };
        let process: serde_json::Value = serde_json::from_str(&render(Format::Process, &c, &settings())).unwrap();
        assert_eq!(
            process,
            serde_json::json!({"Version": 1, "AccessKeyId": "ASIAAAAAAAAAAAAAAAA1", "SecretAccessKey": "se'cret",
                               "SessionToken": "tok", "Expiration": "2026-11-23T10:00:00Z"})
        );
        let env = render(Format::Env, &c, &settings());
        assert!(env.contains("export AWS_SECRET_ACCESS_KEY='se'\\''cret'\n"), "{env}");
        assert!(env.contains("export AWS_ENDPOINT_URL='https://data.example'"), "{env}");
        let json: serde_json::Value = serde_json::from_str(&render(Format::Json, &c, &settings())).unwrap();
        assert_eq!(json["Region"], "us-east-1");
        assert_eq!(json["SessionToken"], "tok");
    }
}
