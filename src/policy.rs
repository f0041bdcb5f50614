//! Session policies: the inline `Policy` of `AssumeRoleWithWebIdentity`, parsed once at
//! `/.sts`, sealed in a compact normalised form, and evaluated on the S3 read path.
//!
//! The grammar is the IAM JSON policy language (IAM User Guide, "IAM JSON policy element
//! reference") restricted to what can be evaluated faithfully here:
//!
//! - `Version` `2012-10-17` or `2008-10-17` (absent: `2008-10-17`, as IAM does); `Id` and
//!   `Sid` are accepted and ignored.
//! - `Statement`: one object or an array of them, each with `Effect` (`Allow` | `Deny`),
//!   `Action` and `Resource` (a string or an array of strings), optionally `Condition`.
//! - `Action`: `*` or `service:name`, with `*` and `?` wildcards, matched case-insensitively.
//!   Only `s3:GetObject`, `s3:ListBucket` and `s3:GetBucketLocation` exist on this read path;
//!   any other action is well-formed but never matches.
//! - `Resource`: `*` or an ARN (six `:`-separated parts, each matched with `*` and `?`); here
//!   the S3 bucket is the account and the key `{product}/{rest}`. ARNs of other services
//!   are well-formed but never match.
//! - `Condition`: `StringEquals` and `StringLike` on `s3:prefix` only.
//!
//! Everything else (`NotAction`, `NotResource`, `Principal`, `NotPrincipal`, other condition
//! operators or keys, policy variables in a 2012-10-17 policy, duplicate keys) is refused
//! with a reason rather than misread or ignored.
//!
//! Evaluation (IAM User Guide, "Policy evaluation logic"): a request is allowed only when
//! some `Allow` statement matches it and no `Deny` statement does; an explicit deny wins,
//! and without a matching `Allow` the request is implicitly denied.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::encoding::printable;

/// The actions of the read path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    GetObject,
    ListBucket,
    GetBucketLocation,
}

impl Action {
    const ALL: [Action; 3] = [Action::GetObject, Action::ListBucket, Action::GetBucketLocation];

    /// The IAM action name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::GetObject => "s3:GetObject",
            Action::ListBucket => "s3:ListBucket",
            Action::GetBucketLocation => "s3:GetBucketLocation",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Action::GetObject => 1,
            Action::ListBucket => 2,
            Action::GetBucketLocation => 4,
        }
    }
}

/// What a request is evaluated against: an action on `arn:aws:s3:::{resource}`, and for
/// listings the `s3:prefix` condition key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) action: Action,
    /// `{bucket}` or `{bucket}/{key}`: the ARN's resource part.
    pub(crate) resource: &'a str,
    /// `s3:prefix`: the listing's prefix (empty when none was sent); `None` for other actions.
    pub(crate) prefix: Option<&'a str>,
}

/// The outcome of evaluating a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    /// No `Allow` statement matched.
    ImplicitDeny,
    /// A `Deny` statement matched.
    ExplicitDeny,
}

/// Why a policy document was refused. Attacker-chosen names are shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PolicyError {
    #[error("the policy is not a JSON object")]
    NotJson,
    #[error("the policy repeats the key {key}")]
    DuplicateKey { key: String },
    #[error("{element} is required")]
    Missing { element: &'static str },
    #[error("the policy element {element} is not known")]
    UnknownElement { element: String },
    #[error("{element} is not supported in session policies here")]
    Unsupported { element: &'static str },
    #[error("the condition {operator} on {key} is not supported; only StringEquals and StringLike on s3:prefix")]
    UnsupportedCondition { operator: String, key: String },
    #[error("{element} {reason}")]
    Invalid {
        element: &'static str,
        reason: &'static str,
    },
}

/// A parsed session policy in its normalised form; also its sealed form (see `Sealed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SessionPolicy(Vec<Statement>);

/// One statement, normalised: its effect (0 allow, 1 deny), the read-path actions it names
/// (a bit set of [`Action::bit`]), the resource parts of the S3 ARNs it names (globs), and
/// the `s3:prefix` tests that must all hold. Serialised as a JSON array, for a short token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Statement(u8, u8, Vec<String>, Vec<PrefixTest>);

/// `(0 StringEquals | 1 StringLike, values)`: holds when the prefix matches any value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PrefixTest(u8, Vec<String>);

const ALLOW: u8 = 0;
const DENY: u8 = 1;
const STRING_EQUALS: u8 = 0;
const STRING_LIKE: u8 = 1;

impl SessionPolicy {
    /// Parses a policy document (the `Policy` parameter's text).
    pub(crate) fn parse(text: &str) -> Result<Self, PolicyError> {
        let doc: Json = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            match msg.strip_prefix(DUPLICATE) {
                Some(key) => PolicyError::DuplicateKey {
                    key: key.split(" at line").next().unwrap_or_default().to_owned(),
                },
                None => PolicyError::NotJson,
            }
        })?;
        let Json::Object(doc) = doc else {
            return Err(PolicyError::NotJson);
        };
        let mut variables = false;
        let mut statements = None;
        for (name, value) in &doc {
            match name.as_str() {
                // "If you do not include a Version element, the value defaults to 2008-10-17".
                "Version" => match value {
                    Json::String(v) if v == "2012-10-17" => variables = true,
                    Json::String(v) if v == "2008-10-17" => {}
                    _ => {
                        return Err(PolicyError::Invalid {
                            element: "Version",
                            reason: "must be 2012-10-17 or 2008-10-17",
                        })
                    }
                },
                "Id" => {
                    if !matches!(value, Json::String(_)) {
                        return Err(PolicyError::Invalid {
                            element: "Id",
                            reason: "must be a string",
                        });
                    }
                }
                "Statement" => statements = Some(value),
                other => return Err(unknown(other)),
            }
        }
        let statements = match statements.ok_or(PolicyError::Missing { element: "Statement" })? {
            Json::Array(list) if !list.is_empty() => list.iter().collect(),
            one @ Json::Object(_) => vec![one],
            _ => {
                return Err(PolicyError::Invalid {
                    element: "Statement",
                    reason: "must be a statement or a non-empty array of them",
                })
            }
        };
        let mut out = Vec::new();
        for s in statements {
            if let Some(s) = statement(s, variables)? {
                out.push(s);
            }
        }
        Ok(SessionPolicy(out))
    }

    /// Evaluates `req`: an explicit deny wins, then an allow, else the implicit deny.
    pub(crate) fn decide(&self, req: &Request<'_>) -> Decision {
        let matching = |effect| self.0.iter().any(|s| s.0 == effect && s.matches(req));
        if matching(DENY) {
            Decision::ExplicitDeny
        } else if matching(ALLOW) {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

impl Statement {
    fn matches(&self, req: &Request<'_>) -> bool {
        let Statement(_, actions, resources, tests) = self;
        actions & req.action.bit() != 0
            && resources.iter().any(|r| glob(r, req.resource, false))
            // A condition on a key the request lacks does not hold (no `...IfExists` here).
            && tests.iter().all(|PrefixTest(op, values)| {
                req.prefix.is_some_and(|p| {
                    values.iter().any(|v| match *op {
                        STRING_LIKE => glob(v, p, false),
                        _ => v == p,
                    })
                })
            })
    }
}

fn unknown(name: &str) -> PolicyError {
    PolicyError::UnknownElement {
        element: printable(name),
    }
}

/// One statement, or `None` when it can match no request of the read path.
fn statement(s: &Json, variables: bool) -> Result<Option<Statement>, PolicyError> {
    let Json::Object(fields) = s else {
        return Err(PolicyError::Invalid {
            element: "Statement",
            reason: "must hold objects",
        });
    };
    let (mut effect, mut actions, mut resources, mut tests) = (None, None, None, Vec::new());
    for (name, value) in fields {
        match name.as_str() {
            "Sid" => {
                if !matches!(value, Json::String(_)) {
                    return Err(PolicyError::Invalid {
                        element: "Sid",
                        reason: "must be a string",
                    });
                }
            }
            "Effect" => {
                effect = Some(match value {
                    Json::String(e) if e == "Allow" => ALLOW,
                    Json::String(e) if e == "Deny" => DENY,
                    _ => {
                        return Err(PolicyError::Invalid {
                            element: "Effect",
                            reason: "must be Allow or Deny",
                        })
                    }
                })
            }
            "Action" => actions = Some(action_bits(&strings(value, "Action")?)?),
            "Resource" => resources = Some(resource_parts(&strings(value, "Resource")?, variables)?),
            "Condition" => tests = conditions(value, variables)?,
            // A session policy names no principal (AWS refuses them too); the negated forms
            // would need the full action and resource universe to be read correctly.
            "NotAction" => return Err(PolicyError::Unsupported { element: "NotAction" }),
            "NotResource" => return Err(PolicyError::Unsupported { element: "NotResource" }),
            "Principal" => return Err(PolicyError::Unsupported { element: "Principal" }),
            "NotPrincipal" => {
                return Err(PolicyError::Unsupported {
                    element: "NotPrincipal",
                })
            }
            other => return Err(unknown(other)),
        }
    }
    let effect = effect.ok_or(PolicyError::Missing { element: "Effect" })?;
    let actions = actions.ok_or(PolicyError::Missing { element: "Action" })?;
    let resources = resources.ok_or(PolicyError::Missing { element: "Resource" })?;
    if actions == 0 || resources.is_empty() {
        return Ok(None);
    }
    Ok(Some(Statement(effect, actions, resources, tests)))
}

/// A string or a non-empty array of strings.
fn strings<'j>(value: &'j Json, element: &'static str) -> Result<Vec<&'j str>, PolicyError> {
    let invalid = PolicyError::Invalid {
        element,
        reason: "must be a string or a non-empty array of strings",
    };
    match value {
        Json::String(s) => Ok(vec![s.as_str()]),
        Json::Array(list) if !list.is_empty() => list
            .iter()
            .map(|v| match v {
                Json::String(s) => Ok(s.as_str()),
                _ => Err(invalid.clone()),
            })
            .collect(),
        _ => Err(invalid),
    }
}

/// The read-path actions the patterns match. A pattern is `*` or `service:name`.
fn action_bits(patterns: &[&str]) -> Result<u8, PolicyError> {
    let mut bits = 0;
    for p in patterns {
        let wild = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?' || b == b'-')
        };
        let well_formed = *p == "*"
            || p.split_once(':')
                .is_some_and(|(service, name)| wild(service) && wild(name));
        if !well_formed {
            return Err(PolicyError::Invalid {
                element: "Action",
                reason: "must be * or service:action",
            });
        }
        for a in Action::ALL {
            // Action names are case-insensitive.
            if glob(p, a.name(), true) {
                bits |= a.bit();
            }
        }
    }
    Ok(bits)
}

/// The resource parts of the S3 ARNs the patterns can match (`*` matches every one).
fn resource_parts(patterns: &[&str], variables: bool) -> Result<Vec<String>, PolicyError> {
    let mut out = Vec::new();
    for p in patterns {
        no_variables(p, variables)?;
        if *p == "*" {
            out.push("*".to_owned());
            continue;
        }
        // arn:partition:service:region:account-id:resource
        let parts: Vec<&str> = p.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(PolicyError::Invalid {
                element: "Resource",
                reason: "must be * or an ARN (arn:aws:s3:::bucket/key)",
            });
        };
        if *arn != "arn" {
            return Err(PolicyError::Invalid {
                element: "Resource",
                reason: "must be * or an ARN (arn:aws:s3:::bucket/key)",
            });
        }
        let s3 = glob(partition, "aws", false)
            && glob(service, "s3", false)
            && glob(region, "", false)
            && glob(account, "", false);
        if s3 {
            out.push((*resource).to_owned());
        }
    }
    Ok(out)
}

/// In a 2012-10-17 policy `${...}` is a policy variable, which this proxy does not substitute.
fn no_variables(s: &str, variables: bool) -> Result<(), PolicyError> {
    if variables && s.contains("${") {
        return Err(PolicyError::Unsupported {
            element: "a policy variable (${...})",
        });
    }
    Ok(())
}

fn conditions(value: &Json, variables: bool) -> Result<Vec<PrefixTest>, PolicyError> {
    let invalid = |reason| PolicyError::Invalid {
        element: "Condition",
        reason,
    };
    let Json::Object(operators) = value else {
        return Err(invalid("must be an object of operators"));
    };
    let mut out = Vec::new();
    for (operator, keys) in operators {
        let Json::Object(keys) = keys else {
            return Err(invalid("operators must hold an object of keys"));
        };
        for (key, values) in keys {
            let op = match operator.as_str() {
                "StringEquals" => STRING_EQUALS,
                "StringLike" => STRING_LIKE,
                _ => 255,
            };
            // Condition keys are case-insensitive.
            if op == 255 || !key.eq_ignore_ascii_case("s3:prefix") {
                return Err(PolicyError::UnsupportedCondition {
                    operator: printable(operator),
                    key: printable(key),
                });
            }
            let values = strings(values, "Condition")?;
            for v in &values {
                no_variables(v, variables)?;
            }
            out.push(PrefixTest(op, values.iter().map(|v| (*v).to_owned()).collect()));
        }
    }
    Ok(out)
}

/// IAM wildcard matching: `*` any run of characters (across `/`), `?` exactly one.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |c: char| if ignore_case { c.to_ascii_lowercase() } else { c };
    let p: Vec<char> = pattern.chars().map(fold).collect();
    let t: Vec<char> = text.chars().map(fold).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character.
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == '*')
}

/// The sealed form: the normalised statements; a token sealed before policies were
/// enforced holds the policy's JSON text instead, which is parsed now, and denies
/// everything if it does not parse (never widened).
#[derive(Deserialize)]
#[serde(untagged)]
enum Sealed {
    Normalised(Vec<Statement>),
    Text(String),
}

impl<'de> Deserialize<'de> for SessionPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Sealed::deserialize(d)? {
            Sealed::Normalised(statements) => SessionPolicy(statements),
            Sealed::Text(text) => SessionPolicy::parse(&text).unwrap_or(SessionPolicy(Vec::new())),
        })
    }
}

/// JSON as the policy parser reads it: objects keep their order and refuse repeated keys
/// (`serde_json::Value` keeps the last, which would silently drop a statement's `Deny`).
enum Json {
    Other,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

const DUPLICATE: &str = "duplicate key ";

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut out: Vec<(String, Json)> = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom(format!("{DUPLICATE}{}", printable(&k))));
                    }
                    let v = map.next_value()?;
                    out.push((k, v));
                }
                Ok(Json::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SessionPolicy {
        SessionPolicy::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn get(resource: &str) -> Request<'_> {
        Request {
            action: Action::GetObject,
            resource,
            prefix: None,
        }
    }

    fn list<'a>(bucket: &'a str, prefix: &'a str) -> Request<'a> {
        Request {
            action: Action::ListBucket,
            resource: bucket,
            prefix: Some(prefix),
        }
    }

    /// IAM User Guide, "Amazon S3: Allows read-only access to objects in a bucket" (shape).
    const READ_ONLY_BUCKET: &str = r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListObjectsInBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": ["arn:aws:s3:::bucket-name"]},
            {"Sid": "AllObjectActions", "Effect": "Allow", "Action": "s3:*Object",
             "Resource": ["arn:aws:s3:::bucket-name/*"]}
        ]
    }"#;

    /// The S3 User Guide's home-folder example, with the user name written out.
    const HOME_FOLDER: &str = r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowRootAndHomeListingOfCompanyBucket", "Action": ["s3:ListBucket"],
             "Effect": "Allow", "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"],
             "Condition": {"StringEquals": {"s3:prefix": ["", "home/", "home/David"]}}},
            {"Sid": "AllowListingOfUserFolder", "Action": ["s3:ListBucket"], "Effect": "Allow",
             "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"],
             "Condition": {"StringLike": {"s3:prefix": ["home/David/*"]}}},
            {"Sid": "AllowAllS3ActionsInUserFolder", "Effect": "Allow", "Action": ["s3:*"],
             "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/home/David/*"]}
        ]
    }"#;

    #[test]
    fn read_only_bucket_example_allows_listing_and_reads_in_that_bucket_only() {
        let p = parse(READ_ONLY_BUCKET);
        assert_eq!(p.decide(&list("bucket-name", "")), Decision::Allow);
        assert_eq!(p.decide(&get("bucket-name/a/b.txt")), Decision::Allow);
        assert_eq!(p.decide(&get("other-bucket/a/b.txt")), Decision::ImplicitDeny);
        assert_eq!(p.decide(&list("other-bucket", "")), Decision::ImplicitDeny);
        let location = Request {
            action: Action::GetBucketLocation,
            resource: "bucket-name",
            prefix: None,
        };
        assert_eq!(p.decide(&location), Decision::ImplicitDeny);
    }

    #[test]
    fn home_folder_example_lists_root_home_and_own_folder_and_reads_only_there() {
        let p = parse(HOME_FOLDER);
        let b = "amzn-s3-demo-bucket";
        for prefix in ["", "home/", "home/David", "home/David/", "home/David/photos/"] {
            assert_eq!(p.decide(&list(b, prefix)), Decision::Allow, "{prefix}");
        }
        for prefix in ["home/Alice/", "home", "other/", "home/Davidx"] {
            assert_eq!(p.decide(&list(b, prefix)), Decision::ImplicitDeny, "{prefix}");
        }
        assert_eq!(p.decide(&get("amzn-s3-demo-bucket/home/David/cv.pdf")), Decision::Allow);
        assert_eq!(
            p.decide(&get("amzn-s3-demo-bucket/home/Alice/cv.pdf")),
            Decision::ImplicitDeny
        );
        // The listing statements' condition cannot hold for a GetObject (no s3:prefix).
        assert_eq!(p.decide(&get("amzn-s3-demo-bucket")), Decision::ImplicitDeny);
    }

    #[test]
    fn explicit_deny_overrides_an_allow() {
        // IAM User Guide, "Policy evaluation logic": an explicit deny overrides any allow.
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo/secret/*"},
                {"Effect":"Deny","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo",
                 "Condition":{"StringLike":{"s3:prefix":"secret/*"}}}]}"#,
        );
        assert_eq!(p.decide(&get("demo/public/a")), Decision::Allow);
        assert_eq!(p.decide(&get("demo/secret/a")), Decision::ExplicitDeny);
        assert_eq!(p.decide(&list("demo", "secret/x")), Decision::ExplicitDeny);
        assert_eq!(p.decide(&list("demo", "public/")), Decision::Allow);
    }

    #[test]
    fn no_matching_allow_is_an_implicit_deny() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#);
        assert_eq!(p.decide(&get("demo/a")), Decision::ExplicitDeny);
        let p = parse(r#"{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}}"#);
        assert_eq!(p.decide(&get("demo/a")), Decision::ImplicitDeny);
        assert_eq!(p, SessionPolicy(Vec::new()));
    }

    #[test]
    fn action_wildcards_match_case_insensitively() {
        for action in [
            "*",
            "s3:*",
            "S3:GETOBJECT",
            "s3:getobject",
            "s3:Get*",
            "s3:?etObject",
            "*:GetObject",
        ] {
            let p = parse(&format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"{action}","Resource":"*"}}}}"#
            ));
            assert_eq!(p.decide(&get("demo/a")), Decision::Allow, "{action}");
        }
        for action in ["s3:List*", "s3:GetObjectAcl", "s3:?GetObject", "ec2:*", "s3:Get"] {
            let p = parse(&format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"{action}","Resource":"*"}}}}"#
            ));
            assert_eq!(p.decide(&get("demo/a")), Decision::ImplicitDeny, "{action}");
        }
    }

    #[test]
    fn resource_wildcards_star_spans_slashes_and_question_mark_is_one_character() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject",
                "Resource":["arn:aws:s3:::demo/data-?/*","arn:*:s3:*:*:other/*.csv"]}}"#,
        );
        assert_eq!(p.decide(&get("demo/data-1/x/y/z.bin")), Decision::Allow);
        assert_eq!(p.decide(&get("demo/data-12/x")), Decision::ImplicitDeny);
        assert_eq!(p.decide(&get("demo/data-/x")), Decision::ImplicitDeny);
        assert_eq!(p.decide(&get("other/a/b.csv")), Decision::Allow);
        assert_eq!(p.decide(&get("other/a/b.CSV")), Decision::ImplicitDeny);
        // ARNs are case-sensitive, and another service's ARN never names an S3 object.
        assert_eq!(p.decide(&get("Demo/data-1/x")), Decision::ImplicitDeny);
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",
                "Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/demo"}}"#,
        );
        assert_eq!(p, SessionPolicy(Vec::new()));
    }

    #[test]
    fn string_equals_and_string_like_on_s3_prefix_need_a_listing() {
        let p = parse(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket",
                "Resource":"arn:aws:s3:::demo","Condition":{"StringEquals":{"S3:Prefix":"a/"},
                "StringLike":{"s3:prefix":["a?","a/*"]}}}}"#,
        );
        // Both operators must hold: "a/" equals "a/" and is like "a?".
        assert_eq!(p.decide(&list("demo", "a/")), Decision::Allow);
        assert_eq!(p.decide(&list("demo", "a/b")), Decision::ImplicitDeny);
        let head = Request {
            action: Action::ListBucket,
            resource: "demo",
            prefix: None,
        };
        assert_eq!(p.decide(&head), Decision::ImplicitDeny);
    }

    #[test]
    fn unsupported_elements_are_refused_not_ignored() {
        let cases = [
            (
                r#"{"Statement":{"Effect":"Allow","NotAction":"s3:PutObject","Resource":"*"}}"#,
                "NotAction",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::x"}}"#,
                "NotResource",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
                "Principal",
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"a"}}}}"#,
                "StringNotLike",
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:delimiter":"/"}}}}"#,
                "s3:delimiter",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#,
                "variable",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}}"#,
                "Foo",
            ),
        ];
        for (text, word) in cases {
            let err = SessionPolicy::parse(text).unwrap_err();
            assert!(err.to_string().contains(word), "{err} for {text}");
        }
        // In a 2008-10-17 policy `${` is literal text.
        assert!(SessionPolicy::parse(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${x}"}}"#
        )
        .is_ok());
    }

    #[test]
    fn malformed_documents_are_refused() {
        for text in [
            "notjson",
            "[]",
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":[]}"#,
            r#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"demo/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":[1]}}"#,
        ] {
            assert!(SessionPolicy::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_repeated_key_is_refused_rather_than_the_last_one_winning() {
        let text = r#"{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert_eq!(
            SessionPolicy::parse(text).unwrap_err(),
            PolicyError::DuplicateKey { key: "Effect".into() }
        );
    }

    #[test]
    fn the_sealed_form_round_trips_and_is_shorter_than_the_document() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::demo/public-data/*"]},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo","Condition":{"StringLike":{"s3:prefix":["public-data/*"]}}}]}"#;
        let p = parse(text);
        let sealed = serde_json::to_string(&p).unwrap();
        assert_eq!(
            sealed,
            r#"[[0,1,["demo/public-data/*"],[]],[0,2,["demo"],[[1,["public-data/*"]]]]]"#
        );
        assert_eq!(serde_json::from_str::<SessionPolicy>(&sealed).unwrap(), p);
        // A token sealed before enforcement holds the document text: read it now.
        let legacy = serde_json::to_string(text).unwrap();
        assert_eq!(serde_json::from_str::<SessionPolicy>(&legacy).unwrap(), p);
        let broken = serde_json::from_str::<SessionPolicy>(r#""{\"Version\":\"2012-10-17\"}""#).unwrap();
        assert_eq!(broken.decide(&get("demo/public-data/a")), Decision::ImplicitDeny);
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob("a*b*c", "aXXbYYc", false));
        assert!(glob("*", "", false));
        assert!(!glob("?", "", false));
        assert!(glob("?", "é", false));
        assert!(!glob("a*b", "a/c", false));
        assert!(glob("**a", "xa", false));
        assert!(!glob("", "a", false));
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = SessionPolicy::parse(&s);
        }

        #[test]
        fn star_matches_everything_and_a_literal_only_itself(s in "[a-z/?*]{0,20}") {
            proptest::prop_assert!(glob("*", &s, false));
            let literal = s.replace(['*', '?'], "");
            proptest::prop_assert!(glob(&literal, &literal, false));
        }
    }
}
