//! `osp login`: the authorization code flow on a loopback redirect (RFC 8252) or the device
//! authorization grant (RFC 8628), both with PKCE (RFC 7636) unless switched off, then the
//! ID token's client-side checks and the tokens saved.

pub mod device;
pub mod loopback;

use std::time::Duration;

use oidc_sts_proxy::oauth::client::Client;
use oidc_sts_proxy::oauth::metadata::ProviderMetadata;
use oidc_sts_proxy::oauth::token::TokenResponse;

use crate::claims::UnverifiedClaims;
use crate::context::Context;
use crate::error::CliError;
use crate::settings::{Checked, Settings};
use crate::store::Secrets;

/// How the person signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Loopback redirect; the browser opened on the URL when `open_browser`.
    Browser { open_browser: bool },
    /// Device authorization grant.
    Device,
}

/// Chooses the flow: `--device`; else the browser, opened unless `--no-browser`; with no
/// browser to open (no display, an SSH session) and no `--no-browser`, the device flow when
/// the provider offers it.
pub fn choose(device: bool, no_browser: bool, browser_available: bool, provider: &ProviderMetadata) -> Flow {
    if device {
        Flow::Device
    } else if no_browser {
        Flow::Browser { open_browser: false }
    } else if !browser_available && provider.device_authorization_endpoint.is_some() {
        Flow::Device
    } else {
        Flow::Browser {
            open_browser: browser_available,
        }
    }
}

/// Runs the flow and checks what it brings: an ID token for this client from this issuer
/// (and this sign-in's nonce, in the code flow).
pub fn run(
    ctx: &Context<'_>,
    settings: &Settings,
    checked: &Checked,
    provider: &ProviderMetadata,
    flow: Flow,
    timeout: Duration,
) -> Result<(Secrets, UnverifiedClaims), CliError> {
    let client = Client::public(checked.client_id.clone());
    if !settings.pkce {
        ctx.say(
            "warning: PKCE is off (--no-pkce or pkce = false): use this only for an identity provider that refuses PKCE parameters",
        );
    } else if provider.code_challenge_methods_supported.is_some() && !provider.advertises_s256() {
        ctx.say("note: the identity provider does not list S256 among its PKCE methods; if it refuses the sign-in, try --no-pkce");
    }
    let (tokens, nonce) = match flow {
        Flow::Device => {
            if flow == Flow::Device && provider.device_authorization_endpoint.is_none() {
                return Err(CliError::Login(
                    "the identity provider offers no device flow (no device_authorization_endpoint): sign in with the browser (without --device)"
                        .into(),
                ));
            }
            (
                device::run(ctx, provider, &client, &checked.scopes, settings.pkce)?,
                None,
            )
        }
        Flow::Browser { open_browser } => {
            let (tokens, nonce) = loopback::run(
                ctx,
                provider,
                &client,
                &checked.scopes,
                settings.pkce,
                open_browser,
                timeout,
            )?;
            (tokens, Some(nonce))
        }
    };
    accept(ctx, checked, tokens, nonce.as_ref().map(|n| n.as_str()))
}

/// OpenID Connect Core §3.1.3.7 as a client applies it to a token it got from the token
/// endpoint itself (the signature is the deployment's `/.sts` to verify).
pub fn accept(
    ctx: &Context<'_>,
    checked: &Checked,
    tokens: TokenResponse,
    nonce: Option<&str>,
) -> Result<(Secrets, UnverifiedClaims), CliError> {
    let id_token = tokens.id_token.ok_or_else(|| {
        CliError::Login("the identity provider sent no ID token (is `openid` among the scopes?)".into())
    })?;
    let claims = UnverifiedClaims::read(id_token.expose_secret()).map_err(|e| CliError::Login(e.to_string()))?;
    claims
        .check(checked.issuer.as_str(), checked.client_id.as_str(), nonce)
        .map_err(|e| CliError::Login(e.to_string()))?;
    if tokens.refresh_token.is_none() {
        ctx.say(&format!(
            "note: the identity provider sent no refresh token (is `offline_access` among the scopes?): a new `osp login` is needed when the ID token expires, at {}",
            oidc_sts_proxy::time::rfc3339(claims.exp)
        ));
    }
    Ok((
        Secrets {
            id_token,
            refresh_token: tokens.refresh_token,
            credentials: None,
        },
        claims,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::metadata;

    #[test]
    fn the_flow_follows_the_flags_and_the_display() {
        let with_device = metadata(|_| {});
        let without = metadata(|d| {
            d.as_object_mut().unwrap().remove("device_authorization_endpoint");
        });
        assert_eq!(choose(true, false, true, &with_device), Flow::Device);
        assert_eq!(
            choose(false, true, false, &with_device),
            Flow::Browser { open_browser: false }
        );
        assert_eq!(
            choose(false, false, true, &with_device),
            Flow::Browser { open_browser: true }
        );
        assert_eq!(choose(false, false, false, &with_device), Flow::Device, "no display");
        assert_eq!(
            choose(false, false, false, &without),
            Flow::Browser { open_browser: false },
            "no display and no device flow: print the URL"
        );
    }
}
