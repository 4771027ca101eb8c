//! HTTPS serving: TLS accept loop, routes, latency, dropped answers, request log and state
//! persistence around the Graph, Key Vault and token handlers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::graph::{self, GraphCall};
use super::keyvault;
use super::state::{AppState, Faults, Inner, LogEntry};
use super::token;

/// Marks a response whose connection is cut instead of answered.
#[derive(Clone, Copy)]
struct DropConnection;

pub fn router(state: AppState) -> Router {
    let sign_in = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(token::device_code))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(token::openid_configuration),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log_sign_in,
        ));
    Router::new()
        .merge(sign_in)
        .route("/v1.0/{*path}", axum::routing::any(service_request))
        .route("/keyvault/{*path}", axum::routing::any(service_request))
        .route("/sim/snapshot", get(snapshot))
        .route("/sim/counters", get(counters))
        .route("/sim/log", get(request_log))
        .route(
            "/sim/device-codes/{user_code}/approve",
            post(approve_device_code),
        )
        .with_state(state)
}

/// Latency and the request log for the sign-in endpoints, as for Graph.
async fn log_sign_in(
    State(app): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().trim_start_matches('/').to_string();
    let delay = app.lock().faults.latency;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let response = next.run(request).await;
    let mut inner = app.lock();
    let started_us = inner.micros_since_start(started);
    let finished_us = inner.micros_since_start(Instant::now());
    let tenant = path.split('/').next().map(String::from);
    inner.log.push(LogEntry {
        tenant,
        method,
        path,
        status: response.status().as_u16(),
        latency_ms: started.elapsed().as_millis() as u64,
        wrote: false,
        started_us,
        finished_us,
        body: None,
    });
    response
}

/// How a service behind [`service_request`] (Graph, Key Vault) is reached and answers.
struct Service {
    /// Where its paths start; its handler gets the path below.
    mount: &'static str,
    /// Where the paths the request log shows start (Key Vault's keep `keyvault/`).
    log_mount: &'static str,
    handle: fn(&mut Inner, &str, &GraphCall<'_>) -> graph::Outcome,
    /// Its 503, for a write that commits and is then answered as unavailable.
    unavailable: fn() -> graph::Reply,
    /// A reply as an HTTP response, with the service's headers.
    respond: fn(graph::Reply, &HeaderMap) -> Response,
    /// What the log keeps of a write's JSON body.
    logged: fn(Value) -> Value,
}

const GRAPH: Service = Service {
    mount: "/v1.0/",
    log_mount: "/v1.0/",
    handle: graph::handle,
    unavailable: graph::unavailable,
    respond: to_response,
    logged: std::convert::identity,
};

const KEY_VAULT: Service = Service {
    mount: "/keyvault/",
    log_mount: "/",
    handle: keyvault::handle,
    unavailable: keyvault::unavailable,
    respond: keyvault::to_response,
    // What was asked for, never a secret's value.
    logged: keyvault::without_value,
};

/// A Graph (`/v1.0/...`) or Key Vault (`/keyvault/...`) request, with what every service
/// shares around its handler: latency, counters, the fate of writes (lost, held or 503
/// answers), persistence and the request log.
async fn service_request(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let service = if uri.path().starts_with(KEY_VAULT.mount) {
        &KEY_VAULT
    } else {
        &GRAPH
    };
    let below = |mount: &str| uri.path().strip_prefix(mount).unwrap_or_default();
    let path = below(service.log_mount);
    let delay = delay_for(&app.lock().faults, path);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let call = GraphCall {
        method: &method,
        path: below(service.mount),
        query: uri.query().unwrap_or_default(),
        headers: &headers,
        body: &body,
    };
    let (reply, fate) = {
        let mut inner = app.lock();
        let mut outcome = (service.handle)(&mut inner, &app.base_url, &call);
        let fate = settle(&app, &mut inner, &outcome, path);
        if fate.unavailable {
            outcome.reply = (service.unavailable)();
        }
        let started_us = inner.micros_since_start(started);
        let finished_us = inner.micros_since_start(Instant::now());
        inner.log.push(LogEntry {
            tenant: outcome.tenant.clone(),
            method: method.to_string(),
            path: path.to_string(),
            status: outcome.reply.status,
            latency_ms: started.elapsed().as_millis() as u64,
            wrote: outcome.wrote,
            started_us,
            finished_us,
            body: logged_body(&method, &body).map(service.logged),
        });
        (outcome.reply, fate)
    };
    if fate.hold_answer {
        // Committed and never answered: the client is killed while it waits.
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
    let mut response = (service.respond)(reply, &headers);
    if fate.drop_answer {
        response.extensions_mut().insert(DropConnection);
    }
    response
}

/// The latency of a request at `path`: the global one plus the largest route latency whose
/// prefix the path starts with.
fn delay_for(faults: &Faults, path: &str) -> Duration {
    let route_delay = faults
        .route_latency
        .iter()
        .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, d)| *d)
        .max()
        .unwrap_or_default();
    faults.latency + route_delay
}

/// What fault injection decided for a request's answer.
#[derive(Debug, Default, Clone, Copy)]
struct Fate {
    /// The write committed; the connection is cut instead of answered.
    drop_answer: bool,
    /// The write committed; the answer never comes.
    hold_answer: bool,
    /// The write committed; the answer is a 503.
    unavailable: bool,
}

/// Counts a request; for a write, rolls its fate and saves the state file.
fn settle(app: &AppState, inner: &mut Inner, outcome: &graph::Outcome, path: &str) -> Fate {
    inner.counters.requests += 1;
    *inner
        .counters
        .by_route
        .entry(outcome.route.clone())
        .or_default() += 1;
    if !outcome.wrote {
        return Fate::default();
    }
    inner.counters.writes += 1;
    inner.writes_seen += 1;
    let nth = inner.writes_seen;
    let rate = inner.faults.drop_answer_rate;
    let first_to_path = inner
        .faults
        .drop_answer_of_first_write_to
        .iter()
        .any(|p| p == path)
        && !inner.first_writes_dropped.iter().any(|p| p == path);
    if first_to_path {
        inner.first_writes_dropped.push(path.to_string());
    }
    let fate = Fate {
        hold_answer: inner.faults.hold_answer_of_writes.contains(&nth),
        drop_answer: inner.faults.drop_answer_of_writes.contains(&nth)
            || first_to_path
            || (rate > 0.0 && inner.rng.f64() < rate),
        unavailable: inner.faults.unavailable_after_writes.contains(&nth)
            || inner
                .faults
                .unavailable_after_writes_to
                .iter()
                .any(|p| p == path),
    };
    if fate.drop_answer {
        inner.counters.dropped_answers += 1;
    }
    if fate.unavailable {
        inner.counters.unavailable += 1;
    }
    if let Some(file) = &app.shared.state_file {
        if let Err(e) = super::persist(&inner.tenants, file) {
            tracing::warn!("cannot save the simulator state to {}: {e}", file.display());
        }
    }
    fate
}

/// A write's JSON body for the request log; reads carry none.
fn logged_body(method: &Method, body: &[u8]) -> Option<Value> {
    let write = [Method::POST, Method::PATCH, Method::PUT].contains(method);
    write.then(|| serde_json::from_slice(body).ok()).flatten()
}

/// A reply with Graph's headers and `innerError`.
fn to_response(reply: graph::Reply, request_headers: &HeaderMap) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request_headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .unwrap_or_else(|| request_id.clone());
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        Some(mut body) => {
            if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
                error.insert(
                    "innerError".into(),
                    json!({"date": graph::now_rfc3339().trim_end_matches('Z'), "request-id": request_id, "client-request-id": client_request_id}),
                );
            }
            (status, Json(body)).into_response()
        }
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("request-id", &request_id),
        ("client-request-id", &client_request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if let Some(content_type) = headers.get_mut("content-type") {
        if content_type == "application/json" {
            *content_type = HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8");
        }
    }
    response
}

async fn snapshot(State(app): State<AppState>) -> Json<Value> {
    Json(super::snapshot_of(&app.lock()))
}

async fn counters(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.lock().counters))
}

async fn request_log(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.lock().log))
}

async fn approve_device_code(
    State(app): State<AppState>,
    Path(user_code): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let user = query.get("user").cloned().unwrap_or_default();
    if super::approve_device_code(&mut app.lock(), &user_code, &user) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            "no pending sign-in with that user code",
        )
            .into_response()
    }
}

/// Ends a connection without an answer (hyper closes it when the service fails).
#[derive(Debug)]
struct AnswerDropped;

impl std::fmt::Display for AnswerDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped by fault injection")
    }
}

impl std::error::Error for AnswerDropped {}

/// Accepts TLS connections until `shutdown` is notified.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    shutdown: Arc<Notify>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.notified() => return,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let response = match router.oneshot(request.map(Body::new)).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        };
                        if response.extensions().get::<DropConnection>().is_some() {
                            // The write committed; the client never learns (a lost answer).
                            return Err(AnswerDropped);
                        }
                        Ok(response)
                    }
                },
            );
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
