//! Parsing an `AssumeRoleWithWebIdentity` request (AWS STS API reference).

use http::{header, Method, Request};

use crate::encoding::printable;
use crate::policy::SessionPolicy;
use crate::secret::SecretString;
use crate::sts::error::StsError;

pub(crate) const ACTION: &str = "AssumeRoleWithWebIdentity";
pub(crate) const VERSION: &str = "2011-06-15";
/// The one role, and its ARN-shaped alias (AWS SDKs insist on an ARN of 20+ characters).
const DEFAULT_ROLE: &str = "_default";
pub(crate) const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::000000000000:role/_default";
/// AWS's bounds for `WebIdentityToken`.
const MAX_TOKEN_LEN: usize = 20_000;
const MIN_TOKEN_LEN: usize = 4;
/// AWS's bound for an inline session `Policy`.
const MAX_POLICY_LEN: usize = 2048;
/// The shortest session AWS grants.
pub(crate) const MIN_DURATION_SECS: u32 = 900;
/// Default session length before the cap.
const DEFAULT_DURATION_SECS: u32 = 3600;

/// The roles this STS knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Default,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        DEFAULT_ROLE
    }
}

/// A validated request; the web identity token is not yet verified.
#[derive(Debug)]
pub(crate) struct AssumeRoleRequest {
    pub(crate) role: Role,
    pub(crate) session_name: String,
    pub(crate) web_identity_token: SecretString,
    pub(crate) duration_secs: u32,
    /// The inline session policy, parsed and normalised; sealed in the session as its scope.
    pub(crate) policy: Option<SessionPolicy>,
}

/// Request parameters: the form body of a POST, then the query string.
fn params(req: &Request<Vec<u8>>) -> Result<Vec<(String, String)>, StsError> {
    let mut out = Vec::new();
    if req.method() == Method::POST && !req.body().is_empty() {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !form {
            return Err(StsError::validation(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        out.extend(form_urlencoded::parse(req.body()).into_owned());
    }
    if let Some(q) = req.uri().query() {
        out.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    Ok(out)
}

/// Parses and validates everything but the token's authenticity.
pub(crate) fn parse(req: &Request<Vec<u8>>, max_duration_secs: u32) -> Result<AssumeRoleRequest, StsError> {
    let params = params(req)?;
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let required = |name: &'static str| {
        get(name)
            .filter(|v| !v.is_empty())
            .ok_or(StsError::MissingParameter { name })
    };

    match get("Action") {
        Some(ACTION) => {}
        Some(other) => {
            return Err(StsError::InvalidAction {
                reason: format!("action {} is not supported; only {ACTION}", printable(other)),
            })
        }
        None => {
            return Err(StsError::InvalidAction {
                reason: format!("the request must name an Action ({ACTION})"),
            })
        }
    }
    if required("Version")? != VERSION {
        return Err(StsError::InvalidAction {
            reason: format!("only API version {VERSION} is supported"),
        });
    }
    let role_arn = required("RoleArn")?;
    let session_name = required("RoleSessionName")?;
    let token = required("WebIdentityToken")?;

    // RoleSessionName: 2 to 64 of [\w+=,.@-].
    let name_ok = (2..=64).contains(&session_name.len())
        && session_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if !name_ok {
        return Err(StsError::validation(
            "RoleSessionName must be 2 to 64 characters of letters, digits and _+=,.@-",
        ));
    }
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len()) {
        return Err(StsError::validation(format!(
            "WebIdentityToken must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters long"
        )));
    }
    let duration_secs = match get("DurationSeconds") {
        None | Some("") => DEFAULT_DURATION_SECS.min(max_duration_secs),
        Some(v) => match v.parse::<u32>() {
            Ok(d) if (MIN_DURATION_SECS..=max_duration_secs).contains(&d) => d,
            _ => {
                return Err(StsError::validation(format!(
                    "DurationSeconds must be an integer from {MIN_DURATION_SECS} to {max_duration_secs}"
                )))
            }
        },
    };
    // Policy: "The plaintext ... can't exceed 2,048 characters"; a document IAM would refuse,
    // or one this proxy cannot evaluate faithfully, is MalformedPolicyDocument.
    let policy = match get("Policy").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) if p.chars().count() > MAX_POLICY_LEN => {
            return Err(StsError::validation(format!(
                "Policy must be at most {MAX_POLICY_LEN} characters"
            )))
        }
        Some(p) => Some(SessionPolicy::parse(p).map_err(|e| StsError::MalformedPolicy { reason: e.to_string() })?),
    };
    // ProviderId is for OAuth 2.0 access tokens of two social providers; AWS says not to
    // send it with OpenID Connect ID tokens. Validated for length as AWS does, then ignored.
    if get("ProviderId").is_some_and(|p| !(4..=2048).contains(&p.len())) {
        return Err(StsError::validation("ProviderId must be 4 to 2048 characters"));
    }
    let role = match role_arn {
        DEFAULT_ROLE | DEFAULT_ROLE_ARN => Role::Default,
        _ => {
            return Err(StsError::AccessDenied {
                reason: format!("role {} does not exist or may not be assumed", printable(role_arn)),
            })
        }
    };
    Ok(AssumeRoleRequest {
        role,
        session_name: session_name.to_owned(),
        web_identity_token: SecretString::new(token.to_owned()),
        duration_secs,
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2F_default&RoleSessionName=s1&WebIdentityToken=aaaa.bbbb.cccc";

    fn post(body: &str) -> Request<Vec<u8>> {
        Request::post("/.sts")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn code(body: &str) -> &'static str {
        parse(&post(body), 3600).unwrap_err().wire().0
    }

    #[test]
    fn form_post_and_query_get_parse_alike() {
        let a = parse(&post(GOOD), 3600).unwrap();
        let b = parse(&Request::get(format!("/.sts?{GOOD}")).body(Vec::new()).unwrap(), 3600).unwrap();
        for r in [a, b] {
            assert_eq!(r.role, Role::Default);
            assert_eq!(r.session_name, "s1");
            assert_eq!(r.web_identity_token.expose_secret(), "aaaa.bbbb.cccc");
            assert_eq!(r.duration_secs, 3600);
        }
    }

    #[test]
    fn bare_default_role_is_accepted_and_others_denied() {
        assert!(parse(
            &post(&GOOD.replace("arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2F_default", "_default")),
            3600
        )
        .is_ok());
        assert_eq!(code(&GOOD.replace("_default", "admin")), "AccessDenied");
    }

    #[test]
    fn action_version_and_missing_parameters() {
        assert_eq!(
            code(&GOOD.replace("AssumeRoleWithWebIdentity", "AssumeRole")),
            "InvalidAction"
        );
        assert_eq!(
            code(&GOOD.replace("Action=AssumeRoleWithWebIdentity&", "")),
            "InvalidAction"
        );
        assert_eq!(code(&GOOD.replace("2011-06-15", "2020-01-01")), "InvalidAction");
        assert_eq!(code(&GOOD.replace("Version=2011-06-15&", "")), "MissingParameter");
        assert_eq!(code(&GOOD.replace("&RoleSessionName=s1", "")), "MissingParameter");
        assert_eq!(
            code(&GOOD.replace("&WebIdentityToken=aaaa.bbbb.cccc", "")),
            "MissingParameter"
        );
    }

    #[test]
    fn session_name_duration_token_and_policy_are_validated() {
        for bad in ["s", "a%20b", "a/b"] {
            assert_eq!(
                code(&GOOD.replace("RoleSessionName=s1", &format!("RoleSessionName={bad}"))),
                "ValidationError"
            );
        }
        assert_eq!(
            code(&GOOD.replace("RoleSessionName=s1", &format!("RoleSessionName={}", "a".repeat(65)))),
            "ValidationError"
        );
        for bad in ["899", "3601", "abc", "-1"] {
            assert_eq!(
                code(&format!("{GOOD}&DurationSeconds={bad}")),
                "ValidationError",
                "{bad}"
            );
        }
        assert_eq!(
            parse(&post(&format!("{GOOD}&DurationSeconds=900")), 3600)
                .unwrap()
                .duration_secs,
            900
        );
        assert_eq!(parse(&post(GOOD), 1800).unwrap().duration_secs, 1800);
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(code(&GOOD.replace("aaaa.bbbb.cccc", &long)), "ValidationError");
    }

    fn with_policy(policy: &str) -> String {
        let encoded: String = form_urlencoded::byte_serialize(policy.as_bytes()).collect();
        format!("{GOOD}&Policy={encoded}")
    }

    #[test]
    fn a_malformed_or_unsupported_policy_is_malformed_policy_document() {
        for bad in [
            "notjson",
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:PutObject","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#,
        ] {
            let err = parse(&post(&with_policy(bad)), 3600).unwrap_err();
            assert_eq!(
                err.wire(),
                ("MalformedPolicyDocument", http::StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_policy_is_parsed_and_its_length_bounded_in_characters() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo/p/*"}}"#;
        let ok = parse(&post(&with_policy(doc)), 3600).unwrap();
        assert_eq!(ok.policy, Some(SessionPolicy::parse(doc).unwrap()));
        // 2,048 characters (not bytes) is the bound: a padded Sid of two-byte characters fits.
        let padded = |n: usize| doc.replacen('{', &format!(r#"{{"Id":"{}","#, "é".repeat(n)), 1);
        let fits = padded(MAX_POLICY_LEN - doc.chars().count() - 8);
        assert_eq!(fits.chars().count(), MAX_POLICY_LEN);
        assert!(parse(&post(&with_policy(&fits)), 3600).is_ok());
        let over = padded(MAX_POLICY_LEN - doc.chars().count() - 7);
        assert_eq!(code(&with_policy(&over)), "ValidationError");
    }

    #[test]
    fn a_post_body_that_is_not_a_form_is_refused() {
        let req = Request::post("/.sts")
            .header("content-type", "application/json")
            .body(b"{}".to_vec())
            .unwrap();
        assert_eq!(parse(&req, 3600).unwrap_err().wire().0, "ValidationError");
    }

    #[test]
    fn messages_never_repeat_long_attacker_input() {
        let err = parse(&post(&GOOD.replace("_default", &"x".repeat(500))), 3600).unwrap_err();
        assert!(err.to_string().len() < 150);
    }
}
