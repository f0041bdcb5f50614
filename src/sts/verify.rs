//! Verifying the web identity token: an OpenID Connect ID token from a trusted issuer
//! (OpenID Connect Core 1.0 §3.1.3.7, RFC 8725).

use serde::Deserialize;
use serde_json::Value;

use crate::identity::{Audience, Caller, Issuer, Subject};
use crate::oidc::jws::{JwsError, UnverifiedJws};
use crate::platform::{Clock, HttpClient};
use crate::sts::error::StsError;
use crate::sts::idp_keys::{IdpError, KeyCache};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

/// Whom the exchange trusts: each issuer with the audiences (client ids) it may present.
#[derive(Debug, Clone)]
pub(crate) struct TrustPolicy {
    pub(crate) issuers: Vec<TrustedIssuer>,
}

/// One trusted issuer (`AUTH_ISSUER`) and its accepted audiences (`AUTH_AUDIENCE`).
#[derive(Debug, Clone)]
pub(crate) struct TrustedIssuer {
    pub(crate) issuer: Issuer,
    pub(crate) audiences: Vec<Audience>,
}

impl TrustPolicy {
    /// Every issuer, trusted for the same audiences (the comma-separated `AUTH_AUDIENCE`).
    pub(crate) fn same_audiences(issuers: Vec<Issuer>, audiences: Vec<Audience>) -> Self {
        Self {
            issuers: issuers
                .into_iter()
                .map(|issuer| TrustedIssuer {
                    issuer,
                    audiences: audiences.clone(),
                })
                .collect(),
        }
    }
}

/// An identity whose token passed every check. Only [`verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedIdentity {
    issuer: Issuer,
    subject: Subject,
    audience: Audience,
}

impl VerifiedIdentity {
    pub(crate) fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    pub(crate) fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The accepted audience the token was issued for.
    pub(crate) fn audience(&self) -> &Audience {
        &self.audience
    }

    /// The caller, (issuer, subject).
    pub(crate) fn caller(&self) -> Caller {
        Caller::new(self.issuer.clone(), self.subject.clone())
    }
}

#[derive(Deserialize)]
struct IssOnly {
    iss: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct Claims {
    iss: Option<Value>,
    sub: Option<Value>,
    aud: Option<Value>,
    azp: Option<Value>,
    exp: Option<Value>,
    iat: Option<Value>,
    nbf: Option<Value>,
}

fn jws_error(e: JwsError) -> StsError {
    StsError::invalid_token(e.to_string())
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number, fractions dropped.
fn numeric_date(v: &Option<Value>, name: &str) -> Result<Option<u64>, StsError> {
    match v {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f >= 0.0 && f.is_finite() => Ok(Some(f as u64)),
            _ => Err(StsError::invalid_token(format!("claim {name} is not a valid date"))),
        },
        Some(_) => Err(StsError::invalid_token(format!("claim {name} is not a number"))),
    }
}

/// Which trusted issuer the (still unverified) token claims to come from.
pub(crate) fn claimed_issuer<'p>(
    jws: &UnverifiedJws<'_>,
    policy: &'p TrustPolicy,
) -> Result<&'p TrustedIssuer, StsError> {
    let claims: IssOnly = serde_json::from_slice(jws.unverified_payload())
        .map_err(|_| StsError::invalid_token("token payload is not a JSON object"))?;
    let Some(Value::String(iss)) = claims.iss else {
        return Err(StsError::invalid_token("token has no iss claim"));
    };
    // §3.1.3.7 step 2: the issuer must match exactly.
    policy
        .issuers
        .iter()
        .find(|i| i.issuer.as_str() == iss)
        .ok_or_else(|| StsError::invalid_token("token issuer is not trusted by this service"))
}

/// The token's `aud` as it claims it (a string, or an array joined with `,`), for the log
/// line of a refused exchange: which client the token was for says what to configure.
fn claimed_audience(aud: &Option<Value>) -> Option<String> {
    match aud.as_ref()? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

/// The web identity token as a compact JWS (RFC 7515 §7.1), parsed once per exchange:
/// [`claimed_issuer`] and [`verify`] read it.
pub(crate) fn parse_token(token: &str) -> Result<UnverifiedJws<'_>, StsError> {
    UnverifiedJws::parse(token).map_err(jws_error)
}

/// Verifies the signature with `trusted`'s keys (from `keys`, fetched as needed), then the
/// claims.
pub(crate) async fn verify<H: HttpClient>(
    jws: UnverifiedJws<'_>,
    trusted: &TrustedIssuer,
    keys: &KeyCache,
    http: &H,
    clock: &dyn Clock,
) -> Result<VerifiedIdentity, StsError> {
    let key = keys
        .key(&trusted.issuer, jws.header.kid.as_deref(), http, clock)
        .await
        .map_err(|e| match e {
            IdpError::UnknownKid => StsError::invalid_token(e.to_string()),
            other => StsError::IdpCommunication {
                reason: other.to_string(),
            },
        })?;
    // §3.1.3.7 step 6 / RFC 7515 §5.2: the signature, before any claim is trusted.
    let payload = jws.verify(&key).map_err(jws_error)?;
    check_claims(parse_claims(&payload)?, trusted, clock.now_secs())
}

/// The claims of a verified payload: a JSON object (RFC 7519 §7.2 step 10), in UTF-8 as all
/// JSON is (RFC 8259 §8.1). serde_json skips a member it does not read without checking its
/// string, so the text is checked first.
pub(crate) fn parse_claims(payload: &[u8]) -> Result<Claims, StsError> {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| StsError::invalid_token("token payload is not a JSON object"))
}

pub(crate) fn check_claims(c: Claims, trusted: &TrustedIssuer, now: u64) -> Result<VerifiedIdentity, StsError> {
    let issuer = &trusted.issuer;
    let rejected = |reason: &str| StsError::IdpRejectedClaim {
        reason: reason.to_owned(),
        audience: claimed_audience(&c.aud),
    };
    // Step 2: iss, now from the verified payload.
    if c.iss.as_ref().and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(StsError::invalid_token("token issuer is not trusted by this service"));
    }
    // Step 9: exp is required and must not have passed (with leeway).
    let exp = numeric_date(&c.exp, "exp")?.ok_or_else(|| StsError::invalid_token("token has no exp claim"))?;
    if now > exp.saturating_add(LEEWAY_SECS) {
        return Err(StsError::ExpiredToken);
    }
    // Step 10: iat is required; one from the future is refused.
    let iat = numeric_date(&c.iat, "iat")?.ok_or_else(|| StsError::invalid_token("token has no iat claim"))?;
    if iat > now + LEEWAY_SECS {
        return Err(StsError::invalid_token("token was issued in the future"));
    }
    // RFC 7519 §4.1.5: nbf.
    if numeric_date(&c.nbf, "nbf")?.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
        return Err(StsError::invalid_token("token is not valid yet (nbf)"));
    }
    // Core §2: sub is required, at most 255 ASCII characters.
    let sub = match &c.sub {
        Some(Value::String(s)) => Subject::parse(s).ok_or_else(|| rejected("token sub claim is not usable"))?,
        _ => return Err(StsError::invalid_token("token has no sub claim")),
    };
    // "anonymous" is what the upstream API is told for unsigned requests: never a real caller.
    if sub.as_str() == crate::access::upstream::ANONYMOUS_SUBJECT {
        return Err(rejected("the subject \"anonymous\" is reserved"));
    }
    // Steps 3-5: aud holds a client id accepted from this issuer; with several audiences,
    // azp must be one.
    let auds: Vec<&str> = match &c.aud {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| StsError::invalid_token("aud claim is malformed"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(StsError::invalid_token("token has no aud claim")),
    };
    let accepted = |s: &str| trusted.audiences.iter().find(|a| a.as_str() == s);
    let azp = match &c.azp {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(StsError::invalid_token("azp claim is malformed")),
    };
    let audience = match azp {
        Some(azp) => {
            let a = accepted(azp).ok_or_else(|| rejected("token azp is not an accepted client"))?;
            if !auds.contains(&azp) {
                return Err(rejected("token azp is not among its audiences"));
            }
            a
        }
        None if auds.len() > 1 => return Err(rejected("token has several audiences but no azp claim")),
        None => auds
            .iter()
            .find_map(|a| accepted(a))
            .ok_or_else(|| rejected("token audience is not accepted by this service"))?,
    };
    Ok(VerifiedIdentity {
        issuer: issuer.clone(),
        subject: sub,
        audience: audience.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn policy() -> TrustPolicy {
        TrustPolicy::same_audiences(
            vec![Issuer::parse_trusted("https://idp.example").unwrap()],
            vec![
                Audience::parse("client-a").unwrap(),
                Audience::parse("client-b").unwrap(),
            ],
        )
    }

    fn check(overrides: Value) -> Result<VerifiedIdentity, StsError> {
        let mut claims =
            json!({"iss": "https://idp.example", "sub": "alice", "aud": "client-a", "iat": NOW, "exp": NOW + 300});
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        let c: Claims = serde_json::from_value(claims).unwrap();
        let p = policy();
        check_claims(c, &p.issuers[0], NOW)
    }

    fn code(overrides: Value) -> &'static str {
        check(overrides).unwrap_err().wire().0
    }

    #[test]
    fn a_good_token_yields_the_identity() {
        let id = check(json!({})).unwrap();
        assert_eq!((id.subject().as_str(), id.audience().as_str()), ("alice", "client-a"));
    }

    #[test]
    fn a_payload_that_is_not_utf8_is_refused_even_in_a_member_nobody_reads() {
        let good = br#"{"iss": "https://idp.example", "sub": "alice", "aud": "client-a", "jti": "seed"}"#;
        assert!(parse_claims(good).is_ok());
        let bad = good
            .iter()
            .map(|&b| if b == b'e' { 0xc3 } else { b })
            .collect::<Vec<u8>>();
        let jti = br#""jti": "s"#;
        let mut one_byte = good.to_vec();
        let at = good.windows(jti.len()).position(|w| w == jti).unwrap() + jti.len();
        one_byte[at] = 0xc3;
        for payload in [bad, one_byte] {
            let err = parse_claims(&payload).err().unwrap();
            assert_eq!(err.wire().0, "InvalidIdentityToken");
        }
    }

    #[test]
    fn expiry_honours_the_leeway() {
        assert!(check(json!({"exp": NOW - 59})).is_ok());
        assert_eq!(code(json!({"exp": NOW - 61})), "ExpiredTokenException");
        assert_eq!(code(json!({"exp": null})), "InvalidIdentityToken");
        assert_eq!(code(json!({"exp": "soon"})), "InvalidIdentityToken");
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused() {
        assert!(check(json!({"nbf": NOW + 59})).is_ok());
        assert_eq!(code(json!({"nbf": NOW + 120})), "InvalidIdentityToken");
        assert_eq!(code(json!({"iat": NOW + 120})), "InvalidIdentityToken");
        assert_eq!(code(json!({"iat": null})), "InvalidIdentityToken");
    }

    #[test]
    fn subject_and_issuer_are_required() {
        assert_eq!(code(json!({"sub": null})), "InvalidIdentityToken");
        assert_eq!(code(json!({"sub": ""})), "IDPRejectedClaim");
        assert_eq!(code(json!({"sub": "anonymous"})), "IDPRejectedClaim");
        assert_eq!(code(json!({"iss": "https://idp.example/"})), "InvalidIdentityToken");
    }

    #[test]
    fn audience_rules() {
        assert_eq!(code(json!({"aud": "other"})), "IDPRejectedClaim");
        assert_eq!(code(json!({"aud": null})), "InvalidIdentityToken");
        assert_eq!(code(json!({"aud": []})), "InvalidIdentityToken");
        assert!(check(json!({"aud": ["client-b"]})).is_ok());
        assert_eq!(code(json!({"aud": ["client-a", "other"]})), "IDPRejectedClaim");
        let id = check(json!({"aud": ["other", "client-b"], "azp": "client-b"})).unwrap();
        assert_eq!(id.audience().as_str(), "client-b");
        assert_eq!(
            code(json!({"aud": ["client-a", "other"], "azp": "other"})),
            "IDPRejectedClaim"
        );
        assert_eq!(code(json!({"aud": "client-a", "azp": "client-b"})), "IDPRejectedClaim");
    }

    #[test]
    fn a_rejected_claim_names_the_tokens_audience_for_the_log() {
        let audience = |overrides: Value| match check(overrides) {
            Err(StsError::IdpRejectedClaim { audience, .. }) => audience,
            other => panic!("{other:?}"),
        };
        assert_eq!(audience(json!({"aud": "other"})), Some("other".into()));
        assert_eq!(audience(json!({"aud": ["x", "y"]})), Some("x,y".into()));
        assert_eq!(audience(json!({"sub": "anonymous"})), Some("client-a".into()));
    }

    #[test]
    fn an_issuer_may_present_only_its_own_audiences() {
        let web = TrustedIssuer {
            issuer: Issuer::parse_trusted("https://idp.example").unwrap(),
            audiences: vec![Audience::parse("web").unwrap()],
        };
        let ci = TrustedIssuer {
            issuer: Issuer::parse_trusted("https://ci.example").unwrap(),
            audiences: vec![Audience::parse("sts.data.example").unwrap()],
        };
        let claims = |iss: &str, aud: &str| -> Claims {
            serde_json::from_value(json!({"iss": iss, "sub": "alice", "aud": aud, "iat": NOW, "exp": NOW + 300}))
                .unwrap()
        };
        assert!(check_claims(claims("https://idp.example", "web"), &web, NOW).is_ok());
        assert!(check_claims(claims("https://ci.example", "sts.data.example"), &ci, NOW).is_ok());
        let err = check_claims(claims("https://ci.example", "web"), &ci, NOW).unwrap_err();
        assert_eq!(err.wire().0, "IDPRejectedClaim");
        let err = check_claims(claims("https://idp.example", "sts.data.example"), &web, NOW).unwrap_err();
        assert_eq!(err.wire().0, "IDPRejectedClaim");
    }
}
