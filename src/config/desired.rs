//! The desired state after defaults and validation: what `plan` compares with the tenant.
//! No secret exists here; the client secret is made by Graph and lives only in the outputs.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use uuid::Uuid;

pub use super::schema::{
    GrantControl, GrantOperator, IncomingProtocol, PolicyState, SignInAudience, WhoCanConsent,
};

#[derive(Debug, Clone, Serialize)]
pub struct Desired {
    /// The file this was read from.
    pub source: PathBuf,
    pub tenant_id: Uuid,
    pub app: DesiredApp,
    pub secret: DesiredSecret,
    pub permissions: Vec<DesiredPermission>,
    pub api: Option<DesiredApi>,
    pub conditional_access: Option<DesiredPolicy>,
    pub groups: Vec<DesiredGroup>,
    pub outputs: DesiredOutputs,
    pub helpdesk: Option<DesiredHelpdesk>,
    pub auth: DesiredAuth,
}

/// How this tenant signs in; the default reads the standard variables with `--auth`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DesiredAuth {
    pub method: Option<crate::auth::AuthMethod>,
    pub env_prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredApp {
    pub unique_name: String,
    pub display_name: String,
    pub sign_in_audience: SignInAudience,
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredSecret {
    /// The `passwordCredentials[].displayName` that marks a secret as ours.
    pub display_name: String,
    pub lifetime_days: u32,
    /// A live secret closer than this to its expiry is replaced.
    pub renew_before_days: u32,
    /// How long the previous secret stays valid after a new one is made.
    pub grace_period_days: u32,
    /// Where each new secret is delivered besides the outputs.
    pub key_vault: Option<DesiredKeyVault>,
}

/// An Azure Key Vault secret that receives the client secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DesiredKeyVault {
    pub vault: VaultAddress,
    /// The secret's name in the vault (`^[0-9a-zA-Z-]{1,127}$`).
    pub secret_name: String,
}

/// A vault as the config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultAddress {
    /// A bare vault name: its URL follows `--cloud` (`https://{name}.vault.azure.net`).
    Name(String),
    /// A full vault URL (a national cloud's, or a loopback vault such as the simulator's).
    Url(url::Url),
}

impl fmt::Display for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultAddress::Name(name) => f.write_str(name),
            VaultAddress::Url(url) => f.write_str(url.as_str().trim_end_matches('/')),
        }
    }
}

impl Serialize for VaultAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredPermission {
    /// The name as written, when a name was used.
    pub resource_name: Option<String>,
    /// The resource's appId (`requiredResourceAccess[].resourceAppId`).
    pub resource_app_id: Uuid,
    /// Delegated permission values (`Scope`), e.g. `IMAP.AccessAsUser.All`.
    pub delegated: Vec<String>,
    /// Application permission values (`Role`), e.g. `Mail.Read`.
    pub application: Vec<String>,
    pub admin_consent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredApi {
    /// The identifier URI with `{appId}` / `{tenantId}` placeholders still in it.
    pub identifier_uri: String,
    pub scopes: Vec<DesiredScope>,
}

/// An identifier URI template with its `{appId}` and `{tenantId}` filled in.
pub fn fill_identifier_uri(template: &str, app_id: &str, tenant_id: &str) -> String {
    template
        .replace("{appId}", app_id)
        .replace("{tenantId}", tenant_id)
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredScope {
    pub value: String,
    pub admin_consent_display_name: String,
    pub admin_consent_description: String,
    pub user_consent_display_name: Option<String>,
    pub user_consent_description: Option<String>,
    pub consent: WhoCanConsent,
    pub enabled: bool,
}

/// A security group entra-mail keeps: made by upsert on `unique_name`, its members exactly
/// `members` (user principal names, lowercase).
#[derive(Debug, Clone, Serialize)]
pub struct DesiredGroup {
    pub unique_name: String,
    pub display_name: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredPolicy {
    /// Where the policy template came from.
    pub policy: PolicySource,
    /// The policy in Graph's JSON, `${placeholders}` not yet filled.
    pub template: serde_json::Value,
    pub display_name: String,
    pub state: PolicyState,
    pub pilot_groups: Vec<String>,
    pub pilot_users: Vec<String>,
    pub emergency_access_users: Vec<String>,
    pub emergency_access_groups: Vec<String>,
    /// appIds, or one of Graph's keywords (`All`, `Office365`, `MicrosoftAdminPortals`).
    pub target_apps: Vec<String>,
    pub grant_controls: Vec<GrantControl>,
    pub grant_operator: GrantOperator,
    pub allow_all_users: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// Shipped inside the binary (a copy of `policies/<name>.json`).
    Builtin(String),
    File(PathBuf),
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredOutputs {
    pub directory: PathBuf,
    pub templates: Vec<TemplateRef>,
    /// `outputs.json` and the rendered files hold the secret's value (else only the vault).
    pub secret_in_outputs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// A template shipped inside the binary (a copy of `templates/`).
    Builtin(String),
    File(PathBuf),
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Builtin(name) => write!(f, "(built-in {name})"),
            PolicySource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Both print as the user would write them: a built-in name or a path.
macro_rules! serialize_as_display {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    )*};
}
serialize_as_display!(PolicySource, TemplateRef);

impl fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateRef::Builtin(name) => f.write_str(name),
            TemplateRef::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The helpdesk the app serves (`[helpdesk]`, or the older `[pandora_itsm]`).
#[derive(Debug, Clone, Serialize)]
pub struct DesiredHelpdesk {
    pub product: crate::helpdesk::Product,
    pub public_url: String,
    pub mailbox: String,
    pub incoming: IncomingProtocol,
    pub imap_host: String,
    pub imap_port: u16,
    pub pop_host: String,
    pub pop_port: u16,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// Request Tracker only: the folder wsgetmail reads and the queue it delivers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Written as `[pandora_itsm]`, the older name (problems are reported there).
    #[serde(skip)]
    pub from_pandora_section: bool,
}

impl DesiredHelpdesk {
    pub fn profile(&self) -> &'static crate::helpdesk::Profile {
        self.product.profile()
    }
}
