//! SigV4 task 1, the canonical request, with S3's canonicalisation: the path is never
//! normalised, and every path segment and query name and value is decoded, then encoded once.

use http::{HeaderMap, Method};

use super::parse::SigV4Request;
use super::{SigV4Error, Q_SIGNATURE};
use crate::encoding::{percent_decode, uri_encode, uri_encode_into};

/// SigV4 task 1, the canonical request:
///
/// ```text
/// METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n payload_hash
/// ```
/// (`CanonicalHeaders` ends in its own newline, so a blank line precedes `SignedHeaders`.)
pub(crate) fn canonical_request(
    req: &SigV4Request,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    payload_hash: &str,
) -> Result<String, SigV4Error> {
    let uri = canonical_uri(path)?;
    let query = canonical_query(query, req.is_presigned())?;
    let mut out = format!("{method}\n{uri}\n{query}\n");
    for name in req.signed_headers() {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(headers, name)?);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&req.signed_headers().join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// S3's canonical URI: each `/`-separated segment of the raw path percent-decoded, then
/// `UriEncode`d once. No dot-segment removal; empty segments kept. An empty path is `/`.
pub(crate) fn canonical_uri(path: &str) -> Result<String, SigV4Error> {
    if path.is_empty() {
        return Ok("/".to_owned());
    }
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let decoded = percent_decode(segment).ok_or(SigV4Error::InvalidPercentEncoding { part: "path" })?;
        uri_encode_into(&decoded, &mut out);
    }
    Ok(out)
}

/// The canonical query string: each parameter's name and value decoded and `UriEncode`d,
/// sorted by name then value, joined with `&`. `X-Amz-Signature` is left out when presigned.
pub(crate) fn canonical_query(query: Option<&str>, presigned: bool) -> Result<String, SigV4Error> {
    let bad = SigV4Error::InvalidPercentEncoding { part: "query" };
    let mut pairs = Vec::new();
    for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = percent_decode(name).ok_or_else(|| bad.clone())?;
        // Query auth: "include all the query parameters ... except for X-Amz-Signature".
        if presigned && name == Q_SIGNATURE.as_bytes() {
            continue;
        }
        let value = percent_decode(value).ok_or_else(|| bad.clone())?;
        pairs.push((uri_encode(&name), uri_encode(&value)));
    }
    pairs.sort_unstable();
    let joined: Vec<String> = pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
    Ok(joined.join("&"))
}

/// All values of a signed header, each trimmed with runs of spaces and tabs folded to one
/// space, joined with `,` (SigV4 "CanonicalHeaders": `Trimall`).
fn canonical_header_value(headers: &HeaderMap, name: &str) -> Result<String, SigV4Error> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(SigV4Error::SignedHeaderMissing { name: name.to_owned() });
    }
    let mut out = String::new();
    for (i, value) in values.enumerate() {
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| SigV4Error::SignedHeaderNotUtf8 { name: name.to_owned() })?;
        if i > 0 {
            out.push(',');
        }
        for (j, word) in text.split([' ', '\t']).filter(|w| !w.is_empty()).enumerate() {
            if j > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::sigv4::test_client::{headers, s3_code};
    use http::HeaderValue;

    #[test]
    fn canonical_uri_keeps_empty_and_dot_segments() {
        for path in ["/", "//", "/a//b/", "/a/../b/./c", "/..", "/./"] {
            assert_eq!(canonical_uri(path).unwrap(), path);
        }
        assert_eq!(canonical_uri("").unwrap(), "/");
    }

    #[test]
    fn canonical_uri_decodes_then_encodes_each_segment_once() {
        assert_eq!(
            canonical_uri("/a%20b/c+d/%e2%82%ac/ü/%2F/%41~!*'()").unwrap(),
            "/a%20b/c%2Bd/%E2%82%AC/%C3%BC/%2F/A~%21%2A%27%28%29"
        );
        // Encoded once, not twice: `%2520` is a literal "%20" in the key.
        assert_eq!(canonical_uri("/%2520").unwrap(), "/%2520");
    }

    #[test]
    fn invalid_percent_encoding_is_refused() {
        for path in ["/a%zz", "/a%2", "/%", "/%%41"] {
            let err = canonical_uri(path).unwrap_err();
            assert_eq!(err, SigV4Error::InvalidPercentEncoding { part: "path" }, "{path}");
            assert_eq!(s3_code(&err), "InvalidArgument");
        }
        for query in ["a=%G0", "%=1", "a=1&b=%"] {
            assert_eq!(
                canonical_query(Some(query), false),
                Err(SigV4Error::InvalidPercentEncoding { part: "query" }),
                "{query}"
            );
        }
    }

    #[test]
    fn canonical_query_sorts_by_name_then_value_and_keeps_plus_literal() {
        let query = "b=2&a=y&a=x&c&d=e+f&%41=1&e=a%2fb=c&&f=%7E";
        assert_eq!(
            canonical_query(Some(query), false).unwrap(),
            "A=1&a=x&a=y&b=2&c=&d=e%2Bf&e=a%2Fb%3Dc&f=~"
        );
        assert_eq!(canonical_query(None, false).unwrap(), "");
        assert_eq!(canonical_query(Some(""), false).unwrap(), "");
    }

    #[test]
    fn presigned_query_leaves_out_only_x_amz_signature() {
        let query = "X-Amz-Signature=ab&x-amz-signature=cd&X-Amz-Date=1";
        assert_eq!(
            canonical_query(Some(query), true).unwrap(),
            "X-Amz-Date=1&x-amz-signature=cd"
        );
        assert_eq!(
            canonical_query(Some(query), false).unwrap(),
            "X-Amz-Date=1&X-Amz-Signature=ab&x-amz-signature=cd"
        );
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        let sent = headers(&[("my-h", "  a \t b   c "), ("my-h", "d"), ("my-h", ""), ("empty", "")]);
        assert_eq!(canonical_header_value(&sent, "my-h").unwrap(), "a b c,d,");
        assert_eq!(canonical_header_value(&sent, "empty").unwrap(), "");
        assert_eq!(
            canonical_header_value(&sent, "absent"),
            Err(SigV4Error::SignedHeaderMissing { name: "absent".into() })
        );
        let mut latin1 = HeaderMap::new();
        latin1.insert("my-h", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(
            canonical_header_value(&latin1, "my-h"),
            Err(SigV4Error::SignedHeaderNotUtf8 { name: "my-h".into() })
        );
    }
}
