//! Text on the wire: percent-encoding, the strict percent-decoder, XML escaping, and
//! attacker-chosen text made printable for a message.
//!
//! Every encoder is the `percent-encoding` crate with one of the [`AsciiSet`]s below; only
//! the decoder is written here, because the crate's `percent_decode` passes a `%` that is not
//! followed by two hex digits through as it stands, and SigV4 must refuse it (a client and
//! this proxy would otherwise canonicalise the same bytes differently).

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// AWS's `UriEncode` (SigV4, "Create a canonical request"): `A-Za-z0-9-_.~` kept, every other
/// byte, `/` included, as `%XX` with upper-case hex. RFC 3986 §2.3's unreserved characters.
const URI_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// S3's `encoding-type=url` in listings: [`URI_UNRESERVED`] and `/` kept. `+` is always
/// encoded, so a client's `unquote_plus` gets the key back exactly.
const LISTING: &AsciiSet = &URI_UNRESERVED.remove(b'/');

/// AWS's `UriEncode` of `bytes` (see [`URI_UNRESERVED`]): one path segment or one query
/// name or value.
pub(crate) fn uri_encode(bytes: &[u8]) -> String {
    percent_encode(bytes, URI_UNRESERVED).to_string()
}

/// Appends [`uri_encode`]`(bytes)` to `out`.
pub(crate) fn uri_encode_into(bytes: &[u8], out: &mut String) {
    out.extend(percent_encode(bytes, URI_UNRESERVED));
}

/// A listing field under `encoding-type=url` (see [`LISTING`]).
pub(crate) fn listing_encode(s: &str) -> String {
    percent_encode(s.as_bytes(), LISTING).to_string()
}

/// Decodes `%XX` escapes; every other byte stands for itself (`+` stays `+`).
/// `None` when a `%` is not followed by two hex digits. Code that turns the same raw path
/// into an object key should decode with this function, so that what is routed is what
/// was signed.
pub(crate) fn percent_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = hex_value(bytes.next()?)?;
            let lo = hex_value(bytes.next()?)?;
            out.push((hi << 4) | lo);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// [`percent_decode`], then UTF-8.
pub(crate) fn percent_decode_text(input: &str) -> Option<String> {
    String::from_utf8(percent_decode(input)?).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Escapes text for XML character data and attribute values (XML 1.0 §2.4: `&` and `<`
/// always; `>`, `"` and `'` too, so the text is safe in either place). A carriage return is
/// written as a character reference, as S3 does: a parser turns a literal one into a line
/// feed (XML 1.0 §2.11), which would change an object key.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' => out.push_str("&#13;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An attacker-chosen value made short and printable for a message: visible ASCII only, at
/// most 64 characters, `…` when anything was left out.
pub(crate) fn printable(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
    if s.len() > out.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uri_encoding_keeps_only_the_unreserved_characters() {
        assert_eq!(
            uri_encode("a b+c/%~-_.!*'()ü".as_bytes()),
            "a%20b%2Bc%2F%25~-_.%21%2A%27%28%29%C3%BC"
        );
        let mut out = String::from("/");
        uri_encode_into(b"x y", &mut out);
        assert_eq!(out, "/x%20y");
    }

    #[test]
    fn listing_encoding_keeps_slashes_and_encodes_plus() {
        assert_eq!(listing_encode("p/a b/\u{e9}+&.txt"), "p/a%20b/%C3%A9%2B%26.txt");
    }

    #[test]
    fn a_malformed_escape_does_not_decode() {
        for bad in ["%", "%2", "%zz", "a%2", "%%41", "%G0"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
        assert_eq!(percent_decode("a+b%2B%c3%BC").as_deref(), Some("a+b+ü".as_bytes()));
        assert_eq!(percent_decode_text("%FF"), None);
    }

    #[test]
    fn xml_escaping_covers_the_five_predefined_entities() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }

    #[test]
    fn carriage_returns_survive_an_xml_parser() {
        let text = "a\rb\r\nc";
        let doc = format!("<k>{}</k>", xml_escape(text));
        assert_eq!(doc, "<k>a&#13;b&#13;\nc</k>");
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        assert_eq!(parsed.root_element().text(), Some(text));
    }

    #[test]
    fn printable_drops_control_characters_and_shortens() {
        assert_eq!(printable("ab\ncd"), "abcd…");
        assert_eq!(printable(&"x".repeat(70)), format!("{}…", "x".repeat(64)));
        assert_eq!(printable("plain"), "plain");
    }

    proptest! {
        #[test]
        fn uri_encoding_round_trips_through_percent_decoding(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded = uri_encode(&bytes);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
            prop_assert_eq!(percent_decode(&encoded), Some(bytes));
        }

        #[test]
        fn listing_encoding_round_trips_through_unquote_plus(key in "\\PC{0,40}") {
            let encoded = listing_encode(&key);
            prop_assert!(!encoded.contains('+') && !encoded.contains(' '));
            prop_assert_eq!(percent_decode_text(&encoded), Some(key));
        }

        #[test]
        fn the_crate_encoder_matches_a_byte_by_byte_uri_encode(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let by_hand: String = bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            prop_assert_eq!(uri_encode(&bytes), by_hand);
        }
    }
}
