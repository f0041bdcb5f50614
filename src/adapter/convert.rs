//! `worker` ⇄ `http` conversions.

use futures_util::StreamExt;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use worker::{Request, Response, ResponseBuilder};

use crate::edge;
use crate::web::{self, Body, BoundedBody};

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
    // Decided from method and path before a byte is read: a write to an S3 path is
    // answered 405 by the core without its upload being read.
    let body = if crate::router::reads_body(&method, url.path()) {
        read_bounded(&mut req, headers.get(http::header::CONTENT_LENGTH)).await?
    } else {
        Vec::new()
    };
    let mut builder = http::Request::builder().method(method).uri(target.as_str());
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    builder.body(body).map_err(|_| bad("unparsable request target"))
}

/// Reads the body chunk by chunk, giving up (413) the moment it passes the bound, so a
/// chunked upload is never read whole.
async fn read_bounded(
    req: &mut Request,
    content_length: Option<&HeaderValue>,
) -> Result<Vec<u8>, http::Response<Body>> {
    let too_large = |_| web::body_too_large();
    let mut body = BoundedBody::expecting(content_length).map_err(too_large)?;
    // A request without a body (no `ReadableStream`) is an empty one.
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new());
    };
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| web::json_error(StatusCode::BAD_REQUEST, "invalid_request", "unreadable body"))?;
        body.push(&chunk).map_err(too_large)?;
    }
    Ok(body.into_bytes())
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
