//! The embedded catalogue: products, their visibility, readers and backends, from the
//! `CATALOGUE` var (JSON). It answers the same questions as the upstream API, per caller:
//! a public product may be read and listed by everyone; a restricted one only by the
//! callers in its `readers`.
//!
//! A caller is the pair (issuer, subject): a reader is `{"iss": "<issuer>", "sub": "<subject>"}`,
//! or a bare subject string, which means that subject at the one trusted issuer and is a
//! configuration error (naming the product) while `AUTH_ISSUER` trusts several. So trusting a
//! second IdP never lets its `alice` read what the first IdP's `alice` may.
//!
//! Backends: an R2 product without a `prefix` lives under `{account}/{product}/` of the
//! shared bucket; an explicit prefix is empty or ends in `/`; and no two products' key
//! spaces may nest (same store, one prefix the beginning of the other), so that no product
//! can be read through another. A catalogue breaking these rules is refused as a whole.
//!
//! ```json
//! {"accounts": {"demo": {"products": {
//!   "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
//!   "restricted-data": {"visibility": "restricted",
//!                       "readers": ["alice", {"iss": "https://ci.example", "sub": "repo:x/y:ref:refs/heads/main"}],
//!                       "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::access::{AccessError, Permissions, ProductAccess, ProductSummary, Visibility};
use crate::backend::spec::{BackendSpec, PrefixError, StoreId};
use crate::identity::{Caller, Issuer};

/// Why a catalogue is refused. Names accounts and products, never other values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CatalogueError {
    #[error("not a valid catalogue ({category})")]
    Malformed { category: &'static str },
    #[error("product {product}: {reason}")]
    BadPrefix { product: String, reason: PrefixError },
    #[error(
        "products {first} and {second} share a backend and their prefixes nest, so each could read the other's objects"
    )]
    Overlap { first: String, second: String },
    #[error(
        "product {product} names a reader by subject alone, but AUTH_ISSUER trusts several issuers: \
         write it as {{\"iss\": ..., \"sub\": ...}}"
    )]
    BareSubject { product: String },
}

/// A reader as written in the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ReaderSpec {
    /// A subject of the one trusted issuer.
    Subject(String),
    Caller {
        iss: String,
        sub: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    visibility: Visibility,
    #[serde(default)]
    readers: Vec<ReaderSpec>,
    backend: BackendSpec,
    /// `readers` with each bare subject given its issuer, filled in by [`Catalogue::parse`].
    #[serde(skip)]
    resolved: Vec<(String, String)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    products: BTreeMap<String, ProductEntry>,
}

/// A parsed catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Catalogue {
    accounts: BTreeMap<String, AccountEntry>,
}

impl Catalogue {
    /// Parses the catalogue; `issuers` are the trusted issuers (`AUTH_ISSUER`), which decide
    /// what a bare-subject reader means.
    pub(crate) fn parse(json: &str, issuers: &[Issuer]) -> Result<Self, CatalogueError> {
        let mut catalogue: Self = serde_json::from_str(json).map_err(|e| CatalogueError::Malformed {
            category: e.classify_name(),
        })?;
        catalogue.check_backends()?;
        catalogue.resolve_readers(issuers)?;
        Ok(catalogue)
    }

    /// Gives every bare-subject reader its issuer: the one trusted issuer.
    fn resolve_readers(&mut self, issuers: &[Issuer]) -> Result<(), CatalogueError> {
        for (account, entry) in &mut self.accounts {
            for (product, e) in &mut entry.products {
                e.resolved = e
                    .readers
                    .iter()
                    .map(|r| match r {
                        ReaderSpec::Caller { iss, sub } => Ok((iss.clone(), sub.clone())),
                        ReaderSpec::Subject(sub) => match issuers {
                            [only] => Ok((only.as_str().to_owned(), sub.clone())),
                            // Nobody can sign in: the reader can match no one.
                            [] => Ok((String::new(), sub.clone())),
                            _ => Err(CatalogueError::BareSubject {
                                product: format!("{account}/{product}"),
                            }),
                        },
                    })
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(())
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

    /// The kinds of backend its products use, sorted: `r2`, `s3`.
    pub(crate) fn backend_kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self
            .accounts
            .values()
            .flat_map(|a| a.products.values())
            .map(|e| match e.backend {
                BackendSpec::R2 { .. } => "r2",
                BackendSpec::S3(_) => "s3",
            })
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    fn entry(&self, account: &str, product: &str) -> Result<&ProductEntry, AccessError> {
        let account = self.accounts.get(account).ok_or(AccessError::NoSuchAccount)?;
        account.products.get(product).ok_or(AccessError::NoSuchProduct)
    }

    /// What `caller` (`None`: anonymous) may do with one product.
    pub(crate) fn product(
        &self,
        account: &str,
        product: &str,
        caller: Option<&Caller>,
    ) -> Result<ProductAccess, AccessError> {
        let e = self.entry(account, product)?;
        Ok(access(e, caller))
    }

    /// Every product of an account, with what `caller` may do with each.
    pub(crate) fn products(&self, account: &str, caller: Option<&Caller>) -> Result<Vec<ProductSummary>, AccessError> {
        let account = self.accounts.get(account).ok_or(AccessError::NoSuchAccount)?;
        Ok(account
            .products
            .iter()
            .map(|(name, e)| {
                let a = access(e, caller);
                ProductSummary {
                    name: name.clone(),
                    visibility: a.visibility,
                    permissions: a.permissions,
                }
            })
            .collect())
    }
}

fn access(e: &ProductEntry, caller: Option<&Caller>) -> ProductAccess {
    let allowed = match e.visibility {
        Visibility::Public => true,
        // Both halves of the pair must match: a subject means nothing without its issuer.
        Visibility::Restricted => caller.is_some_and(|c| {
            e.resolved
                .iter()
                .any(|(iss, sub)| iss == c.issuer.as_str() && sub == c.subject.as_str())
        }),
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
pub(crate) mod tests {
    use super::*;

    /// A public and a restricted product (read by `alice`) of the account `demo`, on R2.
    pub(crate) const DEMO: &str = r#"{"accounts": {"demo": {"products": {
        "public-data": {"visibility": "public", "backend": {"type": "r2", "prefix": "demo/public-data/"}},
        "restricted-data": {"visibility": "restricted", "readers": ["alice"],
                            "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}"#;

    const IDP: &str = "https://idp.example";

    fn issuers(list: &[&str]) -> Vec<Issuer> {
        list.iter().map(|i| Issuer::parse_trusted(i).unwrap()).collect()
    }

    fn caller(iss: &str, sub: &str) -> Caller {
        Caller::new(
            Issuer::parse_trusted(iss).unwrap(),
            crate::identity::Subject::parse(sub).unwrap(),
        )
    }

    fn demo() -> Catalogue {
        Catalogue::parse(DEMO, &issuers(&[IDP])).unwrap()
    }

    #[test]
    fn public_products_are_open_to_everyone() {
        let c = demo();
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
        let c = demo();
        let read = |who: Option<&Caller>| c.product("demo", "restricted-data", who).unwrap().permissions.read;
        assert!(!read(None));
        assert!(!read(Some(&caller(IDP, "bob"))));
        assert!(read(Some(&caller(IDP, "alice"))));
    }

    #[test]
    fn a_reader_is_an_issuer_and_subject_pair() {
        const TWO: &str = r#"{"accounts": {"demo": {"products": {
            "restricted-data": {"visibility": "restricted",
                "readers": [{"iss": "https://idp.example", "sub": "alice"}],
                "backend": {"type": "r2", "prefix": "demo/restricted-data/"}}}}}}"#;
        let c = Catalogue::parse(TWO, &issuers(&[IDP, "https://ci.example"])).unwrap();
        let read = |who: &Caller| {
            c.product("demo", "restricted-data", Some(who))
                .unwrap()
                .permissions
                .read
        };
        assert!(read(&caller(IDP, "alice")));
        // The same subject at another trusted issuer is somebody else.
        assert!(!read(&caller("https://ci.example", "alice")));
        let listed = c
            .products("demo", Some(&caller("https://ci.example", "alice")))
            .unwrap();
        assert!(!listed[0].permissions.list);
    }

    #[test]
    fn a_bare_subject_reader_is_refused_while_several_issuers_are_trusted() {
        let err = Catalogue::parse(DEMO, &issuers(&[IDP, "https://ci.example"])).unwrap_err();
        assert!(err.to_string().contains("demo/restricted-data"), "{err}");
        // One trusted issuer: the bare subject is that issuer's.
        let c = demo();
        let other = c.product("demo", "restricted-data", Some(&caller("https://ci.example", "alice")));
        assert!(!other.unwrap().permissions.read);
        // No issuer at all: nobody can sign in, and the reader matches no one.
        assert!(Catalogue::parse(DEMO, &[]).is_ok());
    }

    #[test]
    fn unknown_accounts_and_products_are_told_apart() {
        let c = demo();
        assert_eq!(c.product("nope", "x", None), Err(AccessError::NoSuchAccount));
        assert_eq!(c.product("demo", "x", None), Err(AccessError::NoSuchProduct));
        assert_eq!(c.products("demo", None).unwrap().len(), 2);
    }

    #[test]
    fn malformed_catalogues_are_refused_without_echoing_them() {
        let err = Catalogue::parse(
            r#"{"accounts": {"MARKER": {"products": {"p": {"visibility": "secret"}}}}}"#,
            &[],
        )
        .unwrap_err();
        assert!(!err.to_string().contains("MARKER"));
        assert!(Catalogue::parse("nope", &[]).is_err());
    }

    fn one_account(products: &str) -> String {
        format!(r#"{{"accounts": {{"demo": {{"products": {{{products}}}}}}}}}"#)
    }

    #[test]
    fn an_r2_product_without_a_prefix_gets_its_own_account_and_product_prefix() {
        let c = Catalogue::parse(
            &one_account(
                r#""a": {"visibility": "public", "backend": {"type": "r2"}},
               "b": {"visibility": "public", "backend": {"type": "r2"}}"#,
            ),
            &[],
        )
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
            let err = Catalogue::parse(&json, &[]).unwrap_err();
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
            assert!(Catalogue::parse(&json, &[]).is_ok(), "{fine}");
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
            let err = Catalogue::parse(&json, &[]).unwrap_err();
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
        Catalogue::parse(&json, &[]).unwrap();
    }
}
