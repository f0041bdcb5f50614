//! Object storage behind the proxy, as a trait: the R2 binding (in the adapter) and
//! S3-compatible HTTP endpoints ([`crate::backend::remote`]) implement it.
//! Keys here are backend keys: the product's backend prefix is already applied.

use crate::web::StreamBody;

/// An object's metadata, as a backend reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredObject {
    pub(crate) key: String,
    pub(crate) size: u64,
    /// The entity tag, quoted (`"…"`).
    pub(crate) etag: String,
    pub(crate) last_modified_secs: u64,
    pub(crate) content_type: Option<String>,
    /// A `Content-Encoding` other than `identity` that an HTTP backend declared: its bytes
    /// are served as stored, but the Workers runtime cannot fetch a range of them.
    pub(crate) content_encoding: Option<String>,
}

/// One listing request against a backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ListQuery {
    pub(crate) prefix: String,
    pub(crate) delimiter: Option<String>,
    pub(crate) start_after: Option<String>,
    /// The backend's own cursor from a previous page.
    pub(crate) cursor: Option<String>,
    pub(crate) limit: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ListPage {
    pub(crate) objects: Vec<StoredObject>,
    pub(crate) common_prefixes: Vec<String>,
    pub(crate) truncated: bool,
    pub(crate) cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StoreError {
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
pub(crate) trait ObjectStore {
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError>;
    /// The object, or `length` bytes of it from `offset`.
    async fn get(&self, key: &str, range: Option<(u64, u64)>)
        -> Result<Option<(StoredObject, StreamBody)>, StoreError>;
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError>;
}

/// A store with nothing in it, where no backend is configured.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoStore;

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

/// An in-memory store for tests.
#[cfg(test)]
pub(crate) mod memory {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    use super::{ListPage, ListQuery, ObjectStore, StoreError, StoredObject};
    use crate::web;

    /// An R2-like store: keys in order, roll-up at the delimiter (a common prefix counts once
    /// towards the limit), `start_after` exclusive, a cursor that goes on after the last name.
    #[derive(Default)]
    pub(crate) struct MemoryStore {
        pub(crate) keys: BTreeSet<String>,
        /// Listed whatever was asked, as a misbehaving backend might.
        pub(crate) rogue: Vec<String>,
        pub(crate) queries: RefCell<Vec<ListQuery>>,
        /// What every call fails with, when set.
        pub(crate) fail: Option<StoreError>,
        /// The `Content-Encoding` every object was stored with.
        pub(crate) encoding: Option<&'static str>,
    }

    impl MemoryStore {
        pub(crate) fn with(keys: &[&str]) -> Self {
            Self {
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                ..Self::default()
            }
        }
    }

    impl MemoryStore {
        /// An object's metadata: its key's length in bytes, one ETag, one date.
        fn stored(&self, key: &str) -> StoredObject {
            StoredObject {
                key: key.to_owned(),
                size: key.len() as u64,
                etag: "\"e\"".into(),
                last_modified_secs: 1_700_000_000,
                content_type: None,
                content_encoding: self.encoding.map(str::to_owned),
            }
        }

        fn failing(&self) -> Result<(), StoreError> {
            self.fail.clone().map_or(Ok(()), Err)
        }
    }

    impl ObjectStore for MemoryStore {
        async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
            self.failing()?;
            Ok(self.keys.contains(key).then(|| self.stored(key)))
        }
        async fn get(
            &self,
            key: &str,
            _range: Option<(u64, u64)>,
        ) -> Result<Option<(StoredObject, web::StreamBody)>, StoreError> {
            self.failing()?;
            Ok(self
                .keys
                .contains(key)
                .then(|| (self.stored(key), web::StreamBody(Box::new(key.as_bytes().to_vec())))))
        }
        async fn list(&self, q: &ListQuery) -> Result<ListPage, StoreError> {
            self.failing()?;
            self.queries.borrow_mut().push(q.clone());
            let after = q.cursor.as_deref().or(q.start_after.as_deref());
            let mut page = ListPage::default();
            let mut last = None;
            for k in self
                .keys
                .iter()
                .filter(|k| k.starts_with(&q.prefix) && after.is_none_or(|a| k.as_str() > a))
            {
                let rolled = q
                    .delimiter
                    .as_deref()
                    .and_then(|d| k[q.prefix.len()..].find(d).map(|i| &k[..q.prefix.len() + i + d.len()]));
                if rolled.is_some() && page.common_prefixes.last().map(String::as_str) == rolled {
                    continue;
                }
                if page.objects.len() + page.common_prefixes.len() == q.limit as usize {
                    page.truncated = true;
                    break;
                }
                match rolled {
                    Some(p) => {
                        page.common_prefixes.push(p.to_owned());
                        last = Some(format!("{p}\u{10FFFF}"));
                    }
                    None => {
                        page.objects.push(self.stored(k));
                        last = Some(k.clone());
                    }
                }
            }
            page.cursor = last.filter(|_| page.truncated);
            page.objects.extend(self.rogue.iter().map(|k| self.stored(k)));
            Ok(page)
        }
    }
}
