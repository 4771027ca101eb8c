//! The policy as Graph will hold it after our write, and how it differs from what Graph
//! holds now. The file describes the whole policy: a property the file leaves out is
//! cleared, because Graph merges a PATCH into the live object and would otherwise keep
//! whatever someone added by hand.

use serde_json::{json, Map, Value};

/// Properties Graph sets itself; never written, never drift.
const READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "modifiedDateTime",
    "deletedDateTime",
    "templateId",
];

/// Objects Graph completes when it stores them: an authentication strength comes back with
/// its name and combinations, a sign-in frequency with its defaults. Under these, what only
/// Graph holds is its own filling, not drift, and is never cleared.
const GRAPH_COMPLETES: &[&str] = &[
    "grantControls.authenticationStrength",
    "sessionControls.signInFrequency",
    "sessionControls.persistentBrowser",
    "sessionControls.cloudAppSecurity",
    "sessionControls.applicationEnforcedRestrictions",
    "conditions.users.includeGuestsOrExternalUsers.externalTenants",
    "conditions.users.excludeGuestsOrExternalUsers.externalTenants",
];

/// Free text, compared exactly (everything else is an id or a keyword, compared without case).
const FREE_TEXT: &[&str] = &["displayName", "description"];

/// One property that differs: dotted path, what Graph holds, what it will hold.
pub type Difference = (String, Value, Value);

/// The writable part of a policy: read-only properties and `@odata` annotations dropped.
pub fn writable(policy: &Value) -> Value {
    fn annotations_dropped(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| !k.contains('@'))
                    .map(|(k, v)| (k.clone(), annotations_dropped(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let mut value = annotations_dropped(policy);
    if let Some(map) = value.as_object_mut() {
        for key in READ_ONLY {
            map.remove(*key);
        }
    }
    value
}

/// Graph's PATCH: objects merge member by member; anything else, lists included, replaces.
pub fn graph_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(existing), Value::Object(incoming)) => {
            for (key, value) in incoming {
                match existing.get_mut(key) {
                    Some(slot) if slot.is_object() && value.is_object() => graph_merge(slot, value),
                    _ => {
                        existing.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// The policy Graph will hold once `patch` is merged into `live`.
pub fn after_patch(live: &Value, patch: &Value) -> Value {
    let mut after = writable(live);
    graph_merge(&mut after, patch);
    after
}

/// The PATCH that makes `live` equal to `wanted`: each top-level property that differs,
/// sent whole, with what only `live` holds there cleared. `None` when nothing differs.
pub fn replacing_patch(wanted: &Value, live: &Value) -> Option<Value> {
    let live = writable(live);
    let mut patch = Map::new();
    for key in keys_of(wanted, &live) {
        let (want, have) = (wanted.get(&key), live.get(&key));
        let mut found = Vec::new();
        differences_at(
            want.unwrap_or(&Value::Null),
            have.unwrap_or(&Value::Null),
            &key,
            &mut found,
        );
        if !found.is_empty() {
            patch.insert(key.clone(), replacement(want, have, &key));
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// `want`, with every member `have` holds and `want` does not cleared, at every depth (but
/// not inside what Graph completes itself).
fn replacement(want: Option<&Value>, have: Option<&Value>, path: &str) -> Value {
    match (want, have) {
        (Some(Value::Object(want)), Some(Value::Object(have))) if !completed_by_graph(path) => {
            let mut out = want.clone();
            for (key, value) in have {
                if key.contains('@') {
                    continue;
                }
                let child = format!("{path}.{key}");
                let replaced = replacement(want.get(key), Some(value), &child);
                out.insert(key.clone(), replaced);
            }
            Value::Object(out)
        }
        (Some(want), _) => want.clone(),
        (None, Some(Value::Array(_))) => json!([]),
        (None, _) => Value::Null,
    }
}

/// Every difference between `wanted` and `live`, over the properties of either, normalised
/// like Graph's echo: null, absent, an empty list and an object of nothing are the same;
/// lists compare as sets; strings (ids, keywords) case-insensitively.
pub fn differences(wanted: &Value, live: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    differences_at(wanted, &writable(live), "", &mut out);
    out
}

fn differences_at(wanted: &Value, live: &Value, path: &str, out: &mut Vec<Difference>) {
    if is_nothing(wanted) && is_nothing(live) {
        return;
    }
    if wanted.is_object() || live.is_object() {
        if !(wanted.is_object() || is_nothing(wanted)) || !(live.is_object() || is_nothing(live)) {
            out.push((path.to_string(), live.clone(), wanted.clone()));
            return;
        }
        for key in keys_of(wanted, live) {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if wanted.get(&key).is_none() && completed_by_graph(path) && !is_nothing(wanted) {
                continue;
            }
            differences_at(
                wanted.get(&key).unwrap_or(&Value::Null),
                live.get(&key).unwrap_or(&Value::Null),
                &child,
                out,
            );
        }
        return;
    }
    if !same_leaf(wanted, live, FREE_TEXT.contains(&path)) {
        let after = match (wanted, live) {
            (Value::Null, Value::Array(_)) => json!([]),
            _ => wanted.clone(),
        };
        out.push((path.to_string(), live.clone(), after));
    }
}

/// Keys of either object, `wanted`'s first, then `live`'s own. Annotations (`@odata.type`)
/// are skipped on both sides: Graph does not echo them, and they are sent as the file has them.
fn keys_of(wanted: &Value, live: &Value) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for key in [wanted, live]
        .into_iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys())
    {
        if !key.contains('@') && !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}

/// Null, an empty list, or an object of nothing: what Graph echoes for "not set".
fn is_nothing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(is_nothing),
        _ => false,
    }
}

fn same_leaf(wanted: &Value, live: &Value, free_text: bool) -> bool {
    match (wanted, live) {
        (Value::Array(_), _) | (_, Value::Array(_)) => {
            normalised_list(wanted) == normalised_list(live)
        }
        (Value::String(w), Value::String(l)) if !free_text => w.eq_ignore_ascii_case(l),
        (w, l) => w == l,
    }
}

/// Whether `path` is an object Graph completes, whose extra members are its own.
fn completed_by_graph(path: &str) -> bool {
    GRAPH_COMPLETES.contains(&path)
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

/// Leaf values of `value`, by dotted path.
pub fn leaves(value: &Value, path: &str) -> Vec<(String, Value)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Value {
        json!({
            "id": "p1",
            "createdDateTime": "2026-01-01T00:00:00Z",
            "displayName": "MFA Pilot",
            "state": "enabled",
            "sessionControls": null,
            "conditions": {
                "clientAppTypes": ["all"],
                "userRiskLevels": [],
                "platforms": null,
                "applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"], "excludeApplications": []},
                "users": {
                    "includeGroups": ["g1"],
                    "includeUsers": [],
                    "includeRoles": ["62e90394-69f5-4237-9190-012177145e10"],
                    "excludeUsers": [],
                    "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}
                }
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "termsOfUse": [], "authenticationStrength@odata.context": "x", "authenticationStrength": null}
        })
    }

    fn wanted() -> Value {
        json!({
            "displayName": "MFA Pilot",
            "state": "enabled",
            "conditions": {
                "clientAppTypes": ["all"],
                "applications": {"includeApplications": ["797F4846-BA00-4FD7-BA43-DAC1F8F63013"]},
                "users": {"includeGroups": ["G1"], "includeUsers": [], "excludeUsers": ["ea1"]}
            },
            "grantControls": {"operator": "or", "builtInControls": ["mfa"]}
        })
    }

    #[test]
    fn hand_edits_outside_the_file_are_differences() {
        let names: Vec<String> = differences(&wanted(), &live())
            .into_iter()
            .map(|(path, _, _)| path)
            .collect();
        assert_eq!(
            names,
            [
                "conditions.users.excludeUsers",
                "conditions.users.includeRoles",
                "conditions.users.includeGuestsOrExternalUsers.guestOrExternalUserTypes"
            ]
        );
    }

    #[test]
    fn the_patch_leaves_graph_holding_exactly_the_file() {
        let patch = replacing_patch(&wanted(), &live()).unwrap();
        assert_eq!(
            patch.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["conditions"]
        );
        let after = after_patch(&live(), &patch);
        assert_eq!(differences(&wanted(), &after), Vec::<Difference>::new());
        assert_eq!(after["conditions"]["users"]["includeRoles"], json!([]));
        assert_eq!(
            after["conditions"]["users"]["includeGuestsOrExternalUsers"],
            Value::Null
        );
    }

    #[test]
    fn what_graph_completes_is_no_difference_and_is_never_cleared() {
        let mut wanted = wanted();
        wanted["grantControls"] = json!({"operator": "OR", "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}});
        wanted["sessionControls"] =
            json!({"signInFrequency": {"value": 8, "type": "hours", "isEnabled": true}});
        wanted["conditions"]["users"]["excludeUsers"] = json!([]);
        let mut live = live();
        live["conditions"]["users"]["includeRoles"] = json!([]);
        live["conditions"]["users"]["includeGuestsOrExternalUsers"] = Value::Null;
        live["grantControls"] = json!({"operator": "OR", "builtInControls": [],
            "authenticationStrength@odata.context": "x",
            "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication", "allowedCombinations": ["password,sms"]}});
        live["sessionControls"] = json!({"signInFrequency": {"value": 8, "type": "hours", "isEnabled": true,
            "authenticationType": "primaryAndSecondaryAuthentication", "frequencyInterval": "timeBased"}});
        assert_eq!(differences(&wanted, &live), Vec::<Difference>::new());

        // A hand-added strength, where the file has none, is drift and is cleared.
        wanted["grantControls"] = json!({"operator": "OR", "builtInControls": []});
        let patch = replacing_patch(&wanted, &live).unwrap();
        assert_eq!(
            patch["grantControls"]["authenticationStrength"],
            Value::Null
        );
    }

    #[test]
    fn annotations_in_the_file_are_sent_not_compared() {
        let mut wanted = wanted();
        wanted["conditions"]["users"]["excludeUsers"] = json!([]);
        wanted["conditions"]["users"]["includeGuestsOrExternalUsers"] = json!({
            "guestOrExternalUserTypes": "b2bCollaborationGuest",
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}
        });
        let mut live = live();
        live["conditions"]["users"]["includeRoles"] = json!([]);
        live["conditions"]["users"]["includeGuestsOrExternalUsers"] = json!({
            "guestOrExternalUserTypes": "b2bCollaborationGuest",
            "externalTenants": {"membershipKind": "all"}
        });
        assert_eq!(differences(&wanted, &live), Vec::<Difference>::new());
        live["conditions"]["users"]["includeGuestsOrExternalUsers"]["externalTenants"]
            ["membershipKind"] = json!("enumerated");
        let patch = replacing_patch(&wanted, &live).unwrap();
        assert_eq!(
            patch["conditions"]["users"]["includeGuestsOrExternalUsers"]["externalTenants"]
                ["@odata.type"],
            "#microsoft.graph.conditionalAccessAllExternalTenants"
        );
    }

    #[test]
    fn a_name_differing_only_in_case_is_a_difference_an_id_is_not() {
        let mut live = live();
        live["conditions"]["users"]["includeRoles"] = json!([]);
        live["conditions"]["users"]["includeGuestsOrExternalUsers"] = Value::Null;
        live["conditions"]["users"]["excludeUsers"] = json!(["EA1"]);
        live["displayName"] = json!("MFA pilot");
        let names: Vec<String> = differences(&wanted(), &live)
            .into_iter()
            .map(|(path, _, _)| path)
            .collect();
        assert_eq!(names, ["displayName"]);
    }

    #[test]
    fn what_graph_fills_in_itself_is_no_difference() {
        let mut live = live();
        live["conditions"]["users"]["includeRoles"] = json!([]);
        live["conditions"]["users"]["includeGuestsOrExternalUsers"] = Value::Null;
        live["conditions"]["users"]["excludeUsers"] = json!(["EA1"]);
        assert_eq!(differences(&wanted(), &live), Vec::<Difference>::new());
        assert_eq!(replacing_patch(&wanted(), &live), None);
    }
}

#[cfg(test)]
mod decision_tests {
    use super::*;

    /// What the file asks for.
    fn wanted() -> Value {
        json!({
            "displayName": "MFA Pilot",
            "state": "enabled",
            "conditions": {
                "clientAppTypes": ["all"],
                "applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]},
                "users": {"includeGroups": ["g1", "g2"], "excludeUsers": ["ea1"]}
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        })
    }

    /// The same policy as Graph echoes it: read-only properties, annotations, and nulls or
    /// empty lists for everything not set.
    fn live() -> Value {
        json!({
            "id": "p1",
            "templateId": null,
            "createdDateTime": "2026-01-01T00:00:00Z",
            "modifiedDateTime": "2026-02-01T00:00:00Z",
            "displayName": "MFA Pilot",
            "state": "enabled",
            "sessionControls": null,
            "conditions": {
                "clientAppTypes": ["all"],
                "userRiskLevels": [],
                "platforms": null,
                "applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"], "excludeApplications": []},
                "users": {"includeGroups": ["g1", "g2"], "includeUsers": [], "includeRoles": [], "excludeUsers": ["ea1"]}
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "termsOfUse": [],
                "authenticationStrength@odata.context": "x", "authenticationStrength": null}
        })
    }

    struct Row {
        name: &'static str,
        /// Changes the file (`wanted`) and the tenant (`live`) from the matching pair.
        change: fn(&mut Value, &mut Value),
        /// The paths that differ, in order.
        differences: &'static [&'static str],
        /// The top-level properties the PATCH sends.
        patched: &'static [&'static str],
    }

    const ROWS: &[Row] = &[
        Row {
            name: "identical: no change",
            change: |_, _| {},
            differences: &[],
            patched: &[],
        },
        Row {
            name: "the state differs",
            change: |_, live| live["state"] = json!("disabled"),
            differences: &["state"],
            patched: &["state"],
        },
        Row {
            name: "a condition list in another order: lists are sets, no change",
            change: |_, live| live["conditions"]["users"]["includeGroups"] = json!(["g2", "g1"]),
            differences: &[],
            patched: &[],
        },
        Row {
            name: "a repeated id in a list: a set, no change",
            change: |_, live| {
                live["conditions"]["users"]["includeGroups"] = json!(["g1", "g2", "g1"])
            },
            differences: &[],
            patched: &[],
        },
        Row {
            name: "an id in another case: ids compare without case, no change",
            change: |wanted, _| {
                wanted["conditions"]["applications"]["includeApplications"] =
                    json!(["797F4846-BA00-4FD7-BA43-DAC1F8F63013"])
            },
            differences: &[],
            patched: &[],
        },
        Row {
            name: "a list member differs",
            change: |_, live| live["conditions"]["users"]["includeGroups"] = json!(["g1", "g3"]),
            differences: &["conditions.users.includeGroups"],
            patched: &["conditions"],
        },
        Row {
            name: "the display name differs only in case: free text, a change",
            change: |_, live| live["displayName"] = json!("MFA pilot"),
            differences: &["displayName"],
            patched: &["displayName"],
        },
        Row {
            name: "a keyword in another case: no change",
            change: |wanted, _| wanted["grantControls"]["operator"] = json!("or"),
            differences: &[],
            patched: &[],
        },
        Row {
            name: "a sign-in frequency Graph completes with its defaults: no change",
            change: |wanted, live| {
                wanted["sessionControls"] =
                    json!({"signInFrequency": {"value": 8, "type": "hours", "isEnabled": true}});
                live["sessionControls"] = json!({"signInFrequency": {"value": 8, "type": "hours",
                    "isEnabled": true, "authenticationType": "primaryAndSecondaryAuthentication",
                    "frequencyInterval": "timeBased"}});
            },
            differences: &[],
            patched: &[],
        },
        Row {
            name: "a role added by hand, which the file leaves out, is drift",
            change: |_, live| {
                live["conditions"]["users"]["includeRoles"] =
                    json!(["62e90394-69f5-4237-9190-012177145e10"])
            },
            differences: &["conditions.users.includeRoles"],
            patched: &["conditions"],
        },
        Row {
            name: "a description set by hand is cleared",
            change: |_, live| live["description"] = json!("added in the portal"),
            differences: &["description"],
            patched: &["description"],
        },
        Row {
            name: "an authentication strength added by hand is drift",
            change: |_, live| {
                live["grantControls"]["authenticationStrength"] =
                    json!({"id": "00000000-0000-0000-0000-000000000002"})
            },
            differences: &["grantControls.authenticationStrength.id"],
            patched: &["grantControls"],
        },
    ];

    #[test]
    fn differences_and_the_patch() {
        let mut failures = Vec::new();
        for row in ROWS {
            let (mut wanted, mut live) = (wanted(), live());
            (row.change)(&mut wanted, &mut live);
            let found: Vec<String> = differences(&wanted, &live)
                .into_iter()
                .map(|(path, _, _)| path)
                .collect();
            let patch = replacing_patch(&wanted, &live);
            let patched: Vec<String> = patch
                .iter()
                .flat_map(|p| p.as_object().into_iter().flat_map(|m| m.keys().cloned()))
                .collect();
            // Whatever the patch, Graph holds exactly the file after it.
            let after = patch.as_ref().map(|p| after_patch(&live, p));
            let left = after.map(|a| differences(&wanted, &a)).unwrap_or_default();
            if found != row.differences || patched != row.patched || !left.is_empty() {
                failures.push(format!(
                    "{}: differences {found:?}, patched {patched:?}, left after the patch {left:?}",
                    row.name
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }
}
