//! The app as the holder of the ownership record: who may take over a portal-made app, the
//! adoption that records it, and keeping the record's entries true.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{address, Op, RECORD_KIND};
use crate::config::Desired;
use crate::kind::{Action, Address, AttributeChange, PlanError, PlanOptions, ResourceChange};
use crate::live::LiveState;
use crate::ownership::Entry;

/// An app named like ours without our `uniqueName` is someone else's until `--adopt`.
pub(super) fn check_app_ownership(
    desired: &Desired,
    live: &LiveState,
    options: &PlanOptions,
) -> Result<(), PlanError> {
    let candidates = &live.adoption_candidates;
    if candidates.len() > 1 {
        return Err(PlanError::SeveralAppCandidates {
            name: desired.app.display_name.clone(),
            ids: candidates.iter().filter_map(|a| a.id.clone()).collect(),
        });
    }
    let portal_app = match (&live.application, candidates.first()) {
        (Some(app), _) if live.adopting_app() && !options.adopt => Some(app),
        // Named like ours but not readable yet: never create a second app beside it.
        (None, Some(app)) => Some(app),
        _ => None,
    };
    match portal_app {
        Some(app) => Err(PlanError::AppNotOurs {
            name: desired.app.display_name.clone(),
            id: app.id.clone().unwrap_or_default(),
            app_id: app.app_id.clone().unwrap_or_default(),
            unique_name: desired.app.unique_name.clone(),
        }),
        None => Ok(()),
    }
}

/// The app change of a portal-made app, as one adoption: `uniqueName`, the record and the
/// corrections in one PATCH of the app's object id.
pub(super) fn adopt_app(
    desired: &Desired,
    live: &LiveState,
    app_changes: Vec<ResourceChange>,
    to_record: &[Entry],
) -> Vec<ResourceChange> {
    let address = address(desired);
    let (mut correction, rest): (Vec<ResourceChange>, Vec<ResourceChange>) =
        app_changes.into_iter().partition(|c| c.address == address);
    let app = live.application.as_ref();
    let id = app.and_then(|a| a.id.clone()).unwrap_or_default();
    let app_id = app.and_then(|a| a.app_id.clone()).unwrap_or_default();
    let correction = correction.pop();
    let (mut body, disable_scopes_first, before, after, mut attributes) = match correction
        .as_ref()
        .and_then(|c| Some((c, c.operation_as::<Op>()?)))
    {
        Some((
            change,
            Op::UpsertApplication {
                body,
                disable_scopes_first,
            },
        )) => (
            body.clone(),
            disable_scopes_first.clone(),
            change.before.clone(),
            change.after.clone(),
            change.attributes.clone(),
        ),
        _ => (json!({}), None, Value::Null, Value::Null, Vec::new()),
    };
    body["uniqueName"] = json!(desired.app.unique_name);
    attributes.insert(
        0,
        AttributeChange {
            name: "unique_name".into(),
            before: Value::Null,
            after: json!(desired.app.unique_name),
        },
    );
    let mut changes = vec![ResourceChange {
        address,
        action: Action::Adopt,
        before,
        after,
        attributes,
        reason: Some(format!(
            "made outside entra-mail ({id}, appId {app_id}); taken over with --adopt"
        )),
        depends_on: Vec::new(),
        operation: Op::AdoptApplication {
            id,
            body,
            record: to_record.to_vec(),
            disable_scopes_first,
        }
        .into(),
    }];
    changes.extend(rest);
    changes
}

/// Brings the ownership record up to date: an app from before the record gets one (its
/// secrets of our name counted as delivered, since any may be in use), and entries of
/// objects that are gone are dropped.
pub(super) fn record_sync(
    desired: &Desired,
    live: &LiveState,
    mut add: Vec<Entry>,
    now: OffsetDateTime,
) -> Option<ResourceChange> {
    live.application.as_ref()?;
    let record = &live.record;
    let mut remove: Vec<Entry> = record
        .delivered_secrets
        .iter()
        .filter(|key| !live.has_secret(**key))
        .map(|key| Entry::DeliveredSecret(*key))
        .collect();
    // Policy entries are never pruned: a recorded policy missing from the list may only be
    // replicating, and an entry for one deleted by hand costs nothing.
    // An intent no policy answered within the pending window: its POST never happened.
    let intent_window = crate::resources::client_secret::PENDING_WINDOW.whole_seconds();
    let answered = live.conditional_access.as_ref().is_some_and(|ca| {
        ca.policies.iter().any(|p| {
            p.created_date_time.is_some_and(|c| record.intended(c))
                && !p.id.as_deref().is_some_and(|id| record.owns_policy(id))
        })
    });
    if !answered {
        remove.extend(
            record
                .policy_intents
                .iter()
                .filter(|at| now.unix_timestamp().saturating_sub(**at) > intent_window)
                .map(|at| Entry::PolicyIntent(*at)),
        );
    }
    add.sort_by_key(|e| format!("{e:?}"));
    if record.present && add.is_empty() && remove.is_empty() {
        return None;
    }
    let describe = |entries: &[Entry]| -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Policy(id) => format!("policy {id}"),
                Entry::DeliveredSecret(key) => format!("delivered secret {key}"),
                Entry::PolicyIntent(at) => format!("intent to create a policy at {at}"),
                Entry::Made(kind, id) => format!("{kind} {id}, made by entra-mail"),
            })
            .collect()
    };
    let reason = if record.present {
        "entries are missing or name objects that are gone"
    } else {
        "the app has no ownership record yet; its secrets of our name may be in use, so they are recorded as delivered"
    };
    Some(ResourceChange {
        address: Address::new(RECORD_KIND, desired.app.unique_name.clone()),
        action: if record.present {
            Action::Update
        } else {
            Action::Create
        },
        before: json!(describe(&remove)),
        after: json!(describe(&add)),
        attributes: vec![AttributeChange {
            name: "entries".into(),
            before: json!(describe(&remove)),
            after: json!(describe(&add)),
        }],
        reason: Some(reason.into()),
        depends_on: Vec::new(),
        operation: Op::WriteRecord { add, remove }.into(),
    })
}
