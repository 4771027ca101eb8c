//! The app's service principal (its enterprise application), upserted by `appId`.

use serde_json::{json, Value};

use crate::apply::{ApplyContext, ApplyError};
use crate::config::Desired;
use crate::graph::models::ServicePrincipal;
use crate::graph::{odata, Request};
use crate::live::LiveState;
use crate::plan::{Action, AttributeChange, Operation, ResourceChange};

pub const KIND: &str = "service_principal";

/// Lists the app under Enterprise applications, as the portal's registrations do.
const TAG: &str = "WindowsAzureActiveDirectoryIntegratedApp";

pub fn address(desired: &Desired) -> String {
    format!("{KIND}.{}", desired.app.unique_name)
}

pub fn plan(desired: &Desired, live: &LiveState) -> Vec<ResourceChange> {
    if live.service_principal.is_some() {
        return Vec::new();
    }
    let app_id = live.app_id().unwrap_or("(known after apply)");
    let after = json!({"app_id": app_id, "tags": [TAG]});
    vec![ResourceChange {
        address: address(desired),
        kind: KIND,
        action: Action::Create,
        before: Value::Null,
        attributes: vec![AttributeChange {
            name: "app_id".into(),
            before: Value::Null,
            after: json!(app_id),
        }],
        after,
        reason: None,
        depends_on: vec![super::application::address(desired)],
        operation: Operation::UpsertServicePrincipal,
    }]
}

/// Applies [`Operation::UpsertServicePrincipal`]. Right after the app is created Entra
/// answers `NoBackingApplicationObject` until the app replicates.
pub async fn upsert(ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
    let app_id = ctx
        .known()
        .app_id
        .ok_or(ApplyError::Missing("the application's appId"))?;
    let path = odata::by_key("servicePrincipals", "appId", &app_id);
    let request =
        Request::patch(&path, json!({"tags": [TAG]})).header("Prefer", "create-if-missing");
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

/// Applies [`Operation::DeleteServicePrincipal`]; already gone is fine.
pub async fn delete(ctx: &ApplyContext<'_>, id: &str) -> Result<(), ApplyError> {
    match ctx.client.delete(&format!("servicePrincipals/{id}")).await {
        Err(e) if e.status() == Some(404) => Ok(()),
        other => Ok(other?),
    }
}
