//! SigV4 signing of the proxy's own requests to S3-compatible backends (header auth).
//!
//! The verifier's canonicalisation ([`sigv4::canonical_request`] and friends) builds what is
//! signed, so one implementation serves both directions; the tests below sign with this
//! module and verify with [`sigv4::verify`], and check one signature against botocore's.

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, HOST};
use http::Request;
use sha2::{Digest, Sha256};

use crate::s3::sigv4::{self, SigV4Error, SigV4Request, ALGORITHM};
use crate::secret::SecretString;

/// An access key pair for a backend, from the worker secret the catalogue names.
pub(crate) struct BackendCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: SecretString,
}

impl std::fmt::Debug for BackendCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .finish()
    }
}

impl BackendCredentials {
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (surrounding whitespace ignored). `None` when either
    /// half is empty or the access key id holds anything but `A-Za-z0-9`.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let (id, secret) = value.trim().split_once(':')?;
        let id_ok = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok || secret.is_empty() {
            return None;
        }
        Some(Self {
            access_key_id: id.to_owned(),
            secret_access_key: SecretString::new(secret.to_owned()),
        })
    }
}

/// The `host` value a client derives from `uri`: the authority without a default port
/// (what `fetch` sends, so what the backend checks).
pub(crate) fn host_of(uri: &http::Uri) -> Option<String> {
    let host = uri.host()?;
    let default = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    Some(match uri.port_u16() {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host.to_owned(),
    })
}

const AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

/// Signs `req` for `region`'s `s3` at `now_secs`: sets `host`, `x-amz-date`,
/// `x-amz-content-sha256` (the hash of the body) and `Authorization`, signing those three
/// plus any `range` header. The URI must be absolute and its path and query already in
/// their canonical, once-encoded form (as [`crate::backend::remote`] builds them).
pub(crate) fn sign(
    req: &mut Request<Vec<u8>>,
    credentials: &BackendCredentials,
    region: &str,
    now_secs: u64,
) -> Result<(), SigV4Error> {
    let host = host_of(req.uri()).ok_or(SigV4Error::SignedHeaderMissing { name: "host".into() })?;
    let payload_hash = hex::encode(Sha256::digest(req.body()));
    let mut signed = vec![
        "host".to_owned(),
        "x-amz-content-sha256".to_owned(),
        "x-amz-date".to_owned(),
    ];
    if req.headers().contains_key(http::header::RANGE) {
        signed.push("range".to_owned());
    }
    signed.sort();
    let auth = SigV4Request::for_signing(&credentials.access_key_id, region, now_secs, signed);
    let headers = req.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).map_err(|_| SigV4Error::SignedHeaderNotUtf8 { name: "host".into() });
    headers.insert(HOST, value(&host)?);
    headers.insert(AMZ_DATE, value(auth.amz_date())?);
    headers.insert(AMZ_CONTENT_SHA256, value(&payload_hash)?);
    let canonical = sigv4::canonical_request(
        &auth,
        req.method(),
        req.uri().path(),
        req.uri().query(),
        req.headers(),
        &payload_hash,
    )?;
    let to_sign = sigv4::string_to_sign(&auth, &canonical);
    let key = sigv4::signing_key(
        credentials.secret_access_key.expose_secret(),
        auth.scope().date(),
        region,
        sigv4::SERVICE,
    );
    let signature = hex::encode(sigv4::signature(&key, &to_sign));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={signature}",
        credentials.access_key_id,
        auth.scope().to_scope_string(),
        auth.signed_headers().join(";"),
    );
    req.headers_mut().insert(AUTHORIZATION, value(&authorization)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn creds() -> BackendCredentials {
        BackendCredentials::parse("AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").unwrap()
    }

    fn get(uri: &str) -> Request<Vec<u8>> {
        Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Vec::new())
            .unwrap()
    }

    #[test]
    fn credentials_parse_and_never_print_the_secret() {
        let c = creds();
        assert_eq!(c.access_key_id, "AKIDEXAMPLE");
        assert!(!format!("{c:?}").contains("wJalr"));
        assert!(BackendCredentials::parse("nocolon").is_none());
        assert!(BackendCredentials::parse(":secret").is_none());
        assert!(BackendCredentials::parse("id:").is_none());
        assert!(BackendCredentials::parse("bad id:secret").is_none());
        // Secrets may hold ':' themselves.
        let c = BackendCredentials::parse(" AKID:a:b \n").unwrap();
        assert_eq!(c.secret_access_key.expose_secret(), "a:b");
    }

    #[test]
    fn host_drops_default_ports_only() {
        let h = |u: &str| host_of(&u.parse().unwrap()).unwrap();
        assert_eq!(h("https://s3.example:443/b"), "s3.example");
        assert_eq!(h("http://127.0.0.1:80/b"), "127.0.0.1");
        assert_eq!(h("http://127.0.0.1:9000/b"), "127.0.0.1:9000");
        assert_eq!(h("https://s3.example:8443/b"), "s3.example:8443");
    }

    /// What this module signs, the verifier accepts; a changed byte it refuses.
    #[test]
    fn signed_requests_verify() {
        let now = 1_790_000_000;
        let mut req = get("http://127.0.0.1:9000/bucket/a%20b/%C3%BC%2B.txt?list-type=2&prefix=a%2Fb");
        req.headers_mut().insert("range", HeaderValue::from_static("bytes=0-9"));
        sign(&mut req, &creds(), "us-east-1", now).unwrap();
        let (parts, _) = req.into_parts();
        let path = parts.uri.path();
        let query = parts.uri.query();
        let auth = sigv4::parse_auth(&parts.method, path, query, &parts.headers)
            .unwrap()
            .unwrap();
        assert_eq!(
            auth.signed_headers(),
            ["host", "range", "x-amz-content-sha256", "x-amz-date"]
        );
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        sigv4::verify(&auth, &parts.method, path, query, &parts.headers, secret, now).unwrap();
        let mut tampered = parts.headers.clone();
        tampered.insert("range", HeaderValue::from_static("bytes=0-10"));
        assert_eq!(
            sigv4::verify(&auth, &parts.method, path, query, &tampered, secret, now),
            Err(SigV4Error::SignatureMismatch)
        );
    }

    /// botocore 1.44.5 (`SigV4Auth(creds, "s3", "us-east-1").add_auth(req)`, at the fixed
    /// time 2015-08-30T12:36:00Z, empty body) signs this same request with this signature.
    #[test]
    fn matches_botocore() {
        let mut req = get("http://127.0.0.1:9000/bucket/key%20with%20space.txt");
        sign(&mut req, &creds(), "us-east-1", 1_440_938_160).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fe20387b6ef34c959c0849249ea465dc18fd5aecb5edbbebd1faa652bb6d54b6"
        );
        assert_eq!(req.headers()["x-amz-date"], "20150830T123600Z");
    }
}
