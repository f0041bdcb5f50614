//! Sealed session tokens: self-contained, server-stateless, AES-256-GCM.
//!
//! ```text
//! token = base64url( version:1 | key_id:4 | nonce:12 | AES-256-GCM(key, nonce, aad = version | key_id, claims) )
//! ```
//! The version byte and key id travel in clear and are authenticated as associated
//! data. The key id (4 bytes of a SHA-256 over the key) picks the current or previous
//! key, so rotating `SESSION_TOKEN_KEY` logs nobody out. Opening checks version, key,
//! tag and expiry in that order; the JSON parser only ever sees authenticated bytes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::{Audience, Issuer, Subject};
use crate::platform::Random;
use crate::policy::SessionPolicy;
use crate::secret::{SecretBytes, SecretString};

pub(crate) const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + KEY_ID_LEN;
/// Longest token accepted for opening (the largest sealable claims fit well inside).
const MAX_TOKEN_CHARS: usize = 8192;

/// What a session token carries. The JSON names and forms are the wire format of every token
/// already issued; the checked types are checked again when a token is opened.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionClaims {
    pub(crate) sub: Subject,
    pub(crate) iss: Issuer,
    pub(crate) aud: Audience,
    pub(crate) role: String,
    /// The access key id the credentials were issued with.
    pub(crate) akid: String,
    /// The secret access key, needed to verify the holder's SigV4 signatures.
    #[serde(with = "sealed_secret")]
    pub(crate) secret: SecretString,
    /// Expiry, seconds since the epoch.
    pub(crate) exp: u64,
    /// The inline session policy given to the STS, if any, in its normalised form (see
    /// `policy::SessionPolicy`; tokens sealed before that hold the document's text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<SessionPolicy>,
}

impl std::fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionClaims")
            .field("iss", &self.iss)
            .field("aud", &self.aud)
            .field("role", &self.role)
            .field("akid", &self.akid)
            .field("secret", &"[redacted]")
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

impl SessionClaims {
    /// The caller the session was issued to.
    pub(crate) fn caller(&self) -> crate::identity::Caller {
        crate::identity::Caller::new(self.iss.clone(), self.sub.clone())
    }
}

/// Tests compare whole claims; the secret in constant time, like any secret.
#[cfg(test)]
impl PartialEq for SessionClaims {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.sub,
            &self.iss,
            &self.aud,
            &self.role,
            &self.akid,
            self.exp,
            &self.scope,
        ) == (
            &other.sub,
            &other.iss,
            &other.aud,
            &other.role,
            &other.akid,
            other.exp,
            &other.scope,
        ) && crate::secret::SecretBytes::new(self.secret.expose_secret().as_bytes().to_vec())
            .ct_eq(other.secret.expose_secret().as_bytes())
    }
}

/// The secret access key inside the sealed (encrypted) claims: the one place it is written out.
mod sealed_secret {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::SecretString;

    pub(super) fn serialize<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secret.expose_secret())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
        String::deserialize(deserializer).map(SecretString::new)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("session token is malformed")]
    Malformed,
    #[error("session token version is not supported")]
    UnknownVersion,
    #[error("session token was sealed with a key this deployment does not hold")]
    UnknownKey,
    #[error("session token failed authentication")]
    Tampered,
    #[error("session token has expired")]
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("must be base64 of exactly 32 bytes")]
    BadKey,
}

struct SealKey {
    id: [u8; KEY_ID_LEN],
    key: SecretBytes,
}

impl SealKey {
    fn parse(b64: &str) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::STANDARD;
        let bytes = STANDARD.decode(b64.trim()).map_err(|_| KeyError::BadKey)?;
        if bytes.len() != 32 {
            return Err(KeyError::BadKey);
        }
        let digest = Sha256::new_with_prefix(b"oidc-sts-proxy/session-key-id/v1")
            .chain_update(&bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Ok(Self {
            id,
            key: SecretBytes::new(bytes),
        })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.expose_secret()))
    }
}

/// The current sealing key and, during a rotation, the previous one.
pub(crate) struct SessionKeys {
    current: SealKey,
    previous: Option<SealKey>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys([redacted])")
    }
}

/// Which key a token was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenedWith {
    Current,
    Previous,
}

impl SessionKeys {
    /// `current` and `previous` are base64 of 32 random bytes each. The error says which failed.
    pub(crate) fn new(current: &str, previous: Option<&str>) -> Result<Self, (&'static str, KeyError)> {
        let current = SealKey::parse(current).map_err(|e| ("SESSION_TOKEN_KEY", e))?;
        let previous = previous
            .map(SealKey::parse)
            .transpose()
            .map_err(|e| ("SESSION_TOKEN_KEY_PREVIOUS", e))?;
        Ok(Self { current, previous })
    }

    /// Seals `claims` with the current key and a fresh random nonce.
    pub(crate) fn seal(&self, claims: &SessionClaims, random: &dyn Random) -> String {
        let plaintext = zeroize::Zeroizing::new(serde_json::to_vec(claims).unwrap_or_default());
        self.seal_bytes(&plaintext, random)
    }

    /// Seals `plaintext` (the claims' JSON) with the current key and a fresh random nonce.
    fn seal_bytes(&self, plaintext: &[u8], random: &dyn Random) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut header = [0u8; HEADER_LEN];
        header[0] = VERSION;
        header[1..].copy_from_slice(&self.current.id);
        // Encryption fails only for inputs over 64 GiB.
        let sealed = self
            .current
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &header,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + sealed.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a token: version, key, tag, then expiry against `now` (seconds).
    pub(crate) fn open(&self, token: &str, now: u64) -> Result<(SessionClaims, OpenedWith), OpenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(OpenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        if header[0] != VERSION {
            return Err(OpenError::UnknownVersion);
        }
        let key_id = &header[1..];
        let (key, with) = if key_id == self.current.id {
            (&self.current, OpenedWith::Current)
        } else if let Some(prev) = self.previous.as_ref().filter(|p| key_id == p.id) {
            (prev, OpenedWith::Previous)
        } else {
            return Err(OpenError::UnknownKey);
        };
        let plaintext = key
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: header,
                },
            )
            .map(zeroize::Zeroizing::new)
            .map_err(|_| OpenError::Tampered)?;
        // Authenticated from here on: we sealed these bytes ourselves.
        let claims: SessionClaims = serde_json::from_slice(&plaintext).map_err(|_| OpenError::Malformed)?;
        if now >= claims.exp {
            return Err(OpenError::Expired);
        }
        Ok((claims, with))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::CountingRandom;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn claims() -> SessionClaims {
        SessionClaims {
            sub: Subject::parse("alice").unwrap(),
            iss: Issuer::parse_trusted("https://idp.example").unwrap(),
            aud: Audience::parse("client-1").unwrap(),
            role: "_default".into(),
            akid: "ASIAAAAAAAAAAAAAAAAA".into(),
            secret: SecretString::new("MARKER-SECRET-ACCESS-KEY-0000000000000000".into()),
            exp: 2_000,
            scope: None,
        }
    }

    fn keys(current: &str, previous: Option<&str>) -> SessionKeys {
        SessionKeys::new(current, previous).unwrap()
    }

    #[test]
    fn round_trip_returns_the_claims() {
        let k = keys(K1, None);
        let token = k.seal(&claims(), &CountingRandom::default());
        let (opened, with) = k.open(&token, 1_000).unwrap();
        assert_eq!(opened, claims());
        assert_eq!(with, OpenedWith::Current);
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let k = keys(K1, None);
        let token = k.seal(&claims(), &CountingRandom::default());
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert!(
                    k.open(&URL_SAFE_NO_PAD.encode(&b), 1_000).is_err(),
                    "byte {i} bit {bit:#x}"
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_rejected() {
        let k = keys(K1, None);
        let token = k.seal(&claims(), &CountingRandom::default());
        for n in 0..token.len() {
            assert!(k.open(&token[..n], 1_000).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn wrong_key_is_unknown_and_previous_key_still_opens() {
        let old = keys(K1, None);
        let token = old.seal(&claims(), &CountingRandom::default());
        assert_eq!(keys(K2, None).open(&token, 1_000).unwrap_err(), OpenError::UnknownKey);
        let rotated = keys(K2, Some(K1));
        assert_eq!(rotated.open(&token, 1_000).unwrap().1, OpenedWith::Previous);
        let fresh = rotated.seal(&claims(), &CountingRandom::default());
        assert_eq!(rotated.open(&fresh, 1_000).unwrap().1, OpenedWith::Current);
    }

    #[test]
    fn expired_token_is_rejected() {
        let k = keys(K1, None);
        let token = k.seal(&claims(), &CountingRandom::default());
        assert_eq!(k.open(&token, 2_000).unwrap_err(), OpenError::Expired);
        assert!(k.open(&token, 1_999).is_ok());
    }

    #[test]
    fn foreign_versions_garbage_and_oversized_tokens_are_rejected() {
        let k = keys(K1, None);
        let mut b = URL_SAFE_NO_PAD
            .decode(k.seal(&claims(), &CountingRandom::default()))
            .unwrap();
        b[0] = 2;
        assert_eq!(
            k.open(&URL_SAFE_NO_PAD.encode(&b), 1_000).unwrap_err(),
            OpenError::UnknownVersion
        );
        assert_eq!(k.open("!!!", 1_000).unwrap_err(), OpenError::Malformed);
        assert_eq!(
            k.open(&"A".repeat(MAX_TOKEN_CHARS + 1), 1_000).unwrap_err(),
            OpenError::Malformed
        );
    }

    #[test]
    fn keys_must_be_32_bytes_and_errors_name_the_setting() {
        assert_eq!(SessionKeys::new("AAAA", None).unwrap_err().0, "SESSION_TOKEN_KEY");
        assert_eq!(
            SessionKeys::new(K1, Some("nope")).unwrap_err().0,
            "SESSION_TOKEN_KEY_PREVIOUS"
        );
    }

    #[test]
    fn a_token_naming_no_usable_issuer_or_subject_does_not_open() {
        let k = keys(K1, None);
        let plaintext = serde_json::to_string(&claims()).unwrap();
        for (from, to) in [
            ("\"https://idp.example\"", "\"http://idp.example\""),
            ("\"alice\"", "\"\""),
            ("\"client-1\"", "\"\""),
        ] {
            let tampered = plaintext.replace(from, to);
            let token = k.seal_bytes(tampered.as_bytes(), &CountingRandom::default());
            assert_eq!(k.open(&token, 1_000).unwrap_err(), OpenError::Malformed, "{to}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let printed = format!("{:?} {:?}", claims(), keys(K1, None));
        assert!(!printed.contains("MARKER"), "{printed}");
    }

    /// The session-token size the README states, without a policy and with a typical
    /// prefix-limited one (read and list one product's `data/` folder).
    #[test]
    fn a_prefix_limited_policy_keeps_the_session_token_short() {
        let k = keys(K1, None);
        let plain = k.seal(&claims(), &CountingRandom::default());
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"ReadData","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo/public-data/data/*"},
            {"Sid":"ListData","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo",
             "Condition":{"StringLike":{"s3:prefix":["public-data/data/*"]}}}]}"#;
        let mut scoped = claims();
        scoped.scope = Some(SessionPolicy::parse(doc).unwrap());
        let with = k.seal(&scoped, &CountingRandom::default());
        println!(
            "session token: {} characters, {} with the policy",
            plain.len(),
            with.len()
        );
        assert!(plain.len() <= 320, "{}", plain.len());
        assert!(with.len() - plain.len() <= 150, "{}", with.len());
        assert_eq!(k.open(&with, 1_000).unwrap().0, scoped);
    }

    proptest::proptest! {
        #[test]
        fn opening_arbitrary_input_never_panics(s in "[A-Za-z0-9_-]{0,400}") {
            let _ = keys(K1, Some(K2)).open(&s, 1_000);
        }
    }
}
