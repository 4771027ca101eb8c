//! The simulated directory: tenants and their objects, issued tokens, fault knobs,
//! counters and the request log. One lock guards it all ([`AppState`], which every connection
//! holds); handlers never await under it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::keyvault::KeyVault;

/// The audience of every token but Key Vault's (Graph's, and by the simulator's simplification
/// any other resource's): Graph accepts only these.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// A directory object with replication lag: until `visible_at`, point reads see `previous`
/// (nothing, for a new object); until `list_visible_at`, lists do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Obj {
    pub data: Map<String, Value>,
    /// What only the simulator knows: secret values, owners, federated credentials.
    #[serde(default)]
    pub hidden: Hidden,
    #[serde(skip)]
    pub previous: Option<Map<String, Value>>,
    #[serde(skip)]
    pub visible_at: Option<Instant>,
    #[serde(skip)]
    pub list_visible_at: Option<Instant>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hidden {
    /// keyId -> secretText, for client_secret sign-in.
    #[serde(default)]
    pub passwords: BTreeMap<String, String>,
    /// Object ids of owners (service principals or users).
    #[serde(default)]
    pub owners: Vec<String>,
    /// Federated identity credentials: who may sign in with a client assertion.
    #[serde(default)]
    pub federated: Vec<FederatedCredential>,
    /// Certificates (DER, standard base64) whose keys may sign client assertions; their
    /// `x5t` / `x5t#S256` thumbprints are derived from these bytes.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Directory roles of a user (display names), e.g. "Global Administrator".
    #[serde(default)]
    pub directory_roles: Vec<String>,
    /// Direct members of a group: object ids of users, nested groups and service principals.
    #[serde(default)]
    pub members: Vec<String>,
    /// The members readers see while a membership change replicates (see
    /// [`Obj::members_seen`]).
    #[serde(skip)]
    pub previous_members: Option<Vec<String>>,
    /// Whether a user has registered a strong MFA method (Microsoft Authenticator push), as
    /// the authentication methods registration report shows it.
    #[serde(default)]
    pub mfa_registered: bool,
    /// keyId -> when sign-in starts accepting a new secret. Entra's token service learns of
    /// a new credential only after replication, so sign-in with it fails until then.
    #[serde(skip)]
    pub password_usable_at: BTreeMap<String, Instant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

impl Obj {
    pub fn new(data: Map<String, Value>) -> Self {
        Self {
            data,
            hidden: Hidden::default(),
            previous: None,
            visible_at: None,
            list_visible_at: None,
        }
    }

    pub fn id(&self) -> &str {
        self.data
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// What a reader sees now: a point read (`list == false`) or a list.
    pub fn view(&self, now: Instant, list: bool) -> Option<&Map<String, Value>> {
        let until = if list {
            self.list_visible_at
        } else {
            self.visible_at
        };
        match until {
            Some(t) if now < t => self.previous.as_ref(),
            _ => Some(&self.data),
        }
    }

    /// Whether a point read sees the object at all (dependent writes check this).
    pub fn visible(&self, now: Instant) -> bool {
        self.view(now, false).is_some()
    }

    /// Starts replication of a change: readers keep the old version for `lag`.
    pub fn start_change(&mut self, now: Instant, lag: Lag) {
        if lag.point.is_zero() && lag.list.is_zero() {
            return;
        }
        let settled = self.visible_at.is_none_or(|t| now >= t);
        if settled {
            self.previous = Some(self.data.clone());
            self.hidden.previous_members = Some(self.hidden.members.clone());
        }
        self.visible_at = Some(now + lag.point);
        self.list_visible_at = Some(now + lag.list);
    }

    /// A group's direct members as a point read (`list == false`) or a list sees them now:
    /// while a change replicates, the members from before it.
    pub fn members_seen(&self, now: Instant, list: bool) -> &[String] {
        let until = if list {
            self.list_visible_at
        } else {
            self.visible_at
        };
        match (until, &self.hidden.previous_members) {
            (Some(t), Some(previous)) if now < t => previous,
            _ => &self.hidden.members,
        }
    }

    /// A new object: invisible to readers for `lag`.
    pub fn created(data: Map<String, Value>, now: Instant, lag: Lag) -> Self {
        let mut obj = Self::new(data);
        if !lag.point.is_zero() || !lag.list.is_zero() {
            obj.visible_at = Some(now + lag.point);
            obj.list_visible_at = Some(now + lag.list);
        }
        obj
    }
}

/// Replication lag for point reads and for lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lag {
    pub point: Duration,
    pub list: Duration,
}

/// One tenant's directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    /// Verified domains; the first is the initial `*.onmicrosoft.com` one.
    pub domains: Vec<String>,
    /// Domains added to the tenant whose DNS proof is still outstanding: listed by
    /// `GET /domains` with `isVerified: false`, refused in identifier URIs.
    #[serde(default)]
    pub unverified_domains: Vec<String>,
    /// Microsoft Entra ID P1 (Conditional Access needs it).
    pub p1_licence: bool,
    pub security_defaults: bool,
    pub applications: Vec<Obj>,
    pub service_principals: Vec<Obj>,
    pub app_role_assignments: Vec<Obj>,
    pub oauth2_permission_grants: Vec<Obj>,
    pub conditional_access_policies: Vec<Obj>,
    pub groups: Vec<Obj>,
    pub users: Vec<Obj>,
    /// The admin app tests and `--sim` sign in with.
    pub admin: AdminApp,
    /// Azure Key Vaults by (lowercase) name; a name is unique across the simulator, as a
    /// vault's DNS name is across Azure. Absent from state files written before vaults.
    #[serde(default)]
    pub key_vaults: BTreeMap<String, KeyVault>,
    #[serde(skip)]
    pub last_conditional_access_request: Option<Instant>,
}

/// Building big tenants in tests (through `Sim::with_tenant`). Ids are random v4 GUIDs, not
/// drawn from the seeded generator, so they differ between runs.
impl Tenant {
    /// Adds an enabled user `{upn_label}@{initial domain}` (no roles, MFA not registered) and
    /// returns its id.
    pub fn add_user(&mut self, upn_label: &str, display: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let upn = self.full_upn(upn_label);
        self.users.push(Obj::new(user_data(&id, &upn, display)));
        id
    }

    /// Adds a security group whose direct members are `members` (user or group ids) and
    /// returns its id.
    pub fn add_group(&mut self, name: &str, members: Vec<String>) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let mut group = Obj::new(group_data(&id, name));
        group.hidden.members = members;
        self.groups.push(group);
        id
    }

    /// The user with this UPN; a bare label means `{label}@{initial domain}`.
    pub fn user(&self, upn: &str) -> Option<&Obj> {
        let upn = self.full_upn(upn);
        self.users
            .iter()
            .find(|u| has(u, "userPrincipalName", &upn))
    }

    /// As [`Tenant::user`], to change the user (roles, MFA, `accountEnabled`).
    pub fn user_mut(&mut self, upn: &str) -> Option<&mut Obj> {
        let upn = self.full_upn(upn);
        self.users
            .iter_mut()
            .find(|u| has(u, "userPrincipalName", &upn))
    }

    /// The group with this display name.
    pub fn group(&self, name: &str) -> Option<&Obj> {
        self.groups.iter().find(|g| has(g, "displayName", name))
    }

    /// As [`Tenant::group`], to change the group (e.g. its members).
    pub fn group_mut(&mut self, name: &str) -> Option<&mut Obj> {
        self.groups.iter_mut().find(|g| has(g, "displayName", name))
    }

    fn full_upn(&self, upn: &str) -> String {
        match (upn.contains('@'), self.domains.first()) {
            (false, Some(domain)) => format!("{upn}@{domain}"),
            _ => upn.to_string(),
        }
    }
}

/// Changes handlers make across collections.
impl Tenant {
    /// Removes service principals and every app role assignment and delegated grant that
    /// names them (as client, principal or resource).
    pub fn remove_service_principals(&mut self, ids: &[String]) {
        let named = |value: Option<&str>| value.is_some_and(|v| ids.iter().any(|id| id == v));
        self.service_principals.retain(|sp| !named(Some(sp.id())));
        self.app_role_assignments
            .retain(|a| !named(a.str("principalId")) && !named(a.str("resourceId")));
        self.oauth2_permission_grants
            .retain(|g| !named(g.str("clientId")) && !named(g.str("resourceId")));
    }
}

/// Whether `obj`'s string `key` equals `value`, ignoring case (as Entra compares names).
fn has(obj: &Obj, key: &str, value: &str) -> bool {
    obj.str(key).is_some_and(|v| v.eq_ignore_ascii_case(value))
}

/// An enabled member user, as the seed and [`Tenant::add_user`] create one.
pub fn user_data(id: &str, upn: &str, display: &str) -> Map<String, Value> {
    object(json!({
        "id": id,
        "displayName": display,
        "userPrincipalName": upn,
        "mail": upn,
        "proxyAddresses": [format!("SMTP:{upn}")],
        "accountEnabled": true,
    }))
}

/// A security group, as the seed and [`Tenant::add_group`] create one.
pub fn group_data(id: &str, name: &str) -> Map<String, Value> {
    object(json!({
        "id": id,
        "displayName": name,
        "mailEnabled": false,
        "mailNickname": name.to_ascii_lowercase().replace(' ', "-"),
        "securityEnabled": true,
        "groupTypes": [],
        "uniqueName": null,
    }))
}

/// A JSON object literal as a map.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The provisioning identity of a simulated tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminApp {
    pub client_id: String,
    pub client_secret: String,
    pub service_principal_id: String,
}

/// A token the simulator issued; Graph and Key Vault accept only these.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub tenant_id: String,
    /// The `aud` claim: [`GRAPH_AUDIENCE`], or Key Vault's for a vault token.
    pub audience: String,
    pub expires_at: Instant,
    /// The calling app's service principal (app-only) or the user (delegated).
    pub object_id: String,
    pub app_id: String,
    /// App roles (app-only tokens).
    pub roles: Vec<String>,
    /// Delegated scopes; `Some` for user tokens.
    pub scopes: Option<Vec<String>>,
    pub user_principal_name: Option<String>,
    /// The calling app's display name (app-only tokens' `app_displayname`).
    pub app_display_name: Option<String>,
    /// Directory role template ids of a signed-in user (the `wids` claim).
    pub directory_roles: Vec<String>,
}

impl IssuedToken {
    /// The permissions Graph checks: roles for an app, scopes for a user.
    pub fn permissions(&self) -> &[String] {
        self.scopes.as_deref().unwrap_or(&self.roles)
    }

    pub fn is_delegated(&self) -> bool {
        self.scopes.is_some()
    }
}

/// A device-code sign-in in progress.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub tenant_id: String,
    pub client_id: String,
    pub user_code: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub interval: Duration,
    pub last_poll: Option<Instant>,
    /// Set when a user approves: their UPN.
    pub approved_by: Option<String>,
    pub denied: bool,
}

/// Fault knobs. All randomness comes from one generator seeded by `--seed`.
#[derive(Debug, Clone)]
pub struct Faults {
    /// How long a new or changed object stays invisible to point reads and dependent writes.
    pub replication_lag: Duration,
    /// How long it stays invisible to lists (Entra's lists lag longer).
    pub list_lag: Duration,
    /// Share of Graph and Key Vault requests answered 429 (0.0 to 1.0).
    pub throttle_rate: f64,
    /// The `Retry-After` seconds sent with those 429s; `None` sends none.
    pub throttle_retry_after: Option<u64>,
    /// Share of Graph and Key Vault requests answered 503.
    pub unavailable_rate: f64,
    /// Conditional Access: at most one request per second per tenant, else 429 without
    /// Retry-After, as Entra does.
    pub conditional_access_rate_limit: bool,
    /// Writes (1-based, counted over the server's life) whose answer is lost: the write
    /// commits, then the connection is dropped.
    pub drop_answer_of_writes: Vec<u64>,
    /// Paths (after `/v1.0/`, or `keyvault/...`) whose first write loses its answer, as above.
    pub drop_answer_of_first_write_to: Vec<String>,
    /// Writes (1-based, as above) that commit and are then never answered: the moment a
    /// test kills the client (`kill -9` at that write).
    pub hold_answer_of_writes: Vec<u64>,
    /// Share of writes whose answer is lost after they commit.
    pub drop_answer_rate: f64,
    /// Writes (1-based, as above) that commit and are then answered 503, as a gateway that
    /// timed out waiting for the directory would.
    pub unavailable_after_writes: Vec<u64>,
    /// Paths (as the request log shows them) every write to which commits and is then
    /// answered 503: a gateway that never passes the answer back.
    pub unavailable_after_writes_to: Vec<String>,
    /// Latency added to every request.
    pub latency: Duration,
    /// Latency added to requests whose path starts with a prefix (after `/v1.0/`, or
    /// `keyvault/{vault}/...` for Key Vault).
    pub route_latency: Vec<(String, Duration)>,
    /// How often device-code clients may poll (Entra says 5 s; tests use less).
    pub device_code_interval: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            replication_lag: Duration::ZERO,
            list_lag: Duration::ZERO,
            throttle_rate: 0.0,
            throttle_retry_after: Some(1),
            unavailable_rate: 0.0,
            conditional_access_rate_limit: true,
            drop_answer_of_writes: Vec::new(),
            drop_answer_of_first_write_to: Vec::new(),
            hold_answer_of_writes: Vec::new(),
            drop_answer_rate: 0.0,
            unavailable_after_writes: Vec::new(),
            unavailable_after_writes_to: Vec::new(),
            latency: Duration::ZERO,
            route_latency: Vec::new(),
            device_code_interval: Duration::from_secs(5),
        }
    }
}

impl Faults {
    pub fn lag(&self) -> Lag {
        Lag {
            point: self.replication_lag,
            list: self.list_lag.max(self.replication_lag),
        }
    }
}

/// Rates of injected 429s and 503s that apply to some requests only (a vault's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestFaults {
    pub throttle_rate: f64,
    pub unavailable_rate: f64,
}

/// What [`Inner::roll_fault`] decided; each service answers it in its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFault {
    /// 429, with this `Retry-After` (seconds) if any.
    Throttled { retry_after: Option<u64> },
    /// 503.
    Unavailable,
}

/// Counts of what the server has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub requests: u64,
    /// Graph and Key Vault requests that changed the directory or a vault.
    pub writes: u64,
    pub token_requests: u64,
    pub throttled: u64,
    pub unavailable: u64,
    pub dropped_answers: u64,
    /// Requests per "METHOD route", e.g. "PATCH applications(uniqueName)".
    pub by_route: BTreeMap<String, u64>,
}

/// One line of the request log.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub tenant: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: u64,
    pub wrote: bool,
    /// When the request arrived and when it was answered, in microseconds since the
    /// simulator started (benchmarks count sequential waves from these).
    pub started_us: u64,
    pub finished_us: u64,
    /// The parsed JSON body of a write (POST, PATCH, PUT; a `$batch` as sent), so tests can
    /// check what was asked for; `None` for reads, sign-ins and bodies that are not JSON.
    pub body: Option<Value>,
}

/// Everything behind the lock.
pub struct Inner {
    pub tenants: BTreeMap<String, Tenant>,
    pub tokens: HashMap<String, IssuedToken>,
    pub device_codes: HashMap<String, DeviceCode>,
    /// Device codes approved ahead of time: user code "*" approves any, as this UPN.
    pub auto_approve_device_codes: Option<String>,
    pub faults: Faults,
    pub rng: fastrand::Rng,
    pub counters: Counters,
    pub log: Vec<LogEntry>,
    /// Every secret value the simulator handed out (client secrets, tokens), so tests can
    /// scan outputs for leaks.
    pub issued_secrets: Vec<String>,
    /// Every GUID in use (tenants, objects, credentials, published permissions), lowercase, so
    /// a new one never repeats one: the generator is seeded, and a kept state file or a
    /// `--tenant` id may already hold what it draws next.
    pub issued_ids: HashSet<String>,
    pub writes_seen: u64,
    /// Paths of `Faults::drop_answer_of_first_write_to` whose first write has been made.
    pub first_writes_dropped: Vec<String>,
    /// When the simulator started; log times count from here.
    pub epoch: std::time::Instant,
}

impl Inner {
    pub fn new(seed: u64) -> Self {
        Self {
            tenants: BTreeMap::new(),
            tokens: HashMap::new(),
            device_codes: HashMap::new(),
            auto_approve_device_codes: None,
            faults: Faults::default(),
            rng: fastrand::Rng::with_seed(seed),
            counters: Counters::default(),
            log: Vec::new(),
            issued_secrets: Vec::new(),
            issued_ids: HashSet::new(),
            writes_seen: 0,
            first_writes_dropped: Vec::new(),
            epoch: std::time::Instant::now(),
        }
    }

    /// A new GUID from the seeded generator, so a seed reproduces a run's ids.
    pub fn new_guid(&mut self) -> String {
        guid_from(&mut self.rng, &mut self.issued_ids)
    }

    /// Marks every GUID the tenants hold as in use (after loading a state file or seeding).
    pub fn claim_ids_in_tenants(&mut self) {
        let mut found = Vec::new();
        for tenant in self.tenants.values() {
            if let Ok(value) = serde_json::to_value(tenant) {
                collect_guids(&value, &mut found);
            }
        }
        self.issued_ids.extend(found);
    }

    /// A client secret, remembered as issued.
    pub fn new_secret_text(&mut self) -> String {
        secret_from(&mut self.rng, &mut self.issued_secrets)
    }

    /// Rolls the dice for throttling (429) and unavailability (503) of one request, at
    /// the global rates or `at_least` ones (a vault's own), and counts what fell.
    pub fn roll_fault(&mut self, at_least: RequestFaults) -> Option<RequestFault> {
        let throttle_rate = self.faults.throttle_rate.max(at_least.throttle_rate);
        let unavailable_rate = self.faults.unavailable_rate.max(at_least.unavailable_rate);
        if throttle_rate > 0.0 && self.rng.f64() < throttle_rate {
            self.counters.throttled += 1;
            return Some(RequestFault::Throttled {
                retry_after: self.faults.throttle_retry_after,
            });
        }
        if unavailable_rate > 0.0 && self.rng.f64() < unavailable_rate {
            self.counters.unavailable += 1;
            return Some(RequestFault::Unavailable);
        }
        None
    }

    /// Microseconds from the simulator's start to `at`.
    pub fn micros_since_start(&self, at: std::time::Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    pub fn tenant_mut(&mut self, id: &str) -> Option<&mut Tenant> {
        self.tenants.get_mut(&id.to_ascii_lowercase())
    }
}

/// What every connection shares: the lock over [`Inner`], and where it persists.
pub struct Shared {
    pub inner: Mutex<Inner>,
    /// Where `--state` keeps the directory between runs.
    pub state_file: Option<PathBuf>,
}

/// The handle the HTTP routes (Graph, sign-in, the `/sim` endpoints) hold.
#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
    /// `https://127.0.0.1:{port}`.
    pub base_url: Arc<str>,
}

impl AppState {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A GUID drawn from `rng`.
/// A GUID from `rng` that is not in `issued`, which then holds it.
pub fn guid_from(rng: &mut fastrand::Rng, issued: &mut HashSet<String>) -> String {
    loop {
        let bytes: [u8; 16] = std::array::from_fn(|_| rng.u8(..));
        let guid = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string();
        if issued.insert(guid.clone()) {
            return guid;
        }
    }
}

/// Every string in `value` that is a GUID (hyphenated or as 32 hex digits), hyphenated and
/// lowercase.
fn collect_guids(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Ok(guid) = uuid::Uuid::try_parse(text) {
                found.push(guid.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_guids(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect_guids(v, found)),
        _ => {}
    }
}

/// A secret in Entra's client-secret shape (40 characters, `~` fourth), recorded in `issued`
/// so tests can scan outputs for leaks.
pub fn secret_from(rng: &mut fastrand::Rng, issued: &mut Vec<String>) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    loop {
        let mut text: String = (0..40)
            .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
            .collect();
        text.replace_range(3..4, "~");
        // A restarted simulator draws again from its seed: never hand out a value twice.
        if !issued.contains(&text) {
            issued.push(text.clone());
            return text;
        }
    }
}
