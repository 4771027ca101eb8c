//! The Graph client against a local HTTP server: retries, budget, paging, errors, tokens.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::{Canned, ScriptedServer};
use entra_mail::auth::StaticToken;
use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::graph::models::{Application, Group};
use entra_mail::graph::{odata, GraphClient, GraphError, Request, RetryPolicy};
use serde_json::json;
use time::OffsetDateTime;

fn client_for(server_base: &str, retry: RetryPolicy) -> (GraphClient, Arc<StaticToken>) {
    let endpoints = Endpoints::resolve(Cloud::Public, Some(server_base), None).unwrap();
    let token = StaticToken::new(
        "token-abc",
        OffsetDateTime::now_utc() + time::Duration::hours(1),
    );
    let client = GraphClient::builder(&endpoints, token.clone())
        .retry(retry)
        .build()
        .unwrap();
    (client, token)
}

fn fast_retry(budget: Duration) -> RetryPolicy {
    RetryPolicy {
        budget,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
    }
}

fn throttled() -> serde_json::Value {
    json!({"error": {"code": "TooManyRequests", "message": "Too many requests.",
        "innerError": {"request-id": "r-429", "date": "2026-11-29T10:00:00"}}})
}

#[tokio::test]
async fn retry_after_seconds_is_honoured_with_exactly_two_requests() {
    let server = ScriptedServer::start().await;
    server.push(Canned::json(429, throttled()).with_header("Retry-After", "1"));
    server.push(Canned::json(200, json!({"id": "a1", "displayName": "x"})));
    let (client, _) = client_for(&server.base, RetryPolicy::default());

    let started = Instant::now();
    let app: Application = client.get("applications/a1").await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(app.id.as_deref(), Some("a1"));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(1), "waited only {gap:?}");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    // One client-request-id for the logical request, across its retries.
    assert_eq!(
        seen[0].headers["client-request-id"],
        seen[1].headers["client-request-id"]
    );
    assert_eq!(seen[0].path, "/v1.0/applications/a1");
    assert!(seen[0].headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("entra-mail/"));
    assert_eq!(seen[0].headers["authorization"], "Bearer token-abc");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = ScriptedServer::start().await;
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    server.push(
        Canned::json(
            503,
            json!({"error": {"code": "serviceNotAvailable", "message": "busy"}}),
        )
        .with_header("Retry-After", &when),
    );
    server.push(Canned::json(200, json!({"id": "a1"})));
    let (client, _) = client_for(&server.base, RetryPolicy::default());

    let _: Application = client.get("applications/a1").await.unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    // The date has whole-second precision: the wait is between 1 and 2 seconds.
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(950) && gap <= Duration::from_millis(2500),
        "gap {gap:?}"
    );
}

#[tokio::test]
async fn a_503_without_retry_after_backs_off_exponentially() {
    let server = ScriptedServer::start().await;
    let unavailable = json!({"error": {"code": "serviceNotAvailable", "message": "try later"}});
    server.push(Canned::json(503, unavailable.clone()));
    server.push(Canned::json(504, unavailable));
    server.push(Canned::json(200, json!({"id": "a1"})));
    let (client, _) = client_for(&server.base, fast_retry(Duration::from_secs(30)));

    let _: Application = client.get("applications/a1").await.unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    let first_wait = seen[1].at - seen[0].at;
    let second_wait = seen[2].at - seen[1].at;
    // base 200 ms: first wait in [100, 200] ms, second in [200, 400] ms.
    assert!(
        first_wait >= Duration::from_millis(100),
        "first wait {first_wait:?}"
    );
    assert!(
        second_wait >= Duration::from_millis(200),
        "second wait {second_wait:?}"
    );
}

#[tokio::test]
async fn an_exhausted_budget_is_a_clear_error() {
    let server = ScriptedServer::start().await;
    server.always(Canned::json(429, throttled()).with_header("Retry-After", "1"));
    let (client, _) = client_for(&server.base, fast_retry(Duration::from_millis(2500)));

    let started = Instant::now();
    let error = client
        .get::<Application>("applications/a1")
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < Duration::from_millis(2600),
        "must not sleep past the budget"
    );
    assert_eq!(server.requests().len(), 3);
    let message = error.to_string();
    assert!(
        message.starts_with("GET applications/a1: gave up after 3 attempts in 2."),
        "{message}"
    );
    assert!(
        message.ends_with("s (retry budget 2.5s); last answer: GET applications/a1: 429 TooManyRequests: Too many requests. [request-id r-429]"),
        "{message}"
    );
}

#[tokio::test]
async fn errors_that_are_not_transient_are_not_retried() {
    let server = ScriptedServer::start().await;
    server.push(Canned::json(400, json!({"error": {"code": "Request_BadRequest",
        "message": "The appId 'x' of the service principal does not reference a valid application object.",
        "details": [{"code": "NoBackingApplicationObject", "message": "...", "target": "appId"}],
        "innerError": {"request-id": "r-1"}}})));
    let (client, _) = client_for(&server.base, RetryPolicy::default());

    let error = client
        .send(&Request::post("servicePrincipals", json!({"appId": "x"})))
        .await
        .unwrap_err();

    assert_eq!(server.requests().len(), 1);
    assert_eq!(error.status(), Some(400));
    assert!(error.has_code("Request_BadRequest"));
    assert!(error.has_code("NoBackingApplicationObject"));
    assert_eq!(error.api().unwrap().request_id.as_deref(), Some("r-1"));
}

#[tokio::test]
async fn not_found_is_none_for_optional_reads() {
    let server = ScriptedServer::start().await;
    server.push(Canned::json(404, json!({"error": {"code": "Request_ResourceNotFound",
        "message": "Resource 'x' does not exist or one of its queried reference-property objects are not present."}})));
    let (client, _) = client_for(&server.base, RetryPolicy::default());

    let path = odata::by_key("applications", "uniqueName", "pandora-itsm-mail");
    let app: Option<Application> = client.get_optional(&path).await.unwrap();

    assert!(app.is_none());
    assert_eq!(
        server.requests()[0].path,
        "/v1.0/applications(uniqueName='pandora-itsm-mail')"
    );
}

#[tokio::test]
async fn paging_follows_next_links_across_three_pages() {
    let server = ScriptedServer::start().await;
    let next = |token: &str| format!("{}/v1.0/groups?$skiptoken={token}", server.base);
    server.push(Canned::json(
        200,
        json!({"value": [{"id": "g1"}, {"id": "g2"}], "@odata.nextLink": next("p2")}),
    ));
    server.push(Canned::json(
        200,
        json!({"value": [{"id": "g3"}], "@odata.nextLink": next("p3")}),
    ));
    server.push(Canned::json(
        200,
        json!({"@odata.context": "x", "value": [{"id": "g4"}]}),
    ));
    let (client, _) = client_for(&server.base, RetryPolicy::default());

    let request = Request::get("groups")
        .query("$filter", odata::eq("displayName", "O'Brien group"))
        .query("$select", "id,displayName");
    let groups: Vec<Group> = client.list(request).await.unwrap();

    let ids: Vec<_> = groups.iter().map(|g| g.id.clone().unwrap()).collect();
    assert_eq!(ids, ["g1", "g2", "g3", "g4"]);
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].query.as_deref(),
        Some("$filter=displayName%20eq%20%27O%27%27Brien%20group%27&$select=id%2CdisplayName")
    );
    assert_eq!(seen[2].query.as_deref(), Some("$skiptoken=p3"));
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = ScriptedServer::start().await;
    server.push(Canned::json(
        200,
        json!({"value": [], "@odata.nextLink": "https://evil.example.com/v1.0/groups?p=2"}),
    ));
    let (client, _) = client_for(&server.base, RetryPolicy::default());

    let error = client
        .list::<Group>(Request::get("groups"))
        .await
        .unwrap_err();

    assert!(
        matches!(error, GraphError::ForeignNextLink { .. }),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn tokens_are_cached_and_renewed_once_on_401() {
    let server = ScriptedServer::start().await;
    server.push(Canned::json(200, json!({"id": "a1"})));
    server.push(Canned::json(200, json!({"id": "a1"})));
    server.push(Canned::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}})));
    server.push(Canned::json(200, json!({"id": "a1"})));
    let (client, token) = client_for(&server.base, RetryPolicy::default());

    for _ in 0..3 {
        let _: Application = client.get("applications/a1").await.unwrap();
    }

    assert_eq!(server.requests().len(), 4);
    assert_eq!(token.requests(), 2, "one token, renewed once after the 401");
}

/// A server that reads one request per connection and hangs up without answering: the
/// write may have happened, the client never learns.
async fn hang_up_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    (base, connections)
}

#[tokio::test]
async fn a_post_is_not_retried_after_the_connection_drops() {
    let (base, connections) = hang_up_server().await;
    let (client, _) = client_for(&base, fast_retry(Duration::from_secs(5)));

    let error = client
        .send(&Request::post(
            "applications/a1/addPassword",
            json!({"passwordCredential": {}}),
        ))
        .await
        .unwrap_err();

    assert!(matches!(error, GraphError::Interrupted { .. }), "{error}");
    assert!(error
        .to_string()
        .contains("may or may not have taken effect"));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_idempotent_request_is_retried_after_the_connection_drops() {
    let (base, connections) = hang_up_server().await;
    let (client, _) = client_for(&base, fast_retry(Duration::from_millis(900)));

    let error = client
        .get::<Application>("applications/a1")
        .await
        .unwrap_err();

    assert!(
        matches!(error, GraphError::RetryBudgetExhausted { .. }),
        "{error}"
    );
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn connection_refused_fails_at_once_with_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (client, _) = client_for(&base, RetryPolicy::default());

    let started = Instant::now();
    let error = client
        .get::<Application>("applications/a1")
        .await
        .unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        error
            .to_string()
            .starts_with(&format!("could not connect to {base}: ")),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_trusted_gets_the_ca_hint() {
    // The simulator serves TLS from a CA this client was not told about.
    let running = common::sim::start(entra_mail::sim::SimOptions::default()).await;
    let (client, _) = client_for(&running.sim.graph_url(), fast_retry(Duration::from_secs(2)));
    let error = client
        .get::<serde_json::Value>("organization")
        .await
        .unwrap_err();
    assert!(
        matches!(error, GraphError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("set SSL_CERT_FILE or --ca-cert"));
}

#[tokio::test]
async fn the_shared_client_never_follows_a_redirect_with_a_secret() {
    let server = ScriptedServer::start().await;
    server.push(
        Canned::empty(307).with_header("Location", &format!("{}/elsewhere/token", server.base)),
    );
    server.always(Canned::json(200, json!({"access_token": "stolen"})));
    let http =
        entra_mail::http::build_client(&entra_mail::http::TransportOptions::default()).unwrap();
    let answer = http
        .post(format!("{}/tenant/oauth2/v2.0/token", server.base))
        .form(&[("client_secret", "not-a-real-secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 307);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/tenant/oauth2/v2.0/token"],
        "the form went nowhere else"
    );
}
