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

/// The deployment's root for derived keys: a hash of the first secret it holds, so that
/// MACs on data the worker hands out or keeps in shared caches need no further secret.
/// Each use derives its own key with a distinct label ([`DerivedKeys::key`]).
pub(crate) struct DerivedKeys(SecretBytes);

impl DerivedKeys {
    /// From `SESSION_TOKEN_KEY` if set, else `OIDC_PROVIDER_KEY` (whichever the deployment
    /// has). Rotating that secret changes every derived key: MACed data made before it
    /// simply stops verifying.
    pub(crate) fn from_secret(secret: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let root = Sha256::new_with_prefix(b"oidc-sts-proxy/derived-keys/v1\0")
            .chain_update(secret)
            .finalize();
        Self(SecretBytes::new(root.to_vec()))
    }

    /// The key for one purpose: HMAC-SHA256(root, label). Labels never repeat across uses.
    pub(crate) fn key(&self, label: &str) -> MacKey {
        MacKey(SecretBytes::new(
            hmac_sha256(self.0.expose_secret(), label.as_bytes()).to_vec(),
        ))
    }
}

impl std::fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKeys([redacted])")
    }
}

/// A derived HMAC-SHA256 key for one purpose.
pub(crate) struct MacKey(SecretBytes);

impl MacKey {
    /// HMAC-SHA256 of `data`, for attaching to what is handed out.
    pub(crate) fn tag(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256(self.0.expose_secret(), data)
    }

    /// Does `tag` authenticate `data`? Constant time.
    pub(crate) fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        self.tag(data).as_slice().ct_eq(tag).into()
    }
}

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey([redacted])")
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
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
    fn derived_keys_differ_by_label_and_root_and_verify_their_own_tags() {
        let root = DerivedKeys::from_secret(b"root-a");
        let (a, b) = (root.key("label/a"), root.key("label/b"));
        let tag = a.tag(b"data");
        assert!(a.verify(b"data", &tag));
        assert!(!a.verify(b"datb", &tag));
        assert!(!b.verify(b"data", &tag));
        assert!(!DerivedKeys::from_secret(b"root-b").key("label/a").verify(b"data", &tag));
        assert!(!a.verify(b"data", &tag[..31]));
        assert!(!format!("{root:?} {a:?}").contains("root-a"));
    }

    #[test]
    fn constant_time_comparison_matches_only_equal_bytes() {
        let b = SecretBytes::new(vec![1, 2, 3]);
        assert!(b.ct_eq(&[1, 2, 3]));
        assert!(!b.ct_eq(&[1, 2, 4]));
        assert!(!b.ct_eq(&[1, 2]));
    }
}
