//! Checked identity strings shared by the protocols: issuers, audiences, subjects.
//!
//! Each is parsed once at the edge and trusted afterwards. Issuers are compared
//! exactly, never normalised (OpenID Connect Core §3.1.3.7 step 2).

use http::Uri;

/// Why a URL-valued setting was refused. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not an absolute URL")]
    NotAbsolute,
    #[error("must use https (plain http only for loopback hosts)")]
    NotHttps,
    #[error("must not contain user information, a query or a fragment")]
    ExtraParts,
    #[error("must be an origin such as https://id.example.com, without a path or trailing slash")]
    HasPath,
}

/// Is `host` a loopback name, where plain http is acceptable for local use?
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Checks that `url` is absolute, https (or http on loopback), without userinfo,
/// query or fragment. Returns the parsed URI.
pub(crate) fn check_https_url(url: &str) -> Result<Uri, UrlError> {
    if url.contains('#') || url.contains('?') {
        return Err(UrlError::ExtraParts);
    }
    let uri: Uri = url.parse().map_err(|_| UrlError::NotAbsolute)?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(UrlError::NotAbsolute);
    };
    if authority.as_str().contains('@') {
        return Err(UrlError::ExtraParts);
    }
    match scheme {
        "https" => {}
        "http" if is_loopback_host(authority.host()) => {}
        _ => return Err(UrlError::NotHttps),
    }
    Ok(uri)
}

/// An OpenID issuer identifier: an https origin, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issuer(String);

impl Issuer {
    /// The provider's own issuer: an origin, so that `/.well-known/...` under it is ours.
    pub fn parse_origin(value: &str) -> Result<Self, UrlError> {
        let uri = check_https_url(value)?;
        let origin = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        if origin != value {
            return Err(UrlError::HasPath);
        }
        Ok(Self(value.to_owned()))
    }

    /// A trusted external issuer: an https URL (loopback http for local use), possibly
    /// with a path (`https://login.example.com/tenant/v2.0`), kept verbatim.
    pub fn parse_trusted(value: &str) -> Result<Self, UrlError> {
        check_https_url(value)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Is this a loopback URL (local development and tests)?
    pub(crate) fn is_loopback(&self) -> bool {
        self.0
            .parse::<Uri>()
            .ok()
            .and_then(|u| u.host().map(is_loopback_host))
            .unwrap_or(false)
    }
}

/// An audience (`aud`) value: non-empty, at most 256 bytes, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Audience(String);

impl Audience {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        is_plain_text(value, 256).then(|| Self(value.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A subject (`sub`): non-empty, at most 255 bytes (OpenID Connect Core §2), no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Subject(String);

impl Subject {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        is_plain_text(value, 255).then(|| Self(value.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signed-in caller: the pair (issuer, subject). A `sub` is unique only within its issuer
/// (OpenID Connect Core §2: "locally unique and never reassigned identifier within the
/// Issuer"), so two IdPs may each have an `alice`; every authorisation decision, cache key
/// and minted token names both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Caller {
    pub(crate) issuer: Issuer,
    pub(crate) subject: Subject,
}

impl Caller {
    pub(crate) fn new(issuer: Issuer, subject: Subject) -> Self {
        Self { issuer, subject }
    }

    /// SHA-256 over both parts, each length-prefixed, so that no (issuer, subject) pair can
    /// be spelled as another by moving a separator.
    pub(crate) fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let (iss, sub) = (self.issuer.as_str().as_bytes(), self.subject.as_str().as_bytes());
        Sha256::new_with_prefix(b"oidc-sts-proxy/caller/v1\0")
            .chain_update((iss.len() as u64).to_be_bytes())
            .chain_update(iss)
            .chain_update((sub.len() as u64).to_be_bytes())
            .chain_update(sub)
            .finalize()
            .into()
    }

    /// The pseudonym logs carry instead of the pair (subjects are often e-mail addresses):
    /// the first 8 bytes of [`Caller::digest`], hex.
    pub(crate) fn pseudonym(&self) -> String {
        hex::encode(&self.digest()[..8])
    }
}

/// Serialised as its text; deserialised through `parse`, so a checked type read back (from a
/// sealed session, say) is checked again.
macro_rules! checked_serde {
    ($type:ty, $parse:expr, $what:literal) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $parse(&text).ok_or_else(|| serde::de::Error::custom(concat!("not ", $what)))
            }
        }
    };
}

checked_serde!(Issuer, |s: &str| Issuer::parse_trusted(s).ok(), "an issuer URL");
checked_serde!(Audience, Audience::parse, "an audience");
checked_serde!(Subject, Subject::parse, "a subject");

fn is_plain_text(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && !value.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_be_an_https_origin() {
        assert!(Issuer::parse_origin("https://id.example.com").is_ok());
        assert!(Issuer::parse_origin("https://id.example.com:8443").is_ok());
        assert_eq!(Issuer::parse_origin("http://id.example.com"), Err(UrlError::NotHttps));
        assert_eq!(Issuer::parse_origin("https://id.example.com/"), Err(UrlError::HasPath));
        assert_eq!(Issuer::parse_origin("https://id.example.com/x"), Err(UrlError::HasPath));
        assert_eq!(
            Issuer::parse_origin("https://u@id.example.com"),
            Err(UrlError::ExtraParts)
        );
        assert_eq!(
            Issuer::parse_origin("https://id.example.com?a"),
            Err(UrlError::ExtraParts)
        );
        assert_eq!(Issuer::parse_origin("id.example.com"), Err(UrlError::NotAbsolute));
        assert_eq!(Issuer::parse_origin("ftp://id.example.com"), Err(UrlError::NotHttps));
    }

    #[test]
    fn plain_http_is_allowed_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8787",
            "http://localhost:1",
            "http://[::1]:8787",
            "http://127.3.4.5",
        ] {
            assert!(Issuer::parse_origin(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1", "http://localhost.example.com", "http://128.0.0.1"] {
            assert_eq!(Issuer::parse_origin(bad), Err(UrlError::NotHttps), "{bad}");
        }
    }

    #[test]
    fn callers_of_different_issuers_with_one_subject_differ() {
        let a = Issuer::parse_trusted("https://a.example").unwrap();
        let b = Issuer::parse_trusted("https://b.example").unwrap();
        let alice = Subject::parse("alice").unwrap();
        let (at_a, at_b) = (Caller::new(a.clone(), alice.clone()), Caller::new(b, alice));
        assert_ne!(at_a, at_b);
        assert_ne!(at_a.digest(), at_b.digest());
        assert_ne!(at_a.pseudonym(), at_b.pseudonym());
        assert_eq!(at_a.pseudonym().len(), 16);
        // A separator cannot be moved between the parts.
        let x = Caller::new(
            Issuer::parse_trusted("https://a.example/x").unwrap(),
            Subject::parse("y").unwrap(),
        );
        let y = Caller::new(
            Issuer::parse_trusted("https://a.example/").unwrap(),
            Subject::parse("xy").unwrap(),
        );
        assert_ne!(x.digest(), y.digest());
    }

    #[test]
    fn checked_types_are_checked_again_when_read_back() {
        let issuer: Issuer = serde_json::from_str("\"https://idp.example/t\"").unwrap();
        assert_eq!(serde_json::to_string(&issuer).unwrap(), "\"https://idp.example/t\"");
        assert!(serde_json::from_str::<Issuer>("\"http://idp.example\"").is_err());
        assert!(serde_json::from_str::<Subject>("\"\"").is_err());
        assert!(serde_json::from_str::<Audience>("\"a\\nb\"").is_err());
        assert!(serde_json::from_str::<Subject>("42").is_err());
        let alice: Subject = serde_json::from_str("\"alice\"").unwrap();
        assert_eq!(alice.as_str(), "alice");
    }

    #[test]
    fn audiences_and_subjects_reject_empty_and_control_characters() {
        assert!(Audience::parse("upstream-api").is_some());
        assert!(Audience::parse("").is_none());
        assert!(Subject::parse("a\nb").is_none());
        assert!(Subject::parse(&"s".repeat(256)).is_none());
        assert!(Subject::parse("user@example.com").is_some());
    }
}
