//! Request bodies checked against Graph's v1.0 schema (`data/schemas.json`, derived from
//! Graph's CSDL), so the simulator
//! refuses what Graph refuses: unknown properties, wrong types, unknown enum members.

use std::sync::OnceLock;

use serde_json::Value;

static SCHEMAS: OnceLock<Value> = OnceLock::new();

fn schemas() -> &'static Value {
    SCHEMAS.get_or_init(|| {
        serde_json::from_str(include_str!("data/schemas.json")).unwrap_or(Value::Null)
    })
}

/// A body that does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaProblem {
    UnknownProperty { property: String, type_name: String },
    InvalidValue { property: String, type_name: String },
}

/// Checks `value` against `microsoft.graph.{type_name}`.
pub fn check(type_name: &str, value: &Value) -> Result<(), SchemaProblem> {
    check_type(&format!("microsoft.graph.{type_name}"), value)
}

fn check_type(full_name: &str, value: &Value) -> Result<(), SchemaProblem> {
    let Some(schema) = schemas().get(full_name) else {
        return Ok(()); // types outside the copied closure are not checked
    };
    let short = full_name.trim_start_matches("microsoft.graph.").to_string();
    if let Some(members) = schema.get("enum").and_then(Value::as_array) {
        let ok = value.is_null() || members.iter().any(|m| m == value);
        return if ok {
            Ok(())
        } else {
            Err(SchemaProblem::InvalidValue {
                property: String::new(),
                type_name: short,
            })
        };
    }
    let Some(object) = value.as_object() else {
        return if value.is_null() {
            Ok(())
        } else {
            Err(SchemaProblem::InvalidValue {
                property: String::new(),
                type_name: short,
            })
        };
    };
    for (property, child) in object {
        if property.starts_with('@') || property.starts_with("extension_") {
            continue;
        }
        let Some(definition) = property_definition(full_name, property) else {
            return Err(SchemaProblem::UnknownProperty {
                property: property.clone(),
                type_name: short,
            });
        };
        check_property(definition, child).map_err(|problem| match problem {
            SchemaProblem::InvalidValue {
                property: inner, ..
            } if inner.is_empty() => SchemaProblem::InvalidValue {
                property: property.clone(),
                type_name: short.clone(),
            },
            other => other,
        })?;
    }
    Ok(())
}

fn check_property(definition: &Value, value: &Value) -> Result<(), SchemaProblem> {
    if value.is_null() {
        return Ok(());
    }
    let invalid = || SchemaProblem::InvalidValue {
        property: String::new(),
        type_name: String::new(),
    };
    if let Some(reference) = definition.get("$ref").and_then(Value::as_str) {
        return check_type(reference, value);
    }
    match definition.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = value.as_array().ok_or_else(invalid)?;
            let item_definition = definition.get("items").cloned().unwrap_or(Value::Null);
            for item in items {
                check_property(&item_definition, item)?;
            }
            Ok(())
        }
        Some("string") => value.is_string().then_some(()).ok_or_else(invalid),
        Some("boolean") => value.is_boolean().then_some(()).ok_or_else(invalid),
        Some("integer") | Some("number") => value.is_number().then_some(()).ok_or_else(invalid),
        _ => Ok(()),
    }
}

/// A property's definition on a type or its base types.
fn property_definition(full_name: &str, property: &str) -> Option<&'static Value> {
    let mut current = schemas().get(full_name);
    while let Some(schema) = current {
        // Navigation properties (authenticationStrength, ...) may be echoed back too.
        for kind in ["properties", "navigationProperties"] {
            if let Some(definition) = schema.get(kind).and_then(|p| p.get(property)) {
                return Some(definition);
            }
        }
        current = schema
            .get("baseType")
            .and_then(Value::as_str)
            .and_then(|base| schemas().get(base));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_bodies_pass() {
        let app = json!({"displayName": "x", "web": {"redirectUris": ["https://a"]},
            "api": {"oauth2PermissionScopes": [{"id": "6d1a0e6c-0000-4000-8000-000000000000", "value": "s", "type": "Admin", "isEnabled": true}]},
            "requiredResourceAccess": [{"resourceAppId": "r", "resourceAccess": [{"id": "x", "type": "Scope"}]}]});
        assert_eq!(check("application", &app), Ok(()));
        let policy = json!({"displayName": "MFA Pilot", "state": "enabledForReportingButNotEnforced",
            "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["a"]}, "users": {"includeGroups": ["g"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
        assert_eq!(check("conditionalAccessPolicy", &policy), Ok(()));
    }

    #[test]
    fn unknown_properties_are_named() {
        assert_eq!(
            check("application", &json!({"displayName": "x", "colour": "red"})),
            Err(SchemaProblem::UnknownProperty {
                property: "colour".into(),
                type_name: "application".into()
            })
        );
        assert_eq!(
            check("application", &json!({"web": {"redirectUri": []}})),
            Err(SchemaProblem::UnknownProperty {
                property: "redirectUri".into(),
                type_name: "webApplication".into()
            })
        );
    }

    #[test]
    fn wrong_types_and_enum_members_are_invalid() {
        assert!(matches!(
            check("application", &json!({"identifierUris": "api://x"})),
            Err(SchemaProblem::InvalidValue { property, .. }) if property == "identifierUris"
        ));
        assert!(check("conditionalAccessPolicy", &json!({"state": "on"})).is_err());
    }
}
