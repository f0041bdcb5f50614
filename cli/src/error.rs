//! Everything that can go wrong, each with a message that says what to do, and the exit
//! code it ends the process with.

use oidc_sts_proxy::client_configuration::ConfigurationError;
use oidc_sts_proxy::oauth::error::{EndpointError, ErrorCode};
use oidc_sts_proxy::oauth::metadata::MetadataError;
use oidc_sts_proxy::platform::FetchError;
use oidc_sts_proxy::sts::client::ExchangeError;

/// Exit code of any failure but the one below.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage mistake (as clap's own): a bad profile name, a bad config file.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when only a new interactive `osp login` helps (no tokens, or the identity
/// provider no longer accepts the refresh token): a tool calling `osp credentials` can tell.
pub const EXIT_LOGIN_REQUIRED: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{message}; run `osp login{profile_flag}`")]
    LoginRequired { message: String, profile_flag: String },
    #[error("{what}: {reason}")]
    Network { what: String, reason: FetchError },
    #[error("{0}")]
    Configuration(#[from] ConfigurationError),
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    #[error("{what}: {detail}")]
    OAuth { what: String, detail: String },
    #[error("{0}")]
    Sts(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Login(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::LoginRequired { .. } => EXIT_LOGIN_REQUIRED,
            Self::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    pub fn login_required(message: impl Into<String>, profile: &str) -> Self {
        Self::LoginRequired {
            message: message.into(),
            profile_flag: profile_flag(profile),
        }
    }

    /// An endpoint's failure during `what` ("signing in", "refreshing the sign-in", ...).
    pub fn endpoint(what: &str, err: EndpointError) -> Self {
        match err {
            EndpointError::Unreachable { reason } => Self::Network {
                what: format!("{what}: the identity provider could not be reached"),
                reason,
            },
            EndpointError::Transient { status } => Self::OAuth {
                what: what.to_owned(),
                detail: format!("the identity provider is unavailable (HTTP {status}); try again later"),
            },
            EndpointError::Malformed { reason } => Self::OAuth {
                what: what.to_owned(),
                detail: format!("the identity provider's answer is malformed: {reason}"),
            },
            EndpointError::Refused { error, description, .. } => Self::OAuth {
                what: what.to_owned(),
                detail: refusal(&error, description.as_deref()),
            },
        }
    }

    pub fn sts(err: ExchangeError) -> Self {
        Self::Sts(match &err {
            ExchangeError::Refused { code, message, .. } => {
                let hint = match code.as_str() {
                    "InvalidIdentityToken" => "the deployment does not accept this ID token",
                    "ExpiredTokenException" => "the ID token has expired (check this machine's clock)",
                    "IDPRejectedClaim" => "the deployment does not accept this client id or subject",
                    "IDPCommunicationError" => "the deployment could not reach the identity provider; try again",
                    "AccessDenied" => "the deployment refused the role",
                    "NotImplemented" => "the deployment's /.sts is switched off",
                    _ => "the deployment refused the exchange",
                };
                format!("getting S3 credentials from /.sts: {hint} ({code}: {message})")
            }
            other => format!("getting S3 credentials from /.sts: {other}"),
        })
    }
}

/// ` --profile P` for a message, nothing for the default profile.
pub fn profile_flag(profile: &str) -> String {
    if profile == crate::settings::DEFAULT_PROFILE {
        String::new()
    } else {
        format!(" --profile {profile}")
    }
}

/// What an OAuth error code means for the person at the terminal: the one place codes are
/// turned into words.
pub fn explain(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::AccessDenied => "the sign-in was refused or cancelled at the identity provider",
        ErrorCode::ExpiredToken => "the code expired before the sign-in was completed; start again",
        ErrorCode::InvalidGrant => {
            "the identity provider refused the grant (an expired, revoked or reused code or refresh token, or a PKCE verifier that does not match)"
        }
        ErrorCode::InvalidClient => "the identity provider does not accept this client id (check client_id)",
        ErrorCode::UnauthorizedClient => "this client id may not use this flow at the identity provider",
        ErrorCode::UnsupportedGrantType => "the identity provider does not support this flow",
        ErrorCode::InvalidScope => "the identity provider does not grant the scopes asked for (check scopes)",
        ErrorCode::InvalidRequest => {
            "the identity provider refused the request as invalid (if it does not support PKCE, try --no-pkce)"
        }
        ErrorCode::UnsupportedResponseType => "the identity provider does not support the authorization code flow",
        ErrorCode::ServerError => "the identity provider failed; try again later",
        ErrorCode::TemporarilyUnavailable => "the identity provider is temporarily unavailable; try again later",
        ErrorCode::AuthorizationPending => "the sign-in has not been completed yet",
        ErrorCode::SlowDown => "the identity provider asked to poll more slowly",
        ErrorCode::UnsupportedTokenType => "the identity provider cannot revoke this kind of token",
        ErrorCode::InteractionRequired
        | ErrorCode::LoginRequired
        | ErrorCode::AccountSelectionRequired
        | ErrorCode::ConsentRequired => "the identity provider needs you to sign in interactively",
        ErrorCode::InvalidRequestUri
        | ErrorCode::InvalidRequestObject
        | ErrorCode::RequestNotSupported
        | ErrorCode::RequestUriNotSupported
        | ErrorCode::RegistrationNotSupported => "the identity provider refused the request's form",
        ErrorCode::Other(_) => "the identity provider refused the request",
    }
}

/// `explain` plus the code and the provider's own words.
pub fn refusal(code: &ErrorCode, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{} ({code}: {d})", explain(code)),
        _ => format!("{} ({code})", explain(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_has_its_own_words_and_the_code_is_shown() {
        for code in [
            "access_denied",
            "expired_token",
            "invalid_grant",
            "invalid_client",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "invalid_request",
            "server_error",
            "temporarily_unavailable",
            "slow_down",
            "authorization_pending",
            "login_required",
            "mfa_required",
        ] {
            let parsed = ErrorCode::parse(code).unwrap();
            let text = refusal(&parsed, Some("the provider's words"));
            assert!(text.contains(code) && text.contains("the provider's words"), "{text}");
            assert!(!explain(&parsed).is_empty());
        }
    }

    #[test]
    fn only_a_needed_login_has_its_own_exit_code() {
        assert_eq!(
            CliError::login_required("no tokens", "work").exit_code(),
            EXIT_LOGIN_REQUIRED
        );
        assert_eq!(
            CliError::login_required("no tokens", "work").to_string(),
            "no tokens; run `osp login --profile work`"
        );
        assert_eq!(
            CliError::login_required("no tokens", "default").to_string(),
            "no tokens; run `osp login`"
        );
        assert_eq!(CliError::Usage("x".into()).exit_code(), EXIT_USAGE);
        assert_eq!(CliError::Store("x".into()).exit_code(), EXIT_FAILURE);
    }
}
