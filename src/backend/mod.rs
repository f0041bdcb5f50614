//! The object stores behind the proxy, and how the S3 read path reaches a product's.
//!
//! | module | what |
//! |---|---|
//! | [`spec`] | where a product's objects live (R2 or an S3-compatible bucket), prefix rules |
//! | [`store`] | the `ObjectStore` trait (the R2 binding implements it in the adapter) |
//! | [`remote`] | `ObjectStore` on an S3-compatible HTTP endpoint: path-style URLs, XML listings |
//! | [`sign`] | SigV4 signing of the worker's own requests to such endpoints |

pub(crate) mod remote;
pub(crate) mod sign;
pub(crate) mod spec;
pub(crate) mod store;

use crate::platform::{HttpClient, Io};
use remote::RemoteStore;
use sign::BackendCredentials;
use spec::BackendSpec;
use store::{ListPage, ListQuery, ObjectStore, StoreError, StoredObject};

/// The object store a product lives in, for one request.
pub(crate) enum ProductStore<'a, R, H> {
    R2(&'a R),
    Remote(RemoteStore<'a, H>),
}

impl<R: ObjectStore, H: HttpClient> ObjectStore for ProductStore<'_, R, H> {
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        match self {
            ProductStore::R2(s) => s.head(key).await,
            ProductStore::Remote(s) => s.head(key).await,
        }
    }
    async fn get(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<(StoredObject, crate::web::StreamBody)>, StoreError> {
        match self {
            ProductStore::R2(s) => s.get(key, range).await,
            ProductStore::Remote(s) => s.get(key, range).await,
        }
    }
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        match self {
            ProductStore::R2(s) => s.list(query).await,
            ProductStore::Remote(s) => s.list(query).await,
        }
    }
}

/// The store behind `backend`, for one request: the R2 binding, or an S3-compatible endpoint
/// with the credentials its entry names (looked up now, so a rotated secret takes effect at
/// once; a missing or malformed one is logged by name, never by value).
pub(crate) fn open<'a, H: HttpClient, R>(
    backend: &'a BackendSpec,
    io: &'a Io<'_, H, R>,
) -> Result<ProductStore<'a, R, H>, StoreError> {
    let BackendSpec::S3(remote) = backend else {
        return Ok(ProductStore::R2(io.store));
    };
    let credentials = match &remote.credentials {
        None => None,
        Some(name) => {
            let parsed = io
                .secrets
                .secret(name)
                .and_then(|value| BackendCredentials::parse(value.expose_secret()));
            if parsed.is_none() {
                io.log.log(&serde_json::json!({
                    "level": "error", "msg": "backend credentials missing or malformed", "secret": name,
                }));
                return Err(StoreError::Credentials { name: name.clone() });
            }
            parsed
        }
    };
    Ok(ProductStore::Remote(RemoteStore {
        backend: remote,
        credentials,
        http: io.http,
        clock: io.clock,
    }))
}
