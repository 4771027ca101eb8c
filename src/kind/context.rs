//! What a change needs while it runs: the client, the desired state, the ids learned so far,
//! the ownership record on the app, and waits for Entra's replication inside a time budget.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Address, ApplyError};
use crate::config::Desired;
use crate::graph::{GraphClient, GraphError};
use crate::live::LiveState;
use crate::outputs::{HeldSecret, Outputs};
use crate::ownership::{Entry, Record};
use crate::progress::Progress;
use crate::secret::SecretString;

/// Ids learned from the tenant or from create answers (never re-queried when known).
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub app_object_id: Option<String>,
    pub app_id: Option<String>,
    pub sp_id: Option<String>,
}

/// Called with a new secret before anything else happens (CI masking).
pub type SecretHook = Box<dyn Fn(&SecretString) + Send + Sync>;

/// The value behind `mutex`, also after a change panicked while holding it: each value here
/// is whole after every statement that sets it, and losing it (say, this run's record
/// entries) would be worse than keeping it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How an apply runs: its time budget, where progress goes, who sees a new secret first, and
/// whether the ownership record is kept (not for destroy: the app that holds it goes too).
pub struct ApplySettings<'a> {
    pub budget: Duration,
    pub progress: &'a Progress,
    pub on_new_secret: Option<SecretHook>,
    pub recording: bool,
}

impl<'a> ApplySettings<'a> {
    /// Recording on, no secret hook.
    pub fn new(budget: Duration, progress: &'a Progress) -> Self {
        Self {
            budget,
            progress,
            on_new_secret: None,
            recording: true,
        }
    }
}

/// What a change needs while it runs.
pub struct ApplyContext<'a> {
    pub client: &'a GraphClient,
    pub desired: &'a Desired,
    pub progress: &'a Progress,
    known: Mutex<Known>,
    /// Ids of objects this run made, by address, for the changes that name them.
    learned: Mutex<HashMap<Address, String>>,
    outputs: Mutex<Option<Outputs>>,
    budget: Duration,
    started: Instant,
    on_new_secret: Option<SecretHook>,
    replication_waits: Mutex<u32>,
    /// Serializes this run's record writes: each one replaces the app's whole `tags`
    /// collection, re-read from the tenant first.
    record_writes: tokio::sync::Mutex<()>,
    /// Every record entry this run added or removed, reapplied over each tenant copy: under
    /// replication lag a read may not show this run's own earlier writes yet, and writing
    /// that stale copy back would undo them.
    own_entries: Mutex<OwnEntries>,
    /// The rev of this run's last record write, and when it was sent.
    last_record_write: Mutex<Option<RecordWrite>>,
    /// Off for destroy: the app that holds the record goes too.
    recording: bool,
    /// The Key Vault each new secret is delivered to (`secret.key_vault`).
    vault: Option<&'a crate::vault::Vault>,
}

/// The record entries one run wrote, each in its latest direction, and the entries it has
/// seen in the tenant.
#[derive(Debug, Clone, Default)]
struct OwnEntries {
    added: Vec<Entry>,
    removed: Vec<Entry>,
    /// Policy, delivered-secret and made entries read from the tenant at any point in this run.
    /// Written back with every write (unless this run removed them): under lag another
    /// run's write may have been based on a copy without them. Both kinds are safe to keep
    /// too long (an entry for a policy or secret that is gone costs nothing); intents are
    /// not, so they are never carried over.
    seen: Vec<Entry>,
}

impl OwnEntries {
    fn saw(&mut self, record: &Record) {
        let entries = record
            .policies
            .iter()
            .map(|id| Entry::Policy(id.clone()))
            .chain(
                record
                    .delivered_secrets
                    .iter()
                    .map(|key| Entry::DeliveredSecret(*key)),
            )
            .chain(
                record
                    .made
                    .iter()
                    .map(|(kind, id)| Entry::Made(kind.clone(), id.clone())),
            );
        for entry in entries {
            if !self.seen.contains(&entry) {
                self.seen.push(entry);
            }
        }
    }

    /// `copy` marked, with the entries seen (no change of their own: they only ride along),
    /// then this run's; whether anything of this run's changed it.
    fn applied_to(&self, copy: &Record) -> (Record, bool) {
        let mut changed = !copy.present;
        let mut next = copy.clone().marked();
        for entry in self.seen.iter().filter(|e| !self.removed.contains(e)) {
            next.add(entry);
        }
        for entry in &self.added {
            changed |= next.add(entry);
        }
        for entry in &self.removed {
            changed |= next.remove(entry);
        }
        (next, changed)
    }

    fn note(&mut self, add: &[Entry], remove: &[Entry]) {
        for entry in add {
            self.removed.retain(|e| e != entry);
            if !self.added.contains(entry) {
                self.added.push(entry.clone());
            }
        }
        for entry in remove {
            self.added.retain(|e| e != entry);
            if !self.removed.contains(entry) {
                self.removed.push(entry.clone());
            }
        }
    }
}

/// This run's last record write.
#[derive(Debug, Clone)]
struct RecordWrite {
    rev: String,
    /// The rev of the copy it was written over.
    based_on: Option<String>,
    sent_at: Instant,
}

impl RecordWrite {
    /// Whether `record` shows this write or a later one: its rev is ours, or neither ours
    /// nor the one we wrote over, and no older than that one.
    fn shown_in(&self, record: &Record) -> bool {
        match record.rev.as_deref() {
            Some(rev) if rev == self.rev => true,
            shown => {
                shown != self.based_on.as_deref()
                    && shown.map(Record::rev_millis).unwrap_or(0)
                        >= self
                            .based_on
                            .as_deref()
                            .map(Record::rev_millis)
                            .unwrap_or(0)
            }
        }
    }
}

impl<'a> ApplyContext<'a> {
    pub fn new(
        client: &'a GraphClient,
        desired: &'a Desired,
        live: &LiveState,
        outputs: Option<Outputs>,
        settings: ApplySettings<'a>,
    ) -> Self {
        let known = Known {
            app_object_id: live.app_object_id().map(String::from),
            app_id: live.app_id().map(String::from),
            sp_id: live.service_principal_id().map(String::from),
        };
        // A held secret the tenant no longer has is dead: the outputs stop offering it.
        let outputs = outputs.map(|mut o| {
            o.secret = o.secret.filter(|s| live.has_secret(s.key_id));
            o
        });
        Self {
            client,
            desired,
            progress: settings.progress,
            known: Mutex::new(known),
            learned: Mutex::new(HashMap::new()),
            outputs: Mutex::new(outputs),
            budget: settings.budget,
            started: Instant::now(),
            on_new_secret: settings.on_new_secret,
            replication_waits: Mutex::new(0),
            record_writes: tokio::sync::Mutex::new(()),
            own_entries: Mutex::new({
                let mut own = OwnEntries::default();
                own.saw(&live.record);
                own
            }),
            last_record_write: Mutex::new(None),
            recording: settings.recording,
            vault: None,
        }
    }

    /// The context with the vault new secrets are delivered to.
    pub fn with_vault(mut self, vault: Option<&'a crate::vault::Vault>) -> Self {
        self.vault = vault;
        self
    }

    /// Adds `entry` to the ownership record in the tenant.
    pub async fn record(&self, entry: Entry) -> Result<(), ApplyError> {
        self.write_record_with(&[entry], &[], &serde_json::json!({}))
            .await
    }

    /// Removes `entry` from the ownership record in the tenant.
    pub async fn unrecord(&self, entry: Entry) -> Result<(), ApplyError> {
        self.write_record_with(&[], &[entry], &serde_json::json!({}))
            .await
    }

    /// Writes the record with `add` and without `remove`, in one PATCH of the app together
    /// with `body` (an adoption's `uniqueName` and corrections). Skipped when nothing changes.
    pub async fn write_record_with(
        &self,
        add: &[Entry],
        remove: &[Entry],
        body: &serde_json::Value,
    ) -> Result<(), ApplyError> {
        if !self.recording {
            return Ok(());
        }
        let _serialized = self.record_writes.lock().await;
        let tenant_copy = self.read_tenant_record().await?;
        self.write_record_over(tenant_copy, add, remove, body)
            .await
            .map(|_| ())
    }

    /// Runs `create` (a POST whose answer names a new object) and records what it made,
    /// dropping the entries it `resolves` (an intent). The record is re-read while the POST is in flight, which saves a
    /// round trip; the lock keeps this run's other record writes out of that window.
    pub async fn create_and_record<T, F, Fut>(
        &self,
        resolves: &[Entry],
        create: F,
        entry_of: impl Fn(&T) -> Option<Entry>,
    ) -> Result<T, ApplyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApplyError>>,
    {
        if !self.recording {
            return create().await;
        }
        let _serialized = self.record_writes.lock().await;
        let timed_read = async {
            let started = Instant::now();
            let copy = self.read_tenant_record().await;
            (copy, started.elapsed(), Instant::now())
        };
        let (created, (tenant_copy, took, read_at)) = tokio::join!(create(), timed_read);
        let created = created?;
        // A create that was throttled or retried answers long after the copy was read; the
        // copy is then as stale as a sequential read would not be, so read again.
        let tenant_copy = if read_at.elapsed() > took {
            self.read_tenant_record().await
        } else {
            tenant_copy
        };
        let entry = entry_of(&created).ok_or(ApplyError::Missing("the new object's id"))?;
        self.write_record_over(tenant_copy?, &[entry], resolves, &serde_json::json!({}))
            .await?;
        Ok(created)
    }

    /// The record as the tenant holds it now. Another run may have written it since we read
    /// it, and `tags` is replaced whole on every write: each write starts from this copy, so
    /// no entry of theirs is lost. An app that carries no record yet (made before the record
    /// existed) may have any secret of ours in use: the copy lists them all as delivered, so
    /// the first write that marks the app records them too.
    async fn read_tenant_record(&self) -> Result<Record, ApplyError> {
        let object_id = self
            .known()
            .app_object_id
            .ok_or(ApplyError::Missing("the application's object id"))?;
        let read = crate::graph::Request::get(format!("applications/{object_id}"))
            .query("$select", "id,tags,passwordCredentials");
        let current: crate::graph::models::Application = self
            .retry_while_replicating(
                "the application",
                |e| e.status() == Some(404),
                || async { self.client.send(&read).await?.json() },
            )
            .await?;
        let mut record = Record::from_tags(current.tags.as_deref().unwrap_or_default());
        if !record.present {
            let ours = &self.desired.secret.display_name;
            for credential in current.password_credentials.iter().flatten() {
                if credential.display_name.as_deref() == Some(ours.as_str()) {
                    if let Some(key) = credential.key_id {
                        record.add(&Entry::DeliveredSecret(key));
                    }
                }
            }
        }
        {
            let mut own = lock(&self.own_entries);
            own.saw(&record);
        }
        Ok(record)
    }

    /// Writes `tenant_copy` with this run's entries, `add` and not `remove` (skipped when
    /// that changes nothing; the caller holds `record_writes`). Policy and delivered-secret
    /// entries this run has seen ride along, so a write from a stale copy by another run is
    /// undone by ours. When the app is not readable yet (lag), the copy is read again before
    /// the write is retried: time has passed, and another run may have written. Returns
    /// whether a write was sent.
    async fn write_record_over(
        &self,
        tenant_copy: Record,
        add: &[Entry],
        remove: &[Entry],
        body: &serde_json::Value,
    ) -> Result<bool, ApplyError> {
        let object_id = self
            .known()
            .app_object_id
            .ok_or(ApplyError::Missing("the application's object id"))?;
        let mut own = lock(&self.own_entries).clone();
        own.note(add, remove);
        let has_body = body.as_object().is_some_and(|b| !b.is_empty());
        let mut copy = tenant_copy;
        let mut wait = Duration::from_millis(250);
        loop {
            let (mut next, changed) = own.applied_to(&copy);
            if !changed && !has_body {
                self.keep_own(own);
                return Ok(false);
            }
            let rev = Record::new_rev();
            next.rev = Some(rev.clone());
            let mut request_body = body.clone();
            request_body["tags"] = serde_json::json!(next.to_tags());
            let request =
                crate::graph::Request::patch(format!("applications/{object_id}"), request_body);
            let sent_at = Instant::now();
            match self.client.send(&request).await {
                Ok(_) => {
                    self.keep_own(own);
                    {
                        let mut last = lock(&self.last_record_write);
                        *last = Some(RecordWrite {
                            rev,
                            based_on: copy.rev.clone(),
                            sent_at,
                        });
                    }
                    return Ok(true);
                }
                Err(e) if e.status() == Some(404) => {
                    self.wait_for_replication("the application", &mut wait, || e.to_string())
                        .await?;
                    copy = self.read_tenant_record().await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn keep_own(&self, own: OwnEntries) {
        {
            let mut kept = lock(&self.own_entries);
            *kept = own;
        }
    }

    /// Whether `record` lacks an entry this run wrote, or holds one it removed.
    fn lacks_own(&self, record: &Record) -> bool {
        let own = lock(&self.own_entries);
        own.added.iter().any(|e| !record.has(e)) || own.removed.iter().any(|e| record.has(e))
    }

    /// Another run's record write may be based on a copy read before ours replicated, and
    /// drop what we wrote (a delivered secret would then look undelivered to the next run).
    /// So after its last record write a run watches the record: until its own write shows,
    /// or a later one (a rev that is neither ours nor the one we wrote over, and no older),
    /// which measures the lag; then for as long again, since a write based on a copy older
    /// than ours lands within that time. Whatever of ours is missing is written back. When
    /// the first look shows our write and the run met no lag on anything it made, that one
    /// read is all. It never fails the run: past its bound it warns.
    pub async fn settle_record(&self) -> Result<(), ApplyError> {
        let last = lock(&self.last_record_write).clone();
        let Some(mut ours) = last.filter(|_| self.recording) else {
            return Ok(());
        };
        let bound = (2 * crate::ownership::INTENT_SETTLE)
            .min(self.budget.saturating_sub(self.started.elapsed()));
        let watching = Instant::now();
        let mut visible_since: Option<Instant> = None;
        // Whether a look has shown the record without our write yet: lag, measured.
        let mut seen_pending = false;
        let mut wait = Duration::from_millis(100);
        loop {
            if watching.elapsed() >= bound {
                tracing::warn!(
                    "the app's ownership record did not settle within {:.0}s; the next run checks it again",
                    bound.as_secs_f64()
                );
                return Ok(());
            }
            let record = match self.read_tenant_record().await {
                Ok(record) => record,
                Err(error) => {
                    tracing::warn!("cannot read the app's ownership record back ({error}); the next run checks it again");
                    return Ok(());
                }
            };
            if ours.shown_in(&record) && self.lacks_own(&record) {
                let _serialized = self.record_writes.lock().await;
                let rewrote = self
                    .write_record_over(record, &[], &[], &serde_json::json!({}))
                    .await;
                if rewrote.as_ref().is_ok_and(|sent| *sent) {
                    if let Some(latest) = lock(&self.last_record_write).clone() {
                        ours = latest;
                    }
                    visible_since = None;
                    continue;
                }
                if let Err(error) = rewrote {
                    tracing::warn!("cannot put back this run's ownership entries ({error}); the next run checks them again");
                    return Ok(());
                }
            } else if ours.shown_in(&record) {
                // Shown at the very first look, by a run that met no lag on anything it made:
                // the tenant replicates at once, and one look is all it takes.
                let first_look = visible_since.is_none() && !seen_pending;
                let met_lag = *lock(&self.replication_waits) > 0;
                if first_look && !met_lag {
                    return Ok(());
                }
                let since = *visible_since.get_or_insert_with(Instant::now);
                let lag = since.saturating_duration_since(ours.sent_at);
                if since.elapsed() >= lag {
                    return Ok(());
                }
                wait = wait.min(lag - since.elapsed());
            } else {
                seen_pending = true;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// Gives an app this run has just made (`201`, sent without `tags`) its record. Its tags
    /// are known to be empty, so nothing is read first (unless the write must be retried).
    pub async fn record_new_app(&self) -> Result<(), ApplyError> {
        if !self.recording {
            return Ok(());
        }
        let _serialized = self.record_writes.lock().await;
        self.write_record_over(Record::default(), &[], &[], &serde_json::json!({}))
            .await?;
        Ok(())
    }

    /// `DELETE path`; an object already gone (404) is what was wanted.
    pub async fn delete_if_present(&self, path: &str) -> Result<(), GraphError> {
        match self.client.delete(path).await {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// How many times this run waited for replication.
    pub fn replication_waits(&self) -> u32 {
        *lock(&self.replication_waits)
    }

    /// The outputs as they stand now.
    pub fn outputs(&self) -> Option<Outputs> {
        lock(&self.outputs).clone()
    }

    pub fn known(&self) -> Known {
        lock(&self.known).clone()
    }

    pub fn learn_application(&self, object_id: String, app_id: String) {
        {
            let mut known = lock(&self.known);
            known.app_object_id = Some(object_id);
            known.app_id = Some(app_id);
        }
    }

    /// Keeps the id of an object this run made, for the changes that name it by a
    /// [`super::Promise`].
    pub fn learn(&self, address: &Address, id: String) {
        {
            let mut learned = lock(&self.learned);
            learned.insert(address.clone(), id);
        }
    }

    /// The id learned for `address` ([`ApplyContext::learn`]).
    pub fn learned_id(&self, address: &Address) -> Option<String> {
        lock(&self.learned).get(address).cloned()
    }

    /// `value` with every promise placeholder replaced by the id its object got in this run.
    pub fn keep_promises(
        &self,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, ApplyError> {
        let learned = lock(&self.learned);
        super::promise::fill(value, &learned)
    }

    pub fn learn_service_principal(&self, id: String) {
        {
            let mut known = lock(&self.known);
            known.sp_id = Some(id);
        }
    }

    /// Masks a new secret in CI before anything else sees it.
    pub fn mask_secret(&self, value: &SecretString) {
        if let Some(hook) = &self.on_new_secret {
            hook(value);
        }
    }

    /// Writes a new secret to the configured Key Vault, if any, tagged with its tenant, app
    /// and `keyId`: the vault's answer is proof of delivery.
    pub async fn deliver_to_vault(
        &self,
        secret: &HeldSecret,
    ) -> Result<(), crate::vault::VaultError> {
        let Some(vault) = self.vault else {
            return Ok(());
        };
        let client_id = self.known().app_id.unwrap_or_default();
        let version = vault
            .deliver(secret, &self.desired.tenant_id, &client_id)
            .await?;
        tracing::info!(
            "client secret {} delivered to Key Vault {} as secret `{}` (version {version})",
            secret.key_id,
            vault.target().display(),
            vault.target().secret_name
        );
        Ok(())
    }

    /// Whether the configured vault's current version is the secret `key_id`; `None` when
    /// that cannot be read.
    pub async fn vault_holds(&self, key_id: uuid::Uuid) -> Option<bool> {
        let vault = self.vault?;
        vault
            .read()
            .await
            .ok()
            .map(|state| state.key_id() == Some(key_id))
    }

    /// Keeps a new secret: writes the outputs file at once, because Graph never shows the
    /// value again; with `outputs.secret_in_outputs = false` the vault alone keeps it, and
    /// the file only the ids.
    pub fn record_secret(&self, secret: HeldSecret) -> Result<(), ApplyError> {
        let outputs = {
            let mut guard = lock(&self.outputs);
            let mut outputs = self.current_outputs(guard.as_ref());
            outputs.secret = self.desired.outputs.secret_in_outputs.then_some(secret);
            *guard = Some(outputs.clone());
            outputs
        };
        outputs.write(&self.desired.outputs.directory)?;
        Ok(())
    }

    fn current_outputs(&self, held: Option<&Outputs>) -> Outputs {
        let known = self.known();
        let same_app = held.filter(|o| Some(o.client_id.as_str()) == known.app_id.as_deref());
        Outputs {
            tenant_id: self.desired.tenant_id,
            unique_name: self.desired.app.unique_name.clone(),
            client_id: known.app_id.clone().unwrap_or_default(),
            application_object_id: known.app_object_id.clone().unwrap_or_default(),
            service_principal_id: known.sp_id.clone(),
            secret: same_app.and_then(|o| o.secret.clone()),
        }
    }

    /// Writes `outputs.json` with every id now known and renders the templates.
    pub fn write_outputs(&self) -> Result<(Outputs, Vec<std::path::PathBuf>), ApplyError> {
        let outputs = {
            let mut guard = lock(&self.outputs);
            let outputs = self.current_outputs(guard.as_ref());
            *guard = Some(outputs.clone());
            outputs
        };
        let mut written = vec![outputs.write(&self.desired.outputs.directory)?];
        let files = crate::render::render_all(self.desired, &outputs)?;
        written.extend(crate::render::write_all(&files)?);
        Ok((outputs, written))
    }

    /// Runs `attempt` until it succeeds, fails with something other than replication lag,
    /// or the time budget is spent. Waits grow from 250 ms to 4 s: no fixed sleeps.
    pub async fn retry_while_replicating<T, F, Fut>(
        &self,
        what: &str,
        is_lag: impl Fn(&GraphError) -> bool,
        mut attempt: F,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, GraphError>>,
    {
        let mut wait = Duration::from_millis(250);
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(e) if is_lag(&e) => {
                    self.wait_for_replication(what, &mut wait, || e.to_string())
                        .await?
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads with `check` until it sees what a write made (`Some`), with the waits and the
    /// budget of [`ApplyContext::retry_while_replicating`]: for a change Graph accepted
    /// but reads do not show yet.
    pub async fn poll_until_replicated<T, F, Fut>(
        &self,
        what: &str,
        mut check: F,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, GraphError>>,
    {
        let mut wait = Duration::from_millis(250);
        loop {
            if let Some(seen) = check().await? {
                return Ok(seen);
            }
            self.wait_for_replication(what, &mut wait, || "not seen yet".to_string())
                .await?;
        }
    }

    /// Like [`ApplyContext::poll_until_replicated`], but gives up after `limit` (or the
    /// budget, whichever comes first) with `None`: for something that may never appear.
    pub async fn poll_for<T, E, F, Fut>(
        &self,
        what: &str,
        limit: Duration,
        mut check: F,
    ) -> Result<Option<T>, ApplyError>
    where
        E: Into<ApplyError>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let started = Instant::now();
        let mut wait = Duration::from_millis(250);
        loop {
            if let Some(seen) = check().await.map_err(Into::into)? {
                return Ok(Some(seen));
            }
            let left_in_budget = self.budget.saturating_sub(self.started.elapsed());
            if started.elapsed() + wait > limit.min(left_in_budget) {
                return Ok(None);
            }
            self.wait_for_replication(what, &mut wait, || "not seen yet".to_string())
                .await?;
        }
    }

    /// The record as the tenant holds it now, with this run's own entries applied.
    pub async fn tenant_record(&self) -> Result<Record, ApplyError> {
        let mut record = self.read_tenant_record().await?;
        {
            let own = lock(&self.own_entries);
            for entry in &own.added {
                record.add(entry);
            }
            for entry in &own.removed {
                record.remove(entry);
            }
        }
        Ok(record)
    }

    /// One wait for replication, `wait` growing for the next; the timeout error (with `last`
    /// as what was seen) when it would overrun the budget.
    async fn wait_for_replication(
        &self,
        what: &str,
        wait: &mut Duration,
        last: impl FnOnce() -> String,
    ) -> Result<(), ApplyError> {
        let waited = self.started.elapsed();
        if waited + *wait > self.budget {
            return Err(ApplyError::ReplicationTimeout {
                what: what.to_string(),
                waited,
                budget: self.budget,
                last: last(),
            });
        }
        {
            let mut count = lock(&self.replication_waits);
            *count += 1;
        }
        self.progress.waiting(&format!(
            "waiting for Entra to replicate {what} ({:.1}s so far)",
            waited.as_secs_f64()
        ));
        tokio::time::sleep(*wait).await;
        *wait = (*wait * 2).min(Duration::from_secs(4));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_poisoned_by_a_panic_still_gives_its_value() {
        let entries = std::sync::Arc::new(Mutex::new(vec![Entry::PolicyIntent(1)]));
        let held = entries.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = held.lock().unwrap();
            panic!("a change panics while holding the entries");
        })
        .join();
        assert!(panicked.is_err());
        assert!(entries.lock().is_err(), "the lock is poisoned");
        assert_eq!(*lock(&entries), vec![Entry::PolicyIntent(1)]);
    }
}
