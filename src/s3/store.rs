//! Object storage behind the proxy, as a trait: the R2 binding (in the adapter) and
//! S3-compatible HTTP endpoints ([`crate::s3::remote`]) implement it.
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
    /// A `Content-Encoding` other than `identity` that an HTTP backend declared: its bytes
    /// are served as stored, but the Workers runtime cannot fetch a range of them.
    pub content_encoding: Option<String>,
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
    /// No answer (network, timeout) or a 5xx: worth retrying.
    #[error("storage backend unavailable")]
    Unavailable,
    /// The backend asks callers to slow down (429, or 503 `SlowDown`).
    #[error("storage backend is throttling")]
    Throttled,
    #[error("storage backend is not configured")]
    NotConfigured,
    /// The backend answered with an unexpected 4xx: the product's backend configuration
    /// (bucket, credentials, region) is wrong, not the caller's request.
    #[error("storage backend refused the proxy's request (status {status})")]
    Refused { status: u16 },
    /// The backend refused the caller's own input (a listing's prefix or start key) with
    /// `400` and a code saying so (`InvalidArgument`, `KeyTooLongError`): the caller's mistake.
    #[error("storage backend refused the request's parameters ({code})")]
    BadParameters { code: &'static str },
    /// The secret a catalogue entry names is not set or not `ACCESS_KEY_ID:SECRET`.
    #[error("backend credentials secret {name} is missing or malformed")]
    Credentials { name: String },
    /// The key cannot be put in a URL unchanged (a `.` or `..` segment, which URL parsers
    /// remove), so an HTTP backend cannot be asked for it.
    #[error("the key has a '.' or '..' segment, which this backend cannot address")]
    Unaddressable,
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
