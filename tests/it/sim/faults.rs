//! The simulator's fault knobs, each shown to do what `Faults` documents and what Microsoft
//! documents of Entra: eventual consistency (replication lag) and throttling.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::calls::{body, fail, ok, s};
use common::sim::Running;
use entra_mail::graph::{GraphClient, GraphError, Request, RetryPolicy};
use entra_mail::sim::{Faults, SimOptions, TenantInfo, TenantSpec};
use serde_json::{json, Value};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const CA: &str = "identity/conditionalAccess/policies";

// ---------------------------------------------------------------------------------------------
// helpers

async fn start(faults: Faults) -> (Running, GraphClient) {
    let running = common::sim::start(SimOptions {
        faults,
        ..SimOptions::default()
    })
    .await;
    let client = running.client();
    (running, client)
}

async fn create_app(client: &GraphClient, name: &str) -> Value {
    let response = ok(
        client,
        Request::post(
            "applications",
            json!({"displayName": name, "signInAudience": "AzureADMyOrg"}),
        ),
    )
    .await;
    assert_eq!(response.status, 201);
    body(&response)
}

/// A client-credentials request to `tenant_id`'s token endpoint: the status and the answer.
async fn client_credentials(
    running: &Running,
    tenant_id: &str,
    client_id: &str,
    secret: &str,
) -> (u16, Value) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", secret)
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .finish();
    let response = running
        .http()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            running.sim.authority_host(),
            tenant_id
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// An app-only token for `tenant`'s admin app, straight from the token endpoint.
async fn token_for(running: &Running, tenant: &TenantInfo, secret: &str) -> String {
    let (status, token) =
        client_credentials(running, &tenant.tenant_id, &tenant.admin_client_id, secret).await;
    assert_eq!(status, 200, "token request");
    s(&token, "/access_token").to_string()
}

async fn admin_token(running: &Running) -> String {
    token_for(
        running,
        &running.tenant,
        running.tenant.admin_client_secret.expose(),
    )
    .await
}

/// A raw GET below `/v1.0/`, for looking at statuses and headers the client would retry.
async fn raw_get(running: &Running, token: &str, path: &str) -> reqwest::Response {
    running
        .http()
        .get(format!("{}/v1.0/{path}", running.sim.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The request log's Graph requests (it may also hold sign-in requests).
fn graph_log(running: &Running) -> Vec<entra_mail::sim::LogEntry> {
    running
        .sim
        .request_log()
        .into_iter()
        .filter(|e| !e.path.contains("/oauth2/") && !e.path.contains(".well-known"))
        .collect()
}

/// A production client that gives up at once instead of retrying 429/503.
fn impatient_client(running: &Running) -> GraphClient {
    let http = running.http();
    let endpoints = running.endpoints();
    let tenant = &running.tenant;
    let credential = entra_mail::auth::client_secret(
        &tenant.tenant_id,
        &tenant.admin_client_id,
        &tenant.admin_client_secret,
        &http,
        &endpoints.authority_host,
    )
    .unwrap();
    GraphClient::builder(&endpoints, credential)
        .http_client(http)
        // Time for one exchange with the local simulator, never for the shortest retry wait
        // (half of the 1 s base delay): the budget now also bounds each request, so a 1 ms
        // budget would end the first exchange before its answer.
        .retry(RetryPolicy {
            budget: Duration::from_millis(450),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// replication_lag / list_lag

#[tokio::test]
async fn replication_lag_hides_new_objects_from_reads_and_dependent_writes() {
    let lag = Duration::from_millis(400);
    let (_running, client) = start(Faults {
        replication_lag: lag,
        ..Faults::default()
    })
    .await;
    ok(&client, Request::get("groups")).await; // sign in first
    let created = Instant::now();
    let app = create_app(&client, "fresh").await;
    let answered = Instant::now();
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");

    // README §4: a new object can return Not Found for a while.
    for path in [
        format!("applications/{id}"),
        format!("applications(appId='{app_id}')"),
    ] {
        let e = fail(&client, Request::get(&path)).await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (404, "Request_ResourceNotFound"),
            "{path}"
        );
    }
    // POST /servicePrincipals -> 400 Request_BadRequest / NoBackingApplicationObject.
    let e = fail(
        &client,
        Request::post("servicePrincipals", json!({"appId": app_id})),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    assert!(e.has_code("NoBackingApplicationObject"), "{e}");
    assert_eq!(e.details[0].code, "NoBackingApplicationObject");
    assert_eq!(e.details[0].target.as_deref(), Some("appId"));
    assert!(e
        .message
        .contains("does not reference a valid application object"));
    // addPassword -> 404 "Resource '<id>' does not exist or one of its queried ...".
    let e = fail(
        &client,
        Request::post(format!("applications/{id}/addPassword"), json!({})),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    assert_eq!(
        e.message,
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")
    );
    assert!(created.elapsed() < lag, "the checks ran inside the lag");

    tokio::time::sleep(lag.saturating_sub(answered.elapsed()) + Duration::from_millis(50)).await;
    let read = body(&ok(&client, Request::get(format!("applications/{id}"))).await);
    assert_eq!(s(&read, "/appId"), app_id);
    let secret = ok(
        &client,
        Request::post(format!("applications/{id}/addPassword"), json!({})),
    )
    .await;
    assert_eq!(secret.status, 200);
    let sp_response = ok(
        &client,
        Request::post("servicePrincipals", json!({"appId": app_id})),
    )
    .await;
    assert_eq!(sp_response.status, 201);
    let sp_id = s(&body(&sp_response), "/id").to_string();

    // The new service principal replicates too: grants naming it fail for a while.
    let graph_sp = {
        let deadline = Instant::now();
        let graph = body(
            &ok(
                &client,
                Request::get(format!("servicePrincipals(appId='{GRAPH}')")).query("$select", "id"),
            )
            .await,
        );
        assert!(deadline.elapsed() < lag);
        s(&graph, "/id").to_string()
    };
    let e = fail(
        &client,
        Request::post(
            "oauth2PermissionGrants",
            json!({"clientId": sp_id, "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "User.Read"}),
        ),
    )
    .await;
    assert_eq!(e.status, 404);
    tokio::time::sleep(lag + Duration::from_millis(50)).await;
    let grant = ok(
        &client,
        Request::post(
            "oauth2PermissionGrants",
            json!({"clientId": sp_id, "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "User.Read"}),
        ),
    )
    .await;
    assert_eq!(grant.status, 201);
}

/// A client-credentials sign-in with `secret` as `client_id`: the status and Entra's first
/// error code (0 when it signed in).
async fn sign_in_as(running: &Running, client_id: &str, secret: &str) -> (u16, u64) {
    let (status, answer) =
        client_credentials(running, &running.tenant.tenant_id, client_id, secret).await;
    (status, answer["error_codes"][0].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn replication_lag_keeps_new_credentials_from_signing_in() {
    let lag = Duration::from_millis(400);
    let (running, client) = start(Faults {
        replication_lag: lag,
        ..Faults::default()
    })
    .await;
    let tenant = running.tenant.clone();
    ok(&client, Request::get("groups")).await; // sign in first

    // A new secret on an existing app: refused as a wrong one (AADSTS7000215) until it has
    // replicated, while the app's other secret keeps working.
    let admin_app = running.sim.tenant_snapshot(&tenant.tenant_id).unwrap()["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == json!(tenant.admin_client_id))
        .map(|a| s(a, "/id").to_string())
        .unwrap();
    let added = Instant::now();
    let credential = body(
        &ok(
            &client,
            Request::post(format!("applications/{admin_app}/addPassword"), json!({})),
        )
        .await,
    );
    let secret = s(&credential, "/secretText").to_string();
    assert_eq!(
        sign_in_as(&running, &tenant.admin_client_id, &secret).await,
        (401, 7000215)
    );
    let old = sign_in_as(
        &running,
        &tenant.admin_client_id,
        tenant.admin_client_secret.expose(),
    )
    .await;
    assert_eq!(old, (200, 0));
    assert!(added.elapsed() < lag, "the checks ran inside the lag");
    tokio::time::sleep(lag.saturating_sub(added.elapsed()) + Duration::from_millis(50)).await;
    assert_eq!(
        sign_in_as(&running, &tenant.admin_client_id, &secret).await,
        (200, 0)
    );

    // A brand-new app is unknown to sign-in (AADSTS700016) until it has replicated.
    let app = create_app(&client, "brand new").await;
    let app_id = s(&app, "/appId").to_string();
    assert_eq!(sign_in_as(&running, &app_id, &secret).await, (400, 700016));
    tokio::time::sleep(lag + Duration::from_millis(50)).await;
    assert_eq!(
        sign_in_as(&running, &app_id, &secret).await,
        (401, 7000215),
        "found now, and the secret is not its own"
    );
}

#[tokio::test]
async fn replication_lag_shows_the_old_version_of_a_changed_object() {
    let lag = Duration::from_millis(300);
    let (running, client) = start(Faults::default()).await;
    let app = create_app(&client, "before").await;
    let id = s(&app, "/id").to_string();
    running.sim.set_faults(|f| f.replication_lag = lag);
    let patched = Instant::now();
    ok(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"displayName": "after"}),
        ),
    )
    .await;
    let read = body(&ok(&client, Request::get(format!("applications/{id}"))).await);
    assert!(patched.elapsed() < lag);
    assert_eq!(s(&read, "/displayName"), "before");
    tokio::time::sleep(lag + Duration::from_millis(50)).await;
    let read = body(&ok(&client, Request::get(format!("applications/{id}"))).await);
    assert_eq!(s(&read, "/displayName"), "after");
}

#[tokio::test]
async fn list_lag_outlasts_point_read_lag() {
    let point = Duration::from_millis(300);
    let listed = Duration::from_millis(900);
    let (_running, client) = start(Faults {
        replication_lag: point,
        list_lag: listed,
        ..Faults::default()
    })
    .await;
    ok(&client, Request::get("groups")).await; // sign in first
    let created = Instant::now();
    let app = create_app(&client, "listed-late").await;
    let answered = Instant::now();
    let id = s(&app, "/id");
    let by_name = Request::get("applications").query("$filter", "displayName eq 'listed-late'");

    tokio::time::sleep(point.saturating_sub(answered.elapsed()) + Duration::from_millis(50)).await;
    ok(&client, Request::get(format!("applications/{id}"))).await;
    let early = client.list::<Value>(by_name.clone()).await.unwrap();
    assert!(created.elapsed() < listed);
    assert!(early.is_empty(), "lists lag longer than point reads");

    tokio::time::sleep(listed.saturating_sub(answered.elapsed()) + Duration::from_millis(50)).await;
    let late = client.list::<Value>(by_name).await.unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["id"], app["id"]);
}

// ---------------------------------------------------------------------------------------------
// throttle_rate / throttle_retry_after / unavailable_rate

#[tokio::test]
async fn throttling_answers_429_with_or_without_retry_after() {
    let (running, _client) = start(Faults::default()).await;
    let token = admin_token(&running).await;
    running.sim.set_faults(|f| {
        f.throttle_rate = 1.0;
        f.throttle_retry_after = Some(2);
    });
    let response = raw_get(&running, &token, "applications").await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["code"].is_string());
    assert!(error["error"]["innerError"]["request-id"].is_string());

    running.sim.set_faults(|f| f.throttle_retry_after = None);
    let response = raw_get(&running, &token, "applications").await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(running.sim.counters().throttled, 2);

    // Token requests are not throttled by the Graph knob.
    token_for(
        &running,
        &running.tenant,
        running.tenant.admin_client_secret.expose(),
    )
    .await;

    // The production client with no budget reports the 429 instead of waiting.
    let impatient = impatient_client(&running);
    match impatient.send(&Request::get("applications")).await {
        Err(GraphError::RetryBudgetExhausted { last, attempts, .. }) => {
            assert_eq!(attempts, 1);
            assert!(last.contains("429"), "{last}");
        }
        other => panic!("expected the retry budget to run out, got {other:?}"),
    }

    running.sim.set_faults(|f| f.throttle_rate = 0.0);
    assert_eq!(
        raw_get(&running, &token, "applications")
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn the_client_waits_retry_after_and_succeeds_once_throttling_stops() {
    let (running, client) = start(Faults::default()).await;
    ok(&client, Request::get("groups")).await; // sign in first
    running.sim.set_faults(|f| {
        f.throttle_rate = 1.0;
        f.throttle_retry_after = Some(1);
    });
    let started = Instant::now();
    let request = Request::get("groups");
    let sending = client.send(&request);
    let relieving = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        running.sim.set_faults(|f| f.throttle_rate = 0.0);
    };
    let (outcome, ()) = tokio::join!(sending, relieving);
    assert_eq!(outcome.unwrap().status, 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After 1 s honoured"
    );
    let statuses: Vec<u16> = graph_log(&running)
        .iter()
        .skip(1)
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![429, 200]);
}

#[tokio::test]
async fn unavailable_rate_answers_503() {
    let (running, _client) = start(Faults::default()).await;
    let token = admin_token(&running).await;
    running.sim.set_faults(|f| f.unavailable_rate = 1.0);
    let response = raw_get(&running, &token, "groups").await;
    assert_eq!(response.status().as_u16(), 503);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["code"].is_string());
    assert_eq!(running.sim.counters().unavailable, 1);

    let impatient = impatient_client(&running);
    match impatient.send(&Request::get("groups")).await {
        Err(GraphError::RetryBudgetExhausted { last, .. }) => {
            assert!(last.contains("503"), "{last}")
        }
        other => panic!("expected the retry budget to run out, got {other:?}"),
    }
    running.sim.set_faults(|f| f.unavailable_rate = 0.0);
    assert_eq!(
        raw_get(&running, &token, "groups").await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn the_seed_decides_which_requests_are_throttled() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let running = common::sim::start(SimOptions {
            seed,
            ..SimOptions::default()
        })
        .await;
        let token = admin_token(&running).await;
        running.sim.set_faults(|f| f.throttle_rate = 0.5);
        let http = running.http();
        let url = format!("{}/v1.0/groups", running.sim.graph_url());
        let mut statuses = Vec::new();
        for _ in 0..16 {
            let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    }
    let first = statuses(7).await;
    assert_eq!(first, statuses(7).await);
    assert!(first.contains(&429) && first.contains(&200), "{first:?}");
}

// ---------------------------------------------------------------------------------------------
// Conditional Access: one request per second per tenant

#[tokio::test]
async fn conditional_access_allows_one_request_per_second_per_tenant() {
    let running = common::sim::start(SimOptions {
        tenants: vec![
            TenantSpec::default(),
            TenantSpec {
                domain_label: "fabrikam".into(),
                display_name: "Fabrikam".into(),
                ..TenantSpec::default()
            },
        ],
        ..SimOptions::default()
    })
    .await;
    assert!(Faults::default().conditional_access_rate_limit);
    let tenants = running.sim.tenants();
    let a = tenants
        .iter()
        .find(|t| t.domain == "contoso.onmicrosoft.com")
        .unwrap();
    let b = tenants
        .iter()
        .find(|t| t.domain == "fabrikam.onmicrosoft.com")
        .unwrap();
    let token_a = token_for(&running, a, a.admin_client_secret.expose()).await;
    let token_b = token_for(&running, b, b.admin_client_secret.expose()).await;

    let first = Instant::now();
    assert_eq!(raw_get(&running, &token_a, CA).await.status().as_u16(), 200);
    let second = raw_get(&running, &token_a, CA).await;
    assert!(first.elapsed() < Duration::from_secs(1));
    assert_eq!(second.status().as_u16(), 429);
    // README §5: "a 429 there comes with no Retry-After" (even though other 429s have one).
    assert!(Faults::default().throttle_retry_after.is_some());
    assert!(second.headers().get("retry-after").is_none());
    // Other Graph calls of the same tenant are not limited.
    assert_eq!(
        raw_get(&running, &token_a, "groups")
            .await
            .status()
            .as_u16(),
        200
    );

    // The limit is per tenant, and each request of a batch counts on its own.
    let batch: Value = running
        .http()
        .post(format!("{}/v1.0/$batch", running.sim.graph_url()))
        .bearer_auth(&token_b)
        .json(&json!({"requests": [
            {"id": "1", "method": "GET", "url": format!("/{CA}")},
            {"id": "2", "method": "GET", "url": format!("/{CA}")}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status = |id: &str| {
        batch["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == json!(id))
            .map(|r| r["status"].clone())
            .unwrap()
    };
    assert_eq!(status("1"), json!(200), "{batch}");
    assert_eq!(status("2"), json!(429), "{batch}");

    // The refused request counted too, so wait a full second after it.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(raw_get(&running, &token_a, CA).await.status().as_u16(), 200);
    assert!(running.sim.counters().throttled >= 2);
}

// ---------------------------------------------------------------------------------------------
// drop_answer_of_writes

#[tokio::test]
async fn a_dropped_answer_still_commits_the_write() {
    let (running, client) = start(Faults {
        drop_answer_of_writes: vec![1],
        ..Faults::default()
    })
    .await;
    let outcome = client
        .send(&Request::post(
            "applications",
            json!({"displayName": "lost answer"}),
        ))
        .await;
    let error = outcome.expect_err("the answer of write 1 is dropped");
    assert!(error.api().is_none(), "no Graph answer: {error}");
    assert!(
        matches!(error, GraphError::Interrupted { .. }),
        "a POST is not retried: {error}"
    );
    let snapshot = running
        .sim
        .tenant_snapshot(&running.tenant.tenant_id)
        .unwrap();
    let committed: Vec<&Value> = snapshot["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["displayName"] == json!("lost answer"))
        .collect();
    assert_eq!(committed.len(), 1, "the write committed");
    let counters = running.sim.counters();
    assert_eq!(counters.dropped_answers, 1);
    assert_eq!(counters.writes, 1);
    assert!(graph_log(&running)[0].wrote);

    // Write 2 is answered.
    let second = create_app(&client, "answered").await;
    assert_eq!(s(&second, "/displayName"), "answered");
    assert_eq!(running.sim.counters().dropped_answers, 1);
}

// ---------------------------------------------------------------------------------------------
// latency / route_latency

#[tokio::test]
async fn latency_delays_every_request() {
    let (running, client) = start(Faults::default()).await;
    ok(&client, Request::get("groups")).await; // sign in first
    running
        .sim
        .set_faults(|f| f.latency = Duration::from_millis(300));
    let started = Instant::now();
    ok(&client, Request::get("users")).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let entry = graph_log(&running).last().cloned().unwrap();
    assert!(entry.latency_ms >= 300, "{entry:?}");
}

#[tokio::test]
async fn route_latency_delays_only_matching_paths() {
    let (_running, client) = start(Faults {
        route_latency: vec![("groups".into(), Duration::from_millis(500))],
        ..Faults::default()
    })
    .await;
    ok(&client, Request::get("users")).await; // sign in first
    let started = Instant::now();
    ok(&client, Request::get("users")).await;
    let users = started.elapsed();
    let started = Instant::now();
    ok(&client, Request::get("groups")).await;
    let groups = started.elapsed();
    assert!(groups >= Duration::from_millis(500), "{groups:?}");
    assert!(users < Duration::from_millis(500), "{users:?}");
}

// ---------------------------------------------------------------------------------------------
// counters and the request log

#[tokio::test]
async fn counters_and_request_log_record_every_graph_request() {
    let (running, client) = start(Faults::default()).await;
    ok(&client, Request::get("groups")).await; // sign in first
    running.sim.reset_counters();
    assert_eq!(running.sim.counters().requests, 0);
    assert!(running.sim.request_log().is_empty());

    ok(&client, Request::get("applications")).await;
    let app = create_app(&client, "counted").await;
    let id = s(&app, "/id");
    ok(
        &client,
        Request::patch(format!("applications/{id}"), json!({"displayName": "c"})),
    )
    .await;
    fail(
        &client,
        Request::get("applications/6b4c1d1e-0000-4000-8000-000000000000"),
    )
    .await;
    ok(
        &client,
        Request::patch(
            "applications(uniqueName='counted-key')",
            json!({"displayName": "k"}),
        )
        .header("Prefer", "create-if-missing"),
    )
    .await;

    let counters = running.sim.counters();
    assert_eq!(counters.requests, 5);
    assert_eq!(counters.writes, 3);
    assert_eq!(counters.token_requests, 0, "the token was cached");
    for (route, n) in [
        ("GET applications", 1),
        ("POST applications", 1),
        ("PATCH applications/{id}", 1),
        ("GET applications/{id}", 1),
        ("PATCH applications(uniqueName)", 1),
    ] {
        assert_eq!(counters.by_route.get(route), Some(&n), "{route}");
    }

    let log = graph_log(&running);
    let summary: Vec<(String, u16, bool)> = log
        .iter()
        .map(|e| (e.method.clone(), e.status, e.wrote))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("GET".into(), 200, false),
            ("POST".into(), 201, true),
            ("PATCH".into(), 204, true),
            ("GET".into(), 404, false),
            ("PATCH".into(), 201, true),
        ]
    );
    assert_eq!(log[1].path, "applications");
    assert_eq!(log[2].path, format!("applications/{id}"));
    assert!(log
        .iter()
        .all(|e| e.tenant.as_deref() == Some(running.tenant.tenant_id.as_str())));

    // An unauthenticated request is logged without a tenant.
    let response = raw_get(&running, "not-a-token", "applications").await;
    assert_eq!(response.status().as_u16(), 401);
    let last = graph_log(&running).last().cloned().unwrap();
    assert_eq!((last.status, last.tenant), (401, None));
    assert_eq!(running.sim.counters().requests, 6);

    // Token requests are counted apart.
    admin_token(&running).await;
    assert_eq!(running.sim.counters().token_requests, 1);
    assert_eq!(running.sim.counters().requests, 6);
}

// ---------------------------------------------------------------------------------------------
// seed determinism

#[tokio::test]
async fn the_same_seed_gives_the_same_ids_and_secrets() {
    async fn run(seed: u64) -> Vec<String> {
        let (running, client) = start_seeded(seed).await;
        let app = create_app(&client, "deterministic").await;
        let secret = body(
            &ok(
                &client,
                Request::post(
                    format!("applications/{}/addPassword", s(&app, "/id")),
                    json!({}),
                ),
            )
            .await,
        );
        vec![
            running.tenant.tenant_id.clone(),
            running.tenant.admin_client_id.clone(),
            running.tenant.admin_service_principal_id.clone(),
            s(&app, "/id").to_string(),
            s(&app, "/appId").to_string(),
            s(&secret, "/keyId").to_string(),
            s(&secret, "/secretText").to_string(),
        ]
    }
    async fn start_seeded(seed: u64) -> (Running, GraphClient) {
        let running = common::sim::start(SimOptions {
            seed,
            ..SimOptions::default()
        })
        .await;
        let client = running.client();
        (running, client)
    }
    let first = run(42).await;
    let second = run(42).await;
    assert_eq!(first, second);
    let other = run(43).await;
    for (a, b) in first.iter().zip(&other) {
        assert_ne!(a, b);
    }
}

// ---------------------------------------------------------------------------------------------
// state_file

#[tokio::test]
async fn the_state_file_keeps_the_directory_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim-state.json");
    let tenant_id = "11111111-2222-4333-8444-555555555555";
    let options = || SimOptions {
        state_file: Some(path.clone()),
        tenants: vec![TenantSpec {
            tenant_id: Some(tenant_id.into()),
            ..TenantSpec::default()
        }],
        ..SimOptions::default()
    };

    let (id, extra_secret) = {
        let running = common::sim::start(options()).await;
        assert_eq!(running.tenant.tenant_id, tenant_id);
        let client = running.client();
        let app = create_app(&client, "kept").await;
        let admin_app = running.sim.tenant_snapshot(tenant_id).unwrap()["applications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["appId"] == json!(running.tenant.admin_client_id))
            .map(|a| s(a, "/id").to_string())
            .unwrap();
        let secret = body(
            &ok(
                &client,
                Request::post(format!("applications/{admin_app}/addPassword"), json!({})),
            )
            .await,
        );
        running.sim.with_tenant(tenant_id, |t| t.p1_licence = false);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file holds secrets");
        (
            s(&app, "/id").to_string(),
            s(&secret, "/secretText").to_string(),
        )
    };

    let running = common::sim::start(options()).await;
    assert_eq!(running.sim.tenants().len(), 1, "no second tenant");
    let snapshot = running.sim.tenant_snapshot(tenant_id).unwrap();
    assert!(snapshot["applications"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == json!(id)));
    assert_eq!(snapshot["p1Licence"], json!(false));
    // The admin app signs in with its persisted secret, and with the one added before.
    let client = running.client();
    let read = body(&ok(&client, Request::get(format!("applications/{id}"))).await);
    assert_eq!(s(&read, "/displayName"), "kept");
    token_for(&running, &running.tenant, &extra_secret).await;
    assert!(running.sim.issued_secrets().contains(&extra_secret));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn grants_filtered_on_client_id_replicate_like_point_reads() {
    let point = Duration::from_millis(300);
    let listed = Duration::from_millis(900);
    let (running, client) = start(Faults {
        replication_lag: point,
        list_lag: listed,
        ..Faults::default()
    })
    .await;
    let snapshot = running
        .sim
        .tenant_snapshot(&running.tenant.tenant_id)
        .unwrap();
    let exchange_sp = snapshot["servicePrincipals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["appId"] == json!("00000002-0000-0ff1-ce00-000000000000"))
        .map(|sp| s(sp, "/id").to_string())
        .unwrap();
    let client_id = running.tenant.admin_service_principal_id.clone();
    ok(
        &client,
        Request::post(
            "oauth2PermissionGrants",
            json!({"clientId": client_id, "consentType": "AllPrincipals",
                   "resourceId": exchange_sp, "scope": "IMAP.AccessAsUser.All"}),
        ),
    )
    .await;
    let answered = Instant::now();
    tokio::time::sleep(point + Duration::from_millis(50)).await;
    // calls.json list_oauth2_permission_grants: "Replication delay for recently
    // created/updated/deleted grants is minimized when filtering on clientId."
    let found = client
        .list::<Value>(
            Request::get("oauth2PermissionGrants")
                .query("$filter", format!("clientId eq '{client_id}'")),
        )
        .await
        .unwrap();
    assert!(answered.elapsed() < listed);
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn batch_depends_on_does_not_wait_for_replication() {
    let lag = Duration::from_millis(400);
    let (_running, client) = start(Faults {
        replication_lag: lag,
        ..Faults::default()
    })
    .await;
    // README §4: dependsOn only orders requests; it does not wait for replication.
    let batch = body(
        &ok(
            &client,
            Request::post(
                "$batch",
                json!({"requests": [
                    {"id": "1", "method": "PATCH", "url": "/applications(uniqueName='in-batch')",
                     "headers": {"Content-Type": "application/json", "Prefer": "create-if-missing"},
                     "body": {"displayName": "in batch"}},
                    {"id": "2", "dependsOn": ["1"], "method": "POST",
                     "url": "/applications(uniqueName='in-batch')/addPassword",
                     "headers": {"Content-Type": "application/json"}, "body": {}}
                ]}),
            ),
        )
        .await,
    );
    let status = |id: &str| {
        batch["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == json!(id))
            .map(|r| r["status"].clone())
            .unwrap()
    };
    assert_eq!(status("1"), json!(201), "{batch}");
    assert_eq!(status("2"), json!(404), "{batch}");
}

#[tokio::test]
async fn conditional_access_retries_count_against_the_limit() {
    let (running, _client) = start(Faults::default()).await;
    let token = admin_token(&running).await;
    let http = running.http();
    let url = format!("{}/v1.0/{CA}", running.sim.graph_url());
    let get = || http.get(&url).bearer_auth(&token).send();
    let first = Instant::now();
    assert_eq!(get().await.unwrap().status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(get().await.unwrap().status().as_u16(), 429);
    let retried = Instant::now();
    tokio::time::sleep(Duration::from_millis(1050).saturating_sub(first.elapsed())).await;
    // README §5: "Immediate retries still count against the limit"; the refused request at
    // ~0.6 s was one, so a request at ~1.05 s is a second request within one second.
    assert!(retried.elapsed() < Duration::from_secs(1));
    assert_eq!(get().await.unwrap().status().as_u16(), 429);
}
