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
pub fn is_loopback_host(host: &str) -> bool {
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
pub fn check_https_url(url: &str) -> Result<Uri, UrlError> {
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
    pub fn is_loopback(&self) -> bool {
        self.0
            .parse::<Uri>()
            .ok()
            .and_then(|u| u.host().map(is_loopback_host))
            .unwrap_or(false)
    }
}

/// An audience (`aud`) value: non-empty, at most 256 bytes, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Audience(String);

impl Audience {
    pub fn parse(value: &str) -> Option<Self> {
        is_plain_text(value, 256).then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A subject (`sub`): non-empty, at most 255 bytes (OpenID Connect Core §2), no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(String);

impl Subject {
    pub fn parse(value: &str) -> Option<Self> {
        is_plain_text(value, 255).then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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
    fn audiences_and_subjects_reject_empty_and_control_characters() {
        assert!(Audience::parse("upstream-api").is_some());
        assert!(Audience::parse("").is_none());
        assert!(Subject::parse("a\nb").is_none());
        assert!(Subject::parse(&"s".repeat(256)).is_none());
        assert!(Subject::parse("user@example.com").is_some());
    }
}
