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
    pub name: &'static str,
    pub version: &'static str,
    pub features: Features,
}

#[derive(Debug, Serialize)]
pub(crate) struct Features {
    pub oidc_provider: FeatureState,
    pub upstream_jwt: FeatureState,
    pub sts: FeatureState,
    pub s3: S3State,
}

/// The S3 read path: whether it serves, who decides (`upstream_api` or `catalogue`), and the
/// kinds of backend the catalogue's products use (`r2`, `s3`; empty when the upstream API
/// names them per answer).
#[derive(Debug, Serialize)]
pub(crate) struct S3State {
    pub state: FeatureState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<&'static str>,
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
