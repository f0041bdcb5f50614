//! The upstream API's answers (`access::upstream`): `GET /products/{account}/{product}` and
//! `GET /accounts/{account}/products`, both parsed from the same input (a 200's body).
//! - An answer about a product that parses, serialised again (as the shared cache keeps it)
//!   and parsed again, is the same answer; so is an account's product list.
//! - An answer whose prefix passes the upstream rules (`check_upstream`) has a prefix that is
//!   empty or ends in `/`, and on R2 one inside the product's own `{account}/{product}/`.

use http::Response;
use serde_json::json;

use crate::access::upstream::{product_response, products_response};
use crate::access::ProductSummary;
use crate::backend::spec::BackendSpec;

pub fn upstream_answer(data: &[u8]) {
    let ok = |body: Vec<u8>| Response::new(body);
    if let Ok(access) = product_response(&ok(data.to_vec())) {
        let Ok(json) = serde_json::to_vec(&access) else {
            panic!("{access:?} does not serialise");
        };
        assert_eq!(product_response(&ok(json)), Ok(access.clone()), "re-parsed");
        if access.backend.check_upstream("demo", "pub").is_ok() {
            let prefix = access.backend.prefix("demo", "pub");
            assert!(prefix.is_empty() || prefix.ends_with('/'), "{prefix:?}");
            if let BackendSpec::R2 { .. } = access.backend {
                assert!(prefix.starts_with("demo/pub/"), "{prefix:?}");
            }
        }
    }
    if let Ok(products) = products_response(&ok(data.to_vec())) {
        let Ok(json) = serde_json::to_vec(&products) else {
            panic!("{products:?} do not serialise");
        };
        assert_eq!(
            serde_json::from_slice::<Vec<ProductSummary>>(&json).ok().as_ref(),
            Some(&products),
            "re-parsed"
        );
        // And in the upstream API's own form.
        let entries: Vec<_> = products
            .iter()
            .map(|p| json!({"product": p.name, "visibility": p.visibility, "permissions": p.permissions}))
            .collect();
        let doc = json!({ "products": entries }).to_string().into_bytes();
        assert_eq!(products_response(&ok(doc)), Ok(products), "re-parsed in the API's form");
    }
}
