//! What the authorization server says went wrong, and how a back-channel answer fails.
//!
//! [`ErrorCode`] is every `error` value this client knows, from the authorization response
//! (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6), the token endpoint (RFC 6749 §5.2), the
//! device flow (RFC 8628 §3.5) and revocation (RFC 7009 §2.2.1); the wire strings are read
//! and written here only. [`EndpointError`] is how a token, device authorization or
//! revocation request failed, keeping a refusal (`invalid_grant`: the grant is gone) apart
//! from a transient failure (try again later, keep the session).

use http::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::platform::FetchError;
use crate::sts::idp_keys::MAX_DOCUMENT_BYTES;

/// Declares [`ErrorCode`] with its wire strings, once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)*) => {
        /// An OAuth `error` value. Codes this client does not know are kept as text.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code not listed here (an extension), as the server sent it.
            Other(String),
        }

        impl ErrorCode {
            /// The wire string: the only place it is written.
            pub(crate) fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(code) => code,
                }
            }

            /// RFC 6749 §5.2 / §4.1.2.1: `error = 1*NQSCHAR`
            /// (`%x20-21 / %x23-5B / %x5D-7E`); anything else is not a code.
            pub(crate) fn parse(value: &str) -> Option<Self> {
                let nqschar = |b: u8| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e);
                if value.is_empty() || value.len() > MAX_CODE_LEN || !value.bytes().all(nqschar) {
                    return None;
                }
                Some(match value {
                    $($wire => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                })
            }
        }
    };
}

/// Longest `error` value accepted.
const MAX_CODE_LEN: usize = 128;

error_codes! {
    /// RFC 6749 §4.1.2.1, §5.2.
    InvalidRequest => "invalid_request",
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient => "invalid_client",
    /// RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or reused.
    InvalidGrant => "invalid_grant",
    /// RFC 6749 §4.1.2.1, §5.2.
    UnauthorizedClient => "unauthorized_client",
    /// RFC 6749 §5.2.
    UnsupportedGrantType => "unsupported_grant_type",
    /// RFC 6749 §4.1.2.1, §5.2.
    InvalidScope => "invalid_scope",
    /// RFC 6749 §4.1.2.1; RFC 8628 §3.5: the person said no.
    AccessDenied => "access_denied",
    /// RFC 6749 §4.1.2.1.
    UnsupportedResponseType => "unsupported_response_type",
    /// RFC 6749 §4.1.2.1.
    ServerError => "server_error",
    /// RFC 6749 §4.1.2.1.
    TemporarilyUnavailable => "temporarily_unavailable",
    /// RFC 8628 §3.5: keep polling.
    AuthorizationPending => "authorization_pending",
    /// RFC 8628 §3.5: keep polling, 5 seconds slower.
    SlowDown => "slow_down",
    /// RFC 8628 §3.5: the device code expired; start again.
    ExpiredToken => "expired_token",
    /// RFC 7009 §2.2.1.
    UnsupportedTokenType => "unsupported_token_type",
    /// OpenID Connect Core §3.1.2.6.
    InteractionRequired => "interaction_required",
    /// OpenID Connect Core §3.1.2.6.
    LoginRequired => "login_required",
    /// OpenID Connect Core §3.1.2.6.
    AccountSelectionRequired => "account_selection_required",
    /// OpenID Connect Core §3.1.2.6.
    ConsentRequired => "consent_required",
    /// OpenID Connect Core §3.1.2.6.
    InvalidRequestUri => "invalid_request_uri",
    /// OpenID Connect Core §3.1.2.6.
    InvalidRequestObject => "invalid_request_object",
    /// OpenID Connect Core §3.1.2.6.
    RequestNotSupported => "request_not_supported",
    /// OpenID Connect Core §3.1.2.6.
    RequestUriNotSupported => "request_uri_not_supported",
    /// OpenID Connect Core §3.1.2.6.
    RegistrationNotSupported => "registration_not_supported",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token, device authorization or revocation request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EndpointError {
    /// RFC 6749 §5.2: the server understood and refused. `description` and `uri` are the
    /// server's words, made printable, for a person or a log, never for a decision.
    #[error("the authorization server refused the request ({error})")]
    Refused {
        error: ErrorCode,
        description: Option<String>,
        uri: Option<String>,
    },
    /// A 5xx or 429 answer, or one that is not JSON at all (a proxy's error page): nothing
    /// was decided about the grant, so a careful client tries again later.
    #[error("the authorization server is unavailable (HTTP {status})")]
    Transient { status: u16 },
    /// No answer at all.
    #[error("the authorization server could not be reached")]
    Unreachable {
        #[source]
        reason: FetchError,
    },
    /// JSON, but not what the specification says the answer holds.
    #[error("the authorization server's answer is malformed: {reason}")]
    Malformed { reason: &'static str },
}

impl EndpointError {
    /// Would the same request, later, possibly succeed? True for [`EndpointError::Transient`]
    /// and [`EndpointError::Unreachable`]; a refusal or a malformed answer is not retried.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. } | Self::Unreachable { .. })
    }

    /// The server's error code, for a refusal.
    pub(crate) fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Refused { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<FetchError> for EndpointError {
    fn from(reason: FetchError) -> Self {
        Self::Unreachable { reason }
    }
}

/// A 200 answer's JSON body as `T` (RFC 6749 §5.1); any other answer as the error it is.
pub(crate) fn json_answer<T: DeserializeOwned>(res: &Response<Vec<u8>>) -> Result<T, EndpointError> {
    if res.status() != StatusCode::OK {
        return Err(failure(res));
    }
    check_json(res)?;
    // A field given twice, or of the wrong type, is refused (serde), not resolved.
    serde_json::from_slice(res.body()).map_err(|_| EndpointError::Malformed {
        reason: "a success answer without the fields it must have",
    })
}

/// What a non-success answer means: RFC 6749 §5.2's error object, or a transient failure.
pub(crate) fn failure(res: &Response<Vec<u8>>) -> EndpointError {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        error_description: Option<String>,
        error_uri: Option<String>,
    }
    // A server error or rate limit decides nothing about the grant, whatever the body says.
    if res.status().is_server_error() || res.status() == StatusCode::TOO_MANY_REQUESTS {
        return EndpointError::Transient {
            status: res.status().as_u16(),
        };
    }
    if let Err(e) = check_json(res) {
        return e;
    }
    let Ok(body) = serde_json::from_slice::<ErrorBody>(res.body()) else {
        return EndpointError::Malformed {
            reason: "an error answer without an error code",
        };
    };
    let Some(error) = ErrorCode::parse(&body.error) else {
        return EndpointError::Malformed {
            reason: "an error code with characters RFC 6749 does not allow",
        };
    };
    EndpointError::Refused {
        error,
        description: body.error_description.as_deref().map(super::display_text),
        uri: body.error_uri.as_deref().and_then(error_uri),
    }
}

/// RFC 6749 §4.1.2.1, §5.2 `error_uri`: a page for a person to read, kept only when it is a
/// URL one may open (https, or http on loopback).
pub(crate) fn error_uri(value: &str) -> Option<String> {
    super::check_url(value).is_ok().then(|| value.to_owned())
}

/// The body is a bounded JSON object, or the answer came from something other than the
/// authorization server's endpoint (an HTML error page, a truncated body): transient.
fn check_json(res: &Response<Vec<u8>>) -> Result<(), EndpointError> {
    if res.body().len() > MAX_DOCUMENT_BYTES {
        return Err(EndpointError::Malformed {
            reason: "an oversized answer",
        });
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(res.body()) {
        Ok(_) if res.body().iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => Ok(()),
        _ => Err(EndpointError::Transient {
            status: res.status().as_u16(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn answer(status: u16, body: &str) -> Response<Vec<u8>> {
        let mut res = Response::new(body.as_bytes().to_vec());
        *res.status_mut() = StatusCode::from_u16(status).unwrap();
        res
    }

    #[derive(Debug, Deserialize)]
    struct Thing {
        a: u32,
    }

    #[test]
    fn every_known_code_round_trips_and_unknown_codes_are_kept_as_text() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "access_denied",
            "authorization_pending",
            "slow_down",
            "expired_token",
            "unsupported_token_type",
            "login_required",
        ] {
            let parsed = ErrorCode::parse(code).unwrap();
            assert!(!matches!(parsed, ErrorCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
            assert_eq!(parsed.to_string(), code);
        }
        assert_eq!(ErrorCode::parse("invalid_grant"), Some(ErrorCode::InvalidGrant));
        assert_eq!(ErrorCode::parse("slow_down"), Some(ErrorCode::SlowDown));
        assert_eq!(
            ErrorCode::parse("mfa_required"),
            Some(ErrorCode::Other("mfa_required".into()))
        );
        assert_eq!(
            ErrorCode::parse("Invalid_Grant"),
            Some(ErrorCode::Other("Invalid_Grant".into())),
            "codes are case-sensitive"
        );
    }

    #[test]
    fn codes_outside_nqschar_are_not_codes() {
        for bad in ["", "a\"b", "a\\b", "a\nb", "é", &"x".repeat(129)] {
            assert_eq!(ErrorCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_200_json_answer_is_parsed() {
        assert_eq!(json_answer::<Thing>(&answer(200, r#"{"a":1,"b":"x"}"#)).unwrap().a, 1);
    }

    #[test]
    fn a_200_answer_missing_fields_or_with_duplicates_is_malformed() {
        for body in [r#"{"b":1}"#, r#"{"a":"1"}"#, r#"{"a":1,"a":2}"#] {
            assert!(
                matches!(
                    json_answer::<Thing>(&answer(200, body)),
                    Err(EndpointError::Malformed { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn non_json_and_server_errors_are_transient_and_refusals_are_not() {
        let cases: &[(u16, &str, bool)] = &[
            (200, "<html>oops</html>", true),
            (200, "", true),
            (200, "[1,2]", true),
            (200, r#"{"a":1"#, true),
            (400, "Bad Request", true),
            (502, r#"{"error":"invalid_grant"}"#, true),
            (503, r#"{"error":"temporarily_unavailable"}"#, true),
            (429, r#"{"error":"slow_down"}"#, true),
            (400, r#"{"error":"invalid_grant"}"#, false),
            (401, r#"{"error":"invalid_client"}"#, false),
        ];
        for (status, body, transient) in cases {
            let err = json_answer::<Thing>(&answer(*status, body)).unwrap_err();
            assert_eq!(err.is_transient(), *transient, "{status} {body}: {err:?}");
        }
        assert!(EndpointError::from(FetchError::Timeout).is_transient());
    }

    #[test]
    fn an_error_object_keeps_code_description_and_an_https_uri() {
        let err = json_answer::<Thing>(&answer(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS70008: expired\r\nTrace ID: 1","error_uri":"https://idp.example/help"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            err,
            EndpointError::Refused {
                error: ErrorCode::InvalidGrant,
                description: Some("AADSTS70008: expired  Trace ID: 1".into()),
                uri: Some("https://idp.example/help".into()),
            }
        );
        assert_eq!(err.code(), Some(&ErrorCode::InvalidGrant));
        let err = json_answer::<Thing>(&answer(400, r#"{"error":"x","error_uri":"javascript:alert(1)"}"#)).unwrap_err();
        assert!(matches!(err, EndpointError::Refused { uri: None, .. }), "{err:?}");
    }

    #[test]
    fn an_error_answer_without_a_usable_code_is_malformed() {
        for body in [r#"{}"#, r#"{"error":""}"#, r#"{"error":7}"#, r#"{"error":"a\"b"}"#] {
            assert!(
                matches!(failure(&answer(400, body)), EndpointError::Malformed { .. }),
                "{body}"
            );
        }
    }

    #[test]
    fn an_oversized_answer_is_malformed() {
        let body = format!("{{\"a\":1,\"pad\":\"{}\"}}", "x".repeat(MAX_DOCUMENT_BYTES));
        assert!(matches!(
            json_answer::<Thing>(&answer(200, &body)),
            Err(EndpointError::Malformed { .. })
        ));
    }
}
