//! From the file as written to the desired state: defaults filled in, every value checked.
//! All problems are collected, not just the first, so one run shows everything to fix.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use url::Url;
use uuid::Uuid;

use super::desired::*;
use super::location::{KeyPath, LineColumn};
use super::policy;
use super::schema::*;
use super::templates;
use crate::fsutil::{read_bounded, INPUT_LIMIT};
use crate::helpdesk::Product;
use crate::well_known;

/// Defaults, named so README and `validate` agree with the code.
pub mod defaults {
    pub const SECRET_DISPLAY_NAME: &str = "entra-mail";
    pub const SECRET_LIFETIME_DAYS: i64 = 180;
    pub const SECRET_RENEW_BEFORE_DAYS: i64 = 30;
    pub const SECRET_GRACE_PERIOD_DAYS: i64 = 7;
    pub const IDENTIFIER_URI: &str = "api://{appId}";
    pub const POLICY_DISPLAY_NAME: &str = "MFA Pilot";
    /// Joined with `app.unique_name`, so configs side by side keep apart outputs (and secrets).
    pub const OUTPUTS_DIRECTORY: &str = "entra-mail-out";
    pub const IMAP_HOST: &str = "outlook.office365.com";
    pub const IMAP_PORT: u16 = 993;
    pub const POP_HOST: &str = "outlook.office365.com";
    pub const POP_PORT: u16 = 995;
    pub const SMTP_HOST: &str = "smtp.office365.com";
    pub const SMTP_PORT: u16 = 587;
    pub const RT_FOLDER: &str = "Inbox";
    pub const RT_QUEUE: &str = "General";
}

/// Entra's limits that a config can break.
mod limits {
    /// Longest client secret lifetime we allow (Entra's portal offers at most 24 months).
    pub const SECRET_LIFETIME_DAYS_MAX: i64 = 730;
    pub const GRACE_PERIOD_DAYS_MAX: i64 = 90;
    pub const SCOPE_VALUE_MAX: usize = 120;
    pub const REDIRECT_URI_MAX: usize = 256;
    pub const REDIRECT_URIS_MAX: usize = 256;
    pub const DISPLAY_NAME_MAX: usize = 256;
    pub const UNIQUE_NAME_MAX: usize = 128;
    /// A group's `mailNickname` (which its unique name also is).
    pub const MAIL_NICKNAME_MAX: usize = 64;
    pub const RESOURCES_MAX: usize = 50;
    pub const PERMISSIONS_MAX: usize = 400;
}

/// Where a problem is: a key in the config, or a place in a file the config references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Config(KeyPath),
    File {
        file: PathBuf,
        at: Option<LineColumn>,
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub message: String,
}

/// Collects problems while resolving.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn at(&mut self, path: KeyPath, message: impl Into<String>) {
        self.0.push(Problem {
            location: Location::Config(path),
            message: message.into(),
        });
    }

    fn in_file(&mut self, file: &Path, at: Option<LineColumn>, key: String, message: String) {
        self.0.push(Problem {
            location: Location::File {
                file: file.to_path_buf(),
                at,
                key,
            },
            message,
        });
    }
}

/// Resolves `file` (read from `source`, whose directory anchors relative paths).
pub fn resolve(file: FileConfig, source: &Path) -> Result<Desired, Vec<Problem>> {
    let base_dir = source.parent().unwrap_or(Path::new("."));
    let root = KeyPath::root();
    let mut problems = Problems::default();

    let tenant_id = guid(
        &file.tenant_id,
        root.key("tenant_id"),
        &mut problems,
        "the directory (tenant) ID",
    );
    let helpdesk = resolve_helpdesk(file.helpdesk, file.pandora_itsm, &root, &mut problems);
    let app = resolve_app(file.app, helpdesk.as_ref(), &root, &mut problems);
    let secret = resolve_secret(
        file.secret,
        &app.unique_name,
        &root.key("secret"),
        &mut problems,
    );
    let permissions = match file.permissions {
        Some(sections) => resolve_permissions(sections, &root.key("permissions"), &mut problems),
        None => profile_permissions(helpdesk.as_ref(), &root, &mut problems),
    };
    let api = file
        .api
        .map(|api| resolve_api(api, &root.key("api"), &mut problems));
    let conditional_access = file
        .conditional_access
        .map(|ca| resolve_policy(ca, &root.key("conditional_access"), base_dir, &mut problems));
    let groups = resolve_groups(file.groups, &root.key("groups"), &mut problems);
    let outputs = resolve_outputs(
        file.outputs,
        &root.key("outputs"),
        base_dir,
        &app.unique_name,
        helpdesk.as_ref(),
        secret.key_vault.is_some(),
        &mut problems,
    );
    let auth = file.auth.map_or_else(DesiredAuth::default, |a| {
        let prefix_ok = a.env_prefix.as_deref().is_none_or(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        });
        if !prefix_ok {
            problems.at(
                root.key("auth").key("env_prefix"),
                "an environment variable prefix has only A-Z, 0-9 and _, like \"TENANT_A_\"",
            );
        }
        DesiredAuth {
            method: a.method,
            env_prefix: a.env_prefix,
        }
    });

    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    Ok(Desired {
        source: source.to_path_buf(),
        tenant_id: tenant_id.unwrap_or_default(),
        app,
        secret,
        permissions,
        api,
        conditional_access,
        groups,
        outputs,
        helpdesk,
        auth,
    })
}

/// Groups: a unique name as for the app (Graph sets it once), each named once, a display
/// name Entra accepts, and members given by user principal name, each once.
fn resolve_groups(
    groups: Vec<GroupSection>,
    path: &KeyPath,
    problems: &mut Problems,
) -> Vec<DesiredGroup> {
    let mut seen: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut resolved = Vec::new();
    for (i, group) in groups.into_iter().enumerate() {
        let at = path.index(i);
        let key = group.unique_name.to_ascii_lowercase();
        let name_ok = !group.unique_name.is_empty()
            && group.unique_name.len() <= limits::MAIL_NICKNAME_MAX
            && group
                .unique_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !name_ok {
            problems.at(
                at.key("unique_name"),
                format!(
                    "`{}` is not a valid unique name; use 1 to {} letters, digits, '.', '-' or '_' (it is the group's permanent key in the tenant, and its mail nickname)",
                    group.unique_name,
                    limits::MAIL_NICKNAME_MAX
                ),
            );
        } else if seen.contains(&key) {
            problems.at(
                at.key("unique_name"),
                format!("group `{}` is configured twice", group.unique_name),
            );
        }
        seen.push(key);
        let display_key = group.display_name.to_lowercase();
        if names.contains(&display_key) {
            // The policy names groups by display name: two alike could never be told apart.
            problems.at(
                at.key("display_name"),
                format!("two groups are named `{}`", group.display_name),
            );
        }
        names.push(display_key);
        if group.display_name.trim().is_empty()
            || group.display_name.len() > limits::DISPLAY_NAME_MAX
        {
            problems.at(
                at.key("display_name"),
                format!(
                    "a group's display name has 1 to {} characters",
                    limits::DISPLAY_NAME_MAX
                ),
            );
        }
        let mut members: Vec<String> = Vec::new();
        for (j, member) in group.members.iter().enumerate() {
            let upn = member.to_ascii_lowercase();
            if !is_user_principal_name(member) {
                problems.at(
                    at.key("members").index(j),
                    format!("`{member}` is not a user principal name like alice@contoso.com"),
                );
            } else if members.contains(&upn) {
                problems.at(
                    at.key("members").index(j),
                    format!("`{member}` is listed twice"),
                );
            } else {
                members.push(upn);
            }
        }
        resolved.push(DesiredGroup {
            unique_name: group.unique_name,
            display_name: group.display_name,
            members,
        });
    }
    resolved
}

fn resolve_app(
    app: AppSection,
    helpdesk: Option<&DesiredHelpdesk>,
    root: &KeyPath,
    problems: &mut Problems,
) -> DesiredApp {
    let path = &root.key("app");
    // It names the default outputs directory too, so `.` or `..` would point elsewhere.
    let unique_name_ok = app
        .unique_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !app.unique_name.chars().all(|c| c == '.');
    if app.unique_name.is_empty()
        || app.unique_name.len() > limits::UNIQUE_NAME_MAX
        || !unique_name_ok
    {
        problems.at(
            path.key("unique_name"),
            format!(
                "`{}` is not a valid unique name; use 1 to {} letters, digits, '.', '-' or '_', not only dots (it is the app's permanent key in the tenant)",
                app.unique_name,
                limits::UNIQUE_NAME_MAX
            ),
        );
    }
    display_name(&app.display_name, path.key("display_name"), problems);
    let redirect_uris = match app.redirect_uris {
        Some(uris) => {
            check_redirect_uris(&uris, &path.key("redirect_uris"), problems);
            uris
        }
        None => derived_redirect_uris(helpdesk, root, problems),
    };
    DesiredApp {
        unique_name: app.unique_name,
        display_name: app.display_name,
        sign_in_audience: app.sign_in_audience.unwrap_or(SignInAudience::AzureADMyOrg),
        redirect_uris,
    }
}

fn check_redirect_uris(uris: &[String], path: &KeyPath, problems: &mut Problems) {
    if uris.len() > limits::REDIRECT_URIS_MAX {
        problems.at(
            path.clone(),
            format!(
                "at most {} redirect URIs are allowed",
                limits::REDIRECT_URIS_MAX
            ),
        );
    }
    let mut seen = HashSet::new();
    for (i, uri) in uris.iter().enumerate() {
        let at = path.index(i);
        if let Some(message) = redirect_uri_problem(uri) {
            problems.at(at, message);
        } else if !seen.insert(uri.as_str()) {
            problems.at(at, format!("`{uri}` is listed twice"));
        }
    }
}

/// The helpdesk profile's redirect URIs under its `public_url`: checked as if written by
/// hand, each problem reported at `public_url` (where it comes from).
fn derived_redirect_uris(
    helpdesk: Option<&DesiredHelpdesk>,
    root: &KeyPath,
    problems: &mut Problems,
) -> Vec<String> {
    let Some(helpdesk) = deriving(helpdesk) else {
        return Vec::new();
    };
    let uris = helpdesk.profile().redirect_uris(&helpdesk.public_url);
    for uri in &uris {
        if let Some(message) = redirect_uri_problem(uri) {
            problems.at(
                root.key(helpdesk_section(helpdesk.from_pandora_section))
                    .key("public_url"),
                format!(
                    "the redirect URI {} signs in with is derived from it, and Entra would refuse it: {message}; or list the redirect URIs in app.redirect_uris",
                    helpdesk.profile().name
                ),
            );
            break;
        }
    }
    uris
}

/// The section a helpdesk was configured in: `[helpdesk]`, or its older name.
fn helpdesk_section(from_pandora_section: bool) -> &'static str {
    if from_pandora_section {
        "pandora_itsm"
    } else {
        "helpdesk"
    }
}

/// The helpdesk whose profile supplies defaults: the older `[pandora_itsm]` section derives
/// nothing, so its configs keep what they had.
fn deriving(helpdesk: Option<&DesiredHelpdesk>) -> Option<&DesiredHelpdesk> {
    helpdesk.filter(|h| !h.from_pandora_section)
}

/// The helpdesk profile's permissions, on Microsoft Graph with admin consent, when the config
/// lists none.
fn profile_permissions(
    helpdesk: Option<&DesiredHelpdesk>,
    root: &KeyPath,
    problems: &mut Problems,
) -> Vec<DesiredPermission> {
    let Some(helpdesk) = deriving(helpdesk) else {
        return Vec::new();
    };
    let profile = helpdesk.profile();
    let delegated = profile.delegated_for(helpdesk.incoming);
    if delegated.is_empty() {
        return Vec::new();
    }
    let section = PermissionSection {
        resource: "Microsoft Graph".into(),
        delegated,
        application: Vec::new(),
        admin_consent: Some(true),
    };
    resolve_permissions(vec![section], &root.key("permissions"), problems)
}

/// Entra's rules for a web redirect URI.
fn redirect_uri_problem(uri: &str) -> Option<String> {
    let url = match Url::parse(uri) {
        Ok(url) => url,
        Err(e) => return Some(format!("`{uri}` is not an absolute URL ({e})")),
    };
    if uri.len() > limits::REDIRECT_URI_MAX {
        return Some(format!(
            "`{uri}` is longer than {} characters",
            limits::REDIRECT_URI_MAX
        ));
    }
    if uri.contains('*') {
        return Some(format!(
            "`{uri}`: wildcards are not allowed in redirect URIs"
        ));
    }
    if url.fragment().is_some() {
        return Some(format!(
            "`{uri}`: a redirect URI cannot contain a fragment (#)"
        ));
    }
    match url.scheme() {
        "https" => None,
        "http" if crate::cloud::is_loopback(&url) => None,
        _ => Some(format!(
            "`{uri}` must use https (http is allowed only for localhost, as Entra allows)"
        )),
    }
}

fn resolve_secret(
    secret: Option<SecretSection>,
    unique_name: &str,
    path: &KeyPath,
    problems: &mut Problems,
) -> DesiredSecret {
    let secret = secret.unwrap_or(SecretSection {
        display_name: None,
        lifetime_days: None,
        renew_before_days: None,
        grace_period_days: None,
        key_vault: None,
        key_vault_secret: None,
    });
    let key_vault = resolve_key_vault(
        secret.key_vault.as_deref(),
        secret.key_vault_secret.as_deref(),
        unique_name,
        path,
        problems,
    );
    let display_name_value = secret
        .display_name
        .unwrap_or_else(|| defaults::SECRET_DISPLAY_NAME.to_string());
    display_name(&display_name_value, path.key("display_name"), problems);
    let lifetime = secret
        .lifetime_days
        .unwrap_or(defaults::SECRET_LIFETIME_DAYS);
    let lifetime_ok = in_range(
        lifetime,
        1,
        limits::SECRET_LIFETIME_DAYS_MAX,
        path.key("lifetime_days"),
        problems,
    );
    let renew = secret
        .renew_before_days
        .unwrap_or(defaults::SECRET_RENEW_BEFORE_DAYS);
    if renew < 0 || (lifetime_ok && renew >= lifetime) {
        problems.at(
            path.key("renew_before_days"),
            format!(
                "{renew} is out of range; it must be at least 0 and less than lifetime_days ({lifetime})"
            ),
        );
    }
    let grace = secret
        .grace_period_days
        .unwrap_or(defaults::SECRET_GRACE_PERIOD_DAYS);
    in_range(
        grace,
        0,
        limits::GRACE_PERIOD_DAYS_MAX,
        path.key("grace_period_days"),
        problems,
    );
    DesiredSecret {
        display_name: display_name_value,
        lifetime_days: u32::try_from(lifetime).unwrap_or_default(),
        renew_before_days: u32::try_from(renew).unwrap_or_default(),
        grace_period_days: u32::try_from(grace).unwrap_or_default(),
        key_vault,
    }
}

/// `secret.key_vault` and `secret.key_vault_secret`, checked as Key Vault checks names.
fn resolve_key_vault(
    vault: Option<&str>,
    secret_name: Option<&str>,
    unique_name: &str,
    path: &KeyPath,
    problems: &mut Problems,
) -> Option<DesiredKeyVault> {
    let Some(vault) = vault else {
        if secret_name.is_some() {
            problems.at(
                path.key("key_vault_secret"),
                "names a secret in no vault: set secret.key_vault too",
            );
        }
        return None;
    };
    let address = match vault_address(vault) {
        Ok(address) => address,
        Err(message) => {
            problems.at(path.key("key_vault"), message);
            return None;
        }
    };
    let secret_name = match secret_name {
        Some(name) if key_vault_secret_name_ok(name) => name.to_string(),
        Some(name) => {
            problems.at(
                path.key("key_vault_secret"),
                format!(
                    "`{name}` is not a Key Vault secret name: 1 to 127 letters, digits and hyphens"
                ),
            );
            return None;
        }
        None => default_key_vault_secret(unique_name),
    };
    Some(DesiredKeyVault {
        vault: address,
        secret_name,
    })
}

/// Key Vault's rule for secret names.
fn key_vault_secret_name_ok(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `{unique_name}-client-secret`, with every character Key Vault refuses made a hyphen.
fn default_key_vault_secret(unique_name: &str) -> String {
    let base: String = unique_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut name = format!("{}-client-secret", base.trim_matches('-'));
    name.truncate(127);
    name
}

/// Key Vault's rule for vault names: 3 to 24 letters, digits and hyphens, starting with a
/// letter, ending with a letter or digit, no two hyphens in a row.
pub fn key_vault_name_ok(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("--")
}

/// A vault name, or an https vault URL: a national cloud's vault domain, or a loopback
/// vault (the simulator's), which alone may have a path.
fn vault_address(value: &str) -> Result<VaultAddress, String> {
    if !value.contains("://") {
        return if key_vault_name_ok(value) {
            Ok(VaultAddress::Name(value.to_string()))
        } else {
            Err(format!("`{value}` is neither a vault URL (https://NAME.vault.azure.net) nor a vault name (3 to 24 letters, digits and single hyphens, starting with a letter)"))
        };
    }
    let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err(format!("`{value}` must use https"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`{value}` must be the vault's URL alone, without a query, fragment or user"
        ));
    }
    if crate::cloud::is_loopback(&url) {
        return Ok(VaultAddress::Url(url));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let in_a_cloud = crate::cloud::Cloud::ALL.iter().any(|cloud| {
        host.strip_suffix(cloud.key_vault_domain())
            .and_then(|name| name.strip_suffix('.'))
            .is_some_and(key_vault_name_ok)
    });
    if !in_a_cloud || url.path() != "/" || url.port().is_some() {
        return Err(format!(
            "`{value}` is not a Key Vault URL: it looks like https://NAME.vault.azure.net (or a national cloud's vault domain), with no path"
        ));
    }
    Ok(VaultAddress::Url(url))
}

fn resolve_permissions(
    sections: Vec<PermissionSection>,
    path: &KeyPath,
    problems: &mut Problems,
) -> Vec<DesiredPermission> {
    if sections.len() > limits::RESOURCES_MAX {
        problems.at(
            path.clone(),
            format!(
                "at most {} resources are allowed (Entra's limit)",
                limits::RESOURCES_MAX
            ),
        );
    }
    let total: usize = sections
        .iter()
        .map(|s| s.delegated.len() + s.application.len())
        .sum();
    if total > limits::PERMISSIONS_MAX {
        problems.at(
            path.clone(),
            format!(
                "{total} permissions in all; Entra allows at most {}",
                limits::PERMISSIONS_MAX
            ),
        );
    }
    let mut seen_resources = HashSet::new();
    let mut resolved = Vec::new();
    for (i, section) in sections.into_iter().enumerate() {
        let at = path.index(i);
        let app_id = resource_app_id(&section.resource, at.key("resource"), problems);
        if let Some(app_id) = app_id {
            if !seen_resources.insert(app_id) {
                problems.at(
                    at.key("resource"),
                    format!(
                        "`{}` appears twice; list each resource once",
                        section.resource
                    ),
                );
            }
        }
        if section.delegated.is_empty() && section.application.is_empty() {
            problems.at(
                at.clone(),
                "a resource needs at least one `delegated` or `application` permission",
            );
        }
        permission_names(&section.delegated, &at.key("delegated"), problems);
        permission_names(&section.application, &at.key("application"), problems);
        let is_guid = Uuid::parse_str(&section.resource).is_ok();
        resolved.push(DesiredPermission {
            resource_name: (!is_guid).then_some(section.resource),
            resource_app_id: app_id.unwrap_or_default(),
            delegated: section.delegated,
            application: section.application,
            admin_consent: section.admin_consent.unwrap_or(true),
        });
    }
    resolved
}

fn resource_app_id(resource: &str, path: KeyPath, problems: &mut Problems) -> Option<Uuid> {
    if let Some(app_id) = well_known::app_id_by_name(resource) {
        return Uuid::parse_str(app_id).ok();
    }
    if looks_like_guid(resource) {
        return guid(resource, path, problems, "an appId");
    }
    let names: Vec<String> = well_known::app_names()
        .map(|n| format!("\"{n}\""))
        .collect();
    problems.at(
        path,
        format!(
            "unknown resource `{resource}`; use its appId (a GUID) or one of {}",
            names.join(", ")
        ),
    );
    None
}

fn permission_names(names: &[String], path: &KeyPath, problems: &mut Problems) {
    let mut seen = HashSet::new();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            problems.at(
                path.index(i),
                format!("`{name}` is not a permission name; names have no spaces, like \"IMAP.AccessAsUser.All\""),
            );
        } else if !seen.insert(name.to_ascii_lowercase()) {
            problems.at(path.index(i), format!("`{name}` is listed twice"));
        }
    }
}

fn resolve_api(api: ApiSection, path: &KeyPath, problems: &mut Problems) -> DesiredApi {
    let identifier_uri = api
        .identifier_uri
        .unwrap_or_else(|| defaults::IDENTIFIER_URI.to_string());
    if let Some(message) = identifier_uri_problem(&identifier_uri) {
        problems.at(path.key("identifier_uri"), message);
    }
    let mut seen = HashSet::new();
    let mut scopes = Vec::new();
    for (i, scope) in api.scopes.into_iter().enumerate() {
        let at = path.key("scopes").index(i);
        scope_value(&scope.value, at.key("value"), problems);
        if !seen.insert(scope.value.to_ascii_lowercase()) {
            problems.at(
                at.key("value"),
                format!("scope `{}` is defined twice", scope.value),
            );
        }
        non_empty(
            &scope.admin_consent_display_name,
            at.key("admin_consent_display_name"),
            problems,
        );
        non_empty(
            &scope.admin_consent_description,
            at.key("admin_consent_description"),
            problems,
        );
        let consent = scope.consent.unwrap_or(WhoCanConsent::Admins);
        if consent == WhoCanConsent::AdminsAndUsers {
            for (key, value) in [
                (
                    "user_consent_display_name",
                    &scope.user_consent_display_name,
                ),
                ("user_consent_description", &scope.user_consent_description),
            ] {
                if value.as_deref().is_none_or(str::is_empty) {
                    problems.at(
                        at.key(key),
                        format!("`{key}` is required when consent = \"admins_and_users\" (users see it on the consent screen)"),
                    );
                }
            }
        }
        scopes.push(DesiredScope {
            value: scope.value,
            admin_consent_display_name: scope.admin_consent_display_name,
            admin_consent_description: scope.admin_consent_description,
            user_consent_display_name: scope.user_consent_display_name,
            user_consent_description: scope.user_consent_description,
            consent,
            enabled: scope.enabled.unwrap_or(true),
        });
    }
    DesiredApi {
        identifier_uri,
        scopes,
    }
}

/// Entra's identifier URI forms; the tenant still checks hosts against verified domains.
fn identifier_uri_problem(uri: &str) -> Option<String> {
    let mut rest = uri;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c)?;
        let name = &rest[open + 1..close];
        if name != "appId" && name != "tenantId" {
            return Some(format!(
                "unknown placeholder `{{{name}}}` in `{uri}`; known: {{appId}}, {{tenantId}}"
            ));
        }
        rest = &rest[close + 1..];
    }
    let sample = uri
        .replace("{appId}", "00000000-0000-0000-0000-000000000001")
        .replace("{tenantId}", "00000000-0000-0000-0000-000000000002");
    let url = match Url::parse(&sample) {
        Ok(url) => url,
        Err(e) => return Some(format!("`{uri}` is not an absolute URI ({e})")),
    };
    if !matches!(url.scheme(), "api" | "https" | "urn" | "ms-appx") {
        return Some(format!(
            "`{uri}` must start with api://, https://, urn: or ms-appx:// (default: \"{}\")",
            defaults::IDENTIFIER_URI
        ));
    }
    if uri.contains('*') {
        return Some(format!(
            "`{uri}`: wildcards are not allowed in identifier URIs"
        ));
    }
    None
}

fn scope_value(value: &str, path: KeyPath, problems: &mut Problems) {
    if value.is_empty() || value.chars().count() > limits::SCOPE_VALUE_MAX {
        problems.at(
            path,
            format!(
                "`{value}` must be 1 to {} characters long",
                limits::SCOPE_VALUE_MAX
            ),
        );
    } else if value.chars().any(char::is_whitespace) {
        problems.at(
            path,
            format!("`{value}` contains a space; scope values cannot"),
        );
    } else if value.starts_with('.') {
        problems.at(path, format!("`{value}` cannot start with '.'"));
    }
}

fn resolve_policy(
    ca: ConditionalAccessSection,
    path: &KeyPath,
    base_dir: &Path,
    problems: &mut Problems,
) -> DesiredPolicy {
    let (source, text) = match &ca.policy {
        None => (
            PolicySource::Builtin(policy::BUILTIN_MFA_PILOT.0.to_string()),
            Some(policy::BUILTIN_MFA_PILOT.1.to_string()),
        ),
        Some(file) => {
            let full = base_dir.join(file);
            match read_bounded(&full, "policy file", INPUT_LIMIT) {
                Ok(text) => (PolicySource::File(full), Some(text)),
                Err(e) => {
                    problems.at(path.key("policy"), e.to_string());
                    (PolicySource::File(full), None)
                }
            }
        }
    };
    let template = text
        .map(|text| match policy::check(&text) {
            Ok(value) => value,
            Err(found) => {
                let file = match &source {
                    PolicySource::File(file) => file.clone(),
                    PolicySource::Builtin(name) => {
                        PathBuf::from(format!("(built-in policy {name})"))
                    }
                };
                for p in found {
                    problems.in_file(&file, p.at, p.pointer, p.message);
                }
                serde_json::Value::Null
            }
        })
        .unwrap_or_default();

    let display_name_value = ca
        .display_name
        .unwrap_or_else(|| defaults::POLICY_DISPLAY_NAME.to_string());
    display_name(&display_name_value, path.key("display_name"), problems);
    if ca.pilot_groups.is_empty() && ca.pilot_users.is_empty() {
        problems.at(
            path.key("pilot_groups"),
            "a policy must name who it applies to: set `pilot_groups` or `pilot_users`",
        );
    }
    for (key, names) in [
        ("pilot_groups", &ca.pilot_groups),
        ("emergency_access_groups", &ca.emergency_access_groups),
    ] {
        names_list(names, &path.key(key), problems, |name| {
            name.trim()
                .is_empty()
                .then(|| "a group name cannot be empty".to_string())
        });
    }
    names_list(
        &ca.pilot_users,
        &path.key("pilot_users"),
        problems,
        |name| {
            // Graph reads its keywords in any case: "all" is every user as much as "All".
            if name.eq_ignore_ascii_case("All") {
                return (!ca.allow_all_users).then(|| {
                format!("\"{name}\" puts every user, admins included, under this policy; set `allow_all_users = true` to mean it")
            });
            }
            if name.eq_ignore_ascii_case("GuestsOrExternalUsers") {
                return (!ca.allow_all_users).then(|| {
                format!("\"{name}\" puts every guest and external user under this policy; set `allow_all_users = true` to mean it")
            });
            }
            (!is_user_principal_name(name)).then(|| {
            format!("`{name}` is not a user principal name; expected name@domain, like alice@contoso.com, or \"All\"")
        })
        },
    );
    names_list(
        &ca.emergency_access_users,
        &path.key("emergency_access_users"),
        problems,
        |name| {
            (!is_user_principal_name(name)).then(|| {
            format!("`{name}` is not a user principal name; expected name@domain, like breakglass1@contoso.onmicrosoft.com")
        })
        },
    );
    let target_apps = ca
        .target_apps
        .unwrap_or_else(|| vec![well_known::AZURE_SERVICE_MANAGEMENT.to_string()]);
    if target_apps.is_empty() {
        problems.at(
            path.key("target_apps"),
            "a policy needs at least one target app",
        );
    }
    let target_apps = target_apps
        .iter()
        .enumerate()
        .filter_map(|(i, app)| target_app(app, path.key("target_apps").index(i), problems))
        .collect();
    let grant_controls = ca.grant_controls.unwrap_or_else(|| vec![GrantControl::Mfa]);
    if grant_controls.is_empty() {
        problems.at(
            path.key("grant_controls"),
            "at least one grant control is needed, e.g. [\"mfa\"]",
        );
    }
    DesiredPolicy {
        policy: source,
        template,
        display_name: display_name_value,
        state: ca.state.unwrap_or(PolicyState::ReportOnly),
        pilot_groups: ca.pilot_groups,
        pilot_users: ca.pilot_users,
        emergency_access_users: ca.emergency_access_users,
        emergency_access_groups: ca.emergency_access_groups,
        target_apps,
        grant_controls,
        grant_operator: ca.grant_operator.unwrap_or(GrantOperator::Or),
        allow_all_users: ca.allow_all_users,
    }
}

/// Graph's keywords for `includeApplications`.
const TARGET_APP_KEYWORDS: &[&str] = &["All", "Office365", "MicrosoftAdminPortals"];

fn target_app(app: &str, path: KeyPath, problems: &mut Problems) -> Option<String> {
    if let Some(keyword) = TARGET_APP_KEYWORDS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(app))
    {
        return Some(keyword.to_string());
    }
    if let Some(app_id) = well_known::app_id_by_name(app) {
        return Some(app_id.to_string());
    }
    if looks_like_guid(app) {
        return guid(app, path, problems, "an appId").map(|g| g.to_string());
    }
    problems.at(
        path,
        format!(
            "unknown app `{app}`; use an appId (a GUID), a known name such as \"Windows Azure Service Management API\", or one of {}",
            TARGET_APP_KEYWORDS.join(", ")
        ),
    );
    None
}

fn names_list(
    names: &[String],
    path: &KeyPath,
    problems: &mut Problems,
    check: impl Fn(&str) -> Option<String>,
) {
    let mut seen = HashSet::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(message) = check(name) {
            problems.at(path.index(i), message);
        } else if !seen.insert(name.to_lowercase()) {
            problems.at(path.index(i), format!("`{name}` is listed twice"));
        }
    }
}

fn is_user_principal_name(name: &str) -> bool {
    match name.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !name.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn resolve_outputs(
    outputs: Option<OutputsSection>,
    path: &KeyPath,
    base_dir: &Path,
    unique_name: &str,
    helpdesk: Option<&DesiredHelpdesk>,
    has_key_vault: bool,
    problems: &mut Problems,
) -> DesiredOutputs {
    let product = helpdesk.map(|h| h.product);
    let (directory, templates, secret_in_outputs) = match outputs {
        Some(o) => (o.directory, o.templates, o.secret_in_outputs),
        None => (None, None, None),
    };
    // Without a vault the outputs are the one place a new secret's value reaches.
    if secret_in_outputs == Some(false) && !has_key_vault {
        problems.at(
            path.key("secret_in_outputs"),
            "false would deliver a new secret to no one: set secret.key_vault, where its value then lives",
        );
    }
    let directory = match directory {
        Some(directory) => base_dir.join(directory),
        None => base_dir.join(defaults::OUTPUTS_DIRECTORY).join(unique_name),
    };
    // The built-in templates describe a helpdesk; without one there is nothing to render.
    let names = templates.unwrap_or_else(|| {
        match helpdesk {
            None => Vec::new(),
            // The older section keeps the templates it always had.
            Some(h) if h.from_pandora_section => ["pandora-itsm", "pandora-itsm-json"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(h) => h
                .profile()
                .templates()
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    });
    let mut resolved = Vec::new();
    // Each rendered file's name, lowercased (case-insensitive file systems), with its template.
    let mut output_files: Vec<(String, usize)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let at = path.key("templates").index(i);
        let output_file = match templates::builtin(name) {
            Some(builtin) => Some(builtin.output_file.to_string()),
            None if name.ends_with(".hbs") => {
                Some(templates::file_output_name(&base_dir.join(name)))
            }
            None => None,
        };
        if let Some(output_file) = output_file {
            let lower = output_file.to_lowercase();
            if lower == crate::outputs::FILE_NAME {
                problems.at(
                    at.clone(),
                    format!("`{name}` would render to `{output_file}` and overwrite the outputs file (ids and the secret); rename the template"),
                );
            } else if let Some((_, first)) = output_files.iter().find(|(f, _)| *f == lower) {
                problems.at(
                    at.clone(),
                    format!("`{name}` would render to `{output_file}`, as `{}` does; each template needs its own output file", names[*first]),
                );
            }
            output_files.push((lower, i));
        }
        if templates::builtin(name).is_some() {
            let describes = crate::helpdesk::product_of_template(name);
            match (product, describes) {
                (None, _) => problems.at(
                    at.clone(),
                    format!("the built-in template `{name}` describes a helpdesk: it needs a [helpdesk] section (product, public_url, mailbox)"),
                ),
                (Some(product), Some(describes)) if product != describes => problems.at(
                    at.clone(),
                    format!(
                        "the built-in template `{name}` is {}'s sheet, and this config's helpdesk is {}; use `{}`",
                        describes.profile().name,
                        product.profile().name,
                        product.profile().sheet
                    ),
                ),
                _ => {}
            }
            if let Some(problem) = product.and_then(|p| script_for_another_flow(name, p)) {
                problems.at(at.clone(), problem);
            }
            resolved.push(TemplateRef::Builtin(name.clone()));
        } else if name.ends_with(".hbs") {
            let file = base_dir.join(name);
            match read_bounded(&file, "template", INPUT_LIMIT) {
                Ok(text) => {
                    if let Err(p) = templates::check(&text) {
                        let at = LineColumn {
                            line: p.line,
                            column: p.column,
                        };
                        problems.in_file(&file, Some(at), String::new(), p.message);
                    }
                }
                Err(e) => problems.at(at, e.to_string()),
            }
            resolved.push(TemplateRef::File(file));
        } else {
            let builtins: Vec<&str> = templates::BUILTIN_TEMPLATES
                .iter()
                .map(|t| t.name)
                .collect();
            problems.at(
                at,
                format!(
                    "unknown template `{name}`; use a built-in one ({}) or a path ending in .hbs",
                    builtins.join(", ")
                ),
            );
        }
    }
    DesiredOutputs {
        directory,
        templates: resolved,
        secret_in_outputs: secret_in_outputs.unwrap_or(true),
    }
}

/// `[helpdesk]`, or the older `[pandora_itsm]` (Pandora ITSM's, with the same keys).
fn resolve_helpdesk(
    helpdesk: Option<HelpdeskSection>,
    pandora: Option<HelpdeskSection>,
    root: &KeyPath,
    problems: &mut Problems,
) -> Option<DesiredHelpdesk> {
    let (section, from_pandora_section) = match (helpdesk, pandora) {
        (Some(helpdesk), None) => (helpdesk, false),
        (None, Some(pandora)) => (
            HelpdeskSection {
                product: Some(Product::PandoraItsm),
                ..pandora
            },
            true,
        ),
        (Some(helpdesk), Some(_)) => {
            problems.at(
                root.key("pandora_itsm"),
                "give [helpdesk] or [pandora_itsm] (its older name, for Pandora ITSM), not both",
            );
            (helpdesk, false)
        }
        (None, None) => return None,
    };
    let path = &root.key(helpdesk_section(from_pandora_section));
    let product = section.product.unwrap_or(Product::PandoraItsm);
    let profile = product.profile();
    match Url::parse(&section.public_url) {
        // The older section derives nothing from it: only the checks it always had.
        Ok(url)
            if !from_pandora_section && (url.query().is_some() || url.fragment().is_some()) =>
        {
            problems.at(
            path.key("public_url"),
            format!(
                "`{}` has a query or fragment; give {}'s base address, which its paths are added to",
                section.public_url, profile.name
            ),
        )
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => problems.at(
            path.key("public_url"),
            format!(
                "`{}` is not an http(s) URL; give {}'s public address, like https://helpdesk.contoso.com",
                section.public_url, profile.name
            ),
        ),
    }
    mailbox(&section.mailbox, path.key("mailbox"), problems);
    if !from_pandora_section
        && section.public_url.contains(|c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | '\\' | '`')
        })
    {
        problems.at(
            path.key("public_url"),
            "a public URL has no spaces, quotes or backslashes (it is written into scripts and configuration files)",
        );
    }
    if section.incoming == Some(IncomingProtocol::Pop) && !profile.reads_pop {
        problems.at(
            path.key("incoming"),
            format!(
                "{} reads mail over IMAP only; use incoming = \"imap\"",
                profile.name
            ),
        );
    }
    for (key, port) in [
        ("imap_port", section.imap_port),
        ("pop_port", section.pop_port),
        ("smtp_port", section.smtp_port),
    ] {
        if port == Some(0) {
            problems.at(path.key(key), "0 is not a port; use 1 to 65535");
        }
    }
    for (key, host) in [
        ("imap_host", &section.imap_host),
        ("pop_host", &section.pop_host),
        ("smtp_host", &section.smtp_host),
    ] {
        if let Some(host) = host {
            if url::Host::parse(host).is_err() || host.contains(['/', ':']) {
                problems.at(path.key(key), format!("`{host}` is not a host name"));
            }
        }
    }
    for (key, value) in [("folder", &section.folder), ("queue", &section.queue)] {
        let Some(value) = value else { continue };
        if product != Product::RequestTracker {
            problems.at(
                path.key(key),
                format!(
                    "only product = \"request-tracker\" reads `{key}`; {} does not",
                    profile.name
                ),
            );
        } else if value.trim().is_empty()
            || value.len() > 255
            || value
                .chars()
                .any(|c| c.is_control() || matches!(c, '"' | '\\' | '`' | '|'))
        {
            problems.at(
                path.key(key),
                format!("`{value}` must be 1 to 255 characters without a double quote, backslash, backquote, `|` or control character"),
            );
        }
    }
    Some(DesiredHelpdesk {
        product,
        public_url: section.public_url,
        mailbox: section.mailbox,
        incoming: section.incoming.unwrap_or(IncomingProtocol::Imap),
        imap_host: section
            .imap_host
            .unwrap_or_else(|| defaults::IMAP_HOST.into()),
        imap_port: section.imap_port.unwrap_or(defaults::IMAP_PORT),
        pop_host: section
            .pop_host
            .unwrap_or_else(|| defaults::POP_HOST.into()),
        pop_port: section.pop_port.unwrap_or(defaults::POP_PORT),
        smtp_host: section
            .smtp_host
            .unwrap_or_else(|| defaults::SMTP_HOST.into()),
        smtp_port: section.smtp_port.unwrap_or(defaults::SMTP_PORT),
        folder: (product == Product::RequestTracker)
            .then(|| section.folder.unwrap_or_else(|| defaults::RT_FOLDER.into())),
        queue: (product == Product::RequestTracker)
            .then(|| section.queue.unwrap_or_else(|| defaults::RT_QUEUE.into())),
        from_pandora_section,
    })
}

/// A script built for the other way of signing in: the RBAC script would grant a delegated
/// helpdesk's app mail access of its own, and the mailbox script does nothing for an app-only one.
fn script_for_another_flow(name: &str, product: Product) -> Option<String> {
    use crate::helpdesk::{Flow, MAILBOX_SCRIPT, RBAC_SCRIPT};
    let profile = product.profile();
    let wanted = match name {
        MAILBOX_SCRIPT => Flow::Delegated,
        RBAC_SCRIPT => Flow::AppOnly,
        _ => return None,
    };
    (profile.flow != wanted).then(|| {
        format!(
            "the built-in template `{name}` is for helpdesks that sign in {}; {} signs in {}, so use `{}`",
            describe(wanted),
            profile.name,
            describe(profile.flow),
            profile.script
        )
    })
}

fn describe(flow: crate::helpdesk::Flow) -> &'static str {
    match flow {
        crate::helpdesk::Flow::Delegated => "as a user",
        crate::helpdesk::Flow::AppOnly => "as the app alone",
    }
}

/// A mailbox address the sheets and scripts can hold as it is: ASCII (no look-alike quotes),
/// none of the characters that end a quoted string or a table cell.
fn mailbox(value: &str, path: KeyPath, problems: &mut Problems) {
    if !is_user_principal_name(value) {
        problems.at(path, format!("`{value}` is not an email address"));
    } else if !value.is_ascii() || value.contains(['"', '`', '$', '\\', '|']) {
        problems.at(
            path,
            format!("`{value}` holds a character the sheets and the Exchange Online script cannot hold safely (non-ASCII, a double quote, `$`, a backquote, a backslash or `|`); use an address of the mailbox without them (an alias)"),
        );
    }
}

fn looks_like_guid(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// A GUID in its usual 8-4-4-4-12 form.
fn guid(value: &str, path: KeyPath, problems: &mut Problems, what: &str) -> Option<Uuid> {
    match Uuid::try_parse(value) {
        Ok(uuid) if value.len() == 36 => Some(uuid),
        _ => {
            problems.at(
                path,
                format!("`{value}` is not a GUID; expected {what} like 72f988bf-86f1-41af-91ab-2d7cd011db47"),
            );
            None
        }
    }
}

fn display_name(value: &str, path: KeyPath, problems: &mut Problems) {
    if value.chars().any(char::is_control) {
        // It is written into sheets and script comments, where a line break would be code.
        problems.at(
            path,
            "a display name cannot hold a line break or other control character",
        );
    } else if value.trim().is_empty() || value.chars().count() > limits::DISPLAY_NAME_MAX {
        problems.at(
            path,
            format!(
                "a display name must have 1 to {} characters",
                limits::DISPLAY_NAME_MAX
            ),
        );
    }
}

fn non_empty(value: &str, path: KeyPath, problems: &mut Problems) {
    if value.trim().is_empty() {
        problems.at(path, "cannot be empty");
    }
}

fn in_range(value: i64, min: i64, max: i64, path: KeyPath, problems: &mut Problems) -> bool {
    let ok = (min..=max).contains(&value);
    if !ok {
        problems.at(
            path,
            format!("{value} is out of range; allowed: {min} to {max}"),
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vault_secret_name_defaults_to_the_unique_name_made_a_key_vault_name() {
        assert_eq!(
            default_key_vault_secret("pandora-itsm-mail"),
            "pandora-itsm-mail-client-secret"
        );
        assert_eq!(
            default_key_vault_secret("itsm.mail_v2"),
            "itsm-mail-v2-client-secret"
        );
        let long = default_key_vault_secret(&"a".repeat(128));
        assert_eq!(long.len(), 127);
        assert!(key_vault_secret_name_ok(&long));
    }

    #[test]
    fn vault_names_and_urls_follow_key_vault_rules() {
        for name in ["contoso-itsm", "kv1", "a-b-c"] {
            assert!(key_vault_name_ok(name), "{name}");
        }
        for name in ["kv", "1kv", "kv-", "k--v", "k_v", &"k".repeat(25)] {
            assert!(!key_vault_name_ok(name), "{name}");
        }
        for url in [
            "https://contoso-itsm.vault.azure.net",
            "https://contoso-itsm.vault.azure.net/",
            "https://contoso-itsm.vault.usgovcloudapi.net",
            "https://contoso-itsm.vault.azure.cn",
            "https://127.0.0.1:4443/keyvault/contoso-itsm",
        ] {
            assert!(vault_address(url).is_ok(), "{url}");
        }
        for url in [
            "http://contoso-itsm.vault.azure.net",
            "https://contoso-itsm.vault.azure.net/secrets",
            "https://contoso-itsm.vault.azure.net:8443",
            "https://vault.azure.net",
            "https://contoso-itsm.vault.azure.net.evil.example",
            "https://contoso-itsm.vault.azure.net?x=1",
            "http://127.0.0.1:4443/keyvault/contoso-itsm",
        ] {
            assert!(vault_address(url).is_err(), "{url}");
        }
    }
}
