//! oidc-sts-proxy: an identity gateway for object data on Cloudflare Workers.
//!
//! The crate is a sans-IO core, compiled and tested natively, plus a thin Workers
//! adapter (`adapter`, wasm32 only) that converts types, reads the environment and
//! implements the I/O traits with Workers APIs.
//!
//! | module | what |
//! |---|---|
//! | `router` | the request path: which family answers, then `HEAD` and CORS for all |
//! | `info` | `GET /`: what this deployment is and which features are on |
//! | [`oidc`] | the OpenID provider: keys, discovery, JWKS, minting upstream JWTs; JOSE verification |
//! | [`sts`] | the security token service: `AssumeRoleWithWebIdentity` at `/.sts`; its public part is [`sts::client`], the exchange as a client makes it |
//! | `login` | the browser sign-in's pure parts: `return_to`, one-time state, cookie headers, error pages |
//! | [`oauth`] | the client side of OAuth 2.0 / OIDC: PKCE, metadata, authorization, tokens, device flow, revocation |
//! | [`client_configuration`] | the document that tells the command-line client how to sign in and where `/.sts` and S3 are |
//! | `s3` | the S3-compatible read path: routing, SigV4, listings, objects, S3 errors |
//! | `session` | sealed session tokens, temporary credentials, request ids: issued by the STS, opened by S3 |
//! | `policy` | session policies: parsed at `/.sts`, sealed compactly, enforced on the S3 path |
//! | `access` | authorisation: the upstream API client and the embedded catalogue |
//! | `backend` | the object stores behind the proxy: R2 or S3-compatible buckets, SigV4 signing |
//! | `config` | settings read once per isolate, typed errors |
//! | [`identity`] | checked issuer, audience and subject strings |
//! | [`secret`] | redacting containers for secrets |
//! | [`platform`] | clock, randomness and the I/O traits, passed in |
//! | `web` | shared HTTP plumbing: bodies, JSON errors, CORS, conditionals, `HEAD` |
//! | `edge` | what the platform does to requests and responses in transit, undone or prevented |
//! | `encoding` | percent-encoding, the strict percent-decoder, XML escaping |
//! | [`time`] | every wire date format: RFC 3339, `x-amz-date`, HTTP-date |
//! | `testing` | the insecure `/.test` routes (feature `insecure-test-routes`) |
//! | `fuzz` | fuzz targets for every parser an attacker reaches (tests and `fuzzing` builds) |
//!
//! Public (for the command-line client, `cli/`): [`oauth`], [`client_configuration`],
//! [`sts::client`], and the few items of [`identity`], [`platform`], [`secret`] and [`time`]
//! their signatures name; everything else is crate-private.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
// Natively only the tests (and the fuzz targets) call into the core: the adapter that uses it
// is wasm-only. Dead code is judged by the wasm32 builds, which `make test` lints.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub(crate) mod access;
pub(crate) mod backend;
pub mod client_configuration;
pub(crate) mod config;
pub(crate) mod edge;
pub(crate) mod encoding;
/// Fuzz targets (`make fuzz`) and their corpus replay: only in tests and `fuzzing` builds.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod identity;
pub(crate) mod info;
// Until the /.auth routes (issue 14) call it, only tests do.
#[allow(dead_code)]
pub(crate) mod login;
pub mod oauth;
pub mod oidc;
pub mod platform;
pub(crate) mod policy;
pub(crate) mod router;
pub(crate) mod s3;
pub mod secret;
pub(crate) mod session;
pub mod sts;
/// The `/.test/*` routes: only in builds with the `insecure-test-routes` feature.
#[cfg(any(test, feature = "insecure-test-routes"))]
pub(crate) mod testing;
pub mod time;
pub(crate) mod web;

#[cfg(target_arch = "wasm32")]
mod adapter;
