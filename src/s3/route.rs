//! S3 path-style routing: a method, a raw path and a raw query become one S3 operation.
//!
//! Addressing: the S3 bucket is the account and the object key is `{product}/{rest}`.
//!
//! The router sends every path here but `/` and the dot paths (`/.…`, never a bucket: bucket
//! names cannot start with a dot); given one of those, routing finds no valid bucket.
//!
//! | request | operation |
//! |---|---|
//! | `GET /{account}?list-type=2&…` | [`S3Request::ListObjectsV2`] |
//! | `GET /{account}?…` (no `list-type`) | [`S3Request::ListObjectsV1`] |
//! | `GET /{account}?location` | [`S3Request::GetBucketLocation`] |
//! | `HEAD /{account}` | [`S3Request::HeadBucket`] |
//! | `GET`/`HEAD /{account}/{key…}` | [`S3Request::GetObject`] / [`S3Request::HeadObject`] |
//! | `OPTIONS` on a data path | [`S3Request::Preflight`] |
//! | `PUT`, `POST`, `DELETE`, `PATCH`, … on a data path | `MethodNotAllowed`, `Allow:` [`ALLOWED_METHODS`] |
//!
//! Decisions the S3 documentation leaves to us:
//! - The object key is the percent-decoded remainder of the path after `/{account}/`, decoded
//!   with [`percent_decode`](crate::encoding::percent_decode) (the function the SigV4 verifier
//!   uses, so what is routed is what was signed). `%2F` therefore means the same key as `/`, as in S3. The product is the key
//!   up to its first `/`; `rest` is everything after it (may be empty, may contain `/` and
//!   empty segments). `/{account}/{product}` (no slash after the product) is GetObject of the
//!   key `{product}` itself: [`ObjectTarget::rest`] is `None` and the caller will normally
//!   answer `NoSuchKey`.
//! - A product that is empty, `.` or `..` is refused with `NoSuchKey`, so that no decoded
//!   dot-segment can reach an upstream URL.
//! - Bucket (account) names: 3–63 bytes of `a-z 0-9 . - _`, starting and ending with a letter
//!   or digit. Underscores are tolerated because legacy path-style buckets allowed them;
//!   upper case is not. Anything else is `NoSuchBucket`.
//! - Query strings: `&`-separated, split at the first `=`, each side decoded with
//!   [`percent_decode`](crate::encoding::percent_decode); `+` stays `+` (the SigV4 verifier
//!   signs it that way). A bad escape or non-UTF-8 text is `InvalidArgument`, so is a repeated S3 parameter. Unknown parameters
//!   (`x-id`, `X-Amz-*` from presigned URLs, `response-*`) are ignored.
//! - Subresources this proxy does not serve (`?acl`, `?tagging`, `?versions`, …) are
//!   `NotImplemented`, checked after the method, so a write is always 405.
//! - `max-keys`: digits only (`InvalidArgument` otherwise, including negative numbers);
//!   values above 1000 are clamped to 1000 as S3 does. An empty `delimiter`,
//!   `continuation-token`, `start-after` or `marker` counts as absent.
//! - Keys longer than 1024 bytes (S3's limit) are `InvalidArgument`.

use http::Method;

use crate::encoding::percent_decode_text;

/// The methods a data path serves, for the `Allow` header of a 405.
pub(crate) const ALLOWED_METHODS: &[Method] = crate::web::READ_METHODS;

/// The most keys one listing page returns, and the default `max-keys`.
pub(crate) const MAX_KEYS: u16 = 1000;

/// S3's limit on an object key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// Query parameters naming S3 subresources or operations this proxy does not serve.
const UNSERVED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metadata-table",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// One routed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum S3Request {
    /// `OPTIONS` on a data path (CORS preflight).
    Preflight,
    GetObject(ObjectTarget),
    HeadObject(ObjectTarget),
    ListObjectsV2 {
        account: String,
        params: ListV2Params,
    },
    ListObjectsV1 {
        account: String,
        params: ListV1Params,
    },
    HeadBucket {
        account: String,
    },
    GetBucketLocation {
        account: String,
    },
}

/// The object a GetObject or HeadObject names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectTarget {
    /// The S3 bucket.
    pub(crate) account: String,
    /// The full S3 key, `{product}/{rest}` (or `{product}` alone).
    pub(crate) key: String,
    /// The key up to its first `/`; never empty, `.` or `..`.
    pub(crate) product: String,
    /// The key after `{product}/`; `None` when the key has no `/`.
    pub(crate) rest: Option<String>,
}

/// Parameters shared by both listing versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListParams {
    /// `prefix`; default empty.
    pub(crate) prefix: String,
    /// `delimiter`; default none.
    pub(crate) delimiter: Option<String>,
    /// `max-keys`, 0..=1000; default 1000.
    pub(crate) max_keys: u16,
    /// `encoding-type=url`; default false.
    pub(crate) encoding_url: bool,
}

/// ListObjectsV2 parameters (`fetch-owner` is accepted and ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListV2Params {
    pub(crate) common: ListParams,
    /// `continuation-token`, opaque here (see `s3::list::token`); default none.
    pub(crate) continuation_token: Option<String>,
    /// `start-after`; default none.
    pub(crate) start_after: Option<String>,
}

/// ListObjects (v1) parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListV1Params {
    pub(crate) common: ListParams,
    /// `marker`; default none.
    pub(crate) marker: Option<String>,
}

/// Why a request names no operation this proxy serves. `crate::s3::error` maps each to S3's
/// code and message; the detail here is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RouteError {
    /// `InvalidRequest`.
    #[error("the path does not start with /")]
    PathNotAbsolute,
    /// `MethodNotAllowed`, with `Allow:` [`ALLOWED_METHODS`].
    #[error("{method} is not served on data paths")]
    MethodNotAllowed { method: String },
    /// `InvalidArgument`.
    #[error("the path is not percent-encoded UTF-8")]
    PathEncoding,
    /// `NoSuchBucket`.
    #[error("{name:?} is not a valid bucket name")]
    InvalidBucketName { name: String },
    /// `NotImplemented`.
    #[error("the {name} subresource is not implemented")]
    UnservedSubresource { name: &'static str },
    /// `InvalidArgument`.
    #[error("the key is longer than {MAX_KEY_BYTES} bytes")]
    KeyTooLong,
    /// `NoSuchKey`: the product part of the key is empty, `.` or `..`.
    #[error("the key's product is empty, . or ..")]
    InvalidProduct,
    /// `InvalidArgument`.
    #[error("the query string is not percent-encoded UTF-8")]
    QueryEncoding,
    /// `InvalidArgument`.
    #[error("the query parameter {name} is repeated")]
    RepeatedParameter { name: &'static str },
    /// `InvalidArgument`.
    #[error("max-keys is not a whole number")]
    MaxKeys,
    /// `InvalidArgument`.
    #[error("encoding-type is not url")]
    EncodingType,
    /// `InvalidArgument`.
    #[error("list-type is not 2")]
    ListType,
}

/// Routes a request. `path` is the raw path as sent (still percent-encoded); `query` is the
/// raw query without `?`.
pub(crate) fn parse(method: &Method, path: &str, query: Option<&str>) -> Result<S3Request, RouteError> {
    let Some(after_slash) = path.strip_prefix('/') else {
        return Err(RouteError::PathNotAbsolute);
    };

    // Allow-list of methods: only the read methods are served on data paths.
    if *method == Method::OPTIONS {
        return Ok(S3Request::Preflight);
    }
    let is_head = *method == Method::HEAD;
    if !is_head && *method != Method::GET {
        return Err(RouteError::MethodNotAllowed {
            method: crate::encoding::printable(method.as_str()),
        });
    }

    let (raw_account, raw_key) = match after_slash.split_once('/') {
        Some((account, key)) => (account, key),
        None => (after_slash, ""),
    };
    let account = percent_decode_text(raw_account).ok_or(RouteError::PathEncoding)?;
    if !is_valid_bucket_name(&account) {
        return Err(RouteError::InvalidBucketName {
            name: crate::encoding::printable(&account),
        });
    }

    let query = Query::parse(query.unwrap_or(""))?;
    if let Some(name) = query.unserved_subresource() {
        return Err(RouteError::UnservedSubresource { name });
    }

    if raw_key.is_empty() {
        return bucket_operation(account, is_head, &query);
    }

    let key = percent_decode_text(raw_key).ok_or(RouteError::PathEncoding)?;
    if key.len() > MAX_KEY_BYTES {
        return Err(RouteError::KeyTooLong);
    }
    let (product, rest) = match key.split_once('/') {
        Some((product, rest)) => (product.to_owned(), Some(rest.to_owned())),
        None => (key.clone(), None),
    };
    if product.is_empty() || product == "." || product == ".." {
        return Err(RouteError::InvalidProduct);
    }
    let target = ObjectTarget {
        account,
        key,
        product,
        rest,
    };
    Ok(if is_head {
        S3Request::HeadObject(target)
    } else {
        S3Request::GetObject(target)
    })
}

fn bucket_operation(account: String, is_head: bool, query: &Query) -> Result<S3Request, RouteError> {
    if is_head {
        return Ok(S3Request::HeadBucket { account });
    }
    if query.get("location").is_some() {
        return Ok(S3Request::GetBucketLocation { account });
    }
    let common = ListParams {
        prefix: query.get("prefix").unwrap_or_default().to_owned(),
        delimiter: query.non_empty("delimiter"),
        max_keys: parse_max_keys(query.get("max-keys"))?,
        encoding_url: parse_encoding_type(query.get("encoding-type"))?,
    };
    match query.get("list-type") {
        Some("2") => Ok(S3Request::ListObjectsV2 {
            account,
            params: ListV2Params {
                common,
                continuation_token: query.non_empty("continuation-token"),
                start_after: query.non_empty("start-after"),
            },
        }),
        Some(_) => Err(RouteError::ListType),
        None => Ok(S3Request::ListObjectsV1 {
            account,
            params: ListV1Params {
                common,
                marker: query.non_empty("marker"),
            },
        }),
    }
}

/// `max-keys`: ASCII digits; above 1000 is clamped to 1000 (S3 does the same).
fn parse_max_keys(value: Option<&str>) -> Result<u16, RouteError> {
    let Some(value) = value else {
        return Ok(MAX_KEYS);
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RouteError::MaxKeys);
    }
    let digits = value.trim_start_matches('0');
    if digits.len() > 4 {
        return Ok(MAX_KEYS);
    }
    let n: u16 = digits.parse().unwrap_or(0);
    Ok(n.min(MAX_KEYS))
}

/// `encoding-type`: only `url` exists in S3.
fn parse_encoding_type(value: Option<&str>) -> Result<bool, RouteError> {
    match value {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(RouteError::EncodingType),
    }
}

/// Path-style bucket names: 3-63 of `a-z 0-9 . - _`, letter or digit at both ends.
fn is_valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&bytes.len())
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
}

/// A decoded query: names and values in order.
struct Query {
    pairs: Vec<(String, String)>,
}

/// Parameters whose repetition is an error (they decide what is listed).
const SINGLE_VALUED: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "marker",
    "encoding-type",
];

impl Query {
    fn parse(raw: &str) -> Result<Self, RouteError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            let name = percent_decode_text(name).ok_or(RouteError::QueryEncoding)?;
            let value = percent_decode_text(value).ok_or(RouteError::QueryEncoding)?;
            let single = SINGLE_VALUED.iter().find(|n| **n == name);
            if let Some(name) = single.filter(|n| pairs.iter().any(|(seen, _)| seen == **n)) {
                return Err(RouteError::RepeatedParameter { name });
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn non_empty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn unserved_subresource(&self) -> Option<&'static str> {
        self.pairs
            .iter()
            .find_map(|(n, _)| UNSERVED_SUBRESOURCES.iter().find(|u| **u == n.as_str()).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::error::{S3Code, S3Error};
    use proptest::prelude::*;

    fn get(path: &str, query: Option<&str>) -> Result<S3Request, RouteError> {
        parse(&Method::GET, path, query)
    }

    /// The S3 code a refused request is answered with.
    fn code(r: Result<S3Request, RouteError>) -> S3Code {
        S3Error::from(r.expect_err("expected an error")).code()
    }

    fn target(r: Result<S3Request, RouteError>) -> ObjectTarget {
        match r {
            Ok(S3Request::GetObject(t) | S3Request::HeadObject(t)) => t,
            other => panic!("not an object request: {other:?}"),
        }
    }

    fn v2(r: Result<S3Request, RouteError>) -> ListV2Params {
        match r {
            Ok(S3Request::ListObjectsV2 { params, .. }) => params,
            other => panic!("not ListObjectsV2: {other:?}"),
        }
    }

    fn v1(r: Result<S3Request, RouteError>) -> ListV1Params {
        match r {
            Ok(S3Request::ListObjectsV1 { params, .. }) => params,
            other => panic!("not ListObjectsV1: {other:?}"),
        }
    }

    #[test]
    fn root_and_dot_paths_name_no_bucket() {
        // The router never sends them; routing them anyway finds no valid bucket.
        for path in ["/", "/.sts", "/.well-known/jwks.json"] {
            assert_eq!(code(get(path, None)), S3Code::NoSuchBucket, "{path}");
        }
    }

    #[test]
    fn path_without_leading_slash_is_invalid_request() {
        assert_eq!(code(get("acct/p/k", None)), S3Code::InvalidRequest);
        assert_eq!(code(get("", None)), S3Code::InvalidRequest);
    }

    #[test]
    fn get_object_splits_account_product_and_rest() {
        let t = target(get("/acct/prod/dir/file.txt", None));
        assert_eq!(t.account, "acct");
        assert_eq!(t.key, "prod/dir/file.txt");
        assert_eq!(t.product, "prod");
        assert_eq!(t.rest.as_deref(), Some("dir/file.txt"));
    }

    #[test]
    fn head_object_is_routed() {
        let r = parse(&Method::HEAD, "/acct/prod/k", None);
        assert!(matches!(r, Ok(S3Request::HeadObject(_))));
    }

    #[test]
    fn key_keeps_empty_segments_and_dot_segments_after_the_product() {
        let t = target(get("/acct/prod//a/../b/", None));
        assert_eq!(t.key, "prod//a/../b/");
        assert_eq!(t.rest.as_deref(), Some("/a/../b/"));
    }

    #[test]
    fn key_is_percent_decoded_once_and_plus_stays_plus() {
        let t = target(get("/acct/prod/a%20b+c%2525%E2%9C%93", None));
        assert_eq!(t.rest.as_deref(), Some("a b+c%25\u{2713}"));
    }

    #[test]
    fn encoded_slash_means_the_same_key_as_a_slash() {
        assert_eq!(target(get("/acct/prod%2Fk", None)), target(get("/acct/prod/k", None)));
    }

    #[test]
    fn product_without_trailing_slash_is_the_key_itself() {
        let t = target(get("/acct/prod", None));
        assert_eq!(t.key, "prod");
        assert_eq!(t.product, "prod");
        assert_eq!(t.rest, None);
    }

    #[test]
    fn product_with_trailing_slash_has_empty_rest() {
        let t = target(get("/acct/prod/", None));
        assert_eq!(t.key, "prod/");
        assert_eq!(t.rest.as_deref(), Some(""));
    }

    #[test]
    fn empty_or_dot_products_are_no_such_key() {
        for path in ["/acct//k", "/acct/./k", "/acct/../k", "/acct/%2E%2E/k", "/acct/%2e"] {
            assert_eq!(code(get(path, None)), S3Code::NoSuchKey, "{path}");
        }
    }

    #[test]
    fn bad_percent_encoding_is_invalid_argument() {
        assert_eq!(code(get("/acct/prod/a%zz", None)), S3Code::InvalidArgument);
        assert_eq!(code(get("/acct/prod/a%2", None)), S3Code::InvalidArgument);
        assert_eq!(code(get("/acct/prod/%FF", None)), S3Code::InvalidArgument);
        assert_eq!(code(get("/acct%", None)), S3Code::InvalidArgument);
    }

    #[test]
    fn over_long_key_is_invalid_argument() {
        let path = format!("/acct/prod/{}", "k".repeat(MAX_KEY_BYTES));
        assert_eq!(code(get(&path, None)), S3Code::InvalidArgument);
        let path = format!("/acct/prod/{}", "k".repeat(MAX_KEY_BYTES - 5));
        assert!(get(&path, None).is_ok());
    }

    #[test]
    fn invalid_bucket_names_are_no_such_bucket() {
        for path in ["/ab", "/Acct", "/-acct", "/acct-", "/ac%20ct/p/k", "/a!b/p/k"] {
            assert_eq!(code(get(path, None)), S3Code::NoSuchBucket, "{path}");
        }
        let long = format!("/{}", "a".repeat(64));
        assert_eq!(code(get(&long, None)), S3Code::NoSuchBucket);
    }

    #[test]
    fn bucket_names_tolerate_dots_dashes_and_underscores() {
        assert!(is_valid_bucket_name("my.acct-1_x"));
        assert!(is_valid_bucket_name(&"a".repeat(63)));
        assert!(!is_valid_bucket_name("ab"));
    }

    #[test]
    fn writes_on_data_paths_are_method_not_allowed() {
        for m in [Method::PUT, Method::POST, Method::DELETE, Method::PATCH, Method::TRACE] {
            for path in ["/acct", "/acct/", "/acct/prod/k"] {
                assert_eq!(code(parse(&m, path, None)), S3Code::MethodNotAllowed, "{m} {path}");
            }
        }
        let custom = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(code(parse(&custom, "/acct/p/k", None)), S3Code::MethodNotAllowed);
    }

    #[test]
    fn writes_to_subresources_are_method_not_allowed_not_not_implemented() {
        assert_eq!(
            code(parse(&Method::POST, "/acct", Some("delete"))),
            S3Code::MethodNotAllowed
        );
        assert_eq!(
            code(parse(&Method::PUT, "/acct/p/k", Some("acl"))),
            S3Code::MethodNotAllowed
        );
    }

    #[test]
    fn allowed_methods_are_get_head_options() {
        assert_eq!(ALLOWED_METHODS, &[Method::GET, Method::HEAD, Method::OPTIONS]);
    }

    #[test]
    fn options_on_a_data_path_is_a_preflight() {
        assert_eq!(parse(&Method::OPTIONS, "/acct/p/k", None), Ok(S3Request::Preflight));
    }

    #[test]
    fn head_bucket_is_routed_with_or_without_trailing_slash() {
        for path in ["/acct", "/acct/"] {
            assert_eq!(
                parse(&Method::HEAD, path, None),
                Ok(S3Request::HeadBucket { account: "acct".into() })
            );
        }
    }

    #[test]
    fn location_query_is_get_bucket_location() {
        for q in ["location", "location=", "location&x-id=GetBucketLocation"] {
            assert_eq!(
                get("/acct", Some(q)),
                Ok(S3Request::GetBucketLocation { account: "acct".into() })
            );
        }
    }

    #[test]
    fn list_v2_reads_every_parameter() {
        let p = v2(get(
            "/acct",
            Some("list-type=2&prefix=prod%2Fa%20b&delimiter=%2F&max-keys=5&continuation-token=abc&start-after=x&encoding-type=url&fetch-owner=true"),
        ));
        assert_eq!(p.common.prefix, "prod/a b");
        assert_eq!(p.common.delimiter.as_deref(), Some("/"));
        assert_eq!(p.common.max_keys, 5);
        assert!(p.common.encoding_url);
        assert_eq!(p.continuation_token.as_deref(), Some("abc"));
        assert_eq!(p.start_after.as_deref(), Some("x"));
    }

    #[test]
    fn list_v2_defaults() {
        let p = v2(get("/acct/", Some("list-type=2")));
        assert_eq!(p.common.prefix, "");
        assert_eq!(p.common.delimiter, None);
        assert_eq!(p.common.max_keys, 1000);
        assert!(!p.common.encoding_url);
        assert_eq!(p.continuation_token, None);
        assert_eq!(p.start_after, None);
    }

    #[test]
    fn empty_delimiter_and_tokens_count_as_absent() {
        let p = v2(get(
            "/acct",
            Some("list-type=2&delimiter=&continuation-token=&start-after="),
        ));
        assert_eq!(p.common.delimiter, None);
        assert_eq!(p.continuation_token, None);
        assert_eq!(p.start_after, None);
    }

    #[test]
    fn list_without_list_type_is_v1_with_marker() {
        let p = v1(get("/acct", Some("prefix=p%2F&marker=p%2Fk&max-keys=2&delimiter=%2F")));
        assert_eq!(p.common.prefix, "p/");
        assert_eq!(p.marker.as_deref(), Some("p/k"));
        assert_eq!(p.common.max_keys, 2);
        let p = v1(get("/acct", None));
        assert_eq!(p.marker, None);
        assert_eq!(p.common.max_keys, 1000);
    }

    #[test]
    fn unknown_list_type_is_invalid_argument() {
        assert_eq!(code(get("/acct", Some("list-type=3"))), S3Code::InvalidArgument);
        assert_eq!(code(get("/acct", Some("list-type"))), S3Code::InvalidArgument);
    }

    #[test]
    fn max_keys_above_1000_is_clamped() {
        for q in ["max-keys=1001", "max-keys=99999999999999999999999", "max-keys=0001000"] {
            assert_eq!(v1(get("/acct", Some(q))).common.max_keys, 1000, "{q}");
        }
        assert_eq!(v1(get("/acct", Some("max-keys=0"))).common.max_keys, 0);
        assert_eq!(v1(get("/acct", Some("max-keys=007"))).common.max_keys, 7);
    }

    #[test]
    fn non_integer_max_keys_is_invalid_argument() {
        for q in [
            "max-keys=-1",
            "max-keys=abc",
            "max-keys=",
            "max-keys=1.5",
            "max-keys=%2B5",
            "max-keys= 5",
        ] {
            assert_eq!(code(get("/acct", Some(q))), S3Code::InvalidArgument, "{q}");
        }
    }

    #[test]
    fn encoding_type_other_than_url_is_invalid_argument() {
        assert_eq!(
            code(get("/acct", Some("list-type=2&encoding-type=base64"))),
            S3Code::InvalidArgument
        );
        assert_eq!(code(get("/acct", Some("encoding-type=URL"))), S3Code::InvalidArgument);
    }

    #[test]
    fn repeated_listing_parameter_is_invalid_argument() {
        assert_eq!(
            code(get("/acct", Some("list-type=2&prefix=a&prefix=b"))),
            S3Code::InvalidArgument
        );
    }

    #[test]
    fn bad_query_encoding_is_invalid_argument() {
        assert_eq!(
            code(get("/acct", Some("list-type=2&prefix=%G0"))),
            S3Code::InvalidArgument
        );
        assert_eq!(code(get("/acct/p/k", Some("x=%FF"))), S3Code::InvalidArgument);
    }

    #[test]
    fn unknown_query_parameters_are_ignored() {
        let t = target(get(
            "/acct/p/k",
            Some("x-id=GetObject&X-Amz-Expires=60&response-content-type=x"),
        ));
        assert_eq!(t.key, "p/k");
    }

    #[test]
    fn unserved_subresources_are_not_implemented() {
        for q in [
            "acl",
            "tagging",
            "versions",
            "uploads",
            "policy",
            "versionId=3",
            "partNumber=1",
            "cors",
        ] {
            assert_eq!(code(get("/acct", Some(q))), S3Code::NotImplemented, "{q}");
            assert_eq!(code(get("/acct/p/k", Some(q))), S3Code::NotImplemented, "{q}");
            assert_eq!(
                code(parse(&Method::HEAD, "/acct/p/k", Some(q))),
                S3Code::NotImplemented,
                "{q}"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(path in "\\PC*", query in proptest::option::of("\\PC*")) {
            let _ = parse(&Method::GET, &path, query.as_deref());
            let _ = parse(&Method::HEAD, &path, query.as_deref());
        }

        #[test]
        fn parse_never_panics_on_s3ish_paths(
            path in "/[a-z0-9%./_-]{0,12}(/[a-zA-Z0-9%./+ _-]{0,12}){0,4}",
            query in proptest::option::of("[a-z0-9%=&-]{0,40}"),
        ) {
            let _ = parse(&Method::GET, &path, query.as_deref());
        }

        #[test]
        fn encoded_keys_round_trip(
            product in "[a-zA-Z0-9_-][a-zA-Z0-9._-]{1,10}",
            rest in proptest::collection::vec(any::<char>(), 0..40),
        ) {
            let rest: String = rest.into_iter().collect();
            let path = format!(
                "/acct/{}/{}",
                crate::encoding::uri_encode(product.as_bytes()),
                crate::encoding::uri_encode(rest.as_bytes()),
            );
            let t = target(get(&path, None));
            prop_assert_eq!(&t.product, &product);
            prop_assert_eq!(t.rest.as_deref(), Some(rest.as_str()));
            prop_assert_eq!(t.key, format!("{product}/{rest}"));
        }

        #[test]
        fn routed_products_never_contain_a_slash_or_dot_segment(path in "/acct/[a-zA-Z0-9%./]{0,30}") {
            if let Ok(S3Request::GetObject(t)) = parse(&Method::GET, &path, None) {
                prop_assert!(!t.product.contains('/'));
                prop_assert!(!t.product.is_empty() && t.product != "." && t.product != "..");
            }
        }

        #[test]
        fn max_keys_is_never_above_1000(n in any::<u64>()) {
            let q = format!("max-keys={n}");
            let p = v1(get("/acct", Some(&q)));
            prop_assert_eq!(u64::from(p.common.max_keys), n.min(1000));
        }
    }
}
