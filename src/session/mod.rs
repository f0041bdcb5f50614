//! What this deployment issues to a caller and later recognises: sealed session tokens
//! ([`seal`]) holding temporary credentials in AWS's shapes ([`credentials`]), and the request
//! ids every answer carries. The STS issues them, the S3 path opens them (as the browser
//! sign-in will issue them too), so neither protocol imports the other.
//!
//! | module | what |
//! |---|---|
//! | [`seal`] | the self-contained session token (AES-256-GCM) and its claims |
//! | [`credentials`] | access key ids, secret access keys, role ids |

pub(crate) mod credentials;
pub(crate) mod seal;

use crate::platform::Random;

/// A request id in UUID v4 form.
pub(crate) fn request_id(random: &dyn Random) -> String {
    let mut b = [0u8; 16];
    random.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_version_4_uuids() {
        // RFC 9562 §5.4: 8-4-4-4-12 hex digits, version 4, variant 10.
        let id = super::request_id(&crate::platform::SystemRandom);
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{id}");
        assert_eq!(id.chars().nth(14), Some('4'), "{id}");
        assert!(matches!(id.chars().nth(19), Some('8' | '9' | 'a' | 'b')), "{id}");
    }
}
