//! `--trace-http` shows bodies with every secret and token redacted; without it, no body
//! is logged at any level.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Canned, ScriptedServer};
use entra_mail::auth::StaticToken;
use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::graph::models::PasswordCredential;
use entra_mail::graph::GraphClient;
use serde_json::json;
use time::OffsetDateTime;

/// Obvious fakes: a secret scanner must not mistake them for real credentials.
const SECRET: &str = "fake-secret-text-for-the-trace-test";
const TOKEN: &str = "fake-access-token-for-the-trace-test";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The logs of one `addPassword`, and the Authorization header the server received.
async fn add_password_with_logs(trace_http: bool) -> (String, String) {
    let server = ScriptedServer::start().await;
    server.push(Canned::json(200, json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential",
        "customKeyIdentifier": null, "displayName": "entra-mail",
        "endDateTime": "2027-05-28T00:00:00Z", "hint": "Q7x",
        "keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6",
        "secretText": SECRET, "startDateTime": "2026-11-29T00:00:00Z"})));
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let endpoints = Endpoints::resolve(Cloud::Public, Some(&server.base), None).unwrap();
    let token = StaticToken::new(TOKEN, OffsetDateTime::now_utc() + time::Duration::hours(1));
    let client = GraphClient::builder(&endpoints, token)
        .trace_http(trace_http)
        .build()
        .unwrap();
    let credential: PasswordCredential = client
        .post(
            "applications/a1/addPassword",
            &json!({"passwordCredential": {"displayName": "entra-mail"}}),
        )
        .await
        .unwrap();
    assert_eq!(credential.secret_text.unwrap().expose(), SECRET);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = requests[0].headers["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    (captured.text(), sent)
}

#[tokio::test]
async fn trace_http_shows_bodies_with_the_secret_and_token_redacted() {
    let (logs, sent) = add_password_with_logs(true).await;
    // The header on the wire carries the sign-in's token; the trace must show only its scheme.
    assert_eq!(sent, format!("Bearer {TOKEN}"));

    assert!(logs.contains("--> POST http://127.0.0.1:"), "{logs}");
    assert!(
        logs.contains("\"displayName\":\"entra-mail\""),
        "request body shown: {logs}"
    );
    assert!(
        logs.contains("\"keyId\":\"f0b0b335-1d71-4883-8f98-567911bfdca6\""),
        "{logs}"
    );
    assert!(logs.contains("\"secretText\":\"(redacted)\""), "{logs}");
    assert!(logs.contains("authorization: Bearer (redacted)"), "{logs}");
    assert!(!logs.contains(SECRET), "the secret leaked: {logs}");
    assert!(!logs.contains(TOKEN), "the token leaked: {logs}");
}

#[tokio::test]
async fn without_trace_http_no_body_is_logged_even_at_trace_level() {
    let (logs, sent) = add_password_with_logs(false).await;
    assert_eq!(sent, format!("Bearer {TOKEN}"));

    assert!(
        logs.contains("graph request"),
        "the request itself is logged: {logs}"
    );
    assert!(!logs.contains("keyId"), "{logs}");
    assert!(!logs.contains(SECRET));
    assert!(!logs.contains(TOKEN));
}
