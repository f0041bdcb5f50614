//! The S3-compatible read path.

pub(crate) mod auth;
pub(crate) mod error;
pub(crate) mod list;
pub(crate) mod object;
pub(crate) mod route;
pub(crate) mod service;
pub(crate) mod sigv4;
