//! HTTP plumbing shared by every route family: the body type, JSON responses,
//! CORS, conditional requests and `HEAD`.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

/// A response body.
#[derive(Debug, Default)]
pub(crate) enum Body {
    #[default]
    Empty,
    Full(Vec<u8>),
    /// A body streamed through from a backend without buffering. The handle is the
    /// adapter's own stream type (a `ReadableStream` on Workers); the core only moves it.
    Stream(StreamBody),
}

/// An opaque, adapter-owned stream (see [`Body::Stream`]).
pub(crate) struct StreamBody(pub(crate) Box<dyn std::any::Any>);

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamBody")
    }
}

impl PartialEq for Body {
    /// Streams are never equal (their content is not known); other bodies by their bytes.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Body::Stream(_), _) | (_, Body::Stream(_)) => false,
            (a, b) => a.as_bytes() == b.as_bytes(),
        }
    }
}

impl Body {
    /// Length of a buffered body; 0 for a stream (whose length travels in `Content-Length`).
    pub(crate) fn len(&self) -> usize {
        match self {
            Body::Empty | Body::Stream(_) => 0,
            Body::Full(b) => b.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a buffered body; empty for a stream.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty | Body::Stream(_) => &[],
            Body::Full(b) => b,
        }
    }
}

/// Largest request body read into memory (form posts to `/.sts` are a few KiB).
const MAX_REQUEST_BODY: usize = 64 * 1024;

/// A request body past [`MAX_REQUEST_BODY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyTooLarge;

/// A request body collected chunk by chunk and given up the moment it passes
/// [`MAX_REQUEST_BODY`], so a body without `Content-Length` (chunked) is never read
/// further than the bound.
#[derive(Debug, Default)]
pub(crate) struct BoundedBody(Vec<u8>);

impl BoundedBody {
    /// Refuses at once a body whose declared `Content-Length` is already past the bound.
    pub(crate) fn expecting(content_length: Option<&HeaderValue>) -> Result<Self, BodyTooLarge> {
        // RFC 9110 §8.6: Content-Length = 1*DIGIT (too many digits for u64 is too large).
        let declared = content_length
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
        match declared.map(str::parse::<u64>) {
            Some(Ok(n)) if n <= MAX_REQUEST_BODY as u64 => Ok(Self::default()),
            Some(_) => Err(BodyTooLarge),
            // No usable length: bounded while it is read.
            None => Ok(Self::default()),
        }
    }

    /// Appends one chunk, or fails if the body would pass the bound.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), BodyTooLarge> {
        if self.0.len().saturating_add(chunk.len()) > MAX_REQUEST_BODY {
            return Err(BodyTooLarge);
        }
        self.0.extend_from_slice(chunk);
        Ok(())
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// 413 for a request body past [`MAX_REQUEST_BODY`].
pub(crate) fn body_too_large() -> Response<Body> {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "request body too large",
    )
}

/// Methods every read-only route serves, with the CORS preflight.
pub(crate) const READ_METHODS: &[Method] = &[Method::GET, Method::HEAD, Method::OPTIONS];

/// A response with a body and content type.
pub(crate) fn with_body(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut res = Response::new(Body::Full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    with_body(status, "application/json", body)
}

/// A back-channel request: `POST uri` with an `application/x-www-form-urlencoded` body,
/// asking for `accept` (the OAuth endpoints' JSON, the STS's XML).
pub(crate) fn form_post(uri: http::Uri, body: Vec<u8>, accept: &'static str) -> http::Request<Vec<u8>> {
    let mut req = http::Request::new(body);
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = uri;
    let h = req.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h.insert(header::ACCEPT, HeaderValue::from_static(accept));
    req
}

/// An OAuth-style JSON error (RFC 6749 §5.2 shape): `{"error", "error_description"}`.
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut res = json(status, serde_json::to_vec(&body).unwrap_or_default());
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `Allow` header value for a method list.
pub(crate) fn allow_value(methods: &[Method]) -> HeaderValue {
    let joined = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    HeaderValue::from_str(&joined).unwrap_or_else(|_| HeaderValue::from_static("GET"))
}

/// 405 with `Allow` (RFC 9110 §15.5.6), as an OAuth-style JSON error.
pub(crate) fn method_not_allowed(methods: &[Method]) -> Response<Body> {
    let mut res = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not served here",
    );
    res.headers_mut().insert(header::ALLOW, allow_value(methods));
    res
}

/// Answers a CORS preflight (Fetch standard §3.2) for a route serving `methods`.
pub(crate) fn preflight(request_headers: &HeaderMap, methods: &[Method]) -> Response<Body> {
    let mut res = Response::new(Body::Empty);
    *res.status_mut() = StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    h.insert(header::ALLOW, allow_value(methods));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow_value(methods));
    // Echo the requested headers when they are well-formed tokens; anything else gets none.
    if let Some(requested) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        let ok = requested
            .to_str()
            .map(|s| s.split(',').all(|t| is_token(t.trim())))
            .unwrap_or(false);
        if ok {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
    }
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    res
}

/// Adds the CORS headers every response carries. Credentials are never sent
/// cross-origin by browsers to a `*` origin, so `*` is safe for these public routes.
pub(crate) fn add_cors(res: &mut Response<Body>) {
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag, Content-Length, Content-Range, Last-Modified, x-amz-request-id"),
    );
}

/// Does `If-Match` match `etag`? `None` when the request has no `If-Match`. Strong
/// comparison (RFC 9110 §13.1.1); see [`etag_list_matches`].
pub(crate) fn if_match(request_headers: &HeaderMap, etag: &str) -> Option<bool> {
    joined(request_headers, &header::IF_MATCH).map(|value| etag_list_matches(&value, etag, Comparison::Strong))
}

/// Does `If-None-Match` match `etag`? `None` when the request has no `If-None-Match`. Weak
/// comparison (RFC 9110 §13.1.2); see [`etag_list_matches`].
pub(crate) fn if_none_match(request_headers: &HeaderMap, etag: &str) -> Option<bool> {
    joined(request_headers, &header::IF_NONE_MATCH).map(|value| etag_list_matches(&value, etag, Comparison::Weak))
}

/// How two entity-tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    /// Both strong and their opaque-tags equal.
    Strong,
    /// Their opaque-tags equal, either or both weak.
    Weak,
}

/// All field lines of a list-valued header joined with `,` (RFC 9110 §5.3). A line that is
/// not UTF-8 becomes a NUL, which no list holds, so it spoils the list (it then matches
/// nothing); UTF-8 beyond ASCII is `obs-text`, which an opaque-tag may hold (§8.8.3).
fn joined(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let parts: Vec<&str> = values
        .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("\u{0}"))
        .collect();
    Some(parts.join(","))
}

/// Is `s` an entity-tag (RFC 9110 §8.8.3), such as an `ETag` value must be?
pub(crate) fn is_entity_tag(s: &str) -> bool {
    parse_etag(s).is_some()
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

/// `*` or a list of entity-tags (`If-Match` / `If-None-Match`, RFC 9110 §13.1.1-2), compared
/// with `etag`. `*` matches any current representation, whatever its entity-tag (a backend's
/// malformed `ETag` included). A value that is not one of the two forms (an unquoted tag, `*`
/// inside a list) matches nothing: `If-Match` then fails closed and `If-None-Match` sends the
/// full response.
fn etag_list_matches(value: &str, etag: &str, comparison: Comparison) -> bool {
    if value.trim() == "*" {
        return true;
    }
    let (Some((ours_weak, ours)), Some(tags)) = (parse_etag(etag.trim()), parse_etag_list(value)) else {
        return false;
    };
    tags.into_iter().any(|(weak, opaque)| {
        opaque == ours
            && match comparison {
                Comparison::Weak => true,
                Comparison::Strong => !weak && !ours_weak,
            }
    })
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

/// Turns a GET response into the matching HEAD response: same status and headers,
/// `Content-Length` of the body that GET would send, and no body.
pub(crate) fn into_head(mut res: Response<Body>) -> Response<Body> {
    let len = res.body().len();
    if !res.headers().contains_key(header::CONTENT_LENGTH) && !res.body().is_empty() {
        res.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    *res.body_mut() = Body::Empty;
    res
}

/// RFC 9110 §5.6.2 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_refused_as_soon_as_it_passes_the_bound() {
        let mut body = BoundedBody::expecting(None).unwrap();
        let chunk = vec![b'x'; 16 * 1024];
        for _ in 0..4 {
            body.push(&chunk).unwrap();
        }
        assert_eq!(body.push(b"y"), Err(BodyTooLarge));
        assert_eq!(body.into_bytes().len(), MAX_REQUEST_BODY);
    }

    #[test]
    fn a_declared_length_past_the_bound_is_refused_before_reading() {
        let len = |v: &str| BoundedBody::expecting(Some(&HeaderValue::from_str(v).unwrap())).map(|_| ());
        assert_eq!(len("65537"), Err(BodyTooLarge));
        assert_eq!(len("99999999999999999999"), Err(BodyTooLarge));
        assert_eq!(len("65536"), Ok(()));
        assert_eq!(len("chunked"), Ok(()), "no usable length: bounded while read");
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn if_none_match_hits(h: &HeaderMap, etag: &str) -> bool {
        if_none_match(h, etag) == Some(true)
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        let etag = "\"abc\"";
        assert!(if_none_match_hits(&headers(&[("if-none-match", "\"abc\"")]), etag));
        assert!(if_none_match_hits(&headers(&[("if-none-match", "W/\"abc\"")]), etag));
        assert!(if_none_match_hits(
            &headers(&[("if-none-match", "\"x\", \"abc\"")]),
            etag
        ));
        assert!(if_none_match_hits(&headers(&[("if-none-match", "*")]), etag));
        assert!(!if_none_match_hits(&headers(&[("if-none-match", "\"abcd\"")]), etag));
        assert!(!if_none_match_hits(&headers(&[]), etag));
    }

    #[test]
    fn if_none_match_on_several_lines_is_one_list() {
        let etag = "\"abc\"";
        let h = headers(&[("if-none-match", "\"x\""), ("if-none-match", "W/\"abc\"")]);
        assert_eq!(if_none_match(&h, etag), Some(true));
        assert_eq!(
            if_none_match(&headers(&[("if-none-match", "\"x\"")]), etag),
            Some(false)
        );
        assert_eq!(if_none_match(&headers(&[]), etag), None);
    }

    #[test]
    fn a_malformed_if_none_match_matches_nothing() {
        let etag = "\"abc\"";
        for value in ["abc", "\"abc", "\"x\", *", "W/abc", "\"a\"bc\"", "\"abc\" junk"] {
            assert_eq!(
                if_none_match(&headers(&[("if-none-match", value)]), etag),
                Some(false),
                "{value}"
            );
        }
        let mut latin1 = HeaderMap::new();
        latin1.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_bytes(b"\"abc\", \"\xe9\"").unwrap(),
        );
        assert_eq!(if_none_match(&latin1, etag), Some(false));
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        let h = |v: &'static str| headers(&[("if-match", v)]);
        assert_eq!(if_match(&h("\"abc\""), "\"abc\""), Some(true));
        assert_eq!(if_match(&h("W/\"abc\""), "\"abc\""), Some(false));
        assert_eq!(if_match(&h("\"abc\""), "W/\"abc\""), Some(false));
        assert_eq!(if_match(&h("*"), "\"abc\""), Some(true));
        assert_eq!(if_match(&headers(&[]), "\"abc\""), None);
    }

    #[test]
    fn an_entity_tag_may_hold_commas() {
        let etag = "\"a,b\"";
        let h = |name: &'static str, value: &'static str| headers(&[(name, value)]);
        assert_eq!(if_match(&h("if-match", "\"a,b\""), etag), Some(true));
        assert_eq!(if_match(&h("if-match", "\"x\", \"a,b\","), etag), Some(true));
        assert_eq!(if_match(&h("if-match", "\"a\", \"b\""), etag), Some(false));
        assert_eq!(if_none_match(&h("if-none-match", "W/\"a,b\""), etag), Some(true));
        // Still a list of entity-tags: anything between them is malformed.
        assert_eq!(if_match(&h("if-match", "\"a,b\" x"), etag), Some(false));
        assert_eq!(if_none_match(&h("if-none-match", "\"a,b\" x"), etag), Some(false));
    }

    #[test]
    fn a_list_with_tags_beyond_ascii_still_matches() {
        let etag = "\"abc\"";
        let line = |name: header::HeaderName, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(value).unwrap());
            h
        };
        assert_eq!(
            if_match(&line(header::IF_MATCH, "\"caf\u{e9}\", \"abc\""), etag),
            Some(true)
        );
        assert_eq!(
            if_none_match(&line(header::IF_NONE_MATCH, "W/\"\u{fc}\", \"abc\""), etag),
            Some(true)
        );
        assert_eq!(
            if_match(&line(header::IF_MATCH, "\"caf\u{e9}\""), "\"caf\u{e9}\""),
            Some(true)
        );
    }

    #[test]
    fn star_matches_whatever_the_current_entity_tag() {
        // A backend's `ETag: "abc` is kept as sent; the object still exists (§13.1.1-2).
        for etag in ["\"abc", "", "abc", "\"abc\""] {
            assert_eq!(if_match(&headers(&[("if-match", "*")]), etag), Some(true), "{etag}");
            assert_eq!(
                if_none_match(&headers(&[("if-none-match", "*")]), etag),
                Some(true),
                "{etag}"
            );
        }
        for etag in ["\"abc", "", "abc"] {
            assert_eq!(
                if_match(&headers(&[("if-match", "\"abc\"")]), etag),
                Some(false),
                "{etag}"
            );
            assert_eq!(
                if_none_match(&headers(&[("if-none-match", "\"abc\"")]), etag),
                Some(false),
                "{etag}"
            );
        }
    }

    #[test]
    fn preflight_echoes_only_well_formed_header_names() {
        let res = preflight(
            &headers(&[("access-control-request-headers", "if-none-match, x-amz-date")]),
            READ_METHODS,
        );
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(res.headers()["access-control-allow-methods"], "GET, HEAD, OPTIONS");
        assert_eq!(
            res.headers()["access-control-allow-headers"],
            "if-none-match, x-amz-date"
        );
        let res = preflight(
            &headers(&[("access-control-request-headers", "bad header")]),
            READ_METHODS,
        );
        assert!(!res.headers().contains_key("access-control-allow-headers"));
    }

    #[test]
    fn head_keeps_headers_and_length_but_drops_the_body() {
        let res = into_head(json(StatusCode::OK, b"{\"a\":1}".to_vec()));
        assert_eq!(res.headers()["content-length"], "7");
        assert_eq!(res.body(), &Body::Empty);
    }
}
