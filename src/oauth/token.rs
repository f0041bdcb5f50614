//! The token endpoint (RFC 6749 §3.2): exchanging an authorization code (§4.1.3, with the
//! PKCE verifier of RFC 7636 §4.5), a refresh token (§6) or a device code (RFC 8628 §3.4)
//! for tokens, and reading the answer (§5.1, §5.2).

use http::{Request, Response};
use serde::Deserialize;

use crate::oauth::authorize::AuthorizationCode;
use crate::oauth::client::{Client, RedirectUri, Scopes};
use crate::oauth::device::DeviceCode;
use crate::oauth::error::{json_answer, EndpointError};
use crate::oauth::metadata::Endpoint;
use crate::oauth::pkce::CodeVerifier;

/// RFC 8628 §3.4: the device code grant type.
pub(crate) const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Longest token of any kind accepted.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

super::secret_string! {
    /// RFC 6749 §1.4 access token.
    AccessToken
}

super::secret_string! {
    /// RFC 6749 §1.5 refresh token (Appendix A.17: `1*VSCHAR`).
    RefreshToken
}

super::secret_string! {
    /// OpenID Connect Core §2 ID token, not yet verified: hand it to the STS verifier.
    IdToken
}

/// What is exchanged for tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Grant<'a> {
    /// RFC 6749 §4.1.3: the code, the same redirect URI as in the authorization request,
    /// and (RFC 7636 §4.5) the verifier whose challenge that request carried.
    AuthorizationCode {
        code: &'a AuthorizationCode,
        redirect_uri: &'a RedirectUri,
        code_verifier: Option<&'a CodeVerifier>,
    },
    /// RFC 6749 §6: `scope`, when given, must not ask for more than was granted.
    RefreshToken {
        refresh_token: &'a RefreshToken,
        scopes: Option<&'a Scopes>,
    },
    /// RFC 8628 §3.4, with the verifier when the device authorization request carried a
    /// challenge (providers that enforce PKCE on the device flow want it, as Keycloak does).
    DeviceCode {
        device_code: &'a DeviceCode,
        code_verifier: Option<&'a CodeVerifier>,
    },
}

/// The token request: a form post to the token endpoint, authenticated as the client says.
pub(crate) fn token_request(endpoint: &Endpoint, client: &Client, grant: &Grant<'_>) -> Request<Vec<u8>> {
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(4);
    let verifier: Option<&CodeVerifier> = match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            params.push(("grant_type", "authorization_code"));
            params.push(("code", code.expose_secret()));
            params.push(("redirect_uri", redirect_uri.as_str()));
            *code_verifier
        }
        Grant::RefreshToken { refresh_token, scopes } => {
            params.push(("grant_type", "refresh_token"));
            params.push(("refresh_token", refresh_token.expose_secret()));
            if let Some(scopes) = scopes {
                params.push(("scope", scopes.as_str()));
            }
            None
        }
        Grant::DeviceCode {
            device_code,
            code_verifier,
        } => {
            params.push(("grant_type", DEVICE_CODE_GRANT_TYPE));
            params.push(("device_code", device_code.expose_secret()));
            *code_verifier
        }
    };
    if let Some(v) = verifier {
        params.push(("code_verifier", v.expose_secret()));
    }
    client.form_post(endpoint, &params)
}

/// RFC 6749 §5.1 `token_type`: only `Bearer` (RFC 6750) is asked for, so only it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    Bearer,
}

/// A successful token response (RFC 6749 §5.1; OpenID Connect Core §3.1.3.3).
#[derive(Debug)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: AccessToken,
    pub(crate) token_type: TokenType,
    /// Seconds the access token lives, when the server says.
    pub(crate) expires_in: Option<u64>,
    /// A new (possibly rotated) refresh token; when absent after a refresh, keep the old one
    /// (RFC 6749 §6).
    pub(crate) refresh_token: Option<RefreshToken>,
    /// Unverified: the STS verifier checks it (and the caller the `nonce`).
    pub(crate) id_token: Option<IdToken>,
    /// RFC 6749 §5.1: present when it differs from what was asked.
    pub(crate) scope: Option<Scopes>,
}

/// Parses the token endpoint's answer.
pub(crate) fn token_response(res: &Response<Vec<u8>>) -> Result<TokenResponse, EndpointError> {
    #[derive(Deserialize)]
    struct Body {
        access_token: AccessToken,
        token_type: String,
        expires_in: Option<u64>,
        refresh_token: Option<RefreshToken>,
        id_token: Option<IdToken>,
        scope: Option<String>,
    }
    let malformed = |reason| EndpointError::Malformed { reason };
    let body: Body = json_answer(res)?;
    // RFC 6749 §5.1: access_token and token_type are REQUIRED; token_type is
    // case-insensitive (RFC 6749 §7.1).
    if !super::is_vschar_text(body.access_token.expose_secret(), MAX_TOKEN_LEN) {
        return Err(malformed("an access_token that is empty or not printable"));
    }
    if !body.token_type.eq_ignore_ascii_case("bearer") {
        return Err(malformed("a token_type other than Bearer"));
    }
    // Appendix A.17: refresh-token = 1*VSCHAR.
    if let Some(rt) = &body.refresh_token {
        if !super::is_vschar_text(rt.expose_secret(), MAX_TOKEN_LEN) {
            return Err(malformed("a refresh_token that is empty or not printable"));
        }
    }
    // OpenID Connect Core §2: a JWT, so at least printable; the verifier checks the rest.
    if let Some(id) = &body.id_token {
        if !super::is_vschar_text(id.expose_secret(), MAX_TOKEN_LEN) {
            return Err(malformed("an id_token that is empty or not printable"));
        }
    }
    // RFC 6749 §3.3 grammar.
    let scope = match body.scope.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Scopes::parse(s).map_err(|_| malformed("a scope outside RFC 6749's grammar"))?),
    };
    Ok(TokenResponse {
        access_token: body.access_token,
        token_type: TokenType::Bearer,
        expires_in: body.expires_in,
        refresh_token: body.refresh_token,
        id_token: body.id_token,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::{ClientId, ClientSecret};
    use crate::oauth::error::tests::answer;
    use crate::oauth::error::ErrorCode;

    fn endpoint() -> Endpoint {
        Endpoint::parse("https://idp.example/token").unwrap()
    }

    fn public() -> Client {
        Client::public(ClientId::parse("cli").unwrap())
    }

    fn body(req: &Request<Vec<u8>>) -> Vec<(String, String)> {
        form_urlencoded::parse(req.body()).into_owned().collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn verifier() -> CodeVerifier {
        CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap()
    }

    #[test]
    fn an_authorization_code_request_carries_code_redirect_uri_and_verifier() {
        let (code, redirect) = (
            AuthorizationCode::new("c+d/e".into()),
            RedirectUri::parse("http://127.0.0.1:5000/callback").unwrap(),
        );
        let v = verifier();
        let grant = Grant::AuthorizationCode {
            code: &code,
            redirect_uri: &redirect,
            code_verifier: Some(&v),
        };
        let req = token_request(&endpoint(), &public(), &grant);
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri().to_string(), "https://idp.example/token");
        assert_eq!(
            body(&req),
            pairs(&[
                ("client_id", "cli"),
                ("grant_type", "authorization_code"),
                ("code", "c+d/e"),
                ("redirect_uri", "http://127.0.0.1:5000/callback"),
                ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            ])
        );
        // Without PKCE, no verifier.
        let grant = Grant::AuthorizationCode {
            code: &code,
            redirect_uri: &redirect,
            code_verifier: None,
        };
        assert!(!body(&token_request(&endpoint(), &public(), &grant))
            .iter()
            .any(|(k, _)| k == "code_verifier"));
    }

    #[test]
    fn a_refresh_request_carries_the_refresh_token_and_optional_scope() {
        let rt = RefreshToken::new("rt-1".into());
        let scopes = Scopes::parse("openid").unwrap();
        let req = token_request(
            &endpoint(),
            &public(),
            &Grant::RefreshToken {
                refresh_token: &rt,
                scopes: Some(&scopes),
            },
        );
        assert_eq!(
            body(&req),
            pairs(&[
                ("client_id", "cli"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt-1"),
                ("scope", "openid"),
            ])
        );
    }

    #[test]
    fn a_device_code_request_carries_the_grant_type_urn_and_the_verifier() {
        let dc = DeviceCode::new("dc-1".into());
        let v = verifier();
        let req = token_request(
            &endpoint(),
            &public(),
            &Grant::DeviceCode {
                device_code: &dc,
                code_verifier: Some(&v),
            },
        );
        assert_eq!(
            body(&req),
            pairs(&[
                ("client_id", "cli"),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", "dc-1"),
                ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            ])
        );
    }

    #[test]
    fn a_confidential_client_authenticates_with_basic_not_in_the_body() {
        let client = Client::with_secret(ClientId::parse("w").unwrap(), ClientSecret::parse("s").unwrap());
        let rt = RefreshToken::new("rt".into());
        let req = token_request(
            &endpoint(),
            &client,
            &Grant::RefreshToken {
                refresh_token: &rt,
                scopes: None,
            },
        );
        assert!(req.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
        assert_eq!(
            body(&req),
            pairs(&[("grant_type", "refresh_token"), ("refresh_token", "rt")])
        );
    }

    const FULL: &str = r#"{"access_token":"at-1","token_type":"bearer","expires_in":300,
        "refresh_token":"rt-2","id_token":"a.b.c","scope":"openid offline_access","extra":1}"#;

    #[test]
    fn a_full_response_gives_every_field() {
        let t = token_response(&answer(200, FULL)).unwrap();
        assert_eq!(t.access_token.expose_secret(), "at-1");
        assert_eq!(t.token_type, TokenType::Bearer);
        assert_eq!(t.expires_in, Some(300));
        assert_eq!(t.refresh_token.unwrap().expose_secret(), "rt-2");
        assert_eq!(t.id_token.unwrap().expose_secret(), "a.b.c");
        assert!(t.scope.unwrap().contains("offline_access"));
    }

    #[test]
    fn a_minimal_response_has_only_the_required_fields() {
        let t = token_response(&answer(200, r#"{"access_token":"at","token_type":"Bearer"}"#)).unwrap();
        assert!(t.expires_in.is_none() && t.refresh_token.is_none() && t.id_token.is_none() && t.scope.is_none());
    }

    #[test]
    fn responses_that_break_section_5_1_are_malformed() {
        for body in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":"at"}"#,
            r#"{"access_token":"","token_type":"Bearer"}"#,
            r#"{"access_token":"at","token_type":"DPoP"}"#,
            r#"{"access_token":"at","token_type":"mac"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":"300"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":-1}"#,
            r#"{"access_token":"at","token_type":"Bearer","refresh_token":""}"#,
            r#"{"access_token":"at","token_type":"Bearer","refresh_token":"a\nb"}"#,
            r#"{"access_token":"at","token_type":"Bearer","id_token":7}"#,
            r#"{"access_token":"at","token_type":"Bearer","scope":"a  b"}"#,
            r#"{"access_token":"at","access_token":"at2","token_type":"Bearer"}"#,
        ] {
            assert!(
                matches!(token_response(&answer(200, body)), Err(EndpointError::Malformed { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn error_responses_are_refusals_with_their_codes() {
        for (status, code, want) in [
            (400, "invalid_request", ErrorCode::InvalidRequest),
            (401, "invalid_client", ErrorCode::InvalidClient),
            (400, "invalid_grant", ErrorCode::InvalidGrant),
            (400, "unauthorized_client", ErrorCode::UnauthorizedClient),
            (400, "unsupported_grant_type", ErrorCode::UnsupportedGrantType),
            (400, "invalid_scope", ErrorCode::InvalidScope),
            (400, "authorization_pending", ErrorCode::AuthorizationPending),
            (400, "slow_down", ErrorCode::SlowDown),
            (400, "access_denied", ErrorCode::AccessDenied),
            (400, "expired_token", ErrorCode::ExpiredToken),
            (400, "use_dpop_nonce", ErrorCode::Other("use_dpop_nonce".into())),
        ] {
            let err = token_response(&answer(status, &format!("{{\"error\":\"{code}\"}}"))).unwrap_err();
            assert_eq!(err.code(), Some(&want), "{code}");
            assert!(!err.is_transient());
        }
    }

    #[test]
    fn a_server_error_or_a_non_json_answer_is_transient_not_invalid_grant() {
        for (status, body) in [
            (500, r#"{"error":"invalid_grant"}"#),
            (503, "<html>maintenance</html>"),
            (200, "<html>captive portal</html>"),
            (400, "<html>bad gateway config</html>"),
        ] {
            let err = token_response(&answer(status, body)).unwrap_err();
            assert!(
                matches!(err, EndpointError::Transient { .. }),
                "{status} {body}: {err:?}"
            );
        }
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let body =
            r#"{"access_token":"MARKER-AT","token_type":"Bearer","refresh_token":"MARKER-RT","id_token":"MARKER-ID"}"#;
        let t = token_response(&answer(200, body)).unwrap();
        let printed = format!("{t:?} {t:#?}");
        assert!(!printed.contains("MARKER"), "{printed}");
    }

    proptest::proptest! {
        #[test]
        fn the_response_parser_never_panics(status in 100u16..600, body in "\\PC{0,200}") {
            let _ = token_response(&answer(status, &body));
        }

        #[test]
        fn the_response_parser_never_panics_on_json_shaped_input(
            body in r#"\{("(access_token|token_type|expires_in|error|scope)":("[ -~]{0,10}"|[0-9-]{1,5}|null|\[\]),?){0,5}\}"#,
            status in proptest::sample::select(vec![200u16, 400, 401, 500]),
        ) {
            let _ = token_response(&answer(status, &body));
        }
    }
}
