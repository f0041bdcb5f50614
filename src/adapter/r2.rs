//! The R2 binding as an [`ObjectStore`]. Bodies are handed to the runtime as streams.

use worker::{Bucket, Include, Object, Range};

use crate::backend::store::{ListPage, ListQuery, ObjectStore, StoreError, StoredObject};
use crate::web::StreamBody;

/// The `DATA` binding, if the deployment has one.
pub(crate) struct R2Store(pub(crate) Option<Bucket>);

impl R2Store {
    fn bucket(&self) -> Result<&Bucket, StoreError> {
        self.0.as_ref().ok_or(StoreError::NotConfigured)
    }
}

fn meta(o: &Object) -> StoredObject {
    StoredObject {
        key: o.key(),
        size: o.size(),
        etag: o.http_etag(),
        last_modified_secs: o.uploaded().as_millis() / 1000,
        content_type: o.http_metadata().content_type,
        // The binding hands over the stored bytes, never decoded: ranges of them work.
        content_encoding: None,
    }
}

impl ObjectStore for R2Store {
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        let o = self.bucket()?.head(key).await.map_err(|_| StoreError::Unavailable)?;
        Ok(o.as_ref().map(meta))
    }

    async fn get(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<(StoredObject, StreamBody)>, StoreError> {
        let mut get = self.bucket()?.get(key);
        if let Some((offset, length)) = range {
            get = get.range(Range::OffsetWithLength { offset, length });
        }
        let Some(o) = get.execute().await.map_err(|_| StoreError::Unavailable)? else {
            return Ok(None);
        };
        let m = meta(&o);
        let body = o
            .body()
            .ok_or(StoreError::Unavailable)?
            .response_body()
            .map_err(|_| StoreError::Unavailable)?;
        Ok(Some((m, StreamBody(Box::new(body)))))
    }

    async fn list(&self, q: &ListQuery) -> Result<ListPage, StoreError> {
        let mut list = self
            .bucket()?
            .list()
            .prefix(q.prefix.clone())
            .limit(q.limit.max(1))
            .include(vec![Include::HttpMetadata]);
        if let Some(d) = &q.delimiter {
            list = list.delimiter(d.clone());
        }
        if let Some(s) = &q.start_after {
            list = list.start_after(s.clone());
        }
        if let Some(c) = &q.cursor {
            list = list.cursor(c.clone());
        }
        let page = list.execute().await.map_err(|_| StoreError::Unavailable)?;
        Ok(ListPage {
            objects: page.objects().iter().map(meta).collect(),
            common_prefixes: page.delimited_prefixes(),
            truncated: page.truncated(),
            cursor: page.cursor(),
        })
    }
}
