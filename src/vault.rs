//! Delivering the client secret to Azure Key Vault (`secret.key_vault`), through Microsoft's
//! own client, azure_security_keyvault_secrets, on the credential and HTTP stack that Graph
//! calls use. The vault's current version says which secret of ours it holds: its `keyId`
//! tag, never its value, decides.

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::{ExponentialRetryOptions, RetryOptions};
use azure_security_keyvault_secrets::models::{SecretAttributes, SetSecretParameters};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::cloud::{is_loopback, Cloud};
use crate::config::{DesiredKeyVault, VaultAddress};
use crate::outputs::HeldSecret;
use crate::secret::SecretString;

/// The Key Vault REST API version asked for (generally available in every cloud).
const API_VERSION: &str = "7.6";
/// The secret's content type: the value is the client secret's text.
const CONTENT_TYPE: &str = "text/plain";

/// The tags each delivered version carries: where the secret belongs, never its value.
pub mod tag {
    pub const TENANT_ID: &str = "tenant-id";
    pub const CLIENT_ID: &str = "client-id";
    pub const KEY_ID: &str = "key-id";
}

/// What the vault's role or access policy must allow, said in every refusal.
pub const NEEDS: &str = "the \"Key Vault Secrets Officer\" role on the vault, or an access policy with Get and Set on secrets";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("Key Vault {vault} refused to {action} secret `{name}` (403 Forbidden{detail}): give the identity entra-mail signs in as {NEEDS}")]
    Forbidden {
        vault: String,
        name: String,
        action: &'static str,
        /// The vault's inner code (`ForbiddenByRbac`, `AccessDenied`), when it gave one.
        detail: String,
    },
    #[error("Key Vault {vault} refused this machine's network address (403 ForbiddenByFirewall): add the runner's address to the vault's firewall (Networking), or run where the vault's network rules allow")]
    Firewall { vault: String },
    #[error("a loopback vault ({vault}) serves only the simulated tenant, and this run signs in to {authority}: name the real vault (a token for it would go to whatever listens on this machine)")]
    LoopbackForRealTenant { vault: String, authority: String },
    #[error("Key Vault {vault} holds a soft-deleted secret named `{name}`, so the name cannot be written (409 Conflict): recover it (az keyvault secret recover --id {vault}/secrets/{name}), purge it, or set secret.key_vault_secret to another name")]
    SoftDeleted { vault: String, name: String },
    #[error("Key Vault {vault} answered {status} {code} for secret `{name}`: {message}")]
    Http {
        vault: String,
        name: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach Key Vault {vault}: {message}")]
    Unreachable { vault: String, message: String },
    #[error("secret.key_vault `{vault}` is a vault of the {found:?} cloud, but this run signs in to the {cloud:?} cloud (--cloud): use that cloud's vault domain, {domain}, or a bare vault name")]
    WrongCloud {
        vault: String,
        found: Cloud,
        cloud: Cloud,
        domain: &'static str,
    },
    #[error("cannot make a Key Vault client for {vault}: {message}")]
    Setup { vault: String, message: String },
}

impl VaultError {
    /// Whether the vault answered that it did not take the write: a 4xx other than a
    /// timeout or throttling. Anything else (no answer, 5xx) may have committed.
    pub fn refused_for_sure(&self) -> bool {
        match self {
            VaultError::Forbidden { .. }
            | VaultError::Firewall { .. }
            | VaultError::SoftDeleted { .. }
            | VaultError::WrongCloud { .. }
            | VaultError::LoopbackForRealTenant { .. }
            | VaultError::Setup { .. } => true,
            VaultError::Http { status, .. } => {
                (400..500).contains(status) && ![408, 429].contains(status)
            }
            VaultError::Unreachable { .. } => false,
        }
    }
}

/// The vault's current version of our secret, as far as deciding goes.
#[derive(Clone)]
pub struct VaultCopy {
    /// The version id (the last segment of the secret's id).
    pub version: String,
    /// The `keyId` of the client secret it holds (its `key-id` tag).
    pub key_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub expires: Option<OffsetDateTime>,
    pub value: SecretString,
}

impl std::fmt::Debug for VaultCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultCopy")
            .field("version", &self.version)
            .field("key_id", &self.key_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What the vault holds under our secret's name.
#[derive(Debug, Clone)]
pub enum VaultState {
    /// No current version (404 `SecretNotFound`).
    Missing,
    /// The name is soft-deleted: it can be neither read nor written until recovered or purged.
    SoftDeleted,
    /// The current version is disabled (403 `SecretDisabled`): no one can read it.
    Disabled,
    Present(VaultCopy),
}

impl VaultState {
    pub fn key_id(&self) -> Option<Uuid> {
        match self {
            VaultState::Present(copy) => copy.key_id,
            _ => None,
        }
    }
}

/// Where a configured vault is for a run: its URL and secret name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultTarget {
    pub url: Url,
    pub secret_name: String,
}

impl VaultTarget {
    /// The vault URL for `cloud`; `sim` (the simulator's root) stands in for every
    /// non-loopback vault, keeping its name.
    pub fn resolve(
        desired: &DesiredKeyVault,
        cloud: Cloud,
        sim: Option<&str>,
        authority_host: &Url,
    ) -> Result<Self, VaultError> {
        // Key Vault's challenge check is off for a loopback vault, so one is allowed only
        // when the tokens come from a loopback (simulated) authority too.
        if let VaultAddress::Url(url) = &desired.vault {
            if is_loopback(url) && !is_loopback(authority_host) {
                return Err(VaultError::LoopbackForRealTenant {
                    vault: desired.vault.to_string(),
                    authority: authority_host.as_str().trim_end_matches('/').to_string(),
                });
            }
        }
        // A cloud's vault is checked against --cloud also when the simulator stands in.
        if let VaultAddress::Url(url) = &desired.vault {
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            let found = Cloud::ALL
                .into_iter()
                .find(|c| host.ends_with(&format!(".{}", c.key_vault_domain())));
            if let Some(found) = found.filter(|found| *found != cloud) {
                return Err(VaultError::WrongCloud {
                    vault: desired.vault.to_string(),
                    found,
                    cloud,
                    domain: cloud.key_vault_domain(),
                });
            }
        }
        let url = match (&desired.vault, sim) {
            (VaultAddress::Url(url), _) if is_loopback(url) => url.clone(),
            (address, Some(root)) => {
                let name = vault_name(address).unwrap_or_default();
                parse_url(&format!("{}/keyvault/{name}", root.trim_end_matches('/')))?
            }
            (VaultAddress::Name(name), None) => {
                parse_url(&format!("https://{name}.{}", cloud.key_vault_domain()))?
            }
            (VaultAddress::Url(url), None) => url.clone(),
        };
        Ok(Self {
            url,
            secret_name: desired.secret_name.clone(),
        })
    }

    /// How the vault is named in messages: its URL without a trailing slash.
    pub fn display(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_string()
    }
}

/// The vault's own name: a bare name, or the first label of a cloud vault's host. `None`
/// for a loopback vault URL, whose name is wherever its server put it.
pub fn vault_name(address: &VaultAddress) -> Option<String> {
    match address {
        VaultAddress::Name(name) => Some(name.clone()),
        VaultAddress::Url(url) if is_loopback(url) => None,
        VaultAddress::Url(url) => url
            .host_str()
            .and_then(|h| h.split('.').next())
            .map(str::to_ascii_lowercase),
    }
}

fn parse_url(text: &str) -> Result<Url, VaultError> {
    Url::parse(text).map_err(|e| VaultError::Setup {
        vault: text.to_string(),
        message: e.to_string(),
    })
}

/// A signed-in client for one secret in one vault.
pub struct Vault {
    client: SecretClient,
    target: VaultTarget,
}

impl Vault {
    /// A client on `credential` and `http`. The challenge's resource must match the vault's
    /// domain (Key Vault's guard against a token sent to the wrong host), except for a
    /// loopback vault such as the simulator's.
    pub fn new(
        target: VaultTarget,
        credential: Arc<dyn TokenCredential>,
        http: &reqwest::Client,
        authority_host: &Url,
        budget: std::time::Duration,
    ) -> Result<Self, VaultError> {
        let mut client_options = crate::auth::credential_options(http, authority_host);
        // Key Vault throttles per vault (429 with Retry-After) and many tenants' runs may
        // share one: wait longer than a sign-in would before giving up, within the budget.
        let budget = time::Duration::try_from(budget).unwrap_or(time::Duration::MAX);
        client_options.retry = RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: time::Duration::milliseconds(500),
            max_retries: 6,
            max_total_elapsed: time::Duration::seconds(60).min(budget),
            max_delay: time::Duration::seconds(8),
        });
        let options = SecretClientOptions {
            api_version: API_VERSION.to_string(),
            client_options,
            verify_challenge_resource: Some(!is_loopback(&target.url)),
        };
        let client =
            SecretClient::new(target.url.as_str(), credential, Some(options)).map_err(|e| {
                VaultError::Setup {
                    vault: target.display(),
                    message: e.to_string(),
                }
            })?;
        Ok(Self { client, target })
    }

    pub fn target(&self) -> &VaultTarget {
        &self.target
    }

    /// The current version of our secret, or why there is none.
    pub async fn read(&self) -> Result<VaultState, VaultError> {
        let name = &self.target.secret_name;
        let error = match self.client.get_secret(name, None).await {
            Ok(response) => {
                let secret = response.into_model().map_err(|e| self.failure("get", &e))?;
                return Ok(VaultState::Present(copy_of(secret)));
            }
            Err(error) => error,
        };
        if inner_code(&error).as_deref() == Some("SecretDisabled") {
            return Ok(VaultState::Disabled);
        }
        if status_of(&error) != Some(404) || error_code(&error).as_deref() != Some("SecretNotFound")
        {
            return Err(self.failure("get", &error));
        }
        // A soft-deleted name reads as not found too; only the deleted-secrets view tells.
        // Reading it needs a permission the role may lack: then the write will tell.
        match self.client.get_deleted_secret(name, None).await {
            Ok(_) => Ok(VaultState::SoftDeleted),
            Err(_) => Ok(VaultState::Missing),
        }
    }

    /// Writes `secret` as the vault's new current version, tagged with where it belongs.
    pub async fn deliver(
        &self,
        secret: &HeldSecret,
        tenant_id: &Uuid,
        client_id: &str,
    ) -> Result<String, VaultError> {
        let tags = HashMap::from([
            (tag::TENANT_ID.to_string(), tenant_id.to_string()),
            (tag::CLIENT_ID.to_string(), client_id.to_string()),
            (tag::KEY_ID.to_string(), secret.key_id.to_string()),
        ]);
        let parameters = SetSecretParameters {
            value: Some(secret.value.expose().to_string()),
            content_type: Some(CONTENT_TYPE.to_string()),
            secret_attributes: Some(SecretAttributes {
                enabled: Some(true),
                expires: Some(secret.expires),
                ..SecretAttributes::default()
            }),
            tags: Some(tags),
        };
        let content = parameters
            .try_into()
            .map_err(|e: azure_core::Error| self.failure("set", &e))?;
        let response = self
            .client
            .set_secret(&self.target.secret_name, content, None)
            .await
            .map_err(|e| self.failure("set", &e))?;
        let secret = response.into_model().map_err(|e| self.failure("set", &e))?;
        Ok(copy_of(secret).version)
    }

    /// One line for a failed `action`, naming the fix where there is one.
    fn failure(&self, action: &'static str, error: &azure_core::Error) -> VaultError {
        let vault = self.target.display();
        let name = self.target.secret_name.clone();
        let body = error_body(error);
        let code = body
            .as_ref()
            .and_then(|b| b.pointer("/error/code"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let inner = body
            .as_ref()
            .and_then(|b| b.pointer("/error/innererror/code"))
            .and_then(Value::as_str)
            .map(String::from);
        match status_of(error) {
            Some(403) if inner.as_deref() == Some("ForbiddenByFirewall") => {
                VaultError::Firewall { vault }
            }
            Some(403) if inner.as_deref() != Some("SecretDisabled") => VaultError::Forbidden {
                vault,
                name,
                action,
                detail: inner.map(|c| format!(", {c}")).unwrap_or_default(),
            },
            Some(409) if inner.as_deref() == Some("ObjectIsDeletedButRecoverable") => {
                VaultError::SoftDeleted { vault, name }
            }
            Some(status) => VaultError::Http {
                vault,
                name,
                status,
                code: inner.unwrap_or(code),
                message: body
                    .as_ref()
                    .and_then(|b| b.pointer("/error/message"))
                    .and_then(Value::as_str)
                    .map(first_line)
                    .unwrap_or_default(),
            },
            None => VaultError::Unreachable {
                vault,
                message: first_line(&error.to_string()),
            },
        }
    }
}

fn status_of(error: &azure_core::Error) -> Option<u16> {
    error.http_status().map(u16::from)
}

fn error_code(error: &azure_core::Error) -> Option<String> {
    error_body(error)?
        .pointer("/error/code")?
        .as_str()
        .map(String::from)
}

fn inner_code(error: &azure_core::Error) -> Option<String> {
    error_body(error)?
        .pointer("/error/innererror/code")?
        .as_str()
        .map(String::from)
}

fn error_body(error: &azure_core::Error) -> Option<Value> {
    match error.kind() {
        ErrorKind::HttpResponse {
            raw_response: Some(raw),
            ..
        } => raw.body().json::<Value>().ok(),
        _ => None,
    }
}

/// Key Vault's messages run over several lines (caller, action, resource): the first says it.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

fn copy_of(secret: azure_security_keyvault_secrets::models::Secret) -> VaultCopy {
    let tags = secret.tags.unwrap_or_default();
    VaultCopy {
        version: secret
            .id
            .as_deref()
            .and_then(|id| id.trim_end_matches('/').rsplit('/').next())
            .unwrap_or_default()
            .to_string(),
        key_id: tags.get(tag::KEY_ID).and_then(|k| Uuid::parse_str(k).ok()),
        client_id: tags.get(tag::CLIENT_ID).cloned(),
        expires: secret.attributes.and_then(|a| a.expires),
        value: SecretString::new(secret.value.unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(vault: &str) -> DesiredKeyVault {
        DesiredKeyVault {
            vault: if vault.contains("://") {
                VaultAddress::Url(Url::parse(vault).unwrap())
            } else {
                VaultAddress::Name(vault.into())
            },
            secret_name: "pandora-itsm-mail-client-secret".into(),
        }
    }

    fn url(vault: &str, cloud: Cloud, sim: Option<&str>) -> Result<String, VaultError> {
        let authority = Url::parse(sim.unwrap_or(cloud.authority_host())).unwrap();
        VaultTarget::resolve(&desired(vault), cloud, sim, &authority).map(|t| t.url.to_string())
    }

    #[test]
    fn a_vault_name_follows_the_cloud() {
        assert_eq!(
            url("contoso-itsm", Cloud::Public, None).unwrap(),
            "https://contoso-itsm.vault.azure.net/"
        );
        assert_eq!(
            url("contoso-itsm", Cloud::Usgov, None).unwrap(),
            "https://contoso-itsm.vault.usgovcloudapi.net/"
        );
        assert_eq!(
            url("contoso-itsm", Cloud::China, None).unwrap(),
            "https://contoso-itsm.vault.azure.cn/"
        );
    }

    #[test]
    fn a_vault_url_of_another_cloud_is_refused() {
        let error = url("https://contoso-itsm.vault.azure.net", Cloud::China, None).unwrap_err();
        assert!(matches!(
            error,
            VaultError::WrongCloud {
                found: Cloud::Public,
                cloud: Cloud::China,
                ..
            }
        ));
        assert!(url("https://contoso-itsm.vault.azure.cn", Cloud::China, None).is_ok());
        let sim = Some("https://127.0.0.1:4000");
        assert!(url("https://contoso-itsm.vault.azure.net", Cloud::Usgov, sim).is_err());
    }

    #[test]
    fn the_simulator_stands_in_for_a_cloud_vault_but_not_a_loopback_one() {
        let sim = Some("https://127.0.0.1:4000");
        assert_eq!(
            url("https://contoso-itsm.vault.azure.net", Cloud::Public, sim).unwrap(),
            "https://127.0.0.1:4000/keyvault/contoso-itsm"
        );
        assert_eq!(
            url("contoso-itsm", Cloud::Public, sim).unwrap(),
            "https://127.0.0.1:4000/keyvault/contoso-itsm"
        );
        assert_eq!(
            url("https://127.0.0.1:5000/keyvault/other", Cloud::Public, sim).unwrap(),
            "https://127.0.0.1:5000/keyvault/other"
        );
    }

    #[test]
    fn a_loopback_vault_is_refused_when_signing_in_to_a_real_cloud() {
        let error = url("https://127.0.0.1:5000/keyvault/other", Cloud::Public, None).unwrap_err();
        assert!(matches!(error, VaultError::LoopbackForRealTenant { .. }));
    }
}
