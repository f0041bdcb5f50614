//! The embedded catalogue (`access::catalogue`, the `CATALOGUE` var's JSON).
//!
//! The input is the JSON text, parsed with no trusted issuer, one, and two. Then:
//! - a bare-subject reader is the only thing the number of issuers changes: the parse with
//!   none and with one give the same answer, and with two the same again or `BareSubject`;
//! - a catalogue accepted has, for every product it names, an answer whose backend prefix is
//!   empty or ends in `/`, a public product readable by anyone and a restricted one by no
//!   anonymous caller, and no two products on one store whose prefixes nest (one the
//!   beginning of the other). One store is one origin (scheme, host in any case, port with
//!   the scheme's default made explicit) and one bucket, or the R2 binding. So a catalogue
//!   with nesting prefixes is always refused;
//! - a catalogue refused for nesting names two products that do nest, and one refused for
//!   its prefix names a product whose prefix lacks the trailing `/`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::access::catalogue::{Catalogue, CatalogueError};
use crate::access::Visibility;
use crate::backend::spec::{BackendSpec, PrefixError};
use crate::identity::Issuer;

/// Where a backend's objects live, as the fuzz target tells stores apart.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Store {
    R2,
    S3 {
        scheme: String,
        host: String,
        port: u16,
        bucket: String,
    },
}

fn store(backend: &BackendSpec) -> Store {
    match backend {
        BackendSpec::R2 { .. } => Store::R2,
        BackendSpec::S3(b) => {
            let uri: http::Uri = b
                .endpoint
                .parse()
                .unwrap_or_else(|_| panic!("an accepted endpoint {:?} is not a URI", b.endpoint));
            let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
            let default = if scheme == "https" { 443 } else { 80 };
            Store::S3 {
                host: uri.host().unwrap_or_default().to_ascii_lowercase(),
                port: uri.port_u16().unwrap_or(default),
                scheme,
                bucket: b.bucket.clone(),
            }
        }
    }
}

/// Every product the JSON names, by account: what the parser must have taken in.
fn named(json: &str) -> BTreeMap<String, Vec<String>> {
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        panic!("an accepted catalogue is not JSON");
    };
    let accounts = doc
        .get("accounts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    accounts
        .into_iter()
        .map(|(account, entry)| {
            let products = entry.get("products").and_then(Value::as_object);
            (
                account,
                products.map(|p| p.keys().cloned().collect()).unwrap_or_default(),
            )
        })
        .collect()
}

pub fn catalogue(data: &[u8]) {
    let Some(json) = super::text(data) else { return };
    let issuers: Vec<Issuer> = ["https://idp.example", "https://ci.example"]
        .iter()
        .filter_map(|i| Issuer::parse_trusted(i).ok())
        .collect();
    let none = Catalogue::parse(json, &[]);
    let one = Catalogue::parse(json, issuers.get(..1).unwrap_or_default());
    let two = Catalogue::parse(json, &issuers);
    let outcome = |r: &Result<Catalogue, CatalogueError>| r.as_ref().map(|_| ()).map_err(Clone::clone);
    assert_eq!(outcome(&none), outcome(&one));
    if !matches!(two, Err(CatalogueError::BareSubject { .. })) {
        assert_eq!(outcome(&two), outcome(&one));
    }
    match one {
        Ok(catalogue) => accepted(json, &catalogue),
        Err(CatalogueError::Overlap { first, second }) => {
            let (a, b) = (backends_of(json, &first), backends_of(json, &second));
            let nest = |(sa, pa): &(Store, String), (sb, pb): &(Store, String)| {
                sa == sb && (pa.starts_with(pb.as_str()) || pb.starts_with(pa.as_str()))
            };
            assert!(
                a.iter().any(|x| b.iter().any(|y| nest(x, y))),
                "{first} and {second} were called nested: {a:?} {b:?}"
            );
        }
        Err(CatalogueError::BadPrefix { product, reason }) => {
            assert_eq!(reason, PrefixError::NoTrailingSlash);
            let candidates = backends_of(json, &product);
            assert!(
                candidates.iter().any(|(_, p)| !p.is_empty() && !p.ends_with('/')),
                "{product}: {candidates:?}"
            );
        }
        Err(_) => {}
    }
}

/// The store and prefix of every product the JSON names `name` (`account/product`, where
/// either may hold a `/` of its own), for a catalogue refused as a whole.
fn backends_of(json: &str, name: &str) -> Vec<(Store, String)> {
    let doc: Value = serde_json::from_str(json).unwrap_or_default();
    let mut found = Vec::new();
    for (account, products) in named(json) {
        for product in products.iter().filter(|p| format!("{account}/{p}") == name) {
            let spec = doc["accounts"][&account]["products"][product]["backend"].clone();
            if let Ok(backend) = serde_json::from_value::<BackendSpec>(spec) {
                found.push((store(&backend), backend.prefix(&account, product)));
            }
        }
    }
    assert!(
        !found.is_empty(),
        "the refusal names {name}, which the JSON does not hold"
    );
    found
}

fn accepted(json: &str, catalogue: &Catalogue) {
    let mut spaces: Vec<(Store, String, String)> = Vec::new();
    for (account, products) in named(json) {
        let Ok(summaries) = catalogue.products(&account, None) else {
            panic!("account {account} is missing");
        };
        let listed: Vec<&str> = summaries.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(listed, products, "the products of {account}");
        for product in products {
            let Ok(access) = catalogue.product(&account, &product, None) else {
                panic!("{account}/{product} is missing");
            };
            let public = access.visibility == Visibility::Public;
            assert_eq!(access.permissions.read, public, "{account}/{product}: anonymous read");
            assert_eq!(access.permissions.list, public, "{account}/{product}: anonymous list");
            let prefix = access.backend.prefix(&account, &product);
            assert!(
                prefix.is_empty() || prefix.ends_with('/'),
                "{account}/{product}: prefix {prefix:?}"
            );
            spaces.push((store(&access.backend), prefix, format!("{account}/{product}")));
        }
    }
    for (i, (store_a, prefix_a, a)) in spaces.iter().enumerate() {
        for (store_b, prefix_b, b) in spaces.iter().skip(i + 1) {
            assert!(
                store_a != store_b
                    || !(prefix_a.starts_with(prefix_b.as_str()) || prefix_b.starts_with(prefix_a.as_str())),
                "{a} ({prefix_a:?}) and {b} ({prefix_b:?}) nest on {store_a:?}, yet the catalogue was accepted"
            );
        }
    }
}
