//! The desired-state file as written: every section and key a config may hold.
//! Unknown keys are reported (with the closest known key) and dropped before deserializing;
//! defaults and semantic checks live in `resolve`.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The directory (tenant) ID, a GUID.
    pub tenant_id: String,
    pub app: AppSection,
    pub secret: Option<SecretSection>,
    /// None: the helpdesk profile's.
    pub permissions: Option<Vec<PermissionSection>>,
    pub api: Option<ApiSection>,
    pub conditional_access: Option<ConditionalAccessSection>,
    #[serde(default)]
    pub groups: Vec<GroupSection>,
    pub outputs: Option<OutputsSection>,
    pub helpdesk: Option<HelpdeskSection>,
    /// The older name of `[helpdesk]`, for Pandora ITSM only (no `product`, `folder`, `queue`).
    pub pandora_itsm: Option<HelpdeskSection>,
    pub auth: Option<AuthSection>,
}

/// A security group entra-mail keeps (a Conditional Access pilot group), found by `uniqueName`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSection {
    /// The group's alternate key in Graph: set once, never changed.
    pub unique_name: String,
    pub display_name: String,
    /// Its members, by user principal name: exactly these, no others.
    #[serde(default)]
    pub members: Vec<String>,
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
    /// None: the helpdesk profile's, derived from its `public_url`.
    pub redirect_uris: Option<Vec<String>>,
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
    /// The Azure Key Vault each new secret is delivered to: a vault URL, or a vault name
    /// (its domain then follows `--cloud`).
    pub key_vault: Option<String>,
    /// The secret's name in that vault; derived from `app.unique_name` when absent.
    pub key_vault_secret: Option<String>,
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
    /// Whether `outputs.json` (and the rendered files) hold the secret's value; `false`
    /// needs `secret.key_vault`, where the value then lives.
    pub secret_in_outputs: Option<bool>,
}

/// The helpdesk that reads and sends the mail: its profile supplies the defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskSection {
    /// Pandora ITSM when absent.
    pub product: Option<crate::helpdesk::Product>,
    pub public_url: String,
    pub mailbox: String,
    pub incoming: Option<IncomingProtocol>,
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
    pub pop_host: Option<String>,
    pub pop_port: Option<u16>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// Request Tracker: the folder wsgetmail reads, and the queue it delivers to.
    pub folder: Option<String>,
    pub queue: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncomingProtocol {
    Imap,
    Pop,
}

/// A key no section accepts, found before deserializing so it hides no other problem.
#[derive(Debug)]
pub struct UnknownKey {
    pub path: crate::config::location::KeyPath,
    /// The byte offset of the key in the file.
    pub offset: usize,
    pub message: String,
}

/// Removes every key the schema does not know from `table` (a parsed file) and reports each,
/// with the closest known key when one is near. What remains deserializes as before.
pub fn remove_unknown_keys(table: &mut toml::de::DeTable<'_>) -> Vec<UnknownKey> {
    let mut found = Vec::new();
    check_table(
        table,
        "",
        &crate::config::location::KeyPath::root(),
        &mut found,
    );
    found
}

/// The keys of the table at `shape` (a dotted path; `[]` steps into an array of tables).
fn known_keys(shape: &str) -> Option<&'static [&'static str]> {
    Some(match shape {
        "" => field_names::<FileConfig>(),
        "app" => field_names::<AppSection>(),
        "secret" => field_names::<SecretSection>(),
        "permissions[]" => field_names::<PermissionSection>(),
        "api" => field_names::<ApiSection>(),
        "api.scopes[]" => field_names::<ScopeSection>(),
        "conditional_access" => field_names::<ConditionalAccessSection>(),
        "groups[]" => field_names::<GroupSection>(),
        "outputs" => field_names::<OutputsSection>(),
        "helpdesk" => field_names::<HelpdeskSection>(),
        // `[helpdesk]`'s keys but `product` (first) and Request Tracker's `folder` and `queue`.
        "pandora_itsm" => &field_names::<HelpdeskSection>()[1..10],
        "auth" => field_names::<AuthSection>(),
        _ => return None,
    })
}

fn check_table(
    table: &mut toml::de::DeTable<'_>,
    shape: &str,
    path: &crate::config::location::KeyPath,
    found: &mut Vec<UnknownKey>,
) {
    let Some(known) = known_keys(shape) else {
        return;
    };
    let unknown: Vec<(String, std::ops::Range<usize>)> = table
        .keys()
        .filter(|key| !known.contains(&key.get_ref().as_ref()))
        .map(|key| (key.get_ref().to_string(), key.span()))
        .collect();
    for (name, span) in unknown {
        let mut message = format!(
            "unknown field `{name}`, expected one of {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let close = closest(&name, known);
        if let Some(close) = close {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        found.push(UnknownKey {
            path: path.key(&name),
            offset: span.start,
            message,
        });
        let value = table.remove(name.as_str());
        // Checked as the key it most likely meant, so its value's problems show too (and no
        // "missing field" for the same typo).
        if let (Some(close), Some(value)) = (close, value) {
            if !table.contains_key(close) {
                let key = toml::Spanned::new(span, std::borrow::Cow::Borrowed(close));
                table.insert(key, value);
            }
        }
    }
    for (key, value) in table.iter_mut() {
        let name: &str = key.get_ref();
        let child = if shape.is_empty() {
            name.to_string()
        } else {
            format!("{shape}.{name}")
        };
        match value.get_mut() {
            toml::de::DeValue::Table(inner) => check_table(inner, &child, &path.key(name), found),
            toml::de::DeValue::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let toml::de::DeValue::Table(inner) = item.get_mut() {
                        check_table(
                            inner,
                            &format!("{child}[]"),
                            &path.key(name).index(i),
                            found,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// The known key a mistyped `key` most likely meant: at most a third of its characters off.
fn closest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(key, k), *k))
        .filter(|(d, k)| d * 3 <= key.chars().count().max(k.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The field names serde's derive hands to `deserialize_struct` for `T`: the keys it accepts.
fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field list it is asked for.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(serde::de::Error::custom("only the field names were wanted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_the_derive() {
        assert_eq!(
            field_names::<AuthSection>(),
            ["method", "env_prefix"].as_slice()
        );
    }

    #[test]
    fn the_older_pandora_section_knows_the_helpdesk_keys_but_three() {
        assert_eq!(
            known_keys("pandora_itsm").unwrap(),
            [
                "public_url",
                "mailbox",
                "incoming",
                "imap_host",
                "imap_port",
                "pop_host",
                "pop_port",
                "smtp_host",
                "smtp_port"
            ]
            .as_slice()
        );
    }

    #[test]
    fn suggests_only_a_close_key() {
        let app = field_names::<AppSection>();
        assert_eq!(closest("uniqe_name", app), Some("unique_name"));
        assert_eq!(closest("colour", field_names::<FileConfig>()), None);
    }
}
