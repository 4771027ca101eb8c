//! Objects a plan will make, that other kinds may name before they exist: a Conditional
//! Access policy naming a pilot group this run creates. The change that names one carries a
//! placeholder and depends on the maker; apply fills in the id the maker learned.

use std::collections::HashMap;

use serde_json::Value;

use super::{Address, ApplyError};

/// An object this plan will make, or give this display name: what it is (`group`), its
/// display name, and the change that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    pub object: &'static str,
    pub display_name: String,
    pub address: Address,
    /// The object's id when it exists already under another name (a rename): other kinds
    /// name it by that id, and need not wait.
    pub id: Option<String>,
}

const OPEN: &str = "(id of ";

impl Promise {
    /// The text that stands for the object's id until it exists.
    pub fn placeholder(&self) -> String {
        format!("{OPEN}{})", self.address)
    }
}

/// `value` with every placeholder replaced by the learned id of its address; a placeholder
/// whose object was not made is an error, never sent to Graph.
pub fn fill(value: &Value, learned: &HashMap<Address, String>) -> Result<Value, ApplyError> {
    Ok(match value {
        Value::String(text) => match text.strip_prefix(OPEN).and_then(|t| t.strip_suffix(')')) {
            Some(address) => Value::String(
                learned
                    .iter()
                    .find(|(a, _)| a.to_string().eq_ignore_ascii_case(address))
                    .map(|(_, id)| id.clone())
                    .ok_or(ApplyError::Missing("the id of an object this plan makes"))?,
            ),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill(item, learned))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, learned)?)))
                .collect::<Result<_, ApplyError>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_from_learned_ids_and_a_missing_one_is_an_error() {
        let promise = Promise {
            object: "group",
            display_name: "MFA-Test-Group".into(),
            address: Address::new("group", "mfa-test-group"),
            id: None,
        };
        let body =
            json!({"conditions": {"users": {"includeGroups": [promise.placeholder(), "kept"]}}});
        let mut learned = HashMap::new();
        assert!(fill(&body, &learned).is_err());
        learned.insert(promise.address.clone(), "g-1".to_string());
        assert_eq!(
            fill(&body, &learned).unwrap(),
            json!({"conditions": {"users": {"includeGroups": ["g-1", "kept"]}}})
        );
    }
}
