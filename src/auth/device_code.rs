//! Device code sign-in for an admin at a terminal (RFC 8628, through the `oauth2` crate): a
//! public client asks for exactly the delegated scopes the config needs; the admin opens the
//! URL, types the code, and signs in with MFA in their own browser.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use time::OffsetDateTime;
use url::Url;

/// Where the user code goes (the terminal, or a test).
pub type Prompt = Arc<dyn Fn(&str) + Send + Sync>;

pub struct DeviceCodeCredential {
    tenant_id: String,
    client_id: String,
    authority_host: Url,
    scopes: Vec<String>,
    http: reqwest::Client,
    prompt: Prompt,
    timeout: Duration,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for DeviceCodeCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodeCredential")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

impl DeviceCodeCredential {
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        authority_host: &Url,
        scopes: Vec<String>,
        http: reqwest::Client,
        prompt: Prompt,
        timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            tenant_id: tenant_id.to_string(),
            client_id: client_id.to_string(),
            authority_host: authority_host.clone(),
            scopes,
            http,
            prompt,
            timeout,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    fn endpoint(&self, leaf: &str) -> String {
        format!(
            "{}/{}/oauth2/v2.0/{leaf}",
            self.authority_host.as_str().trim_end_matches('/'),
            self.tenant_id
        )
    }

    /// Sends oauth2's requests through the shared HTTP client (its roots, its TLS).
    async fn send(
        http: reqwest::Client,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let response = http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpError(crate::graph::error_chain(&e)))?;
        let mut builder = oauth2::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| HttpError(e.to_string()))?;
        builder
            .body(bytes.to_vec())
            .map_err(|e| HttpError(e.to_string()))
    }

    async fn sign_in(&self) -> Result<AccessToken, String> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_type(oauth2::AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(self.endpoint("token")).map_err(|e| e.to_string())?)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(self.endpoint("devicecode"))
                    .map_err(|e| e.to_string())?,
            );
        let http = self.http.clone();
        let call = move |request: oauth2::HttpRequest| Self::send(http.clone(), request);
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .request_async(&call)
            .await
            .map_err(|e| format!("cannot start device code sign-in: {}", describe(&e)))?;
        (self.prompt)(&format!(
            "To sign in, open {} and enter the code {} (it expires in {} minutes).",
            details.verification_uri().as_str(),
            details.user_code().secret(),
            details.expires_in().as_secs() / 60
        ));
        let token = client
            .exchange_device_access_token(&details)
            .request_async(&call, tokio::time::sleep, Some(self.timeout))
            .await
            .map_err(|e| format!("device code sign-in did not complete: {}", describe(&e)))?;
        let lifetime = token.expires_in().unwrap_or(Duration::from_secs(3600));
        Ok(AccessToken::new(
            Secret::new(token.access_token().secret().clone()),
            OffsetDateTime::now_utc() + lifetime,
        ))
    }
}

/// The server's own words (`expired_token`, `authorization_declined`, AADSTS...) when it gave any.
fn describe<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    error: &oauth2::RequestTokenError<RE, T>,
) -> String {
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => {
            serde_json::to_value(response).ok().map_or_else(
                || response.to_string(),
                |v| {
                    let code = v
                        .get("error")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let text = v
                        .get("error_description")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default();
                    if text.is_empty() {
                        code
                    } else {
                        format!("{code}: {text}")
                    }
                },
            )
        }
        other => crate::graph::error_chain(other),
    }
}

#[async_trait::async_trait]
impl TokenCredential for DeviceCodeCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.expires_on > OffsetDateTime::now_utc() + time::Duration::minutes(5) {
                return Ok(token.clone());
            }
        }
        let token = self.sign_in().await.map_err(|message| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        })?;
        *cached = Some(token.clone());
        Ok(token)
    }
}
