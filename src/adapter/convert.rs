//! `worker` ⇄ `http` conversions.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use worker::{Request, Response, ResponseBuilder};

use crate::edge;
use crate::web::{self, Body};

/// Largest request body read into memory (form posts to `/.sts` are a few KiB).
const MAX_BODY: usize = 64 * 1024;

/// `request.cf[property]` when it is a string: only the runtime fills `cf`, never the client.
fn cf_string(req: &Request, property: &str) -> Option<String> {
    let cf = js_sys::Reflect::get(req.inner(), &"cf".into()).ok()?;
    if !cf.is_object() {
        return None;
    }
    js_sys::Reflect::get(&cf, &property.into()).ok()?.as_string()
}

/// Converts an incoming request; a request that cannot be represented gets its error response.
pub(crate) async fn request_from_worker(mut req: Request) -> Result<http::Request<Vec<u8>>, http::Response<Body>> {
    let bad = |what: &str| web::json_error(StatusCode::BAD_REQUEST, "invalid_request", what);
    let method = Method::from_bytes(req.method().as_ref().as_bytes()).map_err(|_| bad("unparsable method"))?;
    let url = req.url().map_err(|_| bad("unparsable URL"))?;
    let target = match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_owned(),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers().entries() {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            headers.append(n, v);
        }
    }
    // worker-rs 0.8's `Cf` has no accessor for the properties this needs.
    edge::restore_client_headers(&mut headers, |property| cf_string(&req, property));
    let body = if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Vec::new()
    } else {
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(web::json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "request body too large",
            ));
        }
        let bytes = req.bytes().await.map_err(|_| bad("unreadable body"))?;
        if bytes.len() > MAX_BODY {
            return Err(web::json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "request body too large",
            ));
        }
        bytes
    };
    let mut builder = http::Request::builder().method(method).uri(target.as_str());
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    builder.body(body).map_err(|_| bad("unparsable request target"))
}

/// Converts an outgoing response, marked so that the platform does not compress it.
pub(crate) fn response_to_worker(res: http::Response<Body>) -> worker::Result<Response> {
    let (mut parts, body) = res.into_parts();
    edge::prevent_transformation(&mut parts.headers);
    let builder = ResponseBuilder::new()
        .with_status(parts.status.as_u16())
        .with_headers(worker::Headers::from(&parts.headers));
    Ok(match body {
        Body::Empty => builder.empty(),
        Body::Full(bytes) => builder.fixed(bytes),
        // The streams the core carries are the adapter's own `ResponseBody`s (R2, `fetch`);
        // a buffered one (`HttpClient::fetch_stream`'s default) is sent as it is.
        Body::Stream(stream) => match stream.0.downcast::<worker::ResponseBody>() {
            Ok(body) => builder.body(*body),
            Err(other) => match other.downcast::<Vec<u8>>() {
                Ok(bytes) => builder.fixed(*bytes),
                Err(_) => builder.empty(),
            },
        },
    })
}
