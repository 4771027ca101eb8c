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
