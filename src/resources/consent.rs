//! Admin consent: an app role assignment per application permission, and one tenant-wide
//! (`AllPrincipals`) delegated grant per resource, derived from the requested permissions.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::Desired;
use crate::graph::models::AppRoleAssignment;
use crate::graph::{GraphError, Request};
use crate::kind::permissions::{self, Resolved};
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, AttributeChange, DestroyDraft, ManagedKind,
    Operation, PlanDraft, PlanError, ResourceChange,
};
use crate::live::LiveState;
use crate::resources::application::read as app_read;

pub const ASSIGNMENT_KIND: &str = "app_role_assignment";
pub const GRANT_KIND: &str = "oauth2_permission_grant";

/// The consent kind: app role assignments and delegated grants of our service principal. It
/// is read in the application kind's wave, since the service principal's id is its key.
pub struct ConsentKind;

#[async_trait::async_trait]
impl ManagedKind for ConsentKind {
    fn name(&self) -> &'static str {
        GRANT_KIND
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        draft
            .changes
            .extend(plan(draft.desired, draft.live, draft.resolved));
        Ok(())
    }

    /// Every grant and assignment our service principal holds, at the addresses plan gives
    /// them (by resource name where the config still names the resource, else by id).
    fn destroy(&self, draft: &mut DestroyDraft<'_>) {
        let live = draft.live;
        if live.application.is_none() || live.adopting_app() {
            return;
        }
        let resolved = permissions::resolve(draft.desired, live).unwrap_or_default();
        for grant in &live.grants {
            let resource_id = grant.resource_id.clone().unwrap_or_default();
            let slug = resolved
                .by_service_principal(&resource_id)
                .map_or(resource_id, |r| r.slug.clone());
            let mut change = ResourceChange::new(
                Address::new(GRANT_KIND, slug),
                Action::Delete,
                Op::DeleteGrant {
                    grant_id: grant.id.clone().unwrap_or_default(),
                },
            );
            change.before = json!({"scope": grant.scope, "resource_id": grant.resource_id});
            draft.changes.push(change);
        }
        for assignment in &live.app_role_assignments {
            let resource_sp_id = assignment.resource_id.clone().unwrap_or_default();
            let role_id = assignment
                .app_role_id
                .map(|r| r.to_string())
                .unwrap_or_default();
            let (_, slug, value) = describe_role(live, &resolved, &resource_sp_id, &role_id);
            let mut change = ResourceChange::new(
                Address::new(ASSIGNMENT_KIND, format!("{slug}.{value}")),
                Action::Delete,
                Op::RevokeAppRole {
                    resource_sp_id,
                    assignment_id: assignment.id.clone().unwrap_or_default(),
                },
            );
            change.before = json!({"resource": assignment.resource_display_name, "app_role_id": assignment.app_role_id});
            draft.changes.push(change);
        }
    }
}

/// What apply does to consent.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    GrantAppRole {
        resource_sp_id: String,
        app_role_id: Uuid,
    },
    RevokeAppRole {
        resource_sp_id: String,
        assignment_id: String,
    },
    CreateGrant {
        resource_sp_id: String,
        scope: String,
    },
    UpdateGrant {
        grant_id: String,
        scope: String,
    },
    DeleteGrant {
        grant_id: String,
    },
}

#[async_trait::async_trait]
impl Operation for Op {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        match self {
            Op::GrantAppRole {
                resource_sp_id,
                app_role_id,
            } => grant_app_role(ctx, resource_sp_id, *app_role_id).await,
            Op::RevokeAppRole {
                resource_sp_id,
                assignment_id,
            } => revoke_app_role(ctx, resource_sp_id, assignment_id).await,
            Op::CreateGrant {
                resource_sp_id,
                scope,
            } => create_grant(ctx, resource_sp_id, scope).await,
            Op::UpdateGrant { grant_id, scope } => update_grant(ctx, grant_id, scope).await,
            Op::DeleteGrant { grant_id } => delete_grant(ctx, grant_id).await,
        }
    }
}

fn plan(desired: &Desired, live: &LiveState, resolved: &Resolved) -> Vec<ResourceChange> {
    let depends_on = vec![Address::service_principal(desired)];
    let mut changes = Vec::new();

    // Application permissions.
    let mut wanted = BTreeSet::new();
    for resource in resolved.resources.iter().filter(|r| r.admin_consent) {
        for (value, role_id) in &resource.application {
            wanted.insert((resource.service_principal_id.clone(), role_id.to_string()));
            let exists = live.app_role_assignments.iter().any(|a| {
                a.resource_id.as_deref() == Some(resource.service_principal_id.as_str())
                    && a.app_role_id == Some(*role_id)
            });
            if !exists {
                changes.push(ResourceChange {
                    address: Address::new(ASSIGNMENT_KIND, format!("{}.{value}", resource.slug)),
                    action: Action::Create,
                    before: Value::Null,
                    after: json!({"resource": resource.name, "permission": value, "app_role_id": role_id}),
                    attributes: vec![AttributeChange { name: "permission".into(), before: Value::Null, after: json!(format!("{}: {value}", resource.name)) }],
                    reason: None,
                    depends_on: depends_on.clone(),
                    operation: Op::GrantAppRole { resource_sp_id: resource.service_principal_id.clone(), app_role_id: *role_id }.into(),
                });
            }
        }
    }
    for assignment in &live.app_role_assignments {
        let key = (
            assignment.resource_id.clone().unwrap_or_default(),
            assignment
                .app_role_id
                .map(|r| r.to_string())
                .unwrap_or_default(),
        );
        if wanted.contains(&key) {
            continue;
        }
        let (resource_name, slug, value) = describe_role(live, resolved, &key.0, &key.1);
        changes.push(ResourceChange {
            address: Address::new(ASSIGNMENT_KIND, format!("{slug}.{value}")),
            action: Action::Delete,
            before: json!({"resource": resource_name, "permission": value, "app_role_id": key.1}),
            after: Value::Null,
            attributes: Vec::new(),
            reason: Some("no longer requested with admin consent".into()),
            depends_on: Vec::new(),
            operation: Op::RevokeAppRole {
                resource_sp_id: key.0.clone(),
                assignment_id: assignment.id.clone().unwrap_or_default(),
            }
            .into(),
        });
    }

    // Delegated permissions.
    let mut granted_resources = BTreeSet::new();
    for resource in resolved
        .resources
        .iter()
        .filter(|r| r.admin_consent && !r.delegated.is_empty())
    {
        granted_resources.insert(resource.service_principal_id.clone());
        let scope = resource
            .delegated
            .iter()
            .map(|(v, _)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let address = Address::new(GRANT_KIND, resource.slug.clone());
        let live_grant = live
            .grants
            .iter()
            .find(|g| g.resource_id.as_deref() == Some(resource.service_principal_id.as_str()));
        match live_grant {
            None => changes.push(ResourceChange {
                address,
                action: Action::Create,
                before: Value::Null,
                after: json!({"resource": resource.name, "consent_type": "AllPrincipals", "scope": scope}),
                attributes: vec![AttributeChange { name: "scope".into(), before: Value::Null, after: json!(scope) }],
                reason: None,
                depends_on: depends_on.clone(),
                operation: Op::CreateGrant { resource_sp_id: resource.service_principal_id.clone(), scope }.into(),
            }),
            Some(grant) if words(grant.scope.as_deref()) != words(Some(&scope)) => {
                let before = grant.scope.clone().unwrap_or_default();
                changes.push(ResourceChange {
                    address,
                    action: Action::Update,
                    before: json!({"resource": resource.name, "consent_type": "AllPrincipals", "scope": before.trim()}),
                    after: json!({"resource": resource.name, "consent_type": "AllPrincipals", "scope": scope}),
                    attributes: vec![AttributeChange { name: "scope".into(), before: json!(before.trim()), after: json!(scope) }],
                    reason: None,
                    depends_on: Vec::new(),
                    operation: Op::UpdateGrant { grant_id: grant.id.clone().unwrap_or_default(), scope }.into(),
                });
            }
            Some(_) => {}
        }
    }
    for grant in live.grants.iter().filter(|g| {
        !g.resource_id
            .as_ref()
            .is_some_and(|r| granted_resources.contains(r))
    }) {
        let resource_id = grant.resource_id.clone().unwrap_or_default();
        let (name, slug) = resolved
            .by_service_principal(&resource_id)
            .map(|r| (r.name.clone(), r.slug.clone()))
            .unwrap_or_else(|| (resource_id.clone(), resource_id.clone()));
        changes.push(ResourceChange {
            address: Address::new(GRANT_KIND, slug),
            action: Action::Delete,
            before: json!({"resource": name, "consent_type": "AllPrincipals", "scope": grant.scope.clone().unwrap_or_default().trim()}),
            after: Value::Null,
            attributes: Vec::new(),
            reason: Some("no delegated permission of this resource is requested with admin consent".into()),
            depends_on: Vec::new(),
            operation: Op::DeleteGrant { grant_id: grant.id.clone().unwrap_or_default() }.into(),
        });
    }
    changes
}

fn words(scope: Option<&str>) -> BTreeSet<String> {
    scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// (resource name, slug, permission value) of an assignment we hold, as the tenant names it.
fn describe_role(
    live: &LiveState,
    resolved: &Resolved,
    resource_sp_id: &str,
    role_id: &str,
) -> (String, String, String) {
    if let Some(resource) = resolved.by_service_principal(resource_sp_id) {
        let sp = live
            .resources
            .iter()
            .flatten()
            .find(|sp| sp.id.as_deref() == Some(resource_sp_id));
        let value = sp
            .and_then(|sp| sp.app_roles.as_ref())
            .and_then(|roles| {
                roles
                    .iter()
                    .find(|r| r.id.map(|i| i.to_string()).as_deref() == Some(role_id))
            })
            .and_then(|r| r.value.clone())
            .unwrap_or_else(|| role_id.to_string());
        return (resource.name.clone(), resource.slug.clone(), value);
    }
    (
        resource_sp_id.to_string(),
        resource_sp_id.to_string(),
        role_id.to_string(),
    )
}

/// Applies [`Op::GrantAppRole`]. Until the new service principal replicates, Graph
/// answers 404; an assignment that already exists means a previous run made it.
async fn grant_app_role(
    ctx: &ApplyContext<'_>,
    resource_sp_id: &str,
    app_role_id: uuid::Uuid,
) -> Result<(), ApplyError> {
    let principal = ctx
        .known()
        .sp_id
        .ok_or(ApplyError::Missing("the service principal's id"))?;
    let request = Request::post(
        format!("servicePrincipals/{resource_sp_id}/appRoleAssignedTo"),
        json!({"principalId": principal, "resourceId": resource_sp_id, "appRoleId": app_role_id}),
    );
    let send = || async {
        ctx.retry_while_replicating(
            "the new service principal",
            |e| e.status() == Some(404),
            || ctx.client.send(&request),
        )
        .await
    };
    let mut result = send().await;
    // An answer that may come after the write took effect: look before sending it again.
    if matches!(
        result,
        Err(ApplyError::Graph(GraphError::Interrupted { .. }))
    ) {
        if assignment(ctx, &principal, resource_sp_id, app_role_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        result = send().await;
    }
    match result {
        // Graph answers a duplicate assignment with a bare 400 `Request_BadRequest` (its
        // message is the only thing that tells; see calls.json), so the tenant is asked instead,
        // until lists show what the write made.
        Err(ApplyError::Graph(e)) if e.status() == Some(400) => {
            let existing = listed_once_replicated(ctx, "the existing app role assignment", || {
                assignment(ctx, &principal, resource_sp_id, app_role_id)
            })
            .await?;
            existing.map(|_| ()).ok_or(ApplyError::Graph(e))
        }
        other => other.map(|_| ()),
    }
}

/// The assignment of `app_role_id` on the resource that `principal` holds, as lists show now.
async fn assignment(
    ctx: &ApplyContext<'_>,
    principal: &str,
    resource_sp_id: &str,
    app_role_id: uuid::Uuid,
) -> Result<Option<AppRoleAssignment>, GraphError> {
    let held = app_read::assignments(ctx.client, principal).await?;
    Ok(held.into_iter().find(|a| {
        a.resource_id
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(resource_sp_id))
            && a.app_role_id == Some(app_role_id)
    }))
}

/// After Graph refused a create as a duplicate: the existing object, looked for until lists
/// show it (they lag behind the write that made it) or the replication budget runs out.
async fn listed_once_replicated<T, F, Fut>(
    ctx: &ApplyContext<'_>,
    what: &str,
    find: F,
) -> Result<Option<T>, ApplyError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, GraphError>>,
{
    match ctx.poll_until_replicated(what, find).await {
        Ok(found) => Ok(Some(found)),
        Err(ApplyError::ReplicationTimeout { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Applies [`Op::RevokeAppRole`]; already gone is fine.
async fn revoke_app_role(
    ctx: &ApplyContext<'_>,
    resource_sp_id: &str,
    assignment_id: &str,
) -> Result<(), ApplyError> {
    Ok(ctx
        .delete_if_present(&format!(
            "servicePrincipals/{resource_sp_id}/appRoleAssignedTo/{assignment_id}"
        ))
        .await?)
}

/// Applies [`Op::CreateGrant`]. A grant that already exists (a lost answer, a
/// concurrent run) is corrected instead.
async fn create_grant(
    ctx: &ApplyContext<'_>,
    resource_sp_id: &str,
    scope: &str,
) -> Result<(), ApplyError> {
    let client_id = ctx
        .known()
        .sp_id
        .ok_or(ApplyError::Missing("the service principal's id"))?;
    let request = Request::post(
        "oauth2PermissionGrants",
        json!({"clientId": client_id, "consentType": "AllPrincipals", "resourceId": resource_sp_id, "scope": scope}),
    );
    let send = || async {
        ctx.retry_while_replicating(
            "the new service principal",
            |e| e.status() == Some(404),
            || ctx.client.send(&request),
        )
        .await
    };
    let mut result = send().await;
    // An answer that may come after the write took effect: look before sending it again.
    if matches!(
        result,
        Err(ApplyError::Graph(GraphError::Interrupted { .. }))
    ) {
        if let Some(id) = grant_id(ctx, &client_id, resource_sp_id).await? {
            return update_grant(ctx, &id, scope).await;
        }
        result = send().await;
    }
    match result {
        // A duplicate grant is 409 `Request_MultipleObjectsWithSameKeyValue`, or a bare 400
        // in some answers seen in public code (calls.json); either way the tenant is asked
        // whether the grant exists, and only then is it corrected.
        Err(ApplyError::Graph(e)) if matches!(e.status(), Some(400 | 409)) => {
            let existing = listed_once_replicated(ctx, "the existing grant", || {
                grant_id(ctx, &client_id, resource_sp_id)
            })
            .await?;
            let id = existing.ok_or(ApplyError::Graph(e))?;
            update_grant(ctx, &id, scope).await
        }
        other => other.map(|_| ()),
    }
}

/// The id of the tenant-wide grant `client_id` holds on the resource, as lists show now.
async fn grant_id(
    ctx: &ApplyContext<'_>,
    client_id: &str,
    resource_sp_id: &str,
) -> Result<Option<String>, GraphError> {
    let grants = app_read::grants(ctx.client, client_id).await?;
    Ok(grants
        .into_iter()
        .filter(|g| {
            g.resource_id
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(resource_sp_id))
        })
        .find_map(|g| g.id))
}

/// Applies [`Op::UpdateGrant`].
async fn update_grant(
    ctx: &ApplyContext<'_>,
    grant_id: &str,
    scope: &str,
) -> Result<(), ApplyError> {
    ctx.client
        .send(&Request::patch(
            format!("oauth2PermissionGrants/{grant_id}"),
            json!({"scope": scope}),
        ))
        .await?;
    Ok(())
}

/// Applies [`Op::DeleteGrant`]; already gone is fine.
async fn delete_grant(ctx: &ApplyContext<'_>, grant_id: &str) -> Result<(), ApplyError> {
    Ok(ctx
        .delete_if_present(&format!("oauth2PermissionGrants/{grant_id}"))
        .await?)
}
