//! Why a request's SigV4 authentication was refused.

/// Why a request's SigV4 authentication was refused.
///
/// Messages are for the log: none holds the secret, the signature or the security token.
/// Each variant's doc names the S3 code it is answered with and S3's message for it; the
/// mapping itself is `crate::s3::error`'s, with every other S3 error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SigV4Error {
    /// Header: `InvalidRequest` ("The authorization mechanism you have provided is not
    /// supported"). Presigned: `AuthorizationQueryParametersError`.
    #[error("only AWS4-HMAC-SHA256 is supported")]
    UnsupportedAlgorithm { presigned: bool },
    /// `InvalidArgument` ("Only one auth mechanism allowed").
    #[error("both an authorization header and query-string authentication were sent")]
    ConflictingAuth,
    /// Header: `InvalidArgument`. Presigned: `AuthorizationQueryParametersError`.
    #[error("{reason}")]
    Malformed { presigned: bool, reason: &'static str },
    /// Header: `AccessDenied` ("AWS authentication requires a valid Date or x-amz-date
    /// header"). Presigned: `AuthorizationQueryParametersError`.
    #[error("x-amz-date is missing or not of the form yyyymmddThhmmssZ")]
    InvalidDate { presigned: bool },
    /// Header: `InvalidArgument`. Presigned: `AuthorizationQueryParametersError`.
    #[error("credential scope names service {service:?}, not s3")]
    WrongService { presigned: bool, service: String },
    /// Header: `InvalidArgument`. Presigned: `AuthorizationQueryParametersError`.
    #[error("credential scope region must be 1 to 32 characters of a-z, 0-9 and '-'")]
    InvalidRegion { presigned: bool },
    /// Header: `InvalidArgument`. Presigned: `AuthorizationQueryParametersError`.
    #[error("credential scope date is not the date of x-amz-date")]
    ScopeDateMismatch { presigned: bool },
    /// Header: `InvalidArgument`. Presigned: `AuthorizationQueryParametersError`.
    #[error("host is not a signed header")]
    HostNotSigned { presigned: bool },
    /// `AuthorizationQueryParametersError` ("X-Amz-Expires must be less than a week").
    #[error("X-Amz-Expires must be between 1 and 604800 seconds")]
    ExpiresOutOfRange { expires_secs: u64 },
    /// `InvalidRequest` ("Missing required header for this request: x-amz-content-sha256").
    #[error("missing required header x-amz-content-sha256")]
    MissingContentSha256,
    /// `InvalidArgument` ("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a
    /// valid sha256 value").
    #[error("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-*, or 64 hex digits")]
    InvalidContentSha256,
    /// `InvalidArgument`.
    #[error("the {part} has invalid percent-encoding")]
    InvalidPercentEncoding { part: &'static str },
    /// `SignatureDoesNotMatch`: what was signed is not all there.
    #[error("signed header {name} is not in the request")]
    SignedHeaderMissing { name: String },
    /// `SignatureDoesNotMatch`: the value cannot be put in a canonical request.
    #[error("signed header {name} is not valid UTF-8")]
    SignedHeaderNotUtf8 { name: String },
    /// `RequestTimeTooSkewed` ("The difference between the request time and the server's
    /// time is too large").
    #[error("request time {request_secs} is more than 15 minutes from server time {server_secs}")]
    RequestTimeTooSkewed { request_secs: u64, server_secs: u64 },
    /// `AccessDenied` ("Request has expired").
    #[error("request expired at {expired_at_secs}, server time is {server_secs}")]
    Expired { expired_at_secs: u64, server_secs: u64 },
    /// `InvalidAccessKeyId` ("The AWS Access Key Id you provided does not exist in our
    /// records"): the key id in `Credential=` is not the one the security token was issued to.
    #[error("access key id does not match the security token")]
    AccessKeyMismatch,
    /// `SignatureDoesNotMatch`.
    #[error("signature does not match")]
    SignatureMismatch,
}
