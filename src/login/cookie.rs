//! Cookie headers of the browser sign-in: finding one cookie in `Cookie` request headers,
//! and writing `Set-Cookie` (RFC 6265; the `__Host-` prefix of RFC 6265bis §4.1.3.2).
//! What goes into the values (sealed sessions) is not this module's business.

use http::header::{self, HeaderMap, HeaderValue};

use crate::identity::Issuer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CookieError {
    #[error("a cookie value has only RFC 6265 cookie-octets")]
    Value,
}

/// How the worker is reached, which decides the cookies' names and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    /// `__Host-` prefix, `Secure`.
    Https,
    /// Plain http on a loopback host (`make dev`, tests): no `Secure`, so no `__Host-`
    /// prefix (browsers refuse it without `Secure`), and a name of its own, because
    /// cookies on 127.0.0.1 are shared by every port, the local IdP's included.
    LoopbackHttp,
}

impl Site {
    /// From the worker's own origin (config's `Issuer::parse_origin`, which allows plain
    /// http only on loopback hosts).
    pub(crate) fn of(origin: &Issuer) -> Self {
        if origin.as_str().starts_with("http://") && origin.is_loopback() {
            Self::LoopbackHttp
        } else {
            Self::Https
        }
    }
}

/// A cookie's name on each kind of site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieName {
    https: &'static str,
    loopback: &'static str,
}

/// The session handle.
pub(crate) const SESSION: CookieName = CookieName {
    https: "__Host-session",
    loopback: "oidc-sts-proxy-session",
};

/// The login's browser binding (its hash is in the pending login).
pub(crate) const LOGIN_BINDING: CookieName = CookieName {
    https: "__Host-login",
    loopback: "oidc-sts-proxy-login",
};

impl CookieName {
    pub(crate) fn on(self, site: Site) -> &'static str {
        match site {
            Site::Https => self.https,
            Site::LoopbackHttp => self.loopback,
        }
    }
}

/// The value of the cookie `name` in the request's `Cookie` headers (RFC 6265 §5.4; there
/// may be several headers, as HTTP/2 allows, RFC 9113 §8.2.3). `None` when it is absent,
/// empty, not text, or present more than once: a duplicate (a cookie planted by a sibling
/// host or another port) makes the cookie absent rather than one of them chosen.
pub(crate) fn find<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found: Option<&'a [u8]> = None;
    for value in headers.get_all(header::COOKIE) {
        // cookie-string = cookie-pair *( ";" SP cookie-pair ); tolerate missing or extra
        // white space, skip pairs without "=".
        for pair in value.as_bytes().split(|b| *b == b';') {
            let Some(eq) = pair.iter().position(|b| *b == b'=') else {
                continue;
            };
            let (n, v) = (
                pair.get(..eq).unwrap_or_default(),
                pair.get(eq + 1..).unwrap_or_default(),
            );
            if n.trim_ascii() == name.as_bytes() {
                if found.is_some() {
                    return None;
                }
                found = Some(v.trim_ascii());
            }
        }
    }
    found
        .filter(|v| !v.is_empty())
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, with `Secure` on https, and
/// `Max-Age` when given (else the cookie lasts until the browser closes).
pub(crate) fn set_cookie(
    name: CookieName,
    site: Site,
    value: &str,
    max_age_secs: Option<u64>,
) -> Result<HeaderValue, CookieError> {
    // RFC 6265 §4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
    let octet = |b: u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
    if !value.bytes().all(octet) {
        return Err(CookieError::Value);
    }
    Ok(build(name, site, value, max_age_secs))
}

/// A `Set-Cookie` value that deletes the cookie (`Max-Age=0`, same name and attributes, as
/// a `__Host-` cookie can only be replaced by one with the same attributes).
pub(crate) fn clear_cookie(name: CookieName, site: Site) -> HeaderValue {
    build(name, site, "", Some(0))
}

fn build(name: CookieName, site: Site, value: &str, max_age_secs: Option<u64>) -> HeaderValue {
    let mut s = format!("{}={value}; Path=/", name.on(site));
    if let Some(secs) = max_age_secs {
        s.push_str(&format!("; Max-Age={secs}"));
    }
    s.push_str("; HttpOnly; SameSite=Lax");
    if site == Site::Https {
        s.push_str("; Secure");
    }
    let mut header = match HeaderValue::from_str(&s) {
        Ok(h) => h,
        // The names are tokens (tested) and values are cookie-octets (checked above).
        Err(_) => unreachable!("a cookie of checked parts is a valid header value"), // ok: not reachable
    };
    header.set_sensitive(true);
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn one_cookie_is_found_among_others_and_across_headers() {
        let cases: &[(&[&[u8]], Option<&str>)] = &[
            (&[b"a=1; __Host-session=abc; b=2"], Some("abc")),
            (&[b"a=1;__Host-session=abc"], Some("abc")),
            (&[b"  __Host-session = abc  ;"], Some("abc")),
            (&[b"a=1", b"__Host-session=abc"], Some("abc")),
            (&[b"__Host-session=a=b=c"], Some("a=b=c")),
            // Absent, empty, or only similar names.
            (&[], None),
            (&[b""], None),
            (&[b"a=1; b=2"], None),
            (&[b"__Host-session="], None),
            (&[b"__host-session=abc"], None),
            (&[b"x__Host-session=abc"], None),
            (&[b"__Host-session"], None),
            // Duplicates are absent, in one header or across two.
            (&[b"__Host-session=abc; __Host-session=def"], None),
            (&[b"__Host-session=abc", b"__Host-session=abc"], None),
            (&[b"__Host-session=abc; __Host-session="], None),
            // Junk elsewhere does not hide it; junk in it makes it absent.
            (&[b"a=\xff\xfe; __Host-session=abc"], Some("abc")),
            (&[b";;;=;=x; __Host-session=abc;;"], Some("abc")),
            (&[b"__Host-session=ab\xffc"], None),
        ];
        for (values, want) in cases {
            assert_eq!(find(&headers(values), "__Host-session"), *want, "{values:?}");
        }
    }

    #[test]
    fn https_cookies_are_host_prefixed_secure_httponly_lax() {
        let v = set_cookie(SESSION, Site::Https, "abc.DEF_-", Some(300)).unwrap();
        assert_eq!(
            v,
            "__Host-session=abc.DEF_-; Path=/; Max-Age=300; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(v.is_sensitive());
        assert_eq!(
            set_cookie(LOGIN_BINDING, Site::Https, "x", None).unwrap(),
            "__Host-login=x; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn loopback_cookies_have_no_secure_and_no_prefix_but_a_name_of_their_own() {
        let v = set_cookie(SESSION, Site::LoopbackHttp, "abc", Some(60)).unwrap();
        assert_eq!(
            v,
            "oidc-sts-proxy-session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            clear_cookie(LOGIN_BINDING, Site::LoopbackHttp),
            "oidc-sts-proxy-login=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn a_clearing_cookie_has_max_age_zero_and_the_same_attributes() {
        assert_eq!(
            clear_cookie(SESSION, Site::Https),
            "__Host-session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn values_outside_cookie_octets_are_refused() {
        for bad in ["a b", "a;b", "a,b", "a\"b", "a\\b", "a\nb", "é"] {
            assert_eq!(
                set_cookie(SESSION, Site::Https, bad, None),
                Err(CookieError::Value),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_site_follows_the_origin() {
        let site = |o: &str| Site::of(&Issuer::parse_origin(o).unwrap());
        assert_eq!(site("https://data.example"), Site::Https);
        assert_eq!(site("https://127.0.0.1:8443"), Site::Https);
        assert_eq!(site("http://127.0.0.1:8787"), Site::LoopbackHttp);
        assert_eq!(site("http://localhost:8787"), Site::LoopbackHttp);
    }

    #[test]
    fn every_cookie_name_is_a_token_with_the_right_prefix() {
        for name in [SESSION, LOGIN_BINDING] {
            for site in [Site::Https, Site::LoopbackHttp] {
                let n = name.on(site);
                assert!(
                    n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)),
                    "{n}"
                );
                assert_eq!(n.starts_with("__Host-"), site == Site::Https, "{n}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn finding_a_cookie_never_panics(bytes in proptest::collection::vec(0x20u8..=0xff, 0..200), name in "[ -~]{0,20}") {
            if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                let mut h = HeaderMap::new();
                h.append(header::COOKIE, v);
                let _ = find(&h, &name);
            }
        }
    }
}
