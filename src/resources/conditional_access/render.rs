//! The policy file rendered into Graph's JSON: every configured name resolved to its id in
//! the tenant, every `${placeholder}` filled.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::policy::placeholder_name;
use crate::config::DesiredPolicy;
use crate::kind::{Address, PlanError, Promise};
use crate::live::LiveConditionalAccess;
use crate::well_known;

/// Ids the config's names resolve to, and the other way round for display.
pub struct Resolution {
    /// Group name -> id.
    pub groups: BTreeMap<String, String>,
    /// Lowercase UPN -> id.
    pub users: BTreeMap<String, String>,
    /// Lowercase id -> `name (id)`, for users, groups, apps and roles.
    pub labels: BTreeMap<String, String>,
    /// The changes that make groups this plan names before they exist.
    pub promised: Vec<Address>,
}

impl Resolution {
    /// The id a configured user name resolved to, lowercase.
    pub fn user_id(&self, upn: &str) -> Option<String> {
        self.users
            .get(&upn.to_ascii_lowercase())
            .map(|id| id.to_ascii_lowercase())
    }

    /// The id a configured group name resolved to, lowercase.
    pub fn group_id(&self, name: &str) -> Option<String> {
        self.groups.get(name).map(|id| id.to_ascii_lowercase())
    }

    /// `name (id)` when the id is known, else the id itself.
    pub fn label_of(&self, id: &str) -> String {
        self.labels
            .get(&id.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

/// Every named user and group must exist, once, or be made by this plan (`promised`): never
/// send a policy with a hole in it.
pub fn resolve(
    policy: &DesiredPolicy,
    live: &LiveConditionalAccess,
    promised: &[Promise],
) -> Result<Resolution, PlanError> {
    let mut resolution = Resolution {
        groups: BTreeMap::new(),
        users: BTreeMap::new(),
        labels: BTreeMap::new(),
        promised: Vec::new(),
    };
    for (name, found) in &live.groups {
        let promise = promised
            .iter()
            .find(|p| p.object == "group" && p.display_name.eq_ignore_ascii_case(name));
        match (found.as_slice(), promise) {
            ([], Some(Promise { id: Some(id), .. })) => {
                resolution.groups.insert(name.clone(), id.clone());
                resolution
                    .labels
                    .insert(id.to_ascii_lowercase(), format!("{name} ({id})"));
            }
            ([], Some(promise)) => {
                let placeholder = promise.placeholder();
                resolution.labels.insert(
                    placeholder.to_ascii_lowercase(),
                    format!("{name} (made by this plan)"),
                );
                resolution.groups.insert(name.clone(), placeholder);
                resolution.promised.push(promise.address.clone());
            }
            ([], None) => {
                return Err(PlanError::GroupNotFound {
                    name: name.clone(),
                    policy: policy.display_name.clone(),
                })
            }
            ([group], _) => {
                resolution.groups.insert(name.clone(), group.id.clone());
                resolution.labels.insert(
                    group.id.to_ascii_lowercase(),
                    format!("{name} ({})", group.id),
                );
            }
            (several, _) => {
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
    for (id, name) in &live.role_names {
        resolution
            .labels
            .entry(id.clone())
            .or_insert_with(|| format!("{name} ({id})"));
    }
    Ok(resolution)
}

/// Graph's keywords for `includeUsers`, in the case Graph writes them.
const USER_KEYWORDS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];

/// The policy file with every placeholder filled from the config and `resolution`.
pub fn render(policy: &DesiredPolicy, resolution: &Resolution) -> Value {
    let pilot_users: Vec<Value> = policy
        .pilot_users
        .iter()
        .map(
            |u| match USER_KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(u)) {
                Some(keyword) => json!(keyword),
                None => json!(resolution
                    .users
                    .get(&u.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_default()),
            },
        )
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

/// `template` with every placeholder filled; a list placeholder expands in place.
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
                        .and_then(placeholder_name)
                        .map(|n| values.get(n))
                    {
                        Some(Some(Value::Array(list))) => list.clone(),
                        Some(Some(other)) => vec![other.clone()],
                        _ => vec![fill(item, values)],
                    }
                })
                .collect(),
        ),
        Value::String(s) => match placeholder_name(s).and_then(|name| values.get(name)) {
            Some(value) => value.clone(),
            None => template.clone(),
        },
        other => other.clone(),
    }
}

/// Ids shown with their names: `MFA-Test-Group (5f1c…)`.
pub fn label(value: &Value, labels: &BTreeMap<String, String>) -> Value {
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
