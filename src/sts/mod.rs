//! The security token service: AWS `AssumeRoleWithWebIdentity` at `/.sts`.
//!
//! | module | what |
//! |---|---|
//! | [`request`] | parameters and their validation |
//! | [`verify`] | the ID token: signature, issuer, audience, times |
//! | [`idp_keys`] | the IdPs' keys: discovery, JWKS, cache |
//! | [`seal`] | the self-contained session token (AES-256-GCM) |
//! | [`credentials`] | access key ids, secrets, request ids |
//! | [`response`] | AWS's XML, success and error |
//! | [`error`] | errors and their one mapping to AWS codes |

pub mod credentials;
pub mod error;
pub mod idp_keys;
pub mod request;
pub mod response;
pub mod seal;
pub mod verify;

use http::{Request, Response};
use sha2::{Digest, Sha256};

use crate::platform::{HttpClient, Io};
use crate::sts::error::StsError;
use crate::sts::idp_keys::KeyCache;
use crate::sts::seal::{SessionClaims, SessionKeys};
use crate::sts::verify::TrustPolicy;
use crate::web::Body;

pub const STS_PATH: &str = "/.sts";
/// The account id shown in ARNs.
pub const ACCOUNT_ID: &str = "000000000000";

/// The STS's settings.
#[derive(Debug, Clone)]
pub struct StsConfig {
    /// `AUTH_ISSUER` and `AUTH_AUDIENCE`.
    pub trust: TrustPolicy,
    /// `STS_MAX_SESSION_DURATION_SECS`. Default 3600.
    pub max_duration_secs: u32,
}

/// The STS as configured: off (no audience), broken, or serving.
pub enum StsState<'c> {
    Off,
    Misconfigured(String),
    On {
        config: &'c StsConfig,
        keys: &'c SessionKeys,
    },
}

pub struct Sts<'c> {
    state: StsState<'c>,
    idp_keys: KeyCache,
}

/// What one exchange leaves for its log line.
#[derive(Default)]
struct Outcome {
    issuer: Option<String>,
    audience: Option<String>,
    subject_hash: Option<String>,
}

impl<'c> Sts<'c> {
    pub fn new(state: StsState<'c>) -> Self {
        Self {
            state,
            idp_keys: KeyCache::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        matches!(self.state, StsState::On { .. })
    }

    pub fn is_misconfigured(&self) -> bool {
        matches!(self.state, StsState::Misconfigured(_))
    }

    /// Answers one request to `/.sts` and logs one line about it.
    pub async fn handle<H: HttpClient>(&self, req: &Request<Vec<u8>>, io: &Io<'_, H>) -> Response<Body> {
        let started = io.clock.now_millis();
        let request_id = credentials::request_id(io.random);
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
            // The subject is personal data: only a pseudonym goes to the log.
            "subject_sha256": outcome.subject_hash,
            "outcome": code,
            "reason": reason,
            "ms": io.clock.now_millis().saturating_sub(started),
        }));
        match result {
            Ok(res) => res,
            Err(e) => response::error(&e, &request_id),
        }
    }

    async fn exchange<H: HttpClient>(
        &self,
        req: &Request<Vec<u8>>,
        io: &Io<'_, H>,
        request_id: &str,
        outcome: &mut Outcome,
    ) -> Result<Response<Body>, StsError> {
        let (config, keys) = match &self.state {
            StsState::Off => return Err(StsError::NotImplemented),
            StsState::Misconfigured(reason) => return Err(StsError::Misconfigured { reason: reason.clone() }),
            StsState::On { config, keys } => (*config, *keys),
        };
        let params = request::parse(req, config.max_duration_secs)?;
        let identity = verify::verify(
            params.web_identity_token.expose_secret(),
            &config.trust,
            &self.idp_keys,
            io.http,
            io.clock,
        )
        .await;
        let identity = identity?;
        outcome.issuer = Some(identity.issuer.as_str().to_owned());
        outcome.audience = Some(identity.audience.as_str().to_owned());
        outcome.subject_hash = Some(hex::encode(&Sha256::digest(identity.subject.as_str().as_bytes())[..8]));

        let now = io.clock.now_secs();
        let expires = now + u64::from(params.duration_secs);
        let access_key_id = credentials::access_key_id(io.random);
        let claims = SessionClaims {
            sub: identity.subject.as_str().to_owned(),
            iss: identity.issuer.as_str().to_owned(),
            aud: identity.audience.as_str().to_owned(),
            role: params.role.name().to_owned(),
            akid: access_key_id.clone(),
            secret: credentials::secret_access_key(io.random),
            exp: expires,
            scope: params.policy.clone(),
        };
        let session_token = keys.seal(&claims, io.random);
        let role = params.role.name();
        Ok(response::success(&response::Issued {
            subject: &claims.sub,
            audience: &claims.aud,
            provider: &claims.iss,
            assumed_role_arn: format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{}", params.session_name),
            assumed_role_id: format!("{}:{}", credentials::role_id(role), params.session_name),
            access_key_id: &access_key_id,
            secret_access_key: &claims.secret,
            session_token: &session_token,
            expiration: crate::time::iso8601(expires),
            request_id,
        }))
    }
}
