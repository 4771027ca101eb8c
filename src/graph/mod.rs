//! Microsoft Graph: typed models, the HTTP client with its retries, and typed errors.

mod client;
mod error;
pub mod models;
pub mod odata;
pub mod redact;
pub mod retry;

pub use client::{
    decode_claims, error_chain, is_certificate_error, GraphClient, GraphClientBuilder, Request,
    Response, WaitStats, HTTP_TRACE_TARGET,
};
pub use error::{ApiError, ErrorDetail, GraphError, ODataErrorBody};
pub use retry::RetryPolicy;
