//! The secret operations once a request is authenticated and allowed: set (a new version
//! every time), get (latest or one version), list versions, soft delete, read and purge a
//! deleted secret; answers in Key Vault's SecretBundle, SecretItem and DeletedSecretBundle
//! shapes.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::replies::{
    bad_parameter, deleted_but_recoverable, deleted_secret_not_found, disabled, secret_not_found,
};
use super::{Deletion, KeyVault, Operation, SecretVersion, VaultSecret};
use crate::graph::Reply;

/// How long a soft-deleted secret stays recoverable (the vault's retention, in days).
const RECOVERABLE_DAYS: i64 = 90;
/// Key Vault's limit on a secret's tags.
const MAX_TAGS: usize = 15;

/// What a request needs of the vault and the simulator.
pub struct Ctx<'a> {
    pub vault: &'a mut KeyVault,
    /// The vault's URL, which ids start with.
    pub url: String,
    pub rng: &'a mut fastrand::Rng,
    pub issued_secrets: &'a mut Vec<String>,
    pub issued_ids: &'a mut std::collections::HashSet<String>,
}

/// The body of a set: the value, and optionally its content type, attributes and tags.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetRequest {
    value: Option<String>,
    content_type: Option<String>,
    attributes: Option<AttributesRequest>,
    tags: Option<BTreeMap<String, String>>,
}

/// The attributes a client may set; `created`, `updated` and the recovery level are the
/// vault's (ignored when sent).
#[derive(Debug, Default, Deserialize)]
struct AttributesRequest {
    enabled: Option<bool>,
    exp: Option<i64>,
    nbf: Option<i64>,
}

impl Ctx<'_> {
    /// Runs `operation`: its answer, and whether it changed the vault.
    pub fn run(&mut self, operation: Operation, body: &[u8]) -> Result<(Reply, bool), Reply> {
        match operation {
            Operation::Set(name) => self.set(&name, body).map(|r| (r, true)),
            Operation::Get(name, version) => {
                self.get(&name, version.as_deref()).map(|r| (r, false))
            }
            Operation::Versions(name) => self.versions(&name).map(|r| (r, false)),
            Operation::Delete(name) => self.delete(&name).map(|r| (r, true)),
            Operation::GetDeleted(name) => self.get_deleted(&name).map(|r| (r, false)),
            Operation::Purge(name) => self.purge(&name).map(|r| (r, true)),
        }
    }

    fn set(&mut self, name: &str, body: &[u8]) -> Result<Reply, Reply> {
        let request: SetRequest = serde_json::from_slice(body)
            .map_err(|e| bad_parameter(format!("The request body is not a valid secret: {e}")))?;
        let value = request
            .value
            .ok_or_else(|| bad_parameter("Property 'value' is required."))?;
        if request.tags.as_ref().is_some_and(|t| t.len() > MAX_TAGS) {
            return Err(bad_parameter(format!(
                "Too many tags: a secret may have at most {MAX_TAGS}."
            )));
        }
        if self.vault.secret(name).is_some_and(|s| s.deleted.is_some()) {
            return Err(deleted_but_recoverable(name));
        }
        let attributes = request.attributes.unwrap_or_default();
        let now = epoch_now();
        let version = SecretVersion {
            version: crate::state::guid_from(self.rng, self.issued_ids).replace('-', ""),
            value,
            content_type: request.content_type,
            tags: request.tags,
            enabled: attributes.enabled.unwrap_or(true),
            created: now,
            updated: now,
            exp: attributes.exp,
            nbf: attributes.nbf,
        };
        // Leak scans look for every value a vault holds, as for client secrets.
        if !self.issued_secrets.contains(&version.value) {
            self.issued_secrets.push(version.value.clone());
        }
        let secret = self
            .vault
            .secrets
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| VaultSecret {
                name: name.to_string(),
                versions: Vec::new(),
                deleted: None,
            });
        secret.versions.push(version);
        let secret = secret.clone();
        Ok(Reply::json(
            200,
            self.bundle(&secret, secret.versions.last(), true),
        ))
    }

    fn get(&self, name: &str, version: Option<&str>) -> Result<Reply, Reply> {
        let secret = self.live(name)?;
        let found = match version {
            None => secret.versions.last(),
            Some(wanted) => secret
                .versions
                .iter()
                .find(|v| v.version.eq_ignore_ascii_case(wanted)),
        };
        let found = found
            .ok_or_else(|| secret_not_found(&format!("{name}/{}", version.unwrap_or_default())))?;
        if !found.enabled {
            return Err(disabled());
        }
        Ok(Reply::json(200, self.bundle(secret, Some(found), true)))
    }

    fn versions(&self, name: &str) -> Result<Reply, Reply> {
        let secret = self.live(name)?;
        let items: Vec<Value> = secret
            .versions
            .iter()
            .map(|v| self.bundle(secret, Some(v), false))
            .collect();
        Ok(Reply::json(200, json!({"value": items, "nextLink": null})))
    }

    fn delete(&mut self, name: &str) -> Result<Reply, Reply> {
        self.live(name)?;
        let now = epoch_now();
        let deletion = Deletion {
            deleted: now,
            scheduled_purge: now + RECOVERABLE_DAYS * 86_400,
        };
        let secret = self
            .vault
            .secrets
            .get_mut(&name.to_ascii_lowercase())
            .ok_or_else(|| secret_not_found(name))?;
        secret.deleted = Some(deletion);
        let secret = secret.clone();
        Ok(Reply::json(200, self.deleted_bundle(&secret, deletion)))
    }

    fn get_deleted(&self, name: &str) -> Result<Reply, Reply> {
        let (secret, deletion) = self.deleted(name)?;
        Ok(Reply::json(200, self.deleted_bundle(secret, deletion)))
    }

    fn purge(&mut self, name: &str) -> Result<Reply, Reply> {
        self.deleted(name)?;
        self.vault.secrets.remove(&name.to_ascii_lowercase());
        Ok(Reply::empty(204))
    }

    /// The secret unless it is missing or soft-deleted (both read as not found).
    fn live(&self, name: &str) -> Result<&VaultSecret, Reply> {
        self.vault
            .secret(name)
            .filter(|s| s.deleted.is_none() && !s.versions.is_empty())
            .ok_or_else(|| secret_not_found(name))
    }

    /// The secret if it is soft-deleted.
    fn deleted(&self, name: &str) -> Result<(&VaultSecret, Deletion), Reply> {
        self.vault
            .secret(name)
            .and_then(|s| s.deleted.map(|d| (s, d)))
            .ok_or_else(|| deleted_secret_not_found(name))
    }

    /// A SecretBundle (`with_value`) or SecretItem of `version`.
    fn bundle(
        &self,
        secret: &VaultSecret,
        version: Option<&SecretVersion>,
        with_value: bool,
    ) -> Value {
        let mut body = Map::new();
        let Some(version) = version else {
            return Value::Object(body);
        };
        if with_value {
            body.insert("value".into(), json!(version.value));
        }
        if let Some(content_type) = &version.content_type {
            body.insert("contentType".into(), json!(content_type));
        }
        body.insert(
            "id".into(),
            json!(format!(
                "{}/secrets/{}/{}",
                self.url, secret.name, version.version
            )),
        );
        body.insert("attributes".into(), attributes(version));
        if let Some(tags) = &version.tags {
            body.insert("tags".into(), json!(tags));
        }
        Value::Object(body)
    }

    /// A DeletedSecretBundle of the current version (without its value).
    fn deleted_bundle(&self, secret: &VaultSecret, deletion: Deletion) -> Value {
        let mut body = json!({
            "recoveryId": format!("{}/deletedsecrets/{}", self.url, secret.name),
            "deletedDate": deletion.deleted,
            "scheduledPurgeDate": deletion.scheduled_purge,
        });
        if let (Some(target), Value::Object(bundle)) = (
            body.as_object_mut(),
            self.bundle(secret, secret.versions.last(), false),
        ) {
            target.extend(bundle);
        }
        body
    }
}

/// A version's `attributes` as Key Vault shows them (times in unix seconds).
pub fn attributes(version: &SecretVersion) -> Value {
    let mut attributes = json!({
        "enabled": version.enabled,
        "created": version.created,
        "updated": version.updated,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": RECOVERABLE_DAYS,
    });
    for (key, value) in [("exp", version.exp), ("nbf", version.nbf)] {
        if let Some(value) = value {
            attributes[key] = json!(value);
        }
    }
    attributes
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        vault: &mut KeyVault,
        operation: Operation,
        body: Value,
    ) -> Result<(Reply, bool), Reply> {
        // A seed per call that differs as the vault grows, so versions differ.
        let writes = vault
            .secrets
            .values()
            .map(|s| s.versions.len())
            .sum::<usize>();
        let mut rng = fastrand::Rng::with_seed(writes as u64);
        let mut issued = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut ctx = Ctx {
            vault,
            url: "https://127.0.0.1:1/keyvault/kv".into(),
            rng: &mut rng,
            issued_secrets: &mut issued,
            issued_ids: &mut ids,
        };
        ctx.run(operation, body.to_string().as_bytes())
    }

    fn set(vault: &mut KeyVault, body: Value) -> Result<Value, u16> {
        run(vault, Operation::Set("Db-Password".into()), body)
            .map(|(r, _)| r.body.unwrap_or_default())
            .map_err(|r| r.status)
    }

    #[test]
    fn each_set_makes_a_version_with_a_hex_id() {
        let mut vault = KeyVault::default();
        let first = set(&mut vault, json!({"value": "one"})).unwrap();
        let second = set(&mut vault, json!({"value": "two", "tags": {"a": "b"}})).unwrap();
        let versions = &vault.secret("db-password").unwrap().versions;
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].version.len(), 32);
        assert!(versions[0]
            .version
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(first["id"], second["id"]);
        assert_eq!(vault.latest("DB-PASSWORD").unwrap().value, "two");
        assert_eq!(
            second["attributes"]["recoveryLevel"],
            "Recoverable+Purgeable"
        );
    }

    #[test]
    fn a_set_without_a_value_or_with_too_many_tags_is_refused() {
        let mut vault = KeyVault::default();
        assert_eq!(set(&mut vault, json!({"contentType": "x"})), Err(400));
        assert_eq!(set(&mut vault, json!({"value": 3})), Err(400));
        let tags: Map<String, Value> = (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
        assert_eq!(
            set(&mut vault, json!({"value": "v", "tags": tags})),
            Err(400)
        );
        assert!(vault.secrets.is_empty());
    }

    #[test]
    fn a_soft_deleted_name_reads_as_missing_and_cannot_be_set_until_purged() {
        let mut vault = KeyVault::default();
        set(&mut vault, json!({"value": "one"})).unwrap();
        let (deleted, wrote) = run(
            &mut vault,
            Operation::Delete("db-password".into()),
            json!(null),
        )
        .unwrap();
        assert!(wrote);
        assert!(deleted.body.unwrap()["recoveryId"]
            .as_str()
            .unwrap()
            .ends_with("/deletedsecrets/Db-Password"));
        let get = run(
            &mut vault,
            Operation::Get("db-password".into(), None),
            json!(null),
        );
        assert_eq!(get.unwrap_err().status, 404);
        assert_eq!(set(&mut vault, json!({"value": "two"})), Err(409));
        let (purged, _) = run(
            &mut vault,
            Operation::Purge("db-password".into()),
            json!(null),
        )
        .unwrap();
        assert_eq!(purged.status, 204);
        assert!(set(&mut vault, json!({"value": "two"})).is_ok());
    }

    #[test]
    fn a_disabled_version_is_listed_but_not_read() {
        let mut vault = KeyVault::default();
        set(
            &mut vault,
            json!({"value": "one", "attributes": {"enabled": false}}),
        )
        .unwrap();
        let get = run(
            &mut vault,
            Operation::Get("db-password".into(), None),
            json!(null),
        );
        assert_eq!(get.unwrap_err().status, 403);
        let (list, _) = run(
            &mut vault,
            Operation::Versions("db-password".into()),
            json!(null),
        )
        .unwrap();
        let list = list.body.unwrap();
        assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
        assert!(list["value"][0].get("value").is_none());
    }
}
