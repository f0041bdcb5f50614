//! `GET /`: what this deployment is and which features are on.

use serde::Serialize;

/// The state of one feature, as reported to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FeatureState {
    Enabled,
    Disabled,
    Misconfigured,
}

#[derive(Debug, Serialize)]
pub(crate) struct ServiceInfo {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) features: Features,
}

#[derive(Debug, Serialize)]
pub(crate) struct Features {
    pub(crate) oidc_provider: FeatureState,
    pub(crate) upstream_jwt: FeatureState,
    pub(crate) sts: FeatureState,
    pub(crate) s3: S3State,
    /// The command-line client's configuration document (`CLI_CLIENT_ID`).
    pub(crate) cli_client: FeatureState,
}

/// The S3 read path: whether it serves, who decides (`upstream_api` or `catalogue`), and the
/// kinds of backend the catalogue's products use (`r2`, `s3`; empty when the upstream API
/// names them per answer).
#[derive(Debug, Serialize)]
pub(crate) struct S3State {
    pub(crate) state: FeatureState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) authorisation: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) backends: Vec<&'static str>,
}

impl ServiceInfo {
    pub(crate) fn new(features: Features) -> Self {
        Self {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            features,
        }
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
