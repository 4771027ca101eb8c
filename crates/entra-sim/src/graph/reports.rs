//! `reports/authenticationMethods/userRegistrationDetails`: each enabled user's MFA and
//! self-service password reset registration, as the authentication methods report gives it.

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{error, need, not_found, Ctx, Key, Res, Segment};
use crate::state::Obj;

const SET: &str = "reports/authenticationMethods/userRegistrationDetails";

/// Directory roles a signed-in caller needs to read the report (Global Administrator can do
/// everything the others can).
const REPORT_ROLES: &[&str] = &[
    "Reports Reader",
    "Security Reader",
    "Security Administrator",
    "Global Reader",
    "Global Administrator",
];

/// Properties the report filters on (userRegistrationDetails resource, `Supports $filter`).
const FILTERABLE: &[&str] = &[
    "id",
    "isAdmin",
    "isMfaCapable",
    "isMfaRegistered",
    "isPasswordlessCapable",
    "isSsprCapable",
    "isSsprEnabled",
    "isSsprRegistered",
    "isSystemPreferredAuthenticationMethodEnabled",
    "methodsRegistered",
    "systemPreferredAuthenticationMethods",
    "userDisplayName",
    "userPreferredMethodForSecondaryAuthentication",
    "userPrincipalName",
    "userType",
];

pub fn route(ctx: &mut Ctx<'_>, method: &Method, key: Option<Key>, rest: &[Segment]) -> Res {
    super::get_only(method, rest)?;
    authorize(ctx)?;
    let updated = ctx.timestamp();
    let list = key.is_none();
    let mut rows = ctx
        .tenant
        .users
        .iter()
        .filter_map(|u| u.view(ctx.now, list).map(|view| (u, view)))
        // The report leaves disabled accounts out.
        .filter(|(_, view)| view.get("accountEnabled") != Some(&Value::Bool(false)))
        .map(|(user, view)| row(user, view, &updated));
    match key {
        None => ctx.collection(SET, rows.collect(), FILTERABLE),
        Some(key) => {
            let id = key.describe();
            let row = rows
                .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| not_found(id))?;
            Ok(ctx.entity(200, SET, &row))
        }
    }
}

/// AuditLog.Read.All, a premium tenant, and for a signed-in caller a reporting role, checked
/// in that order.
fn authorize(ctx: &Ctx<'_>) -> Result<(), super::Reply> {
    ctx.require(need::REGISTRATION_REPORT_READ)?;
    if !ctx.tenant.p1_licence {
        return Err(error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        ));
    }
    if ctx.caller.is_delegated() {
        let caller = ctx
            .tenant
            .users
            .iter()
            .find(|u| u.id() == ctx.caller.object_id);
        let allowed = caller.is_some_and(|u| {
            u.hidden
                .directory_roles
                .iter()
                .any(|r| REPORT_ROLES.contains(&r.as_str()))
        });
        if !allowed {
            return Err(error(
                403,
                "Authentication_RequestFromUnsupportedUserRole",
                "User is not in the allowed roles",
            ));
        }
    }
    Ok(())
}

/// One user's registration: the simulator knows only whether Microsoft Authenticator push is
/// registered; self-service password reset is off by policy.
fn row(user: &Obj, view: &Map<String, Value>, updated: &str) -> Map<String, Value> {
    let mfa = user.hidden.mfa_registered;
    let field = |key: &str| view.get(key).cloned().unwrap_or(Value::Null);
    crate::state::object(json!({
        "id": field("id"),
        "userPrincipalName": field("userPrincipalName"),
        "userDisplayName": field("displayName"),
        "userType": "member",
        "isAdmin": !user.hidden.directory_roles.is_empty(),
        "isSsprRegistered": mfa,
        "isSsprEnabled": false,
        "isSsprCapable": false,
        "isMfaRegistered": mfa,
        "isMfaCapable": mfa,
        "isPasswordlessCapable": false,
        "lastUpdatedDateTime": updated,
        "methodsRegistered": if mfa { json!(["microsoftAuthenticatorPush"]) } else { json!([]) },
        "isSystemPreferredAuthenticationMethodEnabled": true,
        "systemPreferredAuthenticationMethods": if mfa { json!(["push"]) } else { json!([]) },
        "userPreferredMethodForSecondaryAuthentication": if mfa { "push" } else { "none" },
    }))
}
