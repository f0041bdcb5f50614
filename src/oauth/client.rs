//! The client as the authorization server knows it: its id, how it authenticates at the
//! back-channel endpoints, where the browser comes back to, and the scopes it asks for.
//!
//! Every back-channel request (token, device authorization, revocation) is a form post
//! built by `Client::form_post`, so client authentication is decided in one place.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{header, HeaderValue, Request};

use crate::identity::UrlError;
use crate::oauth::metadata::Endpoint;

/// Longest client id accepted (the STS accepts audiences of this length).
pub const MAX_CLIENT_ID_LEN: usize = 256;
/// Longest client secret accepted.
pub const MAX_CLIENT_SECRET_LEN: usize = 1024;
/// Longest scope string accepted.
pub const MAX_SCOPES_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("a client id has 1 to {MAX_CLIENT_ID_LEN} printable ASCII characters")]
    ClientId,
    #[error("a client secret has 1 to {MAX_CLIENT_SECRET_LEN} printable ASCII characters")]
    ClientSecret,
    #[error("the redirect URI is not acceptable")]
    RedirectUri {
        #[source]
        reason: UrlError,
    },
    #[error("scopes are tokens of printable ASCII without quotes or backslashes, separated by single spaces")]
    Scopes,
}

/// RFC 6749 §2.2 `client_id` (Appendix A.1: `*VSCHAR`), here non-empty and bounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(value: &str) -> Result<Self, ClientError> {
        super::is_vschar_text(value, MAX_CLIENT_ID_LEN)
            .then(|| Self(value.to_owned()))
            .ok_or(ClientError::ClientId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::secret_string! {
    /// RFC 6749 §2.3.1 `client_secret` (Appendix A.2: `*VSCHAR`), for confidential clients.
    ClientSecret
}

impl ClientSecret {
    /// A secret read from configuration: non-empty printable ASCII, bounded.
    pub fn parse(value: &str) -> Result<Self, ClientError> {
        super::is_vschar_text(value, MAX_CLIENT_SECRET_LEN)
            .then(|| Self::new(value.to_owned()))
            .ok_or(ClientError::ClientSecret)
    }
}

/// How the client authenticates at the token, device authorization and revocation endpoints
/// (the RFC 8414 / OIDC Discovery `token_endpoint_auth_method` names).
#[derive(Debug)]
pub enum ClientAuth {
    /// `none`: a public client (the CLI, or a worker registered without a secret); the
    /// `client_id` goes in the request body (RFC 6749 §2.3.1, §3.2.1).
    None,
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret
    /// (RFC 6749 §2.3.1).
    ClientSecretBasic(ClientSecret),
}

/// A registered client.
#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    pub auth: ClientAuth,
}

impl Client {
    /// A public client (`none`).
    pub fn public(id: ClientId) -> Self {
        Self {
            id,
            auth: ClientAuth::None,
        }
    }

    /// A confidential client authenticating with `client_secret_basic`.
    pub fn with_secret(id: ClientId, secret: ClientSecret) -> Self {
        Self {
            id,
            auth: ClientAuth::ClientSecretBasic(secret),
        }
    }

    /// A back-channel request: `POST endpoint` with `params` as an
    /// `application/x-www-form-urlencoded` body (RFC 6749 §3.2, §4.1.3), authenticated as
    /// [`Client::auth`] says. A query already on the endpoint stays (RFC 6749 §3.2).
    pub(crate) fn form_post(&self, endpoint: &Endpoint, params: &[(&str, &str)]) -> Request<Vec<u8>> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match &self.auth {
            // RFC 6749 §2.3.1 / §3.2.1: a client that does not authenticate names itself
            // with client_id in the body.
            ClientAuth::None => {
                form.append_pair("client_id", self.id.as_str());
            }
            // RFC 6749 §2.3.1: one authentication method per request, so no client_id here.
            ClientAuth::ClientSecretBasic(_) => {}
        }
        form.extend_pairs(params);
        let mut req = crate::web::form_post(endpoint.uri().clone(), form.finish().into_bytes(), "application/json");
        if let ClientAuth::ClientSecretBasic(secret) = &self.auth {
            if let Some(value) = basic_authorization(&self.id, secret) {
                req.headers_mut().insert(header::AUTHORIZATION, value);
            }
        }
        req
    }
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`, each part encoded
/// with `application/x-www-form-urlencoded` (Appendix B) before the Basic encoding
/// (RFC 7617 §2). Marked sensitive so `http` keeps it out of its `Debug` output.
fn basic_authorization(id: &ClientId, secret: &ClientSecret) -> Option<HeaderValue> {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = zeroize::Zeroizing::new(format!("{}:{}", encode(id.as_str()), encode(secret.expose_secret())));
    let value = zeroize::Zeroizing::new(format!("Basic {}", STANDARD.encode(credentials.as_bytes())));
    // Base64 output is always a valid header value; were it not, the request would go
    // without credentials and the server would refuse it (invalid_client), never succeed.
    let mut value = HeaderValue::from_str(&value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// RFC 6749 §3.1.2 `redirect_uri`: absolute, no fragment; https, or http on a loopback
/// host for native clients (RFC 8252 §7.3). Sent and compared verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(value: &str) -> Result<Self, ClientError> {
        super::check_url(value).map_err(|reason| ClientError::RedirectUri { reason })?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 6749 §3.3 `scope`: `scope-token *( SP scope-token )`,
/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`. Order kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(String);

impl Scopes {
    pub fn parse(value: &str) -> Result<Self, ClientError> {
        let token_ok = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b == 0x21 || ((0x23..=0x7e).contains(&b) && b != b'\\'))
        };
        if value.len() > MAX_SCOPES_LEN || !value.split(' ').all(token_ok) {
            return Err(ClientError::Scopes);
        }
        Ok(Self(value.to_owned()))
    }

    /// The `scope` parameter.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ')
    }

    /// Is `scope` one of the tokens (compared exactly, RFC 6749 §3.3: case-sensitive)?
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|t| t == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint::parse(url).unwrap()
    }

    fn form(req: &Request<Vec<u8>>) -> Vec<(String, String)> {
        form_urlencoded::parse(req.body()).into_owned().collect()
    }

    #[test]
    fn a_public_client_names_itself_in_the_body_and_sends_no_authorization() {
        let client = Client::public(ClientId::parse("cli app").unwrap());
        let req = client.form_post(&endpoint("https://idp.example/token?tenant=t1"), &[("grant_type", "x")]);
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri().to_string(), "https://idp.example/token?tenant=t1");
        assert_eq!(req.headers()["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(req.headers()["accept"], "application/json");
        assert!(!req.headers().contains_key("authorization"));
        assert_eq!(
            std::str::from_utf8(req.body()).unwrap(),
            "client_id=cli+app&grant_type=x"
        );
    }

    #[test]
    fn client_secret_basic_form_encodes_id_and_secret_before_base64() {
        // RFC 6749 §2.3.1 + Appendix B: space becomes '+', ':' and '%' are escaped.
        let client = Client::with_secret(
            ClientId::parse("my client:1").unwrap(),
            ClientSecret::parse("p@ss w:rd%").unwrap(),
        );
        let req = client.form_post(&endpoint("https://idp.example/token"), &[("grant_type", "x")]);
        let auth = req.headers()["authorization"].to_str().unwrap();
        let decoded = STANDARD.decode(auth.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(std::str::from_utf8(&decoded).unwrap(), "my+client%3A1:p%40ss+w%3Ard%25");
        assert!(req.headers()["authorization"].is_sensitive());
        assert_eq!(
            form(&req),
            vec![("grant_type".into(), "x".into())],
            "no client_id in the body"
        );
    }

    #[test]
    fn client_ids_and_secrets_are_bounded_printable_ascii() {
        assert!(ClientId::parse("abc-123_x.y").is_ok());
        for bad in ["", "a\tb", "é", &"x".repeat(257)] {
            assert_eq!(ClientId::parse(bad), Err(ClientError::ClientId), "{bad:?}");
        }
        assert!(ClientSecret::parse("").is_err());
        assert!(ClientSecret::parse("a\nb").is_err());
        let printed = format!("{:?}", ClientSecret::parse("MARKER-SECRET").unwrap());
        let client = Client::with_secret(
            ClientId::parse("c").unwrap(),
            ClientSecret::parse("MARKER-SECRET").unwrap(),
        );
        assert!(!format!("{printed} {client:?}").contains("MARKER"));
    }

    #[test]
    fn scopes_follow_the_rfc6749_grammar() {
        let s = Scopes::parse("openid offline_access https://api.example/read").unwrap();
        assert!(s.contains("offline_access"));
        assert!(!s.contains("offline"));
        assert!(!s.contains("OPENID"));
        assert_eq!(s.iter().count(), 3);
        for bad in [
            "",
            " openid",
            "openid ",
            "openid  email",
            "open\"id",
            "open\\id",
            "a\tb",
            "é",
        ] {
            assert_eq!(Scopes::parse(bad), Err(ClientError::Scopes), "{bad:?}");
        }
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        assert!(RedirectUri::parse("https://data.example/.auth/callback").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:49152/callback").is_ok());
        assert!(RedirectUri::parse("http://data.example/.auth/callback").is_err());
        assert!(RedirectUri::parse("https://data.example/cb#x").is_err());
    }
}
