//! RS256 signature primitives behind one trait.
//!
//! On Workers the adapter signs with WebCrypto (RSASSA-PKCS1-v1_5 / SHA-256), about ten
//! times faster than the pure-Rust `rsa` crate inside wasm; natively, [`RsaSigner`]
//! does it with `rsa`. PKCS#1 v1.5 signatures are deterministic, so both produce the
//! same bytes for the same key and input (the end-to-end suite checks that).

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("signing key could not be loaded")]
    KeyUnavailable,
    #[error("signing failed")]
    Failed,
}

/// Makes RSASSA-PKCS1-v1_5 SHA-256 (RS256) signatures with one private key.
#[allow(async_fn_in_trait)] // single-threaded runtime: futures need not be Send
pub trait Signer {
    async fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

#[cfg(any(not(target_arch = "wasm32"), feature = "insecure-test-routes"))]
pub use pure_rust::RsaSigner;

#[cfg(any(not(target_arch = "wasm32"), feature = "insecure-test-routes"))]
mod pure_rust {
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer as _};
    use sha2::Sha256;

    use super::{SignError, Signer};
    use crate::oidc::keys::ProviderKey;

    /// Signs with the pure-Rust `rsa` crate. Natively (tests, benchmarks) only, and in the wasm
    /// bundle only with the `insecure-test-routes` feature (`/.test/sign` compares it with
    /// WebCrypto): the release bundle signs with WebCrypto alone.
    pub struct RsaSigner {
        key: SigningKey<Sha256>,
    }

    impl RsaSigner {
        pub fn new(key: &ProviderKey) -> Self {
            Self {
                key: SigningKey::<Sha256>::new(key.private_key().clone()),
            }
        }

        /// The synchronous signature, for benchmarks.
        pub fn sign_now(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
            self.key
                .try_sign(message)
                .map(|s| s.to_vec())
                .map_err(|_| SignError::Failed)
        }
    }

    impl Signer for RsaSigner {
        async fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
            self.sign_now(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::keys::tests::test_key;
    use futures_util::FutureExt;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use sha2::Sha256;

    #[test]
    fn rsa_signature_verifies_and_is_deterministic() {
        let key = test_key();
        let signer = RsaSigner::new(&key);
        let a = signer.sign_rs256(b"hello").now_or_never().unwrap().unwrap();
        let b = signer.sign_rs256(b"hello").now_or_never().unwrap().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 256);
        let verifying = VerifyingKey::<Sha256>::new(key.private_key().to_public_key());
        verifying
            .verify(b"hello", &Signature::try_from(a.as_slice()).unwrap())
            .unwrap();
        assert!(verifying
            .verify(b"hellO", &Signature::try_from(a.as_slice()).unwrap())
            .is_err());
    }
}
