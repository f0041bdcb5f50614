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
//! - RFC 850 dates carry two-digit years: `70`–`99` are 19xx, `00`–`69` are 20xx (the core has
//!   no clock to apply §5.6.7's "50 years in the future" rule against). Dates are not checked
//!   against the current time either (§13.1.3's "later than the server's time" rule is the
//!   caller's, which has the clock).
//! - An `If-Match` or `If-None-Match` that does not parse as an entity-tag list matches
//!   nothing: `If-Match` then fails closed with 412; `If-None-Match` is then true (200).

use http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::s3::error::{S3Code, S3Error};

/// What the storage backend says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// The entity-tag with its quotes, e.g. `"9b2cf535f27731c974343645a3985328"`.
    pub etag: String,
    pub last_modified_secs: u64,
    /// Default on the wire: `application/octet-stream`.
    pub content_type: Option<String>,
}

/// An inclusive byte range `start..=end`, always inside the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte (RFC 9110 `first-pos`), inclusive.
    pub start: u64,
    /// Last byte (RFC 9110 `last-pos`), inclusive.
    pub end: u64,
}

impl ByteRange {
    /// The number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `Content-Range: bytes start-end/size` (RFC 9110 §14.4).
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.start, self.end)
    }
}

/// Parses a `Range` header against the object's size.
///
/// `Ok(None)`: serve the whole object (no usable range). `Ok(Some)`: serve 206.
/// `Err(InvalidRange)`: 416; send [`unsatisfied_content_range`] with it.
pub fn parse_range(header: &str, size: u64) -> Result<Option<ByteRange>, S3Error> {
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
    let unsatisfiable = || S3Error::new(S3Code::InvalidRange, "The requested range is not satisfiable");

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
pub fn unsatisfied_content_range(size: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes */{size}")).unwrap_or(HeaderValue::from_static("bytes */0"))
}

/// The outcome of the preconditions of a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    /// Serve the object (200 or 206).
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

impl Conditional {
    /// The S3 error for a 412, `None` otherwise.
    pub fn error(self) -> Option<S3Error> {
        match self {
            Conditional::PreconditionFailed => Some(S3Error::new(
                S3Code::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            )),
            _ => None,
        }
    }
}

/// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` for a
/// GET or HEAD, in the order of RFC 9110 §13.2.2.
pub fn evaluate_conditionals(headers: &HeaderMap, meta: &ObjectMeta) -> Conditional {
    let last_modified = i64::try_from(meta.last_modified_secs).unwrap_or(i64::MAX);

    // Step 1: If-Match, strong comparison (§13.1.1).
    if let Some(value) = joined(headers, &header::IF_MATCH) {
        if !etag_list_matches(&value, &meta.etag, true) {
            return Conditional::PreconditionFailed;
        }
    } else if let Some(date) = single(headers, &header::IF_UNMODIFIED_SINCE).and_then(parse_http_date) {
        // Step 2: If-Unmodified-Since, only without If-Match; an invalid date is ignored.
        if last_modified > date {
            return Conditional::PreconditionFailed;
        }
    }

    // Step 3: If-None-Match, weak comparison (§13.1.2); false → 304 for GET/HEAD.
    if let Some(value) = joined(headers, &header::IF_NONE_MATCH) {
        if etag_list_matches(&value, &meta.etag, false) {
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

/// All field lines of a list-valued header joined with `,` (RFC 9110 §5.3). A line that is
/// not UTF-8 becomes a NUL, which no list holds; UTF-8 beyond ASCII is `obs-text`, which an
/// opaque-tag may hold (§8.8.3).
fn joined(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let parts: Vec<&str> = values
        .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("\u{0}"))
        .collect();
    Some(parts.join(","))
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

/// One parsed entity-tag: (weak, opaque-tag including its quotes).
fn parse_etag(s: &str) -> Option<(bool, &str)> {
    let (weak, rest) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    // entity-tag = [ weak ] opaque-tag; opaque-tag = DQUOTE *etagc DQUOTE
    let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
    let etagc_ok = inner
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80);
    etagc_ok.then_some((weak, rest))
}

/// `*` or a list of entity-tags, compared with `meta_etag` (strong or weak comparison).
/// A malformed list matches nothing.
fn etag_list_matches(value: &str, meta_etag: &str, strong: bool) -> bool {
    // §13.1.1, §13.1.2: `*` matches any current representation, whatever its entity-tag.
    if value.trim() == "*" {
        return true;
    }
    let (Some((meta_weak, meta_opaque)), Some(tags)) = (parse_etag(meta_etag.trim()), parse_etag_list(value)) else {
        return false;
    };
    tags.into_iter()
        .any(|(weak, opaque)| opaque == meta_opaque && (!strong || (!weak && !meta_weak)))
}

/// `#entity-tag` (RFC 9110 §5.6.1, empty elements allowed); `None` when malformed. An
/// opaque-tag may hold commas, so an element ends at the quote that closes it.
fn parse_etag_list(value: &str) -> Option<Vec<(bool, &str)>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(tags);
        }
        let open = rest.find('"')?;
        let close = open + 1 + rest.get(open + 1..)?.find('"')?;
        let (item, after) = rest.split_at_checked(close + 1)?;
        tags.push(parse_etag(item)?);
        rest = after.trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime
/// forms recipients must accept. Seconds since the epoch (negative before 1970); `None` for
/// anything else.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim_matches([' ', '\t']);
    if let Some((day, rest)) = s.split_once(", ") {
        if DAY_NAMES.contains(&day) {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            let parts: Vec<&str> = rest.split(' ').collect();
            let [d, mon, y, time, "GMT"] = parts.as_slice() else {
                return None;
            };
            return build_date(fixed_num(y, 4)?, mon, fixed_num(d, 2)?, time);
        }
        if LONG_DAY_NAMES.contains(&day) {
            // rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
            let parts: Vec<&str> = rest.split(' ').collect();
            let [date, time, "GMT"] = parts.as_slice() else {
                return None;
            };
            let dparts: Vec<&str> = date.split('-').collect();
            let [d, mon, yy] = dparts.as_slice() else {
                return None;
            };
            let yy = fixed_num(yy, 2)?;
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            return build_date(year, mon, fixed_num(d, 2)?, time);
        }
        return None;
    }
    // asctime-date: Sun Nov  6 08:49:37 1994 (day is two digits or space and one digit)
    let (day, rest) = s.split_at_checked(4)?;
    let name = day.strip_suffix(' ')?;
    if !DAY_NAMES.contains(&name) {
        return None;
    }
    let (mon, rest) = rest.split_at_checked(4)?;
    let mon = mon.strip_suffix(' ')?;
    let (d, rest) = rest.split_at_checked(3)?;
    let d = d.strip_suffix(' ')?;
    let d = match d.strip_prefix(' ') {
        Some(one) => fixed_num(one, 1)?,
        None => fixed_num(d, 2)?,
    };
    let (time, y) = rest.split_once(' ')?;
    build_date(fixed_num(y, 4)?, mon, d, time)
}

/// Exactly `width` ASCII digits.
fn fixed_num(s: &str, width: usize) -> Option<i64> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn build_date(year: i64, mon: &str, day: i64, time: &str) -> Option<i64> {
    let month = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let tparts: Vec<&str> = time.split(':').collect();
    let [h, m, sec] = tparts.as_slice() else {
        return None;
    };
    let (h, m, sec) = (fixed_num(h, 2)?, fixed_num(m, 2)?, fixed_num(sec, 2)?);
    // time-of-day: hour 00-23, minute 00-59, second 00-60 (leap second).
    if h > 23 || m > 59 || sec > 60 || day < 1 || day > crate::time::days_in_month(year, month) {
        return None;
    }
    Some(crate::time::days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = crate::time::civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = DAY_NAMES[usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(m.saturating_sub(1)).unwrap_or(0)];
    format!(
        "{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// 206 with a range, else 200.
pub fn status(range: Option<&ByteRange>) -> StatusCode {
    if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    }
}

/// The headers of a 200/206: `ETag`, `Last-Modified`, `Content-Type`, `Content-Length`,
/// `Accept-Ranges`, and `Content-Range` for a range. An `ETag` or `Content-Type` from the
/// backend that is not a valid header value is left out (respectively defaulted).
pub fn response_headers(meta: &ObjectMeta, range: Option<&ByteRange>) -> HeaderMap {
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
pub fn not_modified_headers(meta: &ObjectMeta) -> HeaderMap {
    validator_headers(meta)
}

fn validator_headers(meta: &ObjectMeta) -> HeaderMap {
    let mut h = HeaderMap::new();
    if parse_etag(&meta.etag).is_some() {
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
            assert_eq!(e.code, S3Code::InvalidRange, "{h}");
        }
        assert_eq!(unsatisfied_content_range(1000), "bytes */1000");
    }

    #[test]
    fn zero_suffix_is_unsatisfiable() {
        assert_eq!(parse_range("bytes=-0", 1000).unwrap_err().code, S3Code::InvalidRange);
    }

    #[test]
    fn empty_object_ranges() {
        assert_eq!(parse_range("bytes=0-", 0).unwrap_err().code, S3Code::InvalidRange);
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
            Conditional::PreconditionFailed.error().map(|e| e.code),
            Some(S3Code::PreconditionFailed)
        );
    }

    /// Each (header, value) alone, for an object with the entity-tag `etag`: the outcomes.
    fn outcomes(etag: &str, cases: &[(&str, &str)]) -> Vec<Conditional> {
        let meta = ObjectMeta {
            etag: etag.into(),
            ..meta()
        };
        cases
            .iter()
            .map(|&case| evaluate_conditionals(&headers(&[case]), &meta))
            .collect()
    }

    #[test]
    fn an_entity_tag_may_hold_commas() {
        let cases = [
            ("if-match", "\"a,b\""),
            ("if-match", "\"x\", \"a,b\","),
            ("if-match", "\"a\", \"b\""),
            ("if-none-match", "W/\"a,b\""),
            // Still a list of entity-tags: anything between them is malformed.
            ("if-match", "\"a,b\" x"),
        ];
        use Conditional::*;
        let expected = [Proceed, Proceed, PreconditionFailed, NotModified, PreconditionFailed];
        assert_eq!(outcomes("\"a,b\"", &cases), expected);
    }

    #[test]
    fn a_list_with_tags_beyond_ascii_still_matches() {
        let cases = [
            ("if-match", "\"caf\u{e9}\", \"abc123\""),
            ("if-none-match", "W/\"\u{fc}\", \"abc123\""),
        ];
        assert_eq!(outcomes(ETAG, &cases), [Conditional::Proceed, Conditional::NotModified]);
    }

    #[test]
    fn star_matches_an_object_whose_entity_tag_is_malformed() {
        // A backend's `ETag: "abc` is kept as sent; the object still exists.
        let cases = [("if-match", "*"), ("if-none-match", "*"), ("if-match", "\"abc\"")];
        use Conditional::*;
        assert_eq!(outcomes("\"abc", &cases), [Proceed, NotModified, PreconditionFailed]);
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

    // --- Dates ---

    #[test]
    fn three_http_date_forms_parse_to_the_same_instant() {
        let t = Some(T1994 as i64);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(
            parse_http_date("Sun Nov 16 08:49:37 1994"),
            Some(T1994 as i64 + 10 * 86_400)
        );
    }

    #[test]
    fn rfc850_two_digit_years_pivot_at_70() {
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"), Some(946_684_800));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for s in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "1994-11-06T08:49:37Z",
        ] {
            assert_eq!(parse_http_date(s), None, "{s:?}");
        }
        assert!(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT").is_some());
    }

    #[test]
    fn dates_before_1970_are_negative() {
        assert_eq!(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), Some(-1));
    }

    #[test]
    fn http_date_formats_imf_fixdate() {
        assert_eq!(http_date(T1994), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_435_200), "Mon, 23 Nov 2026 12:00:00 GMT");
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
                Err(e) => prop_assert_eq!(e.code, S3Code::InvalidRange),
            }
        }

        #[test]
        fn http_date_round_trips(secs in 0u64..253_402_300_799) {
            prop_assert_eq!(parse_http_date(&http_date(secs)), Some(secs as i64));
        }

        #[test]
        fn parse_http_date_never_panics(s in "\\PC{0,40}") {
            let _ = parse_http_date(&s);
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
