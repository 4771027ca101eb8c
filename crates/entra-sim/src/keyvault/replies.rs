//! Key Vault's error bodies: `{"error": {"code", "message", "innererror"?: {"code"}}}`, each
//! with the code and wording the service uses.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::graph::Reply;
use crate::state::RequestFault;

pub fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}

/// An error with an inner code, which tells refusals of the same status apart.
pub fn error_with_inner(status: u16, code: &str, message: &str, inner: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message, "innererror": {"code": inner}}}),
    )
}

/// A 401 with the challenge that tells a client where to sign in and for what.
pub fn unauthorized(base: &str, tenant_id: &str, message: String) -> Reply {
    let mut reply = error(401, "Unauthorized", message);
    reply.headers.push((
        "WWW-Authenticate",
        format!(
            r#"Bearer authorization="{base}/{tenant_id}", resource="{}""#,
            super::VAULT_AUDIENCE
        ),
    ));
    reply
}

pub fn forbidden(message: &str, inner: &str) -> Reply {
    error_with_inner(403, "Forbidden", message, inner)
}

pub fn bad_parameter(message: impl Into<String>) -> Reply {
    error(400, "BadParameter", message)
}

pub fn vault_not_found(vault: &str) -> Reply {
    error(
        404,
        "VaultNotFound",
        format!("The simulated tenant has no key vault named '{vault}'."),
    )
}

/// Any non-empty `api-version` is served; Key Vault refuses a request without one.
pub fn require_api_version(query: &str) -> Result<(), Reply> {
    let given = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "api-version")
        .map(|(_, value)| value)
        .unwrap_or_default();
    if given.is_empty() {
        return Err(bad_parameter(
            "The request URI contains an invalid API version: ''",
        ));
    }
    Ok(())
}

/// A method or path the simulated secrets API does not serve.
pub fn unsupported(method: &Method, path: &str) -> Reply {
    error(
        400,
        "BadParameter",
        format!("The simulated Key Vault serves no {method} on /keyvault/{path}: only secrets (set, get, versions, delete, get deleted, purge)."),
    )
}

pub fn invalid_name(name: &str) -> Reply {
    bad_parameter(format!("The request URI contains an invalid name: {name}"))
}

pub fn secret_not_found(name: &str) -> Reply {
    error(
        404,
        "SecretNotFound",
        format!("A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"),
    )
}

pub fn deleted_secret_not_found(name: &str) -> Reply {
    error(
        404,
        "SecretNotFound",
        format!("Deleted Secret not found: {name}"),
    )
}

pub fn deleted_but_recoverable(name: &str) -> Reply {
    error_with_inner(
        409,
        "Conflict",
        &format!("Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."),
        "ObjectIsDeletedButRecoverable",
    )
}

pub fn disabled() -> Reply {
    forbidden(
        "Operation get is not allowed on a disabled secret.",
        "SecretDisabled",
    )
}

pub fn unavailable() -> Reply {
    error(
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable. Please retry later.",
    )
}

/// The answer to an injected throttling or outage.
pub fn injected(fault: RequestFault) -> Reply {
    match fault {
        RequestFault::Throttled { retry_after } => {
            let mut reply = error(
                429,
                "Throttled",
                "Request was not allowed because too many requests were made. Please retry after some time.",
            );
            if let Some(seconds) = retry_after {
                reply.headers.push(("Retry-After", seconds.to_string()));
            }
            reply
        }
        RequestFault::Unavailable => unavailable(),
    }
}

/// A reply with Key Vault's headers: its request id, the client's own echoed, the region.
pub fn to_response(reply: Reply, request_headers: &HeaderMap) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request_headers
        .get("x-ms-client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let fixed = [
        ("x-ms-request-id", Some(request_id)),
        ("x-ms-client-request-id", client_request_id),
        ("x-ms-keyvault-region", Some(super::LOCATION.to_string())),
        ("x-ms-keyvault-service-version", Some("1.9.2".to_string())),
    ];
    let named = fixed
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .chain(reply.headers);
    for (name, value) in named {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if headers.contains_key("content-type") {
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_version_is_required() {
        assert!(require_api_version("api-version=7.6").is_ok());
        assert!(require_api_version("x=1&api-version=2025-07-01").is_ok());
        for query in ["", "api-version=", "apiversion=7.6"] {
            let refused = require_api_version(query).unwrap_err();
            assert_eq!(refused.status, 400, "{query}");
        }
    }

    #[test]
    fn every_401_carries_the_challenge() {
        let reply = unauthorized("https://127.0.0.1:1", "t1", "AKV10000: x".into());
        assert_eq!(
            reply.headers,
            vec![(
                "WWW-Authenticate",
                r#"Bearer authorization="https://127.0.0.1:1/t1", resource="https://vault.azure.net""#
                    .to_string()
            )]
        );
    }
}
