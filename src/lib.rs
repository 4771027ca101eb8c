//! entra-mail: provision a Microsoft Entra tenant for Pandora ITSM's Microsoft 365 mail
//! integration from one declarative file.
//!
//! Data flows one way: [`config`] (desired state) and the kinds' reads ([`live`]) feed the
//! [`plan`], the plan feeds [`apply`], apply feeds the outputs. Every managed kind implements
//! the contract in [`kind`] and is listed once in [`resources::KINDS`]; [`session`] runs the
//! pipeline for one tenant, and the CLI only parses and renders. See README.md, "Architecture".

pub mod apply;
pub mod auth;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod graph;
pub mod helpdesk;
pub mod http;
pub mod kind;
pub mod live;
pub mod outputs;
pub mod ownership;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod render;
pub mod resources;
pub mod session;
pub mod vault;

/// The foundation shared with the simulator (crates/entra-base), at the paths it always had.
pub use entra_base::{fsutil, identifier_uri, secret, well_known};
/// The simulated tenant (crates/entra-sim), behind the default-on `sim` feature.
#[cfg(feature = "sim")]
pub use entra_sim as sim;

/// `entra-mail/<version>`: the User-Agent of every request we send.
pub const USER_AGENT: &str = concat!("entra-mail/", env!("CARGO_PKG_VERSION"));
