//! `POST /$batch`: up to 20 requests, `dependsOn` ordering, 424 for a failed dependency,
//! each inner request authorised and throttled on its own.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{json, Value};

use super::{bad_request, dispatch, error, injected_fault, GraphCall, Reply};
use crate::state::{Inner, IssuedToken};

const MAX_REQUESTS: usize = 20;

pub fn handle(
    inner: &mut Inner,
    base: &str,
    caller: &IssuedToken,
    call: &GraphCall<'_>,
) -> (Reply, bool) {
    let requests = match parse(call.body) {
        Ok(requests) => requests,
        Err(reply) => return (reply, false),
    };
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    let mut wrote_any = false;
    for request in &requests {
        let id = request
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let failed_dependency = request
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|dep| {
                statuses
                    .get(&dep.to_ascii_lowercase())
                    .is_none_or(|s| *s >= 400)
            });
        let (reply, wrote) = if failed_dependency {
            (
                error(
                    424,
                    "FailedDependency",
                    "The request depends on a request that failed.",
                ),
                false,
            )
        } else {
            run_one(inner, base, caller, request)
        };
        wrote_any |= wrote;
        statuses.insert(id.to_ascii_lowercase(), reply.status);
        let headers: serde_json::Map<String, Value> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .chain(
                reply
                    .body
                    .is_some()
                    .then(|| ("Content-Type".to_string(), json!("application/json"))),
            )
            .collect();
        let mut response = json!({"id": id, "status": reply.status, "headers": headers});
        if let Some(body) = reply.body {
            response["body"] = body;
        }
        responses.push(response);
    }
    (Reply::json(200, json!({"responses": responses})), wrote_any)
}

fn parse(body: &[u8]) -> Result<Vec<Value>, Reply> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| error(400, "BadRequest", "Invalid batch payload format."))?;
    let requests = value
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| error(400, "BadRequest", "Invalid batch payload format."))?;
    if requests.len() > MAX_REQUESTS {
        return Err(error(
            400,
            "BadRequest",
            format!("Maximum number of requests in a batch is {MAX_REQUESTS}."),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for request in &requests {
        let id = request
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        let method = request.get("method").and_then(Value::as_str);
        let url = request.get("url").and_then(Value::as_str);
        let (Some(id), Some(_), Some(_)) = (id, method, url) else {
            return Err(error(
                400,
                "BadRequest",
                "Each request needs an id, a method and a url.",
            ));
        };
        if seen.contains(&id) {
            return Err(error(
                400,
                "BadRequest",
                format!("Request id '{id}' is not unique in the batch."),
            ));
        }
        for dependency in request
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let known = dependency
                .as_str()
                .is_some_and(|d| seen.contains(&d.to_ascii_lowercase()));
            if !known {
                return Err(error(
                    400,
                    "BadRequest",
                    format!(
                        "Request '{id}' depends on a request that is not before it in the batch."
                    ),
                ));
            }
        }
        seen.push(id);
    }
    Ok(requests)
}

fn run_one(inner: &mut Inner, base: &str, caller: &IssuedToken, request: &Value) -> (Reply, bool) {
    let method: Method = match request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .parse()
    {
        Ok(m) => m,
        Err(_) => return (bad_request("Invalid method."), false),
    };
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url = url.trim_start_matches('/').trim_start_matches("v1.0/");
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut headers = HeaderMap::new();
    if let Some(map) = request.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let body = match request.get("body") {
        Some(body) if !headers.contains_key("content-type") => {
            let _ = body;
            return (
                bad_request("Content-Type header is required for a request with a body."),
                false,
            );
        }
        Some(body) => body.to_string().into_bytes(),
        None => Vec::new(),
    };
    if let Some(reply) = injected_fault(inner, &caller.tenant_id, path) {
        return (reply, false);
    }
    let call = GraphCall {
        method: &method,
        path,
        query,
        headers: &headers,
        body: &body,
    };
    dispatch(inner, base, caller, &call)
}
