//! What a person sees when signing in fails: every [`LoginError`] mapped, in one place
//! ([`LoginError::wire`]), to a status, a code and a message, answered as a small HTML page
//! with a link to sign in again, or as JSON (`{"error", "error_description"}`) to a client
//! that prefers it. The detail (the `Display` of the error) is for the log line only.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use crate::login::return_to::{ReturnTo, ReturnToError};
use crate::login::state::StateError;
use crate::oauth::authorize::AuthorizeError;
use crate::oauth::error::{EndpointError, ErrorCode};
use crate::web::Body;

/// Where "sign in again" leads.
pub(crate) const LOGIN_PATH: &str = "/.auth/login";

/// The page's policy: nothing loads, nothing runs; only the inline style block applies.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Why a sign-in failed. Variants carry detail for the log; none carries a token, code,
/// verifier or cookie value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LoginError {
    #[error("the callback has no state")]
    MissingState,
    /// Unknown, expired or already used: the store cannot tell these apart once `take` has
    /// deleted the state (by design: one atomic read-and-delete).
    #[error("the callback's state is unknown, expired or already used")]
    UnknownState,
    #[error("the callback reached another browser than the one that started the login")]
    OtherBrowser,
    #[error("the identity provider answered {error}: {}", .description.as_deref().unwrap_or("(no description)"))]
    IdpError {
        error: ErrorCode,
        description: Option<String>,
    },
    #[error("the callback's issuer does not match")]
    IssuerMismatch {
        #[source]
        reason: AuthorizeError,
    },
    #[error("the callback is malformed")]
    BadCallback {
        #[source]
        reason: AuthorizeError,
    },
    #[error("the code exchange failed")]
    TokenExchange {
        #[source]
        reason: EndpointError,
    },
    #[error("the ID token was rejected: {reason}")]
    IdTokenRejected { reason: String },
    #[error("the identity provider could not be reached: {reason}")]
    IdpUnavailable { reason: String },
    #[error("return_to is not acceptable")]
    OpenRedirect {
        #[source]
        reason: ReturnToError,
    },
    #[error("the state store is unavailable: {reason}")]
    StateStoreUnavailable { reason: String },
}

impl LoginError {
    /// Status, code and message for this error: the only place they are chosen. A client's
    /// mistake (or an attacker's) is a 400, never a 5xx; only the provider or the store
    /// being unreachable is.
    pub(crate) fn wire(&self) -> (StatusCode, &'static str, &'static str) {
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        match self {
            Self::MissingState => (BAD, "missing_state", "The sign-in response is incomplete."),
            Self::UnknownState => (
                BAD,
                "invalid_state",
                "This sign-in has expired or was already completed.",
            ),
            Self::OtherBrowser => (
                BAD,
                "browser_mismatch",
                "This sign-in was started in another browser, or its cookie was blocked.",
            ),
            Self::IdpError {
                error: ErrorCode::AccessDenied,
                ..
            } => (
                BAD,
                "access_denied",
                "Sign-in was cancelled or refused at the identity provider.",
            ),
            Self::IdpError { .. } => (
                BAD,
                "idp_error",
                "The identity provider could not complete the sign-in.",
            ),
            Self::IssuerMismatch { .. } => (
                BAD,
                "invalid_issuer",
                "The sign-in response did not come from the expected identity provider.",
            ),
            Self::BadCallback { .. } => (BAD, "invalid_callback", "The sign-in response is malformed."),
            Self::TokenExchange { reason } if reason.is_transient() => idp_unavailable(),
            Self::TokenExchange { .. } => (
                BAD,
                "token_exchange_failed",
                "The identity provider did not accept this sign-in.",
            ),
            Self::IdTokenRejected { .. } => (
                BAD,
                "invalid_id_token",
                "The identity provider's answer could not be verified.",
            ),
            Self::IdpUnavailable { .. } => idp_unavailable(),
            Self::OpenRedirect { .. } => (BAD, "invalid_return_to", "The page to return to is not on this site."),
            Self::StateStoreUnavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Sign-in is unavailable for a moment.",
            ),
        }
    }
}

fn idp_unavailable() -> (StatusCode, &'static str, &'static str) {
    (
        StatusCode::BAD_GATEWAY,
        "idp_unavailable",
        "The identity provider could not be reached.",
    )
}

impl From<AuthorizeError> for LoginError {
    fn from(reason: AuthorizeError) -> Self {
        match reason {
            AuthorizeError::MissingState => Self::MissingState,
            // Not a state this deployment makes, so not one it has.
            AuthorizeError::MalformedState => Self::UnknownState,
            AuthorizeError::MissingIssuer | AuthorizeError::IssuerMismatch => Self::IssuerMismatch { reason },
            _ => Self::BadCallback { reason },
        }
    }
}

impl From<StateError> for LoginError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::NotFound => Self::UnknownState,
            StateError::OtherBrowser => Self::OtherBrowser,
            // 256 random bits do not collide: a store that says so is broken.
            StateError::Collision => Self::StateStoreUnavailable {
                reason: "the store reported a state collision".into(),
            },
            StateError::Unavailable { reason } => Self::StateStoreUnavailable { reason },
        }
    }
}

impl From<ReturnToError> for LoginError {
    fn from(reason: ReturnToError) -> Self {
        Self::OpenRedirect { reason }
    }
}

impl From<EndpointError> for LoginError {
    fn from(reason: EndpointError) -> Self {
        Self::TokenExchange { reason }
    }
}

/// The answer for `err`: JSON when the request's `Accept` prefers `application/json` to
/// `text/html`, else the HTML page. `return_to`, when known, is carried by the "sign in
/// again" link.
pub(crate) fn error_response(
    err: &LoginError,
    request_headers: &HeaderMap,
    return_to: Option<&ReturnTo>,
) -> Response<Body> {
    let (status, code, message) = err.wire();
    if prefers_json(request_headers) {
        return crate::web::json_error(status, code, message);
    }
    let again = again_link(return_to);
    let e = crate::encoding::xml_escape;
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in failed</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}</style>\
         </head><body><h1>Sign-in failed</h1><p>{}</p><p><a href=\"{}\">Sign in again</a></p>\
         <p><small>Error code: {}</small></p></body></html>\n",
        e(message),
        e(&again),
        e(code),
    );
    let mut res = crate::web::with_body(status, "text/html; charset=utf-8", page.into_bytes());
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// `/.auth/login`, with `return_to` unless it is the default.
fn again_link(return_to: Option<&ReturnTo>) -> String {
    match return_to.map(ReturnTo::as_str) {
        Some(path) if path != crate::login::return_to::DEFAULT => crate::oauth::extend_query(LOGIN_PATH)
            .append_pair("return_to", path)
            .finish(),
        _ => LOGIN_PATH.to_owned(),
    }
}

/// Does `Accept` rank `application/json` above `text/html` (RFC 9110 §12.5.1)? Each type
/// takes the quality of the most specific range that matches it; on equal quality the more
/// specific match wins, and a tie goes to HTML (a browser, or a client that said nothing).
fn prefers_json(headers: &HeaderMap) -> bool {
    let ranges: Vec<(String, String, u16)> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(media_range)
        .collect();
    let rank = |ty: &str, sub: &str| {
        ranges
            .iter()
            .filter_map(|(t, s, q)| match (t.as_str(), s.as_str()) {
                (t, s) if t == ty && s == sub => Some((2u8, *q)),
                (t, "*") if t == ty => Some((1, *q)),
                ("*", "*") => Some((0, *q)),
                _ => None,
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map(|(specificity, q)| (q, specificity))
            .unwrap_or((0, 0))
    };
    let json = rank("application", "json");
    json.0 > 0 && json > rank("text", "html")
}

/// One media range: lower-cased type and subtype, and its quality in thousandths
/// (RFC 9110 §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`).
/// A range with a malformed quality is dropped.
fn media_range(range: &str) -> Option<(String, String, u16)> {
    let mut parts = range.split(';');
    let (ty, sub) = parts.next()?.trim().split_once('/')?;
    let mut q = 1000;
    for param in parts {
        let Some((k, v)) = param.trim().split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("q") {
            q = qvalue(v.trim())?;
        }
    }
    Some((ty.to_ascii_lowercase(), sub.to_ascii_lowercase(), q))
}

fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::ACCEPT, HeaderValue::from_static(v));
        }
        h
    }

    fn all_errors() -> Vec<LoginError> {
        vec![
            LoginError::MissingState,
            LoginError::UnknownState,
            LoginError::OtherBrowser,
            LoginError::IdpError {
                error: ErrorCode::AccessDenied,
                description: None,
            },
            LoginError::IdpError {
                error: ErrorCode::Other("x".into()),
                description: Some("<script>".into()),
            },
            AuthorizeError::IssuerMismatch.into(),
            AuthorizeError::RepeatedParameter { name: "code".into() }.into(),
            EndpointError::Refused {
                error: ErrorCode::InvalidGrant,
                description: None,
                uri: None,
            }
            .into(),
            EndpointError::Transient { status: 503 }.into(),
            LoginError::IdTokenRejected { reason: "nonce".into() },
            LoginError::IdpUnavailable { reason: "jwks".into() },
            ReturnToError::OtherHost.into(),
            StateError::Unavailable { reason: "do".into() }.into(),
        ]
    }

    #[test]
    fn client_mistakes_are_400_and_only_unreachable_services_are_5xx() {
        for err in all_errors() {
            let (status, code, message) = err.wire();
            let unavailable = matches!(
                &err,
                LoginError::IdpUnavailable { .. } | LoginError::StateStoreUnavailable { .. }
            ) || matches!(&err, LoginError::TokenExchange { reason } if reason.is_transient());
            if unavailable {
                assert!(status.is_server_error(), "{err:?}");
            } else {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{err:?}");
            }
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
            assert!(message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn every_callback_and_state_failure_maps_to_its_own_code() {
        let code = |e: LoginError| e.wire().1;
        assert_eq!(code(AuthorizeError::MissingState.into()), "missing_state");
        assert_eq!(code(AuthorizeError::MalformedState.into()), "invalid_state");
        assert_eq!(code(StateError::NotFound.into()), "invalid_state");
        assert_eq!(code(StateError::OtherBrowser.into()), "browser_mismatch");
        assert_eq!(code(AuthorizeError::MissingIssuer.into()), "invalid_issuer");
        assert_eq!(code(AuthorizeError::IssuerMismatch.into()), "invalid_issuer");
        assert_eq!(code(AuthorizeError::CodeAndError.into()), "invalid_callback");
        assert_eq!(code(ReturnToError::Backslash.into()), "invalid_return_to");
        assert_eq!(
            code(
                EndpointError::Refused {
                    error: ErrorCode::InvalidGrant,
                    description: None,
                    uri: None
                }
                .into()
            ),
            "token_exchange_failed"
        );
        assert_eq!(code(EndpointError::Transient { status: 502 }.into()), "idp_unavailable");
    }

    #[test]
    fn the_html_page_is_escaped_scriptless_and_uncached() {
        let rt = ReturnTo::parse(Some("/a?x=1&y=\"'<>")).map_err(|e| e.to_string());
        assert!(rt.is_err(), "quotes and angle brackets never reach a return_to");
        let rt = ReturnTo::parse(Some("/acct/p/a.tif?x=1&y=2")).unwrap();
        let err = LoginError::IdpError {
            error: ErrorCode::Other("<b>".into()),
            description: Some("<script>alert(1)</script>".into()),
        };
        let res = error_response(&err, &accept(&["text/html"]), Some(&rt));
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let h = res.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.starts_with("default-src 'none'; style-src 'unsafe-inline'"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "{csp}");
        let body = std::str::from_utf8(res.body().as_bytes()).unwrap();
        assert!(!body.contains("<script"), "{body}");
        assert!(!body.contains("alert"), "the provider's words are not shown: {body}");
        assert!(
            body.contains("<a href=\"/.auth/login?return_to=%2Facct%2Fp%2Fa.tif%3Fx%3D1%26y%3D2\">Sign in again</a>"),
            "{body}"
        );
        assert!(body.contains("The identity provider could not complete the sign-in."));
        assert!(body.contains("idp_error"));
    }

    #[test]
    fn without_a_return_path_the_link_is_the_plain_login() {
        let res = error_response(&LoginError::UnknownState, &HeaderMap::new(), None);
        let body = std::str::from_utf8(res.body().as_bytes()).unwrap();
        assert!(body.contains("<a href=\"/.auth/login\">"), "{body}");
        let root = ReturnTo::parse(None).unwrap();
        let res = error_response(&LoginError::UnknownState, &HeaderMap::new(), Some(&root));
        assert!(std::str::from_utf8(res.body().as_bytes())
            .unwrap()
            .contains("<a href=\"/.auth/login\">"));
    }

    #[test]
    fn json_is_answered_when_accept_prefers_it() {
        let res = error_response(&LoginError::OtherBrowser, &accept(&["application/json"]), None);
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let v: serde_json::Value = serde_json::from_slice(res.body().as_bytes()).unwrap();
        assert_eq!(v["error"], "browser_mismatch");
        assert_eq!(
            v["error_description"],
            "This sign-in was started in another browser, or its cookie was blocked."
        );
    }

    #[test]
    fn accept_negotiation() {
        let cases: &[(&[&'static str], bool)] = &[
            (&[], false),
            (&["*/*"], false),
            (&["application/json"], true),
            (&["Application/JSON"], true),
            (&["text/html"], false),
            (&["application/json, text/plain, */*"], true),
            (
                &["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
                false,
            ),
            (&["application/json;q=0.9, text/html"], false),
            (&["application/json, text/html;q=0.5"], true),
            (&["application/*"], true),
            (&["application/json;q=0", "*/*"], false),
            (&["application/json;q=1.0"], true),
            (&["application/json;q=2"], false),
            (&["application/json;q=0.1234"], false),
            (&["application/json;q=abc"], false),
            (&["text/html;q=0.1", "application/json;q=0.2"], true),
            (&["garbage", "application/json"], true),
        ];
        for (values, json) in cases {
            assert_eq!(prefers_json(&accept(values)), *json, "{values:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn accept_parsing_never_panics(v in "[ -~]{0,120}") {
            if let Ok(v) = HeaderValue::from_str(&v) {
                let mut h = HeaderMap::new();
                h.append(header::ACCEPT, v);
                let _ = prefers_json(&h);
            }
        }
    }

    #[test]
    fn the_log_detail_names_the_reason_without_the_page_showing_it() {
        let err = LoginError::from(StateError::Unavailable {
            reason: "durable object timed out".into(),
        });
        assert!(err.to_string().contains("durable object timed out"));
        let res = error_response(&err, &HeaderMap::new(), None);
        assert!(!std::str::from_utf8(res.body().as_bytes()).unwrap().contains("durable"));
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
