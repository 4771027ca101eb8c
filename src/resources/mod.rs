//! The managed kinds, one file (or folder) each, every one implementing
//! [`crate::kind::ManagedKind`], and the registry that lists them once.
//!
//! To add a kind: write its file with a type implementing the contract and an operation type,
//! give it a config section, and add one line to [`KINDS`]. See README.md, "How to add a kind".

pub mod application;
pub mod client_secret;
pub mod conditional_access;
pub mod consent;
pub mod domains;
pub mod group;
pub mod helpdesk;
pub mod outputs_files;
pub mod service_principal;

use crate::config::Desired;
use crate::graph::GraphError;
use crate::kind::{ManagedKind, Reader};
use crate::live::LiveState;
use crate::preflight::Need;

/// Every managed kind, in the order they plan: a kind sees the changes of the kinds before
/// it (the outputs, last, see them all). Destroy asks them in reverse: dependants first.
pub static KINDS: &[&dyn ManagedKind] = &[
    &application::ApplicationKind,
    &service_principal::ServicePrincipalKind,
    &client_secret::ClientSecretKind,
    &consent::ConsentKind,
    &group::GroupKind,
    &conditional_access::ConditionalAccessKind,
    &domains::DomainsKind,
    &helpdesk::HelpdeskKind,
    &outputs_files::OutputsKind,
];

/// Reads the live state: every kind's read at the same time, then each kind's settle step
/// (waits for what may still be replicating) in registry order.
pub async fn read(reader: &Reader<'_>) -> Result<LiveState, GraphError> {
    let parts = futures::future::join_all(KINDS.iter().map(|kind| kind.read(reader))).await;
    let mut live = LiveState::default();
    for part in parts {
        if let Some(write) = part? {
            write(&mut live);
        }
    }
    for kind in KINDS {
        kind.settle(reader, &mut live).await?;
    }
    Ok(live)
}

/// [`read`], plus what destroy must find beyond it.
pub async fn read_for_destroy(reader: &Reader<'_>) -> Result<LiveState, GraphError> {
    let mut live = read(reader).await?;
    for kind in KINDS {
        kind.read_for_destroy(reader, &mut live).await?;
    }
    Ok(live)
}

/// What `desired` needs of Microsoft Graph: every kind's needs, in registry order.
pub fn needs(desired: &Desired) -> Vec<Need> {
    KINDS.iter().flat_map(|kind| kind.needs(desired)).collect()
}
