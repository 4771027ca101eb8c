//! Credentials. Every kind yields an azure_core `TokenCredential`, so the Graph client
//! has one way to get tokens whatever the sign-in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use time::OffsetDateTime;

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

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use url::Url;

use crate::secret::SecretString;

/// Why a credential could not be set up (before any token is asked for).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot set up {credential}: {message}")]
    Setup {
        credential: &'static str,
        message: String,
    },
}

/// Options every azure_identity credential gets: the shared HTTP client (so token requests
/// trust the same roots as Graph calls), the authority host, and retries that give up within
/// seconds, since an untrusted certificate or a refused connection will not heal by waiting.
pub fn credential_options(http: &reqwest::Client, authority_host: &Url) -> ClientOptions {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = authority_host.as_str().trim_end_matches('/').to_string();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http.clone()))),
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
