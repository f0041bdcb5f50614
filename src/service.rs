//! `GET /`: what this deployment is and which features are on.

use serde::Serialize;

/// The state of one feature, as reported to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureState {
    Enabled,
    Disabled,
    Misconfigured,
}

#[derive(Debug, Serialize)]
pub struct ServiceInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub features: Features,
}

#[derive(Debug, Serialize)]
pub struct Features {
    pub oidc_provider: FeatureState,
    pub upstream_jwt: FeatureState,
    pub sts: FeatureState,
}

impl ServiceInfo {
    pub fn new(features: Features) -> Self {
        Self {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            features,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
