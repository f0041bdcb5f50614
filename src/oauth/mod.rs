//! The client side of OAuth 2.0 and OpenID Connect: what the browser sign-in (issue 14) and
//! the command-line client (issue 15) both need to talk to an identity provider.
//!
//! Sans-IO throughout: every exchange is a pure `*_request()` builder returning an
//! `http::Request<Vec<u8>>` and a `*_response()` parser taking the `http::Response`, so the
//! caller chooses the transport (Workers `fetch`, or the CLI's own client) and tests need no
//! network. Clock and randomness are passed in.
//!
//! | module | what |
//! |---|---|
//! | [`pkce`] | code verifier and S256 challenge (RFC 7636) |
//! | [`metadata`] | the provider's metadata as a client needs it (OIDC Discovery 1.0 §3, RFC 8414, RFC 9207) |
//! | [`client`] | client id, authentication (`none`, `client_secret_basic`), redirect URI, scopes |
//! | [`authorize`] | the authorization request URL and the callback parser (RFC 6749 §4.1, RFC 9207) |
//! | [`token`] | token requests (code, refresh, device code) and responses (RFC 6749 §5, RFC 8628 §3.4) |
//! | [`device`] | device authorization and the polling schedule (RFC 8628) |
//! | [`revoke`] | token revocation (RFC 7009) |
//! | [`error`] | error codes from every endpoint, and how an endpoint's answer fails |
//!
//! Requests built here carry secrets in their bodies and `Authorization` headers: never log
//! a request or print it with `Debug`.

pub mod authorize;
pub mod client;
pub mod device;
pub mod error;
pub mod metadata;
pub mod pkce;
pub mod revoke;
pub mod token;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::identity::{check_https_url, UrlError};
use crate::platform::Random;

/// A secret string received from or sent to the authorization server (a code, a token):
/// redacting `Debug`, no `Display`, no `PartialEq`, zeroized on drop, one `expose_secret()`.
/// Deserialized straight into the secret container, so no plain copy is left behind.
macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(crate::secret::SecretString);

        impl $name {
            /// Wraps a value from a trusted place (the server's answer, the CLI's token store).
            pub fn new(value: String) -> Self {
                Self(crate::secret::SecretString::new(value))
            }

            /// The secret itself. Call sites are the places to audit.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d).map(Self::new)
            }
        }
    };
}
pub(crate) use secret_string;

/// Bytes of randomness in every value this client makes up: 256 bits.
pub(crate) const RANDOM_BYTES: usize = 32;
/// Length of [`RANDOM_BYTES`] in base64url without padding.
pub(crate) const RANDOM_TOKEN_LEN: usize = 43;

/// 256 random bits as base64url without padding (43 characters): the shape of every value
/// this client makes up (PKCE verifier, `state`, `nonce`, the browser-binding cookie).
pub(crate) fn random_token(random: &dyn Random) -> String {
    let mut bytes = zeroize::Zeroizing::new([0u8; RANDOM_BYTES]);
    random.fill(bytes.as_mut_slice());
    URL_SAFE_NO_PAD.encode(bytes.as_slice())
}

/// Is `s` exactly what [`random_token`] makes: 43 base64url characters, canonical (the
/// unused low bits of the last character zero), decoding to 32 bytes?
pub(crate) fn is_random_token(s: &str) -> bool {
    s.len() == RANDOM_TOKEN_LEN
        && URL_SAFE_NO_PAD
            .decode(s)
            .map(|b| b.len() == RANDOM_BYTES)
            .unwrap_or(false)
}

/// RFC 6749 Appendix A: `1*VSCHAR` (`%x20-7E`), here also at most `max` bytes.
pub(crate) fn is_vschar_text(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Checks an endpoint or redirect URL: absolute, https (plain http only on a loopback host),
/// no user information, no fragment (RFC 6749 §3.1, §3.1.2, §3.2), a query allowed (and kept
/// by the request builders). The scheme and host rule is the one the STS applies to an IdP's
/// `jwks_uri` ([`check_https_url`]), applied to the URL without its query.
pub(crate) fn check_url(url: &str) -> Result<http::Uri, UrlError> {
    if url.contains('#') {
        return Err(UrlError::ExtraParts);
    }
    let without_query = url.split_once('?').map_or(url, |(base, _)| base);
    check_https_url(without_query)?;
    url.parse().map_err(|_| UrlError::NotAbsolute)
}

/// A serializer appending `application/x-www-form-urlencoded` parameters to `url`'s query,
/// keeping a query already there (RFC 6749 §3.1: it MUST be retained).
pub(crate) fn extend_query(url: &str) -> form_urlencoded::Serializer<'static, String> {
    let (target, start) = match url.find('?') {
        Some(i) => (url.to_owned(), i + 1),
        None => (format!("{url}?"), url.len() + 1),
    };
    form_urlencoded::Serializer::for_suffix(target, start)
}

/// Text from the other side shown to a person or written to a log: control characters
/// become spaces, at most 200 characters. For descriptions only, never for values that
/// decide anything.
pub fn display_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// "Randomness" that hands out the given bytes, for known-answer tests.
    pub(crate) struct FixedRandom(pub(crate) Vec<u8>);

    impl Random for FixedRandom {
        fn fill(&self, buf: &mut [u8]) {
            for (b, v) in buf.iter_mut().zip(self.0.iter().cycle()) {
                *b = *v;
            }
        }
    }

    #[test]
    fn random_tokens_are_43_base64url_characters_and_parse_back() {
        let t = random_token(&crate::platform::SystemRandom);
        assert_eq!(t.len(), RANDOM_TOKEN_LEN);
        assert!(is_random_token(&t));
        assert_ne!(t, random_token(&crate::platform::SystemRandom));
    }

    #[test]
    fn random_token_parsing_is_strict() {
        let good = random_token(&FixedRandom(vec![0xff]));
        assert!(is_random_token(&good));
        // The last character of 32 bytes carries 2 unused bits: a non-zero one is refused.
        assert!(good.ends_with('8'), "{good}");
        let non_canonical = format!("{}9", &good[..42]);
        for bad in [
            "",
            &good[..42],
            &format!("{good}A"),
            &format!("{good}="),
            &non_canonical,
            &good.replace('_', "/"),
            &good.replace('_', "+"),
            &format!(" {}", &good[1..]),
        ] {
            assert!(!is_random_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn urls_must_be_https_or_loopback_http_without_fragment_or_userinfo() {
        for ok in [
            "https://idp.example/authorize",
            "https://idp.example/authorize?tenant=a&x=1",
            "http://127.0.0.1:3000/token",
            "http://localhost/cb",
            "http://[::1]:8080/cb?x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://idp.example/authorize", UrlError::NotHttps),
            ("https://idp.example/authorize#frag", UrlError::ExtraParts),
            ("https://idp.example/a?x=1#frag", UrlError::ExtraParts),
            ("https://user@idp.example/authorize", UrlError::ExtraParts),
            ("/authorize", UrlError::NotAbsolute),
            ("javascript:alert(1)", UrlError::NotAbsolute),
            ("https://idp.example/a b", UrlError::NotAbsolute),
            ("https://idp.example/a?b c", UrlError::NotAbsolute),
            ("ftp://idp.example/x", UrlError::NotHttps),
        ] {
            assert_eq!(check_url(bad).map(|_| ()), Err(why), "{bad}");
        }
    }

    #[test]
    fn display_text_removes_control_characters_and_bounds_length() {
        assert_eq!(display_text("a\r\nb\u{0}c"), "a  b c");
        assert_eq!(display_text(&"x".repeat(500)).len(), 200);
    }
}
