//! The plan: desired state compared with live state, as typed changes with dependencies,
//! made by asking every registered kind in turn. Printable as text for people and as JSON
//! (Terraform's plan shape) for pipelines.

pub mod report;

use std::path::PathBuf;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Desired;
use crate::kind::permissions::{self, Resolved};
use crate::kind::{Action, DestroyDraft, Facts, PlanDraft, PlanError, PlanOptions, ResourceChange};
use crate::live::LiveState;
use crate::outputs::Outputs;
use crate::resources::{self, conditional_access::Reach};

/// Everything apply needs, and what `plan` prints.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tenant_id: Uuid,
    pub source: PathBuf,
    /// `apply` or `destroy`: what running it does.
    pub purpose: Purpose,
    pub changes: Vec<ResourceChange>,
    pub resolved: Resolved,
    pub warnings: Vec<String>,
    /// Whom the Conditional Access policy will reach, as it will stand.
    pub reach: Option<Reach>,
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Apply,
    Destroy,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn tenant_writes(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.operation.writes_tenant())
            .count()
    }

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// Compares `desired` with `live` (and the outputs we hold) at time `now`.
pub fn build(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    now: OffsetDateTime,
) -> Result<Plan, PlanError> {
    build_with(desired, live, outputs, &PlanOptions::at(now))
}

/// [`build`] with options: every kind's refusals first, then every kind's changes, in
/// registry order.
pub fn build_with(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    if let Some(held) = outputs {
        if held.tenant_id != desired.tenant_id {
            return Err(PlanError::ForeignOutputs {
                path: Outputs::path_in(&desired.outputs.directory),
                found: held.tenant_id,
                expected: desired.tenant_id,
            });
        }
    }
    let resolved = Resolved::default();
    let mut draft = PlanDraft {
        desired,
        live,
        outputs,
        options,
        resolved: &resolved,
        changes: Vec::new(),
        warnings: Vec::new(),
        promised: Vec::new(),
        facts: Facts::default(),
    };
    for kind in resources::KINDS {
        kind.check(&draft)?;
    }
    let resolved = permissions::resolve(desired, live)?;
    draft.resolved = &resolved;
    draft.warnings.extend(resolved.warnings.iter().cloned());
    for kind in resources::KINDS {
        kind.plan(&mut draft)?;
    }
    let reach = draft.facts.take::<Reach>();
    let mut changes = draft.changes;
    drop_settled_dependencies(&mut changes);
    // A plan apply could not run is refused here, so `plan` never shows one.
    crate::kind::dependency_graph(&changes).map_err(PlanError::Unsound)?;
    Ok(Plan {
        tenant_id: desired.tenant_id,
        source: desired.source.clone(),
        purpose: Purpose::Apply,
        changes,
        warnings: draft.warnings,
        resolved,
        reach,
    })
}

/// A kind names what its changes need (the app, the service principal) whether or not the
/// plan changes it; an object the plan leaves alone is in place already, so nothing waits
/// for it. What is left is checked whole by the executor.
fn drop_settled_dependencies(changes: &mut [ResourceChange]) {
    let planned: Vec<_> = changes.iter().map(|c| c.address.clone()).collect();
    for change in changes.iter_mut() {
        change.depends_on.retain(|d| planned.contains(d));
    }
}

/// The plan of `destroy`: only objects each kind can prove are ours, dependants first (the
/// kinds in reverse registry order). It reads nothing of the config beyond the keys that
/// find our objects, so a missing group, an unknown permission or the lockout guard cannot
/// block it.
pub fn build_destroy(desired: &Desired, live: &LiveState) -> Plan {
    let mut draft = DestroyDraft {
        desired,
        live,
        changes: Vec::new(),
        warnings: Vec::new(),
    };
    for kind in resources::KINDS.iter().rev() {
        kind.destroy(&mut draft);
    }
    Plan {
        tenant_id: desired.tenant_id,
        source: desired.source.clone(),
        purpose: Purpose::Destroy,
        changes: draft.changes,
        resolved: Resolved::default(),
        warnings: draft.warnings,
        reach: None,
    }
}
