//! The plan: desired state compared with live state, as typed changes with dependencies.
//! Printable as text for people and as JSON (Terraform's plan shape) for pipelines.

pub mod report;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Desired;
use crate::live::{Licence, LiveState};
use crate::outputs::Outputs;
use crate::ownership::Entry;
use crate::resources::{self, permissions::Resolved};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Take over an object an admin made by hand (`--adopt`): record it as ours, then
    /// correct it like any other.
    Adopt,
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
    /// `PATCH /applications/{id}` of a portal-made app: sets our `uniqueName` and the
    /// ownership record (with `record`), and corrects it in the same write.
    AdoptApplication {
        id: String,
        body: Value,
        record: Vec<Entry>,
        disable_scopes_first: Option<Value>,
    },
    /// Brings the ownership record on the app up to date (an app from before the record, or
    /// entries for objects that are gone).
    WriteRecord {
        add: Vec<Entry>,
        remove: Vec<Entry>,
    },
    /// `PATCH /applications/{id}` with identifier URIs that name the new app's appId.
    SetIdentifierUris {
        template: String,
    },
    /// `PATCH /servicePrincipals(appId=…)` with `Prefer: create-if-missing`: the service
    /// principal with its tags (ours include the key that finds it by `uniqueName`).
    UpsertServicePrincipal {
        tags: Vec<String>,
    },
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
    /// Records a same-named policy as ours (`--adopt`), then PATCHes what differs.
    AdoptPolicy {
        id: String,
        patch: Option<Value>,
        /// Intents this policy answers, dropped from the record as it is recorded.
        resolves: Vec<Entry>,
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
    /// Take over a portal-made app or policy named like ours (`--adopt`).
    pub adopt: bool,
    /// Make a new client secret even though the current one is valid (`--rotate-secret`).
    pub rotate_secret: bool,
}

impl PlanOptions {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now,
            allow_lockout_risk: false,
            staged: false,
            adopt: false,
            rotate_secret: false,
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
    /// Whom the Conditional Access policy will reach, as it will stand.
    pub reach: Option<resources::conditional_access::Reach>,
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
    #[error("tenant {tenant} has no Microsoft Entra ID P1 licence, which Conditional Access needs, so nothing was written: buy Microsoft Entra ID P1 (or P2, or Microsoft 365 Business Premium, which includes it), or remove [conditional_access] from {config}")]
    NoLicence { tenant: String, config: String },
    #[error("group `{name}` named by Conditional Access policy `{policy}` does not exist in the tenant; nothing was written (a policy is never sent with a name left out)")]
    GroupNotFound { name: String, policy: String },
    #[error("{} groups are named `{name}` ({}); name a group that is unique", ids.len(), ids.join(", "))]
    GroupAmbiguous { name: String, ids: Vec<String> },
    #[error("user `{upn}` named by Conditional Access policy `{policy}` does not exist in the tenant; nothing was written (a policy is never sent with a name left out)")]
    UserNotFound { upn: String, policy: String },
    #[error("{} Conditional Access policies are named `{name}` ({}) and none is recorded as entra-mail's; delete or rename all but one, then adopt it with --adopt", ids.len(), ids.join(", "))]
    DuplicatePolicies { name: String, ids: Vec<String> },
    #[error("a Conditional Access policy named `{name}` already exists ({id}) and is not recorded as entra-mail's; nothing was written. Pass --adopt to take it over (it is recorded as ours and corrected to the policy file), or rename it")]
    PolicyNotOurs { name: String, id: String },
    #[error("an app named `{name}` already exists ({id}, appId {app_id}) without a uniqueName, so it is not entra-mail's; nothing was written. Pass --adopt to take it over (it gets uniqueName `{unique_name}` and is corrected to the config), or rename it")]
    AppNotOurs {
        name: String,
        id: String,
        app_id: String,
        unique_name: String,
    },
    #[error("{} apps are named `{name}` without a uniqueName ({}); entra-mail cannot tell which to adopt: delete or rename all but one", ids.len(), ids.join(", "))]
    SeveralAppCandidates { name: String, ids: Vec<String> },
    #[error("refusing to enable `{policy}` ({enabled_by}): emergency-access rule: an enforced policy must exclude an emergency-access account that exists and may sign in, and {detail}. Emergency-access (break-glass) accounts are two or more cloud-only Global Administrator accounts excluded from every Conditional Access policy, so that a mistake in a policy cannot lock everyone out of the tenant. Name them in conditional_access.emergency_access_users (or emergency_access_groups); or keep the policy report-only to see its effect in the sign-in logs without enforcing it; or pass --allow-lockout-risk to enable it anyway")]
    NoEmergencyAccess {
        policy: String,
        enabled_by: String,
        detail: String,
    },
    #[error("emergency-access account `{upn}` named by `{policy}` is disabled, so it is no way in: enable it, or name another in conditional_access.emergency_access_users. Nothing was written")]
    EmergencyAccessDisabled { upn: String, policy: String },
    #[error("cannot tell whether emergency-access account `{upn}` named by `{policy}` may sign in: Graph did not return its accountEnabled, which a basic-profile permission does not read. Grant User.Read.All (or Directory.Read.All). Nothing was written")]
    EmergencyAccessUnverified { upn: String, policy: String },
    #[error("refusing to write `{policy}`: every-user rule: as it will stand, its users condition holds `All`, which puts every user under it, admins and emergency-access accounts included. Set conditional_access.allow_all_users = true to mean it")]
    EveryUser { policy: String },
    #[error("refusing to write `{policy}`: directory-role rule: as it will stand, it targets directory roles ({}), so every holder of them, emergency-access accounts included, falls under it. Remove includeRoles from the policy file, or set conditional_access.allow_all_users = true to mean it", roles.join(", "))]
    DirectoryRoles { policy: String, roles: Vec<String> },
    #[error("refusing to write `{policy}`: guest rule: as it will stand, it targets guests and external users, who are outside the pilot. Set conditional_access.allow_all_users = true to mean it")]
    Guests { policy: String },
    #[error("refusing to enable `{policy}`: emergency-access rule: as it will stand, it does not exclude emergency-access account `{who}`; its policy file must put \"${{emergency_access_users}}\" in conditions.users.excludeUsers and \"${{emergency_access_groups}}\" in excludeGroups (or pass --allow-lockout-risk to enable it anyway)")]
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
    if let Some(held) = outputs {
        if held.tenant_id != desired.tenant_id {
            return Err(PlanError::ForeignOutputs {
                path: Outputs::path_in(&desired.outputs.directory),
                found: held.tenant_id,
                expected: desired.tenant_id,
            });
        }
    }
    // Licence first: without it no policy can be written, so nothing else is worth writing.
    let licence = licence_of(desired, live);
    if licence == Some(&Licence::Missing) {
        return Err(PlanError::NoLicence {
            tenant: desired.tenant_id.to_string(),
            config: desired.source.display().to_string(),
        });
    }
    check_app_ownership(desired, live, options)?;
    let resolved = resources::permissions::resolve(desired, live)?;
    let mut warnings = resolved.warnings.clone();
    let mut changes = Vec::new();
    let secrets = resources::client_secret::plan(desired, live, outputs, options);
    warnings.extend(secrets.warnings);
    let app_changes = resources::application::plan(desired, live, &resolved);
    if live.adopting_app() {
        changes.extend(adopt_app(desired, live, app_changes, &secrets.to_record));
    } else {
        changes.extend(app_changes);
        changes.extend(record_sync(desired, live, secrets.to_record, options.now));
    }
    changes.extend(resources::service_principal::plan(desired, live));
    let new_secret = secrets.changes.iter().any(|c| c.action == Action::Create);
    changes.extend(secrets.changes);
    changes.extend(resources::consent::plan(desired, live, &resolved));
    let resources::conditional_access::PolicyPlan {
        changes: mut policy_changes,
        warnings: policy_warnings,
        reach,
    } = resources::conditional_access::plan(desired, live, options)?;
    // A policy is recorded on the app the moment it is written, so the app must exist first.
    let app_address = resources::application::address(desired);
    if changes.iter().any(|c| c.address == app_address) {
        for change in &mut policy_changes {
            change.depends_on.push(app_address.clone());
        }
    }
    if let Some(Licence::Unreadable(why)) = licence {
        let consequence = if policy_first(&mut changes, &policy_changes, &app_address) {
            "; apply writes the Conditional Access policy right after the app, so a missing licence stops it before anything else is written"
        } else {
            ""
        };
        warnings.push(format!(
            "could not check the tenant's Microsoft Entra ID P1 licence: {why}{consequence}"
        ));
    }
    changes.extend(policy_changes);
    warnings.extend(policy_warnings);
    if let Some(change) =
        resources::outputs_files::plan(desired, live, outputs, new_secret, &changes)?
    {
        changes.push(change);
    }
    warnings.extend(redirect_uri_warning(desired));
    warnings.extend(
        resources::outputs_files::loose_modes(desired)
            .iter()
            .map(resources::outputs_files::LooseMode::warning),
    );
    Ok(Plan {
        tenant_id: desired.tenant_id,
        source: desired.source.clone(),
        changes,
        resolved,
        warnings,
        reach,
    })
}

/// The licence read for the config's policy (`None` without `[conditional_access]`).
fn licence_of<'a>(desired: &Desired, live: &'a LiveState) -> Option<&'a Licence> {
    desired.conditional_access.as_ref()?;
    live.conditional_access.as_ref().map(|ca| &ca.licence)
}

/// Makes every tenant write but the app's wait for the policy's write: when the licence could
/// not be read, Graph's refusal of the policy is how we learn it is missing, and it must come
/// before the service principal, secrets, identifier URI and consent exist. The app goes
/// first because the policy is recorded on it. False when the plan writes no policy.
fn policy_first(
    changes: &mut [ResourceChange],
    policy_changes: &[ResourceChange],
    app: &str,
) -> bool {
    let Some(policy) = policy_changes
        .iter()
        .find(|c| c.action != Action::Delete)
        .map(|c| c.address.clone())
    else {
        return false;
    };
    for change in changes
        .iter_mut()
        .filter(|c| c.address != app && c.operation.writes_tenant())
    {
        change.depends_on.push(policy.clone());
    }
    true
}

/// An app named like ours without our `uniqueName` is someone else's until `--adopt`.
fn check_app_ownership(
    desired: &Desired,
    live: &LiveState,
    options: &PlanOptions,
) -> Result<(), PlanError> {
    let candidates = &live.adoption_candidates;
    if candidates.len() > 1 {
        return Err(PlanError::SeveralAppCandidates {
            name: desired.app.display_name.clone(),
            ids: candidates.iter().filter_map(|a| a.id.clone()).collect(),
        });
    }
    let portal_app = match (&live.application, candidates.first()) {
        (Some(app), _) if live.adopting_app() && !options.adopt => Some(app),
        // Named like ours but not readable yet: never create a second app beside it.
        (None, Some(app)) => Some(app),
        _ => None,
    };
    match portal_app {
        Some(app) => Err(PlanError::AppNotOurs {
            name: desired.app.display_name.clone(),
            id: app.id.clone().unwrap_or_default(),
            app_id: app.app_id.clone().unwrap_or_default(),
            unique_name: desired.app.unique_name.clone(),
        }),
        None => Ok(()),
    }
}

/// The app change of a portal-made app, as one adoption: `uniqueName`, the record and the
/// corrections in one PATCH of the app's object id.
fn adopt_app(
    desired: &Desired,
    live: &LiveState,
    app_changes: Vec<ResourceChange>,
    to_record: &[Entry],
) -> Vec<ResourceChange> {
    use serde_json::json;
    let address = resources::application::address(desired);
    let (mut correction, rest): (Vec<ResourceChange>, Vec<ResourceChange>) =
        app_changes.into_iter().partition(|c| c.address == address);
    let app = live.application.as_ref();
    let id = app.and_then(|a| a.id.clone()).unwrap_or_default();
    let app_id = app.and_then(|a| a.app_id.clone()).unwrap_or_default();
    let correction = correction.pop();
    let (mut body, disable_scopes_first, before, after, mut attributes) = match correction {
        Some(ResourceChange {
            before,
            after,
            attributes,
            operation:
                Operation::UpsertApplication {
                    body,
                    disable_scopes_first,
                },
            ..
        }) => (body, disable_scopes_first, before, after, attributes),
        _ => (json!({}), None, Value::Null, Value::Null, Vec::new()),
    };
    body["uniqueName"] = json!(desired.app.unique_name);
    attributes.insert(
        0,
        AttributeChange {
            name: "unique_name".into(),
            before: Value::Null,
            after: json!(desired.app.unique_name),
        },
    );
    let mut changes = vec![ResourceChange {
        address,
        kind: resources::application::KIND,
        action: Action::Adopt,
        before,
        after,
        attributes,
        reason: Some(format!(
            "made outside entra-mail ({id}, appId {app_id}); taken over with --adopt"
        )),
        depends_on: Vec::new(),
        operation: Operation::AdoptApplication {
            id,
            body,
            record: to_record.to_vec(),
            disable_scopes_first,
        },
    }];
    changes.extend(rest);
    changes
}

/// Brings the ownership record up to date: an app from before the record gets one (its
/// secrets of our name counted as delivered, since any may be in use), and entries of
/// objects that are gone are dropped.
fn record_sync(
    desired: &Desired,
    live: &LiveState,
    mut add: Vec<Entry>,
    now: OffsetDateTime,
) -> Option<ResourceChange> {
    use serde_json::json;
    live.application.as_ref()?;
    let record = &live.record;
    let mut remove: Vec<Entry> = record
        .delivered_secrets
        .iter()
        .filter(|key| !live.has_secret(**key))
        .map(|key| Entry::DeliveredSecret(*key))
        .collect();
    // Policy entries are never pruned: a recorded policy missing from the list may only be
    // replicating, and an entry for one deleted by hand costs nothing.
    // An intent no policy answered within the pending window: its POST never happened.
    let intent_window = resources::client_secret::PENDING_WINDOW.whole_seconds();
    let answered = live.conditional_access.as_ref().is_some_and(|ca| {
        ca.policies.iter().any(|p| {
            p.created_date_time.is_some_and(|c| record.intended(c))
                && !p.id.as_deref().is_some_and(|id| record.owns_policy(id))
        })
    });
    if !answered {
        remove.extend(
            record
                .policy_intents
                .iter()
                .filter(|at| now.unix_timestamp().saturating_sub(**at) > intent_window)
                .map(|at| Entry::PolicyIntent(*at)),
        );
    }
    add.sort_by_key(|e| format!("{e:?}"));
    if record.present && add.is_empty() && remove.is_empty() {
        return None;
    }
    let describe = |entries: &[Entry]| -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Policy(id) => format!("policy {id}"),
                Entry::DeliveredSecret(key) => format!("delivered secret {key}"),
                Entry::PolicyIntent(at) => format!("intent to create a policy at {at}"),
            })
            .collect()
    };
    let reason = if record.present {
        "entries are missing or name objects that are gone"
    } else {
        "the app has no ownership record yet; its secrets of our name may be in use, so they are recorded as delivered"
    };
    Some(ResourceChange {
        address: format!("ownership_record.{}", desired.app.unique_name),
        kind: "ownership_record",
        action: if record.present {
            Action::Update
        } else {
            Action::Create
        },
        before: json!(describe(&remove)),
        after: json!(describe(&add)),
        attributes: vec![AttributeChange {
            name: "entries".into(),
            before: json!(describe(&remove)),
            after: json!(describe(&add)),
        }],
        reason: Some(reason.into()),
        depends_on: Vec::new(),
        operation: Operation::WriteRecord { add, remove },
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

/// The plan of `destroy`: only objects found by our keys (the app by `uniqueName`, its service
/// principal and that principal's consent) or recorded as ours (policies), dependants first.
/// It reads nothing of the config beyond those keys, so a missing group, an unknown permission
/// or the lockout guard cannot block it.
pub fn build_destroy(desired: &Desired, live: &LiveState) -> Plan {
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let ours = live.application.is_some() && !live.adopting_app();
    if let Some(app) = live.application.as_ref().filter(|_| !ours) {
        warnings.push(format!(
            "app {} is named like ours but has no uniqueName, so it is not entra-mail's; left alone",
            app.id.clone().unwrap_or_default()
        ));
    }
    let mut policy_addresses = Vec::new();
    if let Some(ca) = &live.conditional_access {
        // The address plan gives the policy; any further recorded one is told apart by id.
        let base = desired
            .conditional_access
            .as_ref()
            .map(resources::conditional_access::address)
            .unwrap_or_else(|| resources::conditional_access::KIND.to_string());
        for (index, policy) in ca.recorded(&live.record).into_iter().enumerate() {
            let address = if index == 0 {
                base.clone()
            } else {
                format!(
                    "{base}[{}]",
                    resources::conditional_access::short_id(policy)
                )
            };
            policy_addresses.push(address.clone());
            changes.push(resources::conditional_access::delete_change(
                address,
                policy,
                "recorded as entra-mail's".into(),
            ));
        }
        if let Some(policy) = &desired.conditional_access {
            // Copies an interrupted run left under their pending name are ours by that name.
            let pending = resources::conditional_access::pending_name(
                &policy.display_name,
                &desired.app.unique_name,
            );
            for copy in ca.named_not_ours(&pending, &live.record) {
                changes.push(resources::conditional_access::delete_change(
                    format!("{base}[{}]", resources::conditional_access::short_id(copy)),
                    copy,
                    "a copy of ours an interrupted run left pending".into(),
                ));
            }
            for other in ca.named_not_ours(&policy.display_name, &live.record) {
                warnings.push(format!(
                    "Conditional Access policy `{}` ({}) is not recorded as entra-mail's; left alone",
                    other.display_name.clone().unwrap_or_default(),
                    other.id.clone().unwrap_or_default()
                ));
            }
        }
    }
    if ours {
        changes.extend(destroy_app(desired, live, policy_addresses));
    }
    Plan {
        tenant_id: desired.tenant_id,
        source: desired.source.clone(),
        changes,
        resolved: Resolved::default(),
        warnings,
        reach: None,
    }
}

/// The app, its service principal and that principal's consent. The app (which holds the
/// ownership record) goes last, after the policies it records.
fn destroy_app(
    desired: &Desired,
    live: &LiveState,
    policy_addresses: Vec<String>,
) -> Vec<ResourceChange> {
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
    let mut app_dependencies = policy_addresses;
    if let Some(id) = live.service_principal_id() {
        app_dependencies.push(sp_address.clone());
        changes.push(ResourceChange {
            address: sp_address,
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
            depends_on: app_dependencies,
            operation: Operation::DeleteApplication { id: id.to_string() },
        });
    }
    changes
}
