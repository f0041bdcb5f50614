//! The device authorization grant (RFC 8628): the device authorization request and
//! response (§3.1, §3.2), and when to poll the token endpoint (§3.4, §3.5).
//!
//! The poll itself is [`crate::oauth::token::token_request`] with
//! [`Grant::DeviceCode`](crate::oauth::token::Grant::DeviceCode); [`PollSchedule`] says when
//! to send it, and what each answer means for the next one.

use http::{Request, Response};
use serde::Deserialize;

use crate::oauth::client::{Client, Scopes};
use crate::oauth::error::{json_answer, EndpointError, ErrorCode};
use crate::oauth::metadata::Endpoint;
use crate::oauth::pkce::CodeChallenge;
use crate::oauth::token::MAX_TOKEN_LEN;

/// RFC 8628 §3.2: the polling interval when the server names none.
pub(crate) const DEFAULT_INTERVAL_SECS: u64 = 5;
/// RFC 8628 §3.5: what `slow_down` adds to the interval, for this and every later poll.
pub(crate) const SLOW_DOWN_SECS: u64 = 5;
/// The interval never grows past this by backing off after failures (it may start higher,
/// if the server says so).
pub(crate) const MAX_BACKOFF_INTERVAL_SECS: u64 = 60;
/// Longest user code accepted (RFC 8628 §6.1 advises short ones).
pub(crate) const MAX_USER_CODE_LEN: usize = 64;

super::secret_string! {
    /// RFC 8628 §3.2 `device_code`: what the client polls with. A person never sees it.
    DeviceCode
}

/// The device authorization request (RFC 8628 §3.1): the client (authenticated as for the
/// token endpoint), the scopes, and the PKCE challenge when PKCE is on (RFC 8628 does not
/// define it; providers that enforce PKCE on every grant, Keycloak among them, want it).
pub(crate) fn device_authorization_request(
    endpoint: &Endpoint,
    client: &Client,
    scopes: &Scopes,
    code_challenge: Option<&CodeChallenge>,
) -> Request<Vec<u8>> {
    let mut params = vec![("scope", scopes.as_str())];
    if let Some(c) = code_challenge {
        params.push(("code_challenge", c.as_str()));
        params.push(("code_challenge_method", c.method().as_str()));
    }
    client.form_post(endpoint, &params)
}

/// RFC 8628 §3.2: what the person is asked to do, and what the client polls with.
#[derive(Debug)]
pub(crate) struct DeviceAuthorization {
    pub(crate) device_code: DeviceCode,
    /// The code the person types in (printable ASCII, at most [`MAX_USER_CODE_LEN`]).
    pub(crate) user_code: String,
    /// Where the person goes (https, or http on loopback).
    pub(crate) verification_uri: String,
    /// The same with the user code in it, for a link or a QR code.
    pub(crate) verification_uri_complete: Option<String>,
    /// Lifetime of the device and user codes, in seconds (more than 0).
    pub(crate) expires_in: u64,
    /// Seconds between polls: the server's, else [`DEFAULT_INTERVAL_SECS`]; at least 1.
    pub(crate) interval: u64,
}

/// Parses the device authorization response.
pub(crate) fn device_authorization_response(res: &Response<Vec<u8>>) -> Result<DeviceAuthorization, EndpointError> {
    #[derive(Deserialize)]
    struct Body {
        device_code: DeviceCode,
        user_code: String,
        // Google's device endpoint says verification_url.
        #[serde(alias = "verification_url")]
        verification_uri: String,
        verification_uri_complete: Option<String>,
        expires_in: u64,
        interval: Option<u64>,
    }
    let malformed = |reason| EndpointError::Malformed { reason };
    // RFC 8628 §3.2: device_code, user_code, verification_uri and expires_in are REQUIRED.
    let body: Body = json_answer(res)?;
    if !super::is_vschar_text(body.device_code.expose_secret(), MAX_TOKEN_LEN) {
        return Err(malformed("a device_code that is empty or not printable"));
    }
    if !super::is_vschar_text(&body.user_code, MAX_USER_CODE_LEN) {
        return Err(malformed("a user_code that is empty, too long or not printable"));
    }
    // A URI shown to a person and perhaps opened: the same rule as every endpoint.
    if super::check_url(&body.verification_uri).is_err() {
        return Err(malformed("a verification_uri that is not an https URL"));
    }
    if let Some(complete) = &body.verification_uri_complete {
        if super::check_url(complete).is_err() {
            return Err(malformed("a verification_uri_complete that is not an https URL"));
        }
    }
    if body.expires_in == 0 {
        return Err(malformed("an expires_in of 0"));
    }
    Ok(DeviceAuthorization {
        device_code: body.device_code,
        user_code: body.user_code,
        verification_uri: body.verification_uri,
        verification_uri_complete: body.verification_uri_complete,
        expires_in: body.expires_in,
        // An interval of 0 would be a busy loop: at least a second.
        interval: body.interval.unwrap_or(DEFAULT_INTERVAL_SECS).max(1),
    })
}

/// When to poll next, or why not to (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollStep {
    /// Send the next token request at this time (seconds since the epoch), not before.
    PollAt(u64),
    /// The device code has expired (by the clock, or the server said `expired_token`):
    /// start again with a new device authorization.
    Expired,
    /// The answer ends the flow (`access_denied`, another refusal, a malformed answer):
    /// report the error.
    Stop,
}

/// The polling schedule of one device authorization: pure, driven by the caller's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PollSchedule {
    interval: u64,
    next_at: u64,
    expires_at: u64,
}

impl PollSchedule {
    /// RFC 8628 §3.5: the first poll waits one interval after the device authorization
    /// response (received at `now`); the codes expire `expires_in` after it.
    pub(crate) fn start(authorization: &DeviceAuthorization, now: u64) -> Self {
        let interval = authorization.interval.max(1);
        Self {
            interval,
            next_at: now.saturating_add(interval),
            expires_at: now.saturating_add(authorization.expires_in),
        }
    }

    /// The current interval, in seconds.
    pub(crate) fn interval_secs(&self) -> u64 {
        self.interval
    }

    /// The next poll, unless the codes expire first.
    pub(crate) fn next(&self) -> PollStep {
        if self.next_at >= self.expires_at {
            PollStep::Expired
        } else {
            PollStep::PollAt(self.next_at)
        }
    }

    /// What a poll's error (received at `now`) means for the next poll.
    pub(crate) fn after_error(&mut self, error: &EndpointError, now: u64) -> PollStep {
        match error {
            // §3.5 authorization_pending: poll again after the interval.
            EndpointError::Refused {
                error: ErrorCode::AuthorizationPending,
                ..
            } => {}
            // §3.5 slow_down: the interval grows by 5 seconds, for this and every later poll.
            EndpointError::Refused {
                error: ErrorCode::SlowDown,
                ..
            } => self.interval = self.interval.saturating_add(SLOW_DOWN_SECS),
            // §3.5 expired_token: the device code is gone.
            EndpointError::Refused {
                error: ErrorCode::ExpiredToken,
                ..
            } => return PollStep::Expired,
            // §3.5: after a connection timeout, poll less often (doubling, as the RFC
            // suggests); a server error or a non-answer is treated the same.
            e if e.is_transient() => {
                self.interval = self
                    .interval
                    .saturating_mul(2)
                    .min(MAX_BACKOFF_INTERVAL_SECS)
                    .max(self.interval);
            }
            // §3.5 access_denied, and any other error: the flow ends.
            _ => return PollStep::Stop,
        }
        self.next_at = now.saturating_add(self.interval);
        self.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::ClientId;
    use crate::oauth::error::tests::answer;
    use crate::oauth::pkce::CodeVerifier;
    use crate::platform::{CountingRandom, FetchError};

    fn endpoint() -> Endpoint {
        Endpoint::parse("https://idp.example/device").unwrap()
    }

    #[test]
    fn the_request_carries_client_scope_and_the_pkce_challenge() {
        let client = Client::public(ClientId::parse("cli").unwrap());
        let scopes = Scopes::parse("openid offline_access").unwrap();
        let challenge = CodeVerifier::generate(&CountingRandom::default()).challenge();
        let req = device_authorization_request(&endpoint(), &client, &scopes, Some(&challenge));
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.headers()["content-type"], "application/x-www-form-urlencoded");
        let body: Vec<(String, String)> = form_urlencoded::parse(req.body()).into_owned().collect();
        let want: Vec<(String, String)> = [
            ("client_id", "cli"),
            ("scope", "openid offline_access"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(body, want);
        let req = device_authorization_request(&endpoint(), &client, &scopes, None);
        assert!(!String::from_utf8_lossy(req.body()).contains("code_challenge"));
    }

    const FULL: &str = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT",
        "verification_uri":"https://example.com/device",
        "verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT",
        "expires_in":1800,"interval":5}"#;

    #[test]
    fn the_rfc8628_example_response_parses() {
        let d = device_authorization_response(&answer(200, FULL)).unwrap();
        assert_eq!(
            d.device_code.expose_secret(),
            "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
        );
        assert_eq!(d.user_code, "WDJB-MJHT");
        assert_eq!(d.verification_uri, "https://example.com/device");
        assert_eq!(
            d.verification_uri_complete.as_deref(),
            Some("https://example.com/device?user_code=WDJB-MJHT")
        );
        assert_eq!((d.expires_in, d.interval), (1800, 5));
        assert!(!format!("{d:?}").contains("GmRhmhcx"), "the device code is redacted");
    }

    #[test]
    fn the_interval_defaults_to_5_and_is_at_least_1() {
        let body = r#"{"device_code":"d","user_code":"U","verification_uri":"https://e.example/d","expires_in":600}"#;
        assert_eq!(device_authorization_response(&answer(200, body)).unwrap().interval, 5);
        let zero = body.replace("600}", "600,\"interval\":0}");
        assert_eq!(device_authorization_response(&answer(200, &zero)).unwrap().interval, 1);
        let google = body.replace("verification_uri", "verification_url");
        assert!(device_authorization_response(&answer(200, &google)).is_ok());
    }

    #[test]
    fn responses_missing_or_breaking_fields_are_malformed() {
        let base: serde_json::Value = serde_json::from_str(FULL).unwrap();
        let edits: Vec<(&str, serde_json::Value)> = vec![
            ("device_code", serde_json::Value::Null),
            ("user_code", serde_json::Value::Null),
            ("verification_uri", serde_json::Value::Null),
            ("expires_in", serde_json::Value::Null),
            ("device_code", "".into()),
            ("user_code", "".into()),
            ("user_code", "X".repeat(65).into()),
            ("user_code", "AB\nCD".into()),
            ("verification_uri", "http://example.com/device".into()),
            ("verification_uri", "javascript:alert(1)".into()),
            ("verification_uri_complete", "http://example.com/device?u=1".into()),
            ("expires_in", 0.into()),
            ("expires_in", "1800".into()),
            ("interval", (-1).into()),
        ];
        for (field, value) in edits {
            let mut doc = base.clone();
            if value.is_null() {
                doc.as_object_mut().unwrap().remove(field);
            } else {
                doc[field] = value.clone();
            }
            let got = device_authorization_response(&answer(200, &doc.to_string()));
            assert!(matches!(got, Err(EndpointError::Malformed { .. })), "{field} = {value}");
        }
    }

    #[test]
    fn errors_of_the_device_endpoint_are_refusals_or_transient() {
        let err = device_authorization_response(&answer(400, r#"{"error":"invalid_client"}"#)).unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::InvalidClient));
        assert!(device_authorization_response(&answer(503, "down"))
            .unwrap_err()
            .is_transient());
    }

    fn authorization(expires_in: u64, interval: u64) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: DeviceCode::new("d".into()),
            user_code: "U".into(),
            verification_uri: "https://e.example/d".into(),
            verification_uri_complete: None,
            expires_in,
            interval,
        }
    }

    fn refused(error: ErrorCode) -> EndpointError {
        EndpointError::Refused {
            error,
            description: None,
            uri: None,
        }
    }

    #[test]
    fn the_first_poll_waits_one_interval_and_pending_keeps_the_pace() {
        let mut s = PollSchedule::start(&authorization(600, 5), 1_000);
        assert_eq!(s.next(), PollStep::PollAt(1_005));
        assert_eq!(
            s.after_error(&refused(ErrorCode::AuthorizationPending), 1_006),
            PollStep::PollAt(1_011)
        );
        assert_eq!(s.interval_secs(), 5);
    }

    #[test]
    fn slow_down_adds_five_seconds_for_every_later_poll() {
        let mut s = PollSchedule::start(&authorization(600, 5), 1_000);
        assert_eq!(
            s.after_error(&refused(ErrorCode::SlowDown), 1_005),
            PollStep::PollAt(1_015)
        );
        assert_eq!(
            s.after_error(&refused(ErrorCode::AuthorizationPending), 1_015),
            PollStep::PollAt(1_025)
        );
        assert_eq!(
            s.after_error(&refused(ErrorCode::SlowDown), 1_025),
            PollStep::PollAt(1_040)
        );
        assert_eq!(s.interval_secs(), 15);
    }

    #[test]
    fn transient_failures_back_off_by_doubling_up_to_a_bound() {
        let mut s = PollSchedule::start(&authorization(10_000, 5), 0);
        let timeout = EndpointError::from(FetchError::Timeout);
        assert_eq!(s.after_error(&timeout, 5), PollStep::PollAt(15));
        assert_eq!(
            s.after_error(&EndpointError::Transient { status: 503 }, 15),
            PollStep::PollAt(35)
        );
        for _ in 0..10 {
            s.after_error(&timeout, 100);
        }
        assert_eq!(s.interval_secs(), MAX_BACKOFF_INTERVAL_SECS);
        // A server that asks for more than the bound keeps its interval.
        let mut slow = PollSchedule::start(&authorization(10_000, 100), 0);
        slow.after_error(&timeout, 100);
        assert_eq!(slow.interval_secs(), 100);
    }

    #[test]
    fn the_schedule_ends_at_expiry_or_on_a_final_answer() {
        let mut s = PollSchedule::start(&authorization(12, 5), 1_000);
        assert_eq!(
            s.after_error(&refused(ErrorCode::AuthorizationPending), 1_005),
            PollStep::PollAt(1_010)
        );
        assert_eq!(
            s.after_error(&refused(ErrorCode::AuthorizationPending), 1_010),
            PollStep::Expired
        );
        let mut s = PollSchedule::start(&authorization(600, 5), 1_000);
        assert_eq!(
            s.after_error(&refused(ErrorCode::ExpiredToken), 1_005),
            PollStep::Expired
        );
        for error in [
            refused(ErrorCode::AccessDenied),
            refused(ErrorCode::InvalidGrant),
            refused(ErrorCode::Other("x".into())),
            EndpointError::Malformed { reason: "x" },
        ] {
            let mut s = PollSchedule::start(&authorization(600, 5), 1_000);
            assert_eq!(s.after_error(&error, 1_005), PollStep::Stop, "{error:?}");
        }
        // A code that expires before the first interval is over is never polled.
        assert_eq!(PollSchedule::start(&authorization(3, 5), 0).next(), PollStep::Expired);
    }
}
