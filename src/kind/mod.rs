//! The contract every managed kind implements, and what it plans into and applies with.
//!
//! A kind reads its live objects, refuses what must not be written, plans its changes,
//! plans its own destroy, and names the Graph permissions it needs; each change carries the
//! kind's own [`Operation`], which applies it. Kinds are listed once, in
//! [`crate::resources::KINDS`]; the planner, the executor and the preflight know only this
//! contract.

pub mod change;
mod context;
mod dependencies;
mod draft;
mod error;
pub mod permissions;
mod promise;

pub use change::{
    slug, Action, Address, AttributeChange, BoxedOperation, Operation, PlanOptions, ResourceChange,
};
pub use context::{ApplyContext, ApplySettings, Known, SecretHook};
pub use dependencies::dependency_graph;
pub use draft::{DestroyDraft, Facts, PlanDraft, PlannedMembers};
pub use error::{ApplyError, NewSecretFate, PlanError, UnverifiedIdentifierUri};
pub use promise::Promise;

use crate::config::Desired;
use crate::graph::{GraphClient, GraphError};
use crate::live::LiveState;
use crate::outputs::Outputs;
use crate::preflight::Need;

/// What a kind's read found, written into the live state once every read is in.
pub type LivePart = Box<dyn FnOnce(&mut LiveState) + Send>;

/// What a read has to go on: the tenant, the config, and the ids the last outputs hold.
pub struct Reader<'a> {
    pub client: &'a GraphClient,
    pub desired: &'a Desired,
    pub hint: Option<&'a Outputs>,
}

/// One managed kind. Every method but [`ManagedKind::plan`] has a default that does nothing,
/// so a kind states only what it does.
#[async_trait::async_trait]
pub trait ManagedKind: Send + Sync {
    /// The type in its addresses: `application`, `group`, ...
    fn name(&self) -> &'static str;

    /// The Graph permissions `desired` needs of this kind, least privileged first.
    fn needs(&self, _desired: &Desired) -> Vec<Need> {
        Vec::new()
    }

    /// Reads its live objects, at the same time as every other kind's read.
    async fn read(&self, _reader: &Reader<'_>) -> Result<Option<LivePart>, GraphError> {
        Ok(None)
    }

    /// Once every read is in: waits out what may still be replicating, seeing the whole live
    /// state (a policy whose create another run has only just recorded).
    async fn settle(&self, _reader: &Reader<'_>, _live: &mut LiveState) -> Result<(), GraphError> {
        Ok(())
    }

    /// What destroy must find beyond the plan's read (a policy recorded as ours that the
    /// config no longer names).
    async fn read_for_destroy(
        &self,
        _reader: &Reader<'_>,
        _live: &mut LiveState,
    ) -> Result<(), GraphError> {
        Ok(())
    }

    /// Refusals checked before any kind plans: when one holds, nothing is worth writing.
    fn check(&self, _draft: &PlanDraft<'_>) -> Result<(), PlanError> {
        Ok(())
    }

    /// Adds this kind's changes (and warnings, promises, facts) to the draft.
    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError>;

    /// Adds the deletes of this kind's objects that are provably ours.
    fn destroy(&self, _draft: &mut DestroyDraft<'_>) {}
}
