//! The Conditional Access policy ("MFA Pilot"): found by display name, built from its policy
//! file with the names resolved to ids, and guarded against locking people out before anything
//! is written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::apply::{ApplyContext, ApplyError};
use crate::config::{Desired, DesiredPolicy, PolicyState};
use crate::graph::models::ConditionalAccessPolicy;
use crate::graph::Request;
use crate::live::{LiveConditionalAccess, LiveState};
use crate::ownership::Entry;
use crate::plan::{Action, AttributeChange, Operation, PlanError, PlanOptions, ResourceChange};
use crate::well_known;

pub const KIND: &str = "conditional_access_policy";
const POLICIES: &str = "identity/conditionalAccess/policies";
const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";

pub fn address(policy: &DesiredPolicy) -> String {
    format!("{KIND}.{}", super::slug(&policy.display_name))
}

/// Ids the config's names resolve to, and the other way round for display.
struct Resolution {
    groups: BTreeMap<String, String>,
    users: BTreeMap<String, String>,
    members: BTreeMap<String, Vec<String>>,
    labels: BTreeMap<String, String>,
}

/// Every named user and group must exist, once: never send a policy with a hole in it.
fn resolve(policy: &DesiredPolicy, live: &LiveConditionalAccess) -> Result<Resolution, PlanError> {
    let mut resolution = Resolution {
        groups: BTreeMap::new(),
        users: BTreeMap::new(),
        members: BTreeMap::new(),
        labels: BTreeMap::new(),
    };
    for (name, found) in &live.groups {
        match found.as_slice() {
            [] => {
                return Err(PlanError::GroupNotFound {
                    name: name.clone(),
                    policy: policy.display_name.clone(),
                })
            }
            [group] => {
                resolution.groups.insert(name.clone(), group.id.clone());
                resolution.members.insert(
                    group.id.to_ascii_lowercase(),
                    group
                        .members
                        .iter()
                        .map(|m| m.id.to_ascii_lowercase())
                        .collect(),
                );
                resolution.labels.insert(
                    group.id.to_ascii_lowercase(),
                    format!("{name} ({})", group.id),
                );
            }
            several => {
                return Err(PlanError::GroupAmbiguous {
                    name: name.clone(),
                    ids: several.iter().map(|g| g.id.clone()).collect(),
                })
            }
        }
    }
    for (upn, user) in &live.users {
        let user = user.as_ref().ok_or_else(|| PlanError::UserNotFound {
            upn: upn.clone(),
            policy: policy.display_name.clone(),
        })?;
        let id = user.id.clone().unwrap_or_default();
        resolution
            .labels
            .insert(id.to_ascii_lowercase(), format!("{upn} ({id})"));
        resolution.users.insert(upn.to_ascii_lowercase(), id);
    }
    for (name, app_id) in well_known::APPS {
        resolution
            .labels
            .entry(app_id.to_string())
            .or_insert_with(|| format!("{name} ({app_id})"));
    }
    Ok(resolution)
}

fn ids(names: &[String], map: &BTreeMap<String, String>, lowercase_key: bool) -> Vec<Value> {
    names
        .iter()
        .map(|n| {
            let key = if lowercase_key {
                n.to_ascii_lowercase()
            } else {
                n.clone()
            };
            json!(map.get(&key).cloned().unwrap_or_else(|| n.clone()))
        })
        .collect()
}

/// The policy file with every placeholder filled.
fn fill(template: &Value, values: &BTreeMap<&str, Value>) -> Value {
    match template {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, values)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .flat_map(|item| {
                    match item
                        .as_str()
                        .and_then(crate::config::policy::placeholder_name)
                    {
                        Some(name) => match values.get(name) {
                            Some(Value::Array(list)) => list.clone(),
                            Some(other) => vec![other.clone()],
                            None => vec![item.clone()],
                        },
                        None => vec![fill(item, values)],
                    }
                })
                .collect(),
        ),
        Value::String(s) => {
            match crate::config::policy::placeholder_name(s).and_then(|name| values.get(name)) {
                Some(value) => value.clone(),
                None => template.clone(),
            }
        }
        other => other.clone(),
    }
}

fn body(policy: &DesiredPolicy, resolution: &Resolution) -> Value {
    let pilot_users: Vec<Value> = policy
        .pilot_users
        .iter()
        .map(|u| {
            if u.contains('@') {
                json!(resolution
                    .users
                    .get(&u.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_default())
            } else {
                json!(u)
            }
        })
        .collect();
    let mut values: BTreeMap<&str, Value> = BTreeMap::new();
    values.insert("display_name", json!(policy.display_name));
    values.insert("state", json!(policy.state.graph_value()));
    values.insert("grant_operator", json!(policy.grant_operator));
    values.insert("grant_controls", json!(policy.grant_controls));
    values.insert("target_apps", json!(policy.target_apps));
    values.insert(
        "pilot_groups",
        Value::Array(ids(&policy.pilot_groups, &resolution.groups, false)),
    );
    values.insert("pilot_users", Value::Array(pilot_users));
    values.insert(
        "emergency_access_users",
        Value::Array(ids(&policy.emergency_access_users, &resolution.users, true)),
    );
    values.insert(
        "emergency_access_groups",
        Value::Array(ids(
            &policy.emergency_access_groups,
            &resolution.groups,
            false,
        )),
    );
    fill(&policy.template, &values)
}

fn strings_at(policy: &Value, pointer: &str) -> BTreeSet<String> {
    policy
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The lockout guard. Errors stop the run before any write; warnings are printed.
fn guard(
    policy: &DesiredPolicy,
    body: &Value,
    live: &LiveConditionalAccess,
    resolution: &Resolution,
    options: &PlanOptions,
) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    for name in &policy.pilot_groups {
        let empty = resolution
            .groups
            .get(name)
            .and_then(|id| resolution.members.get(&id.to_ascii_lowercase()))
            .is_some_and(Vec::is_empty);
        if empty {
            warnings.push(format!(
                "pilot group `{name}` has no members: `{}` applies to nobody yet",
                policy.display_name
            ));
        }
    }
    let enabling = policy.state == PolicyState::Enabled;
    if enabling && !options.allow_lockout_risk {
        if policy.emergency_access_users.is_empty() && policy.emergency_access_groups.is_empty() {
            return Err(PlanError::NoEmergencyAccess {
                policy: policy.display_name.clone(),
            });
        }
        let excluded_users = strings_at(body, "/conditions/users/excludeUsers");
        let excluded_groups = strings_at(body, "/conditions/users/excludeGroups");
        for upn in &policy.emergency_access_users {
            let id = resolution
                .users
                .get(&upn.to_ascii_lowercase())
                .map(|i| i.to_ascii_lowercase())
                .unwrap_or_default();
            if !excluded_users.contains(&id) {
                return Err(PlanError::EmergencyAccessNotExcluded {
                    who: upn.clone(),
                    policy: policy.display_name.clone(),
                });
            }
        }
        for name in &policy.emergency_access_groups {
            let id = resolution
                .groups
                .get(name)
                .map(|i| i.to_ascii_lowercase())
                .unwrap_or_default();
            if !excluded_groups.contains(&id) {
                return Err(PlanError::EmergencyAccessNotExcluded {
                    who: name.clone(),
                    policy: policy.display_name.clone(),
                });
            }
        }
    }
    if live.caller.delegated {
        if let Some(me) = live
            .caller
            .object_id
            .as_ref()
            .map(|id| id.to_ascii_lowercase())
        {
            let included_users = strings_at(body, "/conditions/users/includeUsers");
            let in_groups = strings_at(body, "/conditions/users/includeGroups")
                .iter()
                .any(|g| resolution.members.get(g).is_some_and(|m| m.contains(&me)));
            let excluded = strings_at(body, "/conditions/users/excludeUsers").contains(&me)
                || strings_at(body, "/conditions/users/excludeGroups")
                    .iter()
                    .any(|g| resolution.members.get(g).is_some_and(|m| m.contains(&me)));
            let included =
                included_users.contains(&me) || included_users.contains("all") || in_groups;
            if included && !excluded {
                let who = live.caller.name.clone().unwrap_or_else(|| me.clone());
                warnings.push(format!(
                    "you ({who}) are inside `{}`'s users: {}",
                    policy.display_name,
                    if enabling { "once it is enabled, you too will need multi-factor authentication for what it targets" } else { "it will apply to you when it is enabled" }
                ));
            }
        }
    }
    Ok(warnings)
}

pub fn plan(
    desired: &Desired,
    live: &LiveState,
    options: &PlanOptions,
) -> Result<(Vec<ResourceChange>, Vec<String>), PlanError> {
    let Some(policy) = &desired.conditional_access else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Some(ca) = &live.conditional_access else {
        return Ok((Vec::new(), Vec::new()));
    };
    if ca.security_defaults {
        return Err(PlanError::SecurityDefaultsOn {
            tenant: desired.tenant_id.to_string(),
        });
    }
    let resolution = resolve(policy, ca)?;
    let wanted = body(policy, &resolution);
    let mut warnings = guard(policy, &wanted, ca, &resolution, options)?;
    let (existing, mut changes) = find_ours(policy, live, options, &mut warnings)?;
    let claim = existing.map(|(_, claim)| claim);
    let existing = existing.map(|(p, _)| p);
    let staged_final = (options.staged && policy.state != PolicyState::ReportOnly)
        .then(|| policy.state.graph_value().to_string());
    let labelled = |v: &Value| label(v, &resolution.labels);

    let Some(existing) = existing else {
        let attributes = leaves(&wanted, "")
            .into_iter()
            .map(|(name, value)| AttributeChange {
                name,
                before: Value::Null,
                after: labelled(&value),
            })
            .collect();
        changes.insert(
            0,
            ResourceChange {
                address: address(policy),
                kind: KIND,
                action: Action::Create,
                before: Value::Null,
                after: labelled(&wanted),
                attributes,
                reason: staged_final
                    .as_ref()
                    .map(|s| format!("staged: created report-only, then switched to {s}")),
                depends_on: Vec::new(),
                operation: Operation::CreatePolicy {
                    body: wanted,
                    staged_final_state: staged_final,
                },
            },
        );
        return Ok((changes, warnings));
    };
    let live_value = serde_json::to_value(existing).unwrap_or(Value::Null);
    let mut differences = Vec::new();
    compare(&wanted, &live_value, "", &mut differences);
    let id = existing.id.clone().unwrap_or_default();
    if differences.is_empty() && claim == Some(Claim::Recorded) {
        return Ok((changes, warnings));
    }
    let mut patch = Map::new();
    for (path, _, _) in &differences {
        let top = path.split('.').next().unwrap_or_default().to_string();
        if let (Some(want), false) = (wanted.get(&top), patch.contains_key(&top)) {
            // Send the whole subtree, merged over what Graph holds, so nothing unmanaged is lost.
            let mut merged = live_value
                .get(&top)
                .map(without_nulls)
                .filter(|v| v.is_object())
                .unwrap_or_else(|| json!({}));
            merge(&mut merged, want);
            patch.insert(
                top,
                if want.is_object() {
                    merged
                } else {
                    want.clone()
                },
            );
        }
    }
    let attributes = differences
        .iter()
        .map(|(name, before, after)| AttributeChange {
            name: name.clone(),
            before: labelled(before),
            after: labelled(after),
        })
        .collect();
    let patch = (!patch.is_empty()).then_some(Value::Object(patch));
    let intents: Vec<Entry> = live
        .record
        .policy_intents
        .iter()
        .map(|at| Entry::PolicyIntent(*at))
        .collect();
    let (action, reason, operation) = if claim == Some(Claim::Adopted) {
        (
            Action::Adopt,
            Some(format!(
                "made outside entra-mail ({id}); taken over with --adopt"
            )),
            Operation::AdoptPolicy {
                id,
                patch,
                resolves: intents,
            },
        )
    } else if claim == Some(Claim::Intended) {
        (
            Action::Update,
            Some(format!(
                "made by an earlier run of ours that could not record it ({id}); recorded now"
            )),
            Operation::AdoptPolicy {
                id,
                patch,
                resolves: intents,
            },
        )
    } else {
        (
            Action::Update,
            staged_final
                .as_ref()
                .map(|s| format!("staged: report-only first, then {s}")),
            Operation::UpdatePolicy {
                id,
                patch: patch.unwrap_or_else(|| json!({})),
                staged_final_state: staged_final,
            },
        )
    };
    changes.insert(
        0,
        ResourceChange {
            address: address(policy),
            kind: KIND,
            action,
            before: labelled(&managed_view(&wanted, &live_value)),
            after: labelled(&wanted),
            attributes,
            reason,
            depends_on: Vec::new(),
            operation,
        },
    );
    Ok((changes, warnings))
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
    intended.sort_by_key(|p| (p.created_date_time, p.id.clone()));
    let ours: Vec<(&ConditionalAccessPolicy, Claim)> = recorded
        .into_iter()
        .map(|p| (p, Claim::Recorded))
        .chain(intended.into_iter().map(|p| (p, Claim::Intended)))
        .collect();
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
        .map(|(duplicate, _)| duplicate_delete(policy, duplicate, &kept))
        .collect();
    Ok((Some(*first), deletes))
}

fn duplicate_delete(
    policy: &DesiredPolicy,
    duplicate: &ConditionalAccessPolicy,
    kept: &str,
) -> ResourceChange {
    delete_change(
        format!("{}[{}]", address(policy), short_id(duplicate)),
        duplicate,
        format!("a second policy of ours (two runs at once); the earliest, {kept}, is kept"),
    )
}

/// `[…]` of an address that tells one policy of ours from another: its id's first 8 characters.
pub fn short_id(policy: &ConditionalAccessPolicy) -> String {
    policy
        .id
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(8)
        .collect()
}

/// The removal of a policy of ours at `address`, and why.
pub fn delete_change(
    address: String,
    policy: &ConditionalAccessPolicy,
    reason: String,
) -> ResourceChange {
    let id = policy.id.clone().unwrap_or_default();
    ResourceChange {
        address,
        kind: KIND,
        action: Action::Delete,
        before: json!({"id": id, "display_name": policy.display_name, "state": policy.state}),
        after: Value::Null,
        attributes: Vec::new(),
        reason: Some(reason),
        depends_on: Vec::new(),
        operation: Operation::DeletePolicy { id },
    }
}

/// `value` without null members: Graph's echo fills absent parts with null, and they need not
/// (and, for navigation properties, should not) be sent back.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The live values at the paths the policy file manages.
fn managed_view(wanted: &Value, live: &Value) -> Value {
    match wanted {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        managed_view(v, live.get(k).unwrap_or(&Value::Null)),
                    )
                })
                .collect(),
        ),
        _ => live.clone(),
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(existing), Value::Object(incoming)) => {
            for (key, value) in incoming {
                match existing.get_mut(key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        existing.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// Leaf values of `value`, by dotted path.
fn leaves(value: &Value, path: &str) -> Vec<(String, Value)> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                leaves(
                    v,
                    &if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    },
                )
            })
            .collect(),
        other => vec![(path.to_string(), other.clone())],
    }
}

/// Differences at the paths `wanted` names. Graph's echo is normalised: null, absent and an
/// empty list are the same; lists compare as sets; ids compare case-insensitively.
fn compare(wanted: &Value, live: &Value, path: &str, out: &mut Vec<(String, Value, Value)>) {
    match wanted {
        Value::Object(map) => {
            for (key, value) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                compare(value, live.get(key).unwrap_or(&Value::Null), &child, out);
            }
        }
        Value::Array(_) => {
            if normalised_list(wanted) != normalised_list(live) {
                out.push((path.to_string(), live.clone(), wanted.clone()));
            }
        }
        Value::String(text) => {
            if !live.as_str().is_some_and(|l| l.eq_ignore_ascii_case(text)) {
                out.push((path.to_string(), live.clone(), wanted.clone()));
            }
        }
        other => {
            if other != live {
                out.push((path.to_string(), live.clone(), wanted.clone()));
            }
        }
    }
}

fn normalised_list(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| match v {
            Value::String(s) => s.to_ascii_lowercase(),
            other => other.to_string(),
        })
        .collect();
    items.sort();
    items.dedup();
    items
}

/// Ids shown with their names: `MFA-Test-Group (5f1c…)`.
fn label(value: &Value, labels: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => labels
            .get(&s.to_ascii_lowercase())
            .map(|l| json!(l))
            .unwrap_or_else(|| value.clone()),
        Value::Array(items) => Value::Array(items.iter().map(|i| label(i, labels)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), label(v, labels)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What went wrong writing a policy, in words an admin can act on.
fn explain(error: crate::graph::GraphError) -> ApplyError {
    let licence = error.status() == Some(403)
        && error
            .api()
            .is_some_and(|a| a.message.to_ascii_lowercase().contains("licen"));
    if licence {
        return ApplyError::ConditionalAccess(format!(
            "Conditional Access needs a Microsoft Entra ID P1 (or P2, or Microsoft 365 Business Premium) licence in this tenant, and Graph refused the write for lack of one: {error}"
        ));
    }
    if error.status() == Some(403) {
        return ApplyError::ConditionalAccess(format!(
            "Graph refused the Conditional Access write: the token needs Policy.ReadWrite.ConditionalAccess with Policy.Read.All, and Application.Read.All when the policy names apps (a signed-in user also needs the Conditional Access Administrator role): {error}"
        ));
    }
    ApplyError::Graph(error)
}

/// Applies [`Operation::CreatePolicy`].
pub async fn create(
    ctx: &ApplyContext<'_>,
    body: &Value,
    staged_final_state: Option<&str>,
) -> Result<(), ApplyError> {
    let mut body = body.clone();
    if staged_final_state.is_some() {
        body["state"] = json!(REPORT_ONLY);
    }
    // The intent goes on record before the POST, so a policy whose answer is lost is still
    // known as ours on the next run. (Conditional Access is paced at one request a second, so
    // this write costs no time of its own.)
    let intent = Entry::PolicyIntent(time::OffsetDateTime::now_utc().unix_timestamp());
    ctx.record(intent.clone()).await?;
    // Recorded as soon as it exists: from then on this policy is provably ours. The record is
    // re-read while the POST is in flight, once the POST may leave.
    ctx.client.conditional_access_ready().await;
    let created: crate::graph::models::ConditionalAccessPolicy = ctx
        .create_and_record(
            &[intent],
            || async { ctx.client.post(POLICIES, &body).await.map_err(explain) },
            |created: &crate::graph::models::ConditionalAccessPolicy| {
                created.id.clone().map(Entry::Policy)
            },
        )
        .await?;
    let id = created
        .id
        .ok_or(ApplyError::Missing("the new policy's id"))?;
    if let Some(state) = staged_final_state {
        switch_after_read_back(ctx, &id, state).await?;
    }
    Ok(())
}

/// Applies [`Operation::UpdatePolicy`].
pub async fn update(
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
    let read_back = || async {
        let policy: crate::graph::models::ConditionalAccessPolicy = ctx.client.get(&path).await?;
        if policy.state.as_deref() == Some(REPORT_ONLY) {
            Ok(())
        } else {
            Err(crate::graph::GraphError::Decode {
                method: "GET".into(),
                path: path.clone(),
                message: "not report-only yet".into(),
            })
        }
    };
    ctx.retry_while_replicating(
        "the report-only policy",
        |e| e.status() == Some(404) || matches!(e, crate::graph::GraphError::Decode { .. }),
        read_back,
    )
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

/// Applies [`Operation::DeletePolicy`]; already gone is fine. The record entry goes after
/// the policy, so a policy never outlives its entry.
pub async fn delete(ctx: &ApplyContext<'_>, id: &str) -> Result<(), ApplyError> {
    match ctx.client.delete(&format!("{POLICIES}/{id}")).await {
        Err(e) if e.status() == Some(404) => {}
        other => {
            other.map_err(explain)?;
        }
    }
    ctx.unrecord(Entry::Policy(id.to_string())).await
}

/// Applies [`Operation::AdoptPolicy`]: record first, so a failed correction leaves a policy
/// that is ours and corrected on the next run.
pub async fn adopt(
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
