//! Outbound HTTP with the Workers `fetch`, bounded in time and body size.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{AbortController, Delay, Fetch, Headers, Method, RequestInit};

use crate::platform::{FetchError, HttpClient};

/// Longest wait for an answer, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest body read into memory.
const MAX_BODY: usize = 1024 * 1024;

pub(crate) struct WorkersHttp;

impl HttpClient for WorkersHttp {
    async fn fetch(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, FetchError> {
        let (parts, body) = req.into_parts();
        let mut init = RequestInit::new();
        init.with_method(Method::from(parts.method.as_str().to_owned()));
        init.with_headers(Headers::from(&parts.headers));
        if !body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
        }
        let request = worker::Request::new_with_init(&parts.uri.to_string(), &init).map_err(|_| FetchError::Network)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let call = async move {
            let fetch = Fetch::Request(request);
            let mut res = fetch.send_with_signal(&signal).await.map_err(|_| FetchError::Network)?;
            let declared = res
                .headers()
                .get("content-length")
                .ok()
                .flatten()
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > MAX_BODY) {
                return Err(FetchError::TooLarge);
            }
            let bytes = res.bytes().await.map_err(|_| FetchError::Network)?;
            if bytes.len() > MAX_BODY {
                return Err(FetchError::TooLarge);
            }
            let mut out = http::Response::builder().status(res.status_code());
            if let Some(h) = out.headers_mut() {
                for (name, value) in res.headers().entries() {
                    if let (Ok(n), Ok(v)) = (
                        http::HeaderName::from_bytes(name.as_bytes()),
                        http::HeaderValue::from_str(&value),
                    ) {
                        h.append(n, v);
                    }
                }
            }
            out.body(bytes).map_err(|_| FetchError::Network)
        };
        match select(pin!(call), pin!(Delay::from(TIMEOUT))).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                controller.abort();
                Err(FetchError::Timeout)
            }
        }
    }
}
