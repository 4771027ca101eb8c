//! Graph's OData error body, parsed into types callers branch on (codes, never messages).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// `{"error": {...}}`, the body of every Graph error response.
#[derive(Debug, Clone, Deserialize)]
pub struct ODataErrorBody {
    pub error: MainError,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MainError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    pub target: Option<String>,
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
    #[serde(rename = "innerError", alias = "innererror")]
    pub inner_error: Option<InnerError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InnerError {
    #[serde(rename = "request-id")]
    pub request_id: Option<String>,
    #[serde(rename = "client-request-id")]
    pub client_request_id: Option<String>,
    pub date: Option<String>,
}

/// A request Graph answered with an error status.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub method: String,
    /// The path below the version segment, e.g. `applications(uniqueName='x')`.
    pub path: String,
    pub status: u16,
    /// The top-level error code, e.g. `Request_ResourceNotFound`.
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub details: Vec<ErrorDetail>,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub date: Option<String>,
}

impl ApiError {
    /// Builds the error from a response; a body that is not Graph's shape keeps the status
    /// and a short excerpt.
    pub fn from_response(
        method: &str,
        path: &str,
        status: u16,
        body: &[u8],
        header_request_id: Option<String>,
    ) -> Self {
        let parsed = serde_json::from_slice::<ODataErrorBody>(body).ok();
        let main = parsed.map(|b| b.error).unwrap_or_else(|| MainError {
            message: excerpt(body),
            ..MainError::default()
        });
        let inner = main.inner_error.unwrap_or_default();
        Self {
            method: method.to_string(),
            path: path.to_string(),
            status,
            code: main.code,
            message: main.message,
            target: main.target,
            details: main.details,
            request_id: inner.request_id.or(header_request_id),
            client_request_id: inner.client_request_id,
            date: inner.date,
        }
    }

    /// Whether `code` is the error's code or one of its details' codes.
    pub fn has_code(&self, code: &str) -> bool {
        self.code == code || self.details.iter().any(|d| d.code == code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.path, self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        for detail in self.details.iter().filter(|d| !d.code.is_empty()) {
            write!(f, " ({})", detail.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request-id {id}]")?;
        }
        Ok(())
    }
}

/// Everything a Graph call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{0}")]
    Api(Box<ApiError>),

    #[error("could not get an access token for {scope}: {message}")]
    Auth { scope: String, message: String },

    #[error("the certificate of {url} is not trusted; set SSL_CERT_FILE or --ca-cert to a PEM file with its CA ({message})")]
    UntrustedCertificate { url: String, message: String },

    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },

    #[error("{method} {path}: the request may or may not have taken effect, so it was not sent again blindly ({message})")]
    /// The connection broke after a non-idempotent request was sent, or Graph answered it
    /// 503/504, which may come after the write took effect.
    Interrupted {
        method: String,
        path: String,
        message: String,
    },

    #[error("{method} {path}: gave up after {attempts} attempts in {:.1}s (retry budget {:.1}s); last answer: {last}", elapsed.as_secs_f64(), budget.as_secs_f64())]
    RetryBudgetExhausted {
        method: String,
        path: String,
        attempts: u32,
        elapsed: Duration,
        budget: Duration,
        last: String,
    },

    /// No answer before the time budget ran out (a server that accepted the request and
    /// never answered, or answered too slowly).
    #[error("{method} {path}: timed out: no answer within {:.1}s after {attempts} attempt{} (time budget {:.0}s; raise it with --timeout){}", waited.as_secs_f64(), if *attempts == 1 { "" } else { "s" }, budget.as_secs_f64(), if *maybe_applied { "; it may or may not have taken effect" } else { "" })]
    TimedOut {
        method: String,
        path: String,
        attempts: u32,
        waited: Duration,
        budget: Duration,
        /// A write that went out and got no answer.
        maybe_applied: bool,
    },

    #[error("{method} {path}: unexpected response: {message}")]
    Decode {
        method: String,
        path: String,
        message: String,
    },

    #[error("refusing to follow @odata.nextLink {url}: it is not on {base}, and the access token must not leave it")]
    ForeignNextLink { url: String, base: String },

    #[error("invalid request URL {url}: {message}")]
    BadUrl { url: String, message: String },
}

impl GraphError {
    /// The Graph error, when Graph answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            GraphError::Api(e) => Some(e),
            _ => None,
        }
    }

    /// HTTP status of a Graph error answer.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// Whether Graph answered with `code` (top level or in details).
    pub fn has_code(&self, code: &str) -> bool {
        self.api().is_some_and(|e| e.has_code(code))
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text.to_string()
    }
}

/// An error's message, then each of its sources' not already said: typed errors often embed
/// their source's text, which would otherwise be said twice.
pub fn error_causes(error: &dyn std::error::Error) -> Vec<String> {
    let mut said: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
        source = e.source();
    }
    said
}

/// An error and its sources on one line: `a: b: c`, without repeats (summary tables, JSON
/// reports, messages that wrap a library's error).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    error_causes(error).join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of `create_service_principal` right after the app was created
    /// (crates/entra-sim/src/data/calls.json).
    const NO_BACKING_APP: &str = r#"{"error":{"code":"Request_BadRequest","message":"The appId '1c4d4a8e-2a2c-4b8e-9d0b-6e0f7c9a1b2d' of the service principal does not reference a valid application object.","details":[{"code":"NoBackingApplicationObject","message":"The appId '1c4d4a8e-2a2c-4b8e-9d0b-6e0f7c9a1b2d' of the service principal does not reference a valid application object.","target":"appId"}],"innerError":{"date":"2026-05-07T10:00:00","request-id":"7e8c1f2a-0000-4000-8000-000000000001","client-request-id":"7e8c1f2a-0000-4000-8000-000000000002"}}}"#;

    #[test]
    fn parses_codes_details_and_request_ids() {
        let e = ApiError::from_response(
            "POST",
            "servicePrincipals",
            400,
            NO_BACKING_APP.as_bytes(),
            None,
        );
        assert_eq!(e.code, "Request_BadRequest");
        assert!(e.has_code("NoBackingApplicationObject"));
        assert!(!e.has_code("Request_ResourceNotFound"));
        assert_eq!(e.details[0].target.as_deref(), Some("appId"));
        assert_eq!(
            e.request_id.as_deref(),
            Some("7e8c1f2a-0000-4000-8000-000000000001")
        );
        assert_eq!(
            e.client_request_id.as_deref(),
            Some("7e8c1f2a-0000-4000-8000-000000000002")
        );
        assert_eq!(e.date.as_deref(), Some("2026-05-07T10:00:00"));
        assert!(e.to_string().starts_with(
            "POST servicePrincipals: 400 Request_BadRequest (NoBackingApplicationObject): The appId"
        ));
    }

    #[test]
    fn a_non_graph_body_keeps_status_and_excerpt() {
        let e = ApiError::from_response(
            "GET",
            "groups",
            502,
            b"<html>Bad Gateway</html>",
            Some("r-1".into()),
        );
        assert_eq!(e.code, "");
        assert_eq!(
            e.to_string(),
            "GET groups: 502: <html>Bad Gateway</html> [request-id r-1]"
        );
    }
}
