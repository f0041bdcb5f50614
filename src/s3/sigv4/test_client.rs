//! Test support for the SigV4 tests: headers from pairs, and a client-side S3 signer
//! written apart from the verifier, the way botocore signs: the key quoted with Python's
//! `quote(key, safe="/~")`, query parameters with `quote(v, safe="-_.~")`, the canonical URI
//! being the quoted path as sent.

use hmac::{Hmac, Mac};
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Method};
use sha2::{Digest, Sha256};

use super::{parse_auth, verify, SigV4Error, SigV4Request};

type HmacSha256 = Hmac<Sha256>;

/// The SHA-256 of an empty body.
pub(crate) const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The S3 code a refusal is answered with (the mapping is `crate::s3::error`'s).
pub(crate) fn s3_code(e: &SigV4Error) -> &'static str {
    crate::s3::error::S3Error::from(e.clone()).code().as_str()
}

/// A header map of `pairs`, in order, repeated names appended.
pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// The client's clock: 2026-03-01T12:00:00Z.
pub(crate) const T: u64 = 1_772_366_400;
/// [`T`] as `x-amz-date`.
pub(crate) const AMZ_DATE: &str = "20260301T120000Z";
/// The client's secret access key.
pub(crate) const SECRET: &str = "client-secret/with+odd=chars";
/// The client's session token.
pub(crate) const TOKEN: &str = "token-123";

/// Python's `urllib.parse.quote(s, safe)`.
fn quote(s: &str, safe: &str) -> String {
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

pub(crate) struct Client {
    pub(crate) service: &'static str,
    pub(crate) region: &'static str,
    pub(crate) secret: &'static str,
    /// Sign `host`? (A correct client always does.)
    pub(crate) sign_host: bool,
}

pub(crate) struct Signed {
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
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
    pub(crate) fn get(&self, bucket_and_key: &str, params: &[(&str, &str)], payload: &str) -> Signed {
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
    pub(crate) fn presign(&self, bucket_and_key: &str, expires: u64) -> Signed {
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
    pub(crate) fn parse(&self) -> SigV4Request {
        parse_auth(&Method::GET, &self.path, self.query.as_deref(), &self.headers)
            .unwrap()
            .expect("signed")
    }

    pub(crate) fn verify_at(&self, now: u64) -> Result<(), SigV4Error> {
        self.verify_as(&self.path, self.query.as_deref(), &self.headers, now)
    }

    /// Verifies the signature sent against a possibly different request.
    pub(crate) fn verify_as(
        &self,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<(), SigV4Error> {
        verify(&self.parse(), &Method::GET, path, query, headers, SECRET, now)
    }
}
