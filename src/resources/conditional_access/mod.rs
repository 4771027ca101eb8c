//! The Conditional Access policy ("MFA Pilot"): found by the ownership record, rendered from
//! its policy file with the names resolved to ids, judged as it will stand in the tenant, and
//! written so that Graph then holds exactly the file.

mod guard;
mod in_force;
mod reach;
pub mod read;
mod render;

use serde_json::{json, Value};

pub use reach::Reach;

use crate::config::{Desired, DesiredPolicy};
use crate::graph::models::ConditionalAccessPolicy;
use crate::graph::{GraphError, Request};
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, AttributeChange, DestroyDraft, LivePart,
    ManagedKind, Operation, PlanDraft, PlanError, PlanOptions, PlannedMembers, Promise, Reader,
    ResourceChange,
};
use crate::live::{Licence, LiveConditionalAccess, LiveState};
use crate::ownership::Entry;
use crate::preflight::Need;

pub const KIND: &str = "conditional_access_policy";
const POLICIES: &str = "identity/conditionalAccess/policies";
const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";

pub fn address(policy: &DesiredPolicy) -> Address {
    Address::new(KIND, crate::kind::slug(&policy.display_name))
}

/// The Conditional Access kind.
pub struct ConditionalAccessKind;

#[async_trait::async_trait]
impl ManagedKind for ConditionalAccessKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn needs(&self, desired: &Desired) -> Vec<Need> {
        crate::preflight::conditional_access_needs(desired)
    }

    async fn read(&self, reader: &Reader<'_>) -> Result<Option<LivePart>, GraphError> {
        let Some(policy) = &reader.desired.conditional_access else {
            return Ok(None);
        };
        let read = read::read_conditional_access(reader.client, policy).await?;
        Ok(Some(Box::new(move |live: &mut LiveState| {
            live.conditional_access = Some(read);
        })))
    }

    async fn settle(&self, reader: &Reader<'_>, live: &mut LiveState) -> Result<(), GraphError> {
        match &reader.desired.conditional_access {
            Some(policy) => {
                read::await_pending_policies(
                    reader.client,
                    reader.desired,
                    &policy.display_name,
                    live,
                )
                .await
            }
            None => Ok(()),
        }
    }

    async fn read_for_destroy(
        &self,
        reader: &Reader<'_>,
        live: &mut LiveState,
    ) -> Result<(), GraphError> {
        read::read_recorded_policies(reader.client, live).await
    }

    /// Licence first: without it no policy can be written, so nothing else is worth writing.
    fn check(&self, draft: &PlanDraft<'_>) -> Result<(), PlanError> {
        if licence_of(draft.desired, draft.live) == Some(&Licence::Missing) {
            return Err(PlanError::NoLicence {
                tenant: draft.desired.tenant_id.to_string(),
                config: draft.desired.source.display().to_string(),
            });
        }
        Ok(())
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        let PolicyPlan {
            changes: mut policy_changes,
            warnings,
            reach,
            promised,
        } = plan(
            draft.desired,
            draft.live,
            draft.options,
            &draft.promised,
            draft.facts.get::<PlannedMembers>(),
        )?;
        // A group this plan makes is written before the policy that names it.
        for change in policy_changes
            .iter_mut()
            .filter(|c| c.action != Action::Delete)
        {
            change.depends_on.extend(promised.iter().cloned());
        }
        // A policy is recorded on the app the moment it is written, so the app must exist
        // first.
        let app = Address::application(draft.desired);
        if draft.changes_at(&app) {
            for change in &mut policy_changes {
                change.depends_on.push(app.clone());
            }
        }
        if let Some(Licence::Unreadable(why)) = licence_of(draft.desired, draft.live) {
            let consequence = if policy_first(&mut draft.changes, &policy_changes, &app) {
                "; apply writes the Conditional Access policy right after the app, so a missing licence stops it before anything else is written"
            } else {
                ""
            };
            draft.warnings.push(format!(
                "could not check the tenant's Microsoft Entra ID P1 licence: {why}{consequence}"
            ));
        }
        draft.changes.extend(policy_changes);
        draft.warnings.extend(warnings);
        if let Some(reach) = reach {
            draft.facts.put(reach);
        }
        Ok(())
    }

    /// Every policy the record names, and copies an interrupted run left under their pending
    /// name; a policy merely named like ours is left alone, with a warning.
    fn destroy(&self, draft: &mut DestroyDraft<'_>) {
        let (desired, live) = (draft.desired, draft.live);
        let Some(ca) = &live.conditional_access else {
            return;
        };
        // The address plan gives the policy; any further recorded one is told apart by id.
        let base = desired
            .conditional_access
            .as_ref()
            .map(address)
            .unwrap_or_else(|| Address::new(KIND, "recorded"));
        for (index, policy) in ca.recorded(&live.record).into_iter().enumerate() {
            let at = if index == 0 {
                base.clone()
            } else {
                base.indexed(&short_id(policy))
            };
            draft
                .changes
                .push(delete_change(at, policy, "recorded as entra-mail's".into()));
        }
        let Some(policy) = &desired.conditional_access else {
            return;
        };
        let pending = pending_name(&policy.display_name, &desired.app.unique_name);
        for copy in ca.named_not_ours(&pending, &live.record) {
            draft.changes.push(delete_change(
                base.indexed(&short_id(copy)),
                copy,
                "a copy of ours an interrupted run left pending".into(),
            ));
        }
        for other in ca.named_not_ours(&policy.display_name, &live.record) {
            draft.warnings.push(format!(
                "Conditional Access policy `{}` ({}) is not recorded as entra-mail's; left alone",
                other.display_name.clone().unwrap_or_default(),
                other.id.clone().unwrap_or_default()
            ));
        }
    }
}

/// `ca` with the members `planned` gives each group the policy names.
fn with_planned_members(
    ca: &LiveConditionalAccess,
    resolution: &render::Resolution,
    planned: &PlannedMembers,
) -> LiveConditionalAccess {
    let mut after = ca.clone();
    for (name, members) in &planned.0 {
        let named = resolution
            .groups
            .iter()
            .find(|(configured, _)| configured.eq_ignore_ascii_case(name));
        if let Some((_, id)) = named {
            after
                .members
                .insert(id.to_ascii_lowercase(), Some(members.clone()));
        }
    }
    after
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
    app: &Address,
) -> bool {
    let Some(policy) = policy_changes.iter().find(|c| c.action != Action::Delete) else {
        return false;
    };
    // What the policy itself waits for (the app, a group it names) goes before it.
    let before = prerequisites(changes, &policy.depends_on);
    for change in changes.iter_mut().filter(|c| {
        &c.address != app && c.operation.writes_tenant() && !before.contains(&c.address)
    }) {
        change.depends_on.push(policy.address.clone());
    }
    true
}

/// `direct` and everything among `changes` they depend on, however indirectly.
fn prerequisites(changes: &[ResourceChange], direct: &[Address]) -> Vec<Address> {
    let mut found: Vec<Address> = direct.to_vec();
    let mut next = 0;
    while next < found.len() {
        let at = found[next].clone();
        next += 1;
        for change in changes.iter().filter(|c| c.address == at) {
            for dependency in &change.depends_on {
                if !found.contains(dependency) {
                    found.push(dependency.clone());
                }
            }
        }
    }
    found
}

/// What apply does to a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
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

#[async_trait::async_trait]
impl Operation for Op {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        // Groups this plan made are named by the ids they got.
        match self {
            Op::CreatePolicy {
                body,
                staged_final_state,
            } => {
                create(
                    ctx,
                    &ctx.keep_promises(body)?,
                    staged_final_state.as_deref(),
                )
                .await
            }
            Op::UpdatePolicy {
                id,
                patch,
                staged_final_state,
            } => {
                let patch = ctx.keep_promises(patch)?;
                update(ctx, id, &patch, staged_final_state.as_deref()).await
            }
            Op::DeletePolicy { id } => delete(ctx, id).await,
            Op::AdoptPolicy {
                id,
                patch,
                resolves,
            } => {
                let patch = patch.as_ref().map(|p| ctx.keep_promises(p)).transpose()?;
                adopt(ctx, id, patch.as_ref(), resolves).await
            }
        }
    }
}

/// The name a new policy of ours carries from its POST until the run that made it has seen
/// that it is the only copy (then it is renamed and enforced in one PATCH). It proves the
/// copy is entra-mail's from the tenant alone: under replication lag another run's write of
/// the ownership record can drop the entry that would otherwise prove it.
pub fn pending_name(policy_name: &str, unique_name: &str) -> String {
    format!("{policy_name} (entra-mail pending: {unique_name})")
}

/// The policy's part of a plan.
#[derive(Debug, Default)]
struct PolicyPlan {
    pub changes: Vec<ResourceChange>,
    pub warnings: Vec<String>,
    /// Whom the policy will reach, as it will stand.
    pub reach: Option<Reach>,
    /// The changes that make groups the policy names before they exist.
    pub promised: Vec<Address>,
}

fn plan(
    desired: &Desired,
    live: &LiveState,
    options: &PlanOptions,
    promised: &[Promise],
    planned: Option<&PlannedMembers>,
) -> Result<PolicyPlan, PlanError> {
    let Some(policy) = &desired.conditional_access else {
        return Ok(PolicyPlan::default());
    };
    let Some(ca) = &live.conditional_access else {
        return Ok(PolicyPlan::default());
    };
    if ca.security_defaults {
        return Err(PlanError::SecurityDefaultsOn {
            tenant: desired.tenant_id.to_string(),
        });
    }
    let resolution = render::resolve(policy, ca, promised)?;
    // Groups judged with the members they will have once this plan has run.
    let after_plan = planned.map(|p| with_planned_members(ca, &resolution, p));
    let ca = after_plan.as_ref().unwrap_or(ca);
    let wanted = render::render(policy, &resolution);
    let mut warnings = Vec::new();
    let (existing, mut changes) = find_ours(desired, policy, live, options, &mut warnings)?;
    let live_value = existing.and_then(|(p, _)| serde_json::to_value(p).ok());
    let patch = live_value
        .as_ref()
        .and_then(|l| in_force::replacing_patch(&wanted, l));
    // Judge what Graph will hold: the file for a new policy; the live one with our PATCH
    // merged in, the way Graph merges it, for an existing one.
    let will_stand = match (&live_value, &patch) {
        (Some(l), Some(p)) => in_force::after_patch(l, p),
        (Some(l), None) => in_force::writable(l),
        (None, _) => wanted.clone(),
    };
    let audience = reach::Audience::of(&will_stand, ca);
    let ours = existing.and_then(|(p, _)| p.id.as_deref());
    let judged = guard::Judged {
        policy,
        in_force: &will_stand,
        live: ca,
        resolution: &resolution,
        audience: &audience,
        ours,
    };
    // Judged even when nothing is written: a break-glass account disabled since the last run
    // makes the policy in force a lockout risk all the same.
    guard::refuse(&judged, options)?;
    warnings.extend(guard::warnings(&judged));
    warnings.extend(reach::warnings(
        &policy.display_name,
        &policy.pilot_groups,
        guard::enforced(&will_stand),
        &audience,
        ca,
        &resolution,
    ));
    let reach = Some(Reach::of(&policy.display_name, &audience, &resolution));
    let labelled = |v: &Value| render::label(v, &resolution.labels);
    let staged = options.staged && guard::enforced(&will_stand);

    let Some((existing, claim)) = existing else {
        let attributes = in_force::leaves(&wanted, "")
            .into_iter()
            .map(|(name, value)| AttributeChange {
                name,
                before: Value::Null,
                after: labelled(&value),
            })
            .collect();
        // A new enforced policy is always created report-only and enabled only once the list
        // shows no earlier copy: two runs at once (or a retry under replication lag) may each
        // make one, and only one copy may ever be enforced.
        let staged_final = guard::enforced(&will_stand).then(|| "enabled".to_string());
        changes.insert(
            0,
            ResourceChange {
                address: address(policy),
                action: Action::Create,
                before: Value::Null,
                after: labelled(&wanted),
                attributes,
                reason: staged_final.as_ref().map(|s| {
                    format!("created report-only, then switched to {s} once listed with no earlier copy")
                }),
                depends_on: Vec::new(),
                operation: Op::CreatePolicy {
                    body: wanted,
                    staged_final_state: staged_final,
                }.into(),
            },
        );
        return Ok(PolicyPlan {
            changes,
            warnings,
            reach,
            promised: resolution.promised,
        });
    };
    let live_value = live_value.unwrap_or(Value::Null);
    if patch.is_none() && claim == Claim::Recorded {
        return Ok(PolicyPlan {
            changes,
            warnings,
            reach,
            promised: resolution.promised,
        });
    }
    let differences = in_force::differences(&wanted, &live_value);
    let id = existing.id.clone().unwrap_or_default();
    let attributes = differences
        .iter()
        .map(|(name, before, after)| AttributeChange {
            name: name.clone(),
            before: labelled(before),
            after: labelled(after),
        })
        .collect();
    let intents: Vec<Entry> = live
        .record
        .policy_intents
        .iter()
        .map(|at| Entry::PolicyIntent(*at))
        .collect();
    // `--staged` never lowers a policy that is already enforced: that one is changed in place.
    let live_enforced = guard::enforced(&live_value);
    let staged_final = (staged && !live_enforced).then(|| "enabled".to_string());
    let (action, reason, operation) = match claim {
        Claim::Adopted => (
            Action::Adopt,
            Some(format!(
                "made outside entra-mail ({id}); taken over with --adopt"
            )),
            Op::AdoptPolicy {
                id,
                patch,
                resolves: intents,
            },
        ),
        Claim::Intended => (
            Action::Update,
            Some(format!(
                "made by an earlier run of ours that could not record it ({id}); recorded now"
            )),
            Op::AdoptPolicy {
                id,
                patch,
                resolves: intents,
            },
        ),
        Claim::Recorded => (
            Action::Update,
            match (&staged_final, staged && live_enforced) {
                (Some(s), _) => Some(format!("staged: report-only first, then {s}")),
                (None, true) => Some(
                    "already enforced, so changed in place: --staged never lowers an enforced policy"
                        .to_string(),
                ),
                (None, false) => None,
            },
            Op::UpdatePolicy {
                id,
                patch: patch.unwrap_or_else(|| json!({})),
                staged_final_state: staged_final,
            },
        ),
    };
    changes.insert(
        0,
        ResourceChange {
            address: address(policy),
            action,
            before: labelled(&in_force::writable(&live_value)),
            after: labelled(&will_stand),
            attributes,
            reason,
            depends_on: Vec::new(),
            operation: operation.into(),
        },
    );
    Ok(PolicyPlan {
        changes,
        warnings,
        reach,
        promised: resolution.promised,
    })
}

/// How a live policy came to be ours in this plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// The record names it.
    Recorded,
    /// An earlier run of ours made it but could not record it (a lost answer, a kill): it
    /// carries our name and was made after that run's recorded intent.
    Intended,
    /// Someone else's, taken over with `--adopt`.
    Adopted,
}

/// Our live policy (with how it is ours) and the deletes of its duplicates.
type Found<'a> = (
    Option<(&'a ConditionalAccessPolicy, Claim)>,
    Vec<ResourceChange>,
);

/// Which live policy is ours: the earliest the record names, else the earliest made after a
/// recorded intent; the others of ours are duplicates (two runs at once) and go. With neither,
/// a policy named like ours is someone else's, taken over only with `--adopt`.
fn find_ours<'a>(
    desired: &Desired,
    policy: &DesiredPolicy,
    live: &'a LiveState,
    options: &PlanOptions,
    warnings: &mut Vec<String>,
) -> Result<Found<'a>, PlanError> {
    let Some(ca) = &live.conditional_access else {
        return Ok((None, Vec::new()));
    };
    let record = &live.record;
    let recorded = ca.recorded(record);
    let (mut intended, strangers): (Vec<_>, Vec<_>) = ca
        .named_not_ours(&policy.display_name, record)
        .into_iter()
        .partition(|p| p.created_date_time.is_some_and(|c| record.intended(c)));
    // A copy still under its pending name is ours by that name (its run was killed, or is
    // settling now), whatever the record shows.
    let pending = pending_name(&policy.display_name, &desired.app.unique_name);
    intended.extend(ca.named_not_ours(&pending, record));
    intended.sort_by_key(|p| (p.created_date_time, p.id.clone()));
    // The earliest copy of ours stays, whatever its claim: the rule a run's settle step
    // follows too, so two runs never pick different survivors.
    let mut ours: Vec<(&ConditionalAccessPolicy, Claim)> = recorded
        .into_iter()
        .map(|p| (p, Claim::Recorded))
        .chain(intended.into_iter().map(|p| (p, Claim::Intended)))
        .collect();
    ours.sort_by_key(|(p, _)| (p.created_date_time, p.id.clone()));
    let Some((first, duplicates)) = ours.split_first() else {
        return match strangers.as_slice() {
            [] => Ok((None, Vec::new())),
            [one] if options.adopt => Ok((Some((*one, Claim::Adopted)), Vec::new())),
            [one] => Err(PlanError::PolicyNotOurs {
                name: policy.display_name.clone(),
                id: one.id.clone().unwrap_or_default(),
            }),
            several => Err(PlanError::DuplicatePolicies {
                name: policy.display_name.clone(),
                ids: several.iter().filter_map(|p| p.id.clone()).collect(),
            }),
        };
    };
    for other in strangers {
        warnings.push(format!(
            "Conditional Access policy `{}` ({}) is named like ours but is not recorded as entra-mail's; left alone",
            other.display_name.clone().unwrap_or_default(),
            other.id.clone().unwrap_or_default()
        ));
    }
    let kept = first.0.id.clone().unwrap_or_default();
    let deletes = duplicates
        .iter()
        .map(|(duplicate, _)| duplicate_delete(policy, duplicate, &kept, &pending))
        .collect();
    Ok((Some(*first), deletes))
}

fn duplicate_delete(
    policy: &DesiredPolicy,
    duplicate: &ConditionalAccessPolicy,
    kept: &str,
    pending: &str,
) -> ResourceChange {
    let left_pending = duplicate
        .display_name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(pending));
    let why = if left_pending {
        "a copy of ours an interrupted run left under its pending name"
    } else {
        "a second policy of ours (two runs at once)"
    };
    let mut change = delete_change(
        address(policy).indexed(&short_id(duplicate)),
        duplicate,
        format!("{why}; the earliest, {kept}, is kept"),
    );
    // After the kept copy is named and enforced, so the policy is never off meanwhile.
    change.depends_on = vec![address(policy)];
    change
}

/// `[…]` of an address that tells one policy of ours from another: its id's first 8 characters.
fn short_id(policy: &ConditionalAccessPolicy) -> String {
    policy
        .id
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(8)
        .collect()
}

/// The removal of a policy of ours at `address`, and why.
fn delete_change(
    address: Address,
    policy: &ConditionalAccessPolicy,
    reason: String,
) -> ResourceChange {
    let id = policy.id.clone().unwrap_or_default();
    ResourceChange {
        address,
        action: Action::Delete,
        before: json!({"id": id, "display_name": policy.display_name, "state": policy.state}),
        after: Value::Null,
        attributes: Vec::new(),
        reason: Some(reason),
        depends_on: Vec::new(),
        operation: Op::DeletePolicy { id }.into(),
    }
}

/// What went wrong writing a policy, in words an admin can act on. A missing licence and a
/// missing permission are the same 403 `AccessDenied` to the code (only the message text
/// differs, and code never reads message text), so the explanation names both and the
/// command that tells them apart.
fn explain(error: crate::graph::GraphError) -> ApplyError {
    if error.status() == Some(403) {
        return ApplyError::ConditionalAccess(format!(
            "Conditional Access needs a Microsoft Entra ID P1 (or P2, or Microsoft 365 Business Premium) licence in this tenant, and a token with Policy.ReadWrite.ConditionalAccess and Policy.Read.All (and Application.Read.All when the policy names apps; a signed-in user also needs the Conditional Access Administrator role). Graph refused the write, so one of them is missing; `entra-mail doctor` says which: {error}"
        ));
    }
    ApplyError::Graph(error)
}

/// Applies [`Op::CreatePolicy`]: intent on record, the POST, then [`settle`] before
/// the policy is enforced.
async fn create(
    ctx: &ApplyContext<'_>,
    body: &Value,
    staged_final_state: Option<&str>,
) -> Result<(), ApplyError> {
    let mut body = body.clone();
    if staged_final_state.is_some() {
        body["state"] = json!(REPORT_ONLY);
    }
    let name = body["displayName"].as_str().unwrap_or_default().to_string();
    let pending = pending_name(&name, &ctx.desired.app.unique_name);
    body["displayName"] = json!(pending);
    // The intent goes on record before the POST, so a policy whose answer is lost is still
    // known as ours on the next run. (Conditional Access is paced at one request a second, so
    // this write costs no time of its own.)
    let intent_at = time::OffsetDateTime::now_utc();
    let intent = Entry::PolicyIntent(intent_at.unix_timestamp());
    ctx.record(intent.clone()).await?;
    // Recorded as soon as it exists: from then on this policy is provably ours. The record is
    // re-read while the POST is in flight, once the POST may leave.
    ctx.client.conditional_access_ready().await;
    let posted = ctx
        .create_and_record(
            std::slice::from_ref(&intent),
            || async { ctx.client.post(POLICIES, &body).await.map_err(explain) },
            |created: &ConditionalAccessPolicy| created.id.clone().map(Entry::Policy),
        )
        .await;
    let created = match posted {
        Ok(created) => created,
        Err(ApplyError::Graph(lost @ crate::graph::GraphError::Interrupted { .. })) => {
            find_after_lost_answer(ctx, &name, intent_at, &intent)
                .await?
                .ok_or(ApplyError::Graph(lost))?
        }
        Err(other) => return Err(other),
    };
    let id = created
        .id
        .clone()
        .ok_or(ApplyError::Missing("the new policy's id"))?;
    let kept = settle(ctx, &created, &name, &pending).await?;
    // One PATCH gives the copy that stays its real name and (when staged) its state: the
    // earlier copy kept instead of ours may be one whose run was killed before this step.
    let mut finish = serde_json::Map::new();
    if kept.display_name.as_deref() != Some(name.as_str()) {
        finish.insert("displayName".into(), json!(name));
    }
    if let Some(state) = staged_final_state.filter(|s| kept.state.as_deref() != Some(*s)) {
        finish.insert("state".into(), json!(state));
    }
    if !finish.is_empty() {
        if kept.id.as_deref() == Some(id.as_str()) {
            ctx.progress
                .note("  policy is listed with no earlier copy; giving it its name and state");
        }
        let kept_id = kept.id.clone().unwrap_or_default();
        update(ctx, &kept_id, &Value::Object(finish), None).await?;
    }
    Ok(())
}

/// A POST whose answer was lost may have made the policy: before anything else, look for a
/// policy with our name made since our intent, for as long as replication may hide it, and
/// record it as ours. `None` when none appeared (the next run decides, from the intent).
async fn find_after_lost_answer(
    ctx: &ApplyContext<'_>,
    name: &str,
    intent_at: time::OffsetDateTime,
    intent: &Entry,
) -> Result<Option<ConditionalAccessPolicy>, ApplyError> {
    ctx.progress
        .step("the policy's answer was lost; looking for it before anything else");
    let since = intent_at - time::Duration::seconds(crate::ownership::CLOCK_SLACK_SECONDS);
    let found = ctx
        .poll_for(
            "the policy whose answer was lost",
            crate::ownership::INTENT_SETTLE,
            || async {
                // Only the pending name: every copy of ours is POSTed under it, and a policy
                // with the real name made in these seconds may be an admin's.
                let pending = pending_name(name, &ctx.desired.app.unique_name);
                let listed = list_named(ctx, &[&pending]).await?;
                Ok::<_, crate::graph::GraphError>(
                    listed
                        .into_iter()
                        .filter(|p| p.created_date_time.is_some_and(|c| c >= since))
                        .min_by_key(|p| (p.created_date_time, p.id.clone())),
                )
            },
        )
        .await?;
    if let Some(id) = found.as_ref().and_then(|p| p.id.clone()) {
        ctx.write_record_with(
            &[Entry::Policy(id)],
            std::slice::from_ref(intent),
            &json!({}),
        )
        .await?;
    }
    Ok(found)
}

/// The tenant's policies with one of `names` (any case), as the list shows them now.
async fn list_named(
    ctx: &ApplyContext<'_>,
    names: &[&str],
) -> Result<Vec<ConditionalAccessPolicy>, crate::graph::GraphError> {
    let all: Vec<ConditionalAccessPolicy> = ctx.client.list(Request::get(POLICIES)).await?;
    Ok(all
        .into_iter()
        .filter(|p| {
            p.display_name
                .as_deref()
                .is_some_and(|n| names.iter().any(|name| n.eq_ignore_ascii_case(name)))
        })
        .collect())
}

/// After our create: waits until the list shows our policy, and with it every copy made
/// before ours (two runs at once, or a retry while lag hid the first copy). The earliest copy
/// is the one that stays, and is returned. When it is not ours, ours (not yet enforced) is
/// deleted, and the earliest is recorded as ours when the record proves it is; when it does
/// not, the run fails and says so, having removed only what it made.
async fn settle(
    ctx: &ApplyContext<'_>,
    ours: &ConditionalAccessPolicy,
    name: &str,
    pending: &str,
) -> Result<ConditionalAccessPolicy, ApplyError> {
    let our_id = ours.id.clone().unwrap_or_default();
    ctx.progress
        .step("waiting for the policy list to show the new policy");
    let listed = ctx
        .poll_until_replicated("the new policy in the policy list", || async {
            let listed = list_named(ctx, &[name, pending]).await?;
            Ok(listed
                .iter()
                .any(|p| p.id.as_deref() == Some(our_id.as_str()))
                .then_some(listed))
        })
        .await?;
    let Some(earliest) = listed
        .into_iter()
        .min_by_key(|p| (p.created_date_time, p.id.clone()))
    else {
        return Ok(ours.clone());
    };
    let kept = earliest.id.clone().unwrap_or_default();
    if kept == our_id {
        return Ok(earliest);
    }
    ctx.progress.note(&format!(
        "  an earlier policy named {name} ({kept}) was made while this run made its own; removing ours ({our_id})"
    ));
    delete(ctx, &our_id).await?;
    let still_pending = earliest
        .display_name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(pending));
    // The other run's record entry may still be replicating: look again for a while.
    let provable = still_pending
        || ctx
            .poll_for(
                "the ownership record of the earlier policy",
                crate::ownership::INTENT_SETTLE,
                || async {
                    let record = ctx.tenant_record().await?;
                    Ok::<_, ApplyError>(
                        (record.owns_policy(&kept)
                            || earliest
                                .created_date_time
                                .is_some_and(|c| record.intended(c)))
                        .then_some(()),
                    )
                },
            )
            .await?
            .is_some();
    if !provable {
        return Err(ApplyError::ConditionalAccess(format!(
            "another policy named {name} ({kept}) was made while this run made its own, and the ownership record does not show it as entra-mail's; this run removed its own copy ({our_id}) and left that one alone. Run again once replication has settled: a copy made by another run of ours is then recognised, anything else is reported"
        )));
    }
    ctx.record(Entry::Policy(kept)).await?;
    Ok(earliest)
}

/// Applies [`Op::UpdatePolicy`].
async fn update(
    ctx: &ApplyContext<'_>,
    id: &str,
    patch: &Value,
    staged_final_state: Option<&str>,
) -> Result<(), ApplyError> {
    let mut patch = patch.clone();
    if staged_final_state.is_some() {
        patch["state"] = json!(REPORT_ONLY);
    }
    let request = Request::patch(format!("{POLICIES}/{id}"), patch);
    ctx.retry_while_replicating(
        "the policy",
        |e| e.status() == Some(404),
        || ctx.client.send(&request),
    )
    .await
    .map_err(|e| match e {
        ApplyError::Graph(g) => explain(g),
        other => other,
    })?;
    if let Some(state) = staged_final_state {
        switch_after_read_back(ctx, id, state).await?;
    }
    Ok(())
}

/// `--staged`: once the report-only policy reads back, switch it to its configured state.
async fn switch_after_read_back(
    ctx: &ApplyContext<'_>,
    id: &str,
    state: &str,
) -> Result<(), ApplyError> {
    let path = format!("{POLICIES}/{id}");
    ctx.progress
        .step("waiting for the report-only policy to read back");
    ctx.poll_until_replicated("the report-only policy", || async {
        let policy: Option<ConditionalAccessPolicy> = ctx.client.get_optional(&path).await?;
        Ok(policy.filter(|p| p.state.as_deref() == Some(REPORT_ONLY)))
    })
    .await?;
    ctx.progress.note(&format!(
        "  policy is in report-only; switching it to {state}"
    ));
    ctx.client
        .send(&Request::patch(&path, json!({"state": state})))
        .await
        .map_err(explain)?;
    Ok(())
}

/// Applies [`Op::DeletePolicy`]; already gone is fine. The record entry goes after
/// the policy, so a policy never outlives its entry.
async fn delete(ctx: &ApplyContext<'_>, id: &str) -> Result<(), ApplyError> {
    ctx.delete_if_present(&format!("{POLICIES}/{id}"))
        .await
        .map_err(explain)?;
    ctx.unrecord(Entry::Policy(id.to_string())).await
}

/// Applies [`Op::AdoptPolicy`]: record first, so a failed correction leaves a policy
/// that is ours and corrected on the next run.
async fn adopt(
    ctx: &ApplyContext<'_>,
    id: &str,
    patch: Option<&Value>,
    resolves: &[Entry],
) -> Result<(), ApplyError> {
    ctx.write_record_with(&[Entry::Policy(id.to_string())], resolves, &json!({}))
        .await?;
    match patch {
        Some(patch) => update(ctx, id, patch, None).await,
        None => Ok(()),
    }
}
