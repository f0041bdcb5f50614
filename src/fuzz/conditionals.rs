//! The conditional request headers of GetObject/HeadObject (`s3::object::evaluate_conditionals`,
//! whose entity-tag lists go through the `web` matcher the JWKS route shares), against an
//! evaluator written here from RFC 9110 §13.1 and §13.2.2.
//!
//! The input is text: the object's entity tag on the first line, its last-modified time (Unix
//! seconds) on the second, then header lines (`Name: value`, visible ASCII as HTTP parsers hand
//! it on, surrounding whitespace dropped). Then:
//! - the outcome is what the RFC's evaluation gives, with the module's documented choices
//!   where the RFC leaves them (an entity-tag list that does not parse matches nothing, so a
//!   bad `If-Match` is 412 and a bad `If-None-Match` is ignored; an invalid or repeated date
//!   is ignored). The list grammar is `#entity-tag` (§5.6.1: empty elements allowed), and an
//!   opaque tag may hold any `etagc`, commas included;
//! - for an object whose entity tag is strong, an `If-Match` list that holds it (appended to
//!   any well-formed list, or alone) never fails the precondition, and `If-Match: *` never does
//!   for any object (it exists).

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::s3::object::{evaluate_conditionals, Conditional, ObjectMeta};
use crate::time::parse_http_date;

/// Last-Modified when the second line is not a number: RFC 9110's example date.
const DEFAULT_TIME: u64 = 784_111_777;

pub fn conditionals(data: &[u8]) {
    let Some(text) = super::text(data) else { return };
    let mut lines = text.split('\n');
    // As a backend's `ETag` header reaches the core (`remote::stored_object` reads it with
    // `to_str`): visible ASCII, surrounding space dropped.
    let etag = lines.next().unwrap_or_default().trim_matches([' ', '\t']).to_owned();
    if HeaderValue::from_str(&etag).map_or(true, |v| v.to_str().is_err()) {
        return;
    }
    let last_modified_secs = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(DEFAULT_TIME);
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim_matches([' ', '\t'])),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let meta = ObjectMeta {
        size: 0,
        etag,
        last_modified_secs,
        content_type: None,
    };
    let outcome = evaluate_conditionals(&headers, &meta);
    assert_eq!(outcome, rfc9110(&headers, &meta), "{headers:?} for {meta:?}");

    if entity_tag(&meta.etag).is_some_and(|(weak, _)| !weak) {
        let list = joined(&headers, "if-match").unwrap_or_default();
        if entity_tags(&list).is_some_and(|t| t != Tags::Any) {
            let mut with_it = headers.clone();
            with_it.remove(http::header::IF_MATCH);
            let value = if list.trim().is_empty() {
                meta.etag.clone()
            } else {
                format!("{list}, {}", meta.etag)
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                with_it.insert(http::header::IF_MATCH, value);
                let outcome = evaluate_conditionals(&with_it, &meta);
                assert_ne!(
                    outcome,
                    Conditional::PreconditionFailed,
                    "If-Match holding the object's {} failed",
                    meta.etag
                );
            }
        }
    }
    let mut any = headers;
    any.insert(http::header::IF_MATCH, HeaderValue::from_static("*"));
    assert_ne!(
        evaluate_conditionals(&any, &meta),
        Conditional::PreconditionFailed,
        "If-Match: * failed"
    );
}

#[derive(Debug, PartialEq, Eq)]
enum Tags {
    Any,
    /// (weak, opaque-tag with its quotes).
    List(Vec<(bool, String)>),
}

/// One entity-tag and nothing else: (weak, opaque-tag with its quotes).
fn entity_tag(s: &str) -> Option<(bool, String)> {
    let (weak, tag) = match s.strip_prefix("W/") {
        Some(tag) => (true, tag),
        None => (false, s),
    };
    let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
    // etagc = %x21 / %x23-7E / obs-text
    let etagc = |c: char| c == '!' || ('#'..='~').contains(&c) || !c.is_ascii();
    inner.chars().all(etagc).then(|| (weak, tag.to_owned()))
}

/// `"*" / #entity-tag`; `None` when the value is neither.
fn entity_tags(value: &str) -> Option<Tags> {
    let ows = |s: &str| s.trim_start_matches([' ', '\t']).to_owned();
    if value.trim_matches([' ', '\t']) == "*" {
        return Some(Tags::Any);
    }
    let mut tags = Vec::new();
    let mut rest = ows(value);
    loop {
        // Empty list elements, and the commas between elements.
        while let Some(after) = rest.strip_prefix(',') {
            rest = ows(after);
        }
        if rest.is_empty() {
            return Some(Tags::List(tags));
        }
        // An element ends at the quote after its opening one (etagc holds no quote).
        let open = rest.find('"')?;
        let close = open + 1 + rest.get(open + 1..)?.find('"')?;
        tags.push(entity_tag(rest.get(..=close)?)?);
        rest = ows(rest.get(close + 1..)?);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
}

/// Every line of a list-valued header, joined with `,` (RFC 9110 §5.3).
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or_else(|_| unreachable!("made from text")))
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// The one line of a date header, parsed; `None` (the header is ignored) otherwise.
fn date(headers: &HeaderMap, name: &str) -> Option<i64> {
    match headers.get_all(name).iter().collect::<Vec<_>>().as_slice() {
        [one] => parse_http_date(one.to_str().ok()?),
        _ => None,
    }
}

/// Does the list match the object's entity tag? `*` matches (the object exists); a list that
/// does not parse matches nothing.
fn matches(list: &str, etag: &str, strong: bool) -> bool {
    let object = entity_tag(etag);
    match entity_tags(list) {
        Some(Tags::Any) => true,
        Some(Tags::List(tags)) => object.is_some_and(|(object_weak, opaque)| {
            // §13.1.1: strong comparison, both strong; §13.1.2: weak, the opaque tags alone.
            tags.iter()
                .any(|(weak, o)| *o == opaque && (!strong || (!weak && !object_weak)))
        }),
        None => false,
    }
}

/// RFC 9110 §13.2.2, steps 1 to 4, for a GET or HEAD of an object that exists.
fn rfc9110(headers: &HeaderMap, meta: &ObjectMeta) -> Conditional {
    let modified = i64::try_from(meta.last_modified_secs).unwrap_or(i64::MAX);
    if let Some(list) = joined(headers, "if-match") {
        if !matches(&list, &meta.etag, true) {
            return Conditional::PreconditionFailed;
        }
    } else if date(headers, "if-unmodified-since").is_some_and(|d| modified > d) {
        return Conditional::PreconditionFailed;
    }
    if let Some(list) = joined(headers, "if-none-match") {
        if matches(&list, &meta.etag, false) {
            return Conditional::NotModified;
        }
    } else if date(headers, "if-modified-since").is_some_and(|d| modified <= d) {
        return Conditional::NotModified;
    }
    Conditional::Proceed
}
