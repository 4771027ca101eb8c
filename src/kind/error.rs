//! The errors of the contract: a plan that cannot be made, a change that cannot be applied.
//! Both name what and where, and say what to do.

use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

use crate::graph::GraphError;
use crate::outputs::OutputsError;
use crate::render::RenderError;

/// Why no plan was made. A kind with refusals of its own gives them as
/// [`PlanError::Refused`], so adding a kind never adds a variant here.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Refused(Box<dyn std::error::Error + Send + Sync>),
    /// A defect in entra-mail, never in the config: say so rather than apply part of it.
    #[error("entra-mail made a plan it could not apply ({0}); nothing was written. This is a bug: please report it with the config")]
    Unsound(String),
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
    #[error(transparent)]
    IdentifierUriNotOnVerifiedDomain(Box<UnverifiedIdentifierUri>),
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

/// An identifier URI whose host is on no verified domain of the tenant.
#[derive(Debug, thiserror::Error)]
#[error("api.identifier_uri `{uri}` in {config}: its host `{host}` is not on a verified domain of tenant {tenant} (verified: {}), so Entra would refuse it (HostNameNotOnVerifiedDomain); nothing was written. {}", verified.join(", "), identifier_uri_fix(pending.as_deref()))]
pub struct UnverifiedIdentifierUri {
    pub uri: String,
    pub host: String,
    pub tenant: String,
    pub config: String,
    pub verified: Vec<String>,
    /// The domain the host is on that is added to the tenant but not verified yet.
    pub pending: Option<String>,
}

fn identifier_uri_fix(pending: Option<&str>) -> String {
    match pending {
        Some(domain) => format!("`{domain}` is added to the tenant but not verified yet: add its DNS TXT record and verify it (Entra admin center: Settings > Domain names), then run again"),
        None => "Use api://{appId} (the default), api://{tenantId}/<name>, or a host on a verified domain".into(),
    }
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

/// Why a change, or the apply, failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("{address}: {source}")]
    Change {
        address: String,
        #[source]
        source: Box<ApplyError>,
    },
    #[error("gave up waiting for Entra to replicate {what} after {:.0}s (time budget {:.0}s; raise it with --timeout); last answer: {last}", waited.as_secs_f64(), budget.as_secs_f64())]
    ReplicationTimeout {
        what: String,
        waited: Duration,
        budget: Duration,
        last: String,
    },
    #[error("missing {0}: an earlier step did not produce it")]
    Missing(&'static str),
    #[error("the plan cannot be applied: {0}")]
    InvalidPlan(String),
    #[error(transparent)]
    Outputs(#[from] OutputsError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{0}")]
    ConditionalAccess(String),
    /// The new secret may not have reached the vault: what became of it says `fate`.
    #[error("{vault_error}; the new client secret {key_id} {fate}")]
    NotDelivered {
        key_id: Uuid,
        fate: NewSecretFate,
        vault_error: crate::vault::VaultError,
    },
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

/// What became of a new secret whose vault write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewSecretFate {
    /// The vault does not hold it: it reached no one, and is off the app again.
    Removed,
    /// The vault does not hold it, but removing it failed: it stays undelivered.
    NotRemoved,
    /// Whether the vault took it could not be read (a lost answer): it is kept.
    Unknown,
    /// The write's answer was lost, but the vault holds it: delivered after all.
    Delivered,
}

impl std::fmt::Display for NewSecretFate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NewSecretFate::Removed => "was removed from the app again, as it reached no one; the current secret is untouched",
            NewSecretFate::NotRemoved => "reached no one and could not be removed now; the next apply removes it, and the current secret is untouched",
            NewSecretFate::Unknown => "is kept, as the vault may hold it (its answer was lost and it could not be read back); the next plan decides from the vault",
            NewSecretFate::Delivered => "reached the vault after all",
        })
    }
}

impl PlanError {
    /// A kind's own refusal.
    pub fn refused(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        PlanError::Refused(Box::new(error))
    }
}
