//! Client secrets, decided from the tenant alone. Ours carry the configured display name;
//! the ownership record on the app says which of them were delivered (see `ownership`).
//!
//! - Keep: a delivered secret outside the renewal window, whether or not this machine holds
//!   its value.
//! - Create: when no delivered secret of ours is valid, in the renewal window, or on
//!   `--rotate-secret`.
//! - Remove: only what is provably unused: a pending secret (never delivered) old enough that
//!   no run can still be delivering it, a replaced secret past its grace period, an expired
//!   one.

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{Desired, DesiredKeyVault};
use crate::graph::models::{Application, PasswordCredential};
use crate::graph::{odata, GraphClient, GraphError, Request};
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, AttributeChange, ManagedKind, NewSecretFate,
    Operation, PlanDraft, PlanError, PlanOptions, Reader, ResourceChange,
};
use crate::live::LiveState;
use crate::outputs::{HeldSecret, Outputs};
use crate::ownership::{Entry, Record};
use crate::vault::{VaultError, VaultState};

pub const KIND: &str = "client_secret";

/// How long a secret that is not recorded as delivered may belong to a run still delivering
/// it (addPassword answered, outputs being written, record being written). Only after this is
/// it provably an orphan.
pub const PENDING_WINDOW: time::Duration = time::Duration::minutes(10);

pub fn address(desired: &Desired) -> Address {
    Address::new(KIND, desired.secret.display_name.clone())
}

/// The client secret kind. Secrets are part of the app object, read in its wave.
pub struct ClientSecretKind;

#[async_trait::async_trait]
impl ManagedKind for ClientSecretKind {
    fn name(&self) -> &'static str {
        KIND
    }

    async fn settle(&self, reader: &Reader<'_>, live: &mut LiveState) -> Result<(), GraphError> {
        await_held_secret(reader.client, reader.desired, reader.hint, live).await
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        let secrets = plan(draft.desired, draft.live, draft.outputs, draft.options);
        if let Some(refusal) = secrets.refusal {
            return Err(PlanError::refused(refusal));
        }
        draft.warnings.extend(secrets.warnings);
        draft.changes.extend(secrets.changes);
        Ok(())
    }
}

/// What apply does to the app's secrets.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    AddSecret {
        display_name: String,
        lifetime_days: u32,
    },
    RemoveSecret {
        key_id: Uuid,
    },
    /// Writes the secret this machine holds to the configured Key Vault.
    DeliverHeld {
        key_id: Uuid,
    },
}

#[async_trait::async_trait]
impl Operation for Op {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        match self {
            Op::AddSecret {
                display_name,
                lifetime_days,
            } => add(ctx, display_name, *lifetime_days).await,
            Op::RemoveSecret { key_id } => remove(ctx, *key_id).await,
            Op::DeliverHeld { key_id } => deliver_held(ctx, *key_id).await,
        }
    }

    fn makes_secret(&self) -> bool {
        matches!(self, Op::AddSecret { .. })
    }
}

/// The secrets the ownership record must list as delivered (held, or trusted but not yet
/// listed): the application kind writes them with the record.
pub fn to_record(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    options: &PlanOptions,
) -> Vec<Entry> {
    plan(desired, live, outputs, options).to_record
}

fn date(t: OffsetDateTime) -> String {
    t.date().to_string()
}

/// One secret of ours as the tenant holds it.
struct Ours<'a> {
    key_id: Uuid,
    credential: &'a PasswordCredential,
    delivered: bool,
    /// Its place among the app's secrets of ours.
    position: usize,
}

impl Ours<'_> {
    fn started(&self) -> OffsetDateTime {
        self.credential
            .start_date_time
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn expires(&self) -> OffsetDateTime {
        self.credential
            .end_date_time
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Our secrets with what the tenant says of each. An app without a record (made before the
/// record existed, or adopted) may have any of them in use, so all count as delivered; so does
/// one whose value this machine holds, which proves delivery (it can only keep a secret, never
/// remove one).
/// The Key Vault's copy proves delivery the same way: the vault answered the write.
fn ours<'a>(desired: &'a Desired, live: &'a LiveState, held: Option<&HeldSecret>) -> Vec<Ours<'a>> {
    let record = &live.record;
    let trust_all = !record.present;
    let in_vault = live.vault.as_ref().and_then(VaultState::key_id);
    let mut ours: Vec<Ours> = live
        .our_secrets(&desired.secret.display_name)
        .enumerate()
        .filter_map(|(position, credential)| {
            let key_id = credential.key_id?;
            let delivered = trust_all
                || record.delivered(key_id)
                || held.is_some_and(|h| h.key_id == key_id)
                || in_vault == Some(key_id);
            Some(Ours {
                key_id,
                credential,
                delivered,
                position,
            })
        })
        .collect();
    // Oldest first. Graph gives start times to the second, so two secrets made in one second
    // are told apart by expiry, then by which one this runner holds, then by their order on
    // the app (addPassword appends): never by keyId alone, which would let a renewal remove
    // the secret it just delivered. Which one the vault serves says nothing of age.
    let is_held = |key: Uuid| held.is_some_and(|h| h.key_id == key);
    ours.sort_by_key(|s| {
        (
            s.started(),
            s.expires(),
            is_held(s.key_id),
            s.position,
            s.key_id,
        )
    });
    ours
}

/// The secret changes, the secrets that must be recorded as delivered (held or trusted but not
/// yet listed), and warnings.
struct SecretPlan {
    pub changes: Vec<ResourceChange>,
    pub to_record: Vec<Entry>,
    pub warnings: Vec<String>,
    /// Why no plan can be made (a new secret the vault could not take).
    pub refusal: Option<VaultError>,
}

fn plan(
    desired: &Desired,
    live: &LiveState,
    outputs: Option<&Outputs>,
    options: &PlanOptions,
) -> SecretPlan {
    let now = options.now;
    let held = outputs
        .filter(|o| Some(o.client_id.as_str()) == live.app_id())
        .and_then(|o| o.secret.as_ref());
    let ours = ours(desired, live, held);
    let renew_before = time::Duration::days(i64::from(desired.secret.renew_before_days));
    let grace = time::Duration::days(i64::from(desired.secret.grace_period_days));
    // The newest delivered secret still valid (`ours` is oldest first).
    let current = ours.iter().rev().find(|s| s.delivered && s.expires() > now);

    let create_reason = if live.application.is_none() {
        None
    } else if options.rotate_secret {
        Some("--rotate-secret".to_string())
    } else {
        match current {
            None if ours.iter().any(|s| s.delivered) => {
                Some("every delivered secret of ours has expired".to_string())
            }
            None => Some("the tenant holds no delivered secret of ours".to_string()),
            Some(c) if now >= c.expires() - renew_before => Some(format!(
                "the current secret expires on {}, inside the {}-day renewal window",
                date(c.expires()),
                desired.secret.renew_before_days
            )),
            Some(_) => None,
        }
    };
    let creating = create_reason.is_some() || live.application.is_none();
    let mut changes = Vec::new();
    if creating {
        changes.push(create_change(desired, now, create_reason));
    }

    let mut warnings = Vec::new();
    let mut refusal = None;
    // The address of a change that writes the current secret to the vault, if one is planned.
    let mut delivering = None;
    if let (Some(state), Some(vault)) = (&live.vault, &desired.secret.key_vault) {
        let vault_url = live
            .vault_url
            .clone()
            .unwrap_or_else(|| vault.vault.to_string());
        if creating {
            match state {
                VaultState::SoftDeleted => {
                    refusal = Some(VaultError::SoftDeleted {
                        vault: vault_url,
                        name: vault.secret_name.clone(),
                    });
                }
                VaultState::Present(copy) if copy.key_id.is_none() && copy.client_id.is_none() => {
                    warnings.push(format!(
                        "Key Vault {vault_url} secret `{}` holds a value entra-mail did not write (no key-id or client-id tag); the new client secret becomes its current version, and the old value stays an older version",
                        vault.secret_name
                    ));
                }
                _ => {}
            }
        } else if let Some(current) = current.filter(|c| state.key_id() != Some(c.key_id)) {
            let behind = VaultBehind {
                state,
                vault,
                vault_url: &vault_url,
                ours: &ours,
                current,
                now,
            };
            match behind.remedy(held, desired) {
                Remedy::Deliver(change) => {
                    delivering = Some(change.address.clone());
                    changes.push(*change);
                }
                Remedy::Warn(warning) => warnings.push(warning),
            }
        }
    }
    // A valid secret the vault still serves is in use by whoever reads the vault: it goes
    // only once the vault holds its successor.
    let in_vault = live.vault.as_ref().and_then(VaultState::key_id);
    for (index, secret) in ours.iter().enumerate() {
        let successor = ours[index + 1..].iter().find(|s| s.delivered);
        let reason = if !secret.delivered {
            let age = now - secret.started();
            if age < PENDING_WINDOW {
                warnings.push(format!(
                    "client secret {} was made {}s ago and is not recorded as delivered; it may belong to a run still in progress, so it is kept for now (an undelivered secret is removed once it is {} minutes old)",
                    short(secret.key_id),
                    age.whole_seconds().max(0),
                    PENDING_WINDOW.whole_minutes()
                ));
                continue;
            }
            "never delivered: its value reached nobody (a lost answer or a crash before delivery)"
                .to_string()
        } else if secret.expires() <= now {
            format!("expired on {}", date(secret.expires()))
        } else if let Some(next) = successor {
            if now < next.started() + grace {
                continue;
            }
            format!(
                "replaced on {}; its {}-day grace period is over",
                date(next.started()),
                desired.secret.grace_period_days
            )
        } else if creating && grace.is_zero() {
            "replaced by this run; the grace period is 0 days".to_string()
        } else {
            continue;
        };
        let served = in_vault == Some(secret.key_id) && secret.expires() > now;
        let mut change = remove_change(desired, secret, reason, creating);
        if served && !creating {
            match &delivering {
                Some(address) => change.depends_on.push(address.clone()),
                None => {
                    warnings.push(format!(
                        "client secret {} is {}, but Key Vault still serves it as the current version: it is kept until the vault holds its successor (`entra-mail apply --rotate-secret`)",
                        short(secret.key_id),
                        change.reason.as_deref().unwrap_or("due for removal")
                    ));
                    continue;
                }
            }
        }
        changes.push(change);
    }

    let to_record = ours
        .iter()
        .filter(|s| s.delivered && !live.record.delivered(s.key_id))
        .filter(|_| live.application.is_some())
        .map(|s| Entry::DeliveredSecret(s.key_id))
        .collect();
    SecretPlan {
        changes,
        to_record,
        warnings,
        refusal,
    }
}

/// What to do about a vault that does not hold the current secret.
enum Remedy {
    /// This machine holds the current secret's value: write it to the vault.
    Deliver(Box<ResourceChange>),
    /// No one here holds it (or the name is soft-deleted): say why and what would fix it.
    Warn(String),
}

/// A vault whose current version is not the app's current secret.
struct VaultBehind<'a> {
    state: &'a VaultState,
    vault: &'a DesiredKeyVault,
    vault_url: &'a str,
    ours: &'a [Ours<'a>],
    current: &'a Ours<'a>,
    now: OffsetDateTime,
}

impl VaultBehind<'_> {
    fn remedy(&self, held: Option<&HeldSecret>, desired: &Desired) -> Remedy {
        let name = &self.vault.secret_name;
        if let VaultState::SoftDeleted = self.state {
            return Remedy::Warn(format!(
                "{}; until then no secret can be delivered there",
                VaultError::SoftDeleted {
                    vault: self.vault_url.to_string(),
                    name: name.clone(),
                }
            ));
        }
        let reason = format!(
            "Key Vault {} {}; the app's current secret is {}",
            self.vault_url,
            self.holds(),
            short(self.current.key_id)
        );
        if held.is_some_and(|h| h.key_id == self.current.key_id) {
            return Remedy::Deliver(Box::new(deliver_change(
                desired,
                self.current,
                self.vault_url,
                reason,
            )));
        }
        Remedy::Warn(format!(
            "{reason}, delivered elsewhere: no one here holds its value, so it cannot be written to the vault. `entra-mail apply --rotate-secret` makes a new secret and delivers it there (the current one stays valid for its {}-day grace period); nothing is rotated without it",
            desired.secret.grace_period_days
        ))
    }

    /// What the vault holds, in words.
    fn holds(&self) -> String {
        let name = &self.vault.secret_name;
        match self.state {
            VaultState::Missing => format!("holds no secret `{name}`"),
            VaultState::SoftDeleted => format!("holds `{name}` only soft-deleted"),
            VaultState::Disabled => format!("holds `{name}` with its current version disabled"),
            VaultState::Present(copy) => match copy.key_id {
                None => format!("holds a `{name}` without a key-id tag, so not one entra-mail wrote"),
                Some(key) if self.ours.iter().any(|s| s.key_id == key && s.expires() > self.now) => format!(
                    "holds client secret {} in `{name}`, an older secret of ours, not the current one",
                    short(key)
                ),
                Some(key) => format!(
                    "holds client secret {} in `{name}`, which the app no longer has",
                    short(key)
                ),
            },
        }
    }
}

fn deliver_change(
    desired: &Desired,
    current: &Ours<'_>,
    vault_url: &str,
    reason: String,
) -> ResourceChange {
    let name = desired
        .secret
        .key_vault
        .as_ref()
        .map(|v| v.secret_name.as_str())
        .unwrap_or_default();
    let vault = format!("{vault_url}/secrets/{name}");
    ResourceChange {
        address: address(desired).indexed(&short(current.key_id)),
        action: Action::Update,
        before: json!({"key_id": current.key_id}),
        after: json!({"key_id": current.key_id, "key_vault": vault}),
        attributes: vec![AttributeChange {
            name: "key_vault".into(),
            before: Value::Null,
            after: json!(vault),
        }],
        reason: Some(format!("{reason}, whose value this machine holds")),
        depends_on: vec![Address::application(desired)],
        operation: Op::DeliverHeld {
            key_id: current.key_id,
        }
        .into(),
    }
}

fn short(key_id: Uuid) -> String {
    key_id.to_string()[..8].to_string()
}

fn create_change(desired: &Desired, now: OffsetDateTime, reason: Option<String>) -> ResourceChange {
    let expires = now + time::Duration::days(i64::from(desired.secret.lifetime_days));
    let after = json!({"display_name": desired.secret.display_name, "expires": date(expires), "value": "(sensitive)"});
    ResourceChange {
        address: address(desired),
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
        reason,
        depends_on: vec![Address::application(desired)],
        operation: Op::AddSecret {
            display_name: desired.secret.display_name.clone(),
            lifetime_days: desired.secret.lifetime_days,
        }
        .into(),
    }
}

fn remove_change(
    desired: &Desired,
    secret: &Ours<'_>,
    reason: String,
    creating: bool,
) -> ResourceChange {
    ResourceChange {
        address: address(desired).indexed(&short(secret.key_id)),
        action: Action::Delete,
        before: json!({
            "key_id": secret.key_id,
            "expires": secret.credential.end_date_time.map(date),
        }),
        after: Value::Null,
        attributes: Vec::new(),
        reason: Some(reason),
        // A replaced secret goes only once its successor exists.
        depends_on: if creating {
            vec![address(desired)]
        } else {
            Vec::new()
        },
        operation: Op::RemoveSecret {
            key_id: secret.key_id,
        }
        .into(),
    }
}

/// Applies [`Op::AddSecret`] and saves the value at once: the tenant will never show it
/// again.
async fn add(
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
    // Deliver first (the vault, then the outputs file), then record the delivery in the
    // tenant: a secret recorded as delivered is never removed as an orphan. The record is
    // re-read while addPassword is in flight, so recording costs one round trip, not two.
    let deliver = || async {
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
        let held = HeldSecret {
            key_id,
            display_name: display_name.to_string(),
            value,
            expires: credential.end_date_time.unwrap_or(expires),
        };
        ctx.mask_secret(&held.value);
        if let Err(vault_error) = ctx.deliver_to_vault(&held).await {
            // A failed write may still have committed (a lost answer): the vault decides.
            // Only a secret it provably does not hold reached no one, and comes off the app;
            // one it may hold may be in use.
            let holds = if vault_error.refused_for_sure() {
                Some(false)
            } else {
                ctx.vault_holds(key_id).await
            };
            let fate = match holds {
                Some(true) => {
                    tracing::warn!("the Key Vault's answer was lost, but it holds client secret {key_id}: delivered");
                    NewSecretFate::Delivered
                }
                Some(false) => match remove_password(ctx, &object_id, key_id).await {
                    Ok(()) => NewSecretFate::Removed,
                    Err(_) => NewSecretFate::NotRemoved,
                },
                None => NewSecretFate::Unknown,
            };
            if fate != NewSecretFate::Delivered {
                return Err(ApplyError::NotDelivered {
                    key_id,
                    fate,
                    vault_error,
                });
            }
        }
        ctx.record_secret(held)?;
        Ok(key_id)
    };
    ctx.create_and_record(&[], deliver, |key_id: &Uuid| {
        Some(Entry::DeliveredSecret(*key_id))
    })
    .await?;
    Ok(())
}

/// Applies [`Op::DeliverHeld`] with the value this machine's outputs hold.
async fn deliver_held(ctx: &ApplyContext<'_>, key_id: Uuid) -> Result<(), ApplyError> {
    let held = ctx
        .outputs()
        .and_then(|o| o.secret)
        .filter(|s| s.key_id == key_id)
        .ok_or(ApplyError::Missing("the held secret's value"))?;
    Ok(ctx.deliver_to_vault(&held).await?)
}

/// Applies [`Op::RemoveSecret`]; a secret already gone is fine.
async fn remove(ctx: &ApplyContext<'_>, key_id: Uuid) -> Result<(), ApplyError> {
    let object_id = ctx
        .known()
        .app_object_id
        .ok_or(ApplyError::Missing("the application's object id"))?;
    remove_password(ctx, &object_id, key_id).await?;
    ctx.unrecord(Entry::DeliveredSecret(key_id)).await
}

/// `removePassword`; a secret already gone is fine.
async fn remove_password(
    ctx: &ApplyContext<'_>,
    object_id: &str,
    key_id: Uuid,
) -> Result<(), ApplyError> {
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
    Ok(())
}

/// A secret this runner holds that the app does not list yet, made within the last
/// [`crate::ownership::INTENT_SETTLE`], is most likely still replicating (a run killed just
/// after delivering it, then run again at once). The app is read again until it lists it or
/// that time has passed, so the plan neither drops the held secret nor makes another.
async fn await_held_secret(
    client: &GraphClient,
    desired: &Desired,
    hint: Option<&Outputs>,
    live: &mut LiveState,
) -> Result<(), GraphError> {
    let Some(held) = hint
        .filter(|o| Some(o.client_id.as_str()) == live.app_id())
        .and_then(|o| o.secret.as_ref())
    else {
        return Ok(());
    };
    let made = held.expires - time::Duration::days(i64::from(desired.secret.lifetime_days));
    let settle = time::Duration::try_from(crate::ownership::INTENT_SETTLE).unwrap_or_default();
    let app_path = odata::by_key("applications", "uniqueName", &desired.app.unique_name);
    let mut announced = false;
    while !live.has_secret(held.key_id) && time::OffsetDateTime::now_utc() - made < settle {
        if !announced {
            tracing::warn!(
                "the client secret this runner holds ({}) is not listed yet; waiting for Entra before planning",
                held.key_id
            );
            announced = true;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if let Some(app) = client.get_optional::<Application>(&app_path).await? {
            live.record = Record::from_tags(app.tags.as_deref().unwrap_or_default());
            live.application = Some(app);
        }
    }
    Ok(())
}

/// Where a held secret stands in the tenant, found by its app's `appId` (any app: the outputs
/// may name one the config no longer does).
pub enum HeldSecretInTenant {
    AppGone,
    SecretGone,
    Listed(crate::graph::models::PasswordCredential),
}

pub async fn find_held_secret(
    client: &GraphClient,
    client_id: &str,
    key_id: uuid::Uuid,
) -> Result<HeldSecretInTenant, GraphError> {
    let request = Request::get(odata::by_key("applications", "appId", client_id))
        .query("$select", "id,passwordCredentials");
    let Some(app) = client.send_optional::<Application>(&request).await? else {
        return Ok(HeldSecretInTenant::AppGone);
    };
    Ok(app
        .password_credentials
        .into_iter()
        .flatten()
        .find(|c| c.key_id == Some(key_id))
        .map_or(HeldSecretInTenant::SecretGone, HeldSecretInTenant::Listed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::models::Application;
    use crate::ownership::Record;
    use crate::secret::SecretString;
    use time::Duration;

    const OURS: &str = "entra-mail";
    const APP_ID: &str = "00000000-0000-4000-8000-00000000a990";

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-03-01 12:00 UTC)
    }

    /// A secret on the app, named by one letter (its keyId follows from the letter).
    struct Live {
        name: char,
        /// Carries the configured display name.
        ours: bool,
        /// Listed as delivered in the ownership record.
        recorded: bool,
        age: Duration,
        expires_in: Duration,
    }

    fn key(name: char) -> Uuid {
        Uuid::from_u128(0xA000 + name as u128)
    }

    /// Ours, recorded as delivered, made `age_days` ago, expiring in `days_left`.
    fn delivered(name: char, age_days: i64, days_left: i64) -> Live {
        Live {
            name,
            ours: true,
            recorded: true,
            age: Duration::days(age_days),
            expires_in: Duration::days(days_left),
        }
    }

    /// Ours, not recorded as delivered, made `age` ago.
    fn undelivered(name: char, age: Duration) -> Live {
        Live {
            recorded: false,
            age,
            ..delivered(name, 0, 180)
        }
    }

    struct Row {
        name: &'static str,
        secrets: Vec<Live>,
        /// The app carries an ownership record at all.
        record: bool,
        /// The secret whose value this runner holds (its outputs).
        held: Option<char>,
        rotate: bool,
        grace_days: u32,
        /// A new secret, with (part of) its reason; `Some("")`: any reason.
        create: Option<&'static str>,
        /// The secrets removed, each with (part of) its reason; the others are kept.
        remove: Vec<(char, &'static str)>,
        /// Secrets to be recorded as delivered.
        record_now: Vec<char>,
    }

    impl Default for Row {
        fn default() -> Self {
            Row {
                name: "",
                secrets: Vec::new(),
                record: true,
                held: None,
                rotate: false,
                grace_days: 7,
                create: None,
                remove: Vec::new(),
                record_now: Vec::new(),
            }
        }
    }

    fn desired(grace_days: u32) -> Desired {
        let text = r#"
tenant_id = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10"
[app]
unique_name = "pandora-itsm-mail"
display_name = "Pandora ITSM mail"
[[permissions]]
resource = "Microsoft Graph"
delegated = ["IMAP.AccessAsUser.All"]
"#;
        let mut desired =
            crate::config::parse(text, std::path::Path::new("/nowhere/entra-mail.toml")).unwrap();
        desired.secret.display_name = OURS.into();
        desired.secret.lifetime_days = 180;
        desired.secret.renew_before_days = 30;
        desired.secret.grace_period_days = grace_days;
        desired
    }

    fn live(row: &Row) -> LiveState {
        let credentials = row
            .secrets
            .iter()
            .map(|s| PasswordCredential {
                key_id: Some(key(s.name)),
                display_name: Some(if s.ours { OURS } else { "made by hand" }.into()),
                start_date_time: Some(now() - s.age),
                end_date_time: Some(now() + s.expires_in),
                ..PasswordCredential::default()
            })
            .collect();
        let mut record = Record::default();
        record.present = row.record;
        for secret in row.secrets.iter().filter(|s| s.recorded) {
            record.delivered_secrets.insert(key(secret.name));
        }
        LiveState {
            application: Some(Application {
                id: Some("object-1".into()),
                app_id: Some(APP_ID.into()),
                password_credentials: Some(credentials),
                ..Application::default()
            }),
            record,
            ..LiveState::default()
        }
    }

    fn outputs(held: Option<char>) -> Outputs {
        Outputs {
            tenant_id: Uuid::nil(),
            unique_name: "pandora-itsm-mail".into(),
            client_id: APP_ID.into(),
            application_object_id: "object-1".into(),
            service_principal_id: None,
            secret: held.map(|name| HeldSecret {
                key_id: key(name),
                display_name: OURS.into(),
                value: SecretString::new("value"),
                expires: now() + Duration::days(90),
            }),
        }
    }

    fn rows() -> Vec<Row> {
        let minutes = Duration::minutes;
        vec![
            Row {
                name: "a delivered secret outside the renewal window is kept",
                secrets: vec![delivered('a', 10, 170)],
                ..Row::default()
            },
            Row {
                name: "a delivered secret not held by this runner is kept: another may use it",
                secrets: vec![delivered('a', 10, 170), delivered('b', 5, 175)],
                held: Some('a'),
                ..Row::default()
            },
            Row {
                name: "inside the renewal window a new one is made, the old kept for its grace",
                secrets: vec![delivered('a', 160, 20)],
                create: Some("inside the 30-day renewal window"),
                ..Row::default()
            },
            Row {
                name: "--rotate-secret makes a new one and keeps the current",
                secrets: vec![delivered('a', 10, 170)],
                rotate: true,
                create: Some("--rotate-secret"),
                ..Row::default()
            },
            Row {
                name: "with no grace period the rotated secret goes once the new one exists",
                secrets: vec![delivered('a', 10, 170)],
                rotate: true,
                grace_days: 0,
                create: Some("--rotate-secret"),
                remove: vec![('a', "replaced by this run")],
                ..Row::default()
            },
            Row {
                name: "a replaced secret inside its grace period is kept",
                secrets: vec![delivered('a', 100, 80), delivered('b', 3, 177)],
                ..Row::default()
            },
            Row {
                name: "a replaced secret past its grace period is removed",
                secrets: vec![delivered('a', 100, 80), delivered('b', 10, 170)],
                remove: vec![('a', "grace period is over")],
                ..Row::default()
            },
            Row {
                name: "an expired secret is removed and a new one made",
                secrets: vec![delivered('a', 181, -1)],
                create: Some("every delivered secret of ours has expired"),
                remove: vec![('a', "expired on")],
                ..Row::default()
            },
            Row {
                name: "an undelivered orphan past the pending window is removed",
                secrets: vec![delivered('a', 10, 170), undelivered('b', minutes(60))],
                remove: vec![('b', "never delivered")],
                ..Row::default()
            },
            Row {
                name: "an undelivered secret inside the pending window may be a run's: kept",
                secrets: vec![delivered('a', 10, 170), undelivered('b', minutes(2))],
                ..Row::default()
            },
            Row {
                name: "only undelivered secrets: a new one is made, the orphan removed",
                secrets: vec![undelivered('a', minutes(60))],
                create: Some("holds no delivered secret of ours"),
                remove: vec![('a', "never delivered")],
                ..Row::default()
            },
            Row {
                name: "the held value proves delivery: kept, and recorded",
                secrets: vec![undelivered('a', minutes(60))],
                held: Some('a'),
                record_now: vec!['a'],
                ..Row::default()
            },
            Row {
                name: "an app without a record: every secret of ours may be in use",
                secrets: vec![undelivered('a', minutes(60))],
                record: false,
                record_now: vec!['a'],
                ..Row::default()
            },
            Row {
                name: "a secret with another display name is not ours: never touched",
                secrets: vec![Live {
                    ours: false,
                    recorded: false,
                    ..delivered('a', 400, -10)
                }],
                create: Some("holds no delivered secret of ours"),
                ..Row::default()
            },
            Row {
                name:
                    "two secrets of one second: the held one is the newest, never the one removed",
                secrets: vec![delivered('a', 10, 170), delivered('b', 10, 170)],
                held: Some('a'),
                grace_days: 0,
                remove: vec![('b', "grace period is over")],
                ..Row::default()
            },
        ]
    }

    #[test]
    fn keep_renew_or_remove() {
        let rows = rows();
        assert!(rows.len() >= 8);
        let mut failures = Vec::new();
        for row in &rows {
            let desired = desired(row.grace_days);
            let live = live(row);
            let outputs = outputs(row.held);
            let options = PlanOptions {
                rotate_secret: row.rotate,
                ..PlanOptions::at(now())
            };
            let plan = plan(&desired, &live, Some(&outputs), &options);
            let created: Vec<&ResourceChange> = plan
                .changes
                .iter()
                .filter(|c| c.action == Action::Create)
                .collect();
            let removed: Vec<(Uuid, String)> = plan
                .changes
                .iter()
                .filter_map(|c| match c.operation_as::<Op>() {
                    Some(Op::RemoveSecret { key_id }) => {
                        Some((*key_id, c.reason.clone().unwrap_or_default()))
                    }
                    _ => None,
                })
                .collect();
            let create_ok = match (row.create, created.as_slice()) {
                (None, []) => true,
                (Some(why), [change]) => change.reason.as_deref().unwrap_or("").contains(why),
                _ => false,
            };
            let remove_ok = removed.len() == row.remove.len()
                && row.remove.iter().all(|(name, why)| {
                    removed
                        .iter()
                        .any(|(k, reason)| *k == key(*name) && reason.contains(why))
                });
            let recorded: Vec<Uuid> = plan
                .to_record
                .iter()
                .filter_map(|e| match e {
                    Entry::DeliveredSecret(k) => Some(*k),
                    _ => None,
                })
                .collect();
            let expected_record: Vec<Uuid> = row.record_now.iter().map(|n| key(*n)).collect();
            if !(create_ok && remove_ok && recorded == expected_record) {
                failures.push(format!(
                    "{}:\n  created {:?}\n  removed {:?}\n  recorded {:?}",
                    row.name,
                    created.iter().map(|c| &c.reason).collect::<Vec<_>>(),
                    removed,
                    recorded
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
