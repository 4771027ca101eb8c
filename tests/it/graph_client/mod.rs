//! The Graph client against a scripted local HTTP server.

mod client;
mod odata_errors;
mod trace_http;
