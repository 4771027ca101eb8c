//! Doctor's proof that the delivered client secret works: it signs in with the secret from
//! the outputs file as the app that received it will (client credentials, the production
//! credential and HTTP client), and tells a secret Entra is still replicating from one it
//! refuses. The secret's value never leaves this module except in the token request.

use std::time::{Duration, Instant, SystemTime};

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cli::session::Reach;
use crate::config::Desired;
use crate::graph::GraphClient;
use crate::outputs::{HeldSecret, Outputs, FILE_NAME};
use crate::progress::Progress;
use crate::resources::client_secret::{find_held_secret, HeldSecretInTenant};
use crate::vault::{Vault, VaultState};

/// A secret younger than this may still be replicating to Entra's sign-in service, which
/// can take minutes; an older one that is refused is really refused.
const YOUNG: Duration = Duration::from_secs(600);

/// What Entra answers while a new secret (7000215) or a new app (700016) is replicating.
/// It answers the same for a wrong secret or a deleted app, so the secret's age decides.
const REPLICATING: [u32; 2] = [7000215, 700016];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Rejected,
    NotUsableYet,
    NoneHeld,
    /// The check could not be made (unreadable outputs file, sign-in unreachable).
    Error,
}

/// The outcome of signing in with the delivered secret.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveredSecret {
    pub status: Status,
    pub key_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// Entra's last refusal (`AADSTSnnnn: …`), or why the check could not be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the outcome means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Time spent waiting for Entra to replicate the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_seconds: Option<f64>,
    /// Where the secret checked was read: `outputs` or `key_vault`.
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Outputs,
    KeyVault,
}

impl DeliveredSecret {
    /// An outcome about no particular secret.
    fn bare(status: Status) -> Self {
        Self {
            status,
            key_id: None,
            expires: None,
            error: None,
            detail: None,
            waited_seconds: None,
            source: Source::Outputs,
        }
    }

    fn of(secret: &HeldSecret, status: Status) -> Self {
        Self {
            key_id: Some(secret.key_id),
            expires: Some(secret.expires),
            ..Self::bare(status)
        }
    }

    fn from(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Records the time since `started` when doctor waited for replication.
    fn waited(mut self, started: Option<Instant>) -> Self {
        self.waited_seconds = started.map(|t| (t.elapsed().as_secs_f64() * 10.0).round() / 10.0);
        self
    }

    /// Whether doctor should exit 1: the tenant refused the secret, or it could not be checked.
    pub fn failed(&self) -> bool {
        matches!(self.status, Status::Rejected | Status::Error)
    }

    /// The text report's line, after `delivered secret: `.
    pub fn text(&self) -> String {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Rejected => "rejected",
            Status::NotUsableYet => "not usable yet",
            Status::NoneHeld => "none held",
            Status::Error => "not checked",
        };
        let mut about = Vec::new();
        if let Some(key_id) = self.key_id {
            about.push(format!("keyId {}…", &key_id.simple().to_string()[..8]));
        }
        if let Some(expires) = self.expires {
            about.push(format!("expires {}", expires.date()));
        }
        if let Some(waited) = self.waited_seconds {
            about.push(format!("waited {waited:.1}s for replication"));
        }
        let mut line = status.to_string();
        if !about.is_empty() {
            line.push_str(&format!(" ({})", about.join(", ")));
        }
        // Entra's words come last: they are long, and ours say what they mean here.
        let error = self.error.as_deref().map(|e| match self.status {
            Status::Rejected | Status::NotUsableYet => format!("Entra answered {e}"),
            _ => e.to_string(),
        });
        match (self.detail.as_deref(), error) {
            (Some(detail), Some(error)) => line.push_str(&format!(": {detail}. {error}")),
            (Some(text), None) => line.push_str(&format!(": {text}")),
            (None, Some(text)) => line.push_str(&format!(": {text}")),
            (None, None) => {}
        }
        line
    }
}

/// The secret to prove, with its app and when it was written, or why there is none.
struct ToProve {
    secret: HeldSecret,
    client_id: Uuid,
    written: Option<Duration>,
}

/// Signs in with the delivered secret, waiting within `budget` while Entra may still be
/// replicating it: the Key Vault's copy when `secret.key_vault` is set (what consumers read),
/// else the outputs file's. `graph` (the run's own sign-in) reads the secret's age.
pub async fn check(
    desired: &Desired,
    reach: &Reach,
    graph: &GraphClient,
    vault: Option<&Vault>,
    budget: Duration,
    quiet: bool,
) -> DeliveredSecret {
    let (found, source) = match vault {
        Some(vault) => (from_vault(vault, graph, desired).await, Source::KeyVault),
        None => (from_outputs(desired), Source::Outputs),
    };
    match found {
        Ok(found) => prove(&found, desired, reach, graph, budget, quiet)
            .await
            .from(source),
        Err(outcome) => outcome.from(source),
    }
}

/// The vault's current version, when entra-mail wrote it (its tags name the secret).
async fn from_vault(
    vault: &Vault,
    graph: &GraphClient,
    desired: &Desired,
) -> Result<ToProve, DeliveredSecret> {
    let where_ = format!(
        "Key Vault {} secret `{}`",
        vault.target().display(),
        vault.target().secret_name
    );
    let copy = match vault.read().await {
        Ok(VaultState::Present(copy)) => copy,
        Ok(VaultState::Missing) => {
            return Err(DeliveredSecret::bare(Status::NoneHeld).detail(format!(
                "{where_} does not exist; `entra-mail apply --rotate-secret` makes a secret and delivers it there"
            )))
        }
        Ok(VaultState::Disabled) => {
            return Err(DeliveredSecret::bare(Status::Error).error(format!(
                "{where_} has its current version disabled: enable it, or make a new one with `entra-mail apply --rotate-secret`"
            )))
        }
        Ok(VaultState::SoftDeleted) => {
            return Err(DeliveredSecret::bare(Status::Error).error(
                crate::vault::VaultError::SoftDeleted {
                    vault: vault.target().display(),
                    name: vault.target().secret_name.clone(),
                }
                .to_string(),
            ))
        }
        Err(e) => return Err(DeliveredSecret::bare(Status::Error).error(e.to_string())),
    };
    let (Some(key_id), Some(client_id)) = (
        copy.key_id,
        copy.client_id
            .as_deref()
            .and_then(|c| Uuid::parse_str(c).ok()),
    ) else {
        return Err(DeliveredSecret::bare(Status::Error).error(format!(
            "{where_} has no key-id and client-id tags, so entra-mail did not write it; `entra-mail apply --rotate-secret` replaces it"
        )));
    };
    // The tags could name any app: prove the secret is for ours before signing in with it.
    let app_path = crate::graph::odata::by_key("applications", "appId", &client_id.to_string());
    let request = crate::graph::Request::get(app_path).query("$select", "id,uniqueName");
    match graph
        .send_optional::<crate::graph::models::Application>(&request)
        .await
    {
        Ok(Some(app)) if app.unique_name.as_deref() == Some(desired.app.unique_name.as_str()) => {}
        Ok(Some(_)) | Ok(None) => {
            return Err(DeliveredSecret::bare(Status::Error).error(format!(
                "{where_} is tagged for app {client_id}, which is not `{}` in this tenant; `entra-mail apply --rotate-secret` replaces it",
                desired.app.unique_name
            )))
        }
        Err(e) => {
            return Err(DeliveredSecret::bare(Status::Error).error(format!(
                "cannot tell whose secret {where_} holds: {}",
                crate::graph::error_chain(&e)
            )))
        }
    }
    Ok(ToProve {
        secret: HeldSecret {
            key_id,
            display_name: String::new(),
            value: copy.value,
            expires: copy.expires.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        },
        client_id,
        written: None,
    })
}

/// The secret the outputs file holds.
fn from_outputs(desired: &Desired) -> Result<ToProve, DeliveredSecret> {
    let directory = &desired.outputs.directory;
    let kept_elsewhere = "its value is kept by whoever received it from apply (the tenant keeps no copy), so it is not checked here";
    let outputs = match Outputs::read(directory) {
        Ok(Some(outputs)) => outputs,
        Ok(None) => {
            return Err(DeliveredSecret::bare(Status::NoneHeld).detail(format!(
                "no {FILE_NAME} in {}; {kept_elsewhere}",
                directory.display()
            )))
        }
        Err(e) => return Err(DeliveredSecret::bare(Status::Error).error(e.to_string())),
    };
    let path = Outputs::path_in(directory);
    if outputs.tenant_id != desired.tenant_id {
        return Err(DeliveredSecret::bare(Status::NoneHeld).detail(format!(
            "{} is for tenant {}, not this one; {kept_elsewhere}",
            path.display(),
            outputs.tenant_id
        )));
    }
    let Some(secret) = outputs.secret else {
        return Err(DeliveredSecret::bare(Status::NoneHeld).detail(format!(
            "{} holds no client secret; {kept_elsewhere}",
            path.display()
        )));
    };
    // The client id goes into a Graph URL and a token request: only a GUID is accepted.
    let Ok(client_id) = Uuid::parse_str(&outputs.client_id) else {
        return Err(DeliveredSecret::of(&secret, Status::Error).error(format!(
            "{} has no valid client_id (a GUID)",
            path.display()
        )));
    };
    let written = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    Ok(ToProve {
        secret,
        client_id,
        written,
    })
}

/// Signs in as the app with the secret, telling replication from refusal.
async fn prove(
    found: &ToProve,
    desired: &Desired,
    reach: &Reach,
    graph: &GraphClient,
    budget: Duration,
    quiet: bool,
) -> DeliveredSecret {
    let ToProve {
        secret,
        client_id,
        written,
    } = found;
    let (secret, client_id, written) = (secret, *client_id, *written);
    let credential = match crate::auth::client_secret(
        &desired.tenant_id.to_string(),
        &client_id.to_string(),
        &secret.value,
        &reach.http,
        &reach.endpoints.authority_host,
    ) {
        Ok(credential) => credential,
        Err(e) => {
            return DeliveredSecret::of(secret, Status::Error).error(redact(&e.to_string(), secret))
        }
    };
    let scope = reach.endpoints.graph_scope();

    let started = Instant::now();
    let mut wait = Duration::from_millis(250);
    // Set by the first wait (a spinner, or a line in CI logs).
    let mut waiting: Option<Progress> = None;
    loop {
        let (codes, description) = match sign_in(credential.as_ref(), &scope).await {
            Ok(()) => {
                return DeliveredSecret::of(secret, Status::Ok)
                    .waited(waiting.is_some().then_some(started))
            }
            Err(Refusal::Other(message)) => {
                return DeliveredSecret::of(secret, Status::Error)
                    .error(format!(
                        "cannot sign in with it: {}",
                        redact(&message, secret)
                    ))
                    .waited(waiting.is_some().then_some(started))
            }
            Err(Refusal::Entra { codes, description }) => {
                let description = redact(&description, secret);
                tracing::debug!("sign-in with the delivered secret refused: {description}");
                (codes, short_description(&description))
            }
        };
        let rejected = || {
            DeliveredSecret::of(secret, Status::Rejected)
                .error(description.clone())
                .waited(waiting.is_some().then_some(started))
        };
        if !codes.iter().any(|c| REPLICATING.contains(c)) {
            return rejected();
        }
        let found = look_up(graph, &client_id, secret).await;
        let why_young = match judge(&found, written, OffsetDateTime::now_utc()) {
            Verdict::Refused(detail) => return rejected().detail(detail),
            Verdict::Young(why) => why,
        };
        let waited = started.elapsed();
        if waited + wait > budget {
            return DeliveredSecret::of(secret, Status::NotUsableYet)
                .error(description)
                .detail(format!(
                    "{why_young}; a new secret can take minutes to work: run doctor again later, or allow longer with --timeout"
                ))
                .waited(Some(started));
        }
        waiting
            .get_or_insert_with(|| Progress::new(quiet))
            .waiting(&format!(
                "waiting for Entra to accept the delivered secret ({:.1}s so far)",
                waited.as_secs_f64()
            ));
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(4));
    }
}

/// Why a sign-in failed.
enum Refusal {
    /// Entra answered with AADSTS codes.
    Entra {
        codes: Vec<u32>,
        description: String,
    },
    /// No answer from Entra (network, TLS, an unexpected body).
    Other(String),
}

async fn sign_in(credential: &dyn TokenCredential, scope: &str) -> Result<(), Refusal> {
    match credential.get_token(&[scope], None).await {
        Ok(_) => Ok(()),
        Err(e) => Err(refusal(&e)),
    }
}

/// Entra's codes and description from the error azure_identity wraps around its answer.
fn refusal(error: &azure_core::Error) -> Refusal {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(ErrorKind::HttpResponse {
            error_code,
            raw_response,
            ..
        }) = current
            .downcast_ref::<azure_core::Error>()
            .map(azure_core::Error::kind)
        {
            let body: Value = raw_response
                .as_ref()
                .and_then(|r| serde_json::from_slice(r.body().as_ref()).ok())
                .unwrap_or(Value::Null);
            let mut codes: Vec<u32> = body["error_codes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_u64().and_then(|c| u32::try_from(c).ok()))
                .collect();
            if codes.is_empty() {
                codes = error_code
                    .iter()
                    .flat_map(|c| c.split(','))
                    .filter_map(|c| c.trim().parse().ok())
                    .collect();
            }
            let description = body["error_description"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| current.to_string());
            return Refusal::Entra { codes, description };
        }
        next = current.source();
    }
    Refusal::Other(crate::graph::error_chain(error))
}

/// Entra's description without its trace, correlation id and timestamp (logged at debug).
fn short_description(description: &str) -> String {
    description
        .split("Trace ID:")
        .next()
        .unwrap_or(description)
        .trim()
        .to_string()
}

/// `text` with the secret's value taken out: nothing Entra or a library says may carry it.
fn redact(text: &str, secret: &HeldSecret) -> String {
    let value = secret.value.expose();
    if value.is_empty() {
        text.to_string()
    } else {
        text.replace(value, "(redacted)")
    }
}

/// What the tenant's directory says about the secret.
enum Found {
    Listed {
        start: Option<OffsetDateTime>,
        /// The held value does not begin with the hint Graph shows: it is not this secret's.
        wrong_value: bool,
    },
    Absent(&'static str),
    Unknown(String),
}

async fn look_up(graph: &GraphClient, client_id: &Uuid, secret: &HeldSecret) -> Found {
    match find_held_secret(graph, &client_id.to_string(), secret.key_id).await {
        Ok(HeldSecretInTenant::AppGone) => Found::Absent("the app no longer exists in the tenant"),
        Ok(HeldSecretInTenant::SecretGone) => {
            Found::Absent("the secret no longer exists in the tenant")
        }
        Ok(HeldSecretInTenant::Listed(c)) => Found::Listed {
            start: c.start_date_time,
            wrong_value: c
                .hint
                .as_deref()
                .is_some_and(|hint| !secret.value.expose().starts_with(hint)),
        },
        Err(e) => Found::Unknown(e.to_string()),
    }
}

enum Verdict {
    /// Young enough that Entra may still be replicating it: why we think so.
    Young(String),
    /// Refused for good: why.
    Refused(String),
}

/// Whether a refused secret may still be replicating: its start time in the tenant decides;
/// when the tenant does not show it (Graph reads lag too) or cannot be read, the time the
/// outputs file was written stands in for it.
fn judge(found: &Found, written: Option<Duration>, now: OffsetDateTime) -> Verdict {
    let file_is_new = written.is_some_and(|age| age < YOUNG);
    let by_file = |otherwise: String| {
        if file_is_new {
            Verdict::Young(format!(
                "{otherwise}, or Graph does not show it yet: {FILE_NAME} was written {} ago",
                human(written.unwrap_or_default())
            ))
        } else {
            Verdict::Refused(otherwise)
        }
    };
    match found {
        Found::Listed {
            wrong_value: true, ..
        } => Verdict::Refused(format!(
            "the value in {FILE_NAME} is not this secret's (it does not begin with the hint the tenant shows)"
        )),
        Found::Listed {
            start: Some(start), ..
        } => {
            let age = Duration::try_from(now - *start).unwrap_or_default();
            if age < YOUNG {
                Verdict::Young(format!(
                    "the secret was made {} ago, so Entra may still be replicating it",
                    human(age)
                ))
            } else {
                Verdict::Refused(format!(
                    "the secret was made {} ago, too long for replication to explain",
                    human(age)
                ))
            }
        }
        Found::Listed { start: None, .. } => {
            by_file("the tenant does not say when the secret was made".into())
        }
        Found::Absent(what) => by_file((*what).to_string()),
        Found::Unknown(e) => by_file(format!("its start time could not be read ({e})")),
    }
}

fn human(age: Duration) -> String {
    let seconds = age.as_secs();
    match seconds {
        0..=119 => format!("{seconds}s"),
        120..=7199 => format!("{} min", seconds / 60),
        7200..=172_799 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(age_seconds: i64, wrong_value: bool) -> Found {
        Found::Listed {
            start: Some(OffsetDateTime::now_utc() - time::Duration::seconds(age_seconds)),
            wrong_value,
        }
    }

    fn young(verdict: Verdict) -> bool {
        matches!(verdict, Verdict::Young(_))
    }

    #[test]
    fn the_tenant_start_time_decides_when_it_is_known() {
        let now = OffsetDateTime::now_utc();
        let old_file = Some(Duration::from_secs(86_400));
        let new_file = Some(Duration::from_secs(5));
        assert!(young(judge(&listed(30, false), old_file, now)));
        assert!(!young(judge(&listed(3600, false), new_file, now)));
        assert!(!young(judge(&listed(30, true), new_file, now)));
    }

    #[test]
    fn the_outputs_file_stands_in_when_the_tenant_does_not_show_the_secret() {
        let now = OffsetDateTime::now_utc();
        let absent = Found::Absent("the secret no longer exists in the tenant");
        assert!(young(judge(&absent, Some(Duration::from_secs(5)), now)));
        match judge(&absent, Some(Duration::from_secs(3600)), now) {
            Verdict::Refused(why) => assert_eq!(why, "the secret no longer exists in the tenant"),
            Verdict::Young(why) => panic!("{why}"),
        }
        assert!(!young(judge(&Found::Unknown("403".into()), None, now)));
    }
}
