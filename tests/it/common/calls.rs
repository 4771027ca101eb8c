//! Sending Graph requests in tests: expect success or a Graph error.

use entra_mail::graph::{ApiError, GraphClient, Request, Response};
use serde_json::Value;

pub async fn ok(client: &GraphClient, request: Request) -> Response {
    let what = format!("{} {}", request.method, request.path);
    match client.send(&request).await {
        Ok(response) => response,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

pub async fn fail(client: &GraphClient, request: Request) -> ApiError {
    let what = format!("{} {}", request.method, request.path);
    match client.send(&request).await {
        Ok(response) => panic!(
            "{what} should fail but answered {} {:?}",
            response.status, response.body
        ),
        Err(e) => e
            .api()
            .cloned()
            .unwrap_or_else(|| panic!("{what}: not a Graph error answer: {e}")),
    }
}

pub fn body(response: &Response) -> Value {
    response.body.clone().expect("a JSON body")
}

pub fn s<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {value}"))
}
