//! The web identity token, from the compact JWS through the claim checks of the STS
//! (`sts::verify`), with a fixed clock and a fixed key set: two trusted issuers (each with its
//! own audiences) whose discovery documents and JWK set are served from memory, both with the
//! 2048-bit test key of `tests/keys/`.
//!
//! The input is a token's payload: arbitrary bytes, meant to be claims JSON. Then:
//! - the claim checks run on it as `verify` runs them after the signature (the claimed issuer
//!   from the unverified payload, then `check_claims` at the fixed time). Claims that pass hold
//!   a trusted `iss`, a `sub` that is the identity's subject (and not `anonymous`), an `aud`
//!   that is or contains the identity's audience (one the issuer may present; with several,
//!   `azp` names it), an `exp` not passed and an `iat` not in the future (60 s leeway);
//! - tokens nobody signed with the key never verify, whatever the payload: `alg` `none` with or
//!   without a signature, HS256 keyed with the public key (the key-confusion attack), an RS256
//!   token whose signature is not the key's, one without a signature, one naming another `kid`.
//!   Each is refused as `InvalidIdentityToken`;
//! - for one payload in 256 (those whose SHA-256 begins with a zero byte, so a replay picks
//!   the same ones), the payload is signed with the key and the whole `verify` must give what
//!   the claim checks gave: the same identity, or an error with the same code. Under
//!   libFuzzer's comparison hooks an RSA-2048 signature takes some 40 ms (the bignum loops
//!   compare at every step): signing one payload in 16 still left 75% of the time in it and
//!   about 300 runs/s. The claim checks do not depend on the signature, so a sample is
//!   enough for the glue between them.

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures_util::FutureExt;
use hmac::{Hmac, Mac};
use http::{Request, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::identity::{Audience, Issuer};
use crate::oidc::jws::UnverifiedJws;
use crate::oidc::keys::{Kid, ProviderKey};
use crate::oidc::signer::RsaSigner;
use crate::platform::{FetchError, HttpClient};
use crate::sts::error::StsError;
use crate::sts::idp_keys::KeyCache;
use crate::sts::verify::{self, TrustPolicy, TrustedIssuer, VerifiedIdentity};

const ISSUER: &str = "https://idp.example";
const CI_ISSUER: &str = "https://ci.example";
const NOW: u64 = 1_800_000_000;
const KID: &str = "test-1";
/// The project's 2048-bit test key (`tests/keys/README.md`).
const KEY_PEM: &str = include_str!("../../tests/keys/test-rsa-2048.pem");

/// The key, its signer and the JWK set document, made once per process.
struct Keys {
    signer: RsaSigner,
    jwks: Vec<u8>,
}

thread_local! {
    static KEYS: RefCell<Option<std::rc::Rc<Keys>>> = const { RefCell::new(None) };
}

fn keys() -> Option<std::rc::Rc<Keys>> {
    KEYS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let key = ProviderKey::from_pkcs8_pem(Kid::parse(KID)?, KEY_PEM).ok()?;
            let jwks = json!({ "keys": [key.jwk()] }).to_string().into_bytes();
            *slot = Some(std::rc::Rc::new(Keys {
                signer: RsaSigner::new(&key),
                jwks,
            }));
        }
        slot.clone()
    })
}

fn policy() -> Option<TrustPolicy> {
    let issuer = |iss: &str, auds: &[&str]| -> Option<TrustedIssuer> {
        Some(TrustedIssuer {
            issuer: Issuer::parse_trusted(iss).ok()?,
            audiences: auds.iter().map(|a| Audience::parse(a)).collect::<Option<_>>()?,
        })
    };
    Some(TrustPolicy {
        issuers: vec![
            issuer(ISSUER, &["client-a", "client-b"])?,
            issuer(CI_ISSUER, &["sts.data.example"])?,
        ],
    })
}

/// Both issuers' discovery documents and the one JWK set, from memory.
struct Idp<'k> {
    jwks: &'k [u8],
}

impl HttpClient for Idp<'_> {
    async fn fetch(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
        let url = req.uri().to_string();
        let body = if let Some(issuer) = url.strip_suffix("/.well-known/openid-configuration") {
            json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") })
                .to_string()
                .into_bytes()
        } else if url.ends_with("/jwks") {
            self.jwks.to_vec()
        } else {
            return Err(FetchError::Network);
        };
        Response::builder()
            .header("cache-control", "max-age=600")
            .body(body)
            .map_err(|_| FetchError::Network)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload` for a JSON header.
fn signing_input(header: &Value, payload: &[u8]) -> String {
    format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload))
}

/// The whole `sts::verify`. Each input gets a fresh key cache, so every input starts alike.
fn verify_token(
    token: &str,
    policy: &TrustPolicy,
    cache: &KeyCache,
    jwks: &[u8],
) -> Result<VerifiedIdentity, StsError> {
    let clock = super::At(NOW);
    let idp = Idp { jwks };
    let jws = verify::parse_token(token)?;
    let trusted = verify::claimed_issuer(&jws, policy)?;
    verify::verify(jws, trusted, cache, &idp, &clock)
        .now_or_never()
        .unwrap_or_else(|| panic!("verification waited on I/O that answers at once"))
}

/// The claim checks as `verify` runs them once the signature holds.
fn check_claims(payload: &[u8], policy: &TrustPolicy) -> Result<VerifiedIdentity, StsError> {
    // A token with this payload and any RS256 signature: what `verify` parses first.
    let token = format!("{}.", signing_input(&json!({"alg": "RS256", "kid": KID}), payload));
    let jws = UnverifiedJws::parse(&token).map_err(|e| StsError::invalid_token(e.to_string()))?;
    let trusted = verify::claimed_issuer(&jws, policy)?;
    verify::check_claims(verify::parse_claims(payload)?, trusted, NOW)
}

pub fn jwt(payload: &[u8]) {
    let (Some(keys), Some(policy)) = (keys(), policy()) else {
        panic!("the fixed key set does not load");
    };
    let checked = check_claims(payload, &policy);
    if let Ok(identity) = &checked {
        claims_hold(payload, identity, &policy);
    }

    // Tokens the key never signed.
    let digest = Sha256::digest(payload);
    let public_key = b64(&keys.jwks);
    let mut forged = vec![
        format!("{}.", signing_input(&json!({"alg": "none"}), payload)),
        format!(
            "{}.{}",
            signing_input(&json!({"alg": "none", "kid": KID}), payload),
            b64(&digest)
        ),
        format!("{}.", signing_input(&json!({"alg": "RS256", "kid": KID}), payload)),
        format!(
            "{}.{}",
            signing_input(&json!({"alg": "RS256", "kid": KID}), payload),
            b64(&digest.repeat(8))
        ),
        format!(
            "{}.{}",
            signing_input(&json!({"alg": "RS256", "kid": "other"}), payload),
            b64(&digest.repeat(8))
        ),
    ];
    for key in [keys.jwks.as_slice(), public_key.as_bytes()] {
        let input = signing_input(&json!({"alg": "HS256", "kid": KID}), payload);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(input.as_bytes());
        forged.push(format!("{input}.{}", b64(&mac.finalize().into_bytes())));
    }
    let cache = KeyCache::default();
    for token in &forged {
        match verify_token(token, &policy, &cache, &keys.jwks) {
            Err(StsError::InvalidIdentityToken { .. }) => {}
            other => panic!("a token the key never signed gave {other:?}: {token}"),
        }
    }

    // Signed with the key: the whole path agrees with the claim checks.
    if digest.first() == Some(&0) {
        let input = signing_input(&json!({"alg": "RS256", "kid": KID, "typ": "JWT"}), payload);
        let Ok(signature) = keys.signer.sign_now(input.as_bytes()) else {
            panic!("the test key does not sign");
        };
        let token = format!("{input}.{}", b64(&signature));
        let whole = verify_token(&token, &policy, &cache, &keys.jwks);
        match (&whole, &checked) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.wire(), b.wire(), "{a:?} / {b:?}"),
            _ => panic!("verify gave {whole:?}, the claim checks {checked:?}"),
        }
    }
}

/// What accepted claims must hold, read from the payload independently of the checks.
fn claims_hold(payload: &[u8], identity: &VerifiedIdentity, policy: &TrustPolicy) {
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(payload) else {
        panic!("accepted claims are not a JSON object");
    };
    let iss = claims.get("iss").and_then(Value::as_str);
    assert_eq!(iss, Some(identity.issuer().as_str()));
    let Some(trusted) = policy.issuers.iter().find(|t| Some(t.issuer.as_str()) == iss) else {
        panic!("accepted an untrusted issuer {iss:?}");
    };
    assert!(
        trusted.audiences.contains(identity.audience()),
        "{:?} is not an audience of {iss:?}",
        identity.audience()
    );
    let sub = claims.get("sub").and_then(Value::as_str);
    assert_eq!(sub, Some(identity.subject().as_str()));
    assert_ne!(sub, Some(crate::access::upstream::ANONYMOUS_SUBJECT));
    let audience = identity.audience().as_str();
    match claims.get("aud") {
        Some(Value::String(aud)) => assert_eq!(aud, audience),
        Some(Value::Array(auds)) => {
            assert!(auds.iter().all(Value::is_string), "aud {auds:?} holds a non-string");
            assert!(auds.iter().any(|a| a == audience), "aud {auds:?} lacks {audience}");
            if auds.len() > 1 {
                assert_eq!(claims.get("azp").and_then(Value::as_str), Some(audience));
            }
        }
        other => panic!("accepted aud {other:?}"),
    }
    // NumericDates: fractions are dropped (hence the extra second); `null` is no claim.
    let now = NOW as f64;
    let date = |name: &str| claims.get(name).filter(|v| !v.is_null()).map(|v| v.as_f64());
    let exp = date("exp")
        .flatten()
        .unwrap_or_else(|| panic!("accepted claims without a numeric exp"));
    assert!(exp >= 0.0 && now <= exp + 61.0, "accepted exp {exp}");
    let iat = date("iat")
        .flatten()
        .unwrap_or_else(|| panic!("accepted claims without a numeric iat"));
    assert!((0.0..=now + 61.0).contains(&iat), "accepted iat {iat}");
    if let Some(nbf) = date("nbf") {
        let nbf = nbf.unwrap_or_else(|| panic!("accepted a nbf that is not a number"));
        assert!((0.0..=now + 61.0).contains(&nbf), "accepted nbf {nbf}");
    }
}
