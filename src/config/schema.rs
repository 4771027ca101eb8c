//! The desired-state file as written: every section and key a config may hold.
//! Unknown keys are rejected; defaults and semantic checks live in `resolve`.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The directory (tenant) ID, a GUID.
    pub tenant_id: String,
    pub app: AppSection,
    pub secret: Option<SecretSection>,
    #[serde(default)]
    pub permissions: Vec<PermissionSection>,
    pub api: Option<ApiSection>,
    pub conditional_access: Option<ConditionalAccessSection>,
    pub outputs: Option<OutputsSection>,
    pub pandora_itsm: Option<PandoraItsmSection>,
    pub auth: Option<AuthSection>,
}

/// How this tenant's run signs in. Never a secret: secrets come from the environment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    pub method: Option<crate::auth::AuthMethod>,
    /// Read the standard variables with this prefix (`TENANT_A_` reads
    /// `TENANT_A_AZURE_CLIENT_ID`, `TENANT_A_AZURE_CLIENT_SECRET`, ...).
    pub env_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSection {
    /// The idempotency key: Graph's `uniqueName` alternate key.
    pub unique_name: String,
    pub display_name: String,
    pub sign_in_audience: Option<SignInAudience>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum SignInAudience {
    AzureADMyOrg,
    AzureADMultipleOrgs,
    AzureADandPersonalMicrosoftAccount,
    PersonalMicrosoftAccount,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSection {
    pub display_name: Option<String>,
    pub lifetime_days: Option<i64>,
    pub renew_before_days: Option<i64>,
    pub grace_period_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSection {
    /// A resource by name ("Microsoft Graph") or appId.
    pub resource: String,
    #[serde(default)]
    pub delegated: Vec<String>,
    #[serde(default)]
    pub application: Vec<String>,
    pub admin_consent: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    pub identifier_uri: Option<String>,
    #[serde(default)]
    pub scopes: Vec<ScopeSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSection {
    pub value: String,
    pub admin_consent_display_name: String,
    pub admin_consent_description: String,
    pub user_consent_display_name: Option<String>,
    pub user_consent_description: Option<String>,
    pub consent: Option<WhoCanConsent>,
    pub enabled: Option<bool>,
}

/// Who may consent to an exposed scope: Graph's permissionScope `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WhoCanConsent {
    /// `type: "Admin"`.
    Admins,
    /// `type: "User"`.
    AdminsAndUsers,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionalAccessSection {
    pub policy: Option<String>,
    pub display_name: Option<String>,
    pub state: Option<PolicyState>,
    #[serde(default)]
    pub pilot_groups: Vec<String>,
    #[serde(default)]
    pub pilot_users: Vec<String>,
    #[serde(default)]
    pub emergency_access_users: Vec<String>,
    #[serde(default)]
    pub emergency_access_groups: Vec<String>,
    pub target_apps: Option<Vec<String>>,
    pub grant_controls: Option<Vec<GrantControl>>,
    pub grant_operator: Option<GrantOperator>,
    /// Allow `pilot_users = ["All"]` (every user, admins included).
    #[serde(default)]
    pub allow_all_users: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyState {
    Enabled,
    ReportOnly,
    Disabled,
}

impl PolicyState {
    /// The value of Graph's `conditionalAccessPolicy.state`.
    pub fn graph_value(self) -> &'static str {
        match self {
            PolicyState::Enabled => "enabled",
            PolicyState::ReportOnly => "enabledForReportingButNotEnforced",
            PolicyState::Disabled => "disabled",
        }
    }
}

/// Graph's `conditionalAccessGrantControl` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GrantControl {
    Block,
    Mfa,
    CompliantDevice,
    DomainJoinedDevice,
    ApprovedApplication,
    CompliantApplication,
    PasswordChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum GrantOperator {
    #[serde(rename = "OR")]
    Or,
    #[serde(rename = "AND")]
    And,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsSection {
    pub directory: Option<String>,
    pub templates: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PandoraItsmSection {
    pub public_url: String,
    pub mailbox: String,
    pub incoming: Option<IncomingProtocol>,
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
    pub pop_host: Option<String>,
    pub pop_port: Option<u16>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncomingProtocol {
    Imap,
    Pop,
}
