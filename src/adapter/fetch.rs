//! Outbound HTTP with the Workers `fetch`, bounded in time and body size.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{AbortController, AbortSignal, Delay, Fetch, Headers, Method, RequestInit, RequestRedirect};

use crate::platform::{FetchError, HttpClient};
use crate::web::StreamBody;

/// Longest wait for an answer, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest body read into memory: a listing page of 1000 long, URL-encoded keys fits.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub(crate) struct WorkersHttp;

/// A `worker` request from an `http` one. `host` is left out: `fetch` derives it from the URL,
/// which is what a signed request signed (see `backend::sign::host_of`).
fn to_worker(req: http::Request<Vec<u8>>) -> Result<worker::Request, FetchError> {
    let (mut parts, body) = req.into_parts();
    parts.headers.remove(http::header::HOST);
    let mut init = RequestInit::new();
    init.with_method(Method::from(parts.method.as_str().to_owned()));
    // A redirect is an answer, not something to follow: following one would carry a signed
    // request (or a bearer token) to wherever it points.
    init.with_redirect(RequestRedirect::Manual);
    init.with_headers(Headers::from(&parts.headers));
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    worker::Request::new_with_init(&parts.uri.to_string(), &init).map_err(|_| FetchError::Network)
}

/// The status and headers of a `worker` response as an `http` response with `body`.
fn from_worker<B>(res: &worker::Response, body: B) -> Result<http::Response<B>, FetchError> {
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
    out.body(body).map_err(|_| FetchError::Network)
}

/// Runs `call` with an abort signal, giving up after [`TIMEOUT`].
async fn bounded<T, F>(call: impl FnOnce(AbortSignal) -> F) -> Result<T, FetchError>
where
    F: std::future::Future<Output = Result<T, FetchError>>,
{
    let controller = AbortController::default();
    let call = call(controller.signal());
    match select(pin!(call), pin!(Delay::from(TIMEOUT))).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => {
            controller.abort();
            Err(FetchError::Timeout)
        }
    }
}

impl HttpClient for WorkersHttp {
    async fn fetch(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, FetchError> {
        // A HEAD answer declares the size of a body it does not carry.
        let head = req.method() == http::Method::HEAD;
        let request = to_worker(req)?;
        bounded(|signal| async move {
            let mut res = Fetch::Request(request)
                .send_with_signal(&signal)
                .await
                .map_err(|_| FetchError::Network)?;
            let declared = res
                .headers()
                .get("content-length")
                .ok()
                .flatten()
                .and_then(|v| v.parse::<usize>().ok());
            if !head && declared.is_some_and(|n| n > MAX_BODY) {
                return Err(FetchError::TooLarge);
            }
            if head {
                // Nothing to read; reading would even wait for a body a `Content-Encoding`
                // promises (seen with gzip-encoded objects).
                return from_worker(&res, Vec::new());
            }
            let bytes = res.bytes().await.map_err(|_| FetchError::Network)?;
            if bytes.len() > MAX_BODY {
                return Err(FetchError::TooLarge);
            }
            from_worker(&res, bytes)
        })
        .await
    }

    /// The body is the runtime's own stream, handed to the client's response untouched: the
    /// bytes as stored, even for an object stored with a `Content-Encoding` (`fetch` would
    /// otherwise decode it, breaking `Content-Length`, `ETag` and ranges).
    /// The time bound covers the response headers only: the body takes as long as it takes.
    async fn fetch_stream(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<StreamBody>, FetchError> {
        let request = to_worker(req)?;
        let res = bounded(|signal| async move { fetch_undecoded(&request, &signal).await }).await?;
        let head = from_worker(&res, ())?;
        let (_, body) = res.into_parts();
        let (parts, ()) = head.into_parts();
        Ok(http::Response::from_parts(parts, StreamBody(Box::new(body))))
    }
}

/// `fetch(request, {signal, encodeResponseBody: "manual"})`: workerd's option to leave a
/// response body as the server encoded it (worker-rs has no setter for it).
async fn fetch_undecoded(request: &worker::Request, signal: &AbortSignal) -> Result<worker::Response, FetchError> {
    use wasm_bindgen::JsCast;
    let init = web_sys::RequestInit::new();
    init.set_signal(Some(signal));
    js_sys::Reflect::set(&init, &"encodeResponseBody".into(), &"manual".into()).map_err(|_| FetchError::Network)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let promise = global.fetch_with_request_and_init(request.inner(), &init);
    let res = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| FetchError::Network)?;
    let res: web_sys::Response = res.dyn_into().map_err(|_| FetchError::Network)?;
    Ok(res.into())
}
