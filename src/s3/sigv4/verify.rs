//! Verification: S3's rules on top of SigV4 (scope, `host`, time, payload hash), then the
//! signature itself, recomputed and compared in constant time.

use http::{HeaderMap, Method};
use subtle::ConstantTimeEq;

use super::canonical::canonical_request;
use super::parse::{single_header, AuthKind, SigV4Request};
use super::signature::{signature, signing_key, string_to_sign};
use super::{SigV4Error, AMZ_CONTENT_SHA256, SERVICE, UNSIGNED_PAYLOAD};

/// How far `x-amz-date` may be from the server's clock (S3: 15 minutes).
const MAX_SKEW_SECS: u64 = 15 * 60;
/// The longest validity of a presigned URL (S3: 7 days).
const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;
const MAX_REGION_LEN: usize = 32;

/// Verifies a request's SigV4 authentication with S3's rules.
///
/// `secret_access_key` is the secret that belongs to `req.access_key_id()`;
/// `now_unix_secs` is the server's clock. The checks run in this order: scope (service,
/// region, date), `host` signed, time (skew, presigned expiry), payload hash, signature.
pub(crate) fn verify(
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
    if req.scope().service() != SERVICE {
        return Err(SigV4Error::WrongService {
            presigned,
            service: req.scope().service().to_owned(),
        });
    }
    // Credential scope: any well-formed region (see the module docs for why).
    let region = req.scope().region().as_bytes();
    if region.is_empty()
        || region.len() > MAX_REGION_LEN
        || !region
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(SigV4Error::InvalidRegion { presigned });
    }
    // Credential scope: "date must match the date of X-Amz-Date".
    if Some(req.scope().date()) != req.amz_date().get(..8) {
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
    let t = req.request_time_secs();
    let skewed = SigV4Error::RequestTimeTooSkewed {
        request_secs: t,
        server_secs: now,
    };
    match req.kind() {
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
pub(super) fn payload_hash<'h>(req: &SigV4Request, headers: &'h HeaderMap) -> Result<&'h str, SigV4Error> {
    let sent = single_header(headers, AMZ_CONTENT_SHA256).map_err(|()| SigV4Error::InvalidContentSha256)?;
    let value = match (req.kind(), sent) {
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
pub(crate) fn verify_signature(
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
        req.scope().date(),
        req.scope().region(),
        req.scope().service(),
    );
    let expected = signature(&key, &to_sign);
    if bool::from(expected.ct_eq(req.signature())) {
        Ok(())
    } else {
        Err(SigV4Error::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::sigv4::parse_auth;
    use crate::s3::sigv4::test_client::{self as client, headers, s3_code, Client, AMZ_DATE, EMPTY_SHA256, SECRET, T};
    use http::header::HeaderName;
    use http::HeaderValue;

    fn parse(query: Option<&str>, headers: &HeaderMap) -> Result<Option<SigV4Request>, SigV4Error> {
        parse_auth(&Method::GET, "/", query, headers)
    }

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
        assert_eq!(s3_code(&err), "SignatureDoesNotMatch");
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
        assert_eq!(s3_code(&err), "SignatureDoesNotMatch");
    }

    #[test]
    fn header_auth_allows_fifteen_minutes_of_skew_either_way() {
        let signed = Client::default().get(AWKWARD_KEY, &[], UNSIGNED_PAYLOAD);
        assert_eq!(signed.verify_at(T - 900), Ok(()));
        assert_eq!(signed.verify_at(T + 900), Ok(()));
        for now in [T - 901, T + 901, 0, u64::MAX] {
            let err = signed.verify_at(now).unwrap_err();
            assert!(matches!(err, SigV4Error::RequestTimeTooSkewed { .. }), "{now}: {err:?}");
            assert_eq!(s3_code(&err), "RequestTimeTooSkewed");
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
        assert_eq!(s3_code(&err), "AccessDenied");
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
            assert_eq!(s3_code(&err), "AuthorizationQueryParametersError");
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
        assert_eq!(s3_code(&err), "InvalidArgument");
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
        assert_eq!(s3_code(&err), "InvalidArgument");
        let presigned = Client {
            service: "sts",
            ..Client::default()
        }
        .presign(AWKWARD_KEY, 60);
        assert_eq!(
            s3_code(&presigned.verify_at(T).unwrap_err()),
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
        assert_eq!(s3_code(&err), "InvalidRequest");
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
            assert_eq!(s3_code(&err), "InvalidArgument");
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
}
