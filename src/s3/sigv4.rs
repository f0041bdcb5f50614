//! AWS Signature Version 4 verification for the S3 read path.
//!
//! Sans-IO: the caller hands in the request's method, its raw path and query exactly as the
//! client sent them (before any URL parsing that could re-encode them), its headers, the secret
//! access key that belongs to the request's access key id, and the time. Nothing here reads a
//! clock, a key store or a body.
//!
//! ```text
//! parse_auth ─► SigV4Request ─► verify (S3 rules) ─► verify_signature
//!                                                       ├─ canonical_request
//!                                                       ├─ string_to_sign
//!                                                       ├─ signing_key
//!                                                       └─ signature, compared in constant time
//! ```
//!
//! [`canonical_request`], [`string_to_sign`], [`signing_key`], [`signature`] and
//! [`verify_signature`] are service-agnostic (they take the payload hash as given and never
//! normalise the path), so the AWS SigV4 test suite checks them directly; [`verify`] adds
//! what S3 requires on top.
//!
//! S3's rules, as implemented (AWS S3 API reference, "Authenticating Requests (AWS Signature
//! Version 4)"; "Signature Calculations for the Authorization Header"; "Authenticating
//! Requests: Using Query Parameters"):
//! - Only `AWS4-HMAC-SHA256`. SigV2 (`AWS AKID:sig`, `?AWSAccessKeyId=`) and
//!   `AWS4-ECDSA-P256-SHA256` (SigV4a) are refused with their own error.
//! - The credential scope's service must be `s3`. Its region may be any 1 to 32 characters of
//!   `a-z`, `0-9` and `-`: clients sign with `us-east-1` (the SDKs' and the CLI's choice for
//!   S3 when nothing else is configured), `auto` (the R2 convention, used by rclone and the
//!   R2 docs) or the deployment's own name. The region only feeds the key derivation and this
//!   proxy is a single endpoint, so accepting any well-formed one costs nothing.
//! - The scope's date is the date of `x-amz-date` (`X-Amz-Date`); the `Date` header is not
//!   accepted in its place.
//! - `host` must be a signed header.
//! - Header auth: `x-amz-date` within 15 minutes of the server's clock. Presigned:
//!   `X-Amz-Expires` in `1..=604800`, `X-Amz-Date` not more than 15 minutes in the future,
//!   and the request made no later than `X-Amz-Date + X-Amz-Expires`.
//! - Canonical URI: the raw path split on `/`; each segment percent-decoded, then encoded
//!   once with `UriEncode` (`A-Za-z0-9-_.~` kept, every other byte `%XX`, upper-case). No
//!   dot-segment removal, empty segments kept (`//` survives).
//! - Canonical query: every parameter (less `X-Amz-Signature` when presigned), name and value
//!   percent-decoded (`+` is a literal plus, not a space) and `UriEncode`d, sorted by name
//!   then value; a parameter without `=` has an empty value.
//! - Canonical headers: the signed headers in `SignedHeaders` order (which must be lower-case,
//!   sorted and unique), each with all its values trimmed, runs of spaces and tabs folded to
//!   one space, joined with `,`.
//! - Payload hash: for header auth, the `x-amz-content-sha256` header as sent (64 hex digits,
//!   `UNSIGNED-PAYLOAD` or a `STREAMING-*` value), which S3 requires; presigned requests use
//!   `UNSIGNED-PAYLOAD` unless they signed an `x-amz-content-sha256` header. The hash is not
//!   compared with a body: the read path takes none.

use crate::encoding::{percent_decode, uri_encode, uri_encode_into};
use crate::s3::error::S3Code;
use crate::time::parse_amz_date;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Method};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The one signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a request that does not sign its body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far `x-amz-date` may be from the server's clock (S3: 15 minutes).
pub const MAX_SKEW_SECS: u64 = 15 * 60;
/// The longest validity of a presigned URL (S3: 7 days).
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;
/// The only service this verifier accepts in a credential scope.
pub const SERVICE: &str = "s3";
/// The last element of every credential scope.
const TERMINATOR: &str = "aws4_request";
const MAX_ACCESS_KEY_ID_LEN: usize = 128;
const MAX_SCOPE_PART_LEN: usize = 64;
const MAX_REGION_LEN: usize = 32;

const AMZ_DATE: &str = "x-amz-date";
const AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
const AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

const Q_ALGORITHM: &str = "X-Amz-Algorithm";
const Q_CREDENTIAL: &str = "X-Amz-Credential";
const Q_DATE: &str = "X-Amz-Date";
const Q_EXPIRES: &str = "X-Amz-Expires";
const Q_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const Q_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
const Q_SIGNATURE: &str = "X-Amz-Signature";
/// SigV2 query authentication, recognised only to be refused.
const Q_V2_ACCESS_KEY_ID: &str = "AWSAccessKeyId";

type HmacSha256 = Hmac<Sha256>;

/// Why a request's SigV4 authentication was refused.
///
/// Messages are for the log: none holds the secret, the signature or the security token.
/// [`SigV4Error::s3_code`] is the one mapping to S3's error codes; each variant's doc names
/// its code and S3's message for it. Where S3 itself answers with a code this proxy does not use
/// (`AuthorizationHeaderMalformed` for a bad header or scope), the nearest listed code
/// stands in: `InvalidArgument` for the header, `AuthorizationQueryParametersError` for a
/// presigned URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
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

impl SigV4Error {
    /// S3's error code for this error: the only place it is chosen.
    pub fn code(&self) -> S3Code {
        let by_location = |presigned: bool| {
            if presigned {
                S3Code::AuthorizationQueryParametersError
            } else {
                S3Code::InvalidArgument
            }
        };
        match self {
            Self::UnsupportedAlgorithm { presigned: false } => S3Code::InvalidRequest,
            Self::UnsupportedAlgorithm { presigned: true } => S3Code::AuthorizationQueryParametersError,
            Self::ConflictingAuth => S3Code::InvalidArgument,
            Self::Malformed { presigned, .. }
            | Self::WrongService { presigned, .. }
            | Self::InvalidRegion { presigned }
            | Self::ScopeDateMismatch { presigned }
            | Self::HostNotSigned { presigned } => by_location(*presigned),
            Self::InvalidDate { presigned: false } => S3Code::AccessDenied,
            Self::InvalidDate { presigned: true } => S3Code::AuthorizationQueryParametersError,
            Self::ExpiresOutOfRange { .. } => S3Code::AuthorizationQueryParametersError,
            Self::MissingContentSha256 => S3Code::InvalidRequest,
            Self::InvalidContentSha256 | Self::InvalidPercentEncoding { .. } => S3Code::InvalidArgument,
            Self::SignedHeaderMissing { .. } | Self::SignedHeaderNotUtf8 { .. } | Self::SignatureMismatch => {
                S3Code::SignatureDoesNotMatch
            }
            Self::RequestTimeTooSkewed { .. } => S3Code::RequestTimeTooSkewed,
            Self::Expired { .. } => S3Code::AccessDenied,
            Self::AccessKeyMismatch => S3Code::InvalidAccessKeyId,
        }
    }

    /// The code as S3 writes it.
    pub fn s3_code(&self) -> &'static str {
        self.code().wire().0
    }
}

/// Where the signature travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    Header,
    /// Query-string authentication (a presigned URL), valid `expires_secs` after `X-Amz-Date`.
    Presigned { expires_secs: u64 },
}

/// The credential scope from `Credential=`: `date/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    date: String,
    region: String,
    service: String,
}

impl CredentialScope {
    /// `yyyymmdd` as sent (checked against `x-amz-date` by [`verify`]).
    pub fn date(&self) -> &str {
        &self.date
    }

    /// The region as sent (checked by [`verify`]).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The service as sent (checked by [`verify`]).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The scope line of the string to sign: `date/region/service/aws4_request`.
    pub fn to_scope_string(&self) -> String {
        format!("{}/{}/{}/{TERMINATOR}", self.date, self.region, self.service)
    }
}

/// A request's SigV4 authentication, parsed but not yet verified.
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4Request {
    access_key_id: String,
    scope: CredentialScope,
    amz_date: String,
    request_secs: u64,
    signed_headers: Vec<String>,
    signature: [u8; 32],
    security_token: Option<String>,
    kind: AuthKind,
}

impl std::fmt::Debug for SigV4Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Request")
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope)
            .field("amz_date", &self.amz_date)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"[redacted]")
            .field("security_token", &self.security_token.as_ref().map(|_| "[redacted]"))
            .field("kind", &self.kind)
            .finish()
    }
}

impl SigV4Request {
    /// The access key id from `Credential=`.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn scope(&self) -> &CredentialScope {
        &self.scope
    }

    /// `x-amz-date` / `X-Amz-Date` as sent: `yyyymmddThhmmssZ`.
    pub fn amz_date(&self) -> &str {
        &self.amz_date
    }

    /// `x-amz-date` in seconds since the Unix epoch.
    pub fn request_time_secs(&self) -> u64 {
        self.request_secs
    }

    /// Lower-case, sorted, unique.
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }

    pub fn signature(&self) -> &[u8; 32] {
        &self.signature
    }

    /// `x-amz-security-token` (header auth) or `X-Amz-Security-Token` (presigned).
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    pub fn kind(&self) -> AuthKind {
        self.kind
    }

    pub fn is_presigned(&self) -> bool {
        matches!(self.kind, AuthKind::Presigned { .. })
    }

    /// `X-Amz-Expires`, for presigned requests.
    pub fn expires_secs(&self) -> Option<u64> {
        match self.kind {
            AuthKind::Presigned { expires_secs } => Some(expires_secs),
            AuthKind::Header => None,
        }
    }

    /// Checks that `Credential=` names `expected`, the access key id the security token was
    /// issued with.
    pub fn check_access_key_id(&self, expected: &str) -> Result<(), SigV4Error> {
        if bool::from(self.access_key_id.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(SigV4Error::AccessKeyMismatch)
        }
    }

    /// The authentication an outbound request is about to carry (header auth), for
    /// [`crate::s3::sign`]: the same canonicalisation then serves both directions.
    pub(crate) fn for_signing(
        access_key_id: &str,
        region: &str,
        request_secs: u64,
        signed_headers: Vec<String>,
    ) -> Self {
        let amz_date = crate::time::amz_date(request_secs);
        SigV4Request {
            access_key_id: access_key_id.to_owned(),
            scope: CredentialScope {
                date: amz_date[..8].to_owned(),
                region: region.to_owned(),
                service: SERVICE.to_owned(),
            },
            amz_date,
            request_secs,
            signed_headers,
            signature: [0; 32],
            security_token: None,
            kind: AuthKind::Header,
        }
    }

    fn signs(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }
}

/// Finds and parses a request's SigV4 authentication.
///
/// `Ok(None)`: the request carries none (no `Authorization` header, and none of
/// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Signature` in the query): it is anonymous.
/// `method` and `path` are taken so that callers hand `parse_auth` and [`verify`] the same
/// parts; parsing reads only the query and the headers.
pub fn parse_auth(
    _method: &Method,
    _path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<SigV4Request>, SigV4Error> {
    let mut authorization = headers.get_all(http::header::AUTHORIZATION).iter();
    let header = authorization.next();
    let params = QueryAuthParams::collect(query)?;
    match header {
        // S3: "Only one auth mechanism allowed".
        Some(_) if params.signals_sigv4() => Err(SigV4Error::ConflictingAuth),
        Some(value) => {
            if authorization.next().is_some() {
                return Err(malformed_header("more than one authorization header"));
            }
            parse_header_auth(value, headers).map(Some)
        }
        None if params.signals_sigv4() => parse_query_auth(params).map(Some),
        None if params.v2_access_key_id => Err(SigV4Error::UnsupportedAlgorithm { presigned: true }),
        None => Ok(None),
    }
}

fn malformed_header(reason: &'static str) -> SigV4Error {
    SigV4Error::Malformed {
        presigned: false,
        reason,
    }
}

fn malformed_query(reason: &'static str) -> SigV4Error {
    SigV4Error::Malformed {
        presigned: true,
        reason,
    }
}

/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
/// SignedHeaders=a;b;c, Signature=hex64` (components in any order, spaces after commas optional).
fn parse_header_auth(value: &HeaderValue, headers: &HeaderMap) -> Result<SigV4Request, SigV4Error> {
    let value = value
        .to_str()
        .map_err(|_| malformed_header("authorization header is not visible ASCII"))?
        .trim();
    let (algorithm, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    // Allow-list: AWS4-HMAC-SHA256 only (SigV4, "Authorization header" section).
    if algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm { presigned: false });
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in rest.split(',') {
        let (name, value) = component
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed_header("authorization header component lacks '='"))?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed_header("authorization header has an unknown component")),
        };
        if slot.replace(value).is_some() {
            return Err(malformed_header("authorization header repeats a component"));
        }
    }
    let credential = credential.ok_or_else(|| malformed_header("authorization header lacks Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| malformed_header("authorization header lacks SignedHeaders"))?;
    let signature = signature.ok_or_else(|| malformed_header("authorization header lacks Signature"))?;

    let (access_key_id, scope) = parse_credential(credential, false)?;
    let signed_headers = parse_signed_headers(signed_headers, false)?;
    let signature = parse_signature(signature, false)?;
    // S3 header auth requires x-amz-date (the Date header is not accepted here).
    let amz_date = single_header(headers, AMZ_DATE)
        .ok()
        .flatten()
        .ok_or(SigV4Error::InvalidDate { presigned: false })?;
    let request_secs = parse_amz_date(amz_date).ok_or(SigV4Error::InvalidDate { presigned: false })?;
    let security_token = single_header(headers, AMZ_SECURITY_TOKEN)
        .map_err(|()| malformed_header("x-amz-security-token must be one visible-ASCII value"))?
        .map(str::to_owned);
    Ok(SigV4Request {
        access_key_id,
        scope,
        amz_date: amz_date.to_owned(),
        request_secs,
        signed_headers,
        signature,
        security_token,
        kind: AuthKind::Header,
    })
}

/// The one value of a header, as visible ASCII: `Err` when repeated or not text.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ()> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    value.to_str().map(Some).map_err(|_| ())
}

/// The authentication parameters of a query string, percent-decoded.
#[derive(Default)]
struct QueryAuthParams {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    security_token: Option<String>,
    signature: Option<String>,
    v2_access_key_id: bool,
}

impl QueryAuthParams {
    fn collect(query: Option<&str>) -> Result<Self, SigV4Error> {
        let mut params = Self::default();
        for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            // A name that does not decode is not one of ours; the canonical query refuses it
            // if the request turns out to be signed.
            let Some(name) = percent_decode(name).and_then(|n| String::from_utf8(n).ok()) else {
                continue;
            };
            let slot = match name.as_str() {
                Q_ALGORITHM => &mut params.algorithm,
                Q_CREDENTIAL => &mut params.credential,
                Q_DATE => &mut params.date,
                Q_EXPIRES => &mut params.expires,
                Q_SIGNED_HEADERS => &mut params.signed_headers,
                Q_SECURITY_TOKEN => &mut params.security_token,
                Q_SIGNATURE => &mut params.signature,
                Q_V2_ACCESS_KEY_ID => {
                    params.v2_access_key_id = true;
                    continue;
                }
                _ => continue,
            };
            let value = percent_decode(value)
                .and_then(|v| String::from_utf8(v).ok())
                .ok_or_else(|| malformed_query("an X-Amz-* parameter is not percent-encoded UTF-8"))?;
            if slot.replace(value).is_some() {
                return Err(malformed_query("an X-Amz-* parameter is repeated"));
            }
        }
        Ok(params)
    }

    /// Any of these makes the request a SigV4 presigned one, to be verified or refused.
    fn signals_sigv4(&self) -> bool {
        self.algorithm.is_some() || self.credential.is_some() || self.signature.is_some()
    }
}

/// Query-string authentication ("Authenticating Requests: Using Query Parameters").
fn parse_query_auth(params: QueryAuthParams) -> Result<SigV4Request, SigV4Error> {
    const MISSING: &str = "query-string authentication requires X-Amz-Algorithm, X-Amz-Credential, \
                           X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Expires";
    let algorithm = params.algorithm.ok_or_else(|| malformed_query(MISSING))?;
    // Allow-list: X-Amz-Algorithm must be AWS4-HMAC-SHA256.
    if algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm { presigned: true });
    }
    let credential = params.credential.ok_or_else(|| malformed_query(MISSING))?;
    let signature = params.signature.ok_or_else(|| malformed_query(MISSING))?;
    let signed_headers = params.signed_headers.ok_or_else(|| malformed_query(MISSING))?;
    let expires = params.expires.ok_or_else(|| malformed_query(MISSING))?;
    let amz_date = params.date.ok_or(SigV4Error::InvalidDate { presigned: true })?;

    let (access_key_id, scope) = parse_credential(&credential, true)?;
    let signed_headers = parse_signed_headers(&signed_headers, true)?;
    let signature = parse_signature(&signature, true)?;
    let request_secs = parse_amz_date(&amz_date).ok_or(SigV4Error::InvalidDate { presigned: true })?;
    // X-Amz-Expires: a whole number of seconds (its range is checked by `verify`).
    if expires.is_empty() || expires.len() > 20 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed_query("X-Amz-Expires must be a whole number of seconds"));
    }
    let expires_secs = expires
        .parse::<u64>()
        .map_err(|_| malformed_query("X-Amz-Expires must be a whole number of seconds"))?;
    Ok(SigV4Request {
        access_key_id,
        scope,
        amz_date,
        request_secs,
        signed_headers,
        signature,
        security_token: params.security_token,
        kind: AuthKind::Presigned { expires_secs },
    })
}

/// `AKID/yyyymmdd/region/service/aws4_request` ("Credential" in the SigV4 header format).
fn parse_credential(value: &str, presigned: bool) -> Result<(String, CredentialScope), SigV4Error> {
    let bad = |reason| SigV4Error::Malformed { presigned, reason };
    let parts: Vec<&str> = value.splitn(6, '/').collect();
    let [akid, date, region, service, terminator] = parts.as_slice() else {
        return Err(bad("credential must be access-key-id/date/region/service/aws4_request"));
    };
    if akid.is_empty() || akid.len() > MAX_ACCESS_KEY_ID_LEN || !akid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("credential access key id must be 1 to 128 letters and digits"));
    }
    let plausible = |s: &str| !s.is_empty() && s.len() <= MAX_SCOPE_PART_LEN && s.bytes().all(|b| b.is_ascii_graphic());
    if !(plausible(date) && plausible(region) && plausible(service)) {
        return Err(bad("credential scope parts must be 1 to 64 visible characters"));
    }
    if *terminator != TERMINATOR {
        return Err(bad("credential scope must end in aws4_request"));
    }
    Ok((
        (*akid).to_owned(),
        CredentialScope {
            date: (*date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        },
    ))
}

/// `SignedHeaders`: lower-case header names joined by `;`, sorted, each once.
fn parse_signed_headers(value: &str, presigned: bool) -> Result<Vec<String>, SigV4Error> {
    let names: Vec<String> = value.split(';').map(str::to_owned).collect();
    let is_name = |n: &String| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    // SigV4 "SignedHeaders": lower-case names sorted by character code, no repeats.
    if !names.iter().all(is_name) || !names.windows(2).all(|w| matches!(w, [a, b] if a < b)) {
        return Err(SigV4Error::Malformed {
            presigned,
            reason: "signed headers must be lower-case header names, sorted, each once",
        });
    }
    Ok(names)
}

/// `Signature`: 64 hex digits.
fn parse_signature(value: &str, presigned: bool) -> Result<[u8; 32], SigV4Error> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(value, &mut out).map_err(|_| SigV4Error::Malformed {
        presigned,
        reason: "signature must be 64 hex digits",
    })?;
    Ok(out)
}

/// Verifies a request's SigV4 authentication with S3's rules.
///
/// `secret_access_key` is the secret that belongs to `req.access_key_id()`;
/// `now_unix_secs` is the server's clock. The checks run in this order: scope (service,
/// region, date), `host` signed, time (skew, presigned expiry), payload hash, signature.
pub fn verify(
    req: &SigV4Request,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    secret_access_key: &str,
    now_unix_secs: u64,
) -> Result<(), SigV4Error> {
    let presigned = req.is_presigned();
    // Credential scope: the service must be s3.
    if req.scope.service != SERVICE {
        return Err(SigV4Error::WrongService {
            presigned,
            service: req.scope.service.clone(),
        });
    }
    // Credential scope: any well-formed region (see the module docs for why).
    let region = req.scope.region.as_bytes();
    if region.is_empty()
        || region.len() > MAX_REGION_LEN
        || !region
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(SigV4Error::InvalidRegion { presigned });
    }
    // Credential scope: "date must match the date of X-Amz-Date".
    if Some(req.scope.date.as_str()) != req.amz_date.get(..8) {
        return Err(SigV4Error::ScopeDateMismatch { presigned });
    }
    // SigV4: "the host header must be included as a signed header".
    if !req.signs("host") {
        return Err(SigV4Error::HostNotSigned { presigned });
    }
    check_time(req, now_unix_secs)?;
    let payload_hash = payload_hash(req, headers)?;
    verify_signature(req, method, path, query, headers, payload_hash, secret_access_key)
}

/// S3: header auth within 15 minutes of the server; presigned within its expiry.
fn check_time(req: &SigV4Request, now: u64) -> Result<(), SigV4Error> {
    let t = req.request_secs;
    let skewed = SigV4Error::RequestTimeTooSkewed {
        request_secs: t,
        server_secs: now,
    };
    match req.kind {
        AuthKind::Header => {
            if now.abs_diff(t) > MAX_SKEW_SECS {
                return Err(skewed);
            }
        }
        AuthKind::Presigned { expires_secs } => {
            // "X-Amz-Expires ... minimum value 1, maximum 604800 seconds (7 days)".
            if !(1..=MAX_PRESIGNED_EXPIRES_SECS).contains(&expires_secs) {
                return Err(SigV4Error::ExpiresOutOfRange { expires_secs });
            }
            // A URL dated in the future is allowed the same skew as a header.
            if t > now.saturating_add(MAX_SKEW_SECS) {
                return Err(skewed);
            }
            let expired_at_secs = t.saturating_add(expires_secs);
            if now > expired_at_secs {
                return Err(SigV4Error::Expired {
                    expired_at_secs,
                    server_secs: now,
                });
            }
        }
    }
    Ok(())
}

/// The last line of the canonical request under S3's rules.
fn payload_hash<'h>(req: &SigV4Request, headers: &'h HeaderMap) -> Result<&'h str, SigV4Error> {
    let sent = single_header(headers, AMZ_CONTENT_SHA256).map_err(|()| SigV4Error::InvalidContentSha256)?;
    let value = match (req.kind, sent) {
        // S3 header auth: "x-amz-content-sha256 ... is required for all AWS Signature
        // Version 4 requests".
        (AuthKind::Header, None) => return Err(SigV4Error::MissingContentSha256),
        (AuthKind::Header, Some(value)) => value,
        // Presigned: "UNSIGNED-PAYLOAD", unless the client signed the header.
        (AuthKind::Presigned { .. }, Some(value)) if req.signs(AMZ_CONTENT_SHA256) => value,
        (AuthKind::Presigned { .. }, _) if req.signs(AMZ_CONTENT_SHA256) => {
            return Err(SigV4Error::SignedHeaderMissing {
                name: AMZ_CONTENT_SHA256.to_owned(),
            })
        }
        (AuthKind::Presigned { .. }, _) => return Ok(UNSIGNED_PAYLOAD),
    };
    let streaming = value.strip_prefix("STREAMING-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    });
    let sha256 = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
    if value == UNSIGNED_PAYLOAD || streaming || sha256 {
        Ok(value)
    } else {
        Err(SigV4Error::InvalidContentSha256)
    }
}

/// Recomputes the signature and compares it with the request's in constant time.
///
/// Service-agnostic: no S3 rule is applied; `payload_hash` is the canonical request's last
/// line as the caller decided it. [`verify`] is the S3 entry point.
pub fn verify_signature(
    req: &SigV4Request,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    payload_hash: &str,
    secret_access_key: &str,
) -> Result<(), SigV4Error> {
    let canonical = canonical_request(req, method, path, query, headers, payload_hash)?;
    let to_sign = string_to_sign(req, &canonical);
    let key = signing_key(
        secret_access_key,
        &req.scope.date,
        &req.scope.region,
        &req.scope.service,
    );
    let expected = signature(&key, &to_sign);
    if bool::from(expected.ct_eq(&req.signature)) {
        Ok(())
    } else {
        Err(SigV4Error::SignatureMismatch)
    }
}

/// SigV4 task 1, the canonical request:
///
/// ```text
/// METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n payload_hash
/// ```
/// (`CanonicalHeaders` ends in its own newline, so a blank line precedes `SignedHeaders`.)
pub fn canonical_request(
    req: &SigV4Request,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    payload_hash: &str,
) -> Result<String, SigV4Error> {
    let uri = canonical_uri(path)?;
    let query = canonical_query(query, req.is_presigned())?;
    let mut out = format!("{method}\n{uri}\n{query}\n");
    for name in &req.signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(headers, name)?);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&req.signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// S3's canonical URI: each `/`-separated segment of the raw path percent-decoded, then
/// `UriEncode`d once. No dot-segment removal; empty segments kept. An empty path is `/`.
pub fn canonical_uri(path: &str) -> Result<String, SigV4Error> {
    if path.is_empty() {
        return Ok("/".to_owned());
    }
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let decoded = percent_decode(segment).ok_or(SigV4Error::InvalidPercentEncoding { part: "path" })?;
        uri_encode_into(&decoded, &mut out);
    }
    Ok(out)
}

/// The canonical query string: each parameter's name and value decoded and `UriEncode`d,
/// sorted by name then value, joined with `&`. `X-Amz-Signature` is left out when presigned.
pub fn canonical_query(query: Option<&str>, presigned: bool) -> Result<String, SigV4Error> {
    let bad = SigV4Error::InvalidPercentEncoding { part: "query" };
    let mut pairs = Vec::new();
    for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = percent_decode(name).ok_or_else(|| bad.clone())?;
        // Query auth: "include all the query parameters ... except for X-Amz-Signature".
        if presigned && name == Q_SIGNATURE.as_bytes() {
            continue;
        }
        let value = percent_decode(value).ok_or_else(|| bad.clone())?;
        pairs.push((uri_encode(&name), uri_encode(&value)));
    }
    pairs.sort_unstable();
    let joined: Vec<String> = pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
    Ok(joined.join("&"))
}

/// All values of a signed header, each trimmed with runs of spaces and tabs folded to one
/// space, joined with `,` (SigV4 "CanonicalHeaders": `Trimall`).
fn canonical_header_value(headers: &HeaderMap, name: &str) -> Result<String, SigV4Error> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(SigV4Error::SignedHeaderMissing { name: name.to_owned() });
    }
    let mut out = String::new();
    for (i, value) in values.enumerate() {
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| SigV4Error::SignedHeaderNotUtf8 { name: name.to_owned() })?;
        if i > 0 {
            out.push(',');
        }
        for (j, word) in text.split([' ', '\t']).filter(|w| !w.is_empty()).enumerate() {
            if j > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    Ok(out)
}

/// SigV4 task 2: `AWS4-HMAC-SHA256 \n amz_date \n scope \n hex(sha256(canonical_request))`.
pub fn string_to_sign(req: &SigV4Request, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        req.amz_date,
        req.scope.to_scope_string(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// SigV4 task 3, the signing key: HMAC-SHA256 chained over `"AWS4" + secret`, date, region,
/// service and `aws4_request`.
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> Zeroizing<[u8; 32]> {
    let mut seed = Zeroizing::new(Vec::with_capacity(4 + secret_access_key.len()));
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret_access_key.as_bytes());
    let k_date = Zeroizing::new(hmac_sha256(&seed, date.as_bytes()));
    let k_region = Zeroizing::new(hmac_sha256(&*k_date, region.as_bytes()));
    let k_service = Zeroizing::new(hmac_sha256(&*k_region, service.as_bytes()));
    Zeroizing::new(hmac_sha256(&*k_service, TERMINATOR.as_bytes()))
}

/// SigV4 task 4, the signature: HMAC-SHA256 of the string to sign under the signing key.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> [u8; 32] {
    hmac_sha256(signing_key, string_to_sign.as_bytes())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (RFC 2104 §2): `new_from_slice` cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of every length"); // ok: not reachable for HMAC
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn parse(query: Option<&str>, headers: &HeaderMap) -> Result<Option<SigV4Request>, SigV4Error> {
        parse_auth(&Method::GET, "/", query, headers)
    }

    /// The AWS SigV4 test suite, one test per case (tests/vectors/sigv4/README.md).
    mod aws_suite {
        use super::*;

        /// The suite's timestamp, 2015-08-30T12:36:00Z.
        const SUITE_TIME: u64 = 1_440_938_160;

        fn vector(case: &str, file: &str) -> String {
            let path = format!("{}/tests/vectors/sigv4/{case}/{file}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        }

        /// An HTTP/1.1 request as the suite writes it, parsed the way a server would.
        struct RawRequest {
            method: Method,
            path: String,
            query: Option<String>,
            headers: HeaderMap,
        }

        impl RawRequest {
            fn parse(text: &str) -> Self {
                let mut lines = text.split('\n');
                let request_line = lines.next().unwrap();
                let (method, rest) = request_line.split_once(' ').unwrap();
                // The target may hold spaces (get-space-unnormalized): the version is last.
                let (target, _version) = rest.rsplit_once(' ').unwrap();
                let (path, query) = match target.split_once('?') {
                    Some((path, query)) => (path, Some(query.to_owned())),
                    None => (target, None),
                };
                let mut fields: Vec<(String, String)> = Vec::new();
                for line in lines.take_while(|l| !l.is_empty()) {
                    if line.starts_with([' ', '\t']) {
                        // obs-fold: a recipient replaces it with SP (RFC 9112 §5.2).
                        let (_, value) = fields.last_mut().unwrap();
                        value.push(' ');
                        value.push_str(line.trim_start());
                    } else {
                        let (name, value) = line.split_once(':').unwrap();
                        fields.push((name.to_owned(), value.trim().to_owned()));
                    }
                }
                let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                Self {
                    method: Method::from_bytes(method.as_bytes()).unwrap(),
                    path: path.to_owned(),
                    query,
                    headers: headers(&pairs),
                }
            }
        }

        /// Header and query variants: parse, then each stage against the expected files.
        fn check(case: &str) {
            let ctx: serde_json::Value = serde_json::from_str(&vector(case, "context.json")).unwrap();
            let secret = ctx["credentials"]["secret_access_key"].as_str().unwrap();
            for variant in ["header", "query"] {
                let what = format!("{case} ({variant})");
                let raw = RawRequest::parse(&vector(case, &format!("{variant}-signed-request.txt")));
                let query = raw.query.as_deref();
                let req = parse_auth(&raw.method, &raw.path, query, &raw.headers)
                    .unwrap()
                    .expect("signed");
                assert_eq!(req.is_presigned(), variant == "query", "{what}");
                assert_eq!(req.access_key_id(), ctx["credentials"]["access_key_id"], "{what}");
                assert_eq!(req.scope().region(), ctx["region"], "{what}");
                assert_eq!(req.scope().service(), ctx["service"], "{what}");
                assert_eq!(req.security_token(), ctx["credentials"]["token"].as_str(), "{what}");
                assert_eq!(req.request_time_secs(), SUITE_TIME, "{what}");
                if req.is_presigned() {
                    assert_eq!(req.expires_secs(), ctx["expiration_in_seconds"].as_u64(), "{what}");
                }

                // The suite hashes the (empty) body in both variants: generic service rules.
                let canonical = canonical_request(&req, &raw.method, &raw.path, query, &raw.headers, EMPTY_SHA256);
                let canonical = canonical.unwrap();
                let expected = vector(case, &format!("{variant}-canonical-request.txt"));
                assert_eq!(canonical, expected, "{what}: canonical request");

                let to_sign = string_to_sign(&req, &canonical);
                let expected = vector(case, &format!("{variant}-string-to-sign.txt"));
                assert_eq!(to_sign, expected, "{what}: string to sign");

                let scope = req.scope();
                let key = signing_key(secret, scope.date(), scope.region(), scope.service());
                let sig = signature(&key, &to_sign);
                let expected = vector(case, &format!("{variant}-signature.txt"));
                assert_eq!(hex::encode(sig), expected.trim(), "{what}: signature");
                assert_eq!(req.signature(), &sig, "{what}: signature sent");

                let verified =
                    verify_signature(&req, &raw.method, &raw.path, query, &raw.headers, EMPTY_SHA256, secret);
                assert_eq!(verified, Ok(()), "{what}");
                // S3's verifier refuses it: the scope names service "service".
                let s3 = verify(&req, &raw.method, &raw.path, query, &raw.headers, secret, SUITE_TIME);
                assert!(matches!(s3, Err(SigV4Error::WrongService { .. })), "{what}: {s3:?}");
            }
        }

        macro_rules! suite {
            ($($name:ident => $case:literal,)*) => {
                $(
                    #[test]
                    fn $name() {
                        check($case);
                    }
                )*
            };
        }

        suite! {
            get_vanilla => "get-vanilla",
            get_vanilla_query => "get-vanilla-query",
            get_vanilla_query_order_key_case => "get-vanilla-query-order-key-case",
            get_vanilla_query_order_encoded => "get-vanilla-query-order-encoded",
            get_vanilla_query_unreserved => "get-vanilla-query-unreserved",
            get_vanilla_empty_query_key => "get-vanilla-empty-query-key",
            get_vanilla_utf8_query => "get-vanilla-utf8-query",
            get_vanilla_with_session_token => "get-vanilla-with-session-token",
            get_header_key_duplicate => "get-header-key-duplicate",
            get_header_value_trim => "get-header-value-trim",
            get_header_value_order => "get-header-value-order",
            get_header_value_multiline => "get-header-value-multiline",
            get_unreserved => "get-unreserved",
            get_utf8 => "get-utf8",
            get_space_unnormalized => "get-space-unnormalized",
            get_slash_unnormalized => "get-slash-unnormalized",
            get_slashes_unnormalized => "get-slashes-unnormalized",
            get_slash_dot_slash_unnormalized => "get-slash-dot-slash-unnormalized",
            get_slash_pointless_dot_unnormalized => "get-slash-pointless-dot-unnormalized",
            get_relative_unnormalized => "get-relative-unnormalized",
            get_relative_relative_unnormalized => "get-relative-relative-unnormalized",
            post_vanilla => "post-vanilla",
            post_vanilla_query => "post-vanilla-query",
            post_vanilla_empty_query_value => "post-vanilla-empty-query-value",
            post_header_key_case => "post-header-key-case",
            post_header_key_sort => "post-header-key-sort",
            post_header_value_case => "post-header-value-case",
        }
    }

    /// Requests botocore 1.44.5 signed. Produced with botocore's own S3 client (path-style
    /// addressing, `signature_version="s3v4"`, region us-east-1) and its clock pinned by
    /// patching `botocore.auth.get_current_datetime` to 2026-03-01T12:00:00Z; a `before-send`
    /// hook recorded the URL and headers it would have sent, and wrappers around
    /// `SigV4Auth.canonical_request` / `string_to_sign` recorded those stages. Credentials:
    /// `ASIAEXAMPLEKEY123456` / `verySecret/Key+ForTests0123456789abcdefgh`, session token
    /// `sealed-token-example_0123456789`.
    mod botocore {
        use super::*;

        const AKID: &str = "ASIAEXAMPLEKEY123456";
        const SECRET: &str = "verySecret/Key+ForTests0123456789abcdefgh";
        const TOKEN: &str = "sealed-token-example_0123456789";
        /// 2026-03-01T12:00:00Z.
        const T: u64 = 1_772_366_400;
        const USER_AGENT: &str = "Botocore/1.44.5 ua/2.1 os/linux#6.18.44-fc-v782 md/arch#x86_64 lang/python#3.11.7 \
                                  md/pyimpl#CPython m/N,E,Z,b,e cfg/retry-mode#standard";

        fn check(path: &str, query: Option<&str>, sent: &HeaderMap, canonical: &str, to_sign: &str) {
            let req = parse_auth(&Method::GET, path, query, sent).unwrap().expect("signed");
            assert_eq!(req.access_key_id(), AKID);
            assert_eq!(req.security_token(), Some(TOKEN));
            let payload = payload_hash(&req, sent).unwrap();
            let ours = canonical_request(&req, &Method::GET, path, query, sent, payload).unwrap();
            assert_eq!(ours, canonical, "canonical request");
            assert_eq!(string_to_sign(&req, &ours), to_sign, "string to sign");
            assert_eq!(verify(&req, &Method::GET, path, query, sent, SECRET, T), Ok(()));
            assert_eq!(
                verify(&req, &Method::GET, path, query, sent, "not-the-secret", T),
                Err(SigV4Error::SignatureMismatch)
            );
        }

        /// `get_object(Bucket="acct", Key="prod/a b+c%d ü//../x.txt")` over https with
        /// `s3={"payload_signing_enabled": False}`: `UNSIGNED-PAYLOAD`, `..` and `//` kept.
        #[test]
        fn get_object_with_awkward_key_and_unsigned_payload_verifies() {
            let path = "/acct/prod/a%20b%2Bc%25d%20%C3%BC//../x.txt";
            let sent = headers(&[
                ("host", "s3.example.test"),
                ("x-amz-checksum-mode", "ENABLED"),
                ("user-agent", USER_AGENT),
                ("x-amz-date", "20260301T120000Z"),
                ("x-amz-security-token", TOKEN),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY123456/20260301/us-east-1/s3/aws4_request, \
                     SignedHeaders=host;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
                     Signature=6d0e42fafedb83bf6a97d5a5ea4a8dac58625ad209c8a4e2b53dba35b02b76d0",
                ),
                ("amz-sdk-invocation-id", "78ade48a-978b-4856-b93d-ec3882155281"),
                ("amz-sdk-request", "attempt=1; max=1"),
            ]);
            let canonical = "GET\n/acct/prod/a%20b%2Bc%25d%20%C3%BC//../x.txt\n\nhost:s3.example.test\n\
                             x-amz-checksum-mode:ENABLED\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n\
                             x-amz-date:20260301T120000Z\nx-amz-security-token:sealed-token-example_0123456789\n\n\
                             host;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date;x-amz-security-token\n\
                             UNSIGNED-PAYLOAD";
            let to_sign = "AWS4-HMAC-SHA256\n20260301T120000Z\n20260301/us-east-1/s3/aws4_request\n\
                           88160052c0653fe63a709a587e5c5bde3fd0a092be4dec29679017854980be14";
            check(path, None, &sent, canonical, to_sign);
        }

        /// `list_objects_v2(Bucket="acct", Prefix="prod/a b+ü/", Delimiter="/")` over plain
        /// http to 127.0.0.1:8787: the empty body's hash, a port in `host`.
        #[test]
        fn list_objects_with_awkward_prefix_verifies() {
            let query = "list-type=2&prefix=prod%2Fa%20b%2B%C3%BC%2F&delimiter=%2F&encoding-type=url";
            let sent = headers(&[
                ("host", "127.0.0.1:8787"),
                ("user-agent", USER_AGENT),
                ("x-amz-date", "20260301T120000Z"),
                ("x-amz-security-token", TOKEN),
                ("x-amz-content-sha256", EMPTY_SHA256),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY123456/20260301/us-east-1/s3/aws4_request, \
                     SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
                     Signature=8d92220e062a433371706824b4ad1c1333cfe6a4f3361112c888404417138c85",
                ),
                ("amz-sdk-invocation-id", "31a976b8-16b5-4d42-90db-77e210f64ee7"),
                ("amz-sdk-request", "attempt=1; max=1"),
            ]);
            let canonical = "GET\n/acct\ndelimiter=%2F&encoding-type=url&list-type=2&prefix=prod%2Fa%20b%2B%C3%BC%2F\n\
                             host:127.0.0.1:8787\n\
                             x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
                             x-amz-date:20260301T120000Z\nx-amz-security-token:sealed-token-example_0123456789\n\n\
                             host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n\
                             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
            let to_sign = "AWS4-HMAC-SHA256\n20260301T120000Z\n20260301/us-east-1/s3/aws4_request\n\
                           940b0b87ffcd6adc5e99477c0593b14c0908d2dc183172bd9eca9e2b8a7bef34";
            check("/acct", Some(query), &sent, canonical, to_sign);
        }

        /// `generate_presigned_url("get_object", Params={"Bucket": "acct", "Key":
        /// "prod/a b+c%d ü//x.txt"}, ExpiresIn=3600)`, fetched as a plain GET.
        #[test]
        fn presigned_url_verifies_until_it_expires() {
            let path = "/acct/prod/a%20b%2Bc%25d%20%C3%BC//x.txt";
            let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                         &X-Amz-Credential=ASIAEXAMPLEKEY123456%2F20260301%2Fus-east-1%2Fs3%2Faws4_request\
                         &X-Amz-Date=20260301T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
                         &X-Amz-Security-Token=sealed-token-example_0123456789\
                         &X-Amz-Signature=0eb516e4cb0ed25077de265a589dd888a722a172ebb36c7ea2e9f38c21d247e6";
            let sent = headers(&[
                ("host", "s3.example.test"),
                ("user-agent", "curl/8.5.0"),
                ("accept", "*/*"),
            ]);
            let canonical = "GET\n/acct/prod/a%20b%2Bc%25d%20%C3%BC//x.txt\n\
                             X-Amz-Algorithm=AWS4-HMAC-SHA256\
                             &X-Amz-Credential=ASIAEXAMPLEKEY123456%2F20260301%2Fus-east-1%2Fs3%2Faws4_request\
                             &X-Amz-Date=20260301T120000Z&X-Amz-Expires=3600\
                             &X-Amz-Security-Token=sealed-token-example_0123456789&X-Amz-SignedHeaders=host\n\
                             host:s3.example.test\n\nhost\nUNSIGNED-PAYLOAD";
            let to_sign = "AWS4-HMAC-SHA256\n20260301T120000Z\n20260301/us-east-1/s3/aws4_request\n\
                           d6f5a812b45af47445a7c31363293c49d2c6b976932f985a526f33dad547255c";
            check(path, Some(query), &sent, canonical, to_sign);
            let req = parse(Some(query), &sent).unwrap().unwrap();
            let at = |now| verify(&req, &Method::GET, path, Some(query), &sent, SECRET, now);
            assert_eq!(at(T + 3600), Ok(()));
            let expired = at(T + 3601).unwrap_err();
            assert_eq!(expired.s3_code(), "AccessDenied");
            assert!(matches!(expired, SigV4Error::Expired { .. }));
        }
    }

    /// A client-side S3 signer written apart from the verifier, the way botocore signs:
    /// the key quoted with Python's `quote(key, safe="/~")`, query parameters with
    /// `quote(v, safe="-_.~")`, the canonical URI being the quoted path as sent.
    mod client {
        use super::*;

        pub const T: u64 = 1_772_366_400;
        pub const AMZ_DATE: &str = "20260301T120000Z";
        pub const SECRET: &str = "client-secret/with+odd=chars";
        pub const TOKEN: &str = "token-123";

        /// Python's `urllib.parse.quote(s, safe)`.
        pub fn quote(s: &str, safe: &str) -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        }

        fn hmac(key: &[u8], data: &str) -> Vec<u8> {
            let mut mac = HmacSha256::new_from_slice(key).unwrap();
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }

        pub struct Client {
            pub service: &'static str,
            pub region: &'static str,
            pub secret: &'static str,
            /// Sign `host`? (A correct client always does.)
            pub sign_host: bool,
        }

        pub struct Signed {
            pub path: String,
            pub query: Option<String>,
            pub headers: HeaderMap,
        }

        impl Default for Client {
            fn default() -> Self {
                Self {
                    service: "s3",
                    region: "us-east-1",
                    secret: SECRET,
                    sign_host: true,
                }
            }
        }

        impl Client {
            fn sign(&self, canonical_request: &str) -> String {
                let date = &AMZ_DATE[..8];
                let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
                let to_sign = format!(
                    "AWS4-HMAC-SHA256\n{AMZ_DATE}\n{scope}\n{}",
                    hex::encode(Sha256::digest(canonical_request))
                );
                let mut key = hmac(format!("AWS4{}", self.secret).as_bytes(), date);
                for part in [self.region, self.service, "aws4_request"] {
                    key = hmac(&key, part);
                }
                hex::encode(hmac(&key, &to_sign))
            }

            fn credential(&self) -> String {
                format!(
                    "AKIDCLIENT/{}/{}/{}/aws4_request",
                    &AMZ_DATE[..8],
                    self.region,
                    self.service
                )
            }

            /// Header auth for `GET /{bucket_and_key}?{params}`, body hash `payload`.
            pub fn get(&self, bucket_and_key: &str, params: &[(&str, &str)], payload: &str) -> Signed {
                let path = format!("/{}", quote(bucket_and_key, "/~"));
                let mut encoded: Vec<(String, String)> = params
                    .iter()
                    .map(|(k, v)| (quote(k, "-_.~"), quote(v, "-_.~")))
                    .collect();
                let wire = encoded
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&");
                encoded.sort();
                let canonical_query = encoded
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&");
                let mut signed = vec![
                    ("host", "s3.example.test:8787"),
                    ("x-amz-content-sha256", payload),
                    ("x-amz-date", AMZ_DATE),
                    ("x-amz-security-token", TOKEN),
                ];
                if !self.sign_host {
                    signed.remove(0);
                }
                let names = signed.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
                let block: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
                let canonical = format!("GET\n{path}\n{canonical_query}\n{block}\n{names}\n{payload}");
                let authorization = format!(
                    "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={names}, Signature={}",
                    self.credential(),
                    self.sign(&canonical)
                );
                let mut sent = vec![
                    ("host", "s3.example.test:8787"),
                    ("x-amz-content-sha256", payload),
                    ("x-amz-date", AMZ_DATE),
                    ("x-amz-security-token", TOKEN),
                    ("user-agent", "test-client/1"),
                ];
                sent.push(("authorization", &authorization));
                Signed {
                    path,
                    query: (!wire.is_empty()).then_some(wire),
                    headers: headers(&sent),
                }
            }

            /// A presigned GET of `/{bucket_and_key}` valid for `expires` seconds.
            pub fn presign(&self, bucket_and_key: &str, expires: u64) -> Signed {
                let path = format!("/{}", quote(bucket_and_key, "/~"));
                let expires = expires.to_string();
                let credential = self.credential();
                let auth = [
                    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                    ("X-Amz-Credential", credential.as_str()),
                    ("X-Amz-Date", AMZ_DATE),
                    ("X-Amz-Expires", expires.as_str()),
                    ("X-Amz-SignedHeaders", "host"),
                    ("X-Amz-Security-Token", TOKEN),
                ];
                let wire = auth
                    .iter()
                    .map(|(k, v)| format!("{}={}", quote(k, "-_.~"), quote(v, "-_.~")))
                    .collect::<Vec<_>>()
                    .join("&");
                let mut sorted: Vec<&str> = wire.split('&').collect();
                sorted.sort();
                let canonical = format!(
                    "GET\n{path}\n{}\nhost:s3.example.test:8787\n\nhost\nUNSIGNED-PAYLOAD",
                    sorted.join("&")
                );
                let query = format!("{wire}&X-Amz-Signature={}", self.sign(&canonical));
                Signed {
                    path,
                    query: Some(query),
                    headers: headers(&[("host", "s3.example.test:8787")]),
                }
            }
        }

        impl Signed {
            pub fn parse(&self) -> SigV4Request {
                parse_auth(&Method::GET, &self.path, self.query.as_deref(), &self.headers)
                    .unwrap()
                    .expect("signed")
            }

            pub fn verify_at(&self, now: u64) -> Result<(), SigV4Error> {
                self.verify_as(&self.path, self.query.as_deref(), &self.headers, now)
            }

            /// Verifies the signature sent against a possibly different request.
            pub fn verify_as(
                &self,
                path: &str,
                query: Option<&str>,
                headers: &HeaderMap,
                now: u64,
            ) -> Result<(), SigV4Error> {
                verify(&self.parse(), &Method::GET, path, query, headers, SECRET, now)
            }
        }
    }

    use client::{Client, AMZ_DATE, SECRET, T};

    const AWKWARD_KEY: &str = "acct/prod/a b+c%d ü//x.txt";

    #[test]
    fn signed_get_of_key_with_space_plus_percent_unicode_and_double_slash_verifies() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        assert_eq!(signed.path, "/acct/prod/a%20b%2Bc%25d%20%C3%BC//x.txt");
        assert_eq!(signed.verify_at(T), Ok(()));
    }

    #[test]
    fn changed_path_is_rejected() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        for path in [
            "/acct/prod/a%20b%2Bc%25d%20%C3%BC/x.txt",
            "/acct/prod/a%20b%20c%25d%20%C3%BC//x.txt",
            "/acct/prod/a%20b%2Bc%25d%20%C3%BC//y.txt",
            "/acct/other/a%20b%2Bc%25d%20%C3%BC//x.txt",
        ] {
            assert_eq!(
                signed.verify_as(path, None, &signed.headers, T),
                Err(SigV4Error::SignatureMismatch),
                "{path}"
            );
        }
    }

    #[test]
    fn literal_and_encoded_spellings_of_one_key_sign_alike() {
        // The segment is decoded before it is encoded: `+`/`%2B`, `%c3`/`%C3` and a raw
        // UTF-8 `ü` all name the same key, so they canonicalise alike.
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        for path in [
            "/acct/prod/a%20b+c%25d%20%c3%bc//x.txt",
            "/acct/prod/a%20b+c%25d%20ü//x.txt",
        ] {
            assert_eq!(signed.verify_as(path, None, &signed.headers, T), Ok(()), "{path}");
        }
    }

    #[test]
    fn changed_query_is_rejected() {
        let params = [("list-type", "2"), ("prefix", "prod/a b+ü/"), ("delimiter", "/")];
        let signed = Client::default().get("acct", &params, EMPTY_SHA256);
        assert_eq!(signed.verify_at(T), Ok(()));
        for query in [
            "list-type=2&prefix=prod%2Fa%20b%20%C3%BC%2F&delimiter=%2F",
            "list-type=2&prefix=prod%2F&delimiter=%2F",
            "list-type=2&prefix=prod%2Fa%20b%2B%C3%BC%2F&delimiter=%2F&max-keys=1",
            "list-type=2&prefix=prod%2Fa%20b%2B%C3%BC%2F",
        ] {
            assert_eq!(
                signed.verify_as(&signed.path, Some(query), &signed.headers, T),
                Err(SigV4Error::SignatureMismatch),
                "{query}"
            );
        }
        // Parameter order on the wire does not matter.
        let reordered = "delimiter=%2F&prefix=prod%2Fa%20b%2B%C3%BC%2F&list-type=2";
        assert_eq!(
            signed.verify_as(&signed.path, Some(reordered), &signed.headers, T),
            Ok(())
        );
    }

    #[test]
    fn changed_signed_header_is_rejected() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        for (name, value) in [
            ("host", "evil.example.test"),
            ("x-amz-security-token", "token-456"),
            ("x-amz-content-sha256", EMPTY_SHA256),
        ] {
            let mut changed = signed.headers.clone();
            changed.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
            assert_eq!(
                signed.verify_as(&signed.path, None, &changed, T),
                Err(SigV4Error::SignatureMismatch),
                "{name}"
            );
        }
        // An unsigned header may change freely.
        let mut changed = signed.headers.clone();
        changed.insert(http::header::USER_AGENT, HeaderValue::from_static("other/2"));
        assert_eq!(signed.verify_as(&signed.path, None, &changed, T), Ok(()));
    }

    #[test]
    fn removed_signed_header_is_rejected() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        let mut changed = signed.headers.clone();
        changed.remove("x-amz-security-token");
        let err = signed.verify_as(&signed.path, None, &changed, T).unwrap_err();
        assert_eq!(
            err,
            SigV4Error::SignedHeaderMissing {
                name: "x-amz-security-token".into()
            }
        );
        assert_eq!(err.s3_code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let signed = Client {
            secret: "someone-elses-secret",
            ..Client::default()
        }
        .get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        let err = signed.verify_at(T).unwrap_err();
        assert_eq!(err, SigV4Error::SignatureMismatch);
        assert_eq!(err.s3_code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn header_auth_allows_fifteen_minutes_of_skew_either_way() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        assert_eq!(signed.verify_at(T - 900), Ok(()));
        assert_eq!(signed.verify_at(T + 900), Ok(()));
        for now in [T - 901, T + 901, 0, u64::MAX] {
            let err = signed.verify_at(now).unwrap_err();
            assert!(matches!(err, SigV4Error::RequestTimeTooSkewed { .. }), "{now}: {err:?}");
            assert_eq!(err.s3_code(), "RequestTimeTooSkewed");
        }
    }

    #[test]
    fn presigned_get_with_unsigned_payload_verifies_until_expiry() {
        let signed = Client::default().presign(AWKWARD_KEY, 3600);
        let req = signed.parse();
        assert!(req.is_presigned());
        assert_eq!(req.expires_secs(), Some(3600));
        assert_eq!(req.security_token(), Some(client::TOKEN));
        assert_eq!(req.amz_date(), AMZ_DATE);
        for now in [T - 900, T, T + 3600] {
            assert_eq!(signed.verify_at(now), Ok(()), "{now}");
        }
        let err = signed.verify_at(T + 3601).unwrap_err();
        assert_eq!(
            err,
            SigV4Error::Expired {
                expired_at_secs: T + 3600,
                server_secs: T + 3601
            }
        );
        assert_eq!(err.s3_code(), "AccessDenied");
        let err = signed.verify_at(T - 901).unwrap_err();
        assert!(matches!(err, SigV4Error::RequestTimeTooSkewed { .. }), "{err:?}");
    }

    #[test]
    fn presigned_url_is_bound_to_its_path_and_parameters() {
        let signed = Client::default().presign(AWKWARD_KEY, 3600);
        let query = signed.query.clone().unwrap();
        let other_path = "/acct/prod/other.txt";
        assert_eq!(
            signed.verify_as(other_path, Some(&query), &signed.headers, T),
            Err(SigV4Error::SignatureMismatch)
        );
        let longer = query.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200");
        assert_eq!(
            verify(
                &parse(Some(&longer), &signed.headers).unwrap().unwrap(),
                &Method::GET,
                &signed.path,
                Some(&longer),
                &signed.headers,
                SECRET,
                T
            ),
            Err(SigV4Error::SignatureMismatch)
        );
        let added = format!("{query}&response-content-type=text%2Fhtml");
        assert_eq!(
            signed.verify_as(&signed.path, Some(&added), &signed.headers, T),
            Err(SigV4Error::SignatureMismatch)
        );
        let mut other_host = signed.headers.clone();
        other_host.insert(http::header::HOST, HeaderValue::from_static("elsewhere.test"));
        assert_eq!(
            signed.verify_as(&signed.path, Some(&query), &other_host, T),
            Err(SigV4Error::SignatureMismatch)
        );
    }

    #[test]
    fn presigned_expiry_must_be_one_second_to_seven_days() {
        let week = Client::default().presign(AWKWARD_KEY, 604_800);
        assert_eq!(week.verify_at(T + 604_800), Ok(()));
        for expires in [0, 604_801, u64::MAX] {
            let signed = Client::default().presign(AWKWARD_KEY, expires);
            let err = signed.verify_at(T).unwrap_err();
            assert_eq!(err, SigV4Error::ExpiresOutOfRange { expires_secs: expires });
            assert_eq!(err.s3_code(), "AuthorizationQueryParametersError");
        }
    }

    #[test]
    fn host_must_be_a_signed_header() {
        let client = Client {
            sign_host: false,
            ..Client::default()
        };
        let err = client.get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD).verify_at(T).unwrap_err();
        assert_eq!(err, SigV4Error::HostNotSigned { presigned: false });
        assert_eq!(err.s3_code(), "InvalidArgument");
    }

    #[test]
    fn only_the_s3_service_is_accepted() {
        let signed = Client {
            service: "ec2",
            ..Client::default()
        }
        .get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        let err = signed.verify_at(T).unwrap_err();
        assert_eq!(
            err,
            SigV4Error::WrongService {
                presigned: false,
                service: "ec2".into()
            }
        );
        assert_eq!(err.s3_code(), "InvalidArgument");
        let presigned = Client {
            service: "sts",
            ..Client::default()
        }
        .presign(AWKWARD_KEY, 60);
        assert_eq!(
            presigned.verify_at(T).unwrap_err().s3_code(),
            "AuthorizationQueryParametersError"
        );
    }

    #[test]
    fn any_well_formed_region_is_accepted() {
        for region in [
            "us-east-1",
            "auto",
            "eu-central-1",
            "a",
            "x-32-characters-long-region-name",
        ] {
            let signed = Client {
                region,
                ..Client::default()
            }
            .get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
            assert_eq!(signed.verify_at(T), Ok(()), "{region}");
        }
        for region in ["US-EAST-1", "us_east_1", "x-33-characters-long-region-names"] {
            let signed = Client {
                region,
                ..Client::default()
            }
            .get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
            assert_eq!(
                signed.verify_at(T),
                Err(SigV4Error::InvalidRegion { presigned: false }),
                "{region}"
            );
        }
    }

    #[test]
    fn scope_date_must_be_the_date_of_x_amz_date() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        let mut next_day = signed.headers.clone();
        next_day.insert("x-amz-date", HeaderValue::from_static("20260302T000100Z"));
        let req = parse(None, &next_day).unwrap().unwrap();
        let err = verify(&req, &Method::GET, &signed.path, None, &next_day, SECRET, T + 43_260).unwrap_err();
        assert_eq!(err, SigV4Error::ScopeDateMismatch { presigned: false });
    }

    #[test]
    fn header_auth_requires_x_amz_content_sha256() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        let mut without = signed.headers.clone();
        without.remove("x-amz-content-sha256");
        let err = signed.verify_as(&signed.path, None, &without, T).unwrap_err();
        assert_eq!(err, SigV4Error::MissingContentSha256);
        assert_eq!(err.s3_code(), "InvalidRequest");
    }

    #[test]
    fn x_amz_content_sha256_must_be_a_hash_or_a_known_keyword() {
        for value in ["UNSIGNED-PAYLOAD", EMPTY_SHA256, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"] {
            let signed = Client::default().get(AWKWARD_KEY, &[], value);
            assert_eq!(signed.verify_at(T), Ok(()), "{value}");
        }
        for value in [
            "unsigned-payload",
            "e3b0",
            "STREAMING-",
            "STREAMING-lower",
            &"g".repeat(64),
        ] {
            let signed = Client::default().get(AWKWARD_KEY, &[], value);
            let err = signed.verify_at(T).unwrap_err();
            assert_eq!(err, SigV4Error::InvalidContentSha256, "{value}");
            assert_eq!(err.s3_code(), "InvalidArgument");
        }
    }

    #[test]
    fn presigned_request_uses_a_signed_content_sha256_header() {
        let with_header = |signed: &str| {
            let query = format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260301%2Fauto%2Fs3%2Faws4_request\
                 &X-Amz-Date={AMZ_DATE}&X-Amz-Expires=60&X-Amz-SignedHeaders={signed}&X-Amz-Signature={}",
                "0".repeat(64)
            );
            parse(Some(&query), &HeaderMap::new()).unwrap().unwrap()
        };
        let sent = headers(&[("host", "h"), ("x-amz-content-sha256", EMPTY_SHA256)]);
        assert_eq!(payload_hash(&with_header("host"), &sent), Ok(UNSIGNED_PAYLOAD));
        let signs_it = with_header("host%3Bx-amz-content-sha256");
        assert_eq!(payload_hash(&signs_it, &sent), Ok(EMPTY_SHA256));
        assert!(matches!(
            payload_hash(&signs_it, &headers(&[("host", "h")])),
            Err(SigV4Error::SignedHeaderMissing { .. })
        ));
    }

    // ---- Parsing ----

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, \
                        SignedHeaders=host;x-amz-date, \
                        Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn with_auth(authorization: &str) -> HeaderMap {
        headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", authorization),
        ])
    }

    #[test]
    fn request_without_sigv4_is_anonymous() {
        let plain = headers(&[("host", "h"), ("x-amz-date", "20150830T123600Z")]);
        for query in [
            None,
            Some(""),
            Some("list-type=2&prefix=a%20b"),
            Some("X-Amz-Date=20150830T123600Z&X-Amz-Expires=60"),
            Some("%zz=1&&="),
        ] {
            assert_eq!(parse(query, &plain), Ok(None), "{query:?}");
        }
    }

    #[test]
    fn header_auth_parses_every_part() {
        let mut sent = with_auth(AUTH);
        sent.insert("x-amz-security-token", HeaderValue::from_static("tok"));
        let req = parse(None, &sent).unwrap().unwrap();
        assert_eq!(req.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(req.scope().date(), "20150830");
        assert_eq!(req.scope().region(), "us-east-1");
        assert_eq!(req.scope().service(), "s3");
        assert_eq!(req.scope().to_scope_string(), "20150830/us-east-1/s3/aws4_request");
        assert_eq!(req.amz_date(), "20150830T123600Z");
        assert_eq!(req.request_time_secs(), 1_440_938_160);
        assert_eq!(req.signed_headers(), ["host", "x-amz-date"]);
        assert_eq!(
            hex::encode(req.signature()),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(req.security_token(), Some("tok"));
        assert_eq!(req.kind(), AuthKind::Header);
        assert_eq!(req.expires_secs(), None);
    }

    #[test]
    fn header_components_parse_in_any_order_with_or_without_spaces() {
        let expected = parse(None, &with_auth(AUTH)).unwrap().unwrap();
        for auth in [
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,\
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            "AWS4-HMAC-SHA256 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31,   \
             SignedHeaders=host;x-amz-date , Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request",
            "AWS4-HMAC-SHA256   SignedHeaders=host;x-amz-date, Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, \
             Signature=5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31",
        ] {
            assert_eq!(parse(None, &with_auth(auth)).unwrap().as_ref(), Some(&expected), "{auth}");
        }
    }

    #[test]
    fn other_algorithms_are_refused_with_their_own_error() {
        for auth in [
            "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
            "AWS4-ECDSA-P256-SHA256 Credential=AKID/20150830/s3/aws4_request, SignedHeaders=host, Signature=00",
            "Bearer abc",
            "aws4-hmac-sha256 Credential=AKID/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        ] {
            let err = parse(None, &with_auth(auth)).unwrap_err();
            assert_eq!(err, SigV4Error::UnsupportedAlgorithm { presigned: false }, "{auth}");
            assert_eq!(err.s3_code(), "InvalidRequest");
        }
        for query in [
            "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=AKID%2F20150830%2Fs3%2Faws4_request",
            "AWSAccessKeyId=AKIDEXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
        ] {
            let err = parse(Some(query), &HeaderMap::new()).unwrap_err();
            assert_eq!(err, SigV4Error::UnsupportedAlgorithm { presigned: true }, "{query}");
            assert_eq!(err.s3_code(), "AuthorizationQueryParametersError");
        }
    }

    #[test]
    fn header_and_query_authentication_together_are_refused() {
        let query = "X-Amz-Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let err = parse(Some(query), &with_auth(AUTH)).unwrap_err();
        assert_eq!(err, SigV4Error::ConflictingAuth);
        assert_eq!(err.s3_code(), "InvalidArgument");
    }

    #[test]
    fn malformed_authorization_headers_are_refused() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let cred = "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request";
        for auth in [
            "AWS4-HMAC-SHA256".to_owned(),
            format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature={sig}, Extra=1"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, Credential={cred}, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature={sig},"),
            format!("AWS4-HMAC-SHA256 Credential={cred} SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature={}", &sig[..62]),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature={sig}00"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature=zz{}", &sig[2..]),
            format!("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AK-ID/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AKID/20150830//s3/aws4_request, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}/x, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=, Signature={sig}"),
        ] {
            let err = parse(None, &with_auth(&auth)).unwrap_err();
            assert!(matches!(err, SigV4Error::Malformed { presigned: false, .. }), "{auth}: {err:?}");
            assert_eq!(err.s3_code(), "InvalidArgument");
        }
        let mut twice = with_auth(AUTH);
        twice.append(http::header::AUTHORIZATION, HeaderValue::from_static(AUTH));
        assert!(matches!(parse(None, &twice), Err(SigV4Error::Malformed { .. })));
    }

    #[test]
    fn signed_headers_must_be_lower_case_sorted_and_unique() {
        for signed in [
            "x-amz-date;host",
            "host;host;x-amz-date",
            "Host;x-amz-date",
            "host;;x-amz-date",
            "host;x amz",
        ] {
            let auth = AUTH.replace("host;x-amz-date", signed);
            let err = parse(None, &with_auth(&auth)).unwrap_err();
            assert!(
                matches!(err, SigV4Error::Malformed { presigned: false, .. }),
                "{signed}: {err:?}"
            );
        }
    }

    #[test]
    fn header_auth_requires_x_amz_date_not_date() {
        let without = headers(&[
            ("host", "h"),
            ("date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            ("authorization", AUTH),
        ]);
        let err = parse(None, &without).unwrap_err();
        assert_eq!(err, SigV4Error::InvalidDate { presigned: false });
        assert_eq!(err.s3_code(), "AccessDenied");
        for date in ["2015-08-30T12:36:00Z", "20150830T123600", "20150830", ""] {
            let mut bad = with_auth(AUTH);
            bad.insert("x-amz-date", HeaderValue::from_str(date).unwrap());
            assert_eq!(
                parse(None, &bad).unwrap_err(),
                SigV4Error::InvalidDate { presigned: false },
                "{date}"
            );
        }
        let mut twice = with_auth(AUTH);
        twice.append("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        assert_eq!(
            parse(None, &twice).unwrap_err(),
            SigV4Error::InvalidDate { presigned: false }
        );
    }

    const PRESIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                             &X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request\
                             &X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
                             &X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d";

    #[test]
    fn presigned_query_parses_every_part() {
        let query = format!("{PRESIGNED}&X-Amz-Security-Token=a%2Bb%3D");
        let req = parse(Some(&query), &HeaderMap::new()).unwrap().unwrap();
        assert_eq!(req.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(req.scope().to_scope_string(), "20150830/us-east-1/s3/aws4_request");
        assert_eq!(req.signed_headers(), ["host"]);
        assert_eq!(req.kind(), AuthKind::Presigned { expires_secs: 3600 });
        assert_eq!(req.security_token(), Some("a+b="));
    }

    #[test]
    fn presigned_query_with_a_missing_or_bad_parameter_is_refused() {
        for drop in [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
        ] {
            let query: Vec<&str> = PRESIGNED.split('&').filter(|p| !p.starts_with(drop)).collect();
            let err = parse(Some(&query.join("&")), &HeaderMap::new()).unwrap_err();
            assert!(
                matches!(err, SigV4Error::Malformed { presigned: true, .. }),
                "{drop}: {err:?}"
            );
            assert_eq!(err.s3_code(), "AuthorizationQueryParametersError");
        }
        let without_date: Vec<&str> = PRESIGNED.split('&').filter(|p| !p.starts_with("X-Amz-Date")).collect();
        let err = parse(Some(&without_date.join("&")), &HeaderMap::new()).unwrap_err();
        assert_eq!(err, SigV4Error::InvalidDate { presigned: true });
        assert_eq!(err.s3_code(), "AuthorizationQueryParametersError");
        for (from, to) in [
            ("X-Amz-Expires=3600", "X-Amz-Expires=-1"),
            ("X-Amz-Expires=3600", "X-Amz-Expires=1e3"),
            ("X-Amz-Expires=3600", "X-Amz-Expires="),
            ("X-Amz-Expires=3600", "X-Amz-Expires=99999999999999999999999"),
            ("X-Amz-Expires=3600", "X-Amz-Expires=3600&X-Amz-Expires=3600"),
            ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3BHost"),
            ("X-Amz-Signature=e9", "X-Amz-Signature=%zz"),
            ("X-Amz-Signature=e9", "X-Amz-Signature=%FFe9"),
        ] {
            let query = PRESIGNED.replace(from, to);
            let err = parse(Some(&query), &HeaderMap::new()).unwrap_err();
            assert!(
                matches!(err, SigV4Error::Malformed { presigned: true, .. }),
                "{to}: {err:?}"
            );
        }
    }

    // ---- Canonicalisation ----

    #[test]
    fn canonical_uri_keeps_empty_and_dot_segments() {
        for path in ["/", "//", "/a//b/", "/a/../b/./c", "/..", "/./"] {
            assert_eq!(canonical_uri(path).unwrap(), path);
        }
        assert_eq!(canonical_uri("").unwrap(), "/");
    }

    #[test]
    fn canonical_uri_decodes_then_encodes_each_segment_once() {
        assert_eq!(
            canonical_uri("/a%20b/c+d/%e2%82%ac/ü/%2F/%41~!*'()").unwrap(),
            "/a%20b/c%2Bd/%E2%82%AC/%C3%BC/%2F/A~%21%2A%27%28%29"
        );
        // Encoded once, not twice: `%2520` is a literal "%20" in the key.
        assert_eq!(canonical_uri("/%2520").unwrap(), "/%2520");
    }

    #[test]
    fn invalid_percent_encoding_is_refused() {
        for path in ["/a%zz", "/a%2", "/%", "/%%41"] {
            let err = canonical_uri(path).unwrap_err();
            assert_eq!(err, SigV4Error::InvalidPercentEncoding { part: "path" }, "{path}");
            assert_eq!(err.s3_code(), "InvalidArgument");
        }
        for query in ["a=%G0", "%=1", "a=1&b=%"] {
            assert_eq!(
                canonical_query(Some(query), false),
                Err(SigV4Error::InvalidPercentEncoding { part: "query" }),
                "{query}"
            );
        }
    }

    #[test]
    fn canonical_query_sorts_by_name_then_value_and_keeps_plus_literal() {
        let query = "b=2&a=y&a=x&c&d=e+f&%41=1&e=a%2fb=c&&f=%7E";
        assert_eq!(
            canonical_query(Some(query), false).unwrap(),
            "A=1&a=x&a=y&b=2&c=&d=e%2Bf&e=a%2Fb%3Dc&f=~"
        );
        assert_eq!(canonical_query(None, false).unwrap(), "");
        assert_eq!(canonical_query(Some(""), false).unwrap(), "");
    }

    #[test]
    fn presigned_query_leaves_out_only_x_amz_signature() {
        let query = "X-Amz-Signature=ab&x-amz-signature=cd&X-Amz-Date=1";
        assert_eq!(
            canonical_query(Some(query), true).unwrap(),
            "X-Amz-Date=1&x-amz-signature=cd"
        );
        assert_eq!(
            canonical_query(Some(query), false).unwrap(),
            "X-Amz-Date=1&X-Amz-Signature=ab&x-amz-signature=cd"
        );
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        let sent = headers(&[("my-h", "  a \t b   c "), ("my-h", "d"), ("my-h", ""), ("empty", "")]);
        assert_eq!(canonical_header_value(&sent, "my-h").unwrap(), "a b c,d,");
        assert_eq!(canonical_header_value(&sent, "empty").unwrap(), "");
        assert_eq!(
            canonical_header_value(&sent, "absent"),
            Err(SigV4Error::SignedHeaderMissing { name: "absent".into() })
        );
        let mut latin1 = HeaderMap::new();
        latin1.insert("my-h", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(
            canonical_header_value(&latin1, "my-h"),
            Err(SigV4Error::SignedHeaderNotUtf8 { name: "my-h".into() })
        );
    }

    #[test]
    fn signing_key_matches_the_aws_documentation_example() {
        // AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(*key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    // ---- Secrets and wire codes ----

    #[test]
    fn access_key_id_must_match_the_tokens() {
        let req = parse(None, &with_auth(AUTH)).unwrap().unwrap();
        assert_eq!(req.check_access_key_id("AKIDEXAMPLE"), Ok(()));
        for other in ["AKIDEXAMPLF", "AKIDEXAMPL", "akidexample", ""] {
            let err = req.check_access_key_id(other).unwrap_err();
            assert_eq!(err, SigV4Error::AccessKeyMismatch);
            assert_eq!(err.s3_code(), "InvalidAccessKeyId");
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_secret_signature_or_token() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        let req = signed.parse();
        let sig = hex::encode(req.signature());
        let mut printed = format!("{req:?} {req:#?}");
        for now in [T, T + 10_000] {
            for secret in [SECRET, "wrong"] {
                if let Err(e) = verify(&req, &Method::GET, "/x", None, &signed.headers, secret, now) {
                    printed.push_str(&format!("{e} {e:?}"));
                }
            }
        }
        assert!(printed.contains("[redacted]"), "{printed}");
        assert!(printed.contains("does not match"), "{printed}");
        for needle in [SECRET, &sig, &sig.to_uppercase(), client::TOKEN] {
            assert!(!printed.contains(needle), "{needle} in {printed}");
        }
    }

    // ---- Properties ----

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_authorization_headers_never_panics(auth in "[\\x20-\\x7e\\t]{0,300}") {
            if let Ok(value) = HeaderValue::from_str(&auth) {
                let mut sent = headers(&[("host", "h"), ("x-amz-date", "20150830T123600Z")]);
                sent.insert(http::header::AUTHORIZATION, value);
                let _ = parse(None, &sent);
            }
        }

        #[test]
        fn parsing_structured_authorization_headers_never_panics(
            algorithm in "AWS4-HMAC-SHA256|AWS|[A-Z0-9-]{0,20}",
            parts in proptest::collection::vec(
                "(Credential|SignedHeaders|Signature|[A-Za-z]{0,8})=[A-Za-z0-9/;_=-]{0,80}",
                0..5,
            ),
            separator in ",|, |,  | , ",
            date in "[0-9T Z]{0,17}",
        ) {
            let auth = format!("{algorithm} {}", parts.join(&separator));
            let mut sent = headers(&[("host", "h"), ("x-amz-date", &date)]);
            if let Ok(value) = HeaderValue::from_str(&auth) {
                sent.insert(http::header::AUTHORIZATION, value);
                if let Ok(Some(req)) = parse(None, &sent) {
                    let _ = verify(&req, &Method::GET, "/a", None, &sent, "s", 1_440_938_160);
                }
            }
        }

        #[test]
        fn parsing_and_verifying_arbitrary_query_strings_never_panics(
            query in "\\PC{0,300}",
            path in "\\PC{0,100}",
            now in proptest::num::u64::ANY,
        ) {
            let sent = headers(&[("host", "h")]);
            if let Ok(Some(req)) = parse_auth(&Method::GET, &path, Some(&query), &sent) {
                let _ = verify(&req, &Method::GET, &path, Some(&query), &sent, "s", now);
            }
            let _ = canonical_uri(&path);
            let _ = canonical_query(Some(&query), true);
        }

        #[test]
        fn parsing_presigned_like_query_strings_never_panics(
            params in proptest::collection::vec(
                (
                    "X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Security-Token|Signature)|AWSAccessKeyId|x",
                    "[A-Za-z0-9%/;+=._-]{0,70}",
                ),
                0..9,
            ),
            now in proptest::num::u64::ANY,
        ) {
            let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let query = query.join("&");
            let sent = headers(&[("host", "h")]);
            if let Ok(Some(req)) = parse(Some(&query), &sent) {
                let _ = verify(&req, &Method::GET, "/a", Some(&query), &sent, "s", now);
            }
        }
    }
}
