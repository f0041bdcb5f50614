//! The authorization code flow for a native app (RFC 8252): a listener on
//! `http://127.0.0.1:{random port}/callback` (the IPv4 literal, §7.3 and §8.3), the browser
//! sent to the authorization endpoint, the one redirect back taken, its `state` checked,
//! the code exchanged with the PKCE verifier.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use oidc_sts_proxy::oauth::authorize::{
    parse_callback, AuthorizationRequest, AuthorizationResponse, Nonce, StateToken,
};
use oidc_sts_proxy::oauth::client::{Client, RedirectUri, Scopes};
use oidc_sts_proxy::oauth::metadata::ProviderMetadata;
use oidc_sts_proxy::oauth::pkce::CodeVerifier;
use oidc_sts_proxy::oauth::token::{token_request, token_response, Grant, TokenResponse};

use crate::context::Context;
use crate::error::{refusal, CliError};
use crate::progress::Spinner;

/// Longest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// Runs the flow; the tokens and the nonce the ID token must carry.
pub fn run(
    ctx: &Context<'_>,
    provider: &ProviderMetadata,
    client: &Client,
    scopes: &Scopes,
    pkce: bool,
    open_browser: bool,
    timeout: Duration,
) -> Result<(TokenResponse, Nonce), CliError> {
    // RFC 8252 §7.3: any port, chosen by the OS; the IPv4 loopback literal.
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| CliError::io("listening on 127.0.0.1 for the sign-in", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| CliError::io("listening on 127.0.0.1 for the sign-in", e))?
        .port();
    let redirect_uri =
        RedirectUri::parse(&format!("http://127.0.0.1:{port}/callback")).map_err(|e| CliError::Login(e.to_string()))?;
    let state = StateToken::generate(ctx.random);
    let nonce = Nonce::generate(ctx.random);
    let verifier = pkce.then(|| CodeVerifier::generate(ctx.random));
    let challenge = verifier.as_ref().map(CodeVerifier::challenge);
    let url = AuthorizationRequest {
        client_id: &client.id,
        redirect_uri: &redirect_uri,
        scopes,
        state: &state,
        nonce: &nonce,
        code_challenge: challenge.as_ref(),
    }
    .url(&provider.authorization_endpoint);

    let opened = open_browser && (ctx.open_browser)(&url).is_ok();
    if opened {
        ctx.say(&format!(
            "Opened the browser to sign in. If it did not open, go to this URL on this machine:\n\n  {url}\n"
        ));
    } else {
        ctx.say(&format!(
            "Open this URL in a browser on this machine to sign in:\n\n  {url}\n"
        ));
    }

    let deadline = Instant::now() + timeout;
    let _spinner = Spinner::start("Waiting for the sign-in in the browser", deadline);
    listener
        .set_nonblocking(true)
        .map_err(|e| CliError::io("listening for the sign-in", e))?;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(CliError::Login(format!(
                        "no sign-in came back within {} s; run `osp login` again (or use --device)",
                        timeout.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(CliError::io("accepting the browser's connection", e)),
        };
        let Some(outcome) = answer_one(ctx, stream, provider, &state, |code| {
            let grant = Grant::AuthorizationCode {
                code,
                redirect_uri: &redirect_uri,
                code_verifier: verifier.as_ref(),
            };
            let req = token_request(&provider.token_endpoint, client, &grant);
            let res = ctx.http.send(req).map_err(Into::into);
            res.and_then(|r| token_response(&r))
                .map_err(|e| CliError::endpoint("exchanging the authorization code", e))
        }) else {
            continue;
        };
        return outcome.map(|tokens| (tokens, nonce));
    }
}

/// Reads one request from the browser and answers it. `None`: not this sign-in's answer
/// (another path, a malformed or foreign callback): keep waiting.
fn answer_one(
    ctx: &Context<'_>,
    mut stream: TcpStream,
    provider: &ProviderMetadata,
    state: &StateToken,
    exchange: impl FnOnce(&oidc_sts_proxy::oauth::authorize::AuthorizationCode) -> Result<TokenResponse, CliError>,
) -> Option<Result<TokenResponse, CliError>> {
    let _ = stream.set_nonblocking(false);
    // A browser may open a connection ahead and send nothing on it: do not wait long.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let Some(target) = read_target(&mut stream) else {
        respond(&mut stream, 400, "Bad request", "This is not a sign-in answer.");
        return None;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    if path != "/callback" {
        respond(&mut stream, 404, "Not found", "Nothing here.");
        return None;
    }
    let response = match parse_callback(query, provider) {
        Ok(r) => r,
        Err(e) => {
            ctx.say(&format!("ignored an answer on the sign-in port: {e}"));
            respond(&mut stream, 400, "Not a sign-in answer", &e.to_string());
            return None;
        }
    };
    // RFC 6749 §10.12: the state must be the one this sign-in sent.
    if !response.state().ct_eq(state.as_str()) {
        ctx.say("ignored an answer on the sign-in port that belongs to another sign-in");
        respond(
            &mut stream,
            400,
            "Another sign-in",
            "This answer belongs to another sign-in. Use the URL that osp printed last.",
        );
        return None;
    }
    let outcome = match response {
        AuthorizationResponse::Error { error, description, .. } => Err(CliError::OAuth {
            what: "signing in".into(),
            detail: refusal(&error, description.as_deref()),
        }),
        AuthorizationResponse::Code { code, .. } => exchange(&code),
    };
    match &outcome {
        Ok(_) => respond(
            &mut stream,
            200,
            "Signed in",
            "You are signed in. You can close this tab and go back to the terminal.",
        ),
        Err(e) => respond(&mut stream, 400, "Sign-in failed", &e.to_string()),
    }
    Some(outcome)
}

/// `GET <target> HTTP/1.x` from the request head, or `None`.
fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("GET"), Some(target), Some(v), None) if v.starts_with("HTTP/1.") => Some(target.to_owned()),
        _ => None,
    }
}

fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1 id=\"title\">{t}</h1><p id=\"message\">{m}</p></body></html>",
        t = escape(title),
        m = escape(text)
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fake::Scripted;
    use crate::testutil::{metadata, TestContext, ISSUER};
    use oidc_sts_proxy::oauth::client::ClientId;

    type Params = Vec<(String, String)>;

    fn params(url: &str) -> Params {
        let query = url.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }

    fn get(params: &[(String, String)], name: &str) -> String {
        params.iter().find(|(k, _)| k == name).unwrap().1.clone()
    }

    /// A browser: GETs `target` (a path and query) on the redirect URI's port; the page.
    fn browse(redirect_uri: &str, target: &str) -> String {
        let authority = redirect_uri.trim_start_matches("http://").split('/').next().unwrap();
        let mut s = TcpStream::connect(authority).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: {authority}\r\n\r\n").unwrap();
        let mut page = String::new();
        s.read_to_string(&mut page).unwrap();
        page
    }

    /// A browser that, given the authorization URL, opens the redirect URI at the callback
    /// with `query(params, iss)` (in a thread, as a person would) and checks the page.
    fn browser(
        query: impl Fn(&Params, &str) -> String + Send + Sync + 'static,
        check: impl Fn(&Params, String) + Send + Sync + 'static,
    ) -> impl Fn(&str) -> std::io::Result<()> + Send + Sync + 'static {
        let (query, check) = (std::sync::Arc::new(query), std::sync::Arc::new(check));
        move |url: &str| {
            let p = params(url);
            let (query, check) = (query.clone(), check.clone());
            std::thread::spawn(move || {
                let iss: String = form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect();
                let page = browse(&get(&p, "redirect_uri"), &format!("/callback?{}", query(&p, &iss)));
                check(&p, page);
            });
            Ok(())
        }
    }

    fn sign_in(ctx: &Context<'_>, pkce: bool, timeout: Duration) -> Result<(TokenResponse, Nonce), CliError> {
        let client = Client::public(ClientId::parse("osp").unwrap());
        let scopes = Scopes::parse("openid offline_access").unwrap();
        run(ctx, &metadata(|_| {}), &client, &scopes, pkce, true, timeout)
    }

    fn tokens_answer() -> serde_json::Value {
        serde_json::json!({"access_token": "at", "token_type": "Bearer", "id_token": "a.b.c", "refresh_token": "rt"})
    }

    #[test]
    fn the_redirect_back_is_exchanged_with_the_pkce_verifier_and_the_state_is_checked() {
        let http = Scripted::default().json(200, tokens_answer());
        let t = TestContext::new(&http);
        let opened = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let seen = opened.clone();
        let answer = std::sync::Arc::new(browser(
            |p, iss| format!("code=the-code&state={}&iss={iss}", get(p, "state")),
            |_, page| {
                assert!(
                    page.starts_with("HTTP/1.1 200") && page.contains("You are signed in"),
                    "{page}"
                )
            },
        ));
        // Before the real answer: a favicon request and a foreign state, both ignored.
        let ctx = t.context_with_browser(move |url| {
            *seen.lock().unwrap() = Some(url.to_owned());
            let (redirect, url) = (get(&params(url), "redirect_uri"), url.to_owned());
            let answer = answer.clone();
            std::thread::spawn(move || {
                assert!(browse(&redirect, "/favicon.ico").starts_with("HTTP/1.1 404"));
                let other = StateToken::generate(&oidc_sts_proxy::platform::SystemRandom);
                let iss: String = form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect();
                let foreign = browse(
                    &redirect,
                    &format!("/callback?code=x&state={}&iss={iss}", other.as_str()),
                );
                assert!(foreign.contains("another sign-in"), "{foreign}");
                answer(&url)
            });
            Ok(())
        });
        let (tokens, _nonce) = sign_in(&ctx, true, Duration::from_secs(10)).unwrap();
        assert_eq!(tokens.id_token.unwrap().expose_secret(), "a.b.c");

        let url = opened.lock().unwrap().clone().unwrap();
        let p = params(&url);
        assert!(url.starts_with("https://idp.example/realms/r1/auth?"), "{url}");
        assert!(get(&p, "redirect_uri").starts_with("http://127.0.0.1:"));
        assert!(get(&p, "redirect_uri").ends_with("/callback"));
        assert_eq!(get(&p, "code_challenge_method"), "S256");
        assert_eq!(get(&p, "prompt"), "consent", "offline_access asks for consent");
        // The token request carries the code, the same redirect URI and the verifier whose
        // S256 challenge the authorization URL carried.
        let form = http.form(0);
        let verifier = get(&form, "code_verifier");
        assert_eq!(
            CodeVerifier::parse(&verifier).unwrap().challenge().as_str(),
            get(&p, "code_challenge")
        );
        assert_eq!(get(&form, "code"), "the-code");
        assert_eq!(get(&form, "redirect_uri"), get(&p, "redirect_uri"));
        assert!(t.messages().iter().any(|m| m.contains(&url)), "the URL is printed too");
    }

    #[test]
    fn without_pkce_neither_challenge_nor_verifier_is_sent() {
        let http = Scripted::default().json(200, tokens_answer());
        let t = TestContext::new(&http);
        let ctx = t.context_with_browser(browser(
            |p, iss| format!("code=c&state={}&iss={iss}", get(p, "state")),
            |p, _| assert!(!p.iter().any(|(k, _)| k.starts_with("code_challenge"))),
        ));
        sign_in(&ctx, false, Duration::from_secs(10)).unwrap();
        assert!(!http.form(0).iter().any(|(k, _)| k == "code_verifier"));
    }

    #[test]
    fn an_error_answer_ends_the_login_with_the_providers_words() {
        let http = Scripted::default();
        let t = TestContext::new(&http);
        let ctx = t.context_with_browser(browser(
            |p, iss| {
                format!(
                    "error=access_denied&error_description=User+said+no&state={}&iss={iss}",
                    get(p, "state")
                )
            },
            |_, page| assert!(page.contains("Sign-in failed"), "{page}"),
        ));
        let err = sign_in(&ctx, true, Duration::from_secs(10)).unwrap_err().to_string();
        assert!(
            err.contains("access_denied") && err.contains("User said no") && err.contains("refused or cancelled"),
            "{err}"
        );
        assert_eq!(http.remaining(), 0, "no token request was made");
    }

    #[test]
    fn no_answer_within_the_timeout_is_an_error_and_the_url_was_printed() {
        let http = Scripted::default();
        let t = TestContext::new(&http);
        let ctx = t.context_with_browser(|_| Err(std::io::Error::other("no browser")));
        let err = sign_in(&ctx, true, Duration::from_millis(300)).unwrap_err().to_string();
        assert!(err.contains("no sign-in came back"), "{err}");
        let said = t.messages();
        assert!(said[0].starts_with("Open this URL in a browser"), "{said:?}");
    }
}
