//! STS XML responses, as AWS writes them (query protocol, API version 2011-06-15).

use http::{header, HeaderValue, Response};

use crate::sts::error::StsError;
use crate::web::{self, Body};

pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Escapes text for XML character data and attribute values. A carriage return is written
/// as a character reference, as S3 does: a parser turns a literal one into a line feed (XML
/// 1.0 §2.11), which would change an object key.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' => out.push_str("&#13;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// What a successful exchange returns.
#[derive(Debug)]
pub struct Issued<'a> {
    pub subject: &'a str,
    pub audience: &'a str,
    pub provider: &'a str,
    pub assumed_role_arn: String,
    pub assumed_role_id: String,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: &'a str,
    pub expiration: String,
    pub request_id: &'a str,
}

fn xml_response(status: http::StatusCode, body: String, request_id: &str) -> Response<Body> {
    let mut res = web::with_body(status, "text/xml", body.into_bytes());
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    res
}

/// `AssumeRoleWithWebIdentityResponse`.
pub fn success(i: &Issued<'_>) -> Response<Body> {
    let e = xml_escape;
    let body = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\">\n\
  <AssumeRoleWithWebIdentityResult>\n\
    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n\
    <Audience>{}</Audience>\n\
    <AssumedRoleUser>\n\
      <Arn>{}</Arn>\n\
      <AssumedRoleId>{}</AssumedRoleId>\n\
    </AssumedRoleUser>\n\
    <Credentials>\n\
      <SessionToken>{}</SessionToken>\n\
      <SecretAccessKey>{}</SecretAccessKey>\n\
      <Expiration>{}</Expiration>\n\
      <AccessKeyId>{}</AccessKeyId>\n\
    </Credentials>\n\
    <Provider>{}</Provider>\n\
  </AssumeRoleWithWebIdentityResult>\n\
  <ResponseMetadata>\n\
    <RequestId>{}</RequestId>\n\
  </ResponseMetadata>\n\
</AssumeRoleWithWebIdentityResponse>\n",
        e(i.subject),
        e(i.audience),
        e(&i.assumed_role_arn),
        e(&i.assumed_role_id),
        e(i.session_token),
        e(i.secret_access_key),
        e(&i.expiration),
        e(i.access_key_id),
        e(i.provider),
        e(i.request_id),
    );
    xml_response(http::StatusCode::OK, body, i.request_id)
}

/// `ErrorResponse` with AWS's code and status for `err`.
pub fn error(err: &StsError, request_id: &str) -> Response<Body> {
    let (code, status) = err.wire();
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n\
  <Error>\n\
    <Type>{}</Type>\n\
    <Code>{code}</Code>\n\
    <Message>{}</Message>\n\
  </Error>\n\
  <RequestId>{}</RequestId>\n\
</ErrorResponse>\n",
        err.fault(),
        xml_escape(&err.to_string()),
        xml_escape(request_id),
    );
    xml_response(status, body, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_has_type_code_message_and_request_id() {
        let res = error(&StsError::invalid_token("bad <token> & more"), "req-1");
        assert_eq!(res.status(), 400);
        let body = String::from_utf8(res.body().as_bytes().to_vec()).unwrap();
        assert!(body.contains("<Code>InvalidIdentityToken</Code>"));
        assert!(body.contains("<Type>Sender</Type>"));
        assert!(body.contains("<Message>bad &lt;token&gt; &amp; more</Message>"));
        assert!(body.contains("<RequestId>req-1</RequestId>"));
        assert_eq!(res.headers()["content-type"], "text/xml");
    }

    #[test]
    fn carriage_returns_survive_an_xml_parser() {
        let text = "a\rb\r\nc";
        let doc = format!("<k>{}</k>", xml_escape(text));
        assert_eq!(doc, "<k>a&#13;b&#13;\nc</k>");
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        assert_eq!(parsed.root_element().text(), Some(text));
    }

    #[test]
    fn not_implemented_is_501() {
        assert_eq!(error(&StsError::NotImplemented, "r").status(), 501);
    }
}
