//! Proof Key for Code Exchange (RFC 7636), S256 only.
//!
//! The `plain` method is never produced, and parsing a method name other than `S256`
//! (`plain` included) is an error, never a fallback: a server that does not support S256
//! must be met with PKCE switched off by configuration, not with a weaker method.

use sha2::{Digest, Sha256};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::platform::Random;
use crate::secret::SecretString;

/// RFC 7636 §4.1: a verifier has at least 43 characters...
pub const MIN_VERIFIER_LEN: usize = 43;
/// ...and at most 128.
pub const MAX_VERIFIER_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("a code verifier has {MIN_VERIFIER_LEN} to {MAX_VERIFIER_LEN} characters, not {len}")]
    VerifierLength { len: usize },
    #[error("a code verifier has only the characters A-Z a-z 0-9 - . _ ~")]
    VerifierCharacter,
    #[error("code challenge method {method} is not supported (only S256)")]
    UnsupportedMethod { method: String },
}

/// The secret half of PKCE, kept by the client until the token request.
pub struct CodeVerifier(SecretString);

impl CodeVerifier {
    /// RFC 7636 §4.1 (and its recommendation): 32 octets from the CSPRNG, base64url-encoded
    /// without padding, 43 characters.
    pub fn generate(random: &dyn Random) -> Self {
        Self(SecretString::new(super::random_token(random)))
    }

    /// A verifier read back from storage. RFC 7636 §4.1:
    /// `code-verifier = 43*128unreserved`, `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&value.len()) {
            return Err(PkceError::VerifierLength { len: value.len() });
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(PkceError::VerifierCharacter);
        }
        Ok(Self(SecretString::new(value.to_owned())))
    }

    /// The secret itself, for the token request's `code_verifier`. Call sites are the places to audit.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// RFC 7636 §4.2, S256: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
    pub fn challenge(&self) -> CodeChallenge {
        let digest = Sha256::digest(self.expose_secret().as_bytes());
        CodeChallenge(URL_SAFE_NO_PAD.encode(digest))
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

/// The public half of PKCE, sent with the authorization (or device authorization) request.
/// Only made from a [`CodeVerifier`], so it is always S256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// The `code_challenge` parameter.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `code_challenge_method` parameter: always S256.
    pub fn method(&self) -> ChallengeMethod {
        ChallengeMethod::S256
    }
}

/// RFC 7636 §4.3 `code_challenge_method`: the one method this client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
}

impl ChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
        }
    }

    /// RFC 7636 §4.3: method names are case-sensitive. Anything but `S256` is refused,
    /// `plain` included: it is never mapped to a method this client would then use.
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        match value {
            "S256" => Ok(Self::S256),
            other => Err(PkceError::UnsupportedMethod {
                method: crate::encoding::printable(other),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::tests::FixedRandom;

    const APPENDIX_B: &str = include_str!("../../tests/vectors/rfc7636-appendix-b.json");

    /// RFC 7636 Appendix B, S256: the 32 random octets, the verifier they encode to, the
    /// SHA-256 of the verifier (the octets printed in the RFC), and the challenge.
    #[test]
    fn rfc7636_appendix_b_verifier_and_s256_challenge() {
        let v: serde_json::Value = serde_json::from_str(APPENDIX_B).unwrap();
        let octets: Vec<u8> = v["code_verifier_octets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| u8::try_from(n.as_u64().unwrap()).unwrap())
            .collect();
        assert_eq!(octets.len(), 32);

        // Stage 1: the octets, base64url without padding, are the verifier.
        let verifier = CodeVerifier::generate(&FixedRandom(octets));
        assert_eq!(verifier.expose_secret(), v["code_verifier"].as_str().unwrap());

        // Stage 2: SHA-256 of the verifier's ASCII, as printed in Appendix B.
        const HASH: [u8; 32] = [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120, 173, 109, 241, 68, 86,
            110, 225, 137, 74, 203, 112, 249, 195,
        ];
        assert_eq!(Sha256::digest(verifier.expose_secret().as_bytes()).as_slice(), HASH);

        // Stage 3: the challenge and its method.
        let challenge = verifier.challenge();
        assert_eq!(challenge.as_str(), v["code_challenge"].as_str().unwrap());
        assert_eq!(
            challenge.method().as_str(),
            v["code_challenge_method"].as_str().unwrap()
        );

        // The verifier read back from storage gives the same challenge.
        let parsed = CodeVerifier::parse(v["code_verifier"].as_str().unwrap()).unwrap();
        assert_eq!(parsed.challenge(), challenge);
    }

    #[test]
    fn verifiers_are_43_to_128_unreserved_characters() {
        let ok_chars = "abcXYZ019-._~";
        for len in [43, 64, 128] {
            let v: String = ok_chars.chars().cycle().take(len).collect();
            assert!(CodeVerifier::parse(&v).is_ok(), "{len}");
        }
        for len in [0, 42, 129] {
            let v = "a".repeat(len);
            assert_eq!(CodeVerifier::parse(&v).unwrap_err(), PkceError::VerifierLength { len });
        }
        for bad in ['+', '/', '=', ' ', '%', '\n', 'é'] {
            let v = format!("{}{bad}", "a".repeat(50));
            assert_eq!(
                CodeVerifier::parse(&v).unwrap_err(),
                PkceError::VerifierCharacter,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_verifiers_differ_and_parse_back() {
        let random = crate::platform::SystemRandom;
        let (a, b) = (CodeVerifier::generate(&random), CodeVerifier::generate(&random));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_ne!(a.challenge(), b.challenge());
        assert!(CodeVerifier::parse(a.expose_secret()).is_ok());
    }

    #[test]
    fn only_s256_is_a_method_plain_and_unknown_names_are_errors() {
        assert_eq!(ChallengeMethod::parse("S256"), Ok(ChallengeMethod::S256));
        for bad in ["plain", "PLAIN", "s256", "S384", "", "S256 "] {
            assert!(
                matches!(ChallengeMethod::parse(bad), Err(PkceError::UnsupportedMethod { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_verifier_never_shows_in_debug_output() {
        let v = CodeVerifier::parse("MARKER-VERIFIER-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let printed = format!("{v:?} {:#?}", (&v,));
        assert!(!printed.contains("MARKER"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
