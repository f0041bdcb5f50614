//! `return_to`: where the browser goes after signing in. Only a path on this origin, so the
//! sign-in can never be turned into an open redirect (OWASP "Unvalidated Redirects and
//! Forwards"; RFC 9700 §4.11).
//!
//! An allow-list: an absolute path (RFC 3986 §4.2 `path-absolute`, optionally with a query)
//! of printable ASCII path and query characters. Then, because browsers and servers
//! downstream are lenient in different ways, every percent-decoded layer of the value (it is
//! decoded until nothing changes) must still be such a path: it must not start with `//` or
//! `/\` (a scheme-relative URL to another host), and contains no backslash (browsers read it
//! as `/`), no control character (browsers drop tabs and newlines, so `/\t/evil.example` is
//! `//evil.example` to them), and no `.` or `..` segment.

/// The default when none is given.
pub(crate) const DEFAULT: &str = "/";
/// Longest `return_to` accepted.
pub(crate) const MAX_LEN: usize = 2048;
/// More nested percent-encoding than this is refused rather than decoded further.
const MAX_DECODE_LAYERS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReturnToError {
    #[error("return_to is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("return_to is not an absolute path on this site")]
    NotAbsolutePath,
    #[error("return_to names another host (starts with // or /\\)")]
    OtherHost,
    #[error("return_to has a backslash")]
    Backslash,
    #[error("return_to has a control character")]
    ControlCharacter,
    #[error("return_to has a character that must be percent-encoded, or a fragment")]
    Character,
    #[error("return_to has a % not followed by two hex digits")]
    BadEscape,
    #[error("return_to has a . or .. segment")]
    DotSegment,
    #[error("return_to is percent-encoded more than {MAX_DECODE_LAYERS} times over")]
    TooDeeplyEncoded,
}

/// A path on this origin to return to after signing in, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReturnTo(String);

impl ReturnTo {
    /// The `return_to` query value (already form-decoded once by the query parser), or
    /// [`DEFAULT`] when there is none or it is empty.
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, ReturnToError> {
        let value = match value {
            None | Some("") => return Ok(Self(DEFAULT.to_owned())),
            Some(v) => v,
        };
        if value.len() > MAX_LEN {
            return Err(ReturnToError::TooLong);
        }
        // The value as given: only RFC 3986 path and query characters (pchar, "/", "?"),
        // which leaves out space, '"', '<', '>', '\', '^', '`', '{', '|', '}', '#' and
        // everything outside printable ASCII; every '%' starts an escape (RFC 3986 §2.1).
        check_layer(value.as_bytes())?;
        if let Some(b) = value.bytes().find(|b| !is_path_or_query_char(*b)) {
            return Err(match b {
                b'\\' => ReturnToError::Backslash,
                _ => ReturnToError::Character,
            });
        }
        crate::encoding::percent_decode(value).ok_or(ReturnToError::BadEscape)?;
        // Every decoded layer, decoded as lenient decoders do, until nothing changes.
        let mut layer = value.as_bytes().to_vec();
        for _ in 0..MAX_DECODE_LAYERS {
            let decoded = decode_leniently(&layer);
            if decoded == layer {
                return Ok(Self(value.to_owned()));
            }
            check_layer(&decoded)?;
            layer = decoded;
        }
        Err(ReturnToError::TooDeeplyEncoded)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rules each layer (as given, and each percent-decoded form) must meet.
fn check_layer(bytes: &[u8]) -> Result<(), ReturnToError> {
    // Control characters first: browsers strip tabs and newlines before parsing, so a
    // `/\t/` start would be `//` to them.
    if bytes.iter().any(|b| b.is_ascii_control()) || String::from_utf8_lossy(bytes).chars().any(char::is_control) {
        return Err(ReturnToError::ControlCharacter);
    }
    if bytes.contains(&b'\\') {
        return Err(ReturnToError::Backslash);
    }
    match bytes {
        [b'/', b'/', ..] => return Err(ReturnToError::OtherHost),
        [b'/', ..] => {}
        _ => return Err(ReturnToError::NotAbsolutePath),
    }
    let path = bytes.split(|b| *b == b'?').next().unwrap_or_default();
    if path.split(|b| *b == b'/').any(|seg| seg == b"." || seg == b"..") {
        return Err(ReturnToError::DotSegment);
    }
    Ok(())
}

/// Percent-decoding as browsers and many servers do it: `%XX` decoded, a `%` without two hex
/// digits kept as it is (the strict decoder refuses those, and is used on the value as given).
fn decode_leniently(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        let hex = |i: usize| tail.get(i).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(0), hex(1)) {
            (b'%', Some(hi), Some(lo)) => {
                out.extend(u8::try_from(hi * 16 + lo));
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    out
}

/// RFC 3986 §3.3 `pchar` (unreserved, pct-encoded's `%`, sub-delims, `:`, `@`), `/`, and
/// `?` (§3.4).
fn is_path_or_query_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/?".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_value_or_an_empty_one_means_the_root() {
        assert_eq!(ReturnTo::parse(None).unwrap().as_str(), "/");
        assert_eq!(ReturnTo::parse(Some("")).unwrap().as_str(), "/");
    }

    #[test]
    fn same_origin_paths_are_kept_verbatim() {
        for ok in [
            "/",
            "/acct/product/data.tif",
            "/viewer?url=%2Facct%2Fp%2Fa.pmtiles&z=4",
            "/search?q=%2F%2Fnot-a-host",
            "/a/b.c/..d/.e/",
            "/p/%E2%82%AC.txt",
            "/p/a%20b",
            "/p/~user/(1);x=y,z@w:1!$'*+",
            "/?",
            "/p/100%25",
            "/p/%252",
            "/p/a%2525zz",
        ] {
            assert_eq!(
                ReturnTo::parse(Some(ok)).map(|r| r.as_str().to_owned()),
                Ok(ok.to_owned()),
                "{ok}"
            );
        }
    }

    /// Every shape from issue 14 and OWASP's open-redirect and URL-validation-bypass cheat
    /// sheets that fits in a query value.
    #[test]
    fn open_redirect_shapes_are_refused() {
        use ReturnToError::*;
        let cases: &[(&str, ReturnToError)] = &[
            // Other hosts and schemes.
            ("//evil.example", OtherHost),
            ("//evil.example/path", OtherHost),
            ("///evil.example", OtherHost),
            ("////evil.example", OtherHost),
            ("https://evil.example", NotAbsolutePath),
            ("http://evil.example/", NotAbsolutePath),
            ("HTTPS://evil.example", NotAbsolutePath),
            ("https:evil.example", NotAbsolutePath),
            ("javascript:alert(1)", NotAbsolutePath),
            ("JaVaScRiPt:alert(1)", NotAbsolutePath),
            ("data:text/html,<script>alert(1)</script>", NotAbsolutePath),
            ("evil.example", NotAbsolutePath),
            ("path/relative", NotAbsolutePath),
            ("?x=1", NotAbsolutePath),
            ("#frag", NotAbsolutePath),
            ("@evil.example", NotAbsolutePath),
            (" /path", NotAbsolutePath),
            // Backslashes, which browsers treat as slashes.
            ("/\\evil.example", Backslash),
            ("\\\\evil.example", Backslash),
            ("/\\/evil.example", Backslash),
            ("/path\\to", Backslash),
            ("\\/evil.example", Backslash),
            // Percent-encoded variants.
            ("/%2F%2Fevil.example", OtherHost),
            ("/%2f%2fevil.example", OtherHost),
            ("/%2Fevil.example", OtherHost),
            ("/%5Cevil.example", Backslash),
            ("/%5cevil.example", Backslash),
            ("/path%5Cto", Backslash),
            ("/%252F%252Fevil.example", OtherHost),
            ("/%25252F%25252Fevil.example", OtherHost),
            ("/%2525252F%2525252Fevil.example", TooDeeplyEncoded),
            ("%2F%2Fevil.example", NotAbsolutePath),
            ("/%09/evil.example", ControlCharacter),
            ("/%0A/evil.example", ControlCharacter),
            ("/%0d%0aSet-Cookie:x=y", ControlCharacter),
            ("/%00", ControlCharacter),
            ("/%7F", ControlCharacter),
            ("/%C2%85", ControlCharacter),
            ("/%zz", BadEscape),
            ("/%2", BadEscape),
            ("/100%", BadEscape),
            // Control characters as given.
            ("/\t/evil.example", ControlCharacter),
            ("/\n/evil.example", ControlCharacter),
            ("/\r/evil.example", ControlCharacter),
            ("/\0", ControlCharacter),
            ("\t//evil.example", ControlCharacter),
            // Characters that must be encoded, and fragments.
            ("/path#//evil.example", Character),
            ("/a b", Character),
            ("/<script>", Character),
            ("/\"x", Character),
            ("/€", Character),
            ("/\u{200b}/evil.example", Character),
            ("/a|b", Character),
            ("/a`b", Character),
            // Dot segments (and their encoded forms).
            ("/./evil", DotSegment),
            ("/../x", DotSegment),
            ("/a/..", DotSegment),
            ("/a/.", DotSegment),
            ("/%2E%2E/x", DotSegment),
            ("/.%2E/x", DotSegment),
        ];
        for (value, want) in cases {
            assert_eq!(ReturnTo::parse(Some(value)), Err(*want), "{value:?}");
        }
    }

    #[test]
    fn over_long_values_are_refused() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert_eq!(ReturnTo::parse(Some(&long)), Err(ReturnToError::TooLong));
        assert!(ReturnTo::parse(Some(&long[..MAX_LEN])).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn whatever_is_accepted_is_a_same_origin_path(s in "\\PC{0,80}") {
            if let Ok(r) = ReturnTo::parse(Some(&s)) {
                let v = r.as_str();
                proptest::prop_assert!(v.starts_with('/'));
                proptest::prop_assert!(!v.starts_with("//"));
                proptest::prop_assert!(!v.contains('\\') && !v.contains('#'));
                // A browser resolving it against our origin stays on our origin.
                let uri: http::Uri = format!("https://data.example{v}").parse().unwrap();
                proptest::prop_assert_eq!(uri.host(), Some("data.example"));
            }
        }

        #[test]
        fn encoded_slashes_and_backslashes_at_the_start_are_always_refused(
            prefix in proptest::sample::select(vec!["%2F", "%2f", "%5C", "%5c", "%252F", "%255C", "/", "\\"]),
            rest in "[a-z.]{1,20}",
        ) {
            let value = format!("/{prefix}{rest}");
            proptest::prop_assert!(ReturnTo::parse(Some(&value)).is_err(), "{}", value);
        }
    }
}
