//! What the CLI reads from an ID token without verifying its signature: when it expires
//! (to refresh in time), who it names (for `osp status`), and the checks a client makes on
//! a token it received straight from the token endpoint (OpenID Connect Core §3.1.3.7:
//! `iss`, `aud`, `nonce`). The signature is verified where it matters, by the deployment's
//! `/.sts`; nothing here grants anything.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the ID token is not a JWT")]
    NotAJwt,
    #[error("the ID token's claims are not readable: {0}")]
    Unreadable(String),
    #[error("the ID token names another issuer ({0})")]
    Issuer(String),
    #[error("the ID token is not for this client id")]
    Audience,
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
}

/// The claims read, unverified.
#[derive(Debug, Clone, Deserialize)]
pub struct UnverifiedClaims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "audiences")]
    pub aud: Vec<String>,
    /// Seconds since the epoch.
    pub exp: u64,
    pub nonce: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

fn audiences<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(a) => vec![a],
        OneOrMany::Many(a) => a,
    })
}

impl UnverifiedClaims {
    /// The payload of a compact JWS, not verified.
    pub fn read(jwt: &str) -> Result<Self, ClaimsError> {
        let mut parts = jwt.split('.');
        let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(ClaimsError::NotAJwt);
        };
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| ClaimsError::NotAJwt)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClaimsError::Unreadable(oidc_sts_proxy::oauth::display_text(&e.to_string())))
    }

    /// OpenID Connect Core §3.1.3.7 steps 2 and 3 (issuer and audience) and 11 (nonce, when
    /// the request carried one).
    pub fn check(&self, issuer: &str, client_id: &str, nonce: Option<&str>) -> Result<(), ClaimsError> {
        if self.iss != issuer {
            return Err(ClaimsError::Issuer(oidc_sts_proxy::oauth::display_text(&self.iss)));
        }
        if !self.aud.iter().any(|a| a == client_id) {
            return Err(ClaimsError::Audience);
        }
        if let Some(expected) = nonce {
            if self.nonce.as_deref() != Some(expected) {
                return Err(ClaimsError::Nonce);
            }
        }
        Ok(())
    }

    /// Who, for a person: `alice (Alice Example <alice@example.org>)`.
    pub fn who(&self) -> String {
        let sub = oidc_sts_proxy::oauth::display_text(&self.sub);
        match (&self.name, &self.email) {
            (Some(n), Some(e)) => format!(
                "{sub} ({} <{}>)",
                oidc_sts_proxy::oauth::display_text(n),
                oidc_sts_proxy::oauth::display_text(e)
            ),
            (Some(x), None) | (None, Some(x)) => format!("{sub} ({})", oidc_sts_proxy::oauth::display_text(x)),
            (None, None) => sub,
        }
    }
}

#[cfg(test)]
pub fn unsigned_jwt(claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        unsigned_jwt(&serde_json::json!({
            "iss": "https://idp.example", "sub": "alice", "aud": ["osp", "other"], "exp": 2000,
            "nonce": "n1", "name": "Alice", "email": "alice@example.org"
        }))
    }

    #[test]
    fn claims_are_read_and_checked_like_a_client_checks_them() {
        let c = UnverifiedClaims::read(&token()).unwrap();
        assert_eq!((c.sub.as_str(), c.exp), ("alice", 2000));
        assert_eq!(c.who(), "alice (Alice <alice@example.org>)");
        assert!(c.check("https://idp.example", "osp", Some("n1")).is_ok());
        assert!(c.check("https://idp.example", "osp", None).is_ok());
        assert_eq!(
            c.check("https://other.example", "osp", None),
            Err(ClaimsError::Issuer("https://idp.example".into()))
        );
        assert_eq!(c.check("https://idp.example", "cli", None), Err(ClaimsError::Audience));
        assert_eq!(
            c.check("https://idp.example", "osp", Some("n2")),
            Err(ClaimsError::Nonce)
        );
        let single = unsigned_jwt(&serde_json::json!({"iss": "i", "sub": "s", "aud": "osp", "exp": 1}));
        assert_eq!(UnverifiedClaims::read(&single).unwrap().aud, vec!["osp"]);
    }

    #[test]
    fn what_is_not_a_jwt_with_claims_is_refused() {
        for bad in ["", "a.b", "a.b.c.d", "a.!!!.c"] {
            assert_eq!(UnverifiedClaims::read(bad).unwrap_err(), ClaimsError::NotAJwt, "{bad}");
        }
        let no_exp = unsigned_jwt(&serde_json::json!({"iss": "i", "sub": "s", "aud": "a"}));
        assert!(matches!(
            UnverifiedClaims::read(&no_exp),
            Err(ClaimsError::Unreadable(_))
        ));
    }
}
