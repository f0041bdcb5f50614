//! The authorization code flow's front channel (RFC 6749 §4.1.1, §4.1.2; OpenID Connect
//! Core §3.1.2): the URL the browser is sent to, and the parser for the redirect back.

use subtle::ConstantTimeEq;

use crate::oauth::client::{ClientId, RedirectUri, Scopes};
use crate::oauth::error::ErrorCode;
use crate::oauth::metadata::{Endpoint, ProviderMetadata};
use crate::oauth::pkce::CodeChallenge;
use crate::platform::Random;

/// Longest callback query accepted.
pub const MAX_CALLBACK_QUERY: usize = 16 * 1024;
/// Longest authorization code accepted.
pub const MAX_CODE_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    #[error("the callback query is longer than {MAX_CALLBACK_QUERY} bytes")]
    TooLong,
    #[error("the callback repeats the parameter {name}")]
    RepeatedParameter { name: String },
    #[error("the callback has no state")]
    MissingState,
    #[error("the callback's state is not one this client makes")]
    MalformedState,
    #[error("the callback has neither a code nor an error")]
    MissingCode,
    #[error("the callback has both a code and an error")]
    CodeAndError,
    #[error("the callback's {name} has characters its grammar does not allow")]
    BadParameter { name: &'static str },
    #[error("the callback has no iss, and the provider says it always sends one")]
    MissingIssuer,
    #[error("the callback's iss is not the provider's issuer")]
    IssuerMismatch,
}

/// Declares a 256-bit random value the client makes up and later compares: redacting
/// `Debug` (they are not long-term secrets, but the log has no use for them), constant-time
/// comparison, strict parsing.
macro_rules! random_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// 256 random bits, base64url (43 characters).
            pub fn generate(random: &dyn Random) -> Self {
                Self(super::random_token(random))
            }

            /// Exactly what [`Self::generate`] makes, or nothing.
            pub fn parse(value: &str) -> Option<Self> {
                super::is_random_token(value).then(|| Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Constant-time comparison with a value from the other side.
            pub fn ct_eq(&self, other: &str) -> bool {
                self.0.as_bytes().ct_eq(other.as_bytes()).into()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

random_value! {
    /// RFC 6749 §4.1.1 / §10.12 `state`: binds the callback to the request that started it.
    StateToken
}

random_value! {
    /// OpenID Connect Core §3.1.2.1 `nonce`: binds the ID token to the request.
    Nonce
}

super::secret_string! {
    /// RFC 6749 §4.1.2 `code`: one-time, short-lived, and worth a token while it lasts.
    AuthorizationCode
}

/// RFC 6749 §4.1.1 / OpenID Connect Core §3.1.2.1: what goes into the authorization URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    pub client_id: &'a ClientId,
    pub redirect_uri: &'a RedirectUri,
    pub scopes: &'a Scopes,
    pub state: &'a StateToken,
    pub nonce: &'a Nonce,
    /// RFC 7636 §4.3; `None` only when PKCE is switched off for a provider that rejects it.
    pub code_challenge: Option<&'a CodeChallenge>,
}

impl AuthorizationRequest<'_> {
    /// The URL to send the browser to: the endpoint with its own query kept (RFC 6749 §3.1)
    /// and the parameters appended, `application/x-www-form-urlencoded` (RFC 6749 §4.1.1).
    pub fn url(&self, endpoint: &Endpoint) -> String {
        let mut query = super::extend_query(endpoint.as_str());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", self.scopes.as_str())
            .append_pair("state", self.state.as_str())
            .append_pair("nonce", self.nonce.as_str());
        if let Some(challenge) = self.code_challenge {
            query
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", challenge.method().as_str());
        }
        // OpenID Connect Core §11: offline access needs prompt=consent (some providers
        // issue a refresh token only then).
        if self.scopes.contains("offline_access") {
            query.append_pair("prompt", "consent");
        }
        query.finish()
    }
}

/// The authorization response, its state parsed and its `iss` checked.
#[derive(Debug)]
pub enum AuthorizationResponse {
    /// RFC 6749 §4.1.2.
    Code { state: StateToken, code: AuthorizationCode },
    /// RFC 6749 §4.1.2.1. `description` is the other side's words, made printable, and `uri`
    /// an https URL if one was given: anyone can put them in a link, so they are for the
    /// log, not for a page.
    Error {
        state: StateToken,
        error: ErrorCode,
        description: Option<String>,
        uri: Option<String>,
    },
}

impl AuthorizationResponse {
    pub fn state(&self) -> &StateToken {
        match self {
            Self::Code { state, .. } | Self::Error { state, .. } => state,
        }
    }
}

/// Parses the query of the redirect back to the client and checks it against the provider
/// the request went to.
pub fn parse_callback(
    query: Option<&str>,
    provider: &ProviderMetadata,
) -> Result<AuthorizationResponse, AuthorizeError> {
    let query = query.unwrap_or("");
    if query.len() > MAX_CALLBACK_QUERY {
        return Err(AuthorizeError::TooLong);
    }
    // RFC 6749 §3.1: parameters MUST NOT be included more than once (any parameter, not
    // only those read here), and one sent without a value is treated as omitted.
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params.iter().any(|(n, _)| *n == name) {
            return Err(AuthorizeError::RepeatedParameter {
                name: crate::encoding::printable(&name),
            });
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };

    // RFC 9207 §2.4: when iss is present it MUST equal the issuer (simple string
    // comparison); when the metadata says it is sent, a response without it is refused.
    // Checked first: a response from another provider is not looked at further.
    match get("iss") {
        Some(iss) if iss != provider.issuer.as_str() => return Err(AuthorizeError::IssuerMismatch),
        Some(_) => {}
        None if provider.authorization_response_iss_parameter_supported => return Err(AuthorizeError::MissingIssuer),
        None => {}
    }
    // RFC 6749 §4.1.2, §4.1.2.1: state is REQUIRED in both answers when the request had
    // one, and this client always sends one.
    let state = get("state").ok_or(AuthorizeError::MissingState)?;
    let state = StateToken::parse(state).ok_or(AuthorizeError::MalformedState)?;

    match (get("code"), get("error")) {
        (Some(_), Some(_)) => Err(AuthorizeError::CodeAndError),
        (None, None) => Err(AuthorizeError::MissingCode),
        // RFC 6749 Appendix A.11: code = 1*VSCHAR.
        (Some(code), None) => {
            if !super::is_vschar_text(code, MAX_CODE_LEN) {
                return Err(AuthorizeError::BadParameter { name: "code" });
            }
            Ok(AuthorizationResponse::Code {
                state,
                code: AuthorizationCode::new(code.to_owned()),
            })
        }
        // RFC 6749 §4.1.2.1: error = 1*NQSCHAR; description and uri are informative.
        (None, Some(error)) => Ok(AuthorizationResponse::Error {
            state,
            error: ErrorCode::parse(error).ok_or(AuthorizeError::BadParameter { name: "error" })?,
            description: get("error_description").map(super::display_text),
            uri: get("error_uri").and_then(crate::oauth::error::error_uri),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::metadata::tests::{metadata_with, ISSUER};
    use crate::oauth::pkce::CodeVerifier;
    use crate::platform::CountingRandom;

    struct Fixture {
        client_id: ClientId,
        redirect_uri: RedirectUri,
        scopes: Scopes,
        state: StateToken,
        nonce: Nonce,
        challenge: CodeChallenge,
    }

    fn fixture(scopes: &str) -> Fixture {
        let random = CountingRandom::default();
        Fixture {
            client_id: ClientId::parse("worker client").unwrap(),
            redirect_uri: RedirectUri::parse("https://data.example/.auth/callback").unwrap(),
            scopes: Scopes::parse(scopes).unwrap(),
            state: StateToken::generate(&random),
            nonce: Nonce::generate(&random),
            challenge: CodeVerifier::generate(&random).challenge(),
        }
    }

    fn request(f: &Fixture, pkce: bool) -> AuthorizationRequest<'_> {
        AuthorizationRequest {
            client_id: &f.client_id,
            redirect_uri: &f.redirect_uri,
            scopes: &f.scopes,
            state: &f.state,
            nonce: &f.nonce,
            code_challenge: pkce.then_some(&f.challenge),
        }
    }

    fn query_of(url: &str) -> Vec<(String, String)> {
        let uri: http::Uri = url.parse().unwrap();
        form_urlencoded::parse(uri.query().unwrap().as_bytes())
            .into_owned()
            .collect()
    }

    fn endpoint(url: &str) -> Endpoint {
        Endpoint::parse(url).unwrap()
    }

    #[test]
    fn the_url_carries_every_parameter_once_encoded() {
        let f = fixture("openid email");
        let url = request(&f, true).url(&endpoint("https://idp.example/auth"));
        assert!(url.starts_with("https://idp.example/auth?response_type=code&client_id=worker+client&redirect_uri=https%3A%2F%2Fdata.example%2F.auth%2Fcallback&scope=openid+email&state="), "{url}");
        let q = query_of(&url);
        let expected = [
            ("response_type", "code"),
            ("client_id", "worker client"),
            ("redirect_uri", "https://data.example/.auth/callback"),
            ("scope", "openid email"),
            ("state", f.state.as_str()),
            ("nonce", f.nonce.as_str()),
            ("code_challenge", f.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        assert_eq!(
            q,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec(),
            "no prompt without offline_access"
        );
    }

    #[test]
    fn offline_access_asks_for_consent() {
        let f = fixture("openid offline_access");
        let q = query_of(&request(&f, true).url(&endpoint("https://idp.example/auth")));
        assert!(q.contains(&("prompt".into(), "consent".into())));
    }

    #[test]
    fn without_pkce_no_challenge_is_sent() {
        let f = fixture("openid");
        let q = query_of(&request(&f, false).url(&endpoint("https://idp.example/auth")));
        assert!(!q.iter().any(|(k, _)| k.starts_with("code_challenge")), "{q:?}");
    }

    #[test]
    fn a_query_on_the_endpoint_is_kept() {
        let f = fixture("openid");
        for (ep, prefix) in [
            (
                "https://idp.example/auth?tenant=a%20b",
                "https://idp.example/auth?tenant=a%20b&response_type=code&",
            ),
            (
                "https://idp.example/auth?",
                "https://idp.example/auth?response_type=code&",
            ),
        ] {
            let url = request(&f, true).url(&endpoint(ep));
            assert!(url.starts_with(prefix), "{url}");
        }
    }

    fn provider(iss_supported: bool) -> ProviderMetadata {
        metadata_with(|d| d["authorization_response_iss_parameter_supported"] = iss_supported.into())
    }

    fn state() -> String {
        StateToken::generate(&CountingRandom::default()).as_str().to_owned()
    }

    fn callback(query: &str, iss_supported: bool) -> Result<AuthorizationResponse, AuthorizeError> {
        parse_callback(Some(query), &provider(iss_supported))
    }

    fn iss() -> String {
        form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect()
    }

    #[test]
    fn a_code_response_gives_state_and_code() {
        let q = format!("code=abc%2Bdef&state={}&iss={}&session_state=x", state(), iss());
        match callback(&q, true).unwrap() {
            AuthorizationResponse::Code { state: s, code } => {
                assert_eq!(s.as_str(), state());
                assert_eq!(code.expose_secret(), "abc+def");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_error_response_gives_the_code_and_the_words_made_printable() {
        let q = format!(
            "error=access_denied&error_description=User+said%0Ano&error_uri=https%3A%2F%2Fidp.example%2Fe&state={}",
            state()
        );
        match callback(&q, false).unwrap() {
            AuthorizationResponse::Error {
                state: s,
                error,
                description,
                uri,
            } => {
                assert_eq!(s.as_str(), state());
                assert_eq!(error, ErrorCode::AccessDenied);
                assert_eq!(description.as_deref(), Some("User said no"));
                assert_eq!(uri.as_deref(), Some("https://idp.example/e"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn callback_refusals() {
        let s = state();
        let i = iss();
        let cases: Vec<(String, bool, AuthorizeError)> = vec![
            // RFC 6749 §3.1: repeated parameters, ours or not.
            (
                format!("code=a&code=b&state={s}"),
                false,
                AuthorizeError::RepeatedParameter { name: "code".into() },
            ),
            (
                format!("code=a&state={s}&state={s}"),
                false,
                AuthorizeError::RepeatedParameter { name: "state".into() },
            ),
            (
                format!("code=a&state={s}&x=1&x=1"),
                false,
                AuthorizeError::RepeatedParameter { name: "x".into() },
            ),
            (
                format!("code=a&state={s}&iss={i}&iss={i}"),
                true,
                AuthorizeError::RepeatedParameter { name: "iss".into() },
            ),
            (
                format!("code=&code=a&state={s}"),
                false,
                AuthorizeError::RepeatedParameter { name: "code".into() },
            ),
            // State.
            ("code=a".into(), false, AuthorizeError::MissingState),
            ("code=a&state=".into(), false, AuthorizeError::MissingState),
            ("code=a&state=abc".into(), false, AuthorizeError::MalformedState),
            (format!("code=a&state={s}A"), false, AuthorizeError::MalformedState),
            // Code and error.
            (format!("state={s}"), false, AuthorizeError::MissingCode),
            (format!("state={s}&code="), false, AuthorizeError::MissingCode),
            (
                format!("state={s}&code=a&error=access_denied"),
                false,
                AuthorizeError::CodeAndError,
            ),
            (
                format!("state={s}&code=a%0Ab"),
                false,
                AuthorizeError::BadParameter { name: "code" },
            ),
            (
                format!("state={s}&code=%C3%A9"),
                false,
                AuthorizeError::BadParameter { name: "code" },
            ),
            (
                format!("state={s}&code=%FF"),
                false,
                AuthorizeError::BadParameter { name: "code" },
            ),
            (
                format!("state={s}&error=a%22b"),
                false,
                AuthorizeError::BadParameter { name: "error" },
            ),
            // RFC 9207 §2.4.
            (format!("code=a&state={s}"), true, AuthorizeError::MissingIssuer),
            (format!("code=a&state={s}&iss="), true, AuthorizeError::MissingIssuer),
            (
                format!("code=a&state={s}&iss=https%3A%2F%2Fevil.example"),
                false,
                AuthorizeError::IssuerMismatch,
            ),
            (
                format!("code=a&state={s}&iss={i}%2F"),
                true,
                AuthorizeError::IssuerMismatch,
            ),
            (
                format!("error=access_denied&state={s}&iss=https%3A%2F%2Fevil.example"),
                false,
                AuthorizeError::IssuerMismatch,
            ),
            // Bounds.
            (
                format!("code={}&state={s}", "a".repeat(MAX_CODE_LEN + 1)),
                false,
                AuthorizeError::BadParameter { name: "code" },
            ),
            (
                format!("code=a&state={s}&pad={}", "a".repeat(MAX_CALLBACK_QUERY)),
                false,
                AuthorizeError::TooLong,
            ),
        ];
        for (q, iss_supported, want) in cases {
            let got = callback(&q, iss_supported).map(|r| format!("{r:?}"));
            assert_eq!(got, Err(want), "{q}");
        }
        assert_eq!(
            parse_callback(None, &provider(false)).unwrap_err(),
            AuthorizeError::MissingState
        );
    }

    #[test]
    fn an_error_uri_that_is_not_an_https_url_is_dropped() {
        let q = format!("error=access_denied&error_uri=javascript%3Aalert(1)&state={}", state());
        assert!(matches!(
            callback(&q, false).unwrap(),
            AuthorizationResponse::Error { uri: None, .. }
        ));
    }

    #[test]
    fn iss_is_optional_when_the_provider_does_not_announce_it() {
        assert!(callback(&format!("code=a&state={}", state()), false).is_ok());
        assert!(callback(&format!("code=a&state={}&iss={}", state(), iss()), false).is_ok());
    }

    #[test]
    fn state_and_nonce_never_show_in_debug_output_and_compare_exactly() {
        let s = StateToken::parse(&state()).unwrap();
        assert!(!format!("{s:?}").contains(s.as_str()));
        assert!(s.ct_eq(&state()));
        assert!(!s.ct_eq(&state()[..42]));
        let code = AuthorizationCode::new("MARKER-CODE".into());
        assert!(!format!("{code:?}").contains("MARKER"));
    }

    proptest::proptest! {
        #[test]
        fn building_then_parsing_the_url_recovers_every_parameter(
            client_id in "[ -~]{1,40}",
            path in "(/[a-zA-Z0-9._~-]{0,8}){0,3}",
            scopes in proptest::collection::vec("[!#-\\[\\]-~]{1,12}", 1..5),
            endpoint_query in proptest::option::of("x[a-z]{0,4}=[a-zA-Z0-9%+._~-]{0,12}(&x[a-z]{0,4}=[a-z0-9]{0,5})?"),
            offline in proptest::bool::ANY,
            seed in 0u8..=255,
        ) {
            let random = CountingRandom(std::cell::Cell::new(seed));
            let mut scopes = scopes.join(" ");
            if offline {
                scopes.push_str(" offline_access");
            }
            let f = Fixture {
                client_id: ClientId::parse(&client_id).unwrap(),
                redirect_uri: RedirectUri::parse(&format!("http://127.0.0.1:8080{path}")).unwrap(),
                scopes: Scopes::parse(&scopes).unwrap(),
                state: StateToken::generate(&random),
                nonce: Nonce::generate(&random),
                challenge: CodeVerifier::generate(&random).challenge(),
            };
            let ep = match &endpoint_query {
                Some(q) => format!("https://idp.example/authorize?{q}"),
                None => "https://idp.example/authorize".to_owned(),
            };
            let url = request(&f, true).url(&endpoint(&ep));
            let q = query_of(&url);
            let ours = |name: &str| {
                let all: Vec<_> = q.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
                proptest::prop_assert_eq!(all.len(), 1, "{} in {}", name, url);
                Ok(all[0].to_owned())
            };
            proptest::prop_assert_eq!(ours("response_type")?, "code");
            proptest::prop_assert_eq!(ours("client_id")?, client_id);
            proptest::prop_assert_eq!(ours("redirect_uri")?, f.redirect_uri.as_str());
            proptest::prop_assert_eq!(ours("scope")?, scopes);
            proptest::prop_assert_eq!(ours("state")?, f.state.as_str());
            proptest::prop_assert_eq!(ours("nonce")?, f.nonce.as_str());
            proptest::prop_assert_eq!(ours("code_challenge")?, f.challenge.as_str());
            proptest::prop_assert_eq!(ours("code_challenge_method")?, "S256");
            proptest::prop_assert_eq!(ours("prompt").is_ok(), offline);
            // The endpoint's own query comes first, unchanged.
            if let Some(eq) = &endpoint_query {
                let prefix = format!("https://idp.example/authorize?{eq}");
                proptest::prop_assert!(url.starts_with(&prefix));
            }
        }

        #[test]
        fn the_callback_parser_never_panics(q in "\\PC{0,300}", iss in proptest::bool::ANY) {
            let _ = parse_callback(Some(&q), &provider(iss));
        }

        #[test]
        fn the_callback_parser_never_panics_on_form_shaped_input(
            q in "((code|state|iss|error|error_description|x)=[a-zA-Z0-9%+._~-]{0,50}&){0,6}",
            iss in proptest::bool::ANY,
        ) {
            let _ = parse_callback(Some(&q), &provider(iss));
        }
    }
}
