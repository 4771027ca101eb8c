//! Credentials. Every kind yields an azure_core `TokenCredential`, so the Graph client
//! has one way to get tokens whatever the sign-in, and every kind uses the shared HTTP client
//! (so the cloud, the authority host and extra trusted roots apply to all).

pub mod certificate;
pub mod device_code;
pub mod github;
pub mod token_file;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use time::OffsetDateTime;
use url::Url;

use crate::secret::SecretString;

/// A token someone already holds (a pipeline's `ENTRA_MAIL_ACCESS_TOKEN`, or a test's).
/// It is handed out as is; Graph refuses it once it has expired.
pub struct StaticToken {
    token: Secret,
    expires_on: OffsetDateTime,
    requests: AtomicUsize,
}

impl StaticToken {
    pub fn new(token: impl Into<String>, expires_on: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self {
            token: Secret::new(token.into()),
            expires_on,
            requests: AtomicUsize::new(0),
        })
    }

    /// How many times a token was asked for (tests check caching with it).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticToken")
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken::new(self.token.clone(), self.expires_on))
    }
}

/// A credential whose every token request ends within `limit` (`--timeout`): azure_identity
/// retries a token endpoint that does not answer, each try as long as the HTTP client
/// allows, so its own bounds add up to several times the budget.
pub struct TimeBoxed {
    inner: Arc<dyn TokenCredential>,
    limit: std::time::Duration,
    /// The request, for the error: `POST https://login.../oauth2/v2.0/token`.
    request: String,
}

impl TimeBoxed {
    pub fn new(
        inner: Arc<dyn TokenCredential>,
        limit: std::time::Duration,
        request: impl Into<String>,
    ) -> Arc<Self> {
        Arc::new(Self {
            inner,
            limit,
            request: request.into(),
        })
    }

    /// What a token request of `method` is, for a timeout message.
    pub fn describe(method: AuthMethod, authority_host: &Url, tenant_id: &str) -> String {
        match method {
            AuthMethod::AzureCli => "`az account get-access-token`".into(),
            AuthMethod::ManagedIdentity => "the managed identity endpoint".into(),
            _ => format!(
                "POST {}/{tenant_id}/oauth2/v2.0/token",
                authority_host.as_str().trim_end_matches('/')
            ),
        }
    }
}

impl std::fmt::Debug for TimeBoxed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeBoxed")
            .field("limit", &self.limit)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for TimeBoxed {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        match tokio::time::timeout(self.limit, self.inner.get_token(scopes, options)).await {
            Ok(result) => result,
            Err(_) => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!(
                    "{} timed out: no answer within {:.1}s (the time budget; raise it with --timeout)",
                    self.request,
                    self.limit.as_secs_f64()
                ),
            )),
        }
    }
}

/// Why a credential could not be set up (before any token is asked for).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot set up {credential}: {message}")]
    Setup {
        credential: &'static str,
        message: String,
    },
    #[error("--auth {}: {variable} is not set", serde_json::to_value(method).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())]
    Missing {
        method: AuthMethod,
        variable: &'static str,
    },
    #[error("no credentials found: set AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE; or run in GitHub Actions (id-token: write) or Azure Pipelines; or set ENTRA_MAIL_ACCESS_TOKEN; or sign in with `az login`; or pass --auth device-code; or try the simulated tenant with --sim")]
    NothingToSignInWith,
}

/// The shared HTTP client as azure_core's transport, except that a certificate the TLS
/// layer refused comes back as a non-transport error: azure_core's retry policy retries
/// every `Io`/`Connection` error, and an untrusted certificate will not heal by waiting.
/// The original error stays the source, so callers still find the rustls error by type.
#[derive(Debug)]
struct NoRetryOnUntrustedCertificate(reqwest::Client);

#[async_trait::async_trait]
impl azure_core::http::HttpClient for NoRetryOnUntrustedCertificate {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        self.0.execute_request(request).await.map_err(|error| {
            if crate::graph::is_certificate_error(&error) {
                azure_core::Error::with_error(
                    azure_core::error::ErrorKind::Other,
                    error,
                    "the server's TLS certificate is not trusted",
                )
            } else {
                error
            }
        })
    }
}

/// Options every azure_identity credential gets: the shared HTTP client (so token requests
/// trust the same roots as Graph calls), the authority host, and retries that give up within
/// seconds; an untrusted certificate is not retried at all.
pub fn credential_options(http: &reqwest::Client, authority_host: &Url) -> ClientOptions {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = authority_host.as_str().trim_end_matches('/').to_string();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(NoRetryOnUntrustedCertificate(
            http.clone(),
        )))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: time::Duration::milliseconds(500),
            max_retries: 2,
            max_total_elapsed: time::Duration::seconds(10),
            max_delay: time::Duration::seconds(2),
        }),
        ..ClientOptions::default()
    }
}

/// A client-secret credential (`AZURE_CLIENT_SECRET`) on the shared HTTP stack.
pub fn client_secret(
    tenant_id: &str,
    client_id: &str,
    secret: &SecretString,
    http: &reqwest::Client,
    authority_host: &Url,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: credential_options(http, authority_host),
    };
    let credential = azure_identity::ClientSecretCredential::new(
        tenant_id,
        client_id.to_string(),
        Secret::new(secret.expose().to_string()),
        Some(options),
    )
    .map_err(|e| AuthError::Setup {
        credential: "the client secret credential",
        message: e.to_string(),
    })?;
    Ok(credential)
}

/// How to sign in (`--auth`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// The first that applies: environment credentials, GitHub OIDC, Azure Pipelines, an
    /// access token, managed identity, Azure CLI.
    Auto,
    ClientSecret,
    Certificate,
    WorkloadIdentity,
    GithubOidc,
    AzurePipelines,
    ManagedIdentity,
    AzureCli,
    DeviceCode,
    AccessToken,
}

/// What sign-in needs besides the environment.
pub struct AuthSettings<'a> {
    pub method: AuthMethod,
    pub tenant_id: &'a str,
    pub authority_host: &'a Url,
    /// Graph's root, for delegated scopes (`{graph}/Application.ReadWrite.All`).
    pub graph_url: &'a Url,
    /// Delegated permissions the config needs (device code asks for exactly these).
    pub delegated_scopes: Vec<String>,
    /// The public client of device code sign-in.
    pub device_code_client_id: String,
    pub http: &'a reqwest::Client,
    pub prompt: device_code::Prompt,
    pub timeout: std::time::Duration,
}

/// A credential, and why it was chosen (shown with `-v`).
pub struct Chosen {
    pub credential: Arc<dyn TokenCredential>,
    pub method: AuthMethod,
    pub reason: String,
}

impl std::fmt::Debug for Chosen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chosen")
            .field("method", &self.method)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

fn setup(credential: &'static str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Setup {
        credential,
        message: e.to_string(),
    }
}

/// The method `auto` picks from the environment, and why.
pub fn auto_method(
    env: &dyn Fn(&str) -> Option<String>,
    az_on_path: bool,
) -> Option<(AuthMethod, String)> {
    let has = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    let with_client = has("AZURE_CLIENT_ID");
    let choices = [
        (
            with_client && has("AZURE_CLIENT_SECRET"),
            AuthMethod::ClientSecret,
            "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are set",
        ),
        (
            with_client && has("AZURE_CLIENT_CERTIFICATE_PATH"),
            AuthMethod::Certificate,
            "AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH are set",
        ),
        (
            with_client && has("AZURE_FEDERATED_TOKEN_FILE"),
            AuthMethod::WorkloadIdentity,
            "AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE are set",
        ),
        (
            with_client
                && has("ACTIONS_ID_TOKEN_REQUEST_URL")
                && has("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            AuthMethod::GithubOidc,
            "running in GitHub Actions with id-token permission and AZURE_CLIENT_ID set",
        ),
        (
            has("SYSTEM_OIDCREQUESTURI")
                && has("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
                && has("AZURESUBSCRIPTION_CLIENT_ID"),
            AuthMethod::AzurePipelines,
            "running in Azure Pipelines with a workload identity service connection",
        ),
        (
            has("ENTRA_MAIL_ACCESS_TOKEN"),
            AuthMethod::AccessToken,
            "ENTRA_MAIL_ACCESS_TOKEN is set",
        ),
        (
            has("IDENTITY_ENDPOINT") || has("MSI_ENDPOINT"),
            AuthMethod::ManagedIdentity,
            "a managed identity endpoint is set (IDENTITY_ENDPOINT)",
        ),
        (
            az_on_path,
            AuthMethod::AzureCli,
            "the Azure CLI (az) is on PATH",
        ),
    ];
    choices
        .into_iter()
        .find(|(applies, _, _)| *applies)
        .map(|(_, method, why)| (method, why.to_string()))
}

fn az_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join("az").is_file()))
}

/// Builds the credential `settings.method` names (or `auto` picks), reading variables through
/// `env`: the CLI passes the process environment under the config's `auth.env_prefix`,
/// tests a map.
pub fn choose_with(
    settings: &AuthSettings<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Chosen, AuthError> {
    let (method, reason) = match settings.method {
        AuthMethod::Auto => auto_method(env, az_on_path()).ok_or(AuthError::NothingToSignInWith)?,
        explicit => (explicit, "--auth".to_string()),
    };
    let options = credential_options(settings.http, settings.authority_host);
    let required = |name: &'static str| {
        env(name)
            .filter(|v| !v.is_empty())
            .ok_or(AuthError::Missing {
                method,
                variable: name,
            })
    };
    let tenant = settings.tenant_id.to_string();
    let credential: Arc<dyn TokenCredential> = match method {
        // `auto` was resolved to a concrete method above.
        AuthMethod::Auto => return Err(AuthError::NothingToSignInWith),
        AuthMethod::ClientSecret => client_secret(
            &tenant,
            &required("AZURE_CLIENT_ID")?,
            &SecretString::new(required("AZURE_CLIENT_SECRET")?),
            settings.http,
            settings.authority_host,
        )?,
        AuthMethod::Certificate => {
            let client_id = required("AZURE_CLIENT_ID")?;
            let path = std::path::PathBuf::from(required("AZURE_CLIENT_CERTIFICATE_PATH")?);
            let token_endpoint = format!(
                "{}/{tenant}/oauth2/v2.0/token",
                settings.authority_host.as_str().trim_end_matches('/')
            );
            let assertion = certificate::CertificateAssertion::from_pem_file(
                &path,
                &client_id,
                &token_endpoint,
            )
            .map_err(|e| setup("the certificate credential", e))?;
            azure_identity::ClientAssertionCredential::new(
                tenant.clone(),
                client_id,
                assertion,
                Some(azure_identity::ClientAssertionCredentialOptions {
                    client_options: options,
                }),
            )
            .map_err(|e| setup("the certificate credential", e))?
        }
        // azure_identity's WorkloadIdentityCredential is this with an unbounded file read.
        AuthMethod::WorkloadIdentity => azure_identity::ClientAssertionCredential::new(
            tenant.clone(),
            required("AZURE_CLIENT_ID")?,
            token_file::FederatedTokenFile::new(required("AZURE_FEDERATED_TOKEN_FILE")?.into())
                .map_err(|e| setup("the workload identity credential", e))?,
            Some(azure_identity::ClientAssertionCredentialOptions {
                client_options: options,
            }),
        )
        .map_err(|e| setup("the workload identity credential", e))?,
        AuthMethod::GithubOidc => azure_identity::ClientAssertionCredential::new(
            tenant.clone(),
            required("AZURE_CLIENT_ID")?,
            github::GitHubOidcAssertion::new(
                required("ACTIONS_ID_TOKEN_REQUEST_URL")?,
                SecretString::new(required("ACTIONS_ID_TOKEN_REQUEST_TOKEN")?),
                settings.http.clone(),
            ),
            Some(azure_identity::ClientAssertionCredentialOptions {
                client_options: options,
            }),
        )
        .map_err(|e| setup("the GitHub OIDC credential", e))?,
        AuthMethod::AzurePipelines => azure_identity::AzurePipelinesCredential::new(
            tenant.clone(),
            required("AZURESUBSCRIPTION_CLIENT_ID")?,
            &required("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")?,
            Secret::new(required("SYSTEM_ACCESSTOKEN")?),
            Some(azure_identity::AzurePipelinesCredentialOptions {
                credential_options: azure_identity::ClientAssertionCredentialOptions {
                    client_options: options,
                },
            }),
        )
        .map_err(|e| setup("the Azure Pipelines credential", e))?,
        AuthMethod::ManagedIdentity => azure_identity::ManagedIdentityCredential::new(Some(
            azure_identity::ManagedIdentityCredentialOptions {
                user_assigned_id: env("AZURE_CLIENT_ID")
                    .filter(|v| !v.is_empty())
                    .map(azure_identity::UserAssignedId::ClientId),
                client_options: options,
            },
        ))
        .map_err(|e| setup("the managed identity credential", e))?,
        AuthMethod::AzureCli => azure_identity::AzureCliCredential::new(Some(
            azure_identity::AzureCliCredentialOptions {
                tenant_id: Some(tenant.clone()),
                ..Default::default()
            },
        ))
        .map_err(|e| setup("the Azure CLI credential", e))?,
        AuthMethod::DeviceCode => {
            let graph = settings.graph_url.as_str().trim_end_matches('/');
            let scopes = settings
                .delegated_scopes
                .iter()
                .map(|s| format!("{graph}/{s}"))
                .collect();
            device_code::DeviceCodeCredential::new(
                &tenant,
                &settings.device_code_client_id,
                settings.authority_host,
                scopes,
                settings.http.clone(),
                settings.prompt.clone(),
                settings.timeout,
            )
        }
        AuthMethod::AccessToken => {
            let token = required("ENTRA_MAIL_ACCESS_TOKEN")?;
            let expires = crate::graph::decode_claims(&token)
                .and_then(|c| crate::graph::Claims::new(&c).expires())
                .unwrap_or_else(|| OffsetDateTime::now_utc() + time::Duration::hours(1));
            StaticToken::new(token, expires)
        }
    };
    Ok(Chosen {
        credential,
        method,
        reason,
    })
}
