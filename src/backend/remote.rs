//! An S3-compatible HTTP endpoint (AWS S3, R2's S3 API, MinIO, ...) as an [`ObjectStore`].
//!
//! Requests are path-style, `{endpoint}/{bucket}/{key}`, each key segment `UriEncode`d once,
//! and signed with SigV4 ([`crate::backend::sign`]) when the product's catalogue entry names
//! credentials; unsigned otherwise (a public bucket).
//! - `HeadObject` gives the metadata; `GetObject` passes `Range` through and streams the body
//!   (the HTTP client never reads it into memory); 404 is "no such key".
//! - `ListObjectsV2` with `encoding-type=url`, so that any key survives the XML; the backend's
//!   continuation token is the cursor the S3 read path wraps for its own clients.
//! - 429 and 503 are throttling, other 5xx and no answer are an outage (both retried by the
//!   client after a 503); a listing's `400` whose S3 error code blames the parameters
//!   (`InvalidArgument`, `KeyTooLongError`) is the caller's mistake, passed on as a 400; any
//!   other 4xx means the product's backend configuration (bucket, credentials, region) is
//!   wrong, and is logged as such. (A `400` alone proves nothing: S3 answers a wrong
//!   signing region with `400 AuthorizationHeaderMalformed`.)
//!
//! Keys with a `.` or `..` segment cannot be fetched: URL parsers (the Workers `fetch`
//! among them) remove such segments even when percent-encoded, which would read another key.

use http::{header, HeaderMap, Method, Request, Response, StatusCode};

use crate::backend::sign::{sign, BackendCredentials};
use crate::backend::spec::S3Backend;
use crate::backend::store::{ListPage, ListQuery, ObjectStore, StoreError, StoredObject};
use crate::encoding::{percent_decode_text, uri_encode};
use crate::platform::{Clock, HttpClient};
use crate::time::{parse_http_date, parse_rfc3339};
use crate::web::StreamBody;

/// The most keys a backend is asked for in one listing page (S3's own maximum).
const MAX_KEYS: u32 = 1000;

/// One product's S3-compatible backend, for one request.
pub(crate) struct RemoteStore<'a, H> {
    pub(crate) backend: &'a S3Backend,
    /// `None`: unsigned requests.
    pub(crate) credentials: Option<BackendCredentials>,
    pub(crate) http: &'a H,
    pub(crate) clock: &'a dyn Clock,
}

/// `{endpoint}/{bucket}/{key}`, each `/`-separated key segment `UriEncode`d.
fn object_url(backend: &S3Backend, key: &str) -> Result<String, StoreError> {
    if key.is_empty() {
        return Err(StoreError::Unaddressable);
    }
    let mut url = format!("{}/{}/", backend.endpoint, uri_encode(backend.bucket.as_bytes()));
    for (i, segment) in key.split('/').enumerate() {
        if segment == "." || segment == ".." {
            return Err(StoreError::Unaddressable);
        }
        if i > 0 {
            url.push('/');
        }
        url.push_str(&uri_encode(segment.as_bytes()));
    }
    Ok(url)
}

/// `{endpoint}/{bucket}?list-type=2&...` for one page of `query`.
fn list_url(backend: &S3Backend, query: &ListQuery) -> String {
    let limit = query.limit.clamp(1, MAX_KEYS).to_string();
    let mut params: Vec<(&str, &str)> = vec![
        ("list-type", "2"),
        ("encoding-type", "url"),
        ("max-keys", &limit),
        ("prefix", &query.prefix),
    ];
    if let Some(d) = &query.delimiter {
        params.push(("delimiter", d));
    }
    if let Some(s) = &query.start_after {
        params.push(("start-after", s));
    }
    if let Some(c) = &query.cursor {
        params.push(("continuation-token", c));
    }
    let joined: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", uri_encode(v.as_bytes())))
        .collect();
    format!(
        "{}/{}?{}",
        backend.endpoint,
        uri_encode(backend.bucket.as_bytes()),
        joined.join("&")
    )
}

/// What a backend's status means when it is not the success expected.
pub(crate) fn status_error(status: StatusCode) -> StoreError {
    match status.as_u16() {
        429 | 503 => StoreError::Throttled,
        s if s >= 500 => StoreError::Unavailable,
        s => StoreError::Refused { status: s },
    }
}

/// S3 error codes of a `400` that blame the request's parameters, not the proxy's
/// configuration.
const CALLER_ERROR_CODES: [&str; 2] = ["InvalidArgument", "KeyTooLongError"];

/// What a failed listing's status and S3 error document mean.
fn list_error(status: StatusCode, body: &[u8]) -> StoreError {
    if status == StatusCode::BAD_REQUEST {
        let code = std::str::from_utf8(body)
            .ok()
            .and_then(|text| roxmltree::Document::parse(text).ok())
            .and_then(|doc| {
                let code = doc
                    .root_element()
                    .children()
                    .find(|c| c.is_element() && c.tag_name().name() == "Code")?;
                CALLER_ERROR_CODES.into_iter().find(|known| code.text() == Some(known))
            });
        if let Some(code) = code {
            return StoreError::BadParameters { code };
        }
    }
    status_error(status)
}

/// An object's metadata from `HeadObject`/`GetObject` response headers. The size is the
/// whole object's: `Content-Range`'s total on a 206, `Content-Length` otherwise.
fn stored_object(key: &str, headers: &HeaderMap) -> Result<StoredObject, StoreError> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let size = match text(header::CONTENT_RANGE) {
        Some(range) => range.rsplit_once('/').and_then(|(_, total)| total.parse().ok()),
        None => text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
    }
    .ok_or(StoreError::Unavailable)?;
    let etag = text(header::ETAG)
        .filter(|e| !e.is_empty())
        .ok_or(StoreError::Unavailable)?;
    let etag = if etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    };
    let last_modified_secs = text(header::LAST_MODIFIED)
        .and_then(parse_http_date)
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(0);
    Ok(StoredObject {
        key: key.to_owned(),
        size,
        etag,
        last_modified_secs,
        content_type: text(header::CONTENT_TYPE).map(str::to_owned),
        content_encoding: text(header::CONTENT_ENCODING)
            .filter(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"))
            .map(str::to_owned),
    })
}

/// Decodes a value of a listing made with `encoding-type=url` (`+` is a space, as S3 writes it).
fn url_decoded(value: &str) -> Option<String> {
    percent_decode_text(&value.replace('+', " "))
}

/// Parses a `ListBucketResult` (ListObjectsV2) document.
pub(crate) fn parse_list(body: &[u8]) -> Result<ListPage, StoreError> {
    let bad = || StoreError::Unavailable;
    let text = std::str::from_utf8(body).map_err(|_| bad())?;
    let doc = roxmltree::Document::parse(text).map_err(|_| bad())?;
    let root = doc.root_element();
    if root.tag_name().name() != "ListBucketResult" {
        return Err(bad());
    }
    let child = |node: roxmltree::Node<'_, '_>, name: &str| -> Option<String> {
        node.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .map(|c| c.text().unwrap_or("").to_owned())
    };
    let encoded = child(root, "EncodingType").as_deref() == Some("url");
    let decode = |v: String| -> Result<String, StoreError> {
        if encoded {
            url_decoded(&v).ok_or_else(bad)
        } else {
            Ok(v)
        }
    };
    let mut page = ListPage {
        truncated: child(root, "IsTruncated").as_deref() == Some("true"),
        cursor: child(root, "NextContinuationToken").filter(|c| !c.is_empty()),
        ..Default::default()
    };
    for node in root.children().filter(|c| c.is_element()) {
        match node.tag_name().name() {
            "Contents" => {
                let key = decode(child(node, "Key").ok_or_else(bad)?)?;
                let size = child(node, "Size").and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                let etag = child(node, "ETag").unwrap_or_default();
                let last_modified_secs = child(node, "LastModified").and_then(|t| parse_rfc3339(&t)).unwrap_or(0);
                page.objects.push(StoredObject {
                    key,
                    size,
                    etag,
                    last_modified_secs,
                    content_type: None,
                    content_encoding: None,
                });
            }
            "CommonPrefixes" => page
                .common_prefixes
                .push(decode(child(node, "Prefix").ok_or_else(bad)?)?),
            _ => {}
        }
    }
    if page.truncated && page.cursor.is_none() {
        return Err(bad()); // a next page with no way to ask for it
    }
    Ok(page)
}

impl<H: HttpClient> RemoteStore<'_, H> {
    fn request(&self, method: Method, url: &str, range: Option<(u64, u64)>) -> Result<Request<Vec<u8>>, StoreError> {
        let mut builder = Request::builder().method(method).uri(url);
        if let Some((offset, length)) = range {
            let last = offset + length.saturating_sub(1);
            builder = builder.header(header::RANGE, format!("bytes={offset}-{last}"));
        }
        let mut req = builder.body(Vec::new()).map_err(|_| StoreError::Unaddressable)?;
        if let Some(credentials) = &self.credentials {
            sign(&mut req, credentials, &self.backend.region, self.clock.now_secs())
                .map_err(|_| StoreError::Unavailable)?;
        }
        Ok(req)
    }
}

impl<H: HttpClient> ObjectStore for RemoteStore<'_, H> {
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        let req = self.request(Method::HEAD, &object_url(self.backend, key)?, None)?;
        let res = self.http.fetch(req).await.map_err(|_| StoreError::Unavailable)?;
        match res.status() {
            StatusCode::OK => stored_object(key, res.headers()).map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(status_error(s)),
        }
    }

    async fn get(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<(StoredObject, StreamBody)>, StoreError> {
        let req = self.request(Method::GET, &object_url(self.backend, key)?, range)?;
        let res = self.http.fetch_stream(req).await.map_err(|_| StoreError::Unavailable)?;
        let expected = if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        match res.status() {
            s if s == expected => {
                let meta = stored_object(key, res.headers())?;
                Ok(Some((meta, res.into_body())))
            }
            StatusCode::NOT_FOUND => Ok(None),
            // A backend that ignored the range: its body is not the bytes asked for.
            StatusCode::OK => Err(StoreError::Unavailable),
            s => Err(status_error(s)),
        }
    }

    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        let req = self.request(Method::GET, &list_url(self.backend, query), None)?;
        let res: Response<Vec<u8>> = self.http.fetch(req).await.map_err(|_| StoreError::Unavailable)?;
        match res.status() {
            StatusCode::OK => parse_list(res.body()),
            s => Err(list_error(s, res.body())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{FetchError, FixedClock};
    use std::cell::RefCell;

    fn backend(credentials: Option<&str>) -> S3Backend {
        serde_json::from_value(serde_json::json!({
            "endpoint": "http://127.0.0.1:9000/", "bucket": "data", "prefix": "p/",
            "credentials": credentials,
        }))
        .unwrap()
    }

    #[test]
    fn backend_specs_are_validated() {
        let parse = |v: serde_json::Value| serde_json::from_value::<S3Backend>(v);
        let b = backend(None);
        assert_eq!(
            (b.endpoint.as_str(), b.region.as_str()),
            ("http://127.0.0.1:9000", "us-east-1")
        );
        for bad in [
            serde_json::json!({"endpoint": "http://s3.example", "bucket": "b"}),
            serde_json::json!({"endpoint": "https://s3.example/path", "bucket": "b"}),
            serde_json::json!({"endpoint": "https://s3.example", "bucket": "a/b"}),
            serde_json::json!({"endpoint": "https://s3.example", "bucket": ".."}),
            serde_json::json!({"endpoint": "https://s3.example", "bucket": "b", "region": "US"}),
            serde_json::json!({"endpoint": "https://s3.example", "bucket": "b", "credentials": "OIDC_PROVIDER_KEY"}),
            serde_json::json!({"endpoint": "https://s3.example", "bucket": "b", "credentials": "BACKEND_"}),
            serde_json::json!({"endpoint": "https://s3.example", "bucket": "b", "extra": 1}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        let ok =
            parse(serde_json::json!({"endpoint": "https://s3.example", "bucket": "b", "credentials": "BACKEND_X1"}));
        assert_eq!(ok.unwrap().credentials.as_deref(), Some("BACKEND_X1"));
    }

    #[test]
    fn keys_become_once_encoded_path_segments() {
        let b = backend(None);
        assert_eq!(
            object_url(&b, "p/a b+c/ü%?#.txt").unwrap(),
            "http://127.0.0.1:9000/data/p/a%20b%2Bc/%C3%BC%25%3F%23.txt"
        );
        assert_eq!(object_url(&b, "p//x").unwrap(), "http://127.0.0.1:9000/data/p//x");
        for unaddressable in ["p/../secret", "p/./x", "..", ""] {
            assert_eq!(
                object_url(&b, unaddressable),
                Err(StoreError::Unaddressable),
                "{unaddressable}"
            );
        }
    }

    #[test]
    fn list_urls_carry_every_parameter_encoded() {
        let q = ListQuery {
            prefix: "p/a b/".into(),
            delimiter: Some("/".into()),
            start_after: Some("p/a b/x".into()),
            cursor: Some("tok+/=".into()),
            limit: 5000,
        };
        assert_eq!(
            list_url(&backend(None), &q),
            "http://127.0.0.1:9000/data?list-type=2&encoding-type=url&max-keys=1000&prefix=p%2Fa%20b%2F\
             &delimiter=%2F&start-after=p%2Fa%20b%2Fx&continuation-token=tok%2B%2F%3D"
        );
    }

    #[test]
    fn statuses_map_to_store_errors() {
        assert_eq!(status_error(StatusCode::SERVICE_UNAVAILABLE), StoreError::Throttled);
        assert_eq!(status_error(StatusCode::TOO_MANY_REQUESTS), StoreError::Throttled);
        assert_eq!(status_error(StatusCode::BAD_GATEWAY), StoreError::Unavailable);
        assert_eq!(status_error(StatusCode::FORBIDDEN), StoreError::Refused { status: 403 });
    }

    #[test]
    fn a_listing_refused_for_its_parameters_is_the_callers_error_and_anything_else_the_configs() {
        let doc = |code: &str| format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>m</Message></Error>");
        assert_eq!(
            list_error(StatusCode::BAD_REQUEST, doc("InvalidArgument").as_bytes()),
            StoreError::BadParameters {
                code: "InvalidArgument"
            }
        );
        assert_eq!(
            list_error(StatusCode::BAD_REQUEST, doc("KeyTooLongError").as_bytes()),
            StoreError::BadParameters {
                code: "KeyTooLongError"
            }
        );
        // A wrong region is the configuration's fault, and so is a 400 without a document.
        for (status, body) in [
            (StatusCode::BAD_REQUEST, doc("AuthorizationHeaderMalformed")),
            (StatusCode::BAD_REQUEST, String::new()),
            (
                StatusCode::BAD_REQUEST,
                "<Error><Code>InvalidArgumentX</Code></Error>".into(),
            ),
            (StatusCode::FORBIDDEN, doc("InvalidArgument")),
        ] {
            assert!(
                matches!(list_error(status, body.as_bytes()), StoreError::Refused { .. }),
                "{status} {body}"
            );
        }
        assert_eq!(list_error(StatusCode::SERVICE_UNAVAILABLE, b""), StoreError::Throttled);
    }

    /// Shaped like the answers of AWS S3 and moto 5 (which encodes a space as `%20`, AWS as `+`).
    const LISTING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>data</Name><Prefix>p%2F</Prefix>
<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter><IsTruncated>true</IsTruncated>
<EncodingType>url</EncodingType><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
<Contents><Key>p/a+b%2Bc.txt</Key><LastModified>2026-11-23T10:00:00.000Z</LastModified>
<ETag>&quot;49f68a5c8493ec2c0bf489821c21fc3b&quot;</ETag><Size>2</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/%C3%BC%20x</Key><LastModified>2026-11-23T10:00:01Z</LastModified><ETag>"e"</ETag><Size>0</Size></Contents>
<CommonPrefixes><Prefix>p/dir%20one/</Prefix></CommonPrefixes></ListBucketResult>"#;

    #[test]
    fn listings_parse_and_decode() {
        let page = parse_list(LISTING.as_bytes()).unwrap();
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["p/a b+c.txt", "p/ü x"]);
        assert_eq!(page.objects[0].etag, "\"49f68a5c8493ec2c0bf489821c21fc3b\"");
        assert_eq!(page.objects[0].size, 2);
        assert_eq!(
            page.objects[0].last_modified_secs,
            crate::time::parse_rfc3339("2026-11-23T10:00:00Z").unwrap()
        );
        assert_eq!(page.common_prefixes, ["p/dir one/"]);
        assert!(page.truncated);
        assert_eq!(
            page.cursor.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
    }

    #[test]
    fn bad_listings_are_outages_not_panics() {
        for bad in [
            "",
            "<nope/>",
            "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
            "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz</Key><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents>",
        ] {
            assert_eq!(parse_list(bad.as_bytes()), Err(StoreError::Unavailable), "{bad}");
        }
    }

    #[test]
    fn object_metadata_comes_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("content-length", "10".parse().unwrap());
        h.insert("etag", "\"abc\"".parse().unwrap());
        h.insert("last-modified", "Sun, 30 Aug 2015 12:36:00 GMT".parse().unwrap());
        h.insert("content-type", "text/plain".parse().unwrap());
        let o = stored_object("k", &h).unwrap();
        assert_eq!(
            (o.size, o.etag.as_str(), o.last_modified_secs),
            (10, "\"abc\"", 1_440_938_160)
        );
        assert_eq!(o.content_encoding, None);
        h.insert("content-encoding", "identity".parse().unwrap());
        assert_eq!(stored_object("k", &h).unwrap().content_encoding, None);
        h.insert("content-encoding", "gzip".parse().unwrap());
        assert_eq!(
            stored_object("k", &h).unwrap().content_encoding.as_deref(),
            Some("gzip")
        );
        h.insert("content-range", "bytes 0-9/1234".parse().unwrap());
        assert_eq!(stored_object("k", &h).unwrap().size, 1234);
        h.remove("etag");
        assert_eq!(stored_object("k", &h), Err(StoreError::Unavailable));
    }

    /// Records requests and answers each with the next canned response.
    #[derive(Default)]
    struct Canned {
        seen: RefCell<Vec<Request<Vec<u8>>>>,
        answers: RefCell<Vec<Result<Response<Vec<u8>>, FetchError>>>,
    }

    impl HttpClient for Canned {
        async fn fetch(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
            self.seen.borrow_mut().push(req);
            self.answers.borrow_mut().remove(0)
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<Response<Vec<u8>>, FetchError> {
        let mut b = Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        Ok(b.body(body.as_bytes().to_vec()).unwrap())
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("no real I/O in these tests")
    }

    #[test]
    fn gets_are_signed_ranged_and_mapped() {
        let b = backend(Some("BACKEND_DATA"));
        let http = Canned::default();
        let clock = FixedClock::at_secs(1_790_000_000);
        let store = RemoteStore {
            backend: &b,
            credentials: BackendCredentials::parse("AKID:secret"),
            http: &http,
            clock: &clock,
        };
        let meta = [
            ("content-length", "4"),
            ("etag", "\"e\""),
            ("content-range", "bytes 2-5/9"),
        ];
        http.answers.borrow_mut().extend([
            answer(206, &meta, "cdef"),
            answer(404, &[], ""),
            answer(403, &[], ""),
            Err(FetchError::Timeout),
            answer(200, &[("content-length", "9"), ("etag", "\"e\"")], "abcdefghi"),
        ]);
        let (o, body) = block_on(store.get("p/k", Some((2, 4)))).unwrap().unwrap();
        assert_eq!(o.size, 9);
        assert_eq!(*body.0.downcast::<Vec<u8>>().unwrap(), b"cdef");
        assert!(block_on(store.get("p/k", None)).unwrap().is_none());
        assert_eq!(block_on(store.head("p/k")), Err(StoreError::Refused { status: 403 }));
        assert_eq!(block_on(store.head("p/k")), Err(StoreError::Unavailable));
        // A ranged GET answered with the whole object is not served as the range.
        assert!(matches!(
            block_on(store.get("p/k", Some((0, 1)))),
            Err(StoreError::Unavailable)
        ));
        let seen = http.seen.borrow();
        assert_eq!(seen[0].uri(), "http://127.0.0.1:9000/data/p/k");
        assert_eq!(seen[0].headers()["range"], "bytes=2-5");
        let auth = seen[0].headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"), "{auth}");
        assert!(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"));
        assert!(!auth.contains("secret"));
        assert_eq!(seen[2].method(), Method::HEAD);
    }

    #[test]
    fn unsigned_without_credentials() {
        let b = backend(None);
        let http = Canned::default();
        let clock = FixedClock::at_secs(1_790_000_000);
        let store = RemoteStore {
            backend: &b,
            credentials: None,
            http: &http,
            clock: &clock,
        };
        http.answers.borrow_mut().push(answer(200, &[], LISTING));
        let page = block_on(store.list(&ListQuery {
            prefix: "p/".into(),
            limit: 2,
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(page.objects.len(), 2);
        assert!(!http.seen.borrow()[0].headers().contains_key("authorization"));
    }
}
