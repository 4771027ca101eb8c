//! Client secrets. Graph shows a secret's value once; ours are marked by their display name.
//! A live secret whose value the outputs hold, outside the renewal window, is kept; otherwise a
//! new one is made. Ours that nobody holds (orphans) go, and a renewed one goes after the grace
//! period.

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::apply::{ApplyContext, ApplyError};
use crate::config::Desired;
use crate::graph::models::PasswordCredential;
use crate::live::LiveState;
use crate::outputs::{HeldSecret, Outputs};
use crate::plan::{Action, AttributeChange, Operation, ResourceChange};

pub const KIND: &str = "client_secret";

pub fn address(desired: &Desired) -> String {
    format!("{KIND}.{}", desired.secret.display_name)
}

fn date(t: OffsetDateTime) -> String {
    t.date().to_string()
}

pub fn plan(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    now: OffsetDateTime,
) -> Vec<ResourceChange> {
    let ours: Vec<&PasswordCredential> = live
        .application
        .iter()
        .flat_map(|a| a.password_credentials.iter().flatten())
        .filter(|c| c.display_name.as_deref() == Some(desired.secret.display_name.as_str()))
        .collect();
    let outputs = outputs.filter(|o| Some(o.client_id.as_str()) == live.app_id());
    let held = outputs.and_then(|o| o.secret.as_ref());
    let held_live = held.filter(|h| ours.iter().any(|c| c.key_id == Some(h.key_id)));
    let renew_from = |h: &HeldSecret| {
        h.expires - time::Duration::days(i64::from(desired.secret.renew_before_days))
    };

    let create_reason = match (held, held_live) {
        (_, Some(h)) if now >= renew_from(h) => Some(format!(
            "the held secret expires on {}, inside the {}-day renewal window",
            date(h.expires),
            desired.secret.renew_before_days
        )),
        (_, Some(_)) => None,
        (Some(_), None) => {
            Some("the secret in the outputs file no longer exists in the tenant".into())
        }
        (None, None) if live.application.is_some() => {
            Some("no outputs file holds a secret of this app".into())
        }
        (None, None) => None,
    };
    let mut changes = Vec::new();
    let creating = create_reason.is_some() || live.application.is_none();
    if creating {
        let expires = now + time::Duration::days(i64::from(desired.secret.lifetime_days));
        let after = json!({"display_name": desired.secret.display_name, "expires": date(expires), "value": "(sensitive)"});
        changes.push(ResourceChange {
            address: address(desired),
            kind: KIND,
            action: Action::Create,
            before: Value::Null,
            attributes: vec![
                AttributeChange {
                    name: "expires".into(),
                    before: Value::Null,
                    after: json!(date(expires)),
                },
                AttributeChange {
                    name: "value".into(),
                    before: Value::Null,
                    after: json!("(sensitive)"),
                },
            ],
            after,
            reason: create_reason,
            depends_on: vec![super::application::address(desired)],
            operation: Operation::AddSecret {
                display_name: desired.secret.display_name.clone(),
                lifetime_days: desired.secret.lifetime_days,
            },
        });
    }
    let previous = outputs.and_then(|o| o.previous_secret.as_ref());
    for credential in &ours {
        let Some(key_id) = credential.key_id else {
            continue;
        };
        let reason = if held_live.is_some_and(|h| h.key_id == key_id) {
            // The held secret: kept, or (when renewed with no grace period) removed.
            if !creating || desired.secret.grace_period_days > 0 {
                continue;
            }
            "renewed; the grace period is 0 days".to_string()
        } else if let Some(p) = previous.filter(|p| p.key_id == key_id) {
            let until =
                p.replaced_at + time::Duration::days(i64::from(desired.secret.grace_period_days));
            if now < until {
                continue;
            }
            format!(
                "replaced on {}; its {}-day grace period is over",
                date(p.replaced_at),
                desired.secret.grace_period_days
            )
        } else {
            "orphan: nobody holds its value".to_string()
        };
        let short = key_id.to_string()[..8].to_string();
        changes.push(ResourceChange {
            address: format!("{}[{short}]", address(desired)),
            kind: KIND,
            action: Action::Delete,
            before: json!({
                "key_id": key_id,
                "hint": credential.hint,
                "expires": credential.end_date_time.map(date),
            }),
            after: Value::Null,
            attributes: Vec::new(),
            reason: Some(reason),
            depends_on: if creating {
                vec![address(desired)]
            } else {
                Vec::new()
            },
            operation: Operation::RemoveSecret { key_id },
        });
    }
    changes
}

/// Applies [`Operation::AddSecret`] and saves the value at once: the tenant will never show it
/// again.
pub async fn add(
    ctx: &ApplyContext<'_>,
    display_name: &str,
    lifetime_days: u32,
) -> Result<(), ApplyError> {
    let object_id = ctx
        .known()
        .app_object_id
        .ok_or(ApplyError::Missing("the application's object id"))?;
    let expires = OffsetDateTime::now_utc() + time::Duration::days(i64::from(lifetime_days));
    let end = expires
        .replace_nanosecond(0)
        .unwrap_or(expires)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = json!({"passwordCredential": {"displayName": display_name, "endDateTime": end}});
    let path = format!("applications/{object_id}/addPassword");
    let credential: PasswordCredential = ctx
        .retry_while_replicating(
            "the new application",
            |e| e.status() == Some(404),
            || ctx.client.post(&path, &body),
        )
        .await?;
    let (Some(key_id), Some(value)) = (credential.key_id, credential.secret_text) else {
        return Err(ApplyError::Missing(
            "the new secret's keyId and value in Graph's answer",
        ));
    };
    ctx.record_secret(HeldSecret {
        key_id,
        display_name: display_name.to_string(),
        value,
        expires: credential.end_date_time.unwrap_or(expires),
    })
}

/// Applies [`Operation::RemoveSecret`]; a secret already gone is fine.
pub async fn remove(ctx: &ApplyContext<'_>, key_id: Uuid) -> Result<(), ApplyError> {
    let object_id = ctx
        .known()
        .app_object_id
        .ok_or(ApplyError::Missing("the application's object id"))?;
    let result = ctx
        .client
        .send(
            &crate::graph::Request::post(
                format!("applications/{object_id}/removePassword"),
                json!({"keyId": key_id}),
            )
            .idempotent(true),
        )
        .await;
    match result {
        Err(e)
            if matches!(e.status(), Some(404) | Some(400))
                && !e.has_code("Authorization_RequestDenied") => {}
        other => {
            other?;
        }
    }
    ctx.forget_previous_secret(key_id);
    Ok(())
}
