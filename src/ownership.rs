//! The ownership record: what entra-mail made or adopted, kept in the tenant on the one object
//! that is ours beyond doubt, the application found by `uniqueName`, as entries of its `tags`.
//!
//! A fresh CI runner holds no local files, so every decision that deletes or rewrites
//! something ("ours", "orphan", "adopt") is made from this record:
//!
//! - `entra-mail:v1`: the app carries a record (apps made before the record existed do not);
//! - `entra-mail:policy:<id>`: a Conditional Access policy entra-mail created or adopted;
//! - `entra-mail:policy-intent:<unix seconds>`: a run is about to create a policy. Written
//!   before the POST, so a policy whose answer was lost (or whose run was killed) is still
//!   recognised as ours: it carries our display name and was made after the intent;
//! - `entra-mail:secret:<keyId>`: a client secret of ours whose value was delivered (written
//!   to the outputs file, or to the Key Vault). A secret with our display name that is not listed is pending: its
//!   value never reached anyone (a lost answer, or a crash before delivery).
//!
//! - `entra-mail:made:<kind>:<id>`: an object of another managed kind (a pilot group) that
//!   entra-mail created, and so may delete; one it adopted is never listed here.
//!
//! - `entra-mail:rev:<unix ms>-<nonce>`: which write the tenant shows. Every write replaces
//!   it, so a run that sees its own rev knows its write has replicated, and one that sees a
//!   later rev knows another run wrote since (see `ApplyContext::settle_record`).
//!
//! Tags that are not ours, and `entra-mail:` entries this version does not know, are kept as
//! they are: the whole collection is written back on every change.

use std::collections::BTreeSet;

use uuid::Uuid;

/// How far our clock and Entra's may disagree when a policy is matched to an intent.
pub const CLOCK_SLACK_SECONDS: i64 = 60;

/// How long after a recorded intent its policy may still be hidden by replication: a run
/// that finds a younger intent with no policy waits for it before creating another, and a
/// run whose POST lost its answer looks this long. Entra usually replicates in seconds.
pub const INTENT_SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Every entry of ours starts with this.
pub const PREFIX: &str = "entra-mail:";
/// Says the app carries a record.
pub const MARKER: &str = "entra-mail:v1";
const POLICY: &str = "entra-mail:policy:";
const SECRET: &str = "entra-mail:secret:";
const POLICY_INTENT: &str = "entra-mail:policy-intent:";
const REV: &str = "entra-mail:rev:";
const MADE: &str = "entra-mail:made:";

/// The record as read from (and written to) an application's `tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Whether the app carries a record at all (`entra-mail:v1`).
    pub present: bool,
    /// Conditional Access policy ids, lowercase.
    pub policies: BTreeSet<String>,
    /// keyIds of delivered secrets.
    pub delivered_secrets: BTreeSet<Uuid>,
    /// When runs set out to create a policy (unix seconds), not yet resolved to an id.
    pub policy_intents: BTreeSet<i64>,
    /// Objects of other kinds entra-mail created: (kind, id lowercase).
    pub made: BTreeSet<(String, String)>,
    /// The write this copy comes from (`<unix ms>-<nonce>`), when any write set one.
    pub rev: Option<String>,
    /// Tags that are not ours (or ours from another version), kept in order.
    other_tags: Vec<String>,
}

impl Record {
    /// Reads the record from an application's tags.
    pub fn from_tags(tags: &[String]) -> Self {
        let mut record = Record::default();
        for tag in tags {
            if tag == MARKER {
                record.present = true;
            } else if let Some(id) = tag.strip_prefix(POLICY).filter(|id| !id.is_empty()) {
                record.policies.insert(id.to_ascii_lowercase());
            } else if let Some(key) = tag.strip_prefix(SECRET).and_then(|k| k.parse().ok()) {
                record.delivered_secrets.insert(key);
            } else if let Some(at) = tag.strip_prefix(POLICY_INTENT).and_then(|t| t.parse().ok()) {
                record.policy_intents.insert(at);
            } else if let Some((kind, id)) = tag
                .strip_prefix(MADE)
                .and_then(|rest| rest.split_once(':'))
                .filter(|(kind, id)| !kind.is_empty() && !id.is_empty())
            {
                record
                    .made
                    .insert((kind.to_string(), id.to_ascii_lowercase()));
            } else if let Some(rev) = tag.strip_prefix(REV) {
                record.rev = Some(rev.to_string());
            } else {
                record.other_tags.push(tag.clone());
            }
        }
        record
    }

    /// The tags to write: everything not ours as it was, then the record.
    pub fn to_tags(&self) -> Vec<String> {
        let mut tags = self.other_tags.clone();
        tags.push(MARKER.to_string());
        tags.extend(self.policies.iter().map(|id| format!("{POLICY}{id}")));
        tags.extend(
            self.policy_intents
                .iter()
                .map(|at| format!("{POLICY_INTENT}{at}")),
        );
        tags.extend(
            self.delivered_secrets
                .iter()
                .map(|key| format!("{SECRET}{key}")),
        );
        tags.extend(
            self.made
                .iter()
                .map(|(kind, id)| format!("{MADE}{kind}:{id}")),
        );
        tags.extend(self.rev.iter().map(|rev| format!("{REV}{rev}")));
        tags
    }

    /// The unix milliseconds a rev was written at (0 when unreadable).
    pub fn rev_millis(rev: &str) -> i128 {
        rev.split('-')
            .next()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0)
    }

    /// A new rev for a write made now.
    pub fn new_rev() -> String {
        let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        format!("{millis}-{:08x}", fastrand::u32(..))
    }

    pub fn owns_policy(&self, id: &str) -> bool {
        self.policies.contains(&id.to_ascii_lowercase())
    }

    /// Whether entra-mail created the `kind` object `id` (and so may delete it).
    pub fn made(&self, kind: &str, id: &str) -> bool {
        self.made
            .contains(&(kind.to_string(), id.to_ascii_lowercase()))
    }

    pub fn delivered(&self, key_id: Uuid) -> bool {
        self.delivered_secrets.contains(&key_id)
    }

    /// Whether a policy made at `created` answers one of our intents: made after it, and
    /// soon enough that replication alone explains why its run did not record it (clocks may
    /// differ by up to a minute). A stale intent never claims a policy made much later.
    pub fn intended(&self, created: time::OffsetDateTime) -> bool {
        let created = created.unix_timestamp();
        let settle = INTENT_SETTLE.as_secs() as i64;
        self.policy_intents.iter().any(|at| {
            created >= at.saturating_sub(CLOCK_SLACK_SECONDS)
                && created <= at.saturating_add(settle + CLOCK_SLACK_SECONDS)
        })
    }

    /// The record with `present` set: what is written from now on.
    pub fn marked(mut self) -> Self {
        self.present = true;
        self
    }
}

/// A change to the record, made by apply as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Policy(String),
    DeliveredSecret(Uuid),
    PolicyIntent(i64),
    /// An object of another kind entra-mail created: (kind, id).
    Made(String, String),
}

impl Record {
    /// Adds `entry`; whether the record changed.
    pub fn add(&mut self, entry: &Entry) -> bool {
        match entry {
            Entry::Policy(id) => self.policies.insert(id.to_ascii_lowercase()),
            Entry::DeliveredSecret(key) => self.delivered_secrets.insert(*key),
            Entry::PolicyIntent(at) => self.policy_intents.insert(*at),
            Entry::Made(kind, id) => self.made.insert((kind.clone(), id.to_ascii_lowercase())),
        }
    }

    /// Whether the record holds `entry`.
    pub fn has(&self, entry: &Entry) -> bool {
        match entry {
            Entry::Policy(id) => self.owns_policy(id),
            Entry::DeliveredSecret(key) => self.delivered(*key),
            Entry::PolicyIntent(at) => self.policy_intents.contains(at),
            Entry::Made(kind, id) => self.made(kind, id),
        }
    }

    /// Removes `entry`; whether the record changed.
    pub fn remove(&mut self, entry: &Entry) -> bool {
        match entry {
            Entry::Policy(id) => self.policies.remove(&id.to_ascii_lowercase()),
            Entry::DeliveredSecret(key) => self.delivered_secrets.remove(key),
            Entry::PolicyIntent(at) => self.policy_intents.remove(at),
            Entry::Made(kind, id) => self.made.remove(&(kind.clone(), id.to_ascii_lowercase())),
        }
    }
}

/// The tag that finds our service principal without knowing its app's appId, so a fresh
/// runner reads it in the same wave as the app.
pub fn service_principal_key(unique_name: &str) -> String {
    format!("{PREFIX}app:{unique_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_tags_that_are_not_ours() {
        let key = Uuid::from_u128(7);
        let tags = vec![
            "HideApp".to_string(),
            MARKER.to_string(),
            "entra-mail:policy:ABC".to_string(),
            format!("entra-mail:secret:{key}"),
            "entra-mail:policy-intent:1700000000".to_string(),
            "entra-mail:future:thing".to_string(),
            "entra-mail:rev:1700000000123-0badf00d".to_string(),
            "entra-mail:made:group:G-1".to_string(),
        ];
        let record = Record::from_tags(&tags);
        assert!(record.present);
        assert!(record.made("group", "g-1"));
        assert!(!record.made("application", "g-1"));
        assert_eq!(record.rev.as_deref(), Some("1700000000123-0badf00d"));
        assert_eq!(
            Record::rev_millis("1700000000123-0badf00d"),
            1_700_000_000_123
        );
        assert!(record.owns_policy("abc"));
        assert!(record.delivered(key));
        assert!(!record.delivered(Uuid::from_u128(8)));
        let at = |s| time::OffsetDateTime::from_unix_timestamp(s).unwrap();
        assert!(
            record.intended(at(1_700_000_000 - 30)),
            "within the clock slack"
        );
        assert!(
            !record.intended(at(1_700_000_000 - 3600)),
            "made before the intent"
        );
        assert!(
            !record.intended(at(1_700_000_000 + 3600)),
            "made long after the intent: a stale intent claims nothing"
        );
        let written = record.to_tags();
        assert!(written.contains(&"HideApp".to_string()));
        assert!(written.contains(&"entra-mail:future:thing".to_string()));
        assert_eq!(Record::from_tags(&written), record);
    }

    #[test]
    fn an_app_without_the_marker_has_no_record() {
        let record = Record::from_tags(&["HideApp".to_string()]);
        assert!(!record.present);
        assert!(record.to_tags().contains(&MARKER.to_string()));
    }

    #[test]
    fn entries_are_added_and_removed_once() {
        let mut record = Record::default();
        let entry = Entry::Policy("P1".into());
        assert!(record.add(&entry));
        assert!(!record.add(&Entry::Policy("p1".into())));
        assert!(record.remove(&entry));
        assert!(!record.remove(&entry));
    }
}
