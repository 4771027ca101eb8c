//! The simulated Azure Key Vault secrets API (REST 7.x) at `{base}/keyvault/{vault}`: vaults
//! belong to a tenant, sign-in is Key Vault's (a 401 challenge first, then a token for
//! `https://vault.azure.net`), access is checked per principal as RBAC or access policies do,
//! and secrets keep versions and are soft-deleted. The way in is [`handle`]; authentication and
//! access are in `access`, the secret operations in `secrets`, error bodies in `replies`.

mod access;
mod replies;
mod secrets;

use std::collections::BTreeMap;

use axum::http::Method;
use serde::{Deserialize, Serialize};

use crate::graph::{GraphCall, Outcome, Reply};
use crate::state::{Inner, RequestFaults};
use access::Permission;
pub use replies::{to_response, unavailable};
pub use secrets::attributes;

/// The audience of a token Key Vault accepts, and the `resource` of its challenge.
pub const VAULT_AUDIENCE: &str = "https://vault.azure.net";

/// Where the simulator says its vaults are (Key Vault names the region in errors).
const LOCATION: &str = "westeurope";

/// Permissions the tenant's admin app gets on a seeded or added vault: what delivering and
/// reading a secret takes, not purging.
pub const ADMIN_PERMISSIONS: &[&str] = &["get", "set", "list", "delete"];

/// The audience of a token for `resource` (a scope without `/.default`) if it names Key
/// Vault's data plane in any cloud.
pub fn audience_of(resource: &str) -> Option<&'static str> {
    const VAULT_RESOURCES: &[(&str, &str)] = &[
        ("https://vault.azure.net", VAULT_AUDIENCE),
        ("https://vault.azure.cn", "https://vault.azure.cn"),
        (
            "https://vault.usgovcloudapi.net",
            "https://vault.usgovcloudapi.net",
        ),
    ];
    let resource = resource.trim_end_matches('/');
    VAULT_RESOURCES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(resource))
        .map(|(_, audience)| *audience)
}

/// Whether `name` is a valid vault name, as Azure checks it: 3 to 24 letters, digits and
/// hyphens, starting with a letter, ending with a letter or digit, no two hyphens in a row.
pub fn vault_name_ok(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=24).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0].is_ascii_alphabetic()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("--")
}

/// Whether `name` is a valid secret name (`^[0-9a-zA-Z-]{1,127}$`).
pub fn secret_name_ok(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One vault: its secrets and who may do what with them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyVault {
    /// By lowercase name (Key Vault names are case-insensitive).
    #[serde(default)]
    pub secrets: BTreeMap<String, VaultSecret>,
    /// Principal object id (a service principal's or a user's, the token's `oid`) to its
    /// secret permissions: "get", "set", "list", "delete", "purge". It stands for role
    /// assignments on an RBAC vault and for access policies otherwise.
    #[serde(default)]
    pub access: BTreeMap<String, Vec<String>>,
    /// Azure RBAC (the default for new vaults): refusals say `ForbiddenByRbac`; otherwise
    /// the access-policy wording (`AccessDenied`).
    #[serde(default = "rbac_default")]
    pub rbac: bool,
    /// Injected faults for this vault's requests only, on top of the global ones.
    #[serde(skip)]
    pub faults: RequestFaults,
}

fn rbac_default() -> bool {
    true
}

impl Default for KeyVault {
    fn default() -> Self {
        Self {
            secrets: BTreeMap::new(),
            access: BTreeMap::new(),
            rbac: true,
            faults: RequestFaults::default(),
        }
    }
}

impl KeyVault {
    /// A vault where `principal` holds [`ADMIN_PERMISSIONS`].
    pub fn granting(principal: &str) -> Self {
        let mut vault = Self::default();
        let permissions = ADMIN_PERMISSIONS.iter().map(|p| p.to_string()).collect();
        vault.access.insert(principal.to_string(), permissions);
        vault
    }

    /// The secret `name`, whatever its case.
    pub fn secret(&self, name: &str) -> Option<&VaultSecret> {
        self.secrets.get(&name.to_ascii_lowercase())
    }

    /// The current version of `name` unless it is soft-deleted.
    pub fn latest(&self, name: &str) -> Option<&SecretVersion> {
        self.secret(name)
            .filter(|s| s.deleted.is_none())
            .and_then(|s| s.versions.last())
    }

    /// Every value the vault holds (for leak scans).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.secrets
            .values()
            .flat_map(|s| s.versions.iter().map(|v| v.value.as_str()))
    }
}

/// A secret: its versions, oldest first, and whether it is soft-deleted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultSecret {
    /// The name as first written (ids show it so).
    pub name: String,
    pub versions: Vec<SecretVersion>,
    #[serde(default)]
    pub deleted: Option<Deletion>,
}

/// When a soft-deleted secret was deleted and will be purged (unix seconds).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Deletion {
    pub deleted: i64,
    pub scheduled_purge: i64,
}

/// One version of a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretVersion {
    /// 32 lowercase hex digits.
    pub version: String,
    pub value: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    pub enabled: bool,
    /// Unix seconds.
    pub created: i64,
    pub updated: i64,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub nbf: Option<i64>,
}

/// A vault request has the parts of a Graph one; its path is below `/keyvault/`
/// (`{vault}/secrets/{name}...`).
pub type VaultCall<'a> = GraphCall<'a>;

/// What a path below the vault names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `secrets/{name}`, `secrets/{name}/` (the latest version) or `secrets/{name}/{version}`.
    Secret {
        name: String,
        version: Option<String>,
    },
    /// `secrets/{name}/versions`.
    Versions(String),
    /// `deletedsecrets/{name}`.
    Deleted(String),
}

/// Splits `{vault}/...` into the vault's name and what it names (`None`: nothing this
/// simulator serves).
fn parse_path(path: &str) -> (String, Option<Target>) {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut segments = path.split('/').map(decode);
    let vault = segments.next().unwrap_or_default().to_ascii_lowercase();
    let rest: Vec<String> = segments.collect();
    let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
    let target = match parts.as_slice() {
        ["secrets", name] | ["secrets", name, ""] => Some(Target::Secret {
            name: name.to_string(),
            version: None,
        }),
        ["secrets", name, "versions"] => Some(Target::Versions(name.to_string())),
        ["secrets", name, version] => Some(Target::Secret {
            name: name.to_string(),
            version: Some(version.to_string()),
        }),
        ["deletedsecrets", name] => Some(Target::Deleted(name.to_string())),
        _ => None,
    };
    (vault, target)
}

/// One operation of the secrets API.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operation {
    Set(String),
    Get(String, Option<String>),
    Versions(String),
    Delete(String),
    GetDeleted(String),
    Purge(String),
}

impl Operation {
    fn of(method: &Method, target: Target) -> Option<Self> {
        Some(match (method.clone(), target) {
            (
                Method::PUT,
                Target::Secret {
                    name,
                    version: None,
                },
            ) => Self::Set(name),
            (Method::GET, Target::Secret { name, version }) => Self::Get(name, version),
            (
                Method::DELETE,
                Target::Secret {
                    name,
                    version: None,
                },
            ) => Self::Delete(name),
            (Method::GET, Target::Versions(name)) => Self::Versions(name),
            (Method::GET, Target::Deleted(name)) => Self::GetDeleted(name),
            (Method::DELETE, Target::Deleted(name)) => Self::Purge(name),
            _ => return None,
        })
    }

    fn name(&self) -> &str {
        match self {
            Self::Set(name)
            | Self::Get(name, _)
            | Self::Versions(name)
            | Self::Delete(name)
            | Self::GetDeleted(name)
            | Self::Purge(name) => name,
        }
    }

    /// What the caller must be allowed (Key Vault's documented permission per operation).
    fn permission(&self) -> Permission {
        match self {
            Self::Set(_) => Permission::Set,
            Self::Get(..) => Permission::Get,
            Self::Versions(_) | Self::GetDeleted(_) => Permission::List,
            Self::Delete(_) => Permission::Delete,
            Self::Purge(_) => Permission::Purge,
        }
    }
}

/// "METHOD route" for counters, names and versions left out.
fn route_name(method: &Method, target: Option<&Target>) -> String {
    let route = match target {
        Some(Target::Secret { version: None, .. }) => "keyvault/secrets/{name}",
        Some(Target::Secret {
            version: Some(_), ..
        }) => "keyvault/secrets/{name}/{version}",
        Some(Target::Versions(_)) => "keyvault/secrets/{name}/versions",
        Some(Target::Deleted(_)) => "keyvault/deletedsecrets/{name}",
        None => "keyvault",
    };
    format!("{method} {route}")
}

/// A logged request body with the secret's value left out.
pub fn without_value(mut body: serde_json::Value) -> serde_json::Value {
    if let Some(object) = body.as_object_mut() {
        object.remove("value");
    }
    body
}

/// `{base}/keyvault/{name}`: the vault's URL, which ids start with.
pub fn vault_url(base: &str, name: &str) -> String {
    format!("{base}/keyvault/{name}")
}

/// The tenant holding the vault `name`.
pub fn tenant_of(inner: &Inner, name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    inner
        .tenants
        .values()
        .find(|t| t.key_vaults.contains_key(&name))
        .map(|t| t.id.clone())
}

/// The vault `name`, to change.
pub fn vault_mut<'i>(inner: &'i mut Inner, name: &str) -> Option<&'i mut KeyVault> {
    let name = name.to_ascii_lowercase();
    inner
        .tenants
        .values_mut()
        .find_map(|t| t.key_vaults.get_mut(&name))
}

/// Authenticates, checks access, applies faults and runs one vault request.
pub fn handle(inner: &mut Inner, base: &str, call: &VaultCall<'_>) -> Outcome {
    let (vault, target) = parse_path(call.path);
    let route = route_name(call.method, target.as_ref());
    let Some(tenant_id) = tenant_of(inner, &vault) else {
        // A real vault that does not exist has no DNS name: the request never leaves the
        // client. Here the server is reachable, so it says plainly what is missing.
        return Outcome {
            reply: replies::vault_not_found(&vault),
            wrote: false,
            tenant: None,
            route,
        };
    };
    let (reply, wrote) = match answer(inner, base, &tenant_id, &vault, target, call) {
        Ok(answered) => answered,
        Err(reply) => (reply, false),
    };
    Outcome {
        reply,
        wrote,
        tenant: Some(tenant_id),
        route,
    }
}

/// The answer to a request for an existing vault, and whether it changed the vault.
fn answer(
    inner: &mut Inner,
    base: &str,
    tenant_id: &str,
    vault: &str,
    target: Option<Target>,
    call: &VaultCall<'_>,
) -> Result<(Reply, bool), Reply> {
    replies::require_api_version(call.query)?;
    // Before anything else is read, the body above all: the SDK's first request is sent
    // without a token and without its body, to be answered with the challenge.
    let caller = access::authenticate(inner, base, tenant_id, call.headers)?;
    let vault_faults = vault_mut(inner, vault)
        .map(|v| v.faults)
        .unwrap_or_default();
    if let Some(fault) = inner.roll_fault(vault_faults) {
        return Err(replies::injected(fault));
    }
    let operation = target
        .and_then(|t| Operation::of(call.method, t))
        .ok_or_else(|| replies::unsupported(call.method, call.path))?;
    if !secret_name_ok(operation.name()) {
        return Err(replies::invalid_name(operation.name()));
    }
    let Inner {
        tenants,
        rng,
        issued_secrets,
        issued_ids,
        ..
    } = inner;
    let key_vault = tenants
        .get_mut(tenant_id)
        .and_then(|t| t.key_vaults.get_mut(vault))
        .ok_or_else(|| replies::vault_not_found(vault))?;
    access::authorize(
        key_vault,
        vault,
        &caller,
        operation.permission(),
        operation.name(),
    )?;
    let mut ctx = secrets::Ctx {
        vault: key_vault,
        url: vault_url(base, vault),
        rng,
        issued_secrets,
        issued_ids,
    };
    ctx.run(operation, call.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, version: Option<&str>) -> Option<Target> {
        Some(Target::Secret {
            name: name.into(),
            version: version.map(String::from),
        })
    }

    #[test]
    fn paths_name_a_vault_and_a_secret() {
        assert_eq!(
            parse_path("Kv1/secrets/a"),
            ("kv1".into(), secret("a", None))
        );
        // The SDK asks for the latest version with a trailing slash.
        assert_eq!(
            parse_path("kv1/secrets/a/"),
            ("kv1".into(), secret("a", None))
        );
        assert_eq!(
            parse_path("kv1/secrets/a/0123abcd"),
            ("kv1".into(), secret("a", Some("0123abcd")))
        );
        assert_eq!(
            parse_path("kv1/secrets/a/versions").1,
            Some(Target::Versions("a".into()))
        );
        assert_eq!(
            parse_path("kv1/deletedsecrets/a").1,
            Some(Target::Deleted("a".into()))
        );
        assert_eq!(parse_path("kv1/keys/a").1, None);
        assert_eq!(parse_path("kv1/secrets").1, None);
        assert_eq!(parse_path("kv1/secrets/a%20b").1, secret("a b", None));
    }

    #[test]
    fn operations_follow_method_and_target() {
        let op = |method: Method, path: &str| {
            parse_path(path)
                .1
                .and_then(|target| Operation::of(&method, target))
        };
        assert_eq!(
            op(Method::PUT, "v/secrets/a"),
            Some(Operation::Set("a".into()))
        );
        assert_eq!(op(Method::PUT, "v/secrets/a/0123"), None);
        assert_eq!(
            op(Method::DELETE, "v/deletedsecrets/a"),
            Some(Operation::Purge("a".into()))
        );
        assert_eq!(op(Method::POST, "v/secrets/a"), None);
        assert_eq!(
            route_name(&Method::GET, parse_path("v/secrets/a/01").1.as_ref()),
            "GET keyvault/secrets/{name}/{version}"
        );
    }

    #[test]
    fn names_are_checked_as_azure_does() {
        assert!(secret_name_ok("pandora-itsm-mail-client-secret"));
        assert!(!secret_name_ok("a_b"));
        assert!(!secret_name_ok(""));
        assert!(!secret_name_ok(&"a".repeat(128)));
        assert!(vault_name_ok("contoso-itsm"));
        assert!(!vault_name_ok("kv"));
        assert!(!vault_name_ok("1vault"));
        assert!(!vault_name_ok("a--b"));
        assert!(!vault_name_ok("vault-"));
    }

    #[test]
    fn vault_resources_of_every_cloud_have_an_audience() {
        assert_eq!(audience_of("https://vault.azure.net"), Some(VAULT_AUDIENCE));
        assert_eq!(
            audience_of("https://vault.azure.net/"),
            Some(VAULT_AUDIENCE)
        );
        assert_eq!(
            audience_of("https://vault.usgovcloudapi.net"),
            Some("https://vault.usgovcloudapi.net")
        );
        assert_eq!(audience_of("https://graph.microsoft.com"), None);
    }
}
