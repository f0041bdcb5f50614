//! The security token service: AWS `AssumeRoleWithWebIdentity` at `/.sts`.
//!
//! | module | what |
//! |---|---|
//! | [`request`] | parameters and their validation |
//! | [`client`] | the client side (public, for the command-line client): the exchange request and its XML answer, read strictly |
//! | [`verify`] | the ID token: signature, issuer, audience, times |
//! | [`idp_keys`] | the IdPs' keys: discovery, JWKS, cache |
//! | [`response`] | AWS's XML, success and error |
//! | [`error`] | errors and their one mapping to AWS codes |

pub mod client;
pub(crate) mod error;
pub(crate) mod idp_keys;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod verify;

use http::{Request, Response};

use crate::platform::{HttpClient, Io};
use crate::session::credentials;
use crate::session::seal::{SessionClaims, SessionKeys};
use crate::sts::error::StsError;
use crate::sts::idp_keys::KeyCache;
use crate::sts::verify::TrustPolicy;
use crate::web::Body;

pub(crate) const STS_PATH: &str = "/.sts";
/// The methods `/.sts` serves (AWS's query API takes GET and POST); the first is what
/// `Allow` lists first.
pub(crate) const METHODS: &[http::Method] = &[
    http::Method::GET,
    http::Method::HEAD,
    http::Method::OPTIONS,
    http::Method::POST,
];
/// The account id shown in ARNs.
const ACCOUNT_ID: &str = "000000000000";

/// The STS's settings.
#[derive(Debug, Clone)]
pub(crate) struct StsConfig {
    /// `AUTH_ISSUER` and `AUTH_AUDIENCE`.
    pub(crate) trust: TrustPolicy,
    /// `STS_MAX_SESSION_DURATION_SECS`. Default 3600.
    pub(crate) max_duration_secs: u32,
}

/// The STS as configured: off (no audience), broken, or serving.
pub(crate) enum StsState<'c> {
    Off,
    Misconfigured(String),
    On {
        config: &'c StsConfig,
        keys: &'c SessionKeys,
    },
}

pub(crate) struct Sts<'c> {
    state: StsState<'c>,
    idp_keys: KeyCache,
}

/// What one exchange leaves for its log line.
#[derive(Default)]
struct Outcome {
    issuer: Option<String>,
    audience: Option<String>,
    /// [`Caller::pseudonym`](crate::identity::Caller::pseudonym) of the verified (issuer, subject).
    caller: Option<String>,
}

impl<'c> Sts<'c> {
    pub(crate) fn new(state: StsState<'c>) -> Self {
        Self {
            state,
            idp_keys: KeyCache::default(),
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        matches!(self.state, StsState::On { .. })
    }

    /// The first trusted issuer, when the STS is serving (for the insecure test routes).
    #[cfg(any(test, feature = "insecure-test-routes"))]
    pub(crate) fn first_issuer(&self) -> Option<&crate::identity::Issuer> {
        match &self.state {
            StsState::On { config, .. } => config.trust.issuers.first().map(|t| &t.issuer),
            _ => None,
        }
    }

    pub(crate) fn is_misconfigured(&self) -> bool {
        matches!(self.state, StsState::Misconfigured(_))
    }

    /// Answers one request to `/.sts`: a CORS preflight, a 405 in AWS's XML for a method it
    /// does not serve, else an exchange, which it logs in one line.
    pub(crate) async fn handle<H: HttpClient, R>(&self, req: &Request<Vec<u8>>, io: &Io<'_, H, R>) -> Response<Body> {
        let method = req.method();
        if method == http::Method::OPTIONS {
            return crate::web::preflight(req.headers(), METHODS);
        }
        if !METHODS.contains(method) {
            // STS clients parse AWS XML, errors included.
            let err = StsError::MethodNotAllowed {
                method: crate::encoding::printable(method.as_str()),
            };
            let mut res = response::error(&err, &crate::session::request_id(io.random));
            res.headers_mut()
                .insert(http::header::ALLOW, crate::web::allow_value(METHODS));
            return res;
        }
        let started = io.clock.now_millis();
        let request_id = crate::session::request_id(io.random);
        let mut outcome = Outcome::default();
        let result = self.exchange(req, io, &request_id, &mut outcome).await;
        let (code, reason) = match &result {
            Ok(_) => ("ok".to_owned(), String::new()),
            Err(e) => (e.wire().0.to_owned(), e.to_string()),
        };
        io.log.log(&serde_json::json!({
            "level": if result.is_ok() { "info" } else { "warn" },
            "msg": "sts exchange",
            "request_id": request_id,
            "issuer": outcome.issuer,
            "audience": outcome.audience,
            // The subject is personal data: only a pseudonym of (issuer, subject) goes to the log.
            "caller": outcome.caller,
            "outcome": code,
            "reason": reason,
            "ms": io.clock.now_millis().saturating_sub(started),
        }));
        match result {
            Ok(res) => res,
            Err(e) => response::error(&e, &request_id),
        }
    }

    async fn exchange<H: HttpClient, R>(
        &self,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H, R>,
        request_id: &str,
        outcome: &mut Outcome,
    ) -> Result<Response<Body>, StsError> {
        let (config, keys) = match &self.state {
            StsState::Off => return Err(StsError::NotImplemented),
            StsState::Misconfigured(reason) => return Err(StsError::Misconfigured { reason: reason.clone() }),
            StsState::On { config, keys } => (*config, *keys),
        };
        let params = request::parse(req, config.max_duration_secs)?;
        // The token is parsed once; the trusted issuer it claims names the log line even if
        // it then fails verification.
        let jws = verify::parse_token(params.web_identity_token.expose_secret())?;
        let trusted = verify::claimed_issuer(&jws, &config.trust)?;
        outcome.issuer = Some(trusted.issuer.as_str().to_owned());
        let identity = verify::verify(jws, trusted, &self.idp_keys, io.http, io.clock)
            .await
            .inspect_err(|e| {
                // IDPRejectedClaim comes after the signature check: the token is authentic, and
                // its audience is what an operator needs to see (AUTH_AUDIENCE lacks it).
                if let StsError::IdpRejectedClaim { audience, .. } = e {
                    outcome.audience = audience.clone();
                }
            })?;
        outcome.audience = Some(identity.audience().as_str().to_owned());
        outcome.caller = Some(identity.caller().pseudonym());

        let now = io.clock.now_secs();
        let expires = now + u64::from(params.duration_secs);
        let access_key_id = credentials::access_key_id(io.random);
        let claims = SessionClaims {
            sub: identity.subject().clone(),
            iss: identity.issuer().clone(),
            aud: identity.audience().clone(),
            role: params.role.name().to_owned(),
            akid: access_key_id.clone(),
            secret: credentials::secret_access_key(io.random),
            exp: expires,
            scope: params.policy.clone(),
        };
        let session_token = keys.seal(&claims, io.random);
        let role = params.role.name();
        Ok(response::success(&response::Issued {
            subject: claims.sub.as_str(),
            audience: claims.aud.as_str(),
            provider: claims.iss.as_str(),
            assumed_role_arn: format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{}", params.session_name),
            assumed_role_id: format!("{}:{}", credentials::role_id(role), params.session_name),
            access_key_id: &access_key_id,
            secret_access_key: claims.secret.expose_secret(),
            session_token: &session_token,
            expiration: crate::time::rfc3339(expires),
            request_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sts_settings;
    use crate::config::Config;
    use crate::oidc::jwt::signing_input;
    use crate::oidc::keys::tests::{test_key, TEST_KEY2_PEM};
    use crate::oidc::keys::{Kid, ProviderKey};
    use crate::oidc::signer::RsaSigner;
    use crate::platform::{Clock, CountingRandom, FetchError, FixedClock, MemoryLog};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use futures_util::FutureExt;
    use std::cell::{Cell, RefCell};

    const ISSUER: &str = "https://idp.example";
    const NOW: u64 = 1_800_000_000;

    /// An identity provider answering from memory.
    struct FakeIdp {
        keys: RefCell<Vec<ProviderKey>>,
        up: Cell<bool>,
        fetches: Cell<u32>,
        /// Discovery requests, answered or not.
        attempts: Cell<u32>,
        max_age: u64,
    }

    impl FakeIdp {
        fn new(max_age: u64) -> Self {
            Self {
                keys: RefCell::new(vec![test_key()]),
                up: Cell::new(true),
                fetches: Cell::new(0),
                attempts: Cell::new(0),
                max_age,
            }
        }
    }

    impl HttpClient for FakeIdp {
        async fn fetch(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
            if req.uri().path() == "/.well-known/openid-configuration" {
                self.attempts.set(self.attempts.get() + 1);
            }
            if !self.up.get() {
                return Err(FetchError::Network);
            }
            let body = match req.uri().path() {
                "/.well-known/openid-configuration" => {
                    serde_json::json!({"issuer": ISSUER, "jwks_uri": format!("{ISSUER}/jwks")})
                }
                "/jwks" => {
                    self.fetches.set(self.fetches.get() + 1);
                    serde_json::json!({"keys": self.keys.borrow().iter().map(|k| k.jwk().clone()).collect::<Vec<_>>()})
                }
                _ => return Ok(Response::builder().status(404).body(Vec::new()).unwrap()),
            };
            Ok(Response::builder()
                .header("cache-control", format!("max-age={}", self.max_age))
                .body(body.to_string().into_bytes())
                .unwrap())
        }
    }

    fn token(key: &ProviderKey, claims: serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "RS256", "kid": key.kid().as_str()});
        let input = signing_input(&header, &claims);
        let sig = RsaSigner::new(key).sign_now(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn good_claims(now: u64) -> serde_json::Value {
        serde_json::json!({"iss": ISSUER, "sub": "alice", "aud": "client-a", "iat": now, "exp": now + 300})
    }

    fn form(token: &str) -> Request<Vec<u8>> {
        form_with(token, &[])
    }

    /// The exchange form with `extra` parameters.
    fn form_with(token: &str, extra: &[(&str, &str)]) -> Request<Vec<u8>> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "AssumeRoleWithWebIdentity")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", "arn:aws:iam::000000000000:role/_default")
            .append_pair("RoleSessionName", "test")
            .append_pair("WebIdentityToken", token)
            .extend_pairs(extra)
            .finish();
        Request::post("/.sts")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap()
    }

    struct Harness {
        config: Config,
        clock: FixedClock,
        random: CountingRandom,
        log: MemoryLog,
    }

    impl Harness {
        /// The claims sealed in the `<SessionToken>` of an AssumeRoleWithWebIdentity answer.
        fn sealed_claims(&self, body: &str) -> SessionClaims {
            let session = body
                .split("<SessionToken>")
                .nth(1)
                .and_then(|rest| rest.split("</SessionToken>").next())
                .expect("a session token");
            let keys = self.config.session_keys.as_ref().unwrap().as_ref().unwrap();
            keys.open(session, NOW).unwrap().0
        }

        fn new() -> Self {
            Self {
                config: Config::from_settings(&sts_settings()),
                clock: FixedClock::at_secs(NOW),
                random: CountingRandom::default(),
                log: MemoryLog::default(),
            }
        }

        fn sts(&self) -> Sts<'_> {
            let config = self.config.sts.as_ref().unwrap().as_ref().unwrap();
            let keys = self.config.session_keys.as_ref().unwrap().as_ref().unwrap();
            Sts::new(StsState::On { config, keys })
        }

        /// Runs one exchange and returns (status, body, AWS code if any).
        fn exchange(&self, sts: &Sts<'_>, idp: &FakeIdp, token: &str) -> (u16, String) {
            let io = Io::new(&self.clock, &self.random, idp, &self.log);
            let res = sts.handle(&form(token), &io).now_or_never().unwrap();
            (
                res.status().as_u16(),
                String::from_utf8(res.body().as_bytes().to_vec()).unwrap(),
            )
        }
    }

    fn code_of(body: &str) -> &str {
        body.split("<Code>")
            .nth(1)
            .and_then(|s| s.split("</Code>").next())
            .unwrap_or("ok")
    }

    #[test]
    fn a_good_token_yields_credentials_that_open_with_the_session_key() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        let (status, body) = h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW)));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<SubjectFromWebIdentityToken>alice</SubjectFromWebIdentityToken>"));
        assert!(body.contains("<Arn>arn:aws:sts::000000000000:assumed-role/_default/test</Arn>"));
        assert!(body.contains("<Expiration>2027-01-15T09:00:00Z</Expiration>"), "{body}");
        let claims = h.sealed_claims(&body);
        assert_eq!(
            (claims.sub.as_str(), claims.aud.as_str(), claims.exp),
            ("alice", "client-a", NOW + 3600)
        );
        assert!(body.contains(&format!("<AccessKeyId>{}</AccessKeyId>", claims.akid)));
        let line = &h.log.0.borrow()[0];
        assert_eq!(line["outcome"], "ok");
        assert!(
            !line.to_string().contains("alice"),
            "subject must not be logged in clear"
        );
    }

    #[test]
    fn a_session_policy_is_sealed_normalised_and_a_malformed_one_is_malformed_policy_document() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        let doc = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
                      "Resource": "arn:aws:s3:::demo/p/*"}}"#;
        let io = Io::new(&h.clock, &h.random, &idp, &h.log);
        let good = token(&test_key(), good_claims(NOW));
        let res = sts
            .handle(&form_with(&good, &[("Policy", doc)]), &io)
            .now_or_never()
            .unwrap();
        let body = String::from_utf8(res.body().as_bytes().to_vec()).unwrap();
        let claims = h.sealed_claims(&body);
        assert_eq!(claims.scope, Some(crate::policy::SessionPolicy::parse(doc).unwrap()));
        let bad = doc.replace("\"Action\"", "\"NotAction\"");
        let res = sts
            .handle(&form_with(&good, &[("Policy", &bad)]), &io)
            .now_or_never()
            .unwrap();
        let body = String::from_utf8(res.body().as_bytes().to_vec()).unwrap();
        assert_eq!(
            (res.status().as_u16(), code_of(&body)),
            (400, "MalformedPolicyDocument"),
            "{body}"
        );
        assert!(body.contains("NotAction is not supported"), "{body}");
    }

    #[test]
    fn keys_are_cached_and_a_rotation_is_picked_up_at_once() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        assert_eq!(h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW))).0, 200);
        assert_eq!(h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW))).0, 200);
        assert_eq!(idp.fetches.get(), 1);
        let rotated = ProviderKey::from_pkcs8_pem(Kid::parse("rotated").unwrap(), TEST_KEY2_PEM).unwrap();
        idp.keys
            .borrow_mut()
            .push(ProviderKey::from_pkcs8_pem(Kid::parse("rotated").unwrap(), TEST_KEY2_PEM).unwrap());
        h.clock.advance_secs(REFETCH_AFTER);
        assert_eq!(h.exchange(&sts, &idp, &token(&rotated, good_claims(NOW))).0, 200);
        assert_eq!(idp.fetches.get(), 2);
    }

    const REFETCH_AFTER: u64 = idp_keys::REFETCH_INTERVAL_SECS;

    #[test]
    fn unknown_kid_refetches_at_most_once_per_interval() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        assert_eq!(h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW))).0, 200);
        h.clock.advance_secs(REFETCH_AFTER);
        let stranger = ProviderKey::from_pkcs8_pem(Kid::parse("stranger").unwrap(), TEST_KEY2_PEM).unwrap();
        for _ in 0..5 {
            let (status, body) = h.exchange(&sts, &idp, &token(&stranger, good_claims(NOW)));
            assert_eq!((status, code_of(&body)), (400, "InvalidIdentityToken"));
        }
        assert_eq!(
            idp.fetches.get(),
            2,
            "one initial fetch and one refetch, not one per request"
        );
    }

    #[test]
    fn cached_keys_outlive_an_idp_outage_for_the_grace_period_only() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(60));
        assert_eq!(h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW))).0, 200);
        idp.up.set(false);
        h.clock.advance_secs(120);
        let now = h.clock.now_secs();
        assert_eq!(h.exchange(&sts, &idp, &token(&test_key(), good_claims(now))).0, 200);
        h.clock.advance_secs(idp_keys::GRACE_SECS);
        let now = h.clock.now_secs();
        let (status, body) = h.exchange(&sts, &idp, &token(&test_key(), good_claims(now)));
        assert_eq!((status, code_of(&body)), (400, "IDPCommunicationError"));
    }

    #[test]
    fn an_unreachable_idp_without_cached_keys_is_a_communication_error() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        idp.up.set(false);
        let (status, body) = h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW)));
        assert_eq!((status, code_of(&body)), (400, "IDPCommunicationError"));
    }

    #[test]
    fn a_failing_idp_is_asked_once_per_interval_not_on_every_request() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        idp.up.set(false);
        for _ in 0..10 {
            let (status, body) = h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW)));
            assert_eq!((status, code_of(&body)), (400, "IDPCommunicationError"));
        }
        assert_eq!(idp.attempts.get(), 1);
        idp.up.set(true);
        h.clock.advance_secs(REFETCH_AFTER);
        assert_eq!(h.exchange(&sts, &idp, &token(&test_key(), good_claims(NOW))).0, 200);
        assert_eq!(idp.attempts.get(), 2);
    }

    #[test]
    fn hostile_tokens_get_the_right_codes_and_never_appear_in_answers_or_logs() {
        let h = Harness::new();
        let (sts, idp) = (h.sts(), FakeIdp::new(300));
        let key = test_key();
        let good = token(&key, good_claims(NOW));
        let (head, rest) = good.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let tampered_payload = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": ISSUER, "sub": "mallory", "aud": "client-a", "iat": NOW, "exp": NOW + 300})
                .to_string(),
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            rest.split('.').next().unwrap()
        );
        let cases = [
            (format!("{head}.{tampered_payload}.{sig}"), "InvalidIdentityToken"),
            (none, "InvalidIdentityToken"),
            (
                token(
                    &key,
                    serde_json::json!({"iss": "https://evil.example", "sub": "a", "aud": "client-a", "iat": NOW, "exp": NOW + 300}),
                ),
                "InvalidIdentityToken",
            ),
            (
                token(
                    &key,
                    serde_json::json!({"iss": ISSUER, "sub": "a", "aud": "client-z", "iat": NOW, "exp": NOW + 300}),
                ),
                "IDPRejectedClaim",
            ),
            (
                token(
                    &key,
                    serde_json::json!({"iss": ISSUER, "sub": "a", "aud": "client-a", "iat": NOW - 900, "exp": NOW - 61}),
                ),
                "ExpiredTokenException",
            ),
            ("not-a-token".to_owned(), "InvalidIdentityToken"),
        ];
        for (tok, want) in &cases {
            let (_, body) = h.exchange(&sts, &idp, tok);
            assert_eq!(code_of(&body), *want, "{body}");
            assert!(!body.contains(tok.as_str()));
        }
        let logged = serde_json::to_string(&*h.log.0.borrow()).unwrap();
        for (tok, _) in &cases {
            assert!(!logged.contains(tok.as_str()));
        }
        // The refused audience is named in its log line, so the operator sees what to accept.
        let rejected = h
            .log
            .0
            .borrow()
            .iter()
            .find(|l| l["outcome"] == "IDPRejectedClaim")
            .cloned();
        assert_eq!(rejected.unwrap()["audience"], "client-z");
    }
}
