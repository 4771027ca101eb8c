//! Conformance of the simulated tenant with Microsoft Graph v1.0 as Microsoft documents it
//! (the calls, errors and ids copied into src/sim/data/).
//!
//! Every test talks to the simulator through the production `GraphClient` over TLS.

use crate::common;

use std::collections::HashSet;

use common::calls::{body, fail, ok, s};
use common::sim::Running;
use entra_mail::graph::{GraphClient, Request};
use entra_mail::sim::state::Obj;
use entra_mail::sim::{Faults, SimOptions, TenantSpec};
use reqwest::Method;
use serde_json::{json, Value};

// One file per section of the Graph documentation the simulator follows.
mod app_role_assignments;
mod batch;
mod conditional_access;
mod create_application;
mod delete_application;
mod domains_organization;
mod error_shape;
mod expose_api;
mod get_application;
mod groups_users_security_defaults;
mod key_vault;
mod multi_tenant_isolation;
mod oauth2_permission_grants;
mod passwords;
mod permission_checks;
mod resource_service_principals;
mod service_principals;
mod subscribed_skus;
mod update_application;
mod upsert_application;

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const AZURE_MANAGEMENT: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
/// Graph application permission User.Read.All (well_known_ids.json).
const ROLE_USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";
/// Graph application permission Mail.Send (well_known_ids.json).
const ROLE_MAIL_SEND: &str = "b633e1c5-b582-4048-a93e-9f11b44c7e96";
/// Exchange Online IMAP.AccessAsApp (well_known_ids.json, third-party).
const ROLE_IMAP_ACCESS_AS_APP: &str = "5e5addcd-3e8d-4e90-baf5-964efab2b20a";
const SCOPE_DISABLED_FIRST: &str =
    "Permission (scope or role) cannot be deleted or updated unless disabled first";

// ---------------------------------------------------------------------------------------------
// helpers

/// Options for tests that are not about the Conditional Access rate limit.
fn options() -> SimOptions {
    SimOptions {
        faults: Faults {
            conditional_access_rate_limit: false,
            ..Faults::default()
        },
        ..SimOptions::default()
    }
}

async fn start() -> (Running, GraphClient) {
    let running = common::sim::start(options()).await;
    let client = running.client();
    (running, client)
}

async fn start_with_roles(roles: &[&str]) -> (Running, GraphClient) {
    let mut options = options();
    options.tenants.push(TenantSpec {
        admin_roles: roles.iter().map(|r| r.to_string()).collect(),
        ..TenantSpec::default()
    });
    let running = common::sim::start(options).await;
    let client = running.client();
    (running, client)
}

fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

/// The property names of a JSON object (what `$select` kept).
fn keys_of(value: &Value) -> HashSet<&str> {
    value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn context_of(value: &Value) -> &str {
    s(value, "/@odata.context")
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

async fn create_sp(client: &GraphClient, app_id: &str) -> Value {
    let response = ok(
        client,
        Request::post("servicePrincipals", json!({"appId": app_id})),
    )
    .await;
    assert_eq!(response.status, 201);
    body(&response)
}

async fn sp_id_of(client: &GraphClient, app_id: &str) -> String {
    let sp = body(
        &ok(
            client,
            Request::get(format!("servicePrincipals(appId='{app_id}')")).query("$select", "id"),
        )
        .await,
    );
    s(&sp, "/id").to_string()
}

async fn get_app(client: &GraphClient, id: &str) -> Value {
    body(&ok(client, Request::get(format!("applications/{id}"))).await)
}

async fn list(client: &GraphClient, request: Request) -> Vec<Value> {
    client.list::<Value>(request).await.unwrap()
}

fn snapshot_list(running: &Running, tenant_id: &str, set: &str) -> Vec<Value> {
    running
        .sim
        .tenant_snapshot(tenant_id)
        .expect("tenant in snapshot")
        .get(set)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The id of a seeded object in the tenant's snapshot, by a string property.
fn snapshot_id(running: &Running, set: &str, property: &str, value: &str) -> String {
    snapshot_list(running, &running.tenant.tenant_id, set)
        .iter()
        .find(|o| o.get(property).and_then(Value::as_str) == Some(value))
        .map(|o| s(o, "/id").to_string())
        .unwrap_or_else(|| panic!("no {set} with {property} = {value}"))
}

fn admin_app_object_id(running: &Running) -> String {
    snapshot_id(
        running,
        "applications",
        "appId",
        &running.tenant.admin_client_id,
    )
}

fn mfa_pilot(running: &Running) -> Value {
    let group = snapshot_id(running, "groups", "displayName", "MFA-Test-Group");
    let bg1 = snapshot_id(
        running,
        "users",
        "userPrincipalName",
        "breakglass1@contoso.onmicrosoft.com",
    );
    let bg2 = snapshot_id(
        running,
        "users",
        "userPrincipalName",
        "breakglass2@contoso.onmicrosoft.com",
    );
    json!({
        "displayName": "MFA Pilot",
        "state": "enabledForReportingButNotEnforced",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": [AZURE_MANAGEMENT]},
            "users": {"includeGroups": [group], "excludeUsers": [bg1, bg2]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    })
}

/// A policy that names no specific application (so Application.Read.All is not involved).
fn policy_for_all_apps(name: &str) -> Value {
    json!({
        "displayName": name,
        "state": "disabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["None"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    })
}

fn parse_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

const CA: &str = "identity/conditionalAccess/policies";
