//! The S3-compatible read path.

pub mod error;
pub mod sigv4;
