//! Conditional Access policy templates: Graph's policy JSON with `${placeholders}` that the
//! plan fills with ids resolved in the tenant. Checked here, before any network call.

use serde_json::Value;

use super::location::LineColumn;

/// The policy shipped inside the binary when a config names no policy file.
pub const BUILTIN_MFA_PILOT: (&str, &str) =
    ("mfa-pilot", include_str!("../../policies/mfa-pilot.json"));

/// Placeholders that stand for a list and expand in place inside an array.
pub const LIST_PLACEHOLDERS: &[&str] = &[
    "pilot_groups",
    "pilot_users",
    "emergency_access_users",
    "emergency_access_groups",
    "target_apps",
    "grant_controls",
];

/// Placeholders that stand for one string value.
pub const SCALAR_PLACEHOLDERS: &[&str] = &["display_name", "state", "grant_operator"];

/// Properties Graph sets itself; a policy exported from a tenant carries them.
const READ_ONLY: &[&str] = &["id", "createdDateTime", "modifiedDateTime", "templateId"];

/// A problem in a policy file, located by JSON pointer and line/column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub pointer: String,
    pub at: LineColumn,
    pub message: String,
}

/// Parses and checks a policy template.
pub fn check(text: &str) -> Result<Value, Vec<PolicyProblem>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![PolicyProblem {
            pointer: String::new(),
            at: LineColumn {
                line: e.line(),
                column: e.column().max(1),
            },
            message: format!("not valid JSON: {}", without_position(&e)),
        }]
    })?;
    let mut problems = Vec::new();
    let start = LineColumn { line: 1, column: 1 };
    match value.as_object() {
        None => problems.push(PolicyProblem {
            pointer: String::new(),
            at: start,
            message: "a policy must be a JSON object (a Graph conditionalAccessPolicy)".into(),
        }),
        Some(object) => {
            for key in READ_ONLY.iter().filter(|k| object.contains_key(**k)) {
                problems.push(PolicyProblem {
                    pointer: format!("/{key}"),
                    at: locate(text, &format!("\"{key}\"")),
                    message: format!("`{key}` is set by Graph and cannot be written; remove it"),
                });
            }
            for required in [
                "/displayName",
                "/state",
                "/conditions/applications",
                "/conditions/users",
            ] {
                if value.pointer(required).is_none() {
                    problems.push(PolicyProblem {
                        pointer: required.into(),
                        at: start,
                        message: format!(
                            "a policy needs `{required}` (Graph rejects a policy without it)"
                        ),
                    });
                }
            }
            if value.pointer("/grantControls").is_none()
                && value.pointer("/sessionControls").is_none()
            {
                problems.push(PolicyProblem {
                    pointer: "/grantControls".into(),
                    at: start,
                    message: "a policy needs `grantControls` or `sessionControls`".into(),
                });
            }
        }
    }
    check_placeholders(&value, "", false, text, &mut problems);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// The placeholder a string stands for, if it is one: `${name}` -> `name`.
pub fn placeholder_name(s: &str) -> Option<&str> {
    s.strip_prefix("${")?.strip_suffix('}')
}

fn check_placeholders(
    value: &Value,
    pointer: &str,
    in_array: bool,
    text: &str,
    problems: &mut Vec<PolicyProblem>,
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_pointer =
                    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                check_placeholders(child, &child_pointer, false, text, problems);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_placeholders(child, &format!("{pointer}/{i}"), true, text, problems);
            }
        }
        Value::String(s) => {
            if let Some(message) = placeholder_problem(s, in_array) {
                problems.push(PolicyProblem {
                    pointer: pointer.to_string(),
                    at: locate(text, &serde_json::to_string(s).unwrap_or_default()),
                    message,
                });
            }
        }
        _ => {}
    }
}

fn placeholder_problem(s: &str, in_array: bool) -> Option<String> {
    let Some(name) = placeholder_name(s) else {
        return s.contains("${").then(|| {
            format!("`{s}`: a placeholder must be the whole string, like \"${{pilot_groups}}\"")
        });
    };
    if LIST_PLACEHOLDERS.contains(&name) {
        (!in_array)
            .then(|| format!("`${{{name}}}` is a list; put it inside an array: [\"${{{name}}}\"]"))
    } else if SCALAR_PLACEHOLDERS.contains(&name) {
        in_array.then(|| {
            format!("`${{{name}}}` is a single value; use it as a string, not inside an array")
        })
    } else {
        let known: Vec<String> = SCALAR_PLACEHOLDERS
            .iter()
            .chain(LIST_PLACEHOLDERS)
            .map(|p| format!("${{{p}}}"))
            .collect();
        Some(format!(
            "unknown placeholder `${{{name}}}`; known: {}",
            known.join(", ")
        ))
    }
}

/// Where `needle` first appears in `text`, or the start of the file.
fn locate(text: &str, needle: &str) -> LineColumn {
    text.find(needle)
        .map_or(LineColumn { line: 1, column: 1 }, |offset| {
            LineColumn::of_offset(text, offset)
        })
}

/// serde_json's message without its trailing " at line L column C" (we print our own).
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_policy_is_valid() {
        let value = check(BUILTIN_MFA_PILOT.1).unwrap();
        assert_eq!(
            value["grantControls"]["builtInControls"][0],
            "${grant_controls}"
        );
    }

    #[test]
    fn unknown_placeholders_are_located() {
        let text = "{\n \"displayName\": \"${display_name}\", \"state\": \"${state}\",\n \"conditions\": {\"applications\": {}, \"users\": {\"includeGroups\": [\"${pilot_group}\"]}},\n \"grantControls\": {}\n}";
        let problems = check(text).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pointer, "/conditions/users/includeGroups/0");
        assert_eq!(
            problems[0].at,
            LineColumn {
                line: 3,
                column: 65
            }
        );
        assert!(problems[0]
            .message
            .starts_with("unknown placeholder `${pilot_group}`; known: ${display_name}"));
    }

    #[test]
    fn list_placeholders_must_sit_in_arrays() {
        let text = r#"{"displayName": "x", "state": "${pilot_users}", "conditions": {"applications": {}, "users": {}}, "grantControls": {"builtInControls": ["${state}"]}}"#;
        let messages: Vec<String> = check(text)
            .unwrap_err()
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(
            messages,
            vec![
                "`${grant_controls}` is a list; put it inside an array: [\"${grant_controls}\"]"
                    .replace("grant_controls", "pilot_users"),
                "`${state}` is a single value; use it as a string, not inside an array".to_string(),
            ]
        );
    }

    #[test]
    fn read_only_properties_are_refused() {
        let text = r#"{"id": "abc", "displayName": "x", "state": "disabled", "conditions": {"applications": {}, "users": {}}, "grantControls": {}}"#;
        let problems = check(text).unwrap_err();
        assert_eq!(
            problems[0].message,
            "`id` is set by Graph and cannot be written; remove it"
        );
    }
}
