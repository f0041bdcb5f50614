//! S3 errors: every source of a refused request in one enum, and the one function,
//! [`S3Error::wire`], that chooses S3's code, the HTTP status, the message and the retry
//! hint for each. The message is a fixed, S3-like text per case; what went wrong in detail
//! (a parser's reason, a backend's status, an upstream's answer) is the error's `Display`,
//! which goes to the log line of the request and never into the response.

use std::borrow::Cow;

use http::{header, HeaderValue, Response, StatusCode};

use crate::access::AccessError;
use crate::backend::store::StoreError;
use crate::encoding::xml_escape;
use crate::s3::auth::{PolicyDenied, SessionError};
use crate::s3::object::ObjectError;
use crate::s3::route::RouteError;
use crate::s3::sigv4::SigV4Error;
use crate::web::{self, Body};

/// Why an S3 request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum S3Error {
    /// The method, path or query does not name an operation this proxy serves.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// The request's SigV4 authentication.
    #[error(transparent)]
    SigV4(#[from] SigV4Error),
    /// The session token the signature needs.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The session policy does not allow the request.
    #[error(transparent)]
    Policy(#[from] PolicyDenied),
    /// The catalogue or the upstream API gave no answer that allows the request; `resource`
    /// is what was looked up (a product missing under an object's key is a missing key).
    #[error("{source}")]
    Access { source: AccessError, resource: Resource },
    /// Authorisation is misconfigured: the setting (`UPSTREAM_API_URL` or `CATALOGUE`) was
    /// refused when the isolate started.
    #[error("{setting} is misconfigured")]
    Misconfigured { setting: &'static str },
    /// The product's storage backend.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object: no such key, a precondition, a range.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A listing's continuation or paging.
    #[error(transparent)]
    Listing(#[from] ListingError),
    /// Any of the above, refusing a request that carried no credentials: an `AccessDenied`
    /// then says how to sign.
    #[error("{0} (anonymous)")]
    Anonymous(Box<S3Error>),
}

/// What a look-up was for, which decides how a missing product is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// The bucket (an account): a missing product is `NoSuchBucket`.
    Bucket,
    /// An object: a missing product is `NoSuchKey`.
    Object,
}

/// Why a listing could not be continued or paged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ListingError {
    /// Not a token this worker issued for this listing and caller (see `s3::list::token`).
    #[error("the continuation token was not issued for this listing and caller")]
    BadToken,
    /// At the account level, products are the only common prefixes.
    #[error("the account level was listed with a delimiter other than /")]
    AccountDelimiter,
    /// ListObjects v1 met more empty products than one request may page through.
    #[error("too many empty products for one ListObjects page")]
    TooManyEmptyProducts,
}

/// The S3 error codes this proxy answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum S3Code {
    NoSuchKey,
    NoSuchBucket,
    AccessDenied,
    SignatureDoesNotMatch,
    InvalidAccessKeyId,
    ExpiredToken,
    InvalidToken,
    RequestTimeTooSkewed,
    AuthorizationQueryParametersError,
    InvalidRequest,
    InvalidArgument,
    InvalidRange,
    MethodNotAllowed,
    PreconditionFailed,
    ServiceUnavailable,
    SlowDown,
    NotImplemented,
}

impl S3Code {
    /// The code as S3 writes it.
    pub(crate) fn as_str(self) -> &'static str {
        self.wire().0
    }

    /// The code and its HTTP status.
    fn wire(self) -> (&'static str, StatusCode) {
        use S3Code::*;
        match self {
            NoSuchKey => ("NoSuchKey", StatusCode::NOT_FOUND),
            NoSuchBucket => ("NoSuchBucket", StatusCode::NOT_FOUND),
            AccessDenied => ("AccessDenied", StatusCode::FORBIDDEN),
            SignatureDoesNotMatch => ("SignatureDoesNotMatch", StatusCode::FORBIDDEN),
            InvalidAccessKeyId => ("InvalidAccessKeyId", StatusCode::FORBIDDEN),
            ExpiredToken => ("ExpiredToken", StatusCode::BAD_REQUEST),
            InvalidToken => ("InvalidToken", StatusCode::BAD_REQUEST),
            RequestTimeTooSkewed => ("RequestTimeTooSkewed", StatusCode::FORBIDDEN),
            AuthorizationQueryParametersError => ("AuthorizationQueryParametersError", StatusCode::BAD_REQUEST),
            InvalidRequest => ("InvalidRequest", StatusCode::BAD_REQUEST),
            InvalidArgument => ("InvalidArgument", StatusCode::BAD_REQUEST),
            InvalidRange => ("InvalidRange", StatusCode::RANGE_NOT_SATISFIABLE),
            MethodNotAllowed => ("MethodNotAllowed", StatusCode::METHOD_NOT_ALLOWED),
            PreconditionFailed => ("PreconditionFailed", StatusCode::PRECONDITION_FAILED),
            ServiceUnavailable => ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE),
            SlowDown => ("SlowDown", StatusCode::SERVICE_UNAVAILABLE),
            NotImplemented => ("NotImplemented", StatusCode::NOT_IMPLEMENTED),
        }
    }
}

/// What the caller is told about an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wire {
    pub(crate) code: S3Code,
    pub(crate) status: StatusCode,
    /// A fixed text for the case, never the error's detail.
    pub(crate) message: Cow<'static, str>,
    /// `Retry-After` seconds, for 503s.
    retry_after: Option<u32>,
}

/// What an anonymous caller is told when refused: the same for every key of a product (and
/// for products it may not see), so it says nothing about whether the object exists.
pub(crate) const ANONYMOUS_DENIED: &str =
    "Access Denied: anonymous requests read public data only; this needs a request signed with credentials from /.sts";

const ACCESS_DENIED: &str = "Access Denied";
const NO_SUCH_KEY: &str = "The specified key does not exist.";
const NO_SUCH_BUCKET: &str = "The specified bucket does not exist";
const SIGNATURE_DOES_NOT_MATCH: &str =
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
const INVALID_TOKEN: &str = "The provided token is malformed or otherwise invalid.";
const PRESIGNED_MALFORMED: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, \
     X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters, well-formed.";
const UNAVAILABLE: &str = "The service is unavailable; please retry.";

/// S3's code, the message and the `Retry-After` seconds chosen for a case.
type Choice = (S3Code, Cow<'static, str>, Option<u32>);

/// A choice with a fixed message and no retry hint.
fn fixed(code: S3Code, message: &'static str) -> Choice {
    (code, Cow::Borrowed(message), None)
}

/// A `503`-class choice: retry after `secs`.
fn retry(code: S3Code, message: &'static str, secs: u32) -> Choice {
    (code, Cow::Borrowed(message), Some(secs))
}

impl S3Error {
    /// S3's code, the status, the message and the retry hint for this error: the only place
    /// they are chosen.
    pub(crate) fn wire(&self) -> Wire {
        use S3Code::*;
        let (code, message, retry_after) = match self {
            Self::Route(e) => route(e),
            Self::SigV4(e) => sigv4(e),
            Self::Session(e) => session(e),
            Self::Policy(e) => (AccessDenied, e.message().into(), None),
            Self::Access { source, resource } => access(source, *resource),
            Self::Misconfigured { setting } => (
                ServiceUnavailable,
                format!("{setting} is misconfigured; the worker's log says why; please retry").into(),
                Some(5),
            ),
            Self::Store(e) => store(e),
            Self::Object(e) => object(e),
            Self::Listing(ListingError::BadToken) => {
                fixed(InvalidArgument, "The continuation token provided is incorrect")
            }
            Self::Listing(ListingError::AccountDelimiter) => fixed(
                InvalidArgument,
                "at the account level the only delimiter is /; or name a product in the prefix",
            ),
            Self::Listing(ListingError::TooManyEmptyProducts) => retry(
                SlowDown,
                "too many empty products to page through with ListObjects; use ListObjectsV2",
                1,
            ),
            Self::Anonymous(inner) => {
                let mut wire = inner.wire();
                if wire.code == AccessDenied {
                    wire.message = ANONYMOUS_DENIED.into();
                }
                return wire;
            }
        };
        Wire {
            code,
            status: code.wire().1,
            message,
            retry_after,
        }
    }

    /// S3's code for this error.
    pub(crate) fn code(&self) -> S3Code {
        self.wire().code
    }

    /// The XML error document (`Error/Code/Message/Resource/RequestId`) with S3's status,
    /// and the headers the error calls for (`Retry-After`, `Allow`, `Content-Range`).
    pub(crate) fn to_response(&self, resource: &str, request_id: &str) -> Response<Body> {
        let wire = self.wire();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <Resource>{}</Resource><RequestId>{}</RequestId></Error>\n",
            wire.code.as_str(),
            xml_escape(&wire.message),
            xml_escape(resource),
            xml_escape(request_id),
        );
        let mut res = web::with_body(wire.status, "application/xml", body.into_bytes());
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amz-request-id", v);
        }
        if let Some(secs) = wire.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if wire.code == S3Code::MethodNotAllowed {
            h.insert(header::ALLOW, web::allow_value(crate::s3::route::ALLOWED_METHODS));
        }
        if let Some(size) = self.unsatisfied_range_size() {
            h.insert(
                header::CONTENT_RANGE,
                crate::s3::object::unsatisfied_content_range(size),
            );
        }
        res
    }

    /// The object's size, for the `Content-Range: bytes */size` of a 416 (RFC 9110 §15.5.17).
    fn unsatisfied_range_size(&self) -> Option<u64> {
        match self {
            Self::Object(ObjectError::RangeNotSatisfiable { size }) => Some(*size),
            Self::Anonymous(inner) => inner.unsatisfied_range_size(),
            _ => None,
        }
    }
}

fn route(e: &RouteError) -> Choice {
    use S3Code::*;
    match e {
        RouteError::PathNotAbsolute => fixed(InvalidRequest, "The request path must start with /."),
        RouteError::MethodNotAllowed { .. } => fixed(
            MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        ),
        RouteError::PathEncoding => fixed(InvalidArgument, "The request path is not valid percent-encoded UTF-8."),
        RouteError::InvalidBucketName { .. } => fixed(NoSuchBucket, NO_SUCH_BUCKET),
        RouteError::UnservedSubresource { name } => (
            NotImplemented,
            format!("the {name} subresource is not implemented").into(),
            None,
        ),
        RouteError::KeyTooLong => fixed(InvalidArgument, "Your key is too long"),
        RouteError::InvalidProduct => fixed(NoSuchKey, NO_SUCH_KEY),
        RouteError::QueryEncoding => fixed(InvalidArgument, "The query string is not valid percent-encoded UTF-8."),
        RouteError::RepeatedParameter { .. } => fixed(InvalidArgument, "A query parameter is repeated."),
        RouteError::MaxKeys => fixed(
            InvalidArgument,
            "Provided max-keys not an integer or within integer range",
        ),
        RouteError::EncodingType => fixed(InvalidArgument, "Invalid Encoding Method specified in Request"),
        RouteError::ListType => fixed(InvalidArgument, "Invalid List Type specified"),
    }
}

/// S3's code and message for a SigV4 refusal. Where S3 itself answers with a code this proxy
/// does not use (`AuthorizationHeaderMalformed` for a bad header or scope), the nearest one
/// stands in: `InvalidArgument` for the header, `AuthorizationQueryParametersError` for a
/// presigned URL.
fn sigv4(e: &SigV4Error) -> Choice {
    use S3Code::*;
    use SigV4Error as E;
    let by_location = |presigned: bool, header: &'static str, query: &'static str| {
        if presigned {
            fixed(AuthorizationQueryParametersError, query)
        } else {
            fixed(InvalidArgument, header)
        }
    };
    match e {
        E::UnsupportedAlgorithm { presigned: false } => fixed(
            InvalidRequest,
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        ),
        E::UnsupportedAlgorithm { presigned: true } => fixed(
            AuthorizationQueryParametersError,
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ),
        E::ConflictingAuth => fixed(
            InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization \
             header should be specified",
        ),
        E::Malformed { presigned, .. } => by_location(
            *presigned,
            "The authorization header is malformed; it must be AWS4-HMAC-SHA256 Credential=..., \
             SignedHeaders=..., Signature=...",
            PRESIGNED_MALFORMED,
        ),
        E::InvalidDate { presigned: false } => fixed(
            AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        ),
        E::InvalidDate { presigned: true } => fixed(
            AuthorizationQueryParametersError,
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        ),
        E::WrongService { presigned, .. } => {
            let message = "Credential should be scoped to correct service: 's3'.";
            by_location(*presigned, message, message)
        }
        E::InvalidRegion { presigned } => {
            let message = "Credential should be scoped to a valid region.";
            by_location(*presigned, message, message)
        }
        E::ScopeDateMismatch { presigned } => {
            let message = "Invalid credential date. Date is not the same as X-Amz-Date.";
            by_location(*presigned, message, message)
        }
        E::HostNotSigned { presigned } => {
            let message = "The host header must be signed.";
            by_location(*presigned, message, message)
        }
        E::ExpiresOutOfRange { .. } => fixed(
            AuthorizationQueryParametersError,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
        E::MissingContentSha256 => fixed(
            InvalidRequest,
            "Missing required header for this request: x-amz-content-sha256",
        ),
        E::InvalidContentSha256 => fixed(
            InvalidArgument,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid \
             sha256 value.",
        ),
        E::InvalidPercentEncoding { .. } => fixed(
            InvalidArgument,
            "The request path or query string is not validly percent-encoded.",
        ),
        E::SignedHeaderMissing { .. } | E::SignedHeaderNotUtf8 { .. } | E::SignatureMismatch => {
            fixed(SignatureDoesNotMatch, SIGNATURE_DOES_NOT_MATCH)
        }
        E::RequestTimeTooSkewed { .. } => fixed(
            RequestTimeTooSkewed,
            "The difference between the request time and the server's time is too large.",
        ),
        E::Expired { .. } => fixed(AccessDenied, "Request has expired"),
        E::AccessKeyMismatch => fixed(
            InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
    }
}

fn session(e: &SessionError) -> Choice {
    use crate::session::seal::OpenError;
    match e {
        SessionError::NoSessionToken => fixed(
            S3Code::InvalidAccessKeyId,
            "only temporary credentials from /.sts are accepted, and they need their session token",
        ),
        SessionError::Open(OpenError::Expired) => fixed(S3Code::ExpiredToken, "The provided token has expired."),
        SessionError::NoSessionKeys | SessionError::Open(_) => fixed(S3Code::InvalidToken, INVALID_TOKEN),
    }
}

fn access(e: &AccessError, resource: Resource) -> Choice {
    match (e, resource) {
        (AccessError::NoSuchProduct, Resource::Object) => fixed(S3Code::NoSuchKey, NO_SUCH_KEY),
        (AccessError::NoSuchAccount | AccessError::NoCatalogue | AccessError::NoSuchProduct, _) => {
            fixed(S3Code::NoSuchBucket, NO_SUCH_BUCKET)
        }
        (AccessError::Denied, _) => fixed(S3Code::AccessDenied, ACCESS_DENIED),
        (AccessError::Unavailable { .. }, _) => retry(S3Code::ServiceUnavailable, UNAVAILABLE, 5),
    }
}

fn store(e: &StoreError) -> Choice {
    match e {
        StoreError::Unaddressable => fixed(
            S3Code::InvalidArgument,
            "keys with a '.' or '..' segment cannot be read from this product's backend",
        ),
        StoreError::BadParameters { .. } => fixed(
            S3Code::InvalidArgument,
            "the product's storage backend refused this request's parameters",
        ),
        StoreError::Throttled => retry(S3Code::SlowDown, "Please reduce your request rate.", 1),
        // Which secret is missing is for the log (see `product_store`), not the caller.
        StoreError::Credentials { .. } => retry(
            S3Code::ServiceUnavailable,
            "the product's storage backend is not configured correctly; please retry later",
            30,
        ),
        StoreError::NotConfigured => retry(
            S3Code::ServiceUnavailable,
            "no storage backend is configured for this product; please retry later",
            5,
        ),
        StoreError::Unavailable | StoreError::Refused { .. } => retry(
            S3Code::ServiceUnavailable,
            "the product's storage backend is unavailable; please retry",
            5,
        ),
    }
}

fn object(e: &ObjectError) -> Choice {
    match e {
        ObjectError::NoSuchKey => fixed(S3Code::NoSuchKey, NO_SUCH_KEY),
        ObjectError::PreconditionFailed => fixed(
            S3Code::PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold",
        ),
        ObjectError::RangeNotSatisfiable { .. } => {
            fixed(S3Code::InvalidRange, "The requested range is not satisfiable")
        }
        // workerd's fetch decodes a Content-Encoding, and in its pass-through mode a partial
        // (206) encoded body never arrives: refused rather than left to hang.
        ObjectError::EncodedRange => fixed(
            S3Code::NotImplemented,
            "ranged reads of an object stored with a Content-Encoding are not supported by this proxy; \
             read the whole object",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(res: &Response<Body>) -> String {
        String::from_utf8(res.body().as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn error_document_has_code_message_resource_and_request_id() {
        let res = S3Error::from(ObjectError::NoSuchKey).to_response("/acct/p/a&b", "r1");
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let body = body(&res);
        for part in [
            "<Code>NoSuchKey</Code>",
            "<Message>The specified key does not exist.</Message>",
            "<Resource>/acct/p/a&amp;b</Resource>",
            "<RequestId>r1</RequestId>",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
    }

    #[test]
    fn unsatisfiable_range_names_the_object_size() {
        let e = S3Error::from(ObjectError::RangeNotSatisfiable { size: 1024 });
        let res = e.to_response("/a", "r");
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(res.headers()["content-range"], "bytes */1024");
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let e = S3Error::Access {
            source: AccessError::Unavailable {
                reason: "upstream answered HTTP 502".into(),
            },
            resource: Resource::Object,
        };
        let res = e.to_response("/a", "r");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "5");
        assert!(!body(&res).contains("502"), "{}", body(&res));
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let res = S3Error::from(RouteError::MethodNotAllowed { method: "PUT".into() }).to_response("/a", "r");
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers()["allow"], "GET, HEAD, OPTIONS");
    }

    #[test]
    fn parser_detail_stays_out_of_the_response_and_in_the_display() {
        let errors = [
            S3Error::from(SigV4Error::Malformed {
                presigned: false,
                reason: "authorization header repeats a component",
            }),
            S3Error::from(SigV4Error::WrongService {
                presigned: true,
                service: "ec2<script>".into(),
            }),
            S3Error::from(SigV4Error::RequestTimeTooSkewed {
                request_secs: 1_234_567,
                server_secs: 7_654_321,
            }),
            S3Error::from(StoreError::Refused { status: 418 }),
            S3Error::from(StoreError::Credentials {
                name: "BACKEND_SECRET_NAME".into(),
            }),
        ];
        for (e, detail) in errors.iter().zip([
            "repeats a component",
            "ec2<script>",
            "1234567",
            "418",
            "BACKEND_SECRET_NAME",
        ]) {
            assert!(e.to_string().contains(detail), "{e}");
            let body = body(&e.to_response("/a", "r"));
            assert!(!body.contains(detail), "{body}");
            assert!(!body.contains(&xml_escape(detail)), "{body}");
        }
    }

    #[test]
    fn an_anonymous_denial_says_how_to_sign_and_nothing_else_changes() {
        let denied = S3Error::Access {
            source: AccessError::Denied,
            resource: Resource::Object,
        };
        assert_eq!(denied.wire().message, ACCESS_DENIED);
        let anonymous = S3Error::Anonymous(Box::new(denied.clone()));
        assert_eq!(
            (anonymous.code(), anonymous.wire().message),
            (S3Code::AccessDenied, ANONYMOUS_DENIED.into())
        );
        let missing = S3Error::Anonymous(Box::new(S3Error::from(ObjectError::NoSuchKey)));
        assert_eq!(missing.wire(), S3Error::from(ObjectError::NoSuchKey).wire());
    }

    #[test]
    fn a_missing_product_is_a_missing_bucket_or_key_by_what_was_looked_up() {
        let missing = |resource| {
            S3Error::Access {
                source: AccessError::NoSuchProduct,
                resource,
            }
            .code()
        };
        assert_eq!(missing(Resource::Bucket), S3Code::NoSuchBucket);
        assert_eq!(missing(Resource::Object), S3Code::NoSuchKey);
    }

    #[test]
    fn a_misconfiguration_names_the_setting_and_asks_for_a_retry() {
        let wire = S3Error::Misconfigured { setting: "CATALOGUE" }.wire();
        assert_eq!((wire.code, wire.retry_after), (S3Code::ServiceUnavailable, Some(5)));
        assert!(wire.message.contains("CATALOGUE"), "{}", wire.message);
    }

    #[test]
    fn a_backend_refusing_the_listings_parameters_is_the_callers_error() {
        let err = S3Error::from(StoreError::BadParameters {
            code: "InvalidArgument",
        })
        .wire();
        assert_eq!(err.code, S3Code::InvalidArgument);
        assert_eq!(err.retry_after, None);
    }
}
