//! Listing continuation tokens: where the next page of a listing begins, bound to the
//! listing it continues and authenticated, so that a token is good only for the caller,
//! the account and the listing (`prefix`, `delimiter`) it was issued for, and a backend
//! only ever sees cursors it handed out itself.
//!
//! Form: base64url (no padding) of `version (1) | HMAC-SHA256 tag (32) | position (JSON)`.
//! The tag covers the binding (the caller's tag, account, prefix, delimiter, each
//! length-prefixed) and the position. The key is derived from the deployment's secret
//! with the label [`LABEL`]. A deployment holding no secret (no `SESSION_TOKEN_KEY` nor
//! `OIDC_PROVIDER_KEY`, so anonymous callers only) uses a fixed key derived from an
//! all-zero secret: its tokens still belong to one caller, account and listing, but anyone
//! could make one. That reveals nothing: every page is authorised afresh, and a token only
//! moves the cursor within a listing the caller may make.
//!
//! Anything else presented as a token (garbage, a token of another listing or caller, one
//! tampered with, a backend's raw cursor) is `400 InvalidArgument`, which SDKs do not retry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::s3::auth::Principal;
use crate::s3::error::ListingError;
use crate::secret::{DerivedKeys, MacKey};

/// The derived-key label of listing tokens.
const LABEL: &str = "s3/list-token/v1";

const VERSION: u8 = 1;
const TAG_LEN: usize = 32;

/// Who a token was issued to, as a hash (tokens are readable: no subject in them).
pub(crate) type CallerTag = [u8; 32];

/// The caller a token is bound to: the session's issuer and subject (a caller is the pair),
/// or nobody signed in.
pub(crate) fn caller_tag(principal: &Principal) -> CallerTag {
    let mut h = Sha256::new_with_prefix(b"oidc-sts-proxy/list-caller/v1\0");
    match principal {
        Principal::Anonymous => h.update([0]),
        Principal::Session(claims) => {
            h.update([1]);
            length_prefixed(&mut h, claims.iss.as_str().as_bytes());
            length_prefixed(&mut h, claims.sub.as_str().as_bytes());
        }
    }
    h.finalize().into()
}

/// The token key: derived from the deployment's secret, else the fixed public one.
pub(crate) fn key(derived: Option<&DerivedKeys>) -> MacKey {
    match derived {
        Some(keys) => keys.key(LABEL),
        None => DerivedKeys::from_secret(&[0; 32]).key(LABEL),
    }
}

/// The listing a token continues.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding<'a> {
    pub(crate) caller: &'a CallerTag,
    pub(crate) account: &'a str,
    pub(crate) prefix: &'a str,
    pub(crate) delimiter: Option<&'a str>,
}

/// Where the next page begins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", deny_unknown_fields)]
pub(crate) enum Position {
    /// A product's listing: the backend's cursor.
    #[serde(rename = "c")]
    Cursor { c: String },
    /// An account's keys, product after product: this product, from the backend's cursor
    /// (none: from its start).
    #[serde(rename = "p")]
    Product { p: String, c: Option<String> },
    /// An account's products as common prefixes: those after this one.
    #[serde(rename = "a")]
    AfterPrefix { a: String },
}

fn length_prefixed(h: &mut Sha256, bytes: &[u8]) {
    h.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
    h.update(bytes);
}

/// What the tag covers: a digest of the binding, then the position's bytes.
fn signed_data(binding: &Binding<'_>, position: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(binding.caller);
    length_prefixed(&mut h, binding.account.as_bytes());
    length_prefixed(&mut h, binding.prefix.as_bytes());
    match binding.delimiter {
        None => h.update([0]),
        Some(d) => {
            h.update([1]);
            length_prefixed(&mut h, d.as_bytes());
        }
    }
    let mut data = h.finalize().to_vec();
    data.extend_from_slice(position);
    data
}

/// The token for `position` in the listing `binding` names.
pub(crate) fn encode(key: &MacKey, binding: &Binding<'_>, position: &Position) -> String {
    let json = serde_json::to_vec(position).unwrap_or_default();
    let mut raw = Vec::with_capacity(1 + TAG_LEN + json.len());
    raw.push(VERSION);
    raw.extend_from_slice(&key.tag(&signed_data(binding, &json)));
    raw.extend_from_slice(&json);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The position in `token`, if this worker issued it for the listing `binding` names.
pub(crate) fn decode(key: &MacKey, binding: &Binding<'_>, token: &str) -> Result<Position, ListingError> {
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| ListingError::BadToken)?;
    let (version, rest) = raw.split_first().ok_or(ListingError::BadToken)?;
    if *version != VERSION || rest.len() < TAG_LEN {
        return Err(ListingError::BadToken);
    }
    let (tag, json) = rest.split_at(TAG_LEN);
    // Authenticate before parsing: nothing unauthenticated reaches the JSON parser.
    if !key.verify(&signed_data(binding, json), tag) {
        return Err(ListingError::BadToken);
    }
    serde_json::from_slice(json).map_err(|_| ListingError::BadToken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Audience, Issuer, Subject};
    use crate::s3::error::{S3Code, S3Error};
    use crate::secret::SecretString;
    use crate::session::seal::SessionClaims;
    use proptest::prelude::*;

    /// The S3 code a refused token is answered with.
    fn refusal(decoded: Result<Position, ListingError>) -> S3Code {
        S3Error::from(decoded.expect_err("a refusal")).code()
    }

    fn session(iss: &str, sub: &str) -> Principal {
        Principal::Session(SessionClaims {
            sub: Subject::parse(sub).unwrap(),
            iss: Issuer::parse_trusted(iss).unwrap(),
            aud: Audience::parse("client").unwrap(),
            role: "_default".into(),
            akid: "ASIAEXAMPLEEXAMPLE00".into(),
            secret: SecretString::new("secretsecretsecretsecretsecretsecret0000".into()),
            exp: 0,
            scope: None,
        })
    }

    fn keys() -> MacKey {
        key(Some(&DerivedKeys::from_secret(b"deployment secret")))
    }

    const ALICE: &str = "https://idp.example";

    fn binding<'a>(caller: &'a CallerTag, prefix: &'a str) -> Binding<'a> {
        Binding {
            caller,
            account: "demo",
            prefix,
            delimiter: Some("/"),
        }
    }

    fn cursor() -> Position {
        Position::Cursor {
            c: "backend-cursor".into(),
        }
    }

    #[test]
    fn a_token_continues_the_listing_it_was_issued_for() {
        let caller = caller_tag(&session(ALICE, "alice"));
        let b = binding(&caller, "public-data/");
        for position in [
            cursor(),
            Position::Product { p: "x".into(), c: None },
            Position::AfterPrefix { a: "x/".into() },
        ] {
            let token = encode(&keys(), &b, &position);
            assert_eq!(decode(&keys(), &b, &token), Ok(position));
        }
    }

    #[test]
    fn a_token_of_another_product_account_or_listing_is_invalid_argument() {
        let caller = caller_tag(&session(ALICE, "alice"));
        let token = encode(&keys(), &binding(&caller, "public-data/"), &cursor());
        let code = |b: &Binding<'_>| refusal(decode(&keys(), b, &token));
        assert_eq!(code(&binding(&caller, "restricted-data/")), S3Code::InvalidArgument);
        assert_eq!(code(&binding(&caller, "public-data/sub/")), S3Code::InvalidArgument);
        let other_account = Binding {
            account: "other",
            ..binding(&caller, "public-data/")
        };
        assert_eq!(code(&other_account), S3Code::InvalidArgument);
        let no_delimiter = Binding {
            delimiter: None,
            ..binding(&caller, "public-data/")
        };
        assert_eq!(code(&no_delimiter), S3Code::InvalidArgument);
    }

    #[test]
    fn a_token_of_another_caller_is_invalid_argument() {
        let alice = caller_tag(&session(ALICE, "alice"));
        let token = encode(&keys(), &binding(&alice, "p/"), &cursor());
        for other in [
            session(ALICE, "bob"),
            // The same subject at another issuer is another caller.
            session("https://other-idp.example", "alice"),
            Principal::Anonymous,
        ] {
            let tag = caller_tag(&other);
            assert_ne!(tag, alice);
            assert_eq!(
                refusal(decode(&keys(), &binding(&tag, "p/"), &token)),
                S3Code::InvalidArgument
            );
        }
        // Length prefixes: ("…/ab", "c") is not ("…/a", "bc").
        assert_ne!(
            caller_tag(&session("https://idp.example/ab", "c")),
            caller_tag(&session("https://idp.example/a", "bc"))
        );
    }

    #[test]
    fn a_tampered_token_or_one_of_another_deployment_is_invalid_argument() {
        let caller = caller_tag(&Principal::Anonymous);
        let b = binding(&caller, "p/");
        let token = encode(&keys(), &b, &cursor());
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(refusal(decode(&keys(), &b, &tampered)), S3Code::InvalidArgument);
        let elsewhere = key(Some(&DerivedKeys::from_secret(b"another deployment")));
        assert_eq!(refusal(decode(&elsewhere, &b, &token)), S3Code::InvalidArgument);
        assert_eq!(refusal(decode(&key(None), &b, &token)), S3Code::InvalidArgument);
    }

    #[test]
    fn garbage_and_foreign_tokens_are_invalid_argument() {
        let caller = caller_tag(&Principal::Anonymous);
        let b = binding(&caller, "p/");
        let old_style = URL_SAFE_NO_PAD.encode("p/last-key");
        // An S3 backend's own continuation token, passed through raw (what clients of the
        // backend itself hold).
        for t in [
            "",
            "***",
            "_w",
            old_style.as_str(),
            "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
            "AQ",
        ] {
            assert_eq!(refusal(decode(&keys(), &b, t)), S3Code::InvalidArgument, "{t}");
        }
    }

    #[test]
    fn without_a_secret_tokens_still_bind_their_listing() {
        let caller = caller_tag(&Principal::Anonymous);
        let token = encode(&key(None), &binding(&caller, "p/"), &cursor());
        assert_eq!(decode(&key(None), &binding(&caller, "p/"), &token), Ok(cursor()));
        assert!(decode(&key(None), &binding(&caller, "q/"), &token).is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(t in "\\PC{0,200}") {
            let caller = caller_tag(&Principal::Anonymous);
            let _ = decode(&keys(), &binding(&caller, "p/"), &t);
        }

        #[test]
        fn tokens_round_trip(c in "\\PC{0,80}", prefix in "\\PC{0,20}") {
            let caller = caller_tag(&Principal::Anonymous);
            let b = binding(&caller, &prefix);
            let p = Position::Cursor { c };
            prop_assert_eq!(decode(&keys(), &b, &encode(&keys(), &b, &p)), Ok(p));
        }
    }
}
