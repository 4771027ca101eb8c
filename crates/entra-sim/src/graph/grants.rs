//! `/oauth2PermissionGrants`: delegated consent. `AllPrincipals` is tenant-wide admin consent.

use axum::http::Method;
use base64::Engine;
use serde_json::{json, Value};

use super::{bad_request, error, list_view, merge, need, not_found, Ctx, Key, Reply, Res, Segment};
use crate::state::Obj;

const FILTERABLE: &[&str] = &["id", "clientId", "resourceId", "consentType", "principalId"];

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
            ctx.require(need::GRANT_READ)?;
            // Filtering on clientId shortens the replication delay (the list docs say so):
            // such a list sees what a point read sees.
            let by_client = ctx
                .query
                .filter
                .as_deref()
                .is_some_and(|f| f.contains("clientId eq"));
            let items = if by_client {
                ctx.tenant
                    .oauth2_permission_grants
                    .iter()
                    .filter_map(|g| g.view(ctx.now, false).cloned())
                    .collect()
            } else {
                list_view(&ctx.tenant.oauth2_permission_grants, ctx.now)
            };
            ctx.collection("oauth2PermissionGrants", items, FILTERABLE)
        }
        ("POST", None) => create(ctx, body),
        ("GET", Some(Key::Id(id))) => {
            ctx.require(need::GRANT_READ)?;
            let index = visible_index(ctx, &id)?;
            let data = ctx.tenant.oauth2_permission_grants[index]
                .view(ctx.now, false)
                .cloned()
                .unwrap_or_default();
            Ok(ctx.entity(200, "oauth2PermissionGrants", &data))
        }
        ("PATCH", Some(Key::Id(id))) => {
            ctx.require(need::GRANT_WRITE)?;
            let index = visible_index(ctx, &id)?;
            let body = ctx.body(body, "oAuth2PermissionGrant")?;
            let patch = body.as_object().cloned().unwrap_or_default();
            if let Some(read_only) = ["id", "clientId", "resourceId", "consentType", "principalId"]
                .into_iter()
                .find(|k| {
                    patch.contains_key(*k)
                        && patch.get(*k) != ctx.tenant.oauth2_permission_grants[index].data.get(*k)
                })
            {
                return Err(bad_request(format!(
                    "Property '{read_only}' is read-only and cannot be changed."
                )));
            }
            check_scope_length(&patch)?;
            let obj = &mut ctx.tenant.oauth2_permission_grants[index];
            let mut after = obj.data.clone();
            merge(&mut after, &patch);
            if after != obj.data {
                obj.start_change(ctx.now, ctx.lag);
                obj.data = after;
                ctx.wrote = true;
            }
            Ok(Reply::empty(204))
        }
        ("DELETE", Some(Key::Id(id))) => {
            ctx.require(need::GRANT_WRITE)?;
            let index = visible_index(ctx, &id)?;
            ctx.tenant.oauth2_permission_grants.remove(index);
            ctx.wrote = true;
            Ok(Reply::empty(204))
        }
        _ => Err(error(
            405,
            "Request_BadRequest",
            "The HTTP method is not allowed on this resource.",
        )),
    }
}

fn visible_index(ctx: &Ctx<'_>, id: &str) -> Result<usize, Reply> {
    super::find_visible(&ctx.tenant.oauth2_permission_grants, ctx.now, id)
        .map(|(index, _)| index)
        .ok_or_else(|| not_found(id))
}

fn check_scope_length(body: &serde_json::Map<String, Value>) -> Result<(), Reply> {
    let too_long = body
        .get("scope")
        .and_then(Value::as_str)
        .is_some_and(|s| s.len() > 3850);
    if too_long {
        return Err(bad_request("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant': at most 3850 characters."));
    }
    Ok(())
}

fn create(ctx: &mut Ctx<'_>, body: &[u8]) -> Res {
    ctx.require(need::GRANT_WRITE)?;
    let body = ctx.body(body, "oAuth2PermissionGrant")?;
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(String::from);
    let client_id = field("clientId").unwrap_or_default();
    let resource_id = field("resourceId").unwrap_or_default();
    let consent_type = field("consentType").unwrap_or_default();
    let principal_id = field("principalId");
    for (name, value) in [
        ("clientId", &client_id),
        ("resourceId", &resource_id),
        ("consentType", &consent_type),
    ] {
        if value.is_empty() {
            return Err(bad_request(format!("Invalid value specified for property '{name}' of resource 'OAuth2PermissionGrant'.")));
        }
    }
    match (consent_type.as_str(), &principal_id) {
        ("AllPrincipals", None) | ("Principal", Some(_)) => {}
        ("AllPrincipals", Some(_)) => return Err(bad_request("principalId must be null when consentType is AllPrincipals.")),
        ("Principal", None) => return Err(bad_request("principalId is required when consentType is Principal.")),
        _ => return Err(bad_request("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.")),
    }
    check_scope_length(body.as_object().unwrap_or(&serde_json::Map::new()))?;
    for id in [&client_id, &resource_id] {
        let visible = ctx
            .tenant
            .service_principals
            .iter()
            .any(|sp| sp.visible(ctx.now) && sp.id() == id.as_str());
        if !visible {
            return Err(not_found(id));
        }
    }
    let duplicate = ctx.tenant.oauth2_permission_grants.iter().any(|g| {
        g.str("clientId") == Some(client_id.as_str())
            && g.str("resourceId") == Some(resource_id.as_str())
            && g.str("consentType") == Some(consent_type.as_str())
            && g.str("principalId") == principal_id.as_deref()
    });
    if duplicate {
        return Err(error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        ));
    }
    let id_bytes: [u8; 33] = std::array::from_fn(|i| {
        let source = if i < 16 {
            client_id.as_bytes()
        } else {
            resource_id.as_bytes()
        };
        source.get(i % 16).copied().unwrap_or(0) ^ (i as u8)
    });
    let suffix = ctx.guid();
    let id = format!(
        "{}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id_bytes),
        &suffix[..4]
    );
    let data = crate::state::object(json!({
        "id": id,
        "clientId": client_id,
        "consentType": consent_type,
        "principalId": principal_id,
        "resourceId": resource_id,
        "scope": body.get("scope").cloned().unwrap_or(json!("")),
    }));
    ctx.tenant
        .oauth2_permission_grants
        .push(Obj::created(data.clone(), ctx.now, ctx.lag));
    ctx.wrote = true;
    Ok(ctx.entity(201, "oauth2PermissionGrants", &data))
}
