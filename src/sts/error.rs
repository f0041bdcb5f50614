//! STS errors and their one mapping to AWS wire codes and statuses.

use http::StatusCode;

/// Why an exchange failed. Reasons are for the caller and the log; none holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StsError {
    #[error("the request must include the parameter {name}")]
    MissingParameter { name: &'static str },
    #[error("{reason}")]
    InvalidAction { reason: String },
    #[error("{reason}")]
    Validation { reason: String },
    #[error("{reason}")]
    AccessDenied { reason: String },
    #[error("the session policy is not accepted: {reason}")]
    MalformedPolicy { reason: String },
    #[error("{reason}")]
    InvalidIdentityToken { reason: String },
    #[error("token is expired")]
    ExpiredToken,
    /// After the signature: the token is authentic, so its audience (the client it was issued
    /// to, for the log line: AUTH_AUDIENCE may lack it) is known.
    #[error("{reason}")]
    IdpRejectedClaim { reason: String, audience: Option<String> },
    #[error("{reason}")]
    IdpCommunication { reason: String },
    #[error("AssumeRoleWithWebIdentity is not enabled on this deployment (AUTH_AUDIENCE is not set)")]
    NotImplemented,
    #[error("{reason}")]
    Misconfigured { reason: String },
    #[error("{method} is not served at /.sts; use GET or POST")]
    MethodNotAllowed { method: String },
}

impl StsError {
    pub(crate) fn invalid_token(reason: impl Into<String>) -> Self {
        Self::InvalidIdentityToken { reason: reason.into() }
    }

    pub(crate) fn validation(reason: impl Into<String>) -> Self {
        Self::Validation { reason: reason.into() }
    }

    /// AWS's error code and HTTP status for this error: the only place they are chosen.
    pub(crate) fn wire(&self) -> (&'static str, StatusCode) {
        match self {
            Self::MissingParameter { .. } => ("MissingParameter", StatusCode::BAD_REQUEST),
            Self::InvalidAction { .. } => ("InvalidAction", StatusCode::BAD_REQUEST),
            Self::Validation { .. } => ("ValidationError", StatusCode::BAD_REQUEST),
            Self::AccessDenied { .. } => ("AccessDenied", StatusCode::FORBIDDEN),
            Self::MalformedPolicy { .. } => ("MalformedPolicyDocument", StatusCode::BAD_REQUEST),
            Self::InvalidIdentityToken { .. } => ("InvalidIdentityToken", StatusCode::BAD_REQUEST),
            Self::ExpiredToken => ("ExpiredTokenException", StatusCode::BAD_REQUEST),
            Self::IdpRejectedClaim { .. } => ("IDPRejectedClaim", StatusCode::FORBIDDEN),
            Self::IdpCommunication { .. } => ("IDPCommunicationError", StatusCode::BAD_REQUEST),
            Self::NotImplemented => ("NotImplemented", StatusCode::NOT_IMPLEMENTED),
            Self::Misconfigured { .. } => ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR),
            Self::MethodNotAllowed { .. } => ("MethodNotAllowed", StatusCode::METHOD_NOT_ALLOWED),
        }
    }

    /// `Error/Type`: the server's fault or the sender's.
    pub(crate) fn fault(&self) -> &'static str {
        match self {
            Self::Misconfigured { .. } => "Receiver",
            _ => "Sender",
        }
    }
}
