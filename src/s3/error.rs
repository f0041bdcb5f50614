//! S3 errors and their one mapping to S3's wire codes, statuses and XML.

use http::{header, HeaderValue, Response, StatusCode};

use crate::encoding::xml_escape;
use crate::web::{self, Body};

/// An S3 error: its code decides the status; the message is for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub code: S3Code,
    pub message: String,
    /// `Retry-After` seconds, for 503s.
    pub retry_after: Option<u32>,
    /// The object's size, for the `Content-Range: bytes */size` of a 416 (RFC 9110 §15.5.17).
    pub object_size: Option<u64>,
}

/// The S3 error codes this proxy answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Code {
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
    /// The wire code and HTTP status: the only place they are chosen.
    pub fn wire(self) -> (&'static str, StatusCode) {
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

impl S3Error {
    pub fn new(code: S3Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            object_size: None,
        }
    }

    /// The XML error document (`Error/Code/Message/Resource/RequestId`) with S3's status.
    pub fn to_response(&self, resource: &str, request_id: &str) -> Response<Body> {
        let (code, status) = self.code.wire();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message>\
             <Resource>{}</Resource><RequestId>{}</RequestId></Error>\n",
            xml_escape(&self.message),
            xml_escape(resource),
            xml_escape(request_id),
        );
        let mut res = web::with_body(status, "application/xml", body.into_bytes());
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amz-request-id", v);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let (S3Code::InvalidRange, Some(size)) = (self.code, self.object_size) {
            h.insert(
                header::CONTENT_RANGE,
                crate::s3::object::unsatisfied_content_range(size),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_document_has_code_message_resource_and_request_id() {
        let res = S3Error::new(S3Code::NoSuchKey, "The specified key does not exist.").to_response("/acct/p/a&b", "r1");
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let body = String::from_utf8(res.body().as_bytes().to_vec()).unwrap();
        assert!(body.contains("<Code>NoSuchKey</Code>"));
        assert!(body.contains("<Resource>/acct/p/a&amp;b</Resource>"));
        assert!(body.contains("<RequestId>r1</RequestId>"));
    }

    #[test]
    fn unsatisfiable_range_names_the_object_size() {
        let mut e = S3Error::new(S3Code::InvalidRange, "The requested range is not satisfiable");
        e.object_size = Some(1024);
        assert_eq!(e.to_response("/a", "r").headers()["content-range"], "bytes */1024");
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let mut e = S3Error::new(S3Code::ServiceUnavailable, "upstream unavailable");
        e.retry_after = Some(5);
        let res = e.to_response("/a", "r");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "5");
    }
}
