//! The S3-compatible read path.

pub mod auth;
pub mod error;
pub mod list;
pub mod object;
pub mod route;
pub mod service;
pub mod sigv4;
