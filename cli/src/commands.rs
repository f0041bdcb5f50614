//! The commands: each takes the context and the profile, writes its answer to `out`, and
//! what the person should read to the context's messages (stderr).

use std::io::Write;
use std::time::Duration;

use oidc_sts_proxy::client_configuration::{configuration_request, configuration_response, ClientConfiguration};
use oidc_sts_proxy::oauth::client::Client;
use oidc_sts_proxy::oauth::error::EndpointError;
use oidc_sts_proxy::oauth::revoke::{revocation_request, revocation_response};

use crate::args::{CredentialsArgs, LoginArgs};
use crate::claims::UnverifiedClaims;
use crate::context::Context;
use crate::credentials::{open_profile, provider_metadata, render};
use crate::error::{profile_flag, CliError};
use crate::settings::{file_profile, known_profiles, Overrides, Settings};
use crate::store::{ProfileLock, Store};

/// The deployment's client-configuration document.
pub fn discover(ctx: &Context<'_>, url: &str) -> Result<ClientConfiguration, CliError> {
    let req = configuration_request(url)?;
    let res = ctx.http.send(req).map_err(|reason| CliError::Network {
        what: format!("fetching the client configuration of {url}"),
        reason,
    })?;
    Ok(configuration_response(&res)?)
}

pub fn login(ctx: &Context<'_>, profile: &str, args: &LoginArgs) -> Result<(), CliError> {
    let file = file_profile(&ctx.paths.config_file, profile)?;
    let previous = Settings::load(&ctx.paths, profile).ok().flatten();
    let url = args
        .url
        .clone()
        .or_else(|| file.url.clone())
        .or_else(|| previous.as_ref().and_then(|p| p.url.clone()));
    let document = url.as_deref().map(|u| discover(ctx, u)).transpose()?;
    let overrides = Overrides {
        url,
        issuer: args.issuer.clone(),
        client_id: args.client_id.clone(),
        scopes: args.scopes.clone(),
        no_pkce: args.no_pkce,
        sts_endpoint: args.sts_endpoint.clone(),
        s3_endpoint: args.s3_endpoint.clone(),
        region: args.region.clone(),
        token_store: args.token_store,
    };
    let settings = Settings::resolve(&overrides, &file, document.as_ref())?;
    let checked = settings.check()?;
    let provider = provider_metadata(ctx, &checked)?;
    let flow = crate::login::choose(args.device, args.no_browser, ctx.browser_available, &provider);
    if flow == crate::login::Flow::Device && !args.device {
        ctx.say("No browser can be shown here: signing in with a device code (--device).");
    }
    let (secrets, claims) = crate::login::run(
        ctx,
        &settings,
        &checked,
        &provider,
        flow,
        Duration::from_secs(args.timeout),
    )?;
    let location = {
        let _lock = ProfileLock::acquire(&ctx.paths, profile)?;
        let location = Store::new(ctx.keyring, &ctx.paths, profile, settings.token_store).save(&secrets)?;
        settings.save(&ctx.paths, profile)?;
        location
    };
    ctx.say(&format!(
        "Signed in as {} at {} (profile {profile}); tokens kept in {location}.\nNext: `osp configure-aws{}` writes the AWS profile, or `osp credentials{}` prints credentials.",
        claims.who(),
        checked.issuer.as_str(),
        profile_flag(profile),
        profile_flag(profile),
    ));
    Ok(())
}

pub fn credentials(
    ctx: &Context<'_>,
    profile: &str,
    args: &CredentialsArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (c, settings) = crate::credentials::credentials(ctx, profile)?;
    writeln!(out, "{}", render(args.format, &c, &settings)).map_err(|e| CliError::io("writing the credentials", e))
}

pub fn configure_aws(ctx: &Context<'_>, profile: &str, exe: &std::path::Path) -> Result<(), CliError> {
    let settings = Settings::load(&ctx.paths, profile)?
        .ok_or_else(|| CliError::login_required(format!("profile {profile} has no settings yet"), profile))?;
    let section = crate::aws_config::section_name(profile);
    let lines = crate::aws_config::owned_lines(
        &crate::aws_config::credential_process(exe, profile),
        &settings.s3_endpoint,
        &settings.region,
    );
    crate::aws_config::write(&ctx.paths.aws_config, &section, &lines)?;
    let aws_flag = if profile == "default" {
        String::new()
    } else {
        format!(" --profile {profile}")
    };
    ctx.say(&format!(
        "Wrote [{section}] to {}: try `aws s3 ls{aws_flag}`, or boto3.Session(profile_name=\"{profile}\").",
        ctx.paths.aws_config.display()
    ));
    Ok(())
}

pub fn status(ctx: &Context<'_>, only: Option<&str>, out: &mut dyn Write) -> Result<(), CliError> {
    let profiles = match only {
        Some(p) => vec![p.to_owned()],
        None => known_profiles(&ctx.paths),
    };
    let mut text = String::new();
    if profiles.is_empty() {
        text.push_str("No profile is signed in: run `osp login https://<deployment>`.\n");
    }
    let now = ctx.clock.now();
    let when = |t: u64| {
        let at = oidc_sts_proxy::time::rfc3339(t);
        if t > now {
            format!("until {at} ({} left)", span(t - now))
        } else {
            format!("expired at {at}")
        }
    };
    for profile in profiles {
        let Some(settings) = Settings::load(&ctx.paths, &profile)? else {
            text.push_str(&format!("{profile}: not signed in\n"));
            continue;
        };
        let store = Store::new(ctx.keyring, &ctx.paths, &profile, settings.token_store);
        let loaded = match store.load() {
            Ok(l) => l,
            Err(e) => {
                text.push_str(&format!("{profile}: {e}\n"));
                continue;
            }
        };
        let Some((secrets, location)) = loaded else {
            text.push_str(&format!(
                "{profile}: signed out (identity provider {}); run `osp login{}`\n",
                settings.issuer,
                profile_flag(&profile)
            ));
            continue;
        };
        let claims = UnverifiedClaims::read(secrets.id_token.expose_secret()).ok();
        text.push_str(&format!(
            "{profile}: signed in as {}\n",
            claims.as_ref().map_or("(an unreadable ID token)".into(), |c| c.who())
        ));
        text.push_str(&format!(
            "  identity provider  {} (client {}, PKCE {})\n",
            settings.issuer,
            settings.client_id,
            if settings.pkce { "on" } else { "off" }
        ));
        if let Some(c) = &claims {
            text.push_str(&format!("  ID token           {}\n", when(c.exp)));
        }
        text.push_str(&format!(
            "  refresh token      {}\n",
            if secrets.refresh_token.is_some() {
                "yes: `osp credentials` renews the ID token without asking"
            } else {
                "none: a new `osp login` is needed when the ID token expires"
            }
        ));
        match &secrets.credentials {
            Some(c) => text.push_str(&format!(
                "  S3 credentials     {} {}\n",
                c.access_key_id,
                when(c.expiration)
            )),
            None => text.push_str("  S3 credentials     none cached\n"),
        }
        text.push_str(&format!(
            "  deployment         {} (STS {}, region {})\n",
            settings.s3_endpoint, settings.sts_endpoint, settings.region
        ));
        text.push_str(&format!("  tokens kept in     {location}\n"));
    }
    out.write_all(text.as_bytes())
        .map_err(|e| CliError::io("writing the status", e))
}

fn span(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

pub fn logout(ctx: &Context<'_>, profile: &str) -> Result<(), CliError> {
    let _lock = ProfileLock::acquire(&ctx.paths, profile)?;
    let (settings, store) = match open_profile(ctx, profile) {
        Ok(p) => p,
        Err(CliError::LoginRequired { .. }) => {
            ctx.say(&format!("Profile {profile} is not signed in."));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let secrets = store.load()?;
    let mut revoked = "no refresh token to revoke";
    if let Some(refresh_token) = secrets.as_ref().and_then(|(s, _)| s.refresh_token.as_ref()) {
        // RFC 7009, when the provider advertises a revocation endpoint; the local tokens go
        // whatever it answers.
        revoked = match settings
            .check()
            .and_then(|checked| Ok((provider_metadata(ctx, &checked)?, checked)))
        {
            Ok((provider, checked)) => match &provider.revocation_endpoint {
                Some(endpoint) => {
                    let client = Client::public(checked.client_id.clone());
                    let answer = ctx
                        .http
                        .send(revocation_request(endpoint, &client, refresh_token))
                        .map_err(EndpointError::from)
                        .and_then(|res| revocation_response(&res));
                    match answer {
                        Ok(()) => "the refresh token is revoked at the identity provider",
                        Err(e) => {
                            ctx.say(&format!(
                                "warning: {}",
                                CliError::endpoint("revoking the refresh token", e)
                            ));
                            "the identity provider did not confirm the revocation"
                        }
                    }
                }
                None => "the identity provider offers no revocation endpoint; the refresh token lives on there until it expires",
            },
            Err(e) => {
                ctx.say(&format!("warning: {e}"));
                "the refresh token could not be revoked"
            }
        };
    }
    store.delete()?;
    ctx.say(&format!(
        "Signed out of profile {profile}: local tokens and cached S3 credentials deleted; {revoked}."
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::unsigned_jwt;
    use crate::http::fake::Scripted;
    use crate::settings::TokenStoreChoice;
    use crate::store::Secrets;
    use crate::testutil::{TestContext, ISSUER, T0};
    use oidc_sts_proxy::oauth::token::{IdToken, RefreshToken};

    fn document() -> serde_json::Value {
        serde_json::json!({
            "issuer": ISSUER, "client_id": "osp", "scopes": "openid offline_access", "pkce": true,
            "sts_endpoint": "https://data.example/.sts", "s3_endpoint": "https://data.example", "region": "us-east-1"
        })
    }

    fn discovery() -> serde_json::Value {
        serde_json::json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://idp.example/realms/r1/auth",
            "token_endpoint": "https://idp.example/realms/r1/token",
            "jwks_uri": "https://idp.example/realms/r1/certs",
            "device_authorization_endpoint": "https://idp.example/realms/r1/device",
            "revocation_endpoint": "https://idp.example/realms/r1/revoke"
        })
    }

    fn login_args(url: &str) -> LoginArgs {
        LoginArgs {
            url: Some(url.into()),
            device: true,
            no_browser: false,
            no_pkce: false,
            timeout: 10,
            issuer: None,
            client_id: None,
            scopes: None,
            sts_endpoint: None,
            s3_endpoint: None,
            region: None,
            token_store: None,
        }
    }

    fn id_token() -> String {
        unsigned_jwt(
            &serde_json::json!({"iss": ISSUER, "sub": "alice", "aud": "osp", "exp": T0 + 300, "email": "alice@example.org"}),
        )
    }

    #[test]
    fn login_with_only_the_url_discovers_everything_and_keeps_tokens_private() {
        let http = Scripted::default()
            .json(200, document())
            .json(200, discovery())
            .json(
                200,
                serde_json::json!({"device_code": "dc", "user_code": "U-1", "verification_uri": "https://idp.example/d",
                                   "expires_in": 60, "interval": 1}),
            )
            .json(
                200,
                serde_json::json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token(), "refresh_token": "MARKER-RT"}),
            );
        let t = TestContext::new(&http);
        let ctx = t.context();
        login(&ctx, "default", &login_args("https://data.example")).unwrap();
        assert_eq!(http.uri(0), "https://data.example/.well-known/oidc-sts-proxy-client");
        assert_eq!(
            http.uri(1),
            "https://idp.example/realms/r1/.well-known/openid-configuration"
        );
        let saved = Settings::load(&t.paths(), "default").unwrap().unwrap();
        assert_eq!(saved.sts_endpoint, "https://data.example/.sts");
        let said = t.messages().join("\n");
        assert!(said.contains("Signed in as alice (alice@example.org)"), "{said}");
        assert!(!said.contains("MARKER"), "{said}");
        let mut out = Vec::new();
        status(&ctx, None, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("default: signed in as alice"), "{out}");
        assert!(
            out.contains("refresh token      yes") && !out.contains("MARKER"),
            "{out}"
        );
    }

    #[test]
    fn logout_revokes_the_refresh_token_and_deletes_the_local_tokens() {
        let http = Scripted::default().json(200, discovery()).text(200, "");
        let t = TestContext::new(&http);
        let ctx = t.context();
        let settings = Settings {
            url: None,
            issuer: ISSUER.into(),
            client_id: "osp".into(),
            scopes: "openid".into(),
            pkce: true,
            sts_endpoint: "https://data.example/.sts".into(),
            s3_endpoint: "https://data.example".into(),
            region: "us-east-1".into(),
            token_store: TokenStoreChoice::Auto,
        };
        settings.save(&t.paths(), "p").unwrap();
        let store = Store::new(&t.keyring, &t.paths(), "p", TokenStoreChoice::Auto);
        store
            .save(&Secrets {
                id_token: IdToken::new(id_token()),
                refresh_token: Some(RefreshToken::new("rt-9".into())),
                credentials: None,
            })
            .unwrap();
        logout(&ctx, "p").unwrap();
        assert_eq!(http.uri(1), "https://idp.example/realms/r1/revoke");
        let form = http.form(1);
        assert!(form.contains(&("token".into(), "rt-9".into())));
        assert!(form.contains(&("token_type_hint".into(), "refresh_token".into())));
        assert!(store.load().unwrap().is_none());
        assert!(t.messages()[0].contains("revoked"), "{:?}", t.messages());
        // A second logout has nothing to do.
        logout(&ctx, "p").unwrap();
        let mut out = Vec::new();
        status(&ctx, Some("p"), &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("p: signed out"));
    }

    #[test]
    fn a_deployment_without_the_cli_says_so() {
        let http = Scripted::default().text(404, "");
        let t = TestContext::new(&http);
        let err = login(&t.context(), "default", &login_args("https://data.example"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("publishes no client configuration"), "{err}");
    }

    #[test]
    fn configure_aws_needs_a_login_first_then_writes_the_profile() {
        let http = Scripted::default();
        let t = TestContext::new(&http);
        let ctx = t.context();
        let err = configure_aws(&ctx, "work", std::path::Path::new("/usr/bin/osp")).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_LOGIN_REQUIRED);
        let s: Settings = serde_json::from_value(serde_json::json!({
            "url": null, "issuer": ISSUER, "client_id": "osp", "scopes": "openid", "pkce": true,
            "sts_endpoint": "https://data.example/.sts", "s3_endpoint": "https://data.example",
            "region": "eu-west-1", "token_store": "auto"
        }))
        .unwrap();
        s.save(&t.paths(), "work").unwrap();
        configure_aws(&ctx, "work", std::path::Path::new("/usr/bin/osp")).unwrap();
        let text = std::fs::read_to_string(&t.paths().aws_config).unwrap();
        assert!(text.starts_with("[profile work]\ncredential_process = /usr/bin/osp credentials --profile work --format process\nendpoint_url = https://data.example\nregion = eu-west-1\n"), "{text}");
    }
}
