//! Who is asking: anonymous, or the holder of credentials issued by `/.sts`.
//!
//! A signed request must carry the session token (`x-amz-security-token` or
//! `X-Amz-Security-Token`): it is opened with the sealing key(s) — its AES-GCM tag proves
//! we issued it — and yields the secret access key that the SigV4 signature is then
//! checked with. Credentials past their expiry fail with `ExpiredToken`, presigned URLs
//! included, whatever their `X-Amz-Expires`.

use http::Request;

use crate::identity::Caller;
use crate::policy::{self, Action, Decision};
use crate::s3::error::{Resource, S3Error};
use crate::s3::route::S3Request;
use crate::s3::sigv4;
use crate::session::seal::{OpenError, SessionClaims, SessionKeys};

/// The caller of an S3 request.
#[derive(Debug)]
pub(crate) enum Principal {
    Anonymous,
    /// Opened and signature-verified session credentials.
    Session(SessionClaims),
}

impl Principal {
    /// The caller, (issuer, subject); `None` for anonymous callers.
    pub(crate) fn caller(&self) -> Option<Caller> {
        match self {
            Principal::Anonymous => None,
            Principal::Session(c) => Some(c.caller()),
        }
    }

    /// Whether the session policy (if any) allows the request (IAM's action, resource and
    /// `s3:prefix` for each operation, as AWS's S3 authorisation names them).
    pub(crate) fn authorize(&self, op: &S3Request) -> Result<(), S3Error> {
        let (action, account, key, prefix) = match op {
            S3Request::GetObject(t) | S3Request::HeadObject(t) => (Action::GetObject, &t.account, Some(&t.key), None),
            // HeadBucket needs s3:ListBucket; it has no s3:prefix.
            S3Request::HeadBucket { account } => (Action::ListBucket, account, None, None),
            S3Request::GetBucketLocation { account } => (Action::GetBucketLocation, account, None, None),
            S3Request::ListObjectsV2 { account, params } => {
                (Action::ListBucket, account, None, Some(&params.common.prefix))
            }
            S3Request::ListObjectsV1 { account, params } => {
                (Action::ListBucket, account, None, Some(&params.common.prefix))
            }
            S3Request::Preflight => {
                return Err(S3Error::Access {
                    source: crate::access::AccessError::Denied,
                    resource: Resource::Bucket,
                })
            }
        };
        Ok(self.allows(action, account, key.map(String::as_str), prefix.map(String::as_str))?)
    }

    /// Whether the session policy (if any) allows `action` on `arn:aws:s3:::{account}[/{key}]`
    /// with `s3:prefix` = `list_prefix`; `AccessDenied` if not. The caller's own rights are
    /// checked as well, separately: the effective rights are both together.
    pub(crate) fn allows(
        &self,
        action: Action,
        account: &str,
        key: Option<&str>,
        list_prefix: Option<&str>,
    ) -> Result<(), PolicyDenied> {
        let Principal::Session(SessionClaims { scope: Some(scope), .. }) = self else {
            return Ok(());
        };
        let resource = match key {
            Some(key) => format!("{account}/{key}"),
            None => account.to_owned(),
        };
        let decision = scope.decide(&policy::Request {
            action,
            resource: &resource,
            prefix: list_prefix,
        });
        match decision {
            Decision::Allow => Ok(()),
            Decision::ImplicitDeny | Decision::ExplicitDeny => Err(PolicyDenied {
                action,
                resource: crate::encoding::printable(&resource),
                explicit: decision == Decision::ExplicitDeny,
            }),
        }
    }
}

/// A request the session policy does not allow (`AccessDenied`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session policy denies {} on {resource}{}", action.name(), if *explicit { " explicitly" } else { "" })]
pub(crate) struct PolicyDenied {
    action: Action,
    /// `{account}[/{key}]`, made printable.
    resource: String,
    /// A `Deny` statement matched (else no `Allow` did).
    explicit: bool,
}

impl PolicyDenied {
    /// AWS's wording for a policy denial: the caller's own action and resource, and why.
    pub(crate) fn message(&self) -> String {
        let because = if self.explicit {
            "of an explicit deny in a session policy".to_owned()
        } else {
            format!("no session policy allows the {} action", self.action.name())
        };
        format!(
            "not authorized to perform: {} on resource: \"arn:aws:s3:::{}\" because {because}",
            self.action.name(),
            self.resource
        )
    }
}

/// Why a signed request's session token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionError {
    /// `InvalidAccessKeyId`: a signature without a session token (long-term keys are not
    /// accepted).
    #[error("a signed request without a session token")]
    NoSessionToken,
    /// `InvalidToken`: this deployment seals no session tokens (`SESSION_TOKEN_KEY` unset).
    #[error("this deployment holds no session token key")]
    NoSessionKeys,
    /// `ExpiredToken` when expired, else `InvalidToken` (a token naming no usable issuer,
    /// subject or audience does not open: they are checked types).
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// Authenticates `req` at `now` (seconds). `keys` is `None` when this deployment seals no
/// session tokens, so no signed request can be valid.
pub(crate) fn authenticate(req: &Request<Vec<u8>>, keys: Option<&SessionKeys>, now: u64) -> Result<Principal, S3Error> {
    let (method, path, query, headers) = (req.method(), req.uri().path(), req.uri().query(), req.headers());
    let Some(signed) = sigv4::parse_auth(method, path, query, headers)? else {
        return Ok(Principal::Anonymous);
    };
    let token = signed.security_token().ok_or(SessionError::NoSessionToken)?;
    let keys = keys.ok_or(SessionError::NoSessionKeys)?;
    let (claims, _) = keys.open(token, now).map_err(SessionError::from)?;
    signed.check_access_key_id(&claims.akid)?;
    let secret = claims.secret.expose_secret();
    sigv4::verify(&signed, method, path, query, headers, secret, now)?;
    Ok(Principal::Session(claims))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::platform::CountingRandom;
    use crate::s3::error::S3Code;
    use crate::s3::sigv4::{signature, signing_key, string_to_sign};

    pub(crate) const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    pub(crate) const NOW: u64 = 1_800_000_000;
    const AMZ_DATE: &str = "20270115T080000Z"; // NOW

    pub(crate) fn keys() -> SessionKeys {
        SessionKeys::new(KEY, None).unwrap()
    }

    fn session(exp: u64) -> (SessionClaims, String) {
        session_with(exp, None)
    }

    /// Claims for alice, with a session policy, and their sealed token.
    pub(crate) fn session_with(exp: u64, scope: Option<crate::policy::SessionPolicy>) -> (SessionClaims, String) {
        let claims = SessionClaims {
            sub: crate::identity::Subject::parse("alice").unwrap(),
            iss: crate::identity::Issuer::parse_trusted("https://idp.example").unwrap(),
            aud: crate::identity::Audience::parse("client").unwrap(),
            role: "_default".into(),
            akid: "ASIAEXAMPLEEXAMPLE00".into(),
            secret: crate::secret::SecretString::new("secretsecretsecretsecretsecretsecret0000".into()),
            exp,
            scope,
        };
        let token = keys().seal(&claims, &CountingRandom::default());
        (claims, token)
    }

    /// Signs a GET of `uri` (a path and query) the way a client does, with our own
    /// canonicalisation, at `NOW`.
    pub(crate) fn signed_get(uri: &str, akid: &str, secret: &str, token: &str) -> Request<Vec<u8>> {
        let (path, query) = match uri.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (uri, None),
        };
        let unsigned = Request::get(uri)
            .header("host", "127.0.0.1:8787")
            .header("x-amz-date", AMZ_DATE)
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header("x-amz-security-token", token)
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={akid}/20270115/us-east-1/s3/aws4_request, \
                     SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature={}",
                    "0".repeat(64)
                ),
            )
            .body(Vec::new())
            .unwrap();
        let parsed = sigv4::parse_auth(unsigned.method(), path, query, unsigned.headers())
            .unwrap()
            .unwrap();
        let canonical = sigv4::canonical_request(
            &parsed,
            unsigned.method(),
            path,
            query,
            unsigned.headers(),
            "UNSIGNED-PAYLOAD",
        )
        .unwrap();
        let key = signing_key(secret, "20270115", "us-east-1", "s3");
        let sig = hex::encode(signature(&key, &string_to_sign(&parsed, &canonical)));
        let (mut parts, body) = unsigned.into_parts();
        let auth = parts.headers["authorization"]
            .to_str()
            .unwrap()
            .replace(&"0".repeat(64), &sig);
        parts.headers.insert("authorization", auth.parse().unwrap());
        Request::from_parts(parts, body)
    }

    #[test]
    fn no_credentials_is_anonymous() {
        let req = Request::get("/acct/p/k").body(Vec::new()).unwrap();
        assert!(matches!(
            authenticate(&req, Some(&keys()), NOW).unwrap(),
            Principal::Anonymous
        ));
    }

    #[test]
    fn a_correctly_signed_request_with_its_token_is_the_session_subject() {
        let (claims, token) = session(NOW + 600);
        let req = signed_get("/acct/p/k", &claims.akid, claims.secret.expose_secret(), &token);
        let who = authenticate(&req, Some(&keys()), NOW).unwrap();
        let caller = who.caller().expect("a session");
        assert_eq!(
            (caller.issuer.as_str(), caller.subject.as_str()),
            ("https://idp.example", "alice")
        );
    }

    #[test]
    fn expired_tampered_and_mismatched_credentials_get_s3_codes() {
        let (claims, token) = session(NOW + 600);
        let code = |req: &Request<Vec<u8>>, now| authenticate(req, Some(&keys()), now).unwrap_err().code();
        let req = signed_get("/acct/p/k", &claims.akid, claims.secret.expose_secret(), &token);
        assert_eq!(code(&req, NOW + 600), S3Code::ExpiredToken);
        let mut bad = token.clone().into_bytes();
        bad[10] = if bad[10] == b'A' { b'B' } else { b'A' };
        let req = signed_get(
            "/acct/p/k",
            &claims.akid,
            claims.secret.expose_secret(),
            std::str::from_utf8(&bad).unwrap(),
        );
        assert_eq!(code(&req, NOW), S3Code::InvalidToken);
        let req = signed_get(
            "/acct/p/k",
            "ASIAOTHEROTHEROTHER0",
            claims.secret.expose_secret(),
            &token,
        );
        assert_eq!(code(&req, NOW), S3Code::InvalidAccessKeyId);
        let req = signed_get("/acct/p/k", &claims.akid, "wrong-secret", &token);
        assert_eq!(code(&req, NOW), S3Code::SignatureDoesNotMatch);
        assert_eq!(code(&req, NOW + 3600), S3Code::ExpiredToken);
        let req = signed_get("/acct/p/k", &claims.akid, claims.secret.expose_secret(), &token);
        assert_eq!(code(&req, NOW - 1000), S3Code::RequestTimeTooSkewed);
    }

    #[test]
    fn a_signature_without_a_session_token_is_refused() {
        let (claims, token) = session(NOW + 600);
        let mut req = signed_get("/acct/p/k", &claims.akid, claims.secret.expose_secret(), &token);
        req.headers_mut().remove("x-amz-security-token");
        assert_eq!(
            authenticate(&req, Some(&keys()), NOW).unwrap_err().code(),
            S3Code::InvalidAccessKeyId
        );
        let req = signed_get("/acct/p/k", &claims.akid, claims.secret.expose_secret(), &token);
        assert_eq!(authenticate(&req, None, NOW).unwrap_err().code(), S3Code::InvalidToken);
    }
}
