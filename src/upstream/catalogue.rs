//! The embedded catalogue: products, their visibility, readers and backends, from the
//! `CATALOGUE` var (JSON). It answers the same questions as the upstream API, per caller:
//! a public product may be read and listed by everyone; a restricted one only by the
//! subjects in its `readers`.
//!
//! ```json
//! {"accounts": {"demo": {"products": {
//!   "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
//!   "restricted-data": {"visibility": "restricted", "readers": ["alice"],
//!                       "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::upstream::{AccessError, BackendSpec, Permissions, ProductAccess, ProductSummary, Visibility};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    visibility: Visibility,
    #[serde(default)]
    readers: Vec<String>,
    backend: BackendSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    products: BTreeMap<String, ProductEntry>,
}

/// A parsed catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    accounts: BTreeMap<String, AccountEntry>,
}

impl Catalogue {
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("not a valid catalogue ({})", e.classify_name()))
    }

    fn entry(&self, account: &str, product: &str) -> Result<&ProductEntry, AccessError> {
        let account = self.accounts.get(account).ok_or(AccessError::NoSuchAccount)?;
        account.products.get(product).ok_or(AccessError::NoSuchProduct)
    }

    /// What `subject` (`None`: anonymous) may do with one product.
    pub fn product(&self, account: &str, product: &str, subject: Option<&str>) -> Result<ProductAccess, AccessError> {
        let e = self.entry(account, product)?;
        Ok(access(e, subject))
    }

    /// Every product of an account, with what `subject` may do with each.
    pub fn products(&self, account: &str, subject: Option<&str>) -> Result<Vec<ProductSummary>, AccessError> {
        let account = self.accounts.get(account).ok_or(AccessError::NoSuchAccount)?;
        Ok(account
            .products
            .iter()
            .map(|(name, e)| {
                let a = access(e, subject);
                ProductSummary {
                    name: name.clone(),
                    visibility: a.visibility,
                    permissions: a.permissions,
                }
            })
            .collect())
    }
}

fn access(e: &ProductEntry, subject: Option<&str>) -> ProductAccess {
    let allowed = match e.visibility {
        Visibility::Public => true,
        Visibility::Restricted => subject.is_some_and(|s| e.readers.iter().any(|r| r == s)),
    };
    ProductAccess {
        visibility: e.visibility,
        permissions: Permissions {
            read: allowed,
            list: allowed,
        },
        backend: e.backend.clone(),
    }
}

/// Small JSON helper: serde_json's error category, never the input.
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected fields or types",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"{"accounts": {"demo": {"products": {
        "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
        "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}"#;

    #[test]
    fn public_products_are_open_to_everyone() {
        let c = Catalogue::parse(DEMO).unwrap();
        let a = c.product("demo", "public-data", None).unwrap();
        assert_eq!(a.permissions, Permissions { read: true, list: true });
        assert_eq!(
            a.backend,
            BackendSpec::R2 {
                prefix: "demo/public-data/".into()
            }
        );
    }

    #[test]
    fn restricted_products_are_open_to_their_readers_only() {
        let c = Catalogue::parse(DEMO).unwrap();
        assert!(!c.product("demo", "restricted-data", None).unwrap().permissions.read);
        assert!(
            !c.product("demo", "restricted-data", Some("bob"))
                .unwrap()
                .permissions
                .read
        );
        assert!(
            c.product("demo", "restricted-data", Some("alice"))
                .unwrap()
                .permissions
                .read
        );
    }

    #[test]
    fn unknown_accounts_and_products_are_told_apart() {
        let c = Catalogue::parse(DEMO).unwrap();
        assert_eq!(c.product("nope", "x", None), Err(AccessError::NoSuchAccount));
        assert_eq!(c.product("demo", "x", None), Err(AccessError::NoSuchProduct));
        assert_eq!(c.products("demo", None).unwrap().len(), 2);
    }

    #[test]
    fn malformed_catalogues_are_refused_without_echoing_them() {
        let err =
            Catalogue::parse(r#"{"accounts": {"MARKER": {"products": {"p": {"visibility": "secret"}}}}}"#).unwrap_err();
        assert!(!err.contains("MARKER"));
        assert!(Catalogue::parse("nope").is_err());
    }
}
