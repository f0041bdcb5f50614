//! Sending the core's requests: blocking HTTP with bounded time and size, no redirects,
//! and a `--verbose` log line per request that never holds a token.

use std::io::Write as _;
use std::time::{Duration, Instant};

use http::{Request, Response};
use oidc_sts_proxy::platform::FetchError;

/// Longest answer read (the core's parsers bound theirs further).
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Longest wait for one request, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends one request and returns the whole answer.
pub trait Transport {
    fn send(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError>;
}

/// The real network: ureq with rustls and the operating system's trust store.
pub struct Http {
    agent: ureq::Agent,
    verbose: bool,
}

impl Http {
    pub fn new(verbose: bool) -> Self {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .timeout_connect(Some(Duration::from_secs(10)))
            // Every status is an answer for the core's parsers to read.
            .http_status_as_error(false)
            // A redirect of a token request is never followed (it would resend the body).
            .max_redirects(0)
            .user_agent(concat!("osp/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        Self {
            agent: agent.into(),
            verbose,
        }
    }
}

impl Transport for Http {
    fn send(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
        let line = self.verbose.then(|| describe(&req));
        let started = Instant::now();
        let result = self.agent.run(req).map_err(fetch_error).and_then(|res| {
            let (parts, mut body) = res.into_parts();
            let bytes = body
                .with_config()
                .limit(MAX_BODY_BYTES)
                .read_to_vec()
                .map_err(fetch_error)?;
            Ok(Response::from_parts(parts, bytes))
        });
        if let Some(line) = line {
            let outcome = match &result {
                Ok(res) => format!("{} ({} bytes)", res.status().as_u16(), res.body().len()),
                Err(e) => format!("failed: {e}"),
            };
            let ms = started.elapsed().as_millis();
            let _ = writeln!(std::io::stderr(), "osp: {line} -> {outcome} in {ms} ms");
        }
        result
    }
}

fn fetch_error(e: ureq::Error) -> FetchError {
    match e {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge,
        _ => FetchError::Network,
    }
}

/// `POST http://idp/token [client_id grant_type=refresh_token refresh_token]`: the method,
/// the URL without its query, and for a form body the parameter names, with the value only
/// of the parameters that name what is asked for (never a code, token or verifier).
pub fn describe(req: &Request<Vec<u8>>) -> String {
    let uri = req.uri();
    let mut line = format!(
        "{} {}://{}{}",
        req.method(),
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map(|a| a.as_str()).unwrap_or(""),
        uri.path()
    );
    if uri.query().is_some() {
        line.push_str("?…");
    }
    let is_form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if is_form {
        const SHOWN: [&str; 6] = [
            "grant_type",
            "scope",
            "code_challenge_method",
            "Action",
            "Version",
            "token_type_hint",
        ];
        let names: Vec<String> = form_urlencoded::parse(req.body())
            .map(|(k, v)| {
                if SHOWN.contains(&k.as_ref()) {
                    format!("{k}={}", oidc_sts_proxy::oauth::display_text(&v))
                } else {
                    oidc_sts_proxy::oauth::display_text(&k)
                }
            })
            .collect();
        line.push_str(&format!(" [{}]", names.join(" ")));
    }
    if req.headers().contains_key(http::header::AUTHORIZATION) {
        line.push_str(" (with client authentication)");
    }
    line
}

#[cfg(test)]
pub mod fake {
    //! A scripted transport for the flows' tests: answers in order, records requests.

    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    type Answer = Box<dyn FnMut(&Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError>>;

    #[derive(Default)]
    pub struct Scripted {
        answers: RefCell<VecDeque<Answer>>,
        pub sent: RefCell<Vec<Request<Vec<u8>>>>,
    }

    impl Scripted {
        pub fn then(
            self,
            answer: impl FnMut(&Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> + 'static,
        ) -> Self {
            self.answers.borrow_mut().push_back(Box::new(answer));
            self
        }

        pub fn json(self, status: u16, body: serde_json::Value) -> Self {
            self.then(move |_| Ok(answer(status, &body.to_string())))
        }

        pub fn text(self, status: u16, body: &str) -> Self {
            let body = body.to_owned();
            self.then(move |_| Ok(answer(status, &body)))
        }

        pub fn remaining(&self) -> usize {
            self.answers.borrow().len()
        }

        /// The form parameters of the `i`-th request sent.
        pub fn form(&self, i: usize) -> Vec<(String, String)> {
            form_urlencoded::parse(self.sent.borrow()[i].body())
                .into_owned()
                .collect()
        }

        pub fn uri(&self, i: usize) -> String {
            self.sent.borrow()[i].uri().to_string()
        }
    }

    pub fn answer(status: u16, body: &str) -> Response<Vec<u8>> {
        let mut res = Response::new(body.as_bytes().to_vec());
        *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
        res
    }

    impl Transport for Scripted {
        fn send(&self, req: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, FetchError> {
            let next = self.answers.borrow_mut().pop_front();
            let mut next = next.unwrap_or_else(|| panic!("unexpected request {}", req.uri()));
            let res = next(&req);
            self.sent.borrow_mut().push(req);
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_names_parameters_but_shows_no_secret_value() {
        let mut req = Request::new(
            b"client_id=cli&grant_type=refresh_token&refresh_token=MARKER-RT&code_verifier=MARKER-V&code=MARKER-C&WebIdentityToken=MARKER-ID"
                .to_vec(),
        );
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = "https://idp.example/token?tenant=MARKER-Q".parse().unwrap();
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let line = describe(&req);
        assert_eq!(
            line,
            "POST https://idp.example/token?… [client_id grant_type=refresh_token refresh_token code_verifier code WebIdentityToken]"
        );
        assert!(!line.contains("MARKER"));
    }

    #[test]
    fn unreachable_hosts_are_network_errors() {
        // A port nobody listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut req = Request::new(Vec::new());
        *req.uri_mut() = format!("http://127.0.0.1:{port}/x").parse().unwrap();
        assert_eq!(Http::new(false).send(req).unwrap_err(), FetchError::Network);
    }
}
