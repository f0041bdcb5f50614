//! The S3-compatible read path.

pub mod auth;
pub mod error;
pub mod list;
pub mod object;
pub mod remote;
pub mod route;
pub mod service;
pub mod sign;
pub mod sigv4;
pub mod store;
