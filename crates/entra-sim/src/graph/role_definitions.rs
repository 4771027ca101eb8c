//! `roleManagement/directory/roleDefinitions`: the built-in Microsoft Entra roles as
//! unifiedRoleDefinition objects (custom roles are not modelled).

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{need, not_found, Ctx, Key, Res, Segment};
use crate::roles::{RoleTemplate, ROLE_TEMPLATES};

const SET: &str = "roleManagement/directory/roleDefinitions";

pub fn route(ctx: &mut Ctx<'_>, method: &Method, key: Option<Key>, rest: &[Segment]) -> Res {
    super::get_only(method, rest)?;
    ctx.require(need::ROLE_DEFINITION_READ)?;
    match key {
        None => {
            let items = ROLE_TEMPLATES.iter().map(definition).collect();
            ctx.collection(
                SET,
                items,
                &["id", "displayName", "templateId", "isBuiltIn"],
            )
        }
        Some(key) => {
            let id = key.describe();
            let role = ROLE_TEMPLATES
                .iter()
                .find(|r| r.template_id.eq_ignore_ascii_case(id))
                .ok_or_else(|| not_found(id))?;
            Ok(ctx.entity(200, SET, &definition(role)))
        }
    }
}

/// A built-in role as Graph lists it: its id is its template id. `rolePermissions` are left
/// out: the simulator does not know each role's resource actions and will not invent them.
fn definition(role: &RoleTemplate) -> Map<String, Value> {
    crate::state::object(json!({
        "id": role.template_id,
        "description": role.description,
        "displayName": role.name,
        "isBuiltIn": true,
        "isEnabled": true,
        "resourceScopes": ["/"],
        "templateId": role.template_id,
        "version": "1",
    }))
}
