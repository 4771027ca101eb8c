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

/// A problem in a policy file, located by JSON pointer and line/column (`None` when the
/// pointer cannot be found in the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub pointer: String,
    pub at: Option<LineColumn>,
    pub message: String,
}

/// Parses and checks a policy template.
pub fn check(text: &str) -> Result<Value, Vec<PolicyProblem>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![PolicyProblem {
            pointer: String::new(),
            at: (e.line() >= 1).then(|| LineColumn {
                line: e.line(),
                column: e.column().max(1),
            }),
            message: format!("not valid JSON: {}", without_position(&e)),
        }]
    })?;
    let mut problems = Vec::new();
    match value.as_object() {
        None => problems.push(PolicyProblem {
            pointer: String::new(),
            at: locate_value(text, ""),
            message: "a policy must be a JSON object (a Graph conditionalAccessPolicy)".into(),
        }),
        Some(object) => {
            for key in READ_ONLY.iter().filter(|k| object.contains_key(**k)) {
                problems.push(PolicyProblem {
                    pointer: format!("/{key}"),
                    at: locate_key(text, &format!("/{key}")),
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
                        at: locate_value(text, nearest_present(&value, required)),
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
                    at: locate_value(text, ""),
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
                    at: locate_value(text, pointer),
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

/// The longest prefix of `pointer` that is present in `value`: a missing property is
/// reported at the object that should hold it.
fn nearest_present<'p>(value: &Value, pointer: &'p str) -> &'p str {
    let mut present = pointer;
    while value.pointer(present).is_none() {
        match present.rfind('/') {
            Some(cut) => present = &present[..cut],
            None => return "",
        }
    }
    present
}

/// Where the value at JSON `pointer` starts in `text`.
fn locate_value(text: &str, pointer: &str) -> Option<LineColumn> {
    let (_, value) = find_pointer(text, pointer)?;
    Some(LineColumn::of_offset(text, value))
}

/// Where the key of the property at JSON `pointer` starts in `text` (its value's start for
/// an array item or the root).
fn locate_key(text: &str, pointer: &str) -> Option<LineColumn> {
    let (key, value) = find_pointer(text, pointer)?;
    Some(LineColumn::of_offset(text, key.unwrap_or(value)))
}

/// The byte offsets of the key (for an object property) and of the value at JSON `pointer`
/// in `text`, found by walking the text along the pointer's keys and indices (serde_json
/// keeps no spans, and searching for the value's text would find its first occurrence, not
/// necessarily this one). A repeated key is found at its last occurrence, the one
/// serde_json keeps. `None` when the text does not hold the pointer.
pub fn find_pointer(text: &str, pointer: &str) -> Option<(Option<usize>, usize)> {
    let mut scan = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    scan.whitespace();
    let mut found = (None, scan.at);
    if pointer.is_empty() {
        return Some(found);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        scan.at = found.1;
        found = match scan.peek()? {
            b'{' => {
                scan.at += 1;
                let mut hit = None;
                loop {
                    scan.whitespace();
                    match scan.peek()? {
                        b'}' => break,
                        b',' => scan.at += 1,
                        b'"' => {
                            let key_at = scan.at;
                            let key = scan.string()?;
                            scan.whitespace();
                            if scan.peek()? != b':' {
                                return None;
                            }
                            scan.at += 1;
                            scan.whitespace();
                            if key == token {
                                hit = Some((Some(key_at), scan.at));
                            }
                            scan.skip_value()?;
                        }
                        _ => return None,
                    }
                }
                hit?
            }
            b'[' => {
                let wanted: usize = token.parse().ok()?;
                scan.at += 1;
                let mut index = 0;
                loop {
                    scan.whitespace();
                    match scan.peek()? {
                        b']' => return None,
                        b',' => scan.at += 1,
                        _ if index == wanted => break (None, scan.at),
                        _ => {
                            scan.skip_value()?;
                            index += 1;
                        }
                    }
                }
            }
            _ => return None,
        };
    }
    Some(found)
}

/// A forward-only reader over JSON text that serde_json has already accepted.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips the string starting here and returns its offset range.
    fn skip_string(&mut self) -> Option<std::ops::Range<usize>> {
        let start = self.at;
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(start..self.at);
                }
                _ => self.at += 1,
            }
        }
    }

    /// Reads the string starting here, escapes decoded.
    fn string(&mut self) -> Option<String> {
        let range = self.skip_string()?;
        serde_json::from_str(self.text.get(range)?).ok()
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.skip_string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                    self.at += 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
            }
        }
        Some(())
    }
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
            Some(LineColumn {
                line: 3,
                column: 65
            })
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

    #[test]
    fn a_repeated_bad_value_is_located_at_each_occurrence() {
        // The same bad placeholder twice, and "id" as a value before the "id" key: a search
        // for the first occurrence would put all three problems on line 2.
        let text = "{\n \"displayName\": \"${pilot_group}\", \"description\": \"id\",\n \"state\": \"disabled\", \"conditions\": {\"applications\": {}, \"users\": {\"includeGroups\": [\"${pilot_group}\"]}},\n \"grantControls\": {},\n \"id\": \"x\"\n}";
        let at: Vec<(String, Option<LineColumn>)> = check(text)
            .unwrap_err()
            .into_iter()
            .map(|p| (p.pointer, p.at))
            .collect();
        let lc = |line, column| Some(LineColumn { line, column });
        assert!(at.contains(&("/id".to_string(), lc(5, 2))), "{at:?}");
        assert!(
            at.contains(&("/displayName".to_string(), lc(2, 17))),
            "{at:?}"
        );
        assert!(
            at.contains(&("/conditions/users/includeGroups/0".to_string(), lc(3, 86))),
            "{at:?}"
        );
    }

    #[test]
    fn a_missing_property_points_at_the_object_that_should_hold_it() {
        let text = "{\"displayName\": \"x\", \"state\": \"disabled\",\n \"conditions\": {\"applications\": {}}, \"grantControls\": {}}";
        let problems = check(text).unwrap_err();
        assert_eq!(problems[0].pointer, "/conditions/users");
        assert_eq!(
            problems[0].at,
            Some(LineColumn {
                line: 2,
                column: 16
            })
        );
    }

    #[test]
    fn pointers_walk_escapes_nesting_and_repeated_keys() {
        let text = r#"{"a/b": [1, {"x": "]"}, [2]], "k": 1, "k": {"~": "v"}}"#;
        let value_at = |p| find_pointer(text, p).map(|(_, v)| &text[v..v + 3]);
        assert_eq!(value_at("/a~1b/2"), Some("[2]"));
        assert_eq!(value_at("/a~1b/1/x"), Some("\"]\""));
        assert_eq!(value_at("/k/~0"), Some("\"v\""));
        assert_eq!(value_at("/a~1b/3"), None);
        assert_eq!(value_at("/missing"), None);
    }
}
