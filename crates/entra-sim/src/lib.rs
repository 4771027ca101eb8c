//! The simulated Entra tenant: a local Microsoft Graph v1.0 and token endpoint over HTTPS
//! with Entra's behaviour (alternate-key upsert, secrets shown once, replication lag,
//! throttling, permission checks, licensing, security defaults), and the tenant's Azure Key
//! Vaults (the secrets API) beside them.
//!
//! It is what `--sim` runs and what every test talks to, through the same TLS, credential and
//! Graph client code that production uses against Microsoft. It stands on entra-base alone and
//! knows nothing of entra-mail, which re-exports it as `entra_mail::sim` (feature `sim`).

pub mod graph;
pub mod keyvault;
pub mod roles;
mod schema;
pub mod seed;
mod server;
pub mod state;
mod tls;
mod token;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;

pub use keyvault::KeyVault;
pub use seed::TenantSpec;
pub use state::{Counters, Faults, LogEntry, Tenant};

use entra_base::secret::SecretString;
use state::{AppState, Inner, Shared};

/// How to start a simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// Seeds ids, secrets and fault decisions, so a run can be replayed.
    pub seed: u64,
    /// Keep the directory in this file across runs (written after every change, mode 0600).
    pub state_file: Option<PathBuf>,
    pub faults: Faults,
    /// Tenants to create at start (when the state file does not already hold them).
    pub tenants: Vec<TenantSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the simulator state {}: {reason}", path.display())]
    State { path: PathBuf, reason: String },
    #[error(transparent)]
    StateFile(#[from] entra_base::fsutil::ReadError),
}

/// What a client needs to sign in to a simulated tenant as its admin app.
#[derive(Debug, Clone)]
pub struct TenantInfo {
    pub tenant_id: String,
    /// The initial `*.onmicrosoft.com` domain.
    pub domain: String,
    pub admin_client_id: String,
    pub admin_client_secret: SecretString,
    pub admin_service_principal_id: String,
}

/// A running simulator. Dropping it stops the server.
pub struct Sim {
    state: AppState,
    shutdown: Arc<Notify>,
    ca_pem: String,
    address: SocketAddr,
}

impl Sim {
    /// Starts a simulator on a loopback port.
    pub async fn start(options: SimOptions) -> Result<Sim, SimError> {
        let tls = tls::generate()?;
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| SimError::Bind {
                port: options.port,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| SimError::Bind {
            port: options.port,
            source,
        })?;
        let mut inner = Inner::new(options.seed);
        inner.faults = options.faults.clone();
        if let Some(path) = &options.state_file {
            if path.exists() {
                inner.tenants = load(path)?;
            }
        }
        let kept = !inner.tenants.is_empty();
        // New ids never repeat a kept one or a tenant id the specs name (the generator is
        // seeded, so it draws the same ids as the run that wrote the state file).
        inner.claim_ids_in_tenants();
        for id in options.tenants.iter().filter_map(|s| s.tenant_id.as_ref()) {
            inner.issued_ids.insert(id.to_ascii_lowercase());
        }
        for spec in &options.tenants {
            // A spec without an id asks for "a tenant": a kept directory is one.
            let exists = match &spec.tenant_id {
                Some(id) => inner.tenants.contains_key(&id.to_ascii_lowercase()),
                None => kept,
            };
            if !exists {
                let tenant = seed::tenant(&mut inner, spec);
                inner.tenants.insert(tenant.id.clone(), tenant);
            }
        }
        inner.claim_ids_in_tenants();
        register_known_secrets(&mut inner);
        let state = AppState {
            shared: Arc::new(Shared {
                inner: Mutex::new(inner),
                state_file: options.state_file.clone(),
            }),
            base_url: Arc::from(format!("https://127.0.0.1:{}", address.port())),
        };
        if let Some(path) = &options.state_file {
            let _ = persist(&state.lock().tenants, path);
        }
        let shutdown = Arc::new(Notify::new());
        tokio::spawn(server::serve(
            listener,
            tls.server_config,
            server::router(state.clone()),
            shutdown.clone(),
        ));
        Ok(Sim {
            state,
            shutdown,
            ca_pem: tls.ca_pem,
            address,
        })
    }

    /// Graph's root (`--graph-url`), e.g. `https://127.0.0.1:41234`.
    pub fn graph_url(&self) -> String {
        self.state.base_url.to_string()
    }

    /// The authority host (`--authority-host`); the same server.
    pub fn authority_host(&self) -> String {
        self.state.base_url.to_string()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Creates a tenant (or returns the existing one with that id).
    pub fn add_tenant(&self, spec: TenantSpec) -> TenantInfo {
        let mut inner = self.state.lock();
        let existing = spec.tenant_id.as_ref().map(|id| id.to_ascii_lowercase());
        let id = match existing.filter(|id| inner.tenants.contains_key(id)) {
            Some(id) => id,
            None => {
                if let Some(id) = &spec.tenant_id {
                    inner.issued_ids.insert(id.to_ascii_lowercase());
                }
                let tenant = seed::tenant(&mut inner, &spec);
                let id = tenant.id.clone();
                inner.tenants.insert(id.clone(), tenant);
                inner.claim_ids_in_tenants();
                id
            }
        };
        self.save(&inner);
        info_of(&inner.tenants[&id])
    }

    pub fn tenant_info(&self, tenant_id: &str) -> Option<TenantInfo> {
        self.state
            .lock()
            .tenants
            .get(&tenant_id.to_ascii_lowercase())
            .map(info_of)
    }

    pub fn tenants(&self) -> Vec<TenantInfo> {
        self.state.lock().tenants.values().map(info_of).collect()
    }

    /// Changes fault knobs while running.
    pub fn set_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.state.lock().faults);
    }

    /// Reads or edits a tenant directly, behind the tool's back (licence, security
    /// defaults, drift). Changes are visible at once.
    pub fn with_tenant<R>(
        &self,
        tenant_id: &str,
        change: impl FnOnce(&mut Tenant) -> R,
    ) -> Option<R> {
        self.changing(|inner| inner.tenant_mut(tenant_id).map(change))
    }

    /// Registers a certificate (PEM or DER; only its public part is kept) on an app, so
    /// client assertions signed with its key are accepted. False if there is no such app
    /// or the bytes hold no X.509 certificate.
    pub fn register_certificate(
        &self,
        tenant_id: &str,
        client_id: &str,
        certificate: &[u8],
    ) -> bool {
        let Some(der) = token::certificate_der(certificate) else {
            return false;
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(der);
        self.with_tenant(tenant_id, |t| {
            let app = t
                .applications
                .iter_mut()
                .find(|a| a.str("appId") == Some(client_id));
            app.map(|a| a.hidden.certificates.push(encoded)).is_some()
        })
        .unwrap_or(false)
    }

    /// Creates the key vault `name` in a tenant unless it exists, granting the tenant's admin
    /// app get, set, list and delete on secrets. False if there is no such tenant, the name is
    /// not a valid vault name, or another tenant has a vault of that name.
    pub fn add_key_vault(&self, tenant_id: &str, name: &str) -> bool {
        self.changing(|inner| seed::add_key_vault(inner, tenant_id, name).then_some(()))
            .is_some()
    }

    /// Reads or edits a vault directly (access, RBAC or access policies, its faults, its
    /// secrets). `None` if no tenant has a vault of that name.
    pub fn with_key_vault<R>(
        &self,
        name: &str,
        change: impl FnOnce(&mut KeyVault) -> R,
    ) -> Option<R> {
        self.changing(|inner| keyvault::vault_mut(inner, name).map(change))
    }

    /// The vault's URL (`{graph_url}/keyvault/{name}`), as a client's vault URL.
    pub fn key_vault_url(&self, name: &str) -> String {
        keyvault::vault_url(&self.state.base_url, &name.to_ascii_lowercase())
    }

    /// The value of a secret's current version, unless it is missing or soft-deleted.
    pub fn key_vault_secret_value(&self, vault: &str, secret: &str) -> Option<SecretString> {
        let mut inner = self.state.lock();
        let vault = keyvault::vault_mut(&mut inner, vault)?;
        vault
            .latest(secret)
            .map(|v| SecretString::new(v.value.clone()))
    }

    /// Approves a pending device-code sign-in as the user `upn`.
    pub fn approve_device_code(&self, user_code: &str, upn: &str) -> bool {
        approve_device_code(&mut self.state.lock(), user_code, upn)
    }

    /// Declines a pending device-code sign-in.
    pub fn decline_device_code(&self, user_code: &str) -> bool {
        let mut inner = self.state.lock();
        let found = inner
            .device_codes
            .values_mut()
            .find(|d| d.user_code == user_code);
        found.map(|d| d.denied = true).is_some()
    }

    /// Approves every device-code sign-in, now and later, as `upn` (`None` stops that).
    pub fn auto_approve_device_codes(&self, upn: Option<&str>) {
        self.state.lock().auto_approve_device_codes = upn.map(String::from);
    }

    /// User codes of sign-ins waiting for approval.
    pub fn pending_device_codes(&self) -> Vec<String> {
        self.state
            .lock()
            .device_codes
            .values()
            .map(|d| d.user_code.clone())
            .collect()
    }

    pub fn counters(&self) -> Counters {
        self.state.lock().counters.clone()
    }

    /// Zeroes the counters and the request log (e.g. between a cold and a re-run apply).
    pub fn reset_counters(&self) {
        let mut inner = self.state.lock();
        inner.counters = Counters::default();
        inner.log.clear();
    }

    pub fn request_log(&self) -> Vec<LogEntry> {
        self.state.lock().log.clone()
    }

    /// Every tenant's directory as JSON (secret values left out).
    pub fn snapshot(&self) -> Value {
        snapshot_of(&self.state.lock())
    }

    /// One tenant's directory as JSON.
    pub fn tenant_snapshot(&self, tenant_id: &str) -> Option<Value> {
        self.snapshot().get(tenant_id.to_ascii_lowercase()).cloned()
    }

    /// Every secret value and token the simulator has handed out, for leak scans.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.state.lock().issued_secrets.clone()
    }

    /// Runs `change` under the lock and, if it found what it changes, writes the state file.
    fn changing<R>(&self, change: impl FnOnce(&mut Inner) -> Option<R>) -> Option<R> {
        let mut inner = self.state.lock();
        let result = change(&mut inner);
        if result.is_some() {
            self.save(&inner);
        }
        result
    }

    /// Writes the state file, if there is one, after a change made behind the server's back.
    fn save(&self, inner: &Inner) {
        if let Some(file) = &self.state.shared.state_file {
            let _ = persist(&inner.tenants, file);
        }
    }

    /// Stops the server.
    pub fn shutdown(&self) {
        self.shutdown.notify_waiters();
        self.shutdown.notify_one();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn info_of(tenant: &Tenant) -> TenantInfo {
    TenantInfo {
        tenant_id: tenant.id.clone(),
        domain: tenant.domains.first().cloned().unwrap_or_default(),
        admin_client_id: tenant.admin.client_id.clone(),
        admin_client_secret: SecretString::new(tenant.admin.client_secret.clone()),
        admin_service_principal_id: tenant.admin.service_principal_id.clone(),
    }
}

fn approve_device_code(inner: &mut Inner, user_code: &str, upn: &str) -> bool {
    let found = inner
        .device_codes
        .values_mut()
        .find(|d| d.user_code == user_code);
    found
        .map(|d| d.approved_by = Some(upn.to_string()))
        .is_some()
}

/// Secrets held in a loaded state (client secrets, vault values) count as issued, so leak
/// scans cover them.
fn register_known_secrets(inner: &mut Inner) {
    let secrets: Vec<String> = inner
        .tenants
        .values()
        .flat_map(|t| {
            let passwords = t
                .applications
                .iter()
                .flat_map(|a| a.hidden.passwords.values().cloned());
            let vault_values = t
                .key_vaults
                .values()
                .flat_map(|v| v.values().map(String::from));
            passwords.chain(vault_values)
        })
        .collect();
    for secret in secrets {
        if !inner.issued_secrets.contains(&secret) {
            inner.issued_secrets.push(secret);
        }
    }
}

fn snapshot_of(inner: &Inner) -> Value {
    let data = |objs: &[state::Obj]| -> Value {
        Value::Array(objs.iter().map(|o| Value::Object(o.data.clone())).collect())
    };
    let tenants: serde_json::Map<String, Value> = inner
        .tenants
        .iter()
        .map(|(id, t)| {
            (
                id.clone(),
                json!({
                    "id": t.id,
                    "displayName": t.display_name,
                    "domains": t.domains,
                    "unverifiedDomains": t.unverified_domains,
                    "p1Licence": t.p1_licence,
                    "securityDefaults": t.security_defaults,
                    "applications": data(&t.applications),
                    "servicePrincipals": data(&t.service_principals),
                    "appRoleAssignments": data(&t.app_role_assignments),
                    "oauth2PermissionGrants": data(&t.oauth2_permission_grants),
                    "conditionalAccessPolicies": data(&t.conditional_access_policies),
                    "groups": data(&t.groups),
                    "users": data(&t.users),
                    "keyVaults": key_vaults_of(t),
                }),
            )
        })
        .collect();
    Value::Object(tenants)
}

/// A tenant's vaults without a single value: per secret its versions, oldest first.
fn key_vaults_of(tenant: &Tenant) -> Value {
    let vaults: serde_json::Map<String, Value> = tenant
        .key_vaults
        .iter()
        .map(|(name, vault)| {
            let secrets: serde_json::Map<String, Value> = vault
                .secrets
                .values()
                .map(|secret| {
                    let versions: Vec<Value> = secret
                        .versions
                        .iter()
                        .map(|v| {
                            json!({
                                "version": v.version,
                                "contentType": v.content_type,
                                "tags": v.tags,
                                "attributes": keyvault::attributes(v),
                                "deleted": secret.deleted.is_some(),
                            })
                        })
                        .collect();
                    (secret.name.clone(), Value::Array(versions))
                })
                .collect();
            (
                name.clone(),
                json!({"rbac": vault.rbac, "access": vault.access, "secrets": secrets}),
            )
        })
        .collect();
    Value::Object(vaults)
}

/// Writes the directory atomically with mode 0600 (it holds the simulated secrets).
fn persist(tenants: &BTreeMap<String, Tenant>, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(&json!({"version": 1, "tenants": tenants}))?;
    entra_base::fsutil::write_private_atomically(path, &text)
}

/// The most a simulator state file may hold.
const STATE_LIMIT: u64 = 256 << 20;

fn load(path: &Path) -> Result<BTreeMap<String, Tenant>, SimError> {
    let fail = |reason: String| SimError::State {
        path: path.to_path_buf(),
        reason,
    };
    // Our own file, but in a directory the user names: bounded like their files, with room
    // for thousands of simulated tenants.
    let text = entra_base::fsutil::read_bounded(path, "simulator state file", STATE_LIMIT)?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let tenants = value
        .get_mut("tenants")
        .map(Value::take)
        .unwrap_or(Value::Null);
    serde_json::from_value(tenants).map_err(|e| fail(e.to_string()))
}
