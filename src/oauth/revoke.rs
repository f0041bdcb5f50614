//! Token revocation (RFC 7009): ending a refresh token's grant at logout.

use http::{Request, Response};

use crate::oauth::client::Client;
use crate::oauth::error::{failure, EndpointError};
use crate::oauth::metadata::Endpoint;
use crate::oauth::token::RefreshToken;

/// RFC 7009 §2.1: `token` and `token_type_hint=refresh_token`, authenticated as at the token
/// endpoint (a public client names itself with `client_id`). Revoking a refresh token also
/// ends the access tokens of its grant where the server supports that (§2.1).
pub(crate) fn revocation_request(endpoint: &Endpoint, client: &Client, token: &RefreshToken) -> Request<Vec<u8>> {
    client.form_post(
        endpoint,
        &[("token", token.expose_secret()), ("token_type_hint", "refresh_token")],
    )
}

/// RFC 7009 §2.2: a 200 is success, also for a token the server did not know (the body is
/// ignored; a 2xx other than 200 is taken as success too). §2.2.1: an error object is a
/// refusal (`unsupported_token_type`, `invalid_client`, ...); a 503 means the token may still
/// be valid and the request may be retried: transient.
pub(crate) fn revocation_response(res: &Response<Vec<u8>>) -> Result<(), EndpointError> {
    if res.status().is_success() {
        return Ok(());
    }
    Err(failure(res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::{ClientId, ClientSecret};
    use crate::oauth::error::tests::answer;
    use crate::oauth::error::ErrorCode;

    fn endpoint() -> Endpoint {
        Endpoint::parse("https://idp.example/revoke").unwrap()
    }

    #[test]
    fn the_request_names_the_token_and_hints_refresh_token() {
        let rt = RefreshToken::new("rt/1+2".into());
        let req = revocation_request(&endpoint(), &Client::public(ClientId::parse("cli").unwrap()), &rt);
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri().to_string(), "https://idp.example/revoke");
        assert_eq!(
            std::str::from_utf8(req.body()).unwrap(),
            "client_id=cli&token=rt%2F1%2B2&token_type_hint=refresh_token"
        );
    }

    #[test]
    fn a_confidential_client_authenticates_with_basic() {
        let client = Client::with_secret(ClientId::parse("w").unwrap(), ClientSecret::parse("s").unwrap());
        let req = revocation_request(&endpoint(), &client, &RefreshToken::new("rt".into()));
        assert!(req.headers().contains_key("authorization"));
        assert_eq!(
            std::str::from_utf8(req.body()).unwrap(),
            "token=rt&token_type_hint=refresh_token"
        );
    }

    #[test]
    fn success_is_any_2xx_whatever_the_body() {
        for (status, body) in [(200, ""), (200, "<html>"), (200, "{}"), (204, "")] {
            assert_eq!(revocation_response(&answer(status, body)), Ok(()), "{status} {body:?}");
        }
    }

    #[test]
    fn refusals_and_transient_failures_are_told_apart() {
        let err = revocation_response(&answer(400, r#"{"error":"unsupported_token_type"}"#)).unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::UnsupportedTokenType));
        assert!(!err.is_transient());
        let err = revocation_response(&answer(401, r#"{"error":"invalid_client"}"#)).unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::InvalidClient));
        // §2.2.1: 503, the token may still be valid; retry later.
        assert!(revocation_response(&answer(503, "")).unwrap_err().is_transient());
        assert!(revocation_response(&answer(404, "<html>not found</html>"))
            .unwrap_err()
            .is_transient());
    }
}
