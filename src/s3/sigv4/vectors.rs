//! Known-answer tests over the whole pipeline (parse, canonical request, string to sign,
//! signature, verification): the AWS SigV4 test suite and requests botocore signed, one
//! `#[test]` per vector, each intermediate stage checked.

use http::{HeaderMap, Method};

use super::test_client::{headers, s3_code, EMPTY_SHA256};
use super::verify::{payload_hash, verify_signature};
use super::*;

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

            let verified = verify_signature(&req, &raw.method, &raw.path, query, &raw.headers, EMPTY_SHA256, secret);
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
        let req = parse_auth(&Method::GET, path, Some(query), &sent).unwrap().unwrap();
        let at = |now| verify(&req, &Method::GET, path, Some(query), &sent, SECRET, now);
        assert_eq!(at(T + 3600), Ok(()));
        let expired = at(T + 3601).unwrap_err();
        assert_eq!(s3_code(&expired), "AccessDenied");
        assert!(matches!(expired, SigV4Error::Expired { .. }));
    }
}
