//! Object storage behind the proxy, as a trait the adapter implements (R2 binding today).
//! Keys here are backend keys: the product's backend prefix is already applied.

use crate::web::StreamBody;

/// An object's metadata, as a backend reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    /// The entity tag, quoted (`"…"`).
    pub etag: String,
    pub last_modified_secs: u64,
    pub content_type: Option<String>,
}

/// One listing request against a backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub start_after: Option<String>,
    /// The backend's own cursor from a previous page.
    pub cursor: Option<String>,
    pub limit: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    pub objects: Vec<StoredObject>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend unavailable")]
    Unavailable,
    #[error("storage backend is not configured")]
    NotConfigured,
}

#[allow(async_fn_in_trait)] // single-threaded runtime: futures need not be Send
pub trait ObjectStore {
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError>;
    /// The object, or `length` bytes of it from `offset`.
    async fn get(&self, key: &str, range: Option<(u64, u64)>)
        -> Result<Option<(StoredObject, StreamBody)>, StoreError>;
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError>;
}

/// A store with nothing in it, where no backend is configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStore;

impl ObjectStore for NoStore {
    async fn head(&self, _key: &str) -> Result<Option<StoredObject>, StoreError> {
        Err(StoreError::NotConfigured)
    }
    async fn get(
        &self,
        _key: &str,
        _range: Option<(u64, u64)>,
    ) -> Result<Option<(StoredObject, StreamBody)>, StoreError> {
        Err(StoreError::NotConfigured)
    }
    async fn list(&self, _query: &ListQuery) -> Result<ListPage, StoreError> {
        Err(StoreError::NotConfigured)
    }
}
