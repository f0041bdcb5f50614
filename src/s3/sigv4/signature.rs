//! SigV4 tasks 2 to 4: the string to sign, the signing key derived from the secret, and the
//! signature.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::parse::SigV4Request;
use super::{ALGORITHM, TERMINATOR};

type HmacSha256 = Hmac<Sha256>;

/// SigV4 task 2: `AWS4-HMAC-SHA256 \n amz_date \n scope \n hex(sha256(canonical_request))`.
pub(crate) fn string_to_sign(req: &SigV4Request, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        req.amz_date(),
        req.scope().to_scope_string(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// SigV4 task 3, the signing key: HMAC-SHA256 chained over `"AWS4" + secret`, date, region,
/// service and `aws4_request`.
pub(crate) fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> Zeroizing<[u8; 32]> {
    let mut seed = Zeroizing::new(Vec::with_capacity(4 + secret_access_key.len()));
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret_access_key.as_bytes());
    let k_date = Zeroizing::new(hmac_sha256(&seed, date.as_bytes()));
    let k_region = Zeroizing::new(hmac_sha256(&*k_date, region.as_bytes()));
    let k_service = Zeroizing::new(hmac_sha256(&*k_region, service.as_bytes()));
    Zeroizing::new(hmac_sha256(&*k_service, TERMINATOR.as_bytes()))
}

/// SigV4 task 4, the signature: HMAC-SHA256 of the string to sign under the signing key.
pub(crate) fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> [u8; 32] {
    hmac_sha256(signing_key, string_to_sign.as_bytes())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (RFC 2104 §2): `new_from_slice` cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of every length"); // ok: not reachable for HMAC
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_the_aws_documentation_example() {
        // AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(*key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    // ---- Secrets and wire codes ----
}
