//! The local outputs: `outputs.json` and the rendered templates. Not a tenant object, but
//! part of the plan, so a deleted or stale config sheet shows as a change.

use serde_json::{json, Value};

use crate::config::Desired;
use crate::live::LiveState;
use crate::outputs::Outputs;
use crate::plan::{Action, Operation, PlanError, ResourceChange};

pub const KIND: &str = "outputs";

pub fn address(desired: &Desired) -> String {
    format!("{KIND}.{}", desired.outputs.directory.display())
}

pub fn plan(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    new_secret: bool,
    changes: &[ResourceChange],
) -> Result<Option<ResourceChange>, PlanError> {
    let files: Vec<String> = std::iter::once(crate::outputs::FILE_NAME.to_string())
        .chain(desired.outputs.templates.iter().map(|t| t.to_string()))
        .collect();
    // A held secret the tenant no longer has (revoked, or replaced by another runner's
    // rotation) leaves the outputs; a held secret this run removes, too.
    let held_secret_dies = outputs
        .filter(|_| live.application.is_some())
        .and_then(|o| o.secret.as_ref())
        .is_some_and(|held| {
            !live.has_secret(held.key_id)
                || changes.iter().any(|c| {
                    c.operation
                        == Operation::RemoveSecret {
                            key_id: held.key_id,
                        }
                })
        });
    let ids_change = changes.iter().any(|c| {
        c.action == Action::Create
            && matches!(
                c.operation,
                Operation::UpsertApplication { .. } | Operation::UpsertServicePrincipal { .. }
            )
    });
    let (action, reason) = if new_secret || ids_change || held_secret_dies {
        (
            if outputs.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            (held_secret_dies && !new_secret).then(|| {
                "the secret outputs.json holds no longer exists in the tenant (or is removed now)"
                    .to_string()
            }),
        )
    } else {
        match outputs {
            None => return Ok(None),
            Some(held) => {
                let ids_match = Some(held.client_id.as_str()) == live.app_id()
                    && Some(held.application_object_id.as_str()) == live.app_object_id()
                    && held.service_principal_id.as_deref() == live.service_principal_id();
                let rendered = crate::render::render_all(desired, held)
                    .map_err(|e| PlanError::Render(e.to_string()))?;
                if ids_match && crate::render::up_to_date(&rendered) {
                    return Ok(None);
                }
                let reason = if ids_match {
                    "rendered files are missing or differ"
                } else {
                    "the ids in outputs.json differ from the tenant's"
                };
                (Action::Update, Some(reason.to_string()))
            }
        }
    };
    Ok(Some(ResourceChange {
        address: address(desired),
        kind: KIND,
        action,
        before: Value::Null,
        after: json!({"files": files}),
        attributes: Vec::new(),
        reason,
        // The outputs hold the app's ids and secret; the policy is not in them, so they do
        // not wait for it (Conditional Access is paced at one request per second).
        depends_on: changes
            .iter()
            .filter(|c| c.kind != super::conditional_access::KIND)
            .map(|c| c.address.clone())
            .collect(),
        operation: Operation::WriteOutputs,
    }))
}
