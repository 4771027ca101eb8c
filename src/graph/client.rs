//! The Graph HTTP client: bearer tokens, one request path, retries inside a time budget,
//! paging, typed errors, and a tracing span per request.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use azure_core::credentials::{AccessToken, TokenCredential};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tracing::Instrument;
use url::Url;
use uuid::Uuid;

use super::claims::decode_claims;
use super::error::{error_chain, ApiError, GraphError};
use super::models::Page;
use super::odata;
use super::redact;
use super::retry::{is_retryable_status, parse_retry_after, RetryPolicy};
use crate::cloud::Endpoints;

/// A cached token is renewed this long before it expires.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// The tracing target of `--trace-http` output.
pub const HTTP_TRACE_TARGET: &str = "entra_mail::http_trace";

/// One Graph request, relative to `{graph_url}/v1.0/` (or an absolute `@odata.nextLink`).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Whether sending it twice is harmless. A non-idempotent request is not retried when
    /// the connection fails after it was sent (it may have taken effect).
    pub idempotent: bool,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            idempotent,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::POST, path).body(body)
    }

    pub fn patch(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PATCH, path).body(body)
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The JSON body; `None` for 204 and other empty bodies.
    pub body: Option<Value>,
    pub request_id: Option<String>,
    method: String,
    path: String,
}

impl Response {
    /// The body as `T`; an empty body is an error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GraphError> {
        let body = self
            .body
            .clone()
            .ok_or_else(|| self.decode_error("no body".into()))?;
        serde_json::from_value(body).map_err(|e| self.decode_error(e.to_string()))
    }

    fn decode_error(&self, message: String) -> GraphError {
        GraphError::Decode {
            method: self.method.clone(),
            path: self.path.clone(),
            message,
        }
    }
}

/// Talks to Microsoft Graph v1.0 (or the simulated tenant) with a token from `credential`.
pub struct GraphClient {
    http: reqwest::Client,
    /// `{graph_url}/v1.0/`.
    base: Url,
    scope: String,
    credential: Arc<dyn TokenCredential>,
    token: tokio::sync::Mutex<Option<AccessToken>>,
    retry: RetryPolicy,
    trace_http: bool,
    stats: RequestStats,
    /// When the last Conditional Access request left: Entra allows about one per second per
    /// tenant and answers 429 without Retry-After, so we pace instead of retrying.
    conditional_access_last: tokio::sync::Mutex<Option<Instant>>,
}

/// The pace of Conditional Access requests (a little over Entra's one per second).
const CONDITIONAL_ACCESS_INTERVAL: Duration = Duration::from_millis(1050);

/// How many requests a client sent, and how many of them could write.
#[derive(Debug, Default)]
struct RequestStats {
    requests: std::sync::atomic::AtomicU64,
    writes: std::sync::atomic::AtomicU64,
    /// Retries after 429/503/504 or a broken connection, and the time spent waiting.
    retries: std::sync::atomic::AtomicU64,
    waited_ms: std::sync::atomic::AtomicU64,
}

/// What a client waited for (reported after apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitStats {
    pub retries: u64,
    pub waited: Duration,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base.as_str())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GraphClient`].
pub struct GraphClientBuilder {
    endpoints: Endpoints,
    credential: Arc<dyn TokenCredential>,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    trace_http: bool,
}

impl GraphClientBuilder {
    /// The HTTP client to use; share it with the credential so both trust the same roots.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Log request and response bodies, with secrets and tokens redacted.
    pub fn trace_http(mut self, on: bool) -> Self {
        self.trace_http = on;
        self
    }

    pub fn build(self) -> Result<GraphClient, crate::http::TransportError> {
        let http = match self.http {
            Some(http) => http,
            None => crate::http::build_client(&crate::http::TransportOptions::default())?,
        };
        let mut base = self.endpoints.graph_url.clone();
        let root = base.path().trim_end_matches('/').to_string();
        base.set_path(&format!("{root}/v1.0/"));
        Ok(GraphClient {
            http,
            base,
            scope: self.endpoints.graph_scope(),
            credential: self.credential,
            token: tokio::sync::Mutex::new(None),
            retry: self.retry,
            trace_http: self.trace_http,
            stats: RequestStats::default(),
            conditional_access_last: tokio::sync::Mutex::new(None),
        })
    }
}

/// A raw answer before it is judged.
struct RawResponse {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Why no answer came back.
enum SendFailure {
    Token(GraphError),
    /// The request never left (connection refused, DNS, TLS): safe to report at once.
    NotSent(reqwest::Error),
    /// The connection broke after the request may have been sent.
    MaybeSent(reqwest::Error),
    /// No answer before the deadline (the end of the retry budget).
    TimedOut,
}

impl GraphClient {
    pub fn builder(
        endpoints: &Endpoints,
        credential: Arc<dyn TokenCredential>,
    ) -> GraphClientBuilder {
        GraphClientBuilder {
            endpoints: endpoints.clone(),
            credential,
            http: None,
            retry: RetryPolicy::default(),
            trace_http: false,
        }
    }

    /// Waits until a Conditional Access request may go and holds the slot while it runs:
    /// the interval counts from the previous request's answer, which the server saw no
    /// earlier than it arrived, so arrivals are never closer than the interval.
    async fn conditional_access_slot(&self) -> tokio::sync::MutexGuard<'_, Option<Instant>> {
        let last = self.conditional_access_last.lock().await;
        if let Some(previous) = *last {
            let ready = previous + CONDITIONAL_ACCESS_INTERVAL;
            let now = Instant::now();
            if ready > now {
                tracing::debug!(
                    "pacing Conditional Access: waiting {} ms",
                    (ready - now).as_millis()
                );
                tokio::time::sleep(ready - now).await;
            }
        }
        last
    }

    /// Waits until a Conditional Access request could leave now, without taking the slot: a
    /// caller can then start work that should overlap the request itself.
    pub async fn conditional_access_ready(&self) {
        let ready = self
            .conditional_access_last
            .lock()
            .await
            .map(|previous| previous + CONDITIONAL_ACCESS_INTERVAL);
        if let Some(ready) = ready {
            tokio::time::sleep_until(ready.into()).await;
        }
    }

    /// The claims of the access token this client uses (decoded, not verified: for saying
    /// who we are and what we may do, never for security decisions).
    pub async fn token_claims(&self) -> Result<serde_json::Value, GraphError> {
        let token = self.bearer().await?;
        Ok(decode_claims(&token).unwrap_or(serde_json::Value::Null))
    }

    /// `{graph_url}/v1.0/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// (requests sent, of which writes) so far, retries included.
    pub fn request_counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (
            self.stats.requests.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// Retries and time spent waiting on throttling, unavailability and broken connections.
    pub fn wait_stats(&self) -> WaitStats {
        use std::sync::atomic::Ordering;
        WaitStats {
            retries: self.stats.retries.load(Ordering::Relaxed),
            waited: Duration::from_millis(self.stats.waited_ms.load(Ordering::Relaxed)),
        }
    }

    /// GET `path` as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GraphError> {
        self.send(&Request::get(path)).await?.json()
    }

    /// GET `path`; `None` when Graph answers 404.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, GraphError> {
        self.send_optional(&Request::get(path)).await
    }

    /// Sends `request`; `None` when Graph answers 404.
    pub async fn send_optional<T: DeserializeOwned>(
        &self,
        request: &Request,
    ) -> Result<Option<T>, GraphError> {
        match self.send(request).await {
            Ok(response) => response.json().map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a collection, following `@odata.nextLink` page by page.
    pub async fn list<T: DeserializeOwned>(&self, request: Request) -> Result<Vec<T>, GraphError> {
        let mut items = Vec::new();
        let mut request = request;
        loop {
            let page: Page<T> = self.send(&request).await?.json()?;
            items.extend(page.value);
            match page.next_link {
                Some(link) => {
                    self.check_same_origin(&link)?;
                    request = Request::get(link);
                }
                None => return Ok(items),
            }
        }
    }

    /// POST `body` to `path`, decoding the answer as `T`.
    pub async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GraphError> {
        let body = serde_json::to_value(body).map_err(|e| GraphError::Decode {
            method: "POST".into(),
            path: path.into(),
            message: e.to_string(),
        })?;
        self.send(&Request::post(path, body)).await?.json()
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Result<(), GraphError> {
        self.send(&Request::delete(path)).await.map(|_| ())
    }

    /// Sends `request`, retrying throttling (429), 503 and 504 as Graph asks, and connection
    /// failures of idempotent requests, all inside the retry budget.
    pub async fn send(&self, request: &Request) -> Result<Response, GraphError> {
        let url = self.url_for(request)?;
        let display_path = self.display_path(&url);
        let method = request.method.as_str().to_string();
        let client_request_id = Uuid::new_v4().to_string();
        let span = tracing::debug_span!("graph", method = %method, path = %display_path);
        async {
            let started = Instant::now();
            // However the server behaves, the request ends here.
            let deadline = started + self.retry.budget;
            let mut attempts = 0u32;
            let mut retries = 0u32;
            let mut token_renewed = false;
            loop {
                attempts += 1;
                let attempt_started = Instant::now();
                let slot = if display_path.starts_with("identity/conditionalAccess") {
                    Some(self.conditional_access_slot().await)
                } else {
                    None
                };
                let outcome = self
                    .attempt(request, &url, &client_request_id, deadline)
                    .await;
                if let Some(mut last) = slot {
                    *last = Some(Instant::now());
                }
                let timed_out = |method: String, path: String| GraphError::TimedOut {
                    method,
                    path,
                    attempts,
                    waited: started.elapsed(),
                    budget: self.retry.budget,
                    maybe_applied: request.method != Method::GET,
                };
                let failure_text = match outcome {
                    Ok(raw) => {
                        let request_id = header(&raw.headers, "request-id");
                        tracing::debug!(
                            status = raw.status,
                            duration_ms = attempt_started.elapsed().as_millis() as u64,
                            request_id = request_id.as_deref().unwrap_or(""),
                            client_request_id = %client_request_id,
                            attempt = attempts,
                            "graph request"
                        );
                        if (200..300).contains(&raw.status) {
                            return self.success(raw, &method, &display_path);
                        }
                        let error = ApiError::from_response(
                            &method,
                            &display_path,
                            raw.status,
                            &raw.body,
                            request_id,
                        );
                        if raw.status == 401 && !token_renewed {
                            token_renewed = true;
                            *self.token.lock().await = None;
                            continue;
                        }
                        if !is_retryable_status(raw.status) {
                            return Err(GraphError::Api(Box::new(error)));
                        }
                        // A 503 or 504 may come after the write took effect (a 429 never
                        // does): a POST is not sent again blindly; its caller looks first.
                        if !request.idempotent && raw.status != 429 {
                            return Err(GraphError::Interrupted {
                                method,
                                path: display_path,
                                message: error.to_string(),
                            });
                        }
                        retries += 1;
                        let wait = header(&raw.headers, RETRY_AFTER.as_str())
                            .and_then(|v| parse_retry_after(&v, SystemTime::now()))
                            .unwrap_or_else(|| self.retry.backoff(retries));
                        (error.to_string(), wait, false)
                    }
                    Err(SendFailure::Token(e)) => return Err(e),
                    Err(SendFailure::TimedOut) => return Err(timed_out(method, display_path)),
                    Err(SendFailure::NotSent(e)) => return Err(connect_error(&url, &e)),
                    Err(SendFailure::MaybeSent(e)) => {
                        if !request.idempotent {
                            return Err(GraphError::Interrupted {
                                method,
                                path: display_path,
                                message: error_chain(&e),
                            });
                        }
                        retries += 1;
                        (error_chain(&e), self.retry.backoff(retries), e.is_timeout())
                    }
                };
                let (last, wait, was_timeout) = failure_text;
                if started.elapsed() + wait > self.retry.budget {
                    // The HTTP client's timeout came just before the budget's: say so alike.
                    if was_timeout {
                        return Err(timed_out(method, display_path));
                    }
                    return Err(GraphError::RetryBudgetExhausted {
                        method,
                        path: display_path,
                        attempts,
                        elapsed: started.elapsed(),
                        budget: self.retry.budget,
                        last,
                    });
                }
                tracing::info!("{last}; retrying in {:.1}s", wait.as_secs_f64());
                self.stats
                    .retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.stats.waited_ms.fetch_add(
                    wait.as_millis() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                tokio::time::sleep(wait).await;
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt(
        &self,
        request: &Request,
        url: &Url,
        client_request_id: &str,
        deadline: Instant,
    ) -> Result<RawResponse, SendFailure> {
        let token = self.bearer().await.map_err(SendFailure::Token)?;
        let authorization = format!("Bearer {token}");
        let mut builder = self
            .http
            .request(request.method.clone(), url.clone())
            .header(AUTHORIZATION, authorization.as_str())
            .header("client-request-id", client_request_id);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = request.body.as_ref().map(|b| b.to_string().into_bytes());
        if let Some(body) = &body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if self.trace_http {
            self.trace_request(
                request,
                url,
                &authorization,
                client_request_id,
                body.as_deref(),
            );
        }
        self.stats
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if request.method != Method::GET {
            self.stats
                .writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let exchange = async {
            let response = builder.send().await.map_err(|e| {
                if e.is_connect() || e.is_builder() {
                    SendFailure::NotSent(e)
                } else {
                    SendFailure::MaybeSent(e)
                }
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(SendFailure::MaybeSent)?
                .to_vec();
            Ok((status, headers, body))
        };
        // The HTTP client's own timeout may be longer than what is left of the budget.
        let (status, headers, body) = tokio::time::timeout_at(deadline.into(), exchange)
            .await
            .map_err(|_| SendFailure::TimedOut)??;
        if self.trace_http {
            trace_response(status, &headers, &body);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn success(&self, raw: RawResponse, method: &str, path: &str) -> Result<Response, GraphError> {
        let body = if raw.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice(&raw.body).map_err(|e| GraphError::Decode {
                    method: method.into(),
                    path: path.into(),
                    message: format!("the body is not JSON: {e}"),
                })?,
            )
        };
        Ok(Response {
            status: raw.status,
            body,
            request_id: header(&raw.headers, "request-id"),
            method: method.into(),
            path: path.into(),
        })
    }

    /// A bearer token for Graph, from the cache while it has more than the margin left.
    async fn bearer(&self) -> Result<String, GraphError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.expires_on - OffsetDateTime::now_utc() > TOKEN_REFRESH_MARGIN {
                return Ok(token.token.secret().to_string());
            }
        }
        let token = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| auth_error(&self.scope, &e))?;
        let value = token.token.secret().to_string();
        *cached = Some(token);
        Ok(value)
    }

    fn url_for(&self, request: &Request) -> Result<Url, GraphError> {
        let mut text =
            if request.path.starts_with("https://") || request.path.starts_with("http://") {
                request.path.clone()
            } else {
                format!("{}{}", self.base, request.path.trim_start_matches('/'))
            };
        if !request.query.is_empty() {
            text.push(if text.contains('?') { '&' } else { '?' });
            text.push_str(&odata::encode_query(&request.query));
        }
        Url::parse(&text).map_err(|e| GraphError::BadUrl {
            url: text.clone(),
            message: e.to_string(),
        })
    }

    /// The path below `v1.0/`, for messages and logs (no query: it may name people).
    fn display_path(&self, url: &Url) -> String {
        let path = url.path();
        path.strip_prefix(self.base.path())
            .unwrap_or(path)
            .to_string()
    }

    fn check_same_origin(&self, link: &str) -> Result<(), GraphError> {
        let same = Url::parse(link).is_ok_and(|url| url.origin() == self.base.origin());
        if same {
            Ok(())
        } else {
            Err(GraphError::ForeignNextLink {
                url: link.to_string(),
                base: self.base.origin().ascii_serialization(),
            })
        }
    }

    fn trace_request(
        &self,
        request: &Request,
        url: &Url,
        authorization: &str,
        client_request_id: &str,
        body: Option<&[u8]>,
    ) {
        let mut lines = vec![format!("--> {} {}", request.method, url)];
        lines.push(format!(
            "authorization: {}",
            redact::redact_header("authorization", authorization)
        ));
        lines.push(format!("client-request-id: {client_request_id}"));
        for (name, value) in &request.headers {
            lines.push(format!("{name}: {}", redact::redact_header(name, value)));
        }
        lines.push(body.map_or_else(|| "(no body)".into(), redact::redact_body));
        tracing::trace!(target: HTTP_TRACE_TARGET, "{}", lines.join("\n"));
    }
}

fn trace_response(status: u16, headers: &HeaderMap, body: &[u8]) {
    let mut lines = vec![format!("<-- {status}")];
    for name in [
        "request-id",
        "client-request-id",
        "retry-after",
        "location",
        "content-type",
    ] {
        if let Some(value) = header(headers, name) {
            lines.push(format!("{name}: {value}"));
        }
    }
    lines.push(redact::redact_body(body));
    tracing::trace!(target: HTTP_TRACE_TARGET, "{}", lines.join("\n"));
}

/// Whether TLS refused the server's certificate: a `rustls` certificate error somewhere in
/// the chain. hyper hands it up inside nested `io::Error`s, whose `source()` skips the error
/// they wrap, so those are opened too. Decided by type, never by message text.
pub fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    use tokio_rustls::rustls::Error as Tls;
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    while let Some(e) = pending.pop() {
        if let Some(tls) = e.downcast_ref::<Tls>() {
            return matches!(
                tls,
                Tls::InvalidCertificate(_) | Tls::NoCertificatesPresented
            );
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
        pending.extend(e.source());
    }
    false
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A failure to reach the server, with the cause users can act on.
fn connect_error(url: &Url, error: &reqwest::Error) -> GraphError {
    let message = error_chain(error);
    let origin = url.origin().ascii_serialization();
    if is_certificate_error(error) {
        GraphError::UntrustedCertificate {
            url: origin,
            message,
        }
    } else {
        GraphError::Connect {
            url: origin,
            message,
        }
    }
}

/// A credential's failure to get a token; an untrusted certificate on the token endpoint
/// gets the same hint as on Graph, naming the endpoint the request went to.
fn auth_error(scope: &str, error: &(dyn std::error::Error + 'static)) -> GraphError {
    let message = error_chain(error);
    if is_certificate_error(error) {
        GraphError::UntrustedCertificate {
            url: request_origin(error).unwrap_or_else(|| "the sign-in endpoint".into()),
            message,
        }
    } else {
        GraphError::Auth {
            scope: scope.to_string(),
            message,
        }
    }
}

/// The origin of the first URL a `reqwest` error in the chain names.
fn request_origin(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(url) = e.downcast_ref::<reqwest::Error>().and_then(|r| r.url()) {
            return Some(url.origin().ascii_serialization());
        }
        next = e.source();
    }
    None
}
