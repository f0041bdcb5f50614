//! The Workers Cache API as the core's [`SharedCache`]: one named cache, keys under a fixed
//! origin that is never fetched, values with their TTL as `Cache-Control: max-age`.

use futures_util::future::LocalBoxFuture;
use worker::{Cache, Headers, Response};

use crate::platform::SharedCache;

/// The named cache (never the zone's default cache, which other workers share).
const CACHE_NAME: &str = "oidc-sts-proxy-upstream";
/// Keys are URLs under this origin (`.invalid`: never resolvable, never fetched).
const KEY_ORIGIN: &str = "https://upstream-answers.oidc-sts-proxy.invalid/";

pub(crate) struct WorkersSharedCache;

impl SharedCache for WorkersSharedCache {
    fn get<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let cache = Cache::open(CACHE_NAME.to_owned()).await;
            let mut res = cache.get(format!("{KEY_ORIGIN}{key}"), false).await.ok()??;
            res.bytes().await.ok()
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_secs: u64) -> LocalBoxFuture<'a, ()> {
        Box::pin(async move {
            let headers = Headers::new();
            let ok = headers.set("cache-control", &format!("max-age={ttl_secs}")).is_ok()
                && headers.set("content-type", "application/json").is_ok();
            let Ok(res) = Response::from_bytes(value) else { return };
            if ok {
                let cache = Cache::open(CACHE_NAME.to_owned()).await;
                // Best effort: a failed write costs one more upstream call later.
                let _ = cache.put(format!("{KEY_ORIGIN}{key}"), res.with_headers(headers)).await;
            }
        })
    }
}
