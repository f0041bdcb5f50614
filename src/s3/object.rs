//! GetObject / HeadObject evaluated against an object's metadata: `Range` (RFC 9110 §14),
//! conditional requests (RFC 9110 §13) and the response headers S3 sends.
//!
//! Decisions the specs leave to us:
//! - More than one range (`bytes=0-1,5-6`): the whole object, 200, as S3 does (S3 never
//!   answers `multipart/byteranges`).
//! - A syntactically invalid `Range`, or a unit other than `bytes`, is ignored (RFC 9110 §14.2:
//!   "a server MAY ignore the Range header field").
//! - A suffix range on an empty object is served as the whole (empty) object with 200: RFC
//!   9110 §14.1.1 calls it satisfiable, and there are no bytes to put in a `Content-Range`.
//! - Dates are HTTP-dates, parsed by [`crate::time::parse_http_date`] (which says how).
//! - An `If-Match` or `If-None-Match` that does not parse as an entity-tag list matches
//!   nothing: `If-Match` then fails closed with 412; `If-None-Match` is then true (200).

use http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::time::{http_date, parse_http_date};
use crate::web;

/// Why an object read is answered with an error. `crate::s3::error` maps each to S3's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ObjectError {
    /// `NoSuchKey`.
    #[error("no such key")]
    NoSuchKey,
    /// `PreconditionFailed` (412).
    #[error("a precondition failed")]
    PreconditionFailed,
    /// `InvalidRange` (416), with `Content-Range: bytes */size`.
    #[error("the range is not satisfiable for an object of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    /// `NotImplemented`: a range of an object stored with a `Content-Encoding`.
    #[error("a range of an object stored with a Content-Encoding")]
    EncodedRange,
}

/// What the storage backend says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectMeta {
    pub(crate) size: u64,
    /// The entity-tag with its quotes, e.g. `"9b2cf535f27731c974343645a3985328"`.
    pub(crate) etag: String,
    pub(crate) last_modified_secs: u64,
    /// Default on the wire: `application/octet-stream`.
    pub(crate) content_type: Option<String>,
}

/// An inclusive byte range `start..=end`, always inside the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    /// First byte (RFC 9110 `first-pos`), inclusive.
    pub(crate) start: u64,
    /// Last byte (RFC 9110 `last-pos`), inclusive.
    pub(crate) end: u64,
}

impl ByteRange {
    /// The number of bytes in the range.
    pub(crate) fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// `Content-Range: bytes start-end/size` (RFC 9110 §14.4).
    fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.start, self.end)
    }
}

/// Parses a `Range` header against the object's size.
///
/// `Ok(None)`: serve the whole object (no usable range). `Ok(Some)`: serve 206.
/// `Err(RangeNotSatisfiable)`: 416; send [`unsatisfied_content_range`] with it.
pub(crate) fn parse_range(header: &str, size: u64) -> Result<Option<ByteRange>, ObjectError> {
    // RFC 9110 §14.1: ranges-specifier = range-unit "=" range-set; units are case-insensitive.
    let Some((unit, set)) = header.trim().split_once('=') else {
        return Ok(None);
    };
    if !unit.eq_ignore_ascii_case("bytes") {
        return Ok(None);
    }
    // range-set = 1#range-spec (list syntax tolerates empty elements and OWS).
    let specs: Vec<&str> = set
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty())
        .collect();
    let [spec] = specs.as_slice() else {
        // None or several: whole object (S3 ignores multi-range requests).
        return Ok(None);
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let unsatisfiable = || ObjectError::RangeNotSatisfiable { size };

    if first.is_empty() {
        // suffix-range = "-" suffix-length
        let Some(n) = parse_digits(last) else {
            return Ok(None);
        };
        if n == 0 {
            return Err(unsatisfiable());
        }
        if size == 0 {
            return Ok(None);
        }
        return Ok(Some(ByteRange {
            start: size.saturating_sub(n),
            end: size - 1,
        }));
    }

    // int-range = first-pos "-" [ last-pos ]
    let Some(first) = parse_digits(first) else {
        return Ok(None);
    };
    let last = if last.is_empty() {
        None
    } else {
        match parse_digits(last) {
            Some(l) if l >= first => Some(l),
            // Invalid: last-pos less than first-pos (§14.1.1), or not digits.
            _ => return Ok(None),
        }
    };
    // §14.1.1: satisfiable only if first-pos is less than the representation's length.
    if first >= size {
        return Err(unsatisfiable());
    }
    let last = last.map_or(size - 1, |l| l.min(size - 1));
    Ok(Some(ByteRange {
        start: first,
        end: last,
    }))
}

/// ASCII digits as a number; saturates at `u64::MAX` (a huge position is simply past the end).
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        s.bytes()
            .fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))),
    )
}

/// `Content-Range: bytes */size` for a 416 (RFC 9110 §14.4).
pub(crate) fn unsatisfied_content_range(size: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes */{size}")).unwrap_or(HeaderValue::from_static("bytes */0"))
}

/// The outcome of the preconditions of a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conditional {
    /// Serve the object (200 or 206).
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

/// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` for a
/// GET or HEAD, in the order of RFC 9110 §13.2.2.
pub(crate) fn evaluate_conditionals(headers: &HeaderMap, meta: &ObjectMeta) -> Conditional {
    let last_modified = i64::try_from(meta.last_modified_secs).unwrap_or(i64::MAX);

    // Step 1: If-Match, strong comparison (§13.1.1).
    if let Some(matches) = web::if_match(headers, &meta.etag) {
        if !matches {
            return Conditional::PreconditionFailed;
        }
    } else if let Some(date) = single(headers, &header::IF_UNMODIFIED_SINCE).and_then(parse_http_date) {
        // Step 2: If-Unmodified-Since, only without If-Match; an invalid date is ignored.
        if last_modified > date {
            return Conditional::PreconditionFailed;
        }
    }

    // Step 3: If-None-Match, weak comparison (§13.1.2); false → 304 for GET/HEAD.
    if let Some(matches) = web::if_none_match(headers, &meta.etag) {
        if matches {
            return Conditional::NotModified;
        }
    } else if let Some(date) = single(headers, &header::IF_MODIFIED_SINCE).and_then(parse_http_date) {
        // Step 4: If-Modified-Since, only without If-None-Match.
        if last_modified <= date {
            return Conditional::NotModified;
        }
    }
    Conditional::Proceed
}

/// A single-valued header as text; several lines or non-ASCII text make it unusable.
fn single<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// 206 with a range, else 200.
pub(crate) fn status(range: Option<&ByteRange>) -> StatusCode {
    if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    }
}

/// The headers of a 200/206: `ETag`, `Last-Modified`, `Content-Type`, `Content-Length`,
/// `Accept-Ranges`, and `Content-Range` for a range. An `ETag` or `Content-Type` from the
/// backend that is not a valid header value is left out (respectively defaulted).
pub(crate) fn response_headers(meta: &ObjectMeta, range: Option<&ByteRange>) -> HeaderMap {
    let mut h = validator_headers(meta);
    let content_type = meta
        .content_type
        .as_deref()
        .and_then(|ct| HeaderValue::from_str(ct).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    match range {
        Some(r) => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(r.len()));
            if let Ok(v) = HeaderValue::from_str(&r.content_range(meta.size)) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        None => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
        }
    }
    h
}

/// The headers of a 304: `ETag` and `Last-Modified` (RFC 9110 §15.4.5).
pub(crate) fn not_modified_headers(meta: &ObjectMeta) -> HeaderMap {
    validator_headers(meta)
}

fn validator_headers(meta: &ObjectMeta) -> HeaderMap {
    let mut h = HeaderMap::new();
    if web::is_entity_tag(&meta.etag) {
        if let Ok(v) = HeaderValue::from_str(&meta.etag) {
            h.insert(header::ETAG, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(meta.last_modified_secs)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::error::{S3Code, S3Error};
    use proptest::prelude::*;

    const ETAG: &str = "\"abc123\"";
    // Sun, 06 Nov 1994 08:49:37 GMT
    const T1994: u64 = 784_111_777;

    fn meta() -> ObjectMeta {
        ObjectMeta {
            size: 1000,
            etag: ETAG.into(),
            last_modified_secs: T1994,
            content_type: Some("text/plain".into()),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn eval(pairs: &[(&str, &str)]) -> Conditional {
        evaluate_conditionals(&headers(pairs), &meta())
    }

    fn r(first: u64, last: u64) -> Option<ByteRange> {
        Some(ByteRange {
            start: first,
            end: last,
        })
    }

    // --- Range ---

    #[test]
    fn closed_range_is_served() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(r(0, 99)));
        assert_eq!(parse_range("bytes=500-500", 1000), Ok(r(500, 500)));
    }

    #[test]
    fn open_range_runs_to_the_end() {
        assert_eq!(parse_range("bytes=900-", 1000), Ok(r(900, 999)));
    }

    #[test]
    fn suffix_range_is_the_last_bytes() {
        assert_eq!(parse_range("bytes=-100", 1000), Ok(r(900, 999)));
        assert_eq!(parse_range("bytes=-5000", 1000), Ok(r(0, 999)));
    }

    #[test]
    fn last_position_past_the_end_is_clamped() {
        assert_eq!(parse_range("bytes=10-5000", 1000), Ok(r(10, 999)));
        assert_eq!(parse_range("bytes=10-99999999999999999999999", 1000), Ok(r(10, 999)));
    }

    #[test]
    fn range_unit_is_case_insensitive_and_whitespace_tolerated() {
        assert_eq!(parse_range("Bytes=0-1", 1000), Ok(r(0, 1)));
        assert_eq!(parse_range("bytes= 0-1 ,", 1000), Ok(r(0, 1)));
    }

    #[test]
    fn first_position_past_the_end_is_unsatisfiable() {
        for h in ["bytes=1000-", "bytes=1000-2000", "bytes=99999999999999999999999-"] {
            let e = parse_range(h, 1000).unwrap_err();
            assert_eq!(e, ObjectError::RangeNotSatisfiable { size: 1000 }, "{h}");
            assert_eq!(S3Error::from(e).code(), S3Code::InvalidRange, "{h}");
        }
        assert_eq!(unsatisfied_content_range(1000), "bytes */1000");
    }

    #[test]
    fn zero_suffix_is_unsatisfiable() {
        assert_eq!(
            parse_range("bytes=-0", 1000),
            Err(ObjectError::RangeNotSatisfiable { size: 1000 })
        );
    }

    #[test]
    fn empty_object_ranges() {
        assert_eq!(
            parse_range("bytes=0-", 0),
            Err(ObjectError::RangeNotSatisfiable { size: 0 })
        );
        assert_eq!(parse_range("bytes=-5", 0), Ok(None));
    }

    #[test]
    fn multiple_ranges_serve_the_whole_object() {
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("bytes=0-1, 2000-3000", 1000), Ok(None));
    }

    #[test]
    fn invalid_range_syntax_is_ignored() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=abc",
            "bytes=5-1",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=0x1-2",
            "items=0-1",
            "bytes 0-1",
            "bytes=-1-",
        ] {
            assert_eq!(parse_range(h, 1000), Ok(None), "{h:?}");
        }
    }

    #[test]
    fn content_range_formats() {
        assert_eq!(ByteRange { start: 0, end: 99 }.content_range(1000), "bytes 0-99/1000");
        assert_eq!(ByteRange { start: 0, end: 99 }.len(), 100);
    }

    // --- Conditionals (RFC 9110 §13.2.2) ---

    #[test]
    fn no_conditionals_proceed() {
        assert_eq!(eval(&[]), Conditional::Proceed);
    }

    #[test]
    fn if_match_with_the_current_etag_proceeds() {
        assert_eq!(eval(&[("if-match", ETAG)]), Conditional::Proceed);
        assert_eq!(eval(&[("if-match", "\"x\", \"abc123\"")]), Conditional::Proceed);
        assert_eq!(
            eval(&[("if-match", "\"x\""), ("if-match", "\"abc123\"")]),
            Conditional::Proceed
        );
        assert_eq!(eval(&[("if-match", "*")]), Conditional::Proceed);
    }

    #[test]
    fn if_match_with_another_etag_fails_the_precondition() {
        assert_eq!(eval(&[("if-match", "\"other\"")]), Conditional::PreconditionFailed);
        assert_eq!(
            S3Error::from(ObjectError::PreconditionFailed).code(),
            S3Code::PreconditionFailed
        );
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        assert_eq!(eval(&[("if-match", "W/\"abc123\"")]), Conditional::PreconditionFailed);
    }

    #[test]
    fn malformed_if_match_fails_closed() {
        assert_eq!(eval(&[("if-match", "abc123")]), Conditional::PreconditionFailed);
    }

    #[test]
    fn if_unmodified_since_before_last_modified_fails() {
        assert_eq!(
            eval(&[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:36 GMT")]),
            Conditional::PreconditionFailed
        );
        assert_eq!(
            eval(&[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            Conditional::Proceed
        );
    }

    #[test]
    fn if_unmodified_since_is_ignored_when_if_match_is_present() {
        assert_eq!(
            eval(&[
                ("if-match", ETAG),
                ("if-unmodified-since", "Sat, 01 Jan 1994 00:00:00 GMT")
            ]),
            Conditional::Proceed
        );
    }

    #[test]
    fn invalid_if_unmodified_since_is_ignored() {
        assert_eq!(eval(&[("if-unmodified-since", "yesterday")]), Conditional::Proceed);
    }

    #[test]
    fn if_none_match_with_the_current_etag_is_not_modified() {
        assert_eq!(eval(&[("if-none-match", ETAG)]), Conditional::NotModified);
        assert_eq!(eval(&[("if-none-match", "*")]), Conditional::NotModified);
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert_eq!(eval(&[("if-none-match", "W/\"abc123\"")]), Conditional::NotModified);
    }

    #[test]
    fn a_malformed_if_none_match_is_no_match_and_ignores_if_modified_since() {
        for value in ["abc123", "\"other\", *", "W/abc123"] {
            let pairs = [
                ("if-none-match", value),
                ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ];
            assert_eq!(eval(&pairs), Conditional::Proceed, "{value}");
        }
        // Several lines are one list.
        let pairs = [("if-none-match", "\"other\""), ("if-none-match", ETAG)];
        assert_eq!(eval(&pairs), Conditional::NotModified);
    }

    #[test]
    fn if_none_match_with_another_etag_proceeds() {
        assert_eq!(eval(&[("if-none-match", "\"other\", W/\"x\"")]), Conditional::Proceed);
    }

    #[test]
    fn if_modified_since_at_or_after_last_modified_is_not_modified() {
        assert_eq!(
            eval(&[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            Conditional::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", "Sun, 06 Nov 1994 08:49:36 GMT")]),
            Conditional::Proceed
        );
    }

    #[test]
    fn if_modified_since_is_ignored_when_if_none_match_is_present() {
        assert_eq!(
            eval(&[
                ("if-none-match", "\"other\""),
                ("if-modified-since", "Sun, 06 Nov 2044 08:49:37 GMT")
            ]),
            Conditional::Proceed
        );
    }

    #[test]
    fn precondition_failure_wins_over_not_modified() {
        assert_eq!(
            eval(&[("if-match", "\"other\""), ("if-none-match", ETAG)]),
            Conditional::PreconditionFailed
        );
    }

    // --- Response headers ---

    #[test]
    fn full_response_headers() {
        let h = response_headers(&meta(), None);
        assert_eq!(h[header::ETAG], ETAG);
        assert_eq!(h[header::LAST_MODIFIED], "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(h[header::CONTENT_TYPE], "text/plain");
        assert_eq!(h[header::CONTENT_LENGTH], "1000");
        assert_eq!(h[header::ACCEPT_RANGES], "bytes");
        assert!(h.get(header::CONTENT_RANGE).is_none());
        assert_eq!(status(None), StatusCode::OK);
    }

    #[test]
    fn ranged_response_headers() {
        let range = ByteRange { start: 10, end: 19 };
        let h = response_headers(&meta(), Some(&range));
        assert_eq!(h[header::CONTENT_LENGTH], "10");
        assert_eq!(h[header::CONTENT_RANGE], "bytes 10-19/1000");
        assert_eq!(status(Some(&range)), StatusCode::PARTIAL_CONTENT);
    }

    #[test]
    fn content_type_defaults_to_octet_stream() {
        let mut m = meta();
        m.content_type = None;
        assert_eq!(
            response_headers(&m, None)[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        m.content_type = Some("bad\nvalue".into());
        assert_eq!(
            response_headers(&m, None)[header::CONTENT_TYPE],
            "application/octet-stream"
        );
    }

    #[test]
    fn malformed_backend_etag_is_left_out() {
        let mut m = meta();
        m.etag = "no-quotes".into();
        assert!(response_headers(&m, None).get(header::ETAG).is_none());
    }

    #[test]
    fn not_modified_carries_validators_only() {
        let h = not_modified_headers(&meta());
        assert_eq!(h[header::ETAG], ETAG);
        assert!(h.get(header::LAST_MODIFIED).is_some());
        assert!(h.get(header::CONTENT_LENGTH).is_none());
    }

    proptest! {
        #[test]
        fn parse_range_never_panics_and_stays_inside(header in "\\PC{0,40}", size in any::<u64>()) {
            if let Ok(Some(r)) = parse_range(&header, size) {
                prop_assert!(r.start <= r.end && r.end < size);
            }
        }

        #[test]
        fn parsed_byte_ranges_stay_inside_the_object(
            header in "(bytes|BYTES)=[0-9]{0,21}-[0-9]{0,21}(,[0-9]{0,3}-[0-9]{0,3})?",
            size in 0u64..5000,
        ) {
            match parse_range(&header, size) {
                Ok(Some(r)) => prop_assert!(r.start <= r.end && r.end < size && r.len() <= size),
                Ok(None) => {}
                Err(e) => prop_assert_eq!(e, ObjectError::RangeNotSatisfiable { size }),
            }
        }

        #[test]
        fn conditionals_never_panic(im in "\\PC{0,30}", inm in "[ -~]{0,30}", date in "[ -~]{0,30}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&im) { h.insert(header::IF_MATCH, v); }
            if let Ok(v) = HeaderValue::from_str(&inm) { h.insert(header::IF_NONE_MATCH, v); }
            if let Ok(v) = HeaderValue::from_str(&date) { h.insert(header::IF_MODIFIED_SINCE, v); }
            let _ = evaluate_conditionals(&h, &meta());
        }
    }
}
