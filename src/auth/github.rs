//! GitHub Actions OIDC: the workflow's ID token, fetched from the runner, as the client
//! assertion of a workload identity federation (no stored secret).

use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;

use crate::secret::SecretString;

/// The audience Entra's federated credentials expect.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";

pub struct GitHubOidcAssertion {
    request_url: String,
    request_token: SecretString,
    http: reqwest::Client,
}

impl std::fmt::Debug for GitHubOidcAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubOidcAssertion")
            .field("request_url", &self.request_url)
            .finish_non_exhaustive()
    }
}

impl GitHubOidcAssertion {
    /// From `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn new(request_url: String, request_token: SecretString, http: reqwest::Client) -> Self {
        Self {
            request_url,
            request_token,
            http,
        }
    }

    pub async fn fetch(&self) -> Result<String, String> {
        let separator = if self.request_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{separator}audience={AUDIENCE}", self.request_url);
        let response = self
            .http
            .get(&url)
            .bearer_auth(self.request_token.expose())
            .send()
            .await
            .map_err(|e| format!("cannot reach GitHub's OIDC endpoint: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GitHub's OIDC endpoint answered {status}; does the workflow have `permissions: id-token: write`?"));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("GitHub's OIDC answer is not JSON: {e}"))?;
        body.get("value")
            .and_then(serde_json::Value::as_str)
            .map(String::from)
            .ok_or_else(|| "GitHub's OIDC answer has no `value`".to_string())
    }
}

#[async_trait::async_trait]
impl ClientAssertion for GitHubOidcAssertion {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.fetch().await.map_err(|message| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        })
    }
}
