//! The client side of `/.sts`: an `AssumeRoleWithWebIdentity` request (AWS STS query API,
//! 2011-06-15) and the strict reading of its XML answer, for the command-line client.
//!
//! Sans-IO like [`crate::oauth`]: [`exchange_request`] builds the form post,
//! [`exchange_response`] reads the answer. The answer is read strictly: exactly the
//! document [`super::response`] writes (and AWS writes), one element of each, no
//! `<!DOCTYPE>` (roxmltree refuses one), credentials that look like credentials.

use http::{Request, Response, StatusCode};

use crate::secret::SecretString;
use crate::sts::request::{ACTION, DEFAULT_ROLE_ARN, VERSION};
use crate::sts::response::NAMESPACE;

/// Longest answer read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest `RoleSessionName` (AWS: 2 to 64 of `[\w+=,.@-]`).
pub const MAX_SESSION_NAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The STS refused with an AWS error code (`InvalidIdentityToken`,
    /// `ExpiredTokenException`, `IDPRejectedClaim`, `AccessDenied`, ...).
    #[error("the STS refused the exchange ({code}): {message}")]
    Refused { status: u16, code: String, message: String },
    /// A 5xx without an AWS error document, or a body that is not XML: nothing was decided.
    #[error("the STS is unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    /// XML, but not what `AssumeRoleWithWebIdentity` answers.
    #[error("the STS answer is malformed: {reason}")]
    Malformed { reason: &'static str },
}

impl ExchangeError {
    /// The AWS error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Temporary credentials from the STS.
pub struct StsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    /// Seconds since the epoch.
    pub expiration: u64,
    /// `SubjectFromWebIdentityToken`.
    pub subject: String,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("expiration", &self.expiration)
            .field("subject", &self.subject)
            .finish()
    }
}

/// A `RoleSessionName` from any text: AWS allows `[\w+=,.@-]{2,64}`; other characters
/// become `-`, and a name shorter than 2 is padded.
pub fn session_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(MAX_SESSION_NAME_LEN)
        .collect();
    while name.len() < 2 {
        name.push('-');
    }
    name
}

/// `POST {endpoint}` with `Action=AssumeRoleWithWebIdentity`, the default role, the session
/// name, the ID token and, when given, `DurationSeconds`. The token goes in the body, never
/// in the URL: a request built here is a secret and must not be logged.
pub fn exchange_request(
    endpoint: &http::Uri,
    id_token: &str,
    session: &str,
    duration_secs: Option<u32>,
) -> Request<Vec<u8>> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", ACTION)
        .append_pair("Version", VERSION)
        .append_pair("RoleArn", DEFAULT_ROLE_ARN)
        .append_pair("RoleSessionName", &session_name(session));
    if let Some(d) = duration_secs {
        form.append_pair("DurationSeconds", &d.to_string());
    }
    form.append_pair("WebIdentityToken", id_token);
    let body = zeroize::Zeroizing::new(form.finish());
    crate::web::form_post(endpoint.clone(), body.as_bytes().to_vec(), "text/xml")
}

/// Reads the STS's answer: credentials on 200, the AWS error otherwise.
pub fn exchange_response(res: &Response<Vec<u8>>) -> Result<StsCredentials, ExchangeError> {
    let malformed = |reason| ExchangeError::Malformed { reason };
    if res.body().len() > MAX_RESPONSE_BYTES {
        return Err(malformed("an answer larger than 64 KiB"));
    }
    let status = res.status();
    let text = std::str::from_utf8(res.body()).map_err(|_| malformed("an answer that is not UTF-8"));
    let doc = text.and_then(|t| roxmltree::Document::parse(t).map_err(|_| malformed("an answer that is not XML")));
    let doc = match doc {
        Ok(doc) => doc,
        // A proxy's HTML page or an empty 502: nothing was decided.
        Err(_) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            return Err(ExchangeError::Unavailable {
                status: status.as_u16(),
            })
        }
        Err(e) => return Err(e),
    };
    let root = doc.root_element();
    if status != StatusCode::OK {
        return Err(error_document(root, status.as_u16()));
    }
    if !is(root, "AssumeRoleWithWebIdentityResponse") {
        return Err(malformed("not an AssumeRoleWithWebIdentityResponse"));
    }
    let result = only_child(root, "AssumeRoleWithWebIdentityResult")?;
    let creds = only_child(result, "Credentials")?;
    let access_key_id = text_of(creds, "AccessKeyId")?;
    let secret = text_of(creds, "SecretAccessKey")?;
    let token = text_of(creds, "SessionToken")?;
    let expiration = text_of(creds, "Expiration")?;
    let subject = text_of(result, "SubjectFromWebIdentityToken")?;
    // AWS access key ids are 16 to 128 word characters; secrets and tokens printable ASCII.
    let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !(16..=128).contains(&access_key_id.len()) || !word(access_key_id) {
        return Err(malformed("an AccessKeyId that is not one"));
    }
    let printable = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic());
    if !printable(secret, 1024) {
        return Err(malformed("a SecretAccessKey that is empty or not printable"));
    }
    if !printable(token, 16 * 1024) {
        return Err(malformed("a SessionToken that is empty or not printable"));
    }
    let expiration = crate::time::parse_rfc3339(expiration).ok_or(malformed("an Expiration that is not RFC 3339"))?;
    Ok(StsCredentials {
        access_key_id: access_key_id.to_owned(),
        secret_access_key: SecretString::new(secret.to_owned()),
        session_token: SecretString::new(token.to_owned()),
        expiration,
        subject: crate::oauth::display_text(subject),
    })
}

/// `<ErrorResponse><Error><Code>...</Code><Message>...</Message></Error></ErrorResponse>`.
fn error_document(root: roxmltree::Node<'_, '_>, status: u16) -> ExchangeError {
    let parsed = (|| {
        if !is(root, "ErrorResponse") {
            return None;
        }
        let error = only_child(root, "Error").ok()?;
        let code = text_of(error, "Code").ok()?;
        let message = optional_text(error, "Message").ok()?.unwrap_or_default();
        let code_ok = !code.is_empty() && code.len() <= 128 && code.bytes().all(|b| b.is_ascii_alphanumeric());
        code_ok.then(|| ExchangeError::Refused {
            status,
            code: code.to_owned(),
            message: crate::oauth::display_text(message),
        })
    })();
    match parsed {
        Some(e) => e,
        None if status >= 500 => ExchangeError::Unavailable { status },
        None => ExchangeError::Malformed {
            reason: "an error answer that is not an AWS ErrorResponse",
        },
    }
}

/// An element of the STS namespace (or of none: some STS implementations omit it).
fn is(node: roxmltree::Node<'_, '_>, name: &str) -> bool {
    let ns = node.tag_name().namespace();
    node.is_element() && node.tag_name().name() == name && (ns.is_none() || ns == Some(NAMESPACE))
}

fn only_child<'a, 'i>(parent: roxmltree::Node<'a, 'i>, name: &str) -> Result<roxmltree::Node<'a, 'i>, ExchangeError> {
    let mut found = parent.children().filter(|c| is(*c, name));
    match (found.next(), found.next()) {
        (Some(node), None) => Ok(node),
        (None, _) => Err(ExchangeError::Malformed {
            reason: "an element missing from the answer",
        }),
        (Some(_), Some(_)) => Err(ExchangeError::Malformed {
            reason: "an element repeated in the answer",
        }),
    }
}

fn optional_text<'a>(parent: roxmltree::Node<'a, '_>, name: &str) -> Result<Option<&'a str>, ExchangeError> {
    let mut found = parent.children().filter(|c| is(*c, name));
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(node), None) => {
            if node.children().any(|c| c.is_element()) {
                return Err(ExchangeError::Malformed {
                    reason: "an element with elements where text belongs",
                });
            }
            Ok(Some(node.text().unwrap_or("").trim()))
        }
        (Some(_), Some(_)) => Err(ExchangeError::Malformed {
            reason: "an element repeated in the answer",
        }),
    }
}

fn text_of<'a>(parent: roxmltree::Node<'a, '_>, name: &str) -> Result<&'a str, ExchangeError> {
    optional_text(parent, name)?.ok_or(ExchangeError::Malformed {
        reason: "an element missing from the answer",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sts::error::StsError;
    use crate::sts::response::{error, success, Issued};

    fn issued(secret: &str, token: &str) -> Response<Vec<u8>> {
        let res = success(&Issued {
            subject: "alice",
            audience: "cli",
            provider: "https://idp.example",
            assumed_role_arn: "arn:aws:sts::000000000000:assumed-role/_default/s".into(),
            assumed_role_id: "AROA:s".into(),
            access_key_id: "ASIAABCDEFGHIJKLMNOP",
            secret_access_key: secret,
            session_token: token,
            expiration: "2026-11-23T10:00:00Z".into(),
            request_id: "req-1",
        });
        let (parts, body) = res.into_parts();
        Response::from_parts(parts, body.as_bytes().to_vec())
    }

    fn answer(status: u16, body: &str) -> Response<Vec<u8>> {
        let mut res = Response::new(body.as_bytes().to_vec());
        *res.status_mut() = StatusCode::from_u16(status).unwrap();
        res
    }

    #[test]
    fn the_request_is_a_form_post_with_the_token_in_the_body() {
        let uri: http::Uri = "https://data.example/.sts".parse().unwrap();
        let req = exchange_request(&uri, "a.b.c", "alice@example.org", Some(900));
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), &uri);
        assert_eq!(req.headers()["content-type"], "application/x-www-form-urlencoded");
        let form: Vec<(String, String)> = form_urlencoded::parse(req.body()).into_owned().collect();
        let want = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", "arn:aws:iam::000000000000:role/_default"),
            ("RoleSessionName", "alice@example.org"),
            ("DurationSeconds", "900"),
            ("WebIdentityToken", "a.b.c"),
        ];
        assert_eq!(form, want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec());
        // What the worker's own request parser accepts.
        assert!(crate::sts::request::parse(&req, 3600).is_ok());
    }

    #[test]
    fn session_names_are_made_of_the_characters_aws_allows() {
        assert_eq!(session_name("alice@example.org"), "alice@example.org");
        assert_eq!(session_name("Ünïcode name/x"), "-n-code-name-x");
        assert_eq!(session_name(""), "--");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn the_workers_own_answer_is_read() {
        let c = exchange_response(&issued("s3cr3t/+=", "tok/+=.x")).unwrap();
        assert_eq!(c.access_key_id, "ASIAABCDEFGHIJKLMNOP");
        assert_eq!(c.secret_access_key.expose_secret(), "s3cr3t/+=");
        assert_eq!(c.session_token.expose_secret(), "tok/+=.x");
        assert_eq!(
            c.expiration,
            crate::time::parse_rfc3339("2026-11-23T10:00:00Z").unwrap()
        );
        assert_eq!(c.subject, "alice");
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t") && !printed.contains("tok/"), "{printed}");
    }

    #[test]
    fn the_workers_error_answers_are_refusals_with_their_aws_codes() {
        for (err, code, status) in [
            (StsError::invalid_token("bad"), "InvalidIdentityToken", 400),
            (StsError::NotImplemented, "NotImplemented", 501),
        ] {
            let res = error(&err, "req-1");
            let (parts, body) = res.into_parts();
            let res = Response::from_parts(parts, body.as_bytes().to_vec());
            match exchange_response(&res).unwrap_err() {
                ExchangeError::Refused { status: s, code: c, .. } => assert_eq!((s, c.as_str()), (status, code)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn answers_that_are_not_exactly_the_document_are_malformed() {
        let good = String::from_utf8(issued("secret", "token").into_body()).unwrap();
        let cases = [
            good.replace("<AccessKeyId>ASIAABCDEFGHIJKLMNOP</AccessKeyId>", ""),
            good.replace("ASIAABCDEFGHIJKLMNOP", "ASIA-short"),
            good.replace(
                "<SecretAccessKey>secret</SecretAccessKey>",
                "<SecretAccessKey></SecretAccessKey>",
            ),
            good.replace("<SessionToken>token</SessionToken>", "<SessionToken>a b</SessionToken>"),
            good.replace("2026-11-23T10:00:00Z", "tomorrow"),
            good.replace("</Credentials>", "</Credentials><Credentials/>"),
            good.replace("<AccessKeyId>", "<AccessKeyId><b/>"),
            good.replace("AssumeRoleWithWebIdentityResponse xmlns", "AssumeRoleResponse xmlns")
                .replace("</AssumeRoleWithWebIdentityResponse>", "</AssumeRoleResponse>"),
            good.replace(NAMESPACE, "urn:other"),
            "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>".into(),
            "not xml".into(),
        ];
        for body in cases {
            assert!(
                matches!(
                    exchange_response(&answer(200, &body)),
                    Err(ExchangeError::Malformed { .. })
                ),
                "{body}"
            );
        }
        assert!(matches!(
            exchange_response(&answer(200, &"x".repeat(MAX_RESPONSE_BYTES + 1))),
            Err(ExchangeError::Malformed { .. })
        ));
    }

    #[test]
    fn a_server_error_without_an_aws_document_is_unavailable_and_a_client_error_is_malformed() {
        assert_eq!(
            exchange_response(&answer(502, "<html>bad gateway")).unwrap_err(),
            ExchangeError::Unavailable { status: 502 }
        );
        assert_eq!(
            exchange_response(&answer(503, "<x/>")).unwrap_err(),
            ExchangeError::Unavailable { status: 503 }
        );
        assert!(matches!(
            exchange_response(&answer(403, "<x/>")).unwrap_err(),
            ExchangeError::Malformed { .. }
        ));
    }
}
