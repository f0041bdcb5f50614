//! Redacting containers for secret material.
//!
//! A secret never prints: `Debug` shows `[redacted]`, there is no `Display`,
//! no `PartialEq` (compare with [`SecretBytes::ct_eq`], in constant time),
//! and the bytes are zeroized on drop. The only way in is [`SecretString::expose_secret`].

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret text value, such as a PEM private key read from a worker secret.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret itself. Call sites are the places to audit.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// Secret bytes, such as a symmetric key.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub fn new(value: Vec<u8>) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret itself. Call sites are the places to audit.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.0.as_slice().ct_eq(other).into()
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let s = SecretString::new("MARKER-SECRET-123".into());
        let b = SecretBytes::new(b"MARKER-SECRET-456".to_vec());
        let printed = format!("{s:?} {b:?} {:#?}", (&s, &b));
        assert!(!printed.contains("MARKER"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn constant_time_comparison_matches_only_equal_bytes() {
        let b = SecretBytes::new(vec![1, 2, 3]);
        assert!(b.ct_eq(&[1, 2, 3]));
        assert!(!b.ct_eq(&[1, 2, 4]));
        assert!(!b.ct_eq(&[1, 2]));
    }
}
