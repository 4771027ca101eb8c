//! `/identity/conditionalAccess/policies`, with Entra's licence, security-defaults and
//! permission rules, and the echo Graph gives (empty collections and nulls filled in).

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{error, list_view, merge, need, Ctx, Key, Reply, Res, Segment};
use crate::state::Obj;

const MAX_POLICIES: usize = 195;
const ADMIN_ROLES: &[&str] = &[
    "Global Administrator",
    "Conditional Access Administrator",
    "Security Administrator",
];

fn access_denied(message: &str) -> Reply {
    error(403, "AccessDenied", message)
}

fn schema_mismatch() -> Reply {
    error(
        400,
        "BadRequest",
        "1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of ConditionalAccessPolicy type.",
    )
}

fn not_found(id: &str) -> Reply {
    error(
        404,
        "NotFound",
        format!("Policy with id '{id}' was not found."),
    )
}

pub fn route(
    ctx: &mut Ctx<'_>,
    method: &Method,
    key: Option<Key>,
    rest: &[Segment],
    body: &[u8],
) -> Res {
    if let Some(segment) = rest.first() {
        return Err(error(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{}'.", segment.name),
        ));
    }
    match (method.as_str(), key) {
        ("GET", None) => {
            require_read(ctx)?;
            let items = list_view(&ctx.tenant.conditional_access_policies, ctx.now);
            ctx.collection(
                "identity/conditionalAccess/policies",
                items,
                &["id", "displayName", "state"],
            )
        }
        ("GET", Some(Key::Id(id))) => {
            require_read(ctx)?;
            let data = ctx
                .tenant
                .conditional_access_policies
                .iter()
                .filter_map(|p| p.view(ctx.now, false))
                .find(|p| p.get("id").and_then(Value::as_str) == Some(id.as_str()))
                .cloned()
                .ok_or_else(|| not_found(&id))?;
            Ok(ctx.entity(200, "identity/conditionalAccess/policies", &data))
        }
        ("POST", None) => {
            let policy = checked_write(ctx, body)?;
            if ctx.tenant.conditional_access_policies.len() >= MAX_POLICIES {
                return Err(error(
                    400,
                    "BadRequest",
                    format!(
                        "A tenant can have at most {MAX_POLICIES} Conditional Access policies."
                    ),
                ));
            }
            let mut data = echo(&policy);
            requires_complete_policy(&data)?;
            data.insert("id".into(), json!(ctx.guid()));
            data.insert("createdDateTime".into(), json!(ctx.timestamp()));
            data.insert("modifiedDateTime".into(), Value::Null);
            data.insert("templateId".into(), Value::Null);
            ctx.tenant.conditional_access_policies.push(Obj::created(
                data.clone(),
                ctx.now,
                ctx.lag,
            ));
            ctx.wrote = true;
            Ok(ctx.entity(201, "identity/conditionalAccess/policies", &data))
        }
        ("PATCH", Some(Key::Id(id))) => {
            let patch = checked_write(ctx, body)?;
            let index = visible_index(ctx, &id)?;
            let obj = &mut ctx.tenant.conditional_access_policies[index];
            let mut after = obj.data.clone();
            if let Some(patch) = patch.as_object() {
                merge(&mut after, patch);
            }
            let mut after = echo(&Value::Object(after));
            for keep in ["id", "createdDateTime", "templateId"] {
                if let Some(value) = obj.data.get(keep) {
                    after.insert(keep.into(), value.clone());
                }
            }
            after.insert("modifiedDateTime".into(), json!(super::now_rfc3339()));
            requires_complete_policy(&after)?;
            obj.start_change(ctx.now, ctx.lag);
            obj.data = after;
            ctx.wrote = true;
            Ok(Reply::empty(204))
        }
        ("DELETE", Some(Key::Id(id))) => {
            // Deleting stays possible after the licence lapses.
            ctx.require(need::CA_DELETE).map_err(|_| {
                access_denied("You cannot perform the requested operation, required scopes are missing in the token.")
            })?;
            let index = visible_index(ctx, &id)?;
            ctx.tenant.conditional_access_policies.remove(index);
            ctx.wrote = true;
            Ok(Reply::empty(204))
        }
        _ => Err(error(
            405,
            "BadRequest",
            "The HTTP method is not allowed on this resource.",
        )),
    }
}

fn visible_index(ctx: &Ctx<'_>, id: &str) -> Result<usize, Reply> {
    super::find_visible(&ctx.tenant.conditional_access_policies, ctx.now, id)
        .map(|(index, _)| index)
        .ok_or_else(|| not_found(id))
}

fn require_read(ctx: &Ctx<'_>) -> Result<(), Reply> {
    ctx.require(need::POLICY_READ).map_err(|_| {
        access_denied(
            "You cannot perform the requested operation, required scopes are missing in the token.",
        )
    })
}

fn require_write_permission(ctx: &Ctx<'_>, policy: &Value) -> Result<(), Reply> {
    ctx.require(need::CA_WRITE).map_err(|_| {
        access_denied(
            "You cannot perform the requested operation, required scopes are missing in the token.",
        )
    })?;
    let names_apps = ["includeApplications", "excludeApplications"]
        .iter()
        .any(|k| {
            policy
                .pointer(&format!("/conditions/applications/{k}"))
                .and_then(Value::as_array)
                .is_some_and(|apps| {
                    apps.iter()
                        .filter_map(Value::as_str)
                        .any(|a| uuid::Uuid::parse_str(a).is_ok())
                })
        });
    if names_apps && !ctx.holds("Application.Read.All") {
        return Err(access_denied(
            "Insufficient privileges to create or update policy. Application.Read.All scope is required to add/edit application condition.",
        ));
    }
    if ctx.caller.is_delegated() {
        let roles = ctx
            .tenant
            .users
            .iter()
            .find(|u| u.id() == ctx.caller.object_id)
            .map(|u| u.hidden.directory_roles.clone())
            .unwrap_or_default();
        if !roles.iter().any(|r| ADMIN_ROLES.contains(&r.as_str())) {
            return Err(access_denied(
                "The signed-in user needs the Conditional Access Administrator, Security Administrator or Global Administrator role.",
            ));
        }
    }
    Ok(())
}

/// Licence, security defaults, permissions and schema, in the order Entra checks them.
fn checked_write(ctx: &Ctx<'_>, body: &[u8]) -> Result<Value, Reply> {
    let policy: Value = serde_json::from_slice(body).map_err(|_| schema_mismatch())?;
    if !policy.is_object() || crate::schema::check("conditionalAccessPolicy", &policy).is_err() {
        return Err(schema_mismatch());
    }
    if !ctx.tenant.p1_licence {
        return Err(access_denied(
            "This tenant does not have a Microsoft Entra ID P1 or P2 license; Conditional Access policies cannot be created or updated.",
        ));
    }
    require_write_permission(ctx, &policy)?;
    if ctx.tenant.security_defaults {
        return Err(error(
            400,
            "BadRequest",
            "Security Defaults is enabled in the tenant. You must disable Security defaults before enabling a Conditional Access policy.",
        ));
    }
    Ok(policy)
}

fn requires_complete_policy(policy: &Map<String, Value>) -> Result<(), Reply> {
    let value = Value::Object(policy.clone());
    let has = |pointer: &str| value.pointer(pointer).is_some_and(|v| !v.is_null());
    let has_users = ["includeUsers", "includeGroups", "includeRoles"]
        .iter()
        .any(|k| {
            value
                .pointer(&format!("/conditions/users/{k}"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        });
    let has_apps = value
        .pointer("/conditions/applications/includeApplications")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
        || value
            .pointer("/conditions/applications/includeUserActions")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    let has_controls = has("/grantControls") || has("/sessionControls");
    if !has("/displayName") || !has("/state") || !has_users || !has_apps || !has_controls {
        return Err(schema_mismatch());
    }
    Ok(())
}

/// The policy as Graph stores and echoes it: every collection present, absent objects null.
fn echo(policy: &Value) -> Map<String, Value> {
    let mut data = crate::state::object(json!({
        "id": null,
        "templateId": null,
        "displayName": null,
        "createdDateTime": null,
        "modifiedDateTime": null,
        "state": null,
        "sessionControls": null,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": [],
            "servicePrincipalRiskLevels": [],
            "insiderRiskLevels": null,
            "platforms": null,
            "locations": null,
            "devices": null,
            "clientApplications": null,
            "authenticationFlows": null,
            "applications": {
                "includeApplications": [],
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": null
            },
            "users": {
                "includeUsers": [],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": null,
                "excludeGuestsOrExternalUsers": null
            }
        },
        "grantControls": null,
    }));
    if let Some(object) = policy.as_object() {
        merge(&mut data, object);
    }
    if let Some(grant) = data.get_mut("grantControls").and_then(Value::as_object_mut) {
        for (key, default) in [
            ("customAuthenticationFactors", json!([])),
            ("termsOfUse", json!([])),
            ("authenticationStrength", Value::Null),
        ] {
            grant.entry(key).or_insert(default);
        }
        if let Some(strength) = grant
            .get_mut("authenticationStrength")
            .and_then(Value::as_object_mut)
        {
            complete_strength(strength);
        }
    }
    if let Some(frequency) = data
        .get_mut("sessionControls")
        .and_then(|s| s.get_mut("signInFrequency"))
        .and_then(Value::as_object_mut)
    {
        // Graph fills the defaults of a sign-in frequency it stores.
        frequency
            .entry("authenticationType")
            .or_insert(json!("primaryAndSecondaryAuthentication"));
        frequency
            .entry("frequencyInterval")
            .or_insert(json!("timeBased"));
    }
    data
}

/// The built-in authentication strengths: id, name, what satisfies them.
const BUILT_IN_STRENGTHS: &[(&str, &str, &[&str])] = &[
    (
        "00000000-0000-0000-0000-000000000002",
        "Multifactor authentication",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        "Passwordless MFA",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        "Phishing-resistant MFA",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
        ],
    ),
];

/// A strength referred to by id comes back whole, as Graph expands it.
fn complete_strength(strength: &mut Map<String, Value>) {
    let id = strength
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some((_, name, combinations)) = BUILT_IN_STRENGTHS.iter().find(|(i, _, _)| *i == id) else {
        return;
    };
    for (key, value) in [
        ("displayName", json!(name)),
        (
            "description",
            json!(format!("Combinations of methods that satisfy {name}")),
        ),
        ("policyType", json!("builtIn")),
        ("requirementsSatisfied", json!("mfa")),
        ("allowedCombinations", json!(combinations)),
        ("createdDateTime", json!("2021-12-01T08:00:00Z")),
        ("modifiedDateTime", json!("2021-12-01T08:00:00Z")),
    ] {
        strength.entry(key).or_insert(value);
    }
}
