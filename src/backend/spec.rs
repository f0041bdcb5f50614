//! Where a product's objects live: the R2 binding or an S3-compatible bucket, as the
//! catalogue and the upstream API's answers name it, and the rules every backend prefix
//! follows.

use serde::{Deserialize, Serialize};

/// Where a product's objects live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BackendSpec {
    /// The worker's R2 binding, under `prefix`. All R2 products share one bucket, so a
    /// product without a prefix gets its own corner of it: `{account}/{product}/`.
    R2 {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// An S3-compatible HTTP endpoint (AWS S3, R2's S3 API, MinIO, ...), read path-style.
    S3(S3Backend),
}

/// Why a product's backend prefix is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PrefixError {
    /// `demo/pub` would also cover `demo/pub-restricted/...`.
    #[error("the backend prefix must be empty or end in '/'")]
    NoTrailingSlash,
    /// An upstream answer's R2 prefix outside the product's own `{account}/{product}/`.
    #[error("an R2 backend prefix from the upstream API must begin with '{{account}}/{{product}}/'")]
    OutsideProductNamespace,
}

/// The object store a backend reads from, for telling whether two products share one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StoreId {
    /// The `DATA` binding.
    R2,
    /// An endpoint (origin: scheme, host lower-cased, port) and bucket.
    S3 { endpoint: String, bucket: String },
}

impl BackendSpec {
    /// The prefix that maps the product's keys into the backend's: the entry's own, else
    /// `{account}/{product}/` on R2 and empty (the whole bucket) on an S3 endpoint.
    pub(crate) fn prefix(&self, account: &str, product: &str) -> String {
        match self {
            BackendSpec::R2 { prefix: Some(p) } => p.clone(),
            BackendSpec::R2 { prefix: None } => default_r2_prefix(account, product),
            BackendSpec::S3(b) => b.prefix.clone(),
        }
    }

    /// The prefix rule for every backend: empty, or ending in `/`, so that one product's
    /// prefix is never the beginning of another's key space (`demo/pub` and `demo/pub-x/`).
    pub(crate) fn check_prefix(&self) -> Result<(), PrefixError> {
        let explicit = match self {
            BackendSpec::R2 { prefix } => prefix.as_deref(),
            BackendSpec::S3(b) => Some(b.prefix.as_str()),
        };
        match explicit {
            Some(p) if !p.is_empty() && !p.ends_with('/') => Err(PrefixError::NoTrailingSlash),
            _ => Ok(()),
        }
    }

    /// The rules for an upstream API answer about `account`/`product`, which the worker
    /// checks one answer at a time: [`BackendSpec::check_prefix`], and an R2 prefix (the
    /// bucket every R2 product shares) within `{account}/{product}/`, which no other
    /// product's can nest with. S3 endpoints are the operator's own buckets: the upstream
    /// API keeps their prefixes apart (see `docs/upstream-api.md`).
    pub(crate) fn check_upstream(&self, account: &str, product: &str) -> Result<(), PrefixError> {
        self.check_prefix()?;
        match self {
            BackendSpec::R2 { prefix: Some(p) } if !p.starts_with(&default_r2_prefix(account, product)) => {
                Err(PrefixError::OutsideProductNamespace)
            }
            _ => Ok(()),
        }
    }

    /// The store the backend reads from.
    pub(crate) fn store_id(&self) -> StoreId {
        match self {
            BackendSpec::R2 { .. } => StoreId::R2,
            BackendSpec::S3(b) => StoreId::S3 {
                endpoint: origin(&b.endpoint),
                bucket: b.bucket.clone(),
            },
        }
    }
}

/// An endpoint as an origin (RFC 6454 §4): `scheme://host:port`, lower-cased, the port
/// spelled out even when it is the scheme's default (`https://s3.example` is
/// `https://s3.example:443`).
fn origin(endpoint: &str) -> String {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return endpoint.to_ascii_lowercase();
    };
    let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    format!("{scheme}://{host}:{port}")
}

/// An R2 product's own part of the shared bucket. Account and product names hold no `/`
/// (each is one path segment), so two products' defaults never nest.
fn default_r2_prefix(account: &str, product: &str) -> String {
    format!("{account}/{product}/")
}

/// An S3-compatible bucket a product lives in:
/// `{"type": "s3", "endpoint": "https://s3.eu-west-1.amazonaws.com", "bucket": "data",
/// "prefix": "p/", "region": "eu-west-1", "credentials": "BACKEND_DATA"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct S3Backend {
    /// `https://host[:port]` (http on loopback), without path, query or fragment.
    #[serde(deserialize_with = "endpoint")]
    pub(crate) endpoint: String,
    /// 1 to 255 characters of `A-Za-z0-9._-`.
    #[serde(deserialize_with = "bucket")]
    pub(crate) bucket: String,
    #[serde(default)]
    pub(crate) prefix: String,
    /// The SigV4 signing region. Default `us-east-1`; R2 takes `auto`.
    #[serde(default = "default_region", deserialize_with = "region")]
    pub(crate) region: String,
    /// The name of the worker secret holding `ACCESS_KEY_ID:SECRET_ACCESS_KEY`. It must begin
    /// with `BACKEND_`, so that a catalogue can never point the proxy at the provider's or the
    /// STS's keys. None: requests go unsigned (a public bucket).
    #[serde(default, deserialize_with = "credentials_name")]
    pub(crate) credentials: Option<String>,
}

/// The prefix a backend credentials secret's name must have.
const BACKEND_SECRET_PREFIX: &str = "BACKEND_";

fn default_region() -> String {
    "us-east-1".to_owned()
}

fn endpoint<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::de::Error;
    let s = String::deserialize(d)?;
    let trimmed = s.trim_end_matches('/');
    let uri = crate::identity::check_https_url(trimmed).map_err(|e| D::Error::custom(format!("endpoint: {e}")))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(D::Error::custom("endpoint: must be an origin, without path or query"));
    }
    Ok(trimmed.to_owned())
}

fn bucket<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok || s == "." || s == ".." {
        return Err(serde::de::Error::custom("bucket: 1 to 255 of A-Za-z0-9._-"));
    }
    Ok(s)
}

fn region<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(serde::de::Error::custom("region: 1 to 32 of a-z0-9-"));
    }
    Ok(s)
}

fn credentials_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let ok = s.len() > BACKEND_SECRET_PREFIX.len()
        && s.len() <= 128
        && s.starts_with(BACKEND_SECRET_PREFIX)
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(serde::de::Error::custom(
            "credentials: a secret name BACKEND_[A-Z0-9_]+",
        ));
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> BackendSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_upstream_r2_prefix_must_lie_within_the_products_own() {
        let check = |json: serde_json::Value| spec(json).check_upstream("demo", "pub");
        assert_eq!(check(serde_json::json!({"type": "r2"})), Ok(()));
        assert_eq!(check(serde_json::json!({"type": "r2", "prefix": "demo/pub/"})), Ok(()));
        assert_eq!(
            check(serde_json::json!({"type": "r2", "prefix": "demo/pub/v2/"})),
            Ok(())
        );
        for outside in ["", "demo/", "demo/pub-restricted/", "demo/other/", "other/pub/"] {
            assert_eq!(
                check(serde_json::json!({"type": "r2", "prefix": outside})),
                Err(PrefixError::OutsideProductNamespace),
                "{outside}"
            );
        }
        assert_eq!(
            check(serde_json::json!({"type": "r2", "prefix": "demo/pub/x"})),
            Err(PrefixError::NoTrailingSlash)
        );
    }

    #[test]
    fn an_upstream_s3_prefix_needs_only_its_trailing_slash() {
        let s3 = |prefix: &str| {
            spec(serde_json::json!({"type": "s3", "endpoint": "https://s3.example", "bucket": "b", "prefix": prefix}))
        };
        assert_eq!(s3("").check_upstream("demo", "pub"), Ok(()));
        assert_eq!(s3("anything/").check_upstream("demo", "pub"), Ok(()));
        assert_eq!(
            s3("pub").check_upstream("demo", "pub"),
            Err(PrefixError::NoTrailingSlash)
        );
    }

    #[test]
    fn the_default_r2_prefix_is_the_account_and_product_and_round_trips() {
        let r2 = spec(serde_json::json!({"type": "r2"}));
        assert_eq!(r2.prefix("demo", "pub"), "demo/pub/");
        // Cached answers keep "no prefix" as such.
        assert_eq!(serde_json::to_value(&r2).unwrap(), serde_json::json!({"type": "r2"}));
        let explicit = spec(serde_json::json!({"type": "r2", "prefix": ""}));
        assert_eq!(explicit.prefix("demo", "pub"), "");
    }

    #[test]
    fn stores_compare_endpoints_case_insensitively_and_buckets_exactly() {
        let s3 = |endpoint: &str, bucket: &str| {
            spec(serde_json::json!({"type": "s3", "endpoint": endpoint, "bucket": bucket})).store_id()
        };
        assert_eq!(s3("https://S3.example", "b"), s3("https://s3.example/", "b"));
        assert_ne!(s3("https://s3.example", "b"), s3("https://s3.example", "B"));
        assert_ne!(s3("https://s3.example", "b"), StoreId::R2);
    }

    #[test]
    fn an_endpoint_is_the_same_store_with_or_without_its_schemes_default_port() {
        let s3 =
            |endpoint: &str| spec(serde_json::json!({"type": "s3", "endpoint": endpoint, "bucket": "b"})).store_id();
        assert_eq!(s3("https://s3.example:443"), s3("https://S3.example"));
        assert_eq!(s3("http://127.0.0.1:80"), s3("http://127.0.0.1"));
        assert_ne!(s3("https://s3.example:8443"), s3("https://s3.example"));
        assert_ne!(s3("http://127.0.0.1:443"), s3("https://127.0.0.1"));
    }
}
