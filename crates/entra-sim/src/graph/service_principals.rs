//! `/servicePrincipals`: create, upsert by `appId`, read, list, update, delete, and app role
//! assignments (`appRoleAssignedTo` on the resource, `appRoleAssignments` on the client).

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{
    bad_request, error, error_with_detail, list_view, merge, need, not_found, Ctx, Key, Reply, Res,
    Segment,
};
use crate::state::Obj;

const FILTERABLE: &[&str] = &["id", "appId", "displayName", "servicePrincipalType", "tags"];

pub fn route(
    ctx: &mut Ctx<'_>,
    method: &Method,
    key: Option<Key>,
    rest: &[Segment],
    body: &[u8],
) -> Res {
    let relation = rest.first().map(|s| s.name.as_str());
    let related_id = rest.get(1).map(|s| s.name.clone());
    match (method.as_str(), key, relation, related_id) {
        ("GET", None, None, None) => {
            ctx.require(need::APP_READ)?;
            let items = list_view(&ctx.tenant.service_principals, ctx.now);
            ctx.collection("servicePrincipals", items, FILTERABLE)
        }
        ("POST", None, None, None) => {
            ctx.require(need::SP_WRITE)?;
            let body = ctx.body(body, "servicePrincipal")?;
            let app_id = body
                .get("appId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if app_id.is_empty() {
                return Err(bad_request(
                    "Invalid value specified for property 'appId' of resource 'ServicePrincipal'.",
                ));
            }
            if ctx.tenant.service_principals.iter().any(|sp| {
                sp.str("appId")
                    .is_some_and(|a| a.eq_ignore_ascii_case(&app_id))
            }) {
                return Err(error(
                    409,
                    "Request_MultipleObjectsWithSameKeyValue",
                    "Another object with the same value for property servicePrincipalNames already exists.",
                ));
            }
            let data = create(ctx, &app_id, &body)?;
            Ok(ctx.entity(201, "servicePrincipals", &data))
        }
        ("GET", Some(key), None, None) => {
            ctx.require(need::APP_READ)?;
            let index = visible_index(ctx, &key)?;
            let data = ctx.tenant.service_principals[index]
                .view(ctx.now, false)
                .cloned()
                .unwrap_or_default();
            Ok(ctx.entity(200, "servicePrincipals", &data))
        }
        ("PATCH", Some(Key::Alternate(property, app_id)), None, None) if property == "appId" => {
            upsert(ctx, &app_id, body)
        }
        ("PATCH", Some(key), None, None) => {
            let index = visible_index(ctx, &key)?;
            update(ctx, index, body)?;
            Ok(Reply::empty(204))
        }
        ("DELETE", Some(key), None, None) => {
            ctx.require(need::SP_WRITE)?;
            let index = visible_index(ctx, &key)?;
            let id = ctx.tenant.service_principals[index].id().to_string();
            ctx.tenant.remove_service_principals(&[id]);
            ctx.wrote = true;
            Ok(Reply::empty(204))
        }
        ("GET", Some(key), Some(relation @ ("appRoleAssignedTo" | "appRoleAssignments")), None) => {
            ctx.require(need::APP_READ)?;
            let index = visible_index(ctx, &key)?;
            let sp_id = ctx.tenant.service_principals[index].id().to_string();
            let side = if relation == "appRoleAssignedTo" {
                "resourceId"
            } else {
                "principalId"
            };
            let items = list_view(&ctx.tenant.app_role_assignments, ctx.now)
                .into_iter()
                .filter(|a| a.get(side).and_then(Value::as_str) == Some(sp_id.as_str()))
                .collect();
            let set = format!("servicePrincipals('{sp_id}')/{relation}");
            ctx.collection(&set, items, &["resourceId", "principalId", "appRoleId"])
        }
        (
            "POST",
            Some(key),
            Some(relation @ ("appRoleAssignedTo" | "appRoleAssignments")),
            None,
        ) => assign(ctx, &key, relation == "appRoleAssignedTo", body),
        (
            "DELETE",
            Some(key),
            Some("appRoleAssignedTo" | "appRoleAssignments"),
            Some(assignment_id),
        ) => {
            ctx.require(need::ASSIGNMENT_WRITE)?;
            visible_index(ctx, &key)?;
            let position = ctx
                .tenant
                .app_role_assignments
                .iter()
                .position(|a| a.visible(ctx.now) && a.id() == assignment_id)
                .ok_or_else(|| not_found(&assignment_id))?;
            ctx.tenant.app_role_assignments.remove(position);
            ctx.wrote = true;
            Ok(Reply::empty(204))
        }
        (_, _, Some(other), _) => Err(error(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{other}'."),
        )),
        _ => Err(error(
            405,
            "Request_BadRequest",
            "The HTTP method is not allowed on this resource.",
        )),
    }
}

fn visible_index(ctx: &Ctx<'_>, key: &Key) -> Result<usize, Reply> {
    super::keyed_index(
        &ctx.tenant.service_principals,
        ctx.now,
        key,
        &["id", "appId"],
        "servicePrincipal",
    )
}

/// A new service principal for `app_id`. While the application replicates, Entra answers
/// with `NoBackingApplicationObject`.
fn create(ctx: &mut Ctx<'_>, app_id: &str, body: &Value) -> Result<Map<String, Value>, Reply> {
    require_delegated_role(ctx, app_id)?;
    let Some(app) = super::applications::find_by_app_id(ctx, app_id).cloned() else {
        let message = format!("The appId '{app_id}' of the service principal does not reference a valid application object.");
        return Err(error_with_detail(
            400,
            "Request_BadRequest",
            &message,
            "NoBackingApplicationObject",
            "appId",
        ));
    };
    let id = ctx.guid();
    let created = ctx.timestamp();
    let mut names = vec![json!(app_id)];
    names.extend(
        app.get("identifierUris")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    );
    let mut data = crate::state::object(json!({
        "id": id,
        "deletedDateTime": null,
        "accountEnabled": true,
        "alternativeNames": [],
        "appDisplayName": app.get("displayName"),
        "appDescription": null,
        "appId": app_id,
        "applicationTemplateId": null,
        "appOwnerOrganizationId": ctx.tenant.id,
        "appRoleAssignmentRequired": false,
        "createdDateTime": created,
        "description": null,
        "displayName": app.get("displayName"),
        "homepage": null,
        "loginUrl": null,
        "logoutUrl": null,
        "notes": null,
        "notificationEmailAddresses": [],
        "preferredSingleSignOnMode": null,
        "replyUrls": app.get("web").and_then(|w| w.get("redirectUris")).cloned().unwrap_or(json!([])),
        "servicePrincipalNames": names,
        "servicePrincipalType": "Application",
        "signInAudience": app.get("signInAudience"),
        "tags": [],
        "appRoles": app.get("appRoles").cloned().unwrap_or(json!([])),
        "keyCredentials": [],
        "oauth2PermissionScopes": app.get("api").and_then(|a| a.get("oauth2PermissionScopes")).cloned().unwrap_or(json!([])),
        "passwordCredentials": [],
    }));
    if let Some(patch) = body.as_object() {
        let mut patch = patch.clone();
        patch.remove("id");
        patch.remove("appId");
        merge(&mut data, &patch);
    }
    let mut obj = Obj::created(data.clone(), ctx.now, ctx.lag);
    obj.hidden.owners.push(ctx.caller.object_id.clone());
    ctx.tenant.service_principals.push(obj);
    ctx.wrote = true;
    Ok(data)
}

/// A signed-in user creating a service principal needs an admin role, or to own the
/// single-tenant app (as an Application Developer would).
fn require_delegated_role(ctx: &Ctx<'_>, app_id: &str) -> Result<(), Reply> {
    if !ctx.caller.is_delegated() {
        return Ok(());
    }
    const ADMINS: &[&str] = &[
        "Global Administrator",
        "Application Administrator",
        "Cloud Application Administrator",
    ];
    let roles = ctx
        .tenant
        .users
        .iter()
        .find(|u| u.id() == ctx.caller.object_id)
        .map(|u| u.hidden.directory_roles.clone())
        .unwrap_or_default();
    if roles.iter().any(|r| ADMINS.contains(&r.as_str())) {
        return Ok(());
    }
    let owns_single_tenant_app = ctx.tenant.applications.iter().any(|a| {
        a.str("appId")
            .is_some_and(|id| id.eq_ignore_ascii_case(app_id))
            && a.str("signInAudience") == Some("AzureADMyOrg")
            && a.hidden.owners.contains(&ctx.caller.object_id)
    });
    if owns_single_tenant_app {
        return Ok(());
    }
    Err(error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    ))
}

/// `PATCH /servicePrincipals(appId='…')`: update, or create with `Prefer: create-if-missing`.
fn upsert(ctx: &mut Ctx<'_>, app_id: &str, body: &[u8]) -> Res {
    let existing = ctx.tenant.service_principals.iter().position(|sp| {
        sp.str("appId")
            .is_some_and(|a| a.eq_ignore_ascii_case(app_id))
    });
    if let Some(index) = existing {
        update(ctx, index, body)?;
        return Ok(Reply::empty(204));
    }
    if !ctx.prefers_create_if_missing() {
        return Err(not_found(app_id));
    }
    ctx.require(need::SP_WRITE)?;
    let body = ctx.body(body, "servicePrincipal")?;
    let data = create(ctx, app_id, &body)?;
    let mut reply = ctx.entity(201, "servicePrincipals", &data);
    reply
        .headers
        .push(("Preference-Applied", "create-if-missing".into()));
    Ok(reply)
}

fn update(ctx: &mut Ctx<'_>, index: usize, body: &[u8]) -> Result<(), Reply> {
    ctx.require(need::SP_WRITE)?;
    let body = ctx.body(body, "servicePrincipal")?;
    let Some(patch) = body.as_object() else {
        return Err(bad_request("Invalid request body."));
    };
    let obj = &mut ctx.tenant.service_principals[index];
    if let Some(app_id) = patch.get("appId") {
        if Some(app_id) != obj.data.get("appId") {
            return Err(bad_request(
                "Property 'appId' is read-only and cannot be changed.",
            ));
        }
    }
    let mut after = obj.data.clone();
    merge(&mut after, patch);
    if after != obj.data {
        obj.start_change(ctx.now, ctx.lag);
        obj.data = after;
        ctx.wrote = true;
    }
    Ok(())
}

/// Grants an app role. `on_resource`: the path names the resource (`appRoleAssignedTo`),
/// otherwise the principal (`appRoleAssignments`).
fn assign(ctx: &mut Ctx<'_>, key: &Key, on_resource: bool, body: &[u8]) -> Res {
    ctx.require(need::ASSIGNMENT_WRITE)?;
    let body = ctx.body(body, "appRoleAssignment")?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (principal_id, resource_id, app_role_id) = (
        field("principalId"),
        field("resourceId"),
        field("appRoleId"),
    );
    for (name, value) in [
        ("principalId", &principal_id),
        ("resourceId", &resource_id),
        ("appRoleId", &app_role_id),
    ] {
        if value.is_empty() {
            return Err(bad_request(format!(
                "Invalid value specified for property '{name}' of resource 'AppRoleAssignment'."
            )));
        }
    }
    let path_index = visible_index(ctx, key)?;
    let path_id = ctx.tenant.service_principals[path_index].id().to_string();
    let expected = if on_resource {
        &resource_id
    } else {
        &principal_id
    };
    if !expected.eq_ignore_ascii_case(&path_id) {
        return Err(bad_request(
            "Not a valid reference update: the id in the URL does not match the body.",
        ));
    }
    let sp = |id: &str| {
        ctx.tenant
            .service_principals
            .iter()
            .filter_map(|o| o.view(ctx.now, false))
            .find(|v| v.get("id").and_then(Value::as_str) == Some(id))
            .cloned()
    };
    let principal = sp(&principal_id).ok_or_else(|| not_found(&principal_id))?;
    let resource = sp(&resource_id).ok_or_else(|| not_found(&resource_id))?;
    let role_exists = resource
        .get("appRoles")
        .and_then(Value::as_array)
        .is_some_and(|roles| {
            roles.iter().any(|r| {
                r.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.eq_ignore_ascii_case(&app_role_id))
                    && r.get("isEnabled") != Some(&json!(false))
            })
        });
    if !role_exists {
        return Err(bad_request(format!(
            "Permission being assigned was not found on application '{}'.",
            resource
                .get("appId")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )));
    }
    let duplicate = ctx.tenant.app_role_assignments.iter().any(|a| {
        a.str("principalId") == Some(principal_id.as_str())
            && a.str("resourceId") == Some(resource_id.as_str())
            && a.str("appRoleId")
                .is_some_and(|r| r.eq_ignore_ascii_case(&app_role_id))
    });
    if duplicate {
        return Err(bad_request(
            "Permission being assigned already exists on the object",
        ));
    }
    let id = ctx.guid();
    let data = crate::state::object(json!({
        "id": id,
        "deletedDateTime": null,
        "appRoleId": app_role_id,
        "createdDateTime": ctx.timestamp(),
        "principalDisplayName": principal.get("displayName"),
        "principalId": principal_id,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": resource.get("displayName"),
        "resourceId": resource_id,
    }));
    ctx.tenant
        .app_role_assignments
        .push(Obj::created(data.clone(), ctx.now, ctx.lag));
    ctx.wrote = true;
    let relation = if on_resource {
        "appRoleAssignedTo"
    } else {
        "appRoleAssignments"
    };
    Ok(ctx.entity(
        201,
        &format!("servicePrincipals('{path_id}')/{relation}"),
        &data,
    ))
}
