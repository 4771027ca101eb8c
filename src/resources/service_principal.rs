//! The app's service principal (its enterprise application), upserted by `appId`: its tags,
//! and enabled, so that users can sign in to the app.

use serde_json::{json, Value};

use super::consent;
use crate::config::Desired;
use crate::graph::models::ServicePrincipal;
use crate::graph::{odata, Request};
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, AttributeChange, DestroyDraft, ManagedKind,
    Operation, PlanDraft, PlanError, ResourceChange,
};
use crate::live::LiveState;

pub const KIND: &str = "service_principal";

/// Lists the app under Enterprise applications, as the portal's registrations do.
const TAG: &str = "WindowsAzureActiveDirectoryIntegratedApp";

/// A disabled service principal signs nobody in to the app: the mail integration stops.
const ACCOUNT_ENABLED: bool = true;

/// The tags the service principal should carry: its own, plus ours.
fn wanted_tags(desired: &Desired, live: &LiveState) -> Vec<String> {
    let mut tags: Vec<String> = live
        .service_principal
        .as_ref()
        .and_then(|sp| sp.tags.clone())
        .unwrap_or_default();
    for tag in [
        TAG.to_string(),
        crate::ownership::service_principal_key(&desired.app.unique_name),
    ] {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

pub fn address(desired: &Desired) -> Address {
    Address::service_principal(desired)
}

/// The service principal kind. It is read in the application kind's wave, since the app's
/// `appId` is its key.
pub struct ServicePrincipalKind;

#[async_trait::async_trait]
impl ManagedKind for ServicePrincipalKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        draft.changes.extend(plan(draft.desired, draft.live));
        Ok(())
    }

    /// Deleted before the app, after its consent.
    fn destroy(&self, draft: &mut DestroyDraft<'_>) {
        let live = draft.live;
        if live.application.is_none() || live.adopting_app() {
            return;
        }
        let Some(id) = live.service_principal_id() else {
            return;
        };
        let mut change = ResourceChange::new(
            address(draft.desired),
            Action::Delete,
            Op::DeleteServicePrincipal { id: id.to_string() },
        );
        change.before = json!({"id": id, "app_id": live.app_id()});
        change.depends_on = draft
            .changes
            .iter()
            .filter(|c| matches!(c.kind(), consent::GRANT_KIND | consent::ASSIGNMENT_KIND))
            .map(|c| c.address.clone())
            .collect();
        draft.changes.push(change);
    }
}

/// What apply does to the service principal.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `PATCH /servicePrincipals(appId=…)` with `Prefer: create-if-missing`: the service
    /// principal with its tags (ours include the key that finds it by `uniqueName`).
    UpsertServicePrincipal {
        tags: Vec<String>,
    },
    DeleteServicePrincipal {
        id: String,
    },
}

#[async_trait::async_trait]
impl Operation for Op {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        match self {
            Op::UpsertServicePrincipal { tags } => upsert(ctx, tags).await,
            Op::DeleteServicePrincipal { id } => delete(ctx, id).await,
        }
    }
}

fn plan(desired: &Desired, live: &LiveState) -> Vec<ResourceChange> {
    let tags = wanted_tags(desired, live);
    let app_id = live.app_id().unwrap_or("(known after apply)");
    let (action, before, attributes) = match &live.service_principal {
        None => (
            Action::Create,
            Value::Null,
            vec![
                AttributeChange {
                    name: "app_id".into(),
                    before: Value::Null,
                    after: json!(app_id),
                },
                AttributeChange {
                    name: "account_enabled".into(),
                    before: Value::Null,
                    after: json!(ACCOUNT_ENABLED),
                },
            ],
        ),
        Some(sp) => {
            let current = sp.tags.clone().unwrap_or_default();
            // Graph documents a null accountEnabled as enabled.
            let enabled = sp.account_enabled.unwrap_or(true);
            let mut attributes = Vec::new();
            if current != tags {
                attributes.push(AttributeChange {
                    name: "tags".into(),
                    before: json!(current),
                    after: json!(tags),
                });
            }
            if enabled != ACCOUNT_ENABLED {
                attributes.push(AttributeChange {
                    name: "account_enabled".into(),
                    before: json!(enabled),
                    after: json!(ACCOUNT_ENABLED),
                });
            }
            if attributes.is_empty() {
                return Vec::new();
            }
            (
                Action::Update,
                json!({"app_id": app_id, "account_enabled": enabled, "tags": current}),
                attributes,
            )
        }
    };
    vec![ResourceChange {
        address: address(desired),
        action,
        before,
        attributes,
        after: json!({"app_id": app_id, "account_enabled": ACCOUNT_ENABLED, "tags": tags}),
        reason: None,
        depends_on: vec![Address::application(desired)],
        operation: Op::UpsertServicePrincipal { tags }.into(),
    }]
}

/// Applies [`Op::UpsertServicePrincipal`]. Right after the app is created Entra
/// answers `NoBackingApplicationObject` until the app replicates.
async fn upsert(ctx: &ApplyContext<'_>, tags: &[String]) -> Result<(), ApplyError> {
    let app_id = ctx
        .known()
        .app_id
        .ok_or(ApplyError::Missing("the application's appId"))?;
    let path = odata::by_key("servicePrincipals", "appId", &app_id);
    let request = Request::patch(
        &path,
        json!({ "tags": tags, "accountEnabled": ACCOUNT_ENABLED }),
    )
    .header("Prefer", "create-if-missing");
    let response = ctx
        .retry_while_replicating(
            "the new application",
            |e| e.has_code("NoBackingApplicationObject") || e.status() == Some(404),
            || ctx.client.send(&request),
        )
        .await?;
    let service_principal: ServicePrincipal = if response.status == 201 {
        response.json()?
    } else {
        ctx.retry_while_replicating(
            "the service principal",
            |e| e.status() == Some(404),
            || ctx.client.get(&path),
        )
        .await?
    };
    ctx.learn_service_principal(service_principal.id.unwrap_or_default());
    Ok(())
}

/// Applies [`Op::DeleteServicePrincipal`]; already gone is fine.
async fn delete(ctx: &ApplyContext<'_>, id: &str) -> Result<(), ApplyError> {
    Ok(ctx
        .delete_if_present(&format!("servicePrincipals/{id}"))
        .await?)
}
