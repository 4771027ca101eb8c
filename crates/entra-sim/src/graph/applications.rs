//! `/applications`: create, read, list, update, upsert by `uniqueName`, delete, and the
//! client secret actions `addPassword` / `removePassword`.

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{bad_request, error, list_view, merge, need, not_found, Ctx, Key, Reply, Res, Segment};
use crate::state::Obj;

const FILTERABLE: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "uniqueName",
    "identifierUris",
    "signInAudience",
];

pub fn route(
    ctx: &mut Ctx<'_>,
    method: &Method,
    key: Option<Key>,
    rest: &[Segment],
    body: &[u8],
) -> Res {
    let action = rest.first().map(|s| s.name.as_str());
    match (method.as_str(), key, action) {
        ("GET", None, None) => {
            ctx.require(need::APP_READ)?;
            let items = list_view(&ctx.tenant.applications, ctx.now);
            ctx.collection("applications", items, FILTERABLE)
        }
        ("POST", None, None) => create(ctx, body),
        ("GET", Some(key), None) => {
            ctx.require(need::APP_READ)?;
            let index = visible_index(ctx, &key)?;
            let data = ctx.tenant.applications[index]
                .view(ctx.now, false)
                .cloned()
                .unwrap_or_default();
            Ok(ctx.entity(200, "applications", &data))
        }
        ("PATCH", Some(Key::Alternate(property, value)), None) if property == "uniqueName" => {
            upsert(ctx, &value, body)
        }
        ("PATCH", Some(key), None) => {
            let index = visible_index(ctx, &key)?;
            update(ctx, index, body)?;
            Ok(Reply::empty(204))
        }
        ("DELETE", Some(key), None) => delete(ctx, &key),
        ("POST", Some(key), Some("addPassword")) => add_password(ctx, &key, body),
        ("POST", Some(key), Some("removePassword")) => remove_password(ctx, &key, body),
        (_, _, Some(other)) => Err(error(
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

/// The index of the application `key` names, as a point read sees it (404 while it
/// replicates).
fn visible_index(ctx: &Ctx<'_>, key: &Key) -> Result<usize, Reply> {
    super::keyed_index(
        &ctx.tenant.applications,
        ctx.now,
        key,
        &["id", "appId", "uniqueName"],
        "application",
    )
}

fn require_write(ctx: &Ctx<'_>, index: usize) -> Result<(), Reply> {
    ctx.require(need::APP_WRITE)?;
    let owned_only =
        !ctx.holds("Application.ReadWrite.All") && ctx.holds("Application.ReadWrite.OwnedBy");
    if owned_only
        && !ctx.tenant.applications[index]
            .hidden
            .owners
            .contains(&ctx.caller.object_id)
    {
        return Err(error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    Ok(())
}

fn defaults(ctx: &mut Ctx<'_>) -> Map<String, Value> {
    let id = ctx.guid();
    let app_id = ctx.guid();
    let publisher_domain = ctx.tenant.domains.first().cloned().unwrap_or_default();
    let created = ctx.timestamp();
    crate::state::object(json!({
        "id": id,
        "deletedDateTime": null,
        "appId": app_id,
        "applicationTemplateId": null,
        "createdDateTime": created,
        "description": null,
        "disabledByMicrosoftStatus": null,
        "displayName": null,
        "groupMembershipClaims": null,
        "identifierUris": [],
        "isFallbackPublicClient": null,
        "notes": null,
        "publisherDomain": publisher_domain,
        "serviceManagementReference": null,
        "signInAudience": "AzureADandPersonalMicrosoftAccount",
        "tags": [],
        "tokenEncryptionKeyId": null,
        "uniqueName": null,
        "api": {
            "acceptMappedClaims": null,
            "knownClientApplications": [],
            "requestedAccessTokenVersion": null,
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": []
        },
        "appRoles": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "keyCredentials": [],
        "optionalClaims": null,
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
        "spa": {"redirectUris": []},
        "web": {
            "homePageUrl": null,
            "logoutUrl": null,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}
        }
    }))
}

/// Builds a new application from `body` (already schema-checked), or says why not.
fn new_application(ctx: &mut Ctx<'_>, body: &Value) -> Result<Obj, Reply> {
    if body
        .get("passwordCredentials")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty())
    {
        return Err(bad_request(
            "Property 'passwordCredentials' is read-only on create; use addPassword.",
        ));
    }
    let display_name = body
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if display_name.trim().is_empty() {
        return Err(bad_request(
            "Invalid value specified for property 'displayName' of resource 'Application'.",
        ));
    }
    let mut data = defaults(ctx);
    if let Some(patch) = body.as_object() {
        let mut patch = patch.clone();
        patch.remove("id");
        patch.remove("appId");
        merge(&mut data, &patch);
    }
    if data.get("signInAudience").and_then(Value::as_str) != Some("AzureADMyOrg")
        && data.get("signInAudience").and_then(Value::as_str) != Some("AzureADMultipleOrgs")
    {
        if let Some(api) = data.get_mut("api").and_then(Value::as_object_mut) {
            if api
                .get("requestedAccessTokenVersion")
                .is_none_or(Value::is_null)
            {
                api.insert("requestedAccessTokenVersion".into(), json!(2));
            }
        }
    }
    super::check_unique_name(&ctx.tenant.applications, &data, None)?;
    check_identifier_uris(ctx, &data, None)?;
    check_scopes(None, &data)?;
    check_app_rules(&data)?;
    let mut obj = Obj::created(data, ctx.now, ctx.lag);
    obj.hidden.owners.push(ctx.caller.object_id.clone());
    Ok(obj)
}

fn create(ctx: &mut Ctx<'_>, body: &[u8]) -> Res {
    ctx.require(need::APP_CREATE)?;
    let body = ctx.body(body, "application")?;
    let obj = new_application(ctx, &body)?;
    let data = obj.data.clone();
    ctx.tenant.applications.push(obj);
    ctx.wrote = true;
    Ok(ctx.entity(201, "applications", &data))
}

/// `PATCH /applications(uniqueName='…')`: update, or create with `Prefer: create-if-missing`.
fn upsert(ctx: &mut Ctx<'_>, unique_name: &str, body: &[u8]) -> Res {
    // Uniqueness is enforced on the primary copy, so the upsert sees the true state even
    // while a new app replicates: a retried upsert never makes a second app.
    let existing = ctx.tenant.applications.iter().position(|o| {
        o.str("uniqueName")
            .is_some_and(|v| v.eq_ignore_ascii_case(unique_name))
    });
    if let Some(index) = existing {
        update(ctx, index, body)?;
        return Ok(Reply::empty(204));
    }
    if !ctx.prefers_create_if_missing() {
        return Err(not_found(unique_name));
    }
    // The upsert's permission table lists only these (not AppRegistration.Create).
    ctx.require(need::APP_WRITE)?;
    let mut body = ctx.body(body, "application")?;
    if let Some(object) = body.as_object_mut() {
        object.insert("uniqueName".into(), json!(unique_name));
    }
    let obj = new_application(ctx, &body)?;
    let data = obj.data.clone();
    ctx.tenant.applications.push(obj);
    ctx.wrote = true;
    let mut reply = ctx.entity(201, "applications", &data);
    reply
        .headers
        .push(("Preference-Applied", "create-if-missing".into()));
    Ok(reply)
}

fn update(ctx: &mut Ctx<'_>, index: usize, body: &[u8]) -> Result<(), Reply> {
    require_write(ctx, index)?;
    let body = ctx.body(body, "application")?;
    let Some(patch) = body.as_object() else {
        return Err(bad_request("Invalid request body."));
    };
    for read_only in [
        "id",
        "appId",
        "createdDateTime",
        "publisherDomain",
        "passwordCredentials",
    ] {
        if patch.contains_key(read_only) {
            let current = ctx.tenant.applications[index].data.get(read_only).cloned();
            if read_only == "passwordCredentials" || patch.get(read_only) != current.as_ref() {
                return Err(bad_request(format!(
                    "Property '{read_only}' is read-only and cannot be set."
                )));
            }
        }
    }
    let before = ctx.tenant.applications[index].data.clone();
    let mut after = before.clone();
    merge(&mut after, patch);
    if before.get("uniqueName").is_some_and(|v| !v.is_null())
        && after.get("uniqueName") != before.get("uniqueName")
    {
        return Err(bad_request(
            "Property 'uniqueName' cannot be changed once set.",
        ));
    }
    super::check_unique_name(&ctx.tenant.applications, &after, Some(index))?;
    check_identifier_uris(ctx, &after, Some(index))?;
    check_scopes(Some(&before), &after)?;
    check_app_rules(&after)?;
    if after != before {
        let obj = &mut ctx.tenant.applications[index];
        obj.start_change(ctx.now, ctx.lag);
        obj.data = after;
        ctx.wrote = true;
    }
    Ok(())
}

/// Entra's identifier URI rules: `api://{appId}[/…]`, `api://{tenantId}/…`, or a host on a
/// verified domain; unique across the tenant's apps.
fn check_identifier_uris(
    ctx: &Ctx<'_>,
    data: &Map<String, Value>,
    own: Option<usize>,
) -> Result<(), Reply> {
    let app_id = data
        .get("appId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let uris: Vec<String> = data
        .get("identifierUris")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    for uri in &uris {
        if !entra_base::identifier_uri::allowed(uri, &app_id, &ctx.tenant.id, &ctx.tenant.domains) {
            return Err(error(
                400,
                "HostNameNotOnVerifiedDomain",
                format!("Values of identifierUris property must use a verified domain of the organization or its subdomain: '{uri}'"),
            ));
        }
        let taken = ctx.tenant.applications.iter().enumerate().any(|(i, o)| {
            Some(i) != own
                && o.data
                    .get("identifierUris")
                    .and_then(Value::as_array)
                    .is_some_and(|existing| {
                        existing
                            .iter()
                            .any(|e| e.as_str().is_some_and(|e| e.eq_ignore_ascii_case(uri)))
                    })
        });
        if taken {
            return Err(error(
                400,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property identifierUris already exists.",
            ));
        }
    }
    Ok(())
}

/// The permissions an app defines: exposed scopes and app roles.
fn permission_entries(data: &Map<String, Value>, roles: bool) -> Vec<Value> {
    let list = if roles {
        data.get("appRoles")
    } else {
        data.get("api")
            .and_then(|a| a.get("oauth2PermissionScopes"))
    };
    list.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Scope (and role) rules: ids are GUIDs, values unique and without spaces, and an enabled
/// one cannot be changed or removed until a previous PATCH disabled it.
fn check_scopes(
    before: Option<&Map<String, Value>>,
    after: &Map<String, Value>,
) -> Result<(), Reply> {
    for roles in [false, true] {
        let resource = if roles { "AppRole" } else { "PermissionScope" };
        let new_entries = permission_entries(after, roles);
        let mut values = std::collections::HashSet::new();
        for entry in &new_entries {
            let id_ok = entry
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok());
            if !id_ok {
                return Err(bad_request(format!(
                    "Invalid value specified for property 'id' of resource '{resource}'."
                )));
            }
            let value = entry
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if value.is_empty()
                || value.len() > 120
                || value.contains(char::is_whitespace)
                || value.starts_with('.')
            {
                return Err(bad_request(format!("Invalid value specified for property 'value' of resource '{resource}': '{value}'.")));
            }
            if !values.insert(value.to_ascii_lowercase()) {
                return Err(bad_request(format!(
                    "Permission value '{value}' is not unique."
                )));
            }
        }
        let Some(before) = before else { continue };
        for old in permission_entries(before, roles)
            .iter()
            .filter(|s| s.get("isEnabled") == Some(&json!(true)))
        {
            let replacement = new_entries.iter().find(|s| s.get("id") == old.get("id"));
            // Graph treats an omitted property as null: compare without nulls.
            let unchanged_but_enablement = replacement.is_some_and(|new| {
                let mut new = without_nulls(new);
                new.insert("isEnabled".into(), json!(true));
                new == without_nulls(old)
            });
            if !unchanged_but_enablement {
                return Err(error(
                    400,
                    "CannotDeleteOrUpdateEnabledEntitlement",
                    "Permission (scope or role) cannot be deleted or updated unless disabled first.",
                ));
            }
        }
    }
    Ok(())
}

/// Entra's limits on requested permissions, and the token version personal accounts need.
fn check_app_rules(data: &Map<String, Value>) -> Result<(), Reply> {
    let access = data
        .get("requiredResourceAccess")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if access.len() > 50 {
        return Err(bad_request(
            "requiredResourceAccess can name at most 50 resources.",
        ));
    }
    let permissions: usize = access
        .iter()
        .map(|r| {
            r.get("resourceAccess")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    if permissions > 400 {
        return Err(bad_request(
            "requiredResourceAccess can hold at most 400 permissions in total.",
        ));
    }
    let audience = data
        .get("signInAudience")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let personal = matches!(
        audience,
        "AzureADandPersonalMicrosoftAccount" | "PersonalMicrosoftAccount"
    );
    let version = data
        .get("api")
        .and_then(|a| a.get("requestedAccessTokenVersion"))
        .and_then(Value::as_i64);
    if personal && version != Some(2) {
        return Err(bad_request(
            "Property api.requestedAccessTokenVersion is invalid: it must be 2 when signInAudience includes personal Microsoft accounts.",
        ));
    }
    Ok(())
}

/// Graph's default secret end: start + 2 calendar years (29 February falls back to the 28th).
fn two_years_after(start: time::OffsetDateTime) -> time::OffsetDateTime {
    let year = start.year() + 2;
    start
        .replace_year(year)
        .or_else(|_| start.replace_day(28).and_then(|d| d.replace_year(year)))
        .unwrap_or(start + time::Duration::days(730))
}

fn without_nulls(value: &Value) -> Map<String, Value> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn delete(ctx: &mut Ctx<'_>, key: &Key) -> Res {
    let index = visible_index(ctx, key)?;
    require_write(ctx, index)?;
    let removed = ctx.tenant.applications.remove(index);
    if let Some(app_id) = removed.str("appId") {
        // The home tenant's service principal goes with its application, and so does
        // everything granted to it.
        let sp_ids: Vec<String> = ctx
            .tenant
            .service_principals
            .iter()
            .filter(|sp| sp.str("appId") == Some(app_id))
            .map(|sp| sp.id().to_string())
            .collect();
        ctx.tenant.remove_service_principals(&sp_ids);
    }
    ctx.wrote = true;
    Ok(Reply::empty(204))
}

fn add_password(ctx: &mut Ctx<'_>, key: &Key, body: &[u8]) -> Res {
    let index = visible_index(ctx, key)?;
    require_write(ctx, index)?;
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|_| bad_request("Invalid request body: the body is not valid JSON."))?
    };
    let requested = request
        .get("passwordCredential")
        .cloned()
        .unwrap_or(json!({}));
    if let Some(unknown) = request
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "passwordCredential"))
    {
        return Err(bad_request(format!(
            "Property '{unknown}' does not exist as a declared property or extension property."
        )));
    }
    crate::schema::check("passwordCredential", &requested)
        .map_err(|_| bad_request("Invalid value specified for property 'passwordCredential'."))?;

    let key_id = ctx.guid();
    let secret = ctx.secret_text();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let start = requested
        .get("startDateTime")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| rfc3339(now));
    let end = requested
        .get("endDateTime")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| rfc3339(two_years_after(now)));
    let credential = json!({
        "customKeyIdentifier": null,
        "displayName": requested.get("displayName").cloned().unwrap_or(Value::Null),
        "endDateTime": end,
        "hint": &secret[..3],
        "keyId": key_id,
        "secretText": null,
        "startDateTime": start,
    });
    let obj = &mut ctx.tenant.applications[index];
    obj.start_change(ctx.now, ctx.lag);
    if let Some(list) = obj
        .data
        .get_mut("passwordCredentials")
        .and_then(Value::as_array_mut)
    {
        list.push(credential.clone());
    } else {
        obj.data
            .insert("passwordCredentials".into(), json!([credential.clone()]));
    }
    if !ctx.lag.point.is_zero() {
        obj.hidden
            .password_usable_at
            .insert(key_id.clone(), ctx.now + ctx.lag.point);
    }
    obj.hidden.passwords.insert(key_id, secret.clone());
    ctx.wrote = true;
    let mut body = credential;
    body["secretText"] = json!(secret);
    body["@odata.context"] = json!(ctx.context("microsoft.graph.passwordCredential"));
    Ok(Reply::json(200, body))
}

fn remove_password(ctx: &mut Ctx<'_>, key: &Key, body: &[u8]) -> Res {
    let index = visible_index(ctx, key)?;
    require_write(ctx, index)?;
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| bad_request("Invalid request body: the body is not valid JSON."))?;
    let Some(key_id) = request
        .get("keyId")
        .and_then(Value::as_str)
        .map(String::from)
    else {
        return Err(bad_request("Required parameter 'keyId' is missing."));
    };
    let obj = &mut ctx.tenant.applications[index];
    let exists = obj
        .data
        .get("passwordCredentials")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter()
                .any(|c| c.get("keyId").and_then(Value::as_str) == Some(key_id.as_str()))
        });
    if !exists {
        return Err(bad_request(format!(
            "No password credential with keyId '{key_id}' exists on the application."
        )));
    }
    obj.start_change(ctx.now, ctx.lag);
    if let Some(list) = obj
        .data
        .get_mut("passwordCredentials")
        .and_then(Value::as_array_mut)
    {
        list.retain(|c| c.get("keyId").and_then(Value::as_str) != Some(key_id.as_str()));
    }
    obj.hidden.passwords.remove(&key_id);
    obj.hidden.password_usable_at.remove(&key_id);
    ctx.wrote = true;
    Ok(Reply::empty(204))
}

/// Finds an application by `appId` as a point read sees it.
pub fn find_by_app_id<'o>(ctx: &'o Ctx<'_>, app_id: &str) -> Option<&'o Map<String, Value>> {
    ctx.tenant
        .applications
        .iter()
        .filter_map(|o| o.view(ctx.now, false))
        .find(|v| {
            v.get("appId")
                .and_then(Value::as_str)
                .is_some_and(|a| a.eq_ignore_ascii_case(app_id))
        })
}
