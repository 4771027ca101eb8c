//! The plan: desired state compared with live state, as typed changes with dependencies.
//! Printable as text for people and as JSON (Terraform's plan shape) for pipelines.

pub mod report;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Desired;
use crate::live::LiveState;
use crate::outputs::Outputs;
use crate::resources::{self, permissions::Resolved};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One attribute's old and new value, for `~` lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeChange {
    pub name: String,
    pub before: Value,
    pub after: Value,
}

/// A change to one managed object.
#[derive(Debug, Clone)]
pub struct ResourceChange {
    /// `application.pandora-itsm-mail`, `oauth2_permission_grant.microsoft-graph`, ...
    pub address: String,
    pub kind: &'static str,
    pub action: Action,
    /// The object's managed attributes before and after (secrets as `(sensitive)`).
    pub before: Value,
    pub after: Value,
    pub attributes: Vec<AttributeChange>,
    /// Why, when it is not obvious (an orphaned secret, a renewal).
    pub reason: Option<String>,
    /// Addresses that must be applied first.
    pub depends_on: Vec<String>,
    pub operation: Operation,
}

/// What apply does for a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `PATCH /applications(uniqueName=…)` with `Prefer: create-if-missing`. When an enabled
    /// scope changes or goes, `disable_scopes_first` is PATCHed before `body`.
    UpsertApplication {
        body: Value,
        disable_scopes_first: Option<Value>,
    },
    /// `PATCH /applications/{id}` with identifier URIs that name the new app's appId.
    SetIdentifierUris {
        template: String,
    },
    UpsertServicePrincipal,
    AddSecret {
        display_name: String,
        lifetime_days: u32,
    },
    RemoveSecret {
        key_id: Uuid,
    },
    GrantAppRole {
        resource_sp_id: String,
        app_role_id: Uuid,
    },
    RevokeAppRole {
        resource_sp_id: String,
        assignment_id: String,
    },
    CreateGrant {
        resource_sp_id: String,
        scope: String,
    },
    UpdateGrant {
        grant_id: String,
        scope: String,
    },
    DeleteGrant {
        grant_id: String,
    },
    DeleteServicePrincipal {
        id: String,
    },
    DeleteApplication {
        id: String,
    },
    /// Write the outputs file and render the templates (no tenant call).
    WriteOutputs,
    /// `POST` a Conditional Access policy; with `staged_final_state`, report-only first.
    CreatePolicy {
        body: Value,
        staged_final_state: Option<String>,
    },
    /// `PATCH` only the parts of a policy that differ.
    UpdatePolicy {
        id: String,
        patch: Value,
        staged_final_state: Option<String>,
    },
    DeletePolicy {
        id: String,
    },
}

/// Choices that change what a plan may do.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    pub now: OffsetDateTime,
    /// Enable a policy even without emergency-access exclusions.
    pub allow_lockout_risk: bool,
    /// Write a policy report-only first, then switch it once it reads back.
    pub staged: bool,
}

impl PlanOptions {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now,
            allow_lockout_risk: false,
            staged: false,
        }
    }
}

impl Operation {
    /// Whether it writes to the tenant (the outputs are local).
    pub fn writes_tenant(&self) -> bool {
        !matches!(self, Operation::WriteOutputs)
    }
}

/// Everything apply needs, and what `plan` prints.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tenant_id: Uuid,
    pub source: PathBuf,
    pub changes: Vec<ResourceChange>,
    pub resolved: Resolved,
    pub warnings: Vec<String>,
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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("{resource} (appId {app_id}) has no service principal in this tenant, so its permissions cannot be resolved; check the appId, or add the resource to the tenant first")]
    ResourceNotInTenant { resource: String, app_id: String },
    #[error("{resource} publishes no {kind} permission `{name}`{}", suggestions_text(.suggestions))]
    UnknownPermission {
        resource: String,
        kind: &'static str,
        name: String,
        suggestions: Vec<String>,
    },
    #[error("the outputs file {} belongs to tenant {found}, not {expected}; use a different outputs.directory per tenant", path.display())]
    ForeignOutputs {
        path: PathBuf,
        found: Uuid,
        expected: Uuid,
    },
    #[error("cannot render outputs: {0}")]
    Render(String),
    #[error("security defaults are on in tenant {tenant}, and Conditional Access policies cannot be used while they are; turn them off (Entra admin center: Identity > Overview > Properties > Manage security defaults > Disabled), then run again. Nothing was written")]
    SecurityDefaultsOn { tenant: String },
    #[error("group `{name}` named by Conditional Access policy `{policy}` does not exist in the tenant; nothing was written (a policy is never sent with a name left out)")]
    GroupNotFound { name: String, policy: String },
    #[error("{} groups are named `{name}` ({}); name a group that is unique", ids.len(), ids.join(", "))]
    GroupAmbiguous { name: String, ids: Vec<String> },
    #[error("user `{upn}` named by Conditional Access policy `{policy}` does not exist in the tenant; nothing was written (a policy is never sent with a name left out)")]
    UserNotFound { upn: String, policy: String },
    #[error("{} Conditional Access policies are named `{name}` ({}); entra-mail finds its policy by name, so delete or rename all but one", ids.len(), ids.join(", "))]
    DuplicatePolicies { name: String, ids: Vec<String> },
    #[error("refusing to enable `{policy}` without emergency-access accounts. Emergency-access (break-glass) accounts are two or more cloud-only Global Administrator accounts excluded from every Conditional Access policy, so that a mistake in a policy cannot lock everyone out of the tenant. Name them in conditional_access.emergency_access_users (or emergency_access_groups); or set state = \"report-only\" to see the policy's effect in the sign-in logs without enforcing it; or pass --allow-lockout-risk")]
    NoEmergencyAccess { policy: String },
    #[error("refusing to enable `{policy}`: it does not exclude emergency-access account `{who}`; its policy file must put \"${{emergency_access_users}}\" in conditions.users.excludeUsers and \"${{emergency_access_groups}}\" in excludeGroups (or pass --allow-lockout-risk)")]
    EmergencyAccessNotExcluded { who: String, policy: String },
}

fn suggestions_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            suggestions
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
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

/// [`build`] with options.
pub fn build_with(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let now = options.now;
    if let Some(held) = outputs {
        if held.tenant_id != desired.tenant_id {
            return Err(PlanError::ForeignOutputs {
                path: Outputs::path_in(&desired.outputs.directory),
                found: held.tenant_id,
                expected: desired.tenant_id,
            });
        }
    }
    let resolved = resources::permissions::resolve(desired, live)?;
    let mut warnings = resolved.warnings.clone();
    let mut changes = Vec::new();
    changes.extend(resources::application::plan(desired, live, &resolved));
    changes.extend(resources::service_principal::plan(desired, live));
    let secret_changes = resources::client_secret::plan(desired, live, outputs, now);
    let new_secret = secret_changes.iter().any(|c| c.action == Action::Create);
    changes.extend(secret_changes);
    changes.extend(resources::consent::plan(desired, live, &resolved));
    let (policy_changes, policy_warnings) =
        resources::conditional_access::plan(desired, live, options)?;
    changes.extend(policy_changes);
    warnings.extend(policy_warnings);
    if let Some(change) =
        resources::outputs_files::plan(desired, live, outputs, new_secret, &changes)?
    {
        changes.push(change);
    }
    warnings.extend(redirect_uri_warning(desired));
    Ok(Plan {
        tenant_id: desired.tenant_id,
        source: desired.source.clone(),
        changes,
        resolved,
        warnings,
    })
}

/// Pandora ITSM sends its own redirect URI; the app must list it.
fn redirect_uri_warning(desired: &Desired) -> Option<String> {
    let pandora = desired.pandora_itsm.as_ref()?;
    let expected = crate::render::pandora_redirect_uri(&pandora.public_url);
    (!desired.app.redirect_uris.contains(&expected)).then(|| {
        format!("app.redirect_uris does not include Pandora ITSM's mail setup page `{expected}`; add it if your Pandora ITSM version signs in there")
    })
}

/// The plan of `destroy`: only objects carrying our keys, dependants first.
pub fn build_destroy(desired: &Desired, live: &LiveState) -> Plan {
    use serde_json::json;
    let mut changes = Vec::new();
    let sp_address = resources::service_principal::address(desired);
    let mut sp_dependencies = Vec::new();
    for grant in &live.grants {
        let address = format!(
            "{}.{}",
            resources::consent::GRANT_KIND,
            grant.id.clone().unwrap_or_default()
        );
        sp_dependencies.push(address.clone());
        changes.push(ResourceChange {
            address,
            kind: resources::consent::GRANT_KIND,
            action: Action::Delete,
            before: json!({"scope": grant.scope, "resource_id": grant.resource_id}),
            after: Value::Null,
            attributes: Vec::new(),
            reason: None,
            depends_on: Vec::new(),
            operation: Operation::DeleteGrant {
                grant_id: grant.id.clone().unwrap_or_default(),
            },
        });
    }
    for assignment in &live.app_role_assignments {
        let address = format!(
            "{}.{}",
            resources::consent::ASSIGNMENT_KIND,
            assignment.id.clone().unwrap_or_default()
        );
        sp_dependencies.push(address.clone());
        changes.push(ResourceChange {
            address,
            kind: resources::consent::ASSIGNMENT_KIND,
            action: Action::Delete,
            before: json!({"resource": assignment.resource_display_name, "app_role_id": assignment.app_role_id}),
            after: Value::Null,
            attributes: Vec::new(),
            reason: None,
            depends_on: Vec::new(),
            operation: Operation::RevokeAppRole {
                resource_sp_id: assignment.resource_id.clone().unwrap_or_default(),
                assignment_id: assignment.id.clone().unwrap_or_default(),
            },
        });
    }
    if let Some(id) = live.service_principal_id() {
        changes.push(ResourceChange {
            address: sp_address.clone(),
            kind: resources::service_principal::KIND,
            action: Action::Delete,
            before: json!({"id": id, "app_id": live.app_id()}),
            after: Value::Null,
            attributes: Vec::new(),
            reason: None,
            depends_on: sp_dependencies,
            operation: Operation::DeleteServicePrincipal { id: id.to_string() },
        });
    }
    if let Some(id) = live.app_object_id() {
        let secrets = live
            .application
            .as_ref()
            .and_then(|a| a.password_credentials.as_ref())
            .map_or(0, Vec::len);
        changes.push(ResourceChange {
            address: resources::application::address(desired),
            kind: resources::application::KIND,
            action: Action::Delete,
            before: json!({"id": id, "app_id": live.app_id(), "display_name": live.application.as_ref().and_then(|a| a.display_name.clone())}),
            after: Value::Null,
            attributes: Vec::new(),
            reason: Some(format!("with its {secrets} client secret(s)")),
            depends_on: vec![sp_address],
            operation: Operation::DeleteApplication { id: id.to_string() },
        });
    }
    if let (Some(policy), Some(ca)) = (&desired.conditional_access, &live.conditional_access) {
        // Only an unambiguous match is ours to delete.
        if let [existing] = ca.policies.as_slice() {
            changes.push(ResourceChange {
                address: resources::conditional_access::address(policy),
                kind: resources::conditional_access::KIND,
                action: Action::Delete,
                before: json!({"id": existing.id, "display_name": existing.display_name, "state": existing.state}),
                after: Value::Null,
                attributes: Vec::new(),
                reason: None,
                depends_on: Vec::new(),
                operation: Operation::DeletePolicy { id: existing.id.clone().unwrap_or_default() },
            });
        }
    }
    Plan {
        tenant_id: desired.tenant_id,
        source: desired.source.clone(),
        changes,
        resolved: Resolved::default(),
        warnings: Vec::new(),
    }
}
