//! The device authorization grant (RFC 8628) with PKCE: the challenge on the device
//! authorization request, the verifier on every poll (as providers that enforce PKCE on
//! every grant, Keycloak among them, want), polling at the server's interval and slower
//! after each `slow_down` (the core's [`PollSchedule`]).

use std::time::{Duration, Instant};

use oidc_sts_proxy::oauth::client::{Client, Scopes};
use oidc_sts_proxy::oauth::device::{
    device_authorization_request, device_authorization_response, PollSchedule, PollStep,
};
use oidc_sts_proxy::oauth::error::EndpointError;
use oidc_sts_proxy::oauth::metadata::ProviderMetadata;
use oidc_sts_proxy::oauth::pkce::CodeVerifier;
use oidc_sts_proxy::oauth::token::{token_request, token_response, Grant, TokenResponse};

use crate::context::Context;
use crate::error::CliError;
use crate::progress::Spinner;

pub fn run(
    ctx: &Context<'_>,
    provider: &ProviderMetadata,
    client: &Client,
    scopes: &Scopes,
    pkce: bool,
) -> Result<TokenResponse, CliError> {
    let endpoint = provider.device_authorization_endpoint.as_ref().ok_or_else(|| {
        CliError::Login("the identity provider offers no device flow (no device_authorization_endpoint)".into())
    })?;
    let verifier = pkce.then(|| CodeVerifier::generate(ctx.random));
    let challenge = verifier.as_ref().map(CodeVerifier::challenge);
    // RFC 8628 §3.1, with the PKCE challenge.
    let req = device_authorization_request(endpoint, client, scopes, challenge.as_ref());
    let authorization = ctx
        .http
        .send(req)
        .map_err(EndpointError::from)
        .and_then(|res| device_authorization_response(&res))
        .map_err(|e| CliError::endpoint("starting the device sign-in", e))?;
    let now = ctx.clock.now();

    // RFC 8628 §3.3: the user code and where to enter it; the complete URI when given.
    let mut message = format!(
        "To sign in, open {} in a browser (on any device) and enter the code\n\n    {}\n",
        authorization.verification_uri, authorization.user_code
    );
    if let Some(complete) = &authorization.verification_uri_complete {
        message.push_str(&format!("\nor open {complete}\n"));
    }
    ctx.say(&message);

    let mut schedule = PollSchedule::start(&authorization, now);
    let _spinner = Spinner::start(
        "Waiting for the sign-in on the other device",
        Instant::now() + Duration::from_secs(authorization.expires_in),
    );
    loop {
        match schedule.next() {
            PollStep::PollAt(at) => ctx.clock.sleep_until(at),
            PollStep::Expired => return Err(expired()),
            // `next` never says Stop (only `after_error` does).
            PollStep::Stop => return Err(CliError::Login("the device sign-in stopped".into())),
        }
        // RFC 8628 §3.4, with the verifier.
        let grant = Grant::DeviceCode {
            device_code: &authorization.device_code,
            code_verifier: verifier.as_ref(),
        };
        let req = token_request(&provider.token_endpoint, client, &grant);
        let answer = ctx
            .http
            .send(req)
            .map_err(EndpointError::from)
            .and_then(|res| token_response(&res));
        let error = match answer {
            Ok(tokens) => return Ok(tokens),
            Err(e) => e,
        };
        // RFC 8628 §3.5: pending, slow_down (the interval grows), expired, or the end.
        match schedule.after_error(&error, ctx.clock.now()) {
            PollStep::PollAt(_) => {}
            PollStep::Expired => return Err(expired()),
            PollStep::Stop => return Err(CliError::endpoint("signing in with the device code", error)),
        }
    }
}

fn expired() -> CliError {
    CliError::Login("the code expired before the sign-in was completed; run `osp login` again".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fake::Scripted;
    use crate::testutil::{metadata, TestContext};
    use oidc_sts_proxy::oauth::client::ClientId;

    fn authorization(interval: Option<u64>) -> serde_json::Value {
        let mut a = serde_json::json!({
            "device_code": "MARKER-DC", "user_code": "ABCD-EFGH",
            "verification_uri": "https://idp.example/device",
            "verification_uri_complete": "https://idp.example/device?user_code=ABCD-EFGH",
            "expires_in": 600
        });
        if let Some(i) = interval {
            a["interval"] = i.into();
        }
        a
    }

    fn error(code: &str) -> serde_json::Value {
        serde_json::json!({ "error": code })
    }

    fn tokens() -> serde_json::Value {
        serde_json::json!({"access_token": "at", "token_type": "Bearer", "id_token": "a.b.c", "refresh_token": "rt"})
    }

    fn client() -> Client {
        Client::public(ClientId::parse("osp").unwrap())
    }

    fn scopes() -> Scopes {
        Scopes::parse("openid offline_access").unwrap()
    }

    fn get(form: &[(String, String)], name: &str) -> Option<String> {
        form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_challenge_goes_with_the_authorization_and_the_verifier_with_every_poll() {
        let http = Scripted::default()
            .json(200, authorization(Some(3)))
            .json(400, error("authorization_pending"))
            .json(200, tokens());
        let t = TestContext::new(&http);
        let got = run(&t.context(), &metadata(|_| {}), &client(), &scopes(), true).unwrap();
        assert_eq!(got.refresh_token.unwrap().expose_secret(), "rt");

        let auth = http.form(0);
        assert_eq!(http.uri(0), "https://idp.example/realms/r1/device");
        assert_eq!(get(&auth, "code_challenge_method").as_deref(), Some("S256"));
        let challenge = get(&auth, "code_challenge").unwrap();
        for poll in [1, 2] {
            let form = http.form(poll);
            assert_eq!(
                get(&form, "grant_type").as_deref(),
                Some("urn:ietf:params:oauth:grant-type:device_code")
            );
            assert_eq!(get(&form, "device_code").as_deref(), Some("MARKER-DC"));
            let verifier = get(&form, "code_verifier").unwrap();
            assert_eq!(CodeVerifier::parse(&verifier).unwrap().challenge().as_str(), challenge);
        }
        let said = t.messages().join("\n");
        assert!(
            said.contains("https://idp.example/device") && said.contains("ABCD-EFGH"),
            "{said}"
        );
        assert!(
            said.contains("https://idp.example/device?user_code=ABCD-EFGH"),
            "{said}"
        );
        assert!(!said.contains("MARKER-DC"), "the device code is never shown");
    }

    #[test]
    fn polls_wait_the_servers_interval_and_five_more_seconds_after_each_slow_down() {
        let http = Scripted::default()
            .json(200, authorization(Some(3)))
            .json(400, error("authorization_pending"))
            .json(400, error("slow_down"))
            .json(400, error("authorization_pending"))
            .json(400, error("slow_down"))
            .json(200, tokens());
        let t = TestContext::new(&http);
        run(&t.context(), &metadata(|_| {}), &client(), &scopes(), true).unwrap();
        // Polls at +3, +6, then +8 s after slow_down (3 + 5), +8, then +13 s.
        assert_eq!(t.clock.sleeps(), vec![3, 6, 14, 22, 35]);
    }

    #[test]
    fn without_an_interval_the_default_of_five_seconds_is_used() {
        let http = Scripted::default().json(200, authorization(None)).json(200, tokens());
        let t = TestContext::new(&http);
        run(&t.context(), &metadata(|_| {}), &client(), &scopes(), true).unwrap();
        assert_eq!(t.clock.sleeps(), vec![5]);
    }

    #[test]
    fn without_pkce_neither_challenge_nor_verifier_is_sent() {
        let http = Scripted::default()
            .json(200, authorization(Some(1)))
            .json(200, tokens());
        let t = TestContext::new(&http);
        run(&t.context(), &metadata(|_| {}), &client(), &scopes(), false).unwrap();
        assert!(get(&http.form(0), "code_challenge").is_none());
        assert!(get(&http.form(1), "code_verifier").is_none());
    }

    #[test]
    fn refusals_end_the_flow_with_their_meaning() {
        for (code, words) in [
            ("access_denied", "refused or cancelled"),
            ("expired_token", "expired"),
            ("invalid_grant", "refused the grant"),
        ] {
            let http = Scripted::default()
                .json(200, authorization(Some(1)))
                .json(400, error(code));
            let t = TestContext::new(&http);
            let err = run(&t.context(), &metadata(|_| {}), &client(), &scopes(), true)
                .unwrap_err()
                .to_string();
            assert!(err.contains(words), "{code}: {err}");
        }
        let http = Scripted::default().json(400, error("unauthorized_client"));
        let t = TestContext::new(&http);
        let err = run(&t.context(), &metadata(|_| {}), &client(), &scopes(), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("starting the device sign-in") && err.contains("unauthorized_client"),
            "{err}"
        );
    }

    #[test]
    fn an_unreachable_provider_is_retried_more_slowly_and_the_code_expires_in_the_end() {
        let mut auth = authorization(Some(5));
        auth["expires_in"] = 30.into();
        let http = Scripted::default()
            .json(200, auth)
            .then(|_| Err(oidc_sts_proxy::platform::FetchError::Network))
            .then(|_| Err(oidc_sts_proxy::platform::FetchError::Timeout));
        let t = TestContext::new(&http);
        let err = run(&t.context(), &metadata(|_| {}), &client(), &scopes(), true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("code expired"), "{err}");
        // +5, then doubled to 10 (at 15), then 20 would pass the expiry at 30.
        assert_eq!(t.clock.sleeps(), vec![5, 15]);
    }

    #[test]
    fn a_provider_without_a_device_endpoint_is_told() {
        let http = Scripted::default();
        let t = TestContext::new(&http);
        let m = metadata(|d| {
            d.as_object_mut().unwrap().remove("device_authorization_endpoint");
        });
        let err = run(&t.context(), &m, &client(), &scopes(), true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no device flow"), "{err}");
    }
}
