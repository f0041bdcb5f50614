//! What the platform does to requests and responses between a client and the worker, and
//! what the worker does about it. Cloudflare's edge (and `wrangler dev`, which emulates it in
//! miniflare's entry worker) rewrites some request headers before the worker sees them and
//! compresses some responses after the worker made them. S3 clients need neither: a SigV4
//! signature covers the headers as the client sent them, and S3 serves bodies as stored.
//! The adapter calls these two functions on every request and every response.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Request headers the runtime rewrites, each with the `request.cf` property in which it keeps
/// the value the client sent.
///
/// - `Accept-Encoding`: always replaced with `br, gzip` (Cloudflare's reference "HTTP request
///   headers"); the client's value is in `cf.clientAcceptEncoding`. `wrangler dev` does the
///   same, with `""` there when the client sent none. aws-sdk-go, and so rclone, signs
///   `Accept-Encoding: gzip`.
///
/// The same reference lists what else the edge does, with no copy of what the client sent, so
/// none of it can be undone: it overwrites `Connection` (`Keep-Alive`) and `X-Forwarded-Proto`,
/// appends to `X-Forwarded-For`, sets `CF-Connecting-IP`, `CF-IPCountry`, `CF-Ray`,
/// `CF-Visitor`, `CDN-Loop` (and, when configured, `True-Client-IP`, `CF-Connecting-IPv6`,
/// `CF-Pseudo-IPv4`), strips `X-Real-IP`, and may drop headers whose names NGINX deems
/// invalid (a `.` in the name). A request that signs one of those does not verify; no
/// mainstream S3 client signs them (`Connection` is hop-by-hop, RFC 9110 §7.6.1).
const RESTORED_HEADERS: &[(HeaderName, &str)] = &[(header::ACCEPT_ENCODING, "clientAcceptEncoding")];

/// Puts back, verbatim (an empty value too: a signature may cover it), the value the client sent
/// in each header of [`RESTORED_HEADERS`], as `cf` (the runtime's `request.cf[property]`)
/// reports it. A header whose property is absent is left as the runtime passed it.
pub(crate) fn restore_client_headers(headers: &mut HeaderMap, cf: impl Fn(&str) -> Option<String>) {
    for (name, property) in RESTORED_HEADERS {
        if let Some(value) = cf(property).and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name.clone(), value);
        }
    }
}

/// Marks a response so that the platform sends its body as the worker made it:
///
/// - `Cache-Control: no-transform` (RFC 9111 §5.2.2.6), added to the directives it has: what
///   stops Cloudflare's edge from compressing it (Cloudflare's "Content compression": a
///   response with `no-transform` is not encoded with Brotli or Gzip).
/// - `Content-Encoding: identity` unless it declares a coding of its own: what stops
///   `wrangler dev`, which ignores `no-transform` and compresses a response of a type the edge
///   compresses unless it carries a `Content-Encoding` other than `gzip` or `br`.
pub(crate) fn prevent_transformation(headers: &mut HeaderMap) {
    let directives: Vec<String> = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect();
    let has_no_transform = directives.iter().any(|d| {
        let name = d.split('=').next().unwrap_or_default();
        name.trim().eq_ignore_ascii_case("no-transform")
    });
    if !has_no_transform {
        let joined = directives
            .into_iter()
            .chain(std::iter::once("no-transform".to_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&joined) {
            headers.insert(header::CACHE_CONTROL, v);
        }
    }
    if !headers.contains_key(header::CONTENT_ENCODING) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("identity"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |p| pairs.iter().find(|(k, _)| *k == p).map(|(_, v)| (*v).to_owned())
    }

    /// The `Accept-Encoding` the core sees when the runtime passed `br, gzip` and `cf` holds
    /// `pairs`; `Host` stays as it came.
    fn restored(pairs: &'static [(&'static str, &'static str)]) -> Vec<HeaderValue> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip"));
        h.insert(header::HOST, HeaderValue::from_static("data.example"));
        restore_client_headers(&mut h, cf(pairs));
        assert_eq!(h[header::HOST], "data.example");
        h.get_all(header::ACCEPT_ENCODING).iter().cloned().collect()
    }

    #[test]
    fn accept_encoding_is_restored_to_what_the_client_sent() {
        assert_eq!(restored(&[("clientAcceptEncoding", "gzip")]), ["gzip"]);
    }

    #[test]
    fn an_empty_client_accept_encoding_is_restored_as_empty() {
        assert_eq!(restored(&[("clientAcceptEncoding", "")]), [""]);
    }

    #[test]
    fn without_the_cf_property_the_header_is_left_as_passed() {
        assert_eq!(restored(&[]), ["br, gzip"]);
    }

    #[test]
    fn a_value_that_is_no_header_value_is_not_restored() {
        assert_eq!(restored(&[("clientAcceptEncoding", "gzip\r\nx-evil: 1")]), ["br, gzip"]);
    }

    /// A response with `headers` as the platform gets it.
    fn prevented(headers: &[(HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in headers {
            h.append(name.clone(), HeaderValue::from_static(value));
        }
        prevent_transformation(&mut h);
        h
    }

    fn cache_control(h: &HeaderMap) -> Vec<&HeaderValue> {
        h.get_all(header::CACHE_CONTROL).iter().collect()
    }

    #[test]
    fn no_transform_is_added_to_the_existing_directives() {
        let h = prevented(&[(header::CACHE_CONTROL, "private, no-store")]);
        assert_eq!(cache_control(&h), ["private, no-store, no-transform"]);
    }

    #[test]
    fn no_transform_alone_when_there_is_no_cache_control() {
        assert_eq!(cache_control(&prevented(&[])), ["no-transform"]);
    }

    #[test]
    fn no_transform_is_not_repeated() {
        let h = prevented(&[(header::CACHE_CONTROL, "public, No-Transform")]);
        assert_eq!(cache_control(&h), ["public, No-Transform"]);
    }

    #[test]
    fn several_cache_control_lines_are_joined_into_one() {
        let h = prevented(&[(header::CACHE_CONTROL, "public"), (header::CACHE_CONTROL, "max-age=60")]);
        assert_eq!(cache_control(&h), ["public, max-age=60, no-transform"]);
    }

    #[test]
    fn a_response_without_a_coding_is_marked_identity() {
        assert_eq!(prevented(&[])[header::CONTENT_ENCODING], "identity");
    }

    #[test]
    fn a_response_with_a_coding_keeps_it() {
        let h = prevented(&[(header::CONTENT_ENCODING, "gzip")]);
        assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    }
}
