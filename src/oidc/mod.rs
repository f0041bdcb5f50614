//! The OpenID Connect provider: its keys, discovery document, JWK Set, and the
//! per-caller JWTs it mints for the upstream API.

pub mod discovery;
pub mod jwk;
pub mod jwks;
pub mod jws;
pub mod jwt;
pub mod keys;
pub mod mint;
pub mod provider;
pub mod signer;
