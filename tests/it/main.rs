//! The integration tests: one binary, a module per topic. `cargo test --test it provision::`
//! runs one topic; `common` is the harness they share (a scripted HTTP server, the simulated
//! tenant, a config applied against it, bad configs).
//!
//! `tests/auth_azure_cli.rs` is the one test kept out: it changes PATH for the whole process.

mod common;

mod auth;
mod cli;
mod conditional_access;
mod config;
mod doctor;
mod domains;
mod fuzz;
mod graph_client;
mod groups;
mod helpdesk;
mod key_vault;
mod multi_tenant;
mod ownership;
mod provision;
mod reliability;
mod sim;
