//! Microsoft Graph: typed models, the HTTP client with its retries, and typed errors.

mod claims;
mod client;
mod error;
pub mod models;
pub mod odata;
pub mod redact;
pub mod retry;

pub use claims::{decode_claims, Claims};
pub use client::{
    is_certificate_error, GraphClient, GraphClientBuilder, Request, Response, WaitStats,
    HTTP_TRACE_TARGET,
};
pub use error::{error_causes, error_chain, ApiError, ErrorDetail, GraphError, ODataErrorBody};
pub use retry::RetryPolicy;
