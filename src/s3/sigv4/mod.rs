//! AWS Signature Version 4 verification for the S3 read path.
//!
//! Sans-IO: the caller hands in the request's method, its raw path and query exactly as the
//! client sent them (before any URL parsing that could re-encode them), its headers, the secret
//! access key that belongs to the request's access key id, and the time. Nothing here reads a
//! clock, a key store or a body.
//!
//! ```text
//! parse_auth ─► SigV4Request ─► verify (S3 rules) ─► verify_signature
//! (parse.rs)                    (verify.rs)             ├─ canonical_request       (canonical.rs)
//!                                                       ├─ string_to_sign          (signature.rs)
//!                                                       ├─ signing_key             (signature.rs)
//!                                                       └─ signature, compared in constant time
//! ```
//!
//! | module | step |
//! |---|---|
//! | `parse` | the `Authorization` header and presigned-query forms -> [`SigV4Request`] |
//! | `canonical` | task 1: the canonical request (URI, query, headers) |
//! | `signature` | tasks 2-4: the string to sign, the signing key, the signature |
//! | `verify` | S3's rules (scope, `host`, time, payload hash), then the signature |
//! | `error` | why a request was refused |
//!
//! [`canonical_request`], [`string_to_sign`], [`signing_key`], [`signature`](fn@signature)
//! and [`verify_signature`](verify::verify_signature) are service-agnostic (they take the
//! payload hash as given and never normalise the path), so the AWS SigV4 test suite checks
//! them directly; [`verify`](fn@verify) adds what S3 requires on top.
//!
//! S3's rules, as implemented (AWS S3 API reference, "Authenticating Requests (AWS Signature
//! Version 4)"; "Signature Calculations for the Authorization Header"; "Authenticating
//! Requests: Using Query Parameters"):
//! - Only `AWS4-HMAC-SHA256`. SigV2 (`AWS AKID:sig`, `?AWSAccessKeyId=`) and
//!   `AWS4-ECDSA-P256-SHA256` (SigV4a) are refused with their own error.
//! - The credential scope's service must be `s3`. Its region may be any 1 to 32 characters of
//!   `a-z`, `0-9` and `-`: clients sign with `us-east-1` (the SDKs' and the CLI's choice for
//!   S3 when nothing else is configured), `auto` (the R2 convention, used by rclone and the
//!   R2 docs) or the deployment's own name. The region only feeds the key derivation and this
//!   proxy is a single endpoint, so accepting any well-formed one costs nothing.
//! - The scope's date is the date of `x-amz-date` (`X-Amz-Date`); the `Date` header is not
//!   accepted in its place.
//! - `host` must be a signed header.
//! - Header auth: `x-amz-date` within 15 minutes of the server's clock. Presigned:
//!   `X-Amz-Expires` in `1..=604800`, `X-Amz-Date` not more than 15 minutes in the future,
//!   and the request made no later than `X-Amz-Date + X-Amz-Expires`.
//! - Canonical URI: the raw path split on `/`; each segment percent-decoded, then encoded
//!   once with `UriEncode` (`A-Za-z0-9-_.~` kept, every other byte `%XX`, upper-case). No
//!   dot-segment removal, empty segments kept (`//` survives).
//! - Canonical query: every parameter (less `X-Amz-Signature` when presigned), name and value
//!   percent-decoded (`+` is a literal plus, not a space) and `UriEncode`d, sorted by name
//!   then value; a parameter without `=` has an empty value.
//! - Canonical headers: the signed headers in `SignedHeaders` order (which must be lower-case,
//!   sorted and unique), each with all its values trimmed, runs of spaces and tabs folded to
//!   one space, joined with `,`.
//! - Payload hash: for header auth, the `x-amz-content-sha256` header as sent (64 hex digits,
//!   `UNSIGNED-PAYLOAD` or a `STREAMING-*` value), which S3 requires; presigned requests use
//!   `UNSIGNED-PAYLOAD` unless they signed an `x-amz-content-sha256` header. The hash is not
//!   compared with a body: the read path takes none.

mod canonical;
mod error;
mod parse;
mod signature;
#[cfg(test)]
pub(crate) mod test_client;
#[cfg(test)]
mod vectors;
mod verify;

pub(crate) use canonical::canonical_request;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use canonical::{canonical_query, canonical_uri};
pub(crate) use error::SigV4Error;
pub(crate) use parse::{parse_auth, SigV4Request};
pub(crate) use signature::{signature, signing_key, string_to_sign};
pub(crate) use verify::verify;

/// The one signing algorithm accepted.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a request that does not sign its body.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The only service this verifier accepts in a credential scope.
pub(crate) const SERVICE: &str = "s3";
/// The last element of every credential scope.
const TERMINATOR: &str = "aws4_request";
/// The header that carries the payload hash of header auth.
const AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
/// The query parameter that carries a presigned URL's signature (left out of what it signs).
const Q_SIGNATURE: &str = "X-Amz-Signature";
