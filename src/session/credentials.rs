//! Temporary credentials in AWS's shapes: access key ids, secret access keys, role ids.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::platform::Random;
use crate::secret::SecretString;

const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// `ASIA` + 16 upper-case alphanumerics, like AWS's temporary access key ids.
pub(crate) fn access_key_id(random: &dyn Random) -> String {
    format!("ASIA{}", alphanumerics(random, 16))
}

/// 40 characters of base64 alphabet, like AWS's secret access keys (30 random bytes).
pub(crate) fn secret_access_key(random: &dyn Random) -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; 30]);
    random.fill(&mut *bytes);
    SecretString::new(STANDARD.encode(*bytes))
}

/// An `AROA…` role id, stable per role name.
pub(crate) fn role_id(role: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(role.as_bytes());
    let tail: String = digest
        .iter()
        .take(16)
        .map(|b| ALPHABET[usize::from(*b) % 36] as char)
        .collect();
    format!("AROA{tail}")
}

/// Uniform characters from [`ALPHABET`] by rejection sampling (no modulo bias).
fn alphanumerics(random: &dyn Random, n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 32];
    while out.len() < n {
        random.fill(&mut buf);
        for b in buf {
            if b < 252 && out.len() < n {
                out.push(ALPHABET[usize::from(b % 36)] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SystemRandom;

    #[test]
    fn shapes_match_aws() {
        let id = access_key_id(&SystemRandom);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("ASIA"));
        assert!(id[4..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(secret_access_key(&SystemRandom).expose_secret().len(), 40);
        assert_eq!(role_id("_default").len(), 20);
    }
}
