//! Finding and parsing a request's SigV4 authentication: the `Authorization` header
//! ("Signature Calculations for the Authorization Header") and the presigned query
//! ("Authenticating Requests: Using Query Parameters"). Nothing here is verified yet.

use http::{HeaderMap, HeaderValue, Method};
use subtle::ConstantTimeEq;

use super::{SigV4Error, ALGORITHM, Q_SIGNATURE, SERVICE, TERMINATOR};
use crate::encoding::percent_decode;
use crate::time::parse_amz_date;

const MAX_ACCESS_KEY_ID_LEN: usize = 128;
const MAX_SCOPE_PART_LEN: usize = 64;

const AMZ_DATE: &str = "x-amz-date";
const AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

const Q_ALGORITHM: &str = "X-Amz-Algorithm";
const Q_CREDENTIAL: &str = "X-Amz-Credential";
const Q_DATE: &str = "X-Amz-Date";
const Q_EXPIRES: &str = "X-Amz-Expires";
const Q_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const Q_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
/// SigV2 query authentication, recognised only to be refused.
const Q_V2_ACCESS_KEY_ID: &str = "AWSAccessKeyId";

/// Where the signature travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    Header,
    /// Query-string authentication (a presigned URL), valid `expires_secs` after `X-Amz-Date`.
    Presigned { expires_secs: u64 },
}

/// The credential scope from `Credential=`: `date/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CredentialScope {
    date: String,
    region: String,
    service: String,
}

impl CredentialScope {
    /// `yyyymmdd` as sent (checked against `x-amz-date` by [`verify`](fn@super::verify)).
    pub(crate) fn date(&self) -> &str {
        &self.date
    }

    /// The region as sent (checked by [`verify`](fn@super::verify)).
    pub(crate) fn region(&self) -> &str {
        &self.region
    }

    /// The service as sent (checked by [`verify`](fn@super::verify)).
    pub(crate) fn service(&self) -> &str {
        &self.service
    }

    /// The scope line of the string to sign: `date/region/service/aws4_request`.
    pub(crate) fn to_scope_string(&self) -> String {
        format!("{}/{}/{}/{TERMINATOR}", self.date, self.region, self.service)
    }
}

/// A request's SigV4 authentication, parsed but not yet verified.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SigV4Request {
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
    /// The access key id from `Credential=` (checked by `check_access_key_id`).
    #[cfg(test)]
    pub(crate) fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn scope(&self) -> &CredentialScope {
        &self.scope
    }

    /// `x-amz-date` / `X-Amz-Date` as sent: `yyyymmddThhmmssZ`.
    pub(crate) fn amz_date(&self) -> &str {
        &self.amz_date
    }

    /// `x-amz-date` in seconds since the Unix epoch.
    pub(crate) fn request_time_secs(&self) -> u64 {
        self.request_secs
    }

    /// Lower-case, sorted, unique.
    pub(crate) fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }

    pub(crate) fn signature(&self) -> &[u8; 32] {
        &self.signature
    }

    /// `x-amz-security-token` (header auth) or `X-Amz-Security-Token` (presigned).
    pub(crate) fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    pub(crate) fn kind(&self) -> AuthKind {
        self.kind
    }

    pub(crate) fn is_presigned(&self) -> bool {
        matches!(self.kind, AuthKind::Presigned { .. })
    }

    /// `X-Amz-Expires`, for presigned requests.
    #[cfg(test)]
    pub(crate) fn expires_secs(&self) -> Option<u64> {
        match self.kind {
            AuthKind::Presigned { expires_secs } => Some(expires_secs),
            AuthKind::Header => None,
        }
    }

    /// Checks that `Credential=` names `expected`, the access key id the security token was
    /// issued with.
    pub(crate) fn check_access_key_id(&self, expected: &str) -> Result<(), SigV4Error> {
        if bool::from(self.access_key_id.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(SigV4Error::AccessKeyMismatch)
        }
    }

    /// The authentication an outbound request is about to carry (header auth), for
    /// [`crate::backend::sign`]: the same canonicalisation then serves both directions.
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

    pub(super) fn signs(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }
}

/// Finds and parses a request's SigV4 authentication.
///
/// `Ok(None)`: the request carries none (no `Authorization` header, and none of
/// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Signature` in the query): it is anonymous.
/// `method` and `path` are taken so that callers hand `parse_auth` and [`verify`](fn@super::verify) the same
/// parts; parsing reads only the query and the headers.
pub(crate) fn parse_auth(
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
pub(super) fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::sigv4::test_client::{headers, s3_code};
    use crate::s3::sigv4::{canonical_query, canonical_uri, verify};

    fn parse(query: Option<&str>, headers: &HeaderMap) -> Result<Option<SigV4Request>, SigV4Error> {
        parse_auth(&Method::GET, "/", query, headers)
    }

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
            assert_eq!(s3_code(&err), "InvalidRequest");
        }
        for query in [
            "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=AKID%2F20150830%2Fs3%2Faws4_request",
            "AWSAccessKeyId=AKIDEXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
        ] {
            let err = parse(Some(query), &HeaderMap::new()).unwrap_err();
            assert_eq!(err, SigV4Error::UnsupportedAlgorithm { presigned: true }, "{query}");
            assert_eq!(s3_code(&err), "AuthorizationQueryParametersError");
        }
    }

    #[test]
    fn header_and_query_authentication_together_are_refused() {
        let query = "X-Amz-Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let err = parse(Some(query), &with_auth(AUTH)).unwrap_err();
        assert_eq!(err, SigV4Error::ConflictingAuth);
        assert_eq!(s3_code(&err), "InvalidArgument");
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
            assert_eq!(s3_code(&err), "InvalidArgument");
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
        assert_eq!(s3_code(&err), "AccessDenied");
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
            assert_eq!(s3_code(&err), "AuthorizationQueryParametersError");
        }
        let without_date: Vec<&str> = PRESIGNED.split('&').filter(|p| !p.starts_with("X-Amz-Date")).collect();
        let err = parse(Some(&without_date.join("&")), &HeaderMap::new()).unwrap_err();
        assert_eq!(err, SigV4Error::InvalidDate { presigned: true });
        assert_eq!(s3_code(&err), "AuthorizationQueryParametersError");
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
    fn access_key_id_must_match_the_tokens() {
        let req = parse(None, &with_auth(AUTH)).unwrap().unwrap();
        assert_eq!(req.check_access_key_id("AKIDEXAMPLE"), Ok(()));
        for other in ["AKIDEXAMPLF", "AKIDEXAMPL", "akidexample", ""] {
            let err = req.check_access_key_id(other).unwrap_err();
            assert_eq!(err, SigV4Error::AccessKeyMismatch);
            assert_eq!(s3_code(&err), "InvalidAccessKeyId");
        }
    }

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
