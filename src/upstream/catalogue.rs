//! The embedded catalogue: products, their visibility, readers and backends, from the
//! `CATALOGUE` var (JSON). It answers the same questions as the upstream API, per caller:
//! a public product may be read and listed by everyone; a restricted one only by the
//! subjects in its `readers`.
//!
//! Backends: an R2 product without a `prefix` lives under `{account}/{product}/` of the
//! shared bucket; an explicit prefix is empty or ends in `/`; and no two products' key
//! spaces may nest (same store, one prefix the beginning of the other), so that no product
//! can be read through another. A catalogue breaking these rules is refused as a whole.
//!
//! ```json
//! {"accounts": {"demo": {"products": {
//!   "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
//!   "restricted-data": {"visibility": "restricted", "readers": ["alice"],
//!                       "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::upstream::{
    AccessError, BackendSpec, Permissions, PrefixError, ProductAccess, ProductSummary, StoreId, Visibility,
};

/// Why a catalogue is refused. Names accounts and products, never other values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("not a valid catalogue ({category})")]
    Malformed { category: &'static str },
    #[error("product {product}: {reason}")]
    BadPrefix { product: String, reason: PrefixError },
    #[error(
        "products {first} and {second} share a backend and their prefixes nest, so each could read the other's objects"
    )]
    Overlap { first: String, second: String },
}

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
    pub fn parse(json: &str) -> Result<Self, CatalogueError> {
        let catalogue: Self = serde_json::from_str(json).map_err(|e| CatalogueError::Malformed {
            category: e.classify_name(),
        })?;
        catalogue.check_backends()?;
        Ok(catalogue)
    }

    /// Every prefix empty or ending in `/`, and no two products' key spaces nested.
    fn check_backends(&self) -> Result<(), CatalogueError> {
        let mut spaces: Vec<(StoreId, String, String)> = Vec::new();
        for (account, entry) in &self.accounts {
            for (product, e) in &entry.products {
                let name = format!("{account}/{product}");
                e.backend.check_prefix().map_err(|reason| CatalogueError::BadPrefix {
                    product: name.clone(),
                    reason,
                })?;
                spaces.push((e.backend.store_id(), e.backend.prefix(account, product), name));
            }
        }
        // Sorted, a prefix comes right before the prefixes it is the beginning of (anything
        // between them begins with it too), so neighbours are the only pairs to compare.
        spaces.sort();
        for pair in spaces.windows(2) {
            let [(store_a, prefix_a, first), (store_b, prefix_b, second)] = pair else {
                continue;
            };
            if store_a == store_b && prefix_b.starts_with(prefix_a.as_str()) {
                return Err(CatalogueError::Overlap {
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
        Ok(())
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
                prefix: Some("demo/public-data/".into())
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
        assert!(!err.to_string().contains("MARKER"));
        assert!(Catalogue::parse("nope").is_err());
    }

    fn one_account(products: &str) -> String {
        format!(r#"{{"accounts": {{"demo": {{"products": {{{products}}}}}}}}}"#)
    }

    #[test]
    fn an_r2_product_without_a_prefix_gets_its_own_account_and_product_prefix() {
        let c = Catalogue::parse(&one_account(
            r#""a": {"visibility": "public", "backend": {"type": "r2"}},
               "b": {"visibility": "public", "backend": {"type": "r2"}}"#,
        ))
        .unwrap();
        let a = c.product("demo", "a", None).unwrap();
        assert_eq!(a.backend.prefix("demo", "a"), "demo/a/");
        assert_eq!(
            c.product("demo", "b", None).unwrap().backend.prefix("demo", "b"),
            "demo/b/"
        );
    }

    #[test]
    fn a_prefix_without_a_trailing_slash_is_refused_naming_the_product() {
        for backend in [
            r#"{"type": "r2", "prefix": "demo/pub"}"#,
            r#"{"type": "s3", "endpoint": "https://s3.example", "bucket": "b", "prefix": "pub"}"#,
        ] {
            let json = one_account(&format!(r#""pub": {{"visibility": "public", "backend": {backend}}}"#));
            let err = Catalogue::parse(&json).unwrap_err();
            assert_eq!(
                err,
                CatalogueError::BadPrefix {
                    product: "demo/pub".into(),
                    reason: PrefixError::NoTrailingSlash
                },
                "{backend}"
            );
            assert!(err.to_string().contains("demo/pub"));
        }
        for fine in [r#""prefix": """#, r#""prefix": "x/""#] {
            let json = one_account(&format!(
                r#""p": {{"visibility": "public", "backend": {{"type": "r2", {fine}}}}}"#
            ));
            assert!(Catalogue::parse(&json).is_ok(), "{fine}");
        }
    }

    #[test]
    fn nested_prefixes_on_one_store_are_refused_naming_both_products() {
        let s3 = |bucket: &str, prefix: &str| {
            format!(r#"{{"type": "s3", "endpoint": "https://s3.example", "bucket": "{bucket}", "prefix": "{prefix}"}}"#)
        };
        let cases = [
            // An explicit prefix inside another product's default.
            (
                r#"{"type": "r2", "prefix": "demo/b/x/"}"#.to_owned(),
                r#"{"type": "r2"}"#.to_owned(),
            ),
            // The whole bucket and anything else in it.
            (
                r#"{"type": "r2", "prefix": ""}"#.into(),
                r#"{"type": "r2", "prefix": "z/"}"#.into(),
            ),
            // The same prefix twice.
            (
                r#"{"type": "r2", "prefix": "same/"}"#.into(),
                r#"{"type": "r2", "prefix": "same/"}"#.into(),
            ),
            (s3("data", ""), s3("data", "p/")),
            (s3("data", "p/"), s3("data", "p/q/")),
        ];
        for (a, b) in cases {
            let json = one_account(&format!(
                r#""a": {{"visibility": "public", "backend": {a}}}, "b": {{"visibility": "restricted", "backend": {b}}}"#
            ));
            let err = Catalogue::parse(&json).unwrap_err();
            let CatalogueError::Overlap { first, second } = &err else {
                panic!("{a} {b}: {err:?}");
            };
            let mut named = [first.as_str(), second.as_str()];
            named.sort_unstable();
            assert_eq!(named, ["demo/a", "demo/b"], "{a} {b}");
            assert!(err.to_string().contains("demo/a") && err.to_string().contains("demo/b"));
        }
    }

    #[test]
    fn disjoint_prefixes_and_separate_stores_are_accepted() {
        let s3 = |endpoint: &str, bucket: &str| {
            format!(r#"{{"type": "s3", "endpoint": "{endpoint}", "bucket": "{bucket}"}}"#)
        };
        let json = format!(
            r#"{{"accounts": {{
                "demo": {{"products": {{
                    "pub": {{"visibility": "public", "backend": {{"type": "r2", "prefix": "demo/pub/"}}}},
                    "pub-restricted": {{"visibility": "public", "backend": {{"type": "r2", "prefix": "demo/pub-restricted/"}}}},
                    "x": {{"visibility": "public", "backend": {x}}},
                    "y": {{"visibility": "public", "backend": {y}}},
                    "z": {{"visibility": "public", "backend": {z}}}}}}},
                "demo2": {{"products": {{"pub": {{"visibility": "public", "backend": {{"type": "r2"}}}}}}}}}}}}"#,
            x = s3("https://s3.example", "one"),
            y = s3("https://s3.example", "two"),
            z = s3("https://other.example", "one"),
        );
        Catalogue::parse(&json).unwrap();
    }
}
