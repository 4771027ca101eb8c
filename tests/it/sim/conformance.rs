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

const CA: &str = "identity/conditionalAccess/policies";

// ---------------------------------------------------------------------------------------------
// create_application

#[tokio::test]
async fn create_application_returns_201_with_the_documented_shape() {
    let (_running, client) = start().await;
    let response = ok(
        &client,
        Request::post("applications", json!({"displayName": "Display name"})),
    )
    .await;
    assert_eq!(response.status, 201);
    let app = body(&response);
    assert!(
        context_of(&app).ends_with("$metadata#applications/$entity"),
        "{app}"
    );
    assert!(is_guid(s(&app, "/id")));
    assert!(is_guid(s(&app, "/appId")));
    assert_ne!(s(&app, "/id"), s(&app, "/appId"));
    assert_eq!(s(&app, "/displayName"), "Display name");
    assert_eq!(app["identifierUris"], json!([]));
    // signInAudience defaults to AzureADandPersonalMicrosoftAccount (README §1).
    assert_eq!(
        s(&app, "/signInAudience"),
        "AzureADandPersonalMicrosoftAccount"
    );
    assert_eq!(app["api"]["requestedAccessTokenVersion"], json!(2));
    assert_eq!(app["api"]["acceptMappedClaims"], Value::Null);
    for empty in [
        "knownClientApplications",
        "oauth2PermissionScopes",
        "preAuthorizedApplications",
    ] {
        assert_eq!(app["api"][empty], json!([]), "api.{empty}");
    }
    assert_eq!(app["passwordCredentials"], json!([]));
    assert_eq!(app["requiredResourceAccess"], json!([]));
    assert_eq!(s(&app, "/publisherDomain"), "contoso.onmicrosoft.com");
}

#[tokio::test]
async fn create_application_is_not_idempotent_and_validates_its_body() {
    let (_running, client) = start().await;
    let first = create_app(&client, "twice").await;
    let second = create_app(&client, "twice").await;
    assert_ne!(first["id"], second["id"]);
    assert_ne!(first["appId"], second["appId"]);
    assert_eq!(s(&first, "/signInAudience"), "AzureADMyOrg");
    let same_name = list(
        &client,
        Request::get("applications").query("$filter", "displayName eq 'twice'"),
    )
    .await;
    assert_eq!(same_name.len(), 2);

    // Secrets cannot be set on create (README §1).
    let e = fail(
        &client,
        Request::post(
            "applications",
            json!({"displayName": "x", "passwordCredentials": [{"displayName": "s"}]}),
        ),
    )
    .await;
    assert_eq!(e.status, 400);

    // displayName is the only required property.
    let e = fail(
        &client,
        Request::post("applications", json!({"signInAudience": "AzureADMyOrg"})),
    )
    .await;
    assert_eq!(e.status, 400);

    // Unknown properties are refused.
    let e = fail(
        &client,
        Request::post("applications", json!({"displayName": "x", "colour": "red"})),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
}

// ---------------------------------------------------------------------------------------------
// upsert_application_by_uniqueName

#[tokio::test]
async fn upsert_by_unique_name_creates_201_then_updates_204() {
    let (running, client) = start().await;
    let path = "applications(uniqueName='app-65278')";

    // Without Prefer a missing app gives 404.
    let e = fail(
        &client,
        Request::patch(path, json!({"displayName": "Display name"})),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );

    let created = ok(
        &client,
        Request::patch(path, json!({"displayName": "Display name"}))
            .header("Prefer", "create-if-missing"),
    )
    .await;
    assert_eq!(created.status, 201);
    let app = body(&created);
    assert!(context_of(&app).ends_with("$metadata#applications/$entity"));
    assert!(is_guid(s(&app, "/id")) && is_guid(s(&app, "/appId")));
    assert_eq!(s(&app, "/uniqueName"), "app-65278");
    assert_eq!(s(&app, "/displayName"), "Display name");
    assert_eq!(
        s(&app, "/signInAudience"),
        "AzureADandPersonalMicrosoftAccount"
    );
    assert_eq!(app["identifierUris"], json!([]));
    assert_eq!(app["passwordCredentials"], json!([]));
    assert_eq!(app["requiredResourceAccess"], json!([]));

    let again = ok(
        &client,
        Request::patch(path, json!({"displayName": "Display name 2"}))
            .header("Prefer", "create-if-missing"),
    )
    .await;
    assert_eq!(again.status, 204);
    assert!(again.body.is_none());

    // Without the header, an existing app is a plain update.
    let plain = ok(
        &client,
        Request::patch(path, json!({"displayName": "Display name 3"})),
    )
    .await;
    assert_eq!(plain.status, 204);
    assert!(plain.body.is_none());

    // GET by the alternate key finds the same object.
    let read = body(&ok(&client, Request::get(path)).await);
    assert_eq!(read["id"], app["id"]);
    assert_eq!(s(&read, "/displayName"), "Display name 3");

    let with_name: Vec<_> = snapshot_list(&running, &running.tenant.tenant_id, "applications")
        .into_iter()
        .filter(|a| a["uniqueName"] == json!("app-65278"))
        .collect();
    assert_eq!(with_name.len(), 1);

    // The body must contain displayName to create.
    let e = fail(
        &client,
        Request::patch(
            "applications(uniqueName='no-name')",
            json!({"signInAudience": "AzureADMyOrg"}),
        )
        .header("Prefer", "create-if-missing"),
    )
    .await;
    assert_eq!(e.status, 400);
}

#[tokio::test]
async fn unique_name_can_be_backfilled_on_an_app_created_by_post() {
    let (_running, client) = start().await;
    let app = create_app(&client, "legacy").await;
    assert_eq!(app["uniqueName"], Value::Null);
    let id = s(&app, "/id");
    // README §1: Bicep docs backfill with PATCH /applications/{id} {"uniqueName": ...}.
    let response = ok(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"uniqueName": "legacy-key"}),
        ),
    )
    .await;
    assert_eq!(response.status, 204);
    let read = body(
        &ok(
            &client,
            Request::get("applications(uniqueName='legacy-key')"),
        )
        .await,
    );
    assert_eq!(s(&read, "/id"), id);
    // The upsert now finds it.
    let again = ok(
        &client,
        Request::patch(
            "applications(uniqueName='legacy-key')",
            json!({"displayName": "legacy"}),
        )
        .header("Prefer", "create-if-missing"),
    )
    .await;
    assert_eq!(again.status, 204);
}

// ---------------------------------------------------------------------------------------------
// get_application

#[tokio::test]
async fn get_application_by_id_app_id_and_unique_name_with_select() {
    let (_running, client) = start().await;
    let app = body(
        &ok(
            &client,
            Request::post(
                "applications",
                json!({"displayName": "PostmanWeb", "uniqueName": "postman-web"}),
            ),
        )
        .await,
    );
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");

    for path in [
        format!("applications/{id}"),
        format!("applications(appId='{app_id}')"),
        "applications(uniqueName='postman-web')".to_string(),
    ] {
        let read = body(&ok(&client, Request::get(&path)).await);
        assert_eq!(s(&read, "/id"), id, "{path}");
        assert_eq!(s(&read, "/appId"), app_id, "{path}");
        assert!(context_of(&read).contains("$metadata#applications"));
    }

    let selected = body(
        &ok(
            &client,
            Request::get(format!("applications(appId='{app_id}')"))
                .query("$select", "id,appId,displayName,requiredResourceAccess"),
        )
        .await,
    );
    let keys: HashSet<&str> = selected
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "@odata.context",
            "id",
            "appId",
            "displayName",
            "requiredResourceAccess"
        ])
    );

    let e = fail(
        &client,
        Request::get("applications(appId='6b4c1d1e-0000-4000-8000-000000000000')"),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    let e = fail(
        &client,
        Request::get("applications/6b4c1d1e-0000-4000-8000-000000000000"),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
}

#[tokio::test]
async fn get_application_with_select_has_the_documented_context() {
    let (_running, client) = start().await;
    let app = create_app(&client, "PostmanWeb").await;
    let selected = body(
        &ok(
            &client,
            Request::get(format!("applications(appId='{}')", s(&app, "/appId")))
                .query("$select", "id,appId,displayName,requiredResourceAccess"),
        )
        .await,
    );
    // calls.json get_application response_example.
    assert!(
        context_of(&selected).ends_with(
            "$metadata#applications(id,appId,displayName,requiredResourceAccess)/$entity"
        ),
        "{}",
        context_of(&selected)
    );
}

#[tokio::test]
async fn list_applications_filters_selects_and_pages() {
    let (_running, client) = start().await;
    let mut apps = Vec::new();
    for name in ["page-a", "page-b", "page-c"] {
        let app = body(
            &ok(
                &client,
                Request::post(
                    "applications",
                    json!({"displayName": name, "uniqueName": format!("key-{name}")}),
                ),
            )
            .await,
        );
        apps.push(app);
    }

    let by_name = body(
        &ok(
            &client,
            Request::get("applications").query("$filter", "displayName eq 'page-b'"),
        )
        .await,
    );
    assert!(context_of(&by_name).ends_with("$metadata#applications"));
    assert_eq!(by_name["value"].as_array().unwrap().len(), 1);
    assert_eq!(by_name["value"][0]["id"], apps[1]["id"]);

    let by_app_id = list(
        &client,
        Request::get("applications")
            .query("$filter", format!("appId eq '{}'", s(&apps[2], "/appId"))),
    )
    .await;
    assert_eq!(by_app_id.len(), 1);
    assert_eq!(by_app_id[0]["id"], apps[2]["id"]);

    let by_unique = list(
        &client,
        Request::get("applications").query("$filter", "uniqueName eq 'key-page-a'"),
    )
    .await;
    assert_eq!(by_unique.len(), 1);
    assert_eq!(by_unique[0]["id"], apps[0]["id"]);

    let selected = body(
        &ok(
            &client,
            Request::get("applications")
                .query("$filter", "displayName eq 'page-a'")
                .query("$select", "id,displayName"),
        )
        .await,
    );
    assert!(context_of(&selected).ends_with("$metadata#applications(id,displayName)"));
    let item = selected["value"][0].as_object().unwrap();
    let keys: HashSet<&str> = item.keys().map(String::as_str).collect();
    assert_eq!(keys, HashSet::from(["id", "displayName"]));

    // Paging: $top and @odata.nextLink.
    let first = body(
        &ok(
            &client,
            Request::get("applications")
                .query("$filter", "startswith(displayName,'page-')")
                .query("$top", "2"),
        )
        .await,
    );
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    let next = s(&first, "/@odata.nextLink").to_string();
    assert!(next.starts_with(&client.base_url().origin().ascii_serialization()));
    let second = body(&ok(&client, Request::get(next)).await);
    assert_eq!(second["value"].as_array().unwrap().len(), 1);
    assert!(second.get("@odata.nextLink").is_none());
    let mut seen: Vec<Value> = first["value"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["value"].as_array().unwrap())
        .map(|a| a["id"].clone())
        .collect();
    seen.sort_by_key(|v| v.to_string());
    let mut expected: Vec<Value> = apps.iter().map(|a| a["id"].clone()).collect();
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(seen, expected);

    let all = list(
        &client,
        Request::get("applications")
            .query("$filter", "startswith(displayName,'page-')")
            .query("$top", "1"),
    )
    .await;
    assert_eq!(all.len(), 3);

    // Page size is 1..=999.
    let e = fail(&client, Request::get("applications").query("$top", "1000")).await;
    assert_eq!(e.status, 400);
}

// ---------------------------------------------------------------------------------------------
// update_application_required_resource_access

#[tokio::test]
async fn patch_required_resource_access_replaces_the_collection() {
    let (_running, client) = start().await;
    let app = create_app(&client, "rra").await;
    let id = s(&app, "/id");
    // calls.json update_application_required_resource_access request_example.
    let declared = json!([
        {"resourceAppId": GRAPH, "resourceAccess": [
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"},
            {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "type": "Scope"},
            {"id": "810c84a8-4a9e-49e6-bf7d-12d183f40d01", "type": "Role"}
        ]},
        {"resourceAppId": EXCHANGE, "resourceAccess": [
            {"id": ROLE_IMAP_ACCESS_AS_APP, "type": "Role"}
        ]}
    ]);
    let response = ok(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"requiredResourceAccess": declared}),
        ),
    )
    .await;
    assert_eq!(response.status, 204);
    assert!(response.body.is_none());
    assert_eq!(
        get_app(&client, id).await["requiredResourceAccess"],
        declared
    );

    let smaller = json!([{"resourceAppId": GRAPH, "resourceAccess": [
        {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}
    ]}]);
    ok(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"requiredResourceAccess": smaller}),
        ),
    )
    .await;
    assert_eq!(
        get_app(&client, id).await["requiredResourceAccess"],
        smaller
    );
}

/// The sign-in platforms besides `web`, the implicit grant and public-client flows: stored
/// with a new app's defaults, returned on GET, list and `$select`, and set by PATCH. `web` is a
/// complex type: a PATCH replaces the sub-properties it gives and keeps the others.
#[tokio::test]
async fn sign_in_platforms_and_the_implicit_grant_are_stored_read_and_patched() {
    let (_running, client) = start().await;
    let app = create_app(&client, "platforms").await;
    let id = s(&app, "/id").to_string();
    assert_eq!(app["spa"], json!({"redirectUris": []}));
    assert_eq!(app["publicClient"], json!({"redirectUris": []}));
    assert_eq!(
        app["web"]["implicitGrantSettings"],
        json!({"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false})
    );
    assert_eq!(app["isFallbackPublicClient"], Value::Null, "not set");

    let path = format!("applications/{id}");
    for patch in [
        json!({"web": {"redirectUris": ["https://app.contoso.com/cb"]}}),
        json!({"web": {"implicitGrantSettings": {"enableIdTokenIssuance": true}}}),
        json!({"spa": {"redirectUris": ["https://spa.contoso.com"]}}),
        json!({"publicClient": {"redirectUris": ["http://localhost"]}}),
        json!({"isFallbackPublicClient": true}),
    ] {
        assert_eq!(ok(&client, Request::patch(&path, patch)).await.status, 204);
    }
    let read = get_app(&client, &id).await;
    assert_eq!(
        read["web"]["redirectUris"],
        json!(["https://app.contoso.com/cb"]),
        "kept by the implicit grant's PATCH"
    );
    assert_eq!(
        read["web"]["implicitGrantSettings"],
        json!({"enableAccessTokenIssuance": false, "enableIdTokenIssuance": true})
    );
    assert_eq!(
        read["spa"]["redirectUris"],
        json!(["https://spa.contoso.com"])
    );
    assert_eq!(
        read["publicClient"]["redirectUris"],
        json!(["http://localhost"])
    );
    assert_eq!(read["isFallbackPublicClient"], json!(true));

    let select = "spa,publicClient,web,isFallbackPublicClient";
    let selected = body(&ok(&client, Request::get(&path).query("$select", select)).await);
    let listed = list(
        &client,
        Request::get("applications")
            .query("$filter", format!("id eq '{id}'"))
            .query("$select", select),
    )
    .await;
    for answer in [&selected, &listed[0]] {
        for property in ["spa", "publicClient", "web", "isFallbackPublicClient"] {
            assert_eq!(answer[property], read[property], "{property}");
        }
        assert!(
            answer.get("displayName").is_none(),
            "only what was selected"
        );
    }

    let e = fail(
        &client,
        Request::patch(&path, json!({"spa": {"redirectUris": "not a list"}})),
    )
    .await;
    assert_eq!(e.status, 400);
}

/// A service principal's `accountEnabled` is read by GET, list and `$select`, and set by PATCH.
#[tokio::test]
async fn service_principal_account_enabled_is_patched_and_read() {
    let (_running, client) = start().await;
    let app = create_app(&client, "disabled-sp").await;
    let sp = create_sp(&client, s(&app, "/appId")).await;
    assert_eq!(sp["accountEnabled"], json!(true));
    let path = format!("servicePrincipals/{}", s(&sp, "/id"));
    let response = ok(
        &client,
        Request::patch(&path, json!({"accountEnabled": false})),
    )
    .await;
    assert_eq!(response.status, 204);
    let read = body(
        &ok(
            &client,
            Request::get(&path).query("$select", "accountEnabled"),
        )
        .await,
    );
    assert_eq!(read["accountEnabled"], json!(false));
    let listed = list(
        &client,
        Request::get("servicePrincipals")
            .query("$filter", format!("id eq '{}'", s(&sp, "/id")))
            .query("$select", "id,accountEnabled"),
    )
    .await;
    assert_eq!(listed[0]["accountEnabled"], json!(false));
}

#[tokio::test]
async fn required_resource_access_limits_are_enforced() {
    let (_running, client) = start().await;
    let app = create_app(&client, "limits").await;
    let id = s(&app, "/id");
    // README §1 / calls.json: at most 50 resources and at most 400 permissions in total.
    let resources: Vec<Value> = (0..51)
        .map(|_| {
            json!({"resourceAppId": uuid::Uuid::new_v4().to_string(),
                "resourceAccess": [{"id": uuid::Uuid::new_v4().to_string(), "type": "Role"}]})
        })
        .collect();
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"requiredResourceAccess": resources}),
        ),
    )
    .await;
    assert_eq!(e.status, 400, "51 resources");
    let access: Vec<Value> = (0..401)
        .map(|_| json!({"id": uuid::Uuid::new_v4().to_string(), "type": "Scope"}))
        .collect();
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": access}]}),
        ),
    )
    .await;
    assert_eq!(e.status, 400, "401 permissions");
}

// ---------------------------------------------------------------------------------------------
// expose_api_identifierUris_and_scope

#[tokio::test]
async fn identifier_uris_accept_app_id_and_tenant_patterns_only() {
    let (running, client) = start().await;
    let app = create_app(&client, "api").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");
    let tenant = &running.tenant.tenant_id;
    for uris in [
        json!([format!("api://{app_id}")]),
        json!([format!("api://{app_id}"), format!("api://{tenant}/x")]),
        json!([format!("api://{tenant}/{app_id}")]),
    ] {
        let response = ok(
            &client,
            Request::patch(
                format!("applications/{id}"),
                json!({"identifierUris": uris}),
            ),
        )
        .await;
        assert_eq!(response.status, 204, "{uris}");
        assert_eq!(get_app(&client, id).await["identifierUris"], uris);
    }
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{id}"),
            json!({"identifierUris": ["https://evil.example.com"]}),
        ),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "HostNameNotOnVerifiedDomain")
    );
    // Filterable with any().
    let found = list(
        &client,
        Request::get("applications").query(
            "$filter",
            format!("identifierUris/any(x:x eq 'api://{tenant}/{app_id}')"),
        ),
    )
    .await;
    assert_eq!(found.len(), 1);
}

fn scope(id: &str, value: &str, enabled: bool) -> Value {
    json!({
        "id": id, "value": value, "type": "User", "isEnabled": enabled,
        "adminConsentDisplayName": "Access app",
        "adminConsentDescription": "Allow the application to access app on behalf of the signed-in user.",
        "userConsentDisplayName": "Access app",
        "userConsentDescription": "Allow the application to access app on your behalf."
    })
}

#[tokio::test]
async fn an_enabled_scope_must_be_disabled_before_change_or_removal() {
    let (_running, client) = start().await;
    let app = create_app(&client, "scopes").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");
    let path = format!("applications/{id}");
    let scope_id = "6d1a0e6c-1b2c-4d3e-8f40-123456789abc";

    let exposed = ok(
        &client,
        Request::patch(
            &path,
            json!({
                "identifierUris": [format!("api://{app_id}")],
                "api": {"requestedAccessTokenVersion": 2,
                        "oauth2PermissionScopes": [scope(scope_id, "access_as_user", true)]}
            }),
        ),
    )
    .await;
    assert_eq!(exposed.status, 204);
    let read = get_app(&client, id).await;
    assert_eq!(
        read["api"]["oauth2PermissionScopes"],
        json!([scope(scope_id, "access_as_user", true)])
    );

    // Re-sending the same scope is fine.
    ok(
        &client,
        Request::patch(
            &path,
            json!({"api": {"oauth2PermissionScopes": [scope(scope_id, "access_as_user", true)]}}),
        ),
    )
    .await;

    for (what, scopes) in [
        (
            "changed value",
            json!([scope(scope_id, "access_as_admin", true)]),
        ),
        ("removed", json!([])),
        (
            "same value, new id",
            json!([scope(
                "0f0e0d0c-0000-4000-8000-000000000001",
                "access_as_user",
                true
            )]),
        ),
    ] {
        let e = fail(
            &client,
            Request::patch(&path, json!({"api": {"oauth2PermissionScopes": scopes}})),
        )
        .await;
        assert_eq!(e.status, 400, "{what}");
        assert!(e.message.contains(SCOPE_DISABLED_FIRST), "{what}: {e}");
    }

    // Disable, then remove in a later PATCH.
    ok(
        &client,
        Request::patch(
            &path,
            json!({"api": {"oauth2PermissionScopes": [scope(scope_id, "access_as_user", false)]}}),
        ),
    )
    .await;
    let removed = ok(
        &client,
        Request::patch(&path, json!({"api": {"oauth2PermissionScopes": []}})),
    )
    .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        get_app(&client, id).await["api"]["oauth2PermissionScopes"],
        json!([])
    );

    // value: at most 120 characters, no spaces.
    for bad in ["has space", &"x".repeat(121)] {
        let e = fail(
            &client,
            Request::patch(
                &path,
                json!({"api": {"oauth2PermissionScopes": [scope(scope_id, bad, true)]}}),
            ),
        )
        .await;
        assert_eq!(e.status, 400, "value {bad:?}");
    }
    let longest = "y".repeat(120);
    ok(
        &client,
        Request::patch(
            &path,
            json!({"api": {"oauth2PermissionScopes": [scope(scope_id, &longest, true)]}}),
        ),
    )
    .await;
}

fn app_role(id: &str, value: &str, enabled: bool) -> Value {
    json!({
        "id": id, "value": value, "isEnabled": enabled,
        "allowedMemberTypes": ["Application"],
        "displayName": value, "description": format!("{value} role")
    })
}

#[tokio::test]
async fn an_enabled_app_role_must_be_disabled_before_change_or_removal() {
    let (_running, client) = start().await;
    let app = create_app(&client, "roles").await;
    let path = format!("applications/{}", s(&app, "/id"));
    let role_id = "7a1b2c3d-0000-4000-8000-00000000abcd";
    ok(
        &client,
        Request::patch(
            &path,
            json!({"appRoles": [app_role(role_id, "Tickets.Read", true)]}),
        ),
    )
    .await;
    // "Permission (scope or role) cannot be deleted or updated unless disabled first"
    // (calls.json expose_api_identifierUris_and_scope errors).
    for (what, roles) in [
        ("removed", json!([])),
        (
            "changed value",
            json!([app_role(role_id, "Tickets.Write", true)]),
        ),
    ] {
        let e = fail(&client, Request::patch(&path, json!({"appRoles": roles}))).await;
        assert_eq!(e.status, 400, "{what}");
        assert!(e.message.contains(SCOPE_DISABLED_FIRST), "{what}: {e}");
    }
    ok(
        &client,
        Request::patch(
            &path,
            json!({"appRoles": [app_role(role_id, "Tickets.Read", false)]}),
        ),
    )
    .await;
    ok(&client, Request::patch(&path, json!({"appRoles": []}))).await;
}

#[tokio::test]
async fn personal_account_audience_requires_token_version_2() {
    let (_running, client) = start().await;
    // README §1: "requestedAccessTokenVersion must be 2 when the audience includes personal
    // accounts"; the default audience is AzureADandPersonalMicrosoftAccount.
    let e = fail(
        &client,
        Request::post(
            "applications",
            json!({"displayName": "v1", "api": {"requestedAccessTokenVersion": 1}}),
        ),
    )
    .await;
    assert_eq!(e.status, 400, "create");
    let app = body(
        &ok(
            &client,
            Request::post("applications", json!({"displayName": "v2"})),
        )
        .await,
    );
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{}", s(&app, "/id")),
            json!({"api": {"requestedAccessTokenVersion": 1}}),
        ),
    )
    .await;
    assert_eq!(e.status, 400, "update");
}

#[tokio::test]
async fn unknown_body_property_on_update_is_a_bad_request() {
    let (_running, client) = start().await;
    let app = create_app(&client, "strict").await;
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{}", s(&app, "/id")),
            json!({"displayName": "x", "redirectUri": "https://a"}),
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{}", s(&app, "/id")),
            json!({"web": {"redirectUri": []}}),
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
}

// ---------------------------------------------------------------------------------------------
// add_password / removePassword

#[tokio::test]
async fn add_password_returns_the_secret_once_and_remove_password_deletes_it() {
    let (running, client) = start().await;
    let app = create_app(&client, "secrets").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");

    let response = ok(
        &client,
        Request::post(
            format!("applications/{id}/addPassword"),
            json!({"passwordCredential": {"displayName": "Password friendly name"}}),
        ),
    )
    .await;
    assert_eq!(response.status, 200);
    let credential = body(&response);
    let secret = s(&credential, "/secretText").to_string();
    assert!(
        (16..=64).contains(&secret.chars().count()),
        "secretText length"
    );
    assert_eq!(s(&credential, "/hint"), &secret[..3]);
    assert!(is_guid(s(&credential, "/keyId")));
    assert_eq!(s(&credential, "/displayName"), "Password friendly name");
    assert_eq!(credential["customKeyIdentifier"], Value::Null);
    let start = parse_time(s(&credential, "/startDateTime"));
    let end = parse_time(s(&credential, "/endDateTime"));
    let now = time::OffsetDateTime::now_utc();
    assert!((now - start).whole_seconds().abs() < 120, "start is now");
    let days = (end - start).whole_days();
    assert!((730..=731).contains(&days), "about two years: {days} days");
    assert!(running.sim.issued_secrets().contains(&secret));

    // The body is optional, and the appId key form works too.
    let bare = ok(
        &client,
        Request::new(Method::POST, format!("applications/{id}/addPassword")),
    )
    .await;
    assert_eq!(bare.status, 200);
    assert!(body(&bare)["secretText"].is_string());
    let by_app_id = ok(
        &client,
        Request::post(
            format!("applications(appId='{app_id}')/addPassword"),
            json!({"passwordCredential": {"displayName": "by appId"}}),
        ),
    )
    .await;
    assert_eq!(by_app_id.status, 200);

    // Later reads never show secretText.
    let read = get_app(&client, id).await;
    let credentials = read["passwordCredentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 3);
    for c in credentials {
        assert_eq!(c["secretText"], Value::Null, "{c}");
        assert_eq!(s(c, "/hint").len(), 3);
    }
    let first = credentials
        .iter()
        .find(|c| c["keyId"] == credential["keyId"])
        .unwrap();
    assert_eq!(s(first, "/hint"), &secret[..3]);
    assert!(!read.to_string().contains(&secret));

    // {id} is the object id, not the appId.
    let e = fail(
        &client,
        Request::post(format!("applications/{app_id}/addPassword"), json!({})),
    )
    .await;
    assert_eq!(e.status, 404);

    let removed = ok(
        &client,
        Request::post(
            format!("applications/{id}/removePassword"),
            json!({"keyId": credential["keyId"]}),
        ),
    )
    .await;
    assert_eq!(removed.status, 204);
    let read = get_app(&client, id).await;
    let remaining = read["passwordCredentials"].as_array().unwrap();
    assert_eq!(remaining.len(), 2);
    assert!(remaining.iter().all(|c| c["keyId"] != credential["keyId"]));
}

fn parse_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test]
async fn add_password_default_end_is_start_plus_two_years() {
    let (_running, client) = start().await;
    let app = create_app(&client, "two-years").await;
    let credential = body(
        &ok(
            &client,
            Request::post(
                format!("applications/{}/addPassword", s(&app, "/id")),
                json!({}),
            ),
        )
        .await,
    );
    // calls.json add_password: "endDateTime defaults to startDateTime + 2 years"; its
    // example runs 2019-09-09T19:50:29 -> 2021-09-09T19:50:29 (731 days, across 2020-02-29).
    let start = parse_time(s(&credential, "/startDateTime"));
    let end = parse_time(s(&credential, "/endDateTime"));
    let expected = start.replace_year(start.year() + 2).unwrap_or_else(|_| {
        start
            .replace_day(28)
            .unwrap()
            .replace_year(start.year() + 2)
            .unwrap()
    });
    assert_eq!(end, expected);
}

// ---------------------------------------------------------------------------------------------
// delete application

#[tokio::test]
async fn delete_application_returns_204_and_removes_it() {
    let (_running, client) = start().await;
    let app = create_app(&client, "doomed").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");
    create_sp(&client, app_id).await;
    let response = ok(&client, Request::delete(format!("applications/{id}"))).await;
    assert_eq!(response.status, 204);
    assert!(response.body.is_none());
    let e = fail(&client, Request::get(format!("applications/{id}"))).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    let e = fail(
        &client,
        Request::get(format!("servicePrincipals(appId='{app_id}')")),
    )
    .await;
    assert_eq!(e.status, 404);
    let e = fail(&client, Request::delete(format!("applications/{id}"))).await;
    assert_eq!(e.status, 404);
}

// ---------------------------------------------------------------------------------------------
// create_service_principal / upsert_service_principal_by_appId

#[tokio::test]
async fn create_service_principal_returns_201_and_refuses_a_duplicate() {
    let (running, client) = start().await;
    let app = create_app(&client, "My App").await;
    let app_id = s(&app, "/appId");
    let sp = create_sp(&client, app_id).await;
    assert!(context_of(&sp).ends_with("$metadata#servicePrincipals/$entity"));
    assert!(is_guid(s(&sp, "/id")));
    assert_ne!(sp["id"], app["id"]);
    assert_eq!(sp["accountEnabled"], json!(true));
    assert_eq!(s(&sp, "/appDisplayName"), "My App");
    assert_eq!(s(&sp, "/appId"), app_id);
    assert_eq!(s(&sp, "/appOwnerOrganizationId"), running.tenant.tenant_id);
    assert_eq!(sp["appRoleAssignmentRequired"], json!(false));
    assert_eq!(s(&sp, "/displayName"), "My App");
    assert!(sp["servicePrincipalNames"]
        .as_array()
        .unwrap()
        .contains(&json!(app_id)));
    for empty in ["appRoles", "oauth2PermissionScopes", "passwordCredentials"] {
        assert_eq!(sp[empty], json!([]), "{empty}");
    }

    let e = fail(
        &client,
        Request::post("servicePrincipals", json!({"appId": app_id})),
    )
    .await;
    assert_eq!(e.status, 409);
    assert_eq!(e.code, "Request_MultipleObjectsWithSameKeyValue");

    // appId is required.
    let e = fail(&client, Request::post("servicePrincipals", json!({}))).await;
    assert_eq!(e.status, 400);

    // A wrong appId does not reference an application object.
    let missing = "65415bb1-9267-4313-bbf5-ae259732ee12";
    let e = fail(
        &client,
        Request::post("servicePrincipals", json!({"appId": missing})),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    assert!(e.has_code("NoBackingApplicationObject"));
    assert_eq!(e.details[0].target.as_deref(), Some("appId"));
    assert_eq!(
        e.message,
        format!(
            "The appId '{missing}' of the service principal does not reference a valid application object."
        )
    );
}

#[tokio::test]
async fn upsert_service_principal_by_app_id_creates_201_then_updates_204() {
    let (_running, client) = start().await;
    let app = create_app(&client, "upsert-sp").await;
    let app_id = s(&app, "/appId");
    let path = format!("servicePrincipals(appId='{app_id}')");

    let e = fail(
        &client,
        Request::patch(&path, json!({"displayName": "My app instance"})),
    )
    .await;
    assert_eq!(e.status, 404);

    let created = ok(
        &client,
        Request::patch(&path, json!({"displayName": "My app instance"}))
            .header("Prefer", "create-if-missing"),
    )
    .await;
    assert_eq!(created.status, 201);
    let sp = body(&created);
    assert!(context_of(&sp).ends_with("$metadata#servicePrincipals/$entity"));
    assert!(is_guid(s(&sp, "/id")));
    assert_eq!(sp["accountEnabled"], json!(true));
    assert_eq!(s(&sp, "/appId"), app_id);
    assert_eq!(s(&sp, "/displayName"), "My app instance");
    assert_eq!(sp["appRoleAssignmentRequired"], json!(false));
    assert!(sp["servicePrincipalNames"]
        .as_array()
        .unwrap()
        .contains(&json!(app_id)));

    let again = ok(
        &client,
        Request::patch(&path, json!({"displayName": "My app instance 2"}))
            .header("Prefer", "create-if-missing"),
    )
    .await;
    assert_eq!(again.status, 204);
    assert!(again.body.is_none());
    let read = body(&ok(&client, Request::get(&path)).await);
    assert_eq!(read["id"], sp["id"]);
    assert_eq!(s(&read, "/displayName"), "My app instance 2");
}

// ---------------------------------------------------------------------------------------------
// get_service_principal_by_appId (resource SPs and permission ids)

/// (value, id) of Graph application permissions, from well_known_ids.json.
const GRAPH_ROLE_IDS: &[(&str, &str)] = &[
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
    ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    ),
    (
        "Policy.ReadWrite.ConditionalAccess",
        "01c0a623-fc9b-48e9-b794-0756f8e8f067",
    ),
    ("Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68"),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    (
        "Group.ReadBasic.All",
        "07d67222-3a10-4d3b-9ddc-b8aa43198a00",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
];

/// (value, id) of Graph delegated permissions, from well_known_ids.json.
const GRAPH_SCOPE_IDS: &[(&str, &str)] = &[
    (
        "IMAP.AccessAsUser.All",
        "652390e4-393a-48de-9484-05f9b1212954",
    ),
    ("SMTP.Send", "258f6531-6087-4cc4-bb90-092c5fb3ed3f"),
    (
        "POP.AccessAsUser.All",
        "d7b7f2d9-0f45-4ea1-9d42-e50810c06991",
    ),
    ("offline_access", "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"),
    ("openid", "37f7f235-527c-4136-accd-4a02d197296e"),
    ("profile", "14dad69e-099b-42c9-810b-d002981feec1"),
    ("email", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"),
    ("User.Read", "e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
    ("Mail.Read", "570282fd-fa5c-430d-a7fd-fc8dc98a9dca"),
    ("Mail.ReadWrite", "024d486e-b451-40bb-833d-3e66d98c5c73"),
    ("Mail.Send", "e383f46e-2787-4529-855e-0e479a3ffac0"),
    ("User.Read.All", "a154be20-db9c-4678-8ab7-66f6cc099a59"),
    (
        "Application.ReadWrite.All",
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
    ),
    (
        "Policy.ReadWrite.ConditionalAccess",
        "ad902697-1014-4ef5-81ef-2b4301988e8c",
    ),
    ("Policy.Read.All", "572fea84-0151-49b2-9301-11cb16974376"),
    ("Group.Read.All", "5f8c59db-677d-491f-a6b8-5f174b11ec1d"),
    (
        "Application.Read.All",
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
    ),
    (
        "Group.ReadBasic.All",
        "ba1917bc-a64b-4c71-b66d-229d4a520e66",
    ),
    ("Directory.Read.All", "06da0dbc-49e2-44d2-8312-53f166ab848a"),
];

fn id_of_value(list: &Value, value: &str) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|p| p["value"] == json!(value))
        .and_then(|p| p["id"].as_str().map(String::from))
}

#[tokio::test]
async fn resource_service_principals_publish_the_well_known_permission_ids() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')")).query(
                "$select",
                "id,appId,displayName,appRoles,oauth2PermissionScopes",
            ),
        )
        .await,
    );
    assert!(is_guid(s(&graph, "/id")));
    assert_eq!(s(&graph, "/appId"), GRAPH);
    assert_eq!(s(&graph, "/displayName"), "Microsoft Graph");
    assert!(graph.get("servicePrincipalType").is_none(), "not selected");
    for (value, id) in GRAPH_ROLE_IDS {
        assert_eq!(
            id_of_value(&graph["appRoles"], value).as_deref(),
            Some(*id),
            "role {value}"
        );
    }
    for (value, id) in GRAPH_SCOPE_IDS {
        assert_eq!(
            id_of_value(&graph["oauth2PermissionScopes"], value).as_deref(),
            Some(*id),
            "scope {value}"
        );
    }
    // Shape of the documented example entries.
    let role = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(ROLE_USER_READ_ALL))
        .unwrap();
    assert_eq!(role["allowedMemberTypes"], json!(["Application"]));
    assert_eq!(role["isEnabled"], json!(true));
    assert_eq!(role["origin"], json!("Application"));
    let admin_scope = graph["oauth2PermissionScopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!("a154be20-db9c-4678-8ab7-66f6cc099a59"))
        .unwrap();
    assert_eq!(admin_scope["type"], json!("Admin"));
    assert_eq!(admin_scope["isEnabled"], json!(true));

    let exchange = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{EXCHANGE}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    for (value, id) in [
        ("IMAP.AccessAsApp", ROLE_IMAP_ACCESS_AS_APP),
        ("POP.AccessAsApp", "cb842b43-da6e-4506-86fe-bb12199c656d"),
        ("SMTP.SendAsApp", "7146a1f0-8703-45b3-9eae-527a64c00995"),
        ("full_access_as_app", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
    ] {
        assert_eq!(
            id_of_value(&exchange["appRoles"], value).as_deref(),
            Some(id),
            "{value}"
        );
    }
    let azure = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{AZURE_MANAGEMENT}')")),
        )
        .await,
    );
    assert_eq!(s(&azure, "/appId"), AZURE_MANAGEMENT);
    let cli = body(
        &ok(
            &client,
            Request::get("servicePrincipals(appId='14d82eec-204b-4c2f-b7e8-296a70dab67e')"),
        )
        .await,
    );
    assert!(is_guid(s(&cli, "/id")));
}

#[ignore = "gap: AppRegistration.Create's permission id is not in our reference data, so the simulated Graph does not publish it"]
#[tokio::test]
async fn graph_publishes_every_application_permission_calls_json_names() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    let values: HashSet<&str> = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["value"].as_str())
        .collect();
    // Every application permission named in calls.json "permissions.application".
    let missing: Vec<&str> = [
        "AppRegistration.Create",
        "Application.ReadWrite.OwnedBy",
        "Application.ReadWrite.All",
        "Application.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "DelegatedPermissionGrant.ReadWrite.All",
        "Group.ReadBasic.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "Policy.Read.All",
        "Policy.ReadWrite.ConditionalAccess",
        "LicenseAssignment.Read.All",
        "Organization.Read.All",
        "Organization.ReadWrite.All",
    ]
    .into_iter()
    .filter(|p| !values.contains(p))
    .collect();
    assert!(missing.is_empty(), "missing app roles: {missing:?}");
}

// ---------------------------------------------------------------------------------------------
// grant_app_role / list_app_role_assignments

#[tokio::test]
async fn app_role_assigned_to_grants_lists_refuses_duplicates_and_deletes() {
    let (_running, client) = start().await;
    let app = create_app(&client, "My application").await;
    let client_sp = create_sp(&client, s(&app, "/appId")).await;
    let client_sp_id = s(&client_sp, "/id");
    let graph_sp_id = sp_id_of(&client, GRAPH).await;

    let grant = json!({"principalId": client_sp_id, "resourceId": graph_sp_id, "appRoleId": ROLE_USER_READ_ALL});
    let response = ok(
        &client,
        Request::post(
            format!("servicePrincipals/{graph_sp_id}/appRoleAssignedTo"),
            grant.clone(),
        ),
    )
    .await;
    assert_eq!(response.status, 201);
    let assignment = body(&response);
    assert!(
        context_of(&assignment).ends_with(&format!(
            "$metadata#servicePrincipals('{graph_sp_id}')/appRoleAssignedTo/$entity"
        )),
        "{assignment}"
    );
    assert!(!s(&assignment, "/id").is_empty());
    assert_eq!(assignment["deletedDateTime"], Value::Null);
    assert_eq!(s(&assignment, "/appRoleId"), ROLE_USER_READ_ALL);
    assert!(assignment["createdDateTime"].is_string());
    assert_eq!(s(&assignment, "/principalDisplayName"), "My application");
    assert_eq!(s(&assignment, "/principalId"), client_sp_id);
    assert_eq!(s(&assignment, "/principalType"), "ServicePrincipal");
    assert_eq!(s(&assignment, "/resourceDisplayName"), "Microsoft Graph");
    assert_eq!(s(&assignment, "/resourceId"), graph_sp_id);

    let e = fail(
        &client,
        Request::post(
            format!("servicePrincipals/{graph_sp_id}/appRoleAssignedTo"),
            grant,
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    assert!(
        e.message
            .contains("Permission being assigned already exists on the object"),
        "{e}"
    );

    // The appId key form of the resource.
    let second = ok(
        &client,
        Request::post(
            format!("servicePrincipals(appId='{GRAPH}')/appRoleAssignedTo"),
            json!({"principalId": client_sp_id, "resourceId": graph_sp_id, "appRoleId": ROLE_MAIL_SEND}),
        ),
    )
    .await;
    assert_eq!(second.status, 201);
    // An Exchange Online app role.
    let exchange_sp_id = sp_id_of(&client, EXCHANGE).await;
    let imap = ok(
        &client,
        Request::post(
            format!("servicePrincipals/{exchange_sp_id}/appRoleAssignedTo"),
            json!({"principalId": client_sp_id, "resourceId": exchange_sp_id, "appRoleId": ROLE_IMAP_ACCESS_AS_APP}),
        ),
    )
    .await;
    assert_eq!(imap.status, 201);

    // The equivalent POST on the client's appRoleAssignments.
    let via_client = ok(
        &client,
        Request::post(
            format!("servicePrincipals/{client_sp_id}/appRoleAssignments"),
            json!({"principalId": client_sp_id, "resourceId": graph_sp_id,
                   "appRoleId": "810c84a8-4a9e-49e6-bf7d-12d183f40d01"}),
        ),
    )
    .await;
    assert_eq!(via_client.status, 201);

    let on_client = list(
        &client,
        Request::get(format!(
            "servicePrincipals/{client_sp_id}/appRoleAssignments"
        )),
    )
    .await;
    assert_eq!(on_client.len(), 4);
    assert!(on_client
        .iter()
        .all(|a| a["principalId"] == json!(client_sp_id)));
    let on_graph = list(
        &client,
        Request::get(format!("servicePrincipals/{graph_sp_id}/appRoleAssignedTo")),
    )
    .await;
    assert!(on_graph.iter().any(|a| a["id"] == assignment["id"]));
    assert!(on_graph
        .iter()
        .all(|a| a["resourceId"] == json!(graph_sp_id)));

    let deleted = ok(
        &client,
        Request::delete(format!(
            "servicePrincipals/{graph_sp_id}/appRoleAssignedTo/{}",
            s(&assignment, "/id")
        )),
    )
    .await;
    assert_eq!(deleted.status, 204);
    let on_client = list(
        &client,
        Request::get(format!(
            "servicePrincipals/{client_sp_id}/appRoleAssignments"
        )),
    )
    .await;
    assert_eq!(on_client.len(), 3);
    assert!(on_client.iter().all(|a| a["id"] != assignment["id"]));

    // A role the resource does not publish.
    let e = fail(
        &client,
        Request::post(
            format!("servicePrincipals/{graph_sp_id}/appRoleAssignedTo"),
            json!({"principalId": client_sp_id, "resourceId": graph_sp_id,
                   "appRoleId": "00000000-1111-2222-3333-444444444444"}),
        ),
    )
    .await;
    assert_eq!(e.status, 400);
}

// ---------------------------------------------------------------------------------------------
// oauth2PermissionGrants

#[tokio::test]
async fn oauth2_permission_grants_create_list_update_delete() {
    let (_running, client) = start().await;
    let app = create_app(&client, "delegated").await;
    let client_sp = create_sp(&client, s(&app, "/appId")).await;
    let client_sp_id = s(&client_sp, "/id");
    let graph_sp_id = sp_id_of(&client, GRAPH).await;

    let request = json!({"clientId": client_sp_id, "consentType": "AllPrincipals",
        "resourceId": graph_sp_id, "scope": "User.Read.All Group.Read.All"});
    let response = ok(
        &client,
        Request::post("oauth2PermissionGrants", request.clone()),
    )
    .await;
    assert_eq!(response.status, 201);
    let grant = body(&response);
    assert!(context_of(&grant).ends_with("$metadata#oauth2PermissionGrants/$entity"));
    assert!(!s(&grant, "/id").is_empty());
    assert_eq!(s(&grant, "/clientId"), client_sp_id);
    assert_eq!(s(&grant, "/consentType"), "AllPrincipals");
    assert_eq!(grant["principalId"], Value::Null);
    assert_eq!(s(&grant, "/resourceId"), graph_sp_id);
    assert_eq!(s(&grant, "/scope"), "User.Read.All Group.Read.All");

    let e = fail(&client, Request::post("oauth2PermissionGrants", request)).await;
    assert_eq!(e.status, 409);
    assert!(
        e.message.contains("Permission entry already exists."),
        "{e}"
    );

    let filter = format!("clientId eq '{client_sp_id}' and consentType eq 'AllPrincipals'");
    let found = list(
        &client,
        Request::get("oauth2PermissionGrants").query("$filter", &filter),
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], grant["id"]);

    let path = format!("oauth2PermissionGrants/{}", s(&grant, "/id"));
    let patched = ok(
        &client,
        Request::patch(
            &path,
            json!({"scope": "User.ReadBasic.All Group.ReadWrite.All"}),
        ),
    )
    .await;
    assert_eq!(patched.status, 204);
    assert!(patched.body.is_none());
    let found = list(
        &client,
        Request::get("oauth2PermissionGrants").query("$filter", &filter),
    )
    .await;
    assert_eq!(
        s(&found[0], "/scope"),
        "User.ReadBasic.All Group.ReadWrite.All"
    );

    // scope is at most 3850 characters.
    let e = fail(
        &client,
        Request::patch(&path, json!({"scope": "a".repeat(3851)})),
    )
    .await;
    assert_eq!(e.status, 400);

    let deleted = ok(&client, Request::delete(&path)).await;
    assert_eq!(deleted.status, 204);
    let found = list(
        &client,
        Request::get("oauth2PermissionGrants").query("$filter", &filter),
    )
    .await;
    assert!(found.is_empty());
}

// ---------------------------------------------------------------------------------------------
// groups, users, security defaults

#[tokio::test]
async fn group_user_and_security_defaults_lookups() {
    let (running, client) = start().await;
    let groups = body(
        &ok(
            &client,
            Request::get("groups")
                .query("$filter", "displayName eq 'MFA-Test-Group'")
                .query("$select", "id,displayName,securityEnabled,mailEnabled"),
        )
        .await,
    );
    assert!(
        context_of(&groups)
            .ends_with("$metadata#groups(id,displayName,securityEnabled,mailEnabled)"),
        "{groups}"
    );
    let value = groups["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert!(is_guid(s(&value[0], "/id")));
    assert_eq!(s(&value[0], "/displayName"), "MFA-Test-Group");
    assert_eq!(value[0]["securityEnabled"], json!(true));
    assert_eq!(value[0]["mailEnabled"], json!(false));
    let none = list(
        &client,
        Request::get("groups").query("$filter", "displayName eq 'No-Such-Group'"),
    )
    .await;
    assert!(none.is_empty());

    for name in [
        "admin",
        "breakglass1",
        "breakglass2",
        "alice",
        "bob",
        "carol",
        "helpdesk",
    ] {
        let upn = format!("{name}@contoso.onmicrosoft.com");
        let user = body(&ok(&client, Request::get(format!("users/{upn}"))).await);
        assert_eq!(s(&user, "/userPrincipalName"), upn);
        assert!(is_guid(s(&user, "/id")));
        let by_filter = list(
            &client,
            Request::get("users").query("$filter", format!("userPrincipalName eq '{upn}'")),
        )
        .await;
        assert_eq!(by_filter.len(), 1);
        assert_eq!(by_filter[0]["id"], user["id"]);
    }

    let defaults = body(
        &ok(
            &client,
            Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
        )
        .await,
    );
    assert_eq!(s(&defaults, "/id"), "00000000-0000-0000-0000-000000000005");
    assert_eq!(s(&defaults, "/displayName"), "Security Defaults");
    assert_eq!(defaults["isEnabled"], json!(false));
    assert!(defaults["description"].is_string());

    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.security_defaults = true);
    let defaults = body(
        &ok(
            &client,
            Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
        )
        .await,
    );
    assert_eq!(defaults["isEnabled"], json!(true));

    // Page size 1..=999 (group-list.md: default 100, max 999).
    let e = fail(&client, Request::get("groups").query("$top", "1000")).await;
    assert_eq!(e.status, 400);
    ok(&client, Request::get("groups").query("$top", "999")).await;
}

#[tokio::test]
async fn security_defaults_policy_has_the_documented_context() {
    let (_running, client) = start().await;
    let defaults = body(
        &ok(
            &client,
            Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
        )
        .await,
    );
    // calls.json get_security_defaults_state response_example.
    assert!(
        context_of(&defaults)
            .ends_with("$metadata#policies/identitySecurityDefaultsEnforcementPolicy"),
        "{}",
        context_of(&defaults)
    );
}

#[tokio::test]
async fn groups_refuse_skip() {
    let (_running, client) = start().await;
    // calls.json find_group_by_displayName: "$skip unsupported".
    let e = fail(&client, Request::get("groups").query("$skip", "1")).await;
    assert_eq!(e.status, 400);
}

// ---------------------------------------------------------------------------------------------
// Conditional Access

#[tokio::test]
async fn conditional_access_list_create_update_delete() {
    let (running, client) = start().await;
    let by_name = Request::get(CA).query("$filter", "displayName eq 'MFA Pilot'");
    let empty = body(&ok(&client, by_name.clone()).await);
    assert!(context_of(&empty).contains("$metadata#"));
    assert_eq!(empty["value"], json!([]));

    let request = mfa_pilot(&running);
    let response = ok(&client, Request::post(CA, request.clone())).await;
    assert_eq!(response.status, 201);
    let policy = body(&response);
    assert!(
        context_of(&policy).ends_with("policies/$entity"),
        "{policy}"
    );
    assert!(is_guid(s(&policy, "/id")));
    parse_time(s(&policy, "/createdDateTime"));
    assert_eq!(policy["modifiedDateTime"], Value::Null);
    assert_eq!(policy["sessionControls"], Value::Null);
    assert_eq!(s(&policy, "/displayName"), "MFA Pilot");
    assert_eq!(s(&policy, "/state"), "enabledForReportingButNotEnforced");
    // Graph's echo: empty collections filled in (calls.json create_conditional_access_policy).
    let conditions = &policy["conditions"];
    assert_eq!(conditions["signInRiskLevels"], json!([]));
    assert_eq!(conditions["clientAppTypes"], json!(["all"]));
    assert_eq!(conditions["platforms"], Value::Null);
    assert_eq!(
        conditions["applications"]["includeApplications"],
        json!([AZURE_MANAGEMENT])
    );
    assert_eq!(conditions["applications"]["excludeApplications"], json!([]));
    assert_eq!(conditions["applications"]["includeUserActions"], json!([]));
    let users = &conditions["users"];
    assert_eq!(users["includeUsers"], json!([]));
    assert_eq!(
        users["excludeUsers"],
        request["conditions"]["users"]["excludeUsers"]
    );
    assert_eq!(
        users["includeGroups"],
        request["conditions"]["users"]["includeGroups"]
    );
    for empty in ["excludeGroups", "includeRoles", "excludeRoles"] {
        assert_eq!(users[empty], json!([]), "users.{empty}");
    }
    let grant = &policy["grantControls"];
    assert_eq!(grant["operator"], json!("OR"));
    assert_eq!(grant["builtInControls"], json!(["mfa"]));
    assert_eq!(grant["customAuthenticationFactors"], json!([]));
    assert_eq!(grant["termsOfUse"], json!([]));

    let found = list(&client, by_name.clone()).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], policy["id"]);

    let path = format!("{CA}/{}", s(&policy, "/id"));
    let patched = ok(
        &client,
        Request::patch(
            &path,
            json!({"state": "enabled", "conditions": {"signInRiskLevels": ["high", "medium", "low"]}}),
        ),
    )
    .await;
    assert_eq!(patched.status, 204);
    assert!(patched.body.is_none());
    let read = body(&ok(&client, Request::get(&path)).await);
    assert_eq!(s(&read, "/state"), "enabled");
    assert_eq!(
        read["conditions"]["signInRiskLevels"],
        json!(["high", "medium", "low"])
    );
    assert_eq!(
        read["conditions"]["users"]["includeGroups"],
        request["conditions"]["users"]["includeGroups"]
    );
    assert!(read["modifiedDateTime"].is_string());
    assert_eq!(read["createdDateTime"], policy["createdDateTime"]);

    let deleted = ok(&client, Request::delete(&path)).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_none());
    let e = fail(&client, Request::get(&path)).await;
    assert_eq!(e.status, 404);
    assert!(list(&client, by_name).await.is_empty());
}

#[tokio::test]
async fn conditional_access_doc_example_echoes_locations() {
    let (_running, client) = start().await;
    // calls.json create_conditional_access_policy request_example.
    let request = json!({
        "displayName": "Access to EXO requires MFA",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["mobileAppsAndDesktopClients", "browser"],
            "applications": {"includeApplications": [EXCHANGE]},
            "users": {"includeGroups": ["ba8e7ded-8b0f-4836-ba06-8ff1ecc5c8ba"]},
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    });
    let policy = body(&ok(&client, Request::post(CA, request)).await);
    assert_eq!(
        policy["conditions"]["locations"],
        json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})
    );
    assert_eq!(
        policy["conditions"]["clientAppTypes"],
        json!(["mobileAppsAndDesktopClients", "browser"])
    );
}

#[tokio::test]
async fn conditional_access_refuses_bodies_that_do_not_match_the_schema() {
    let (_running, client) = start().await;
    let mut bad_state = policy_for_all_apps("bad state");
    bad_state["state"] = json!("on");
    let mut unknown = policy_for_all_apps("unknown");
    unknown["colour"] = json!("red");
    for (what, request) in [
        ("state not in the enum", bad_state),
        ("unknown property", unknown),
        ("not an object", json!([])),
    ] {
        let e = fail(&client, Request::post(CA, request)).await;
        assert_eq!((e.status, e.code.as_str()), (400, "BadRequest"), "{what}");
        assert!(e.message.starts_with("1007:"), "{what}: {e}");
    }
}

#[tokio::test]
async fn conditional_access_create_requires_a_complete_policy() {
    let (_running, client) = start().await;
    // README §8: "A valid policy needs an application rule, a user rule and a grant or session
    // control"; "state ... is required".
    let full = policy_for_all_apps("complete");
    let mut cases = Vec::new();
    for (what, pointer) in [
        ("no state", "/state"),
        ("no grant or session control", "/grantControls"),
        ("no user rule", "/conditions/users"),
        ("no application rule", "/conditions/applications"),
    ] {
        let mut request = full.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() {
            &mut request
        } else {
            request.pointer_mut(parent).unwrap()
        };
        parent.as_object_mut().unwrap().remove(key);
        cases.push((what, request));
    }
    for (what, request) in cases {
        let e = fail(&client, Request::post(CA, request)).await;
        assert_eq!(e.status, 400, "{what}");
    }
}

#[tokio::test]
async fn conditional_access_list_supports_skip() {
    let (_running, client) = start().await;
    for name in ["p1", "p2"] {
        ok(&client, Request::post(CA, policy_for_all_apps(name))).await;
    }
    // calls.json list_conditional_access_policies: "Supports $skip, $top, $count, $filter, ..."
    let page = body(&ok(&client, Request::get(CA).query("$skip", "1")).await);
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn conditional_access_has_the_documented_context() {
    let (_running, client) = start().await;
    let list_body = body(&ok(&client, Request::get(CA)).await);
    assert!(context_of(&list_body).ends_with("$metadata#conditionalAccess/policies"));
    let policy = body(&ok(&client, Request::post(CA, policy_for_all_apps("ctx"))).await);
    assert!(context_of(&policy).ends_with("$metadata#conditionalAccess/policies/$entity"));
}

#[tokio::test]
async fn conditional_access_holds_at_most_195_policies() {
    let (running, client) = start().await;
    let template = body(&ok(&client, Request::post(CA, policy_for_all_apps("first"))).await);
    running.sim.with_tenant(&running.tenant.tenant_id, |t| {
        while t.conditional_access_policies.len() < 195 {
            let mut data = template.as_object().unwrap().clone();
            data.remove("@odata.context");
            data.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
            t.conditional_access_policies.push(Obj::new(data));
        }
    });
    let e = fail(
        &client,
        Request::post(CA, policy_for_all_apps("one too many")),
    )
    .await;
    assert_eq!(e.status, 400);
}

#[tokio::test]
async fn conditional_access_needs_p1_to_create_or_update_but_not_to_delete() {
    let (running, client) = start().await;
    let policy = body(&ok(&client, Request::post(CA, mfa_pilot(&running))).await);
    let path = format!("{CA}/{}", s(&policy, "/id"));
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.p1_licence = false);

    let e = fail(
        &client,
        Request::post(CA, policy_for_all_apps("unlicensed")),
    )
    .await;
    assert_eq!(e.status, 403);
    let e = fail(&client, Request::patch(&path, json!({"state": "enabled"}))).await;
    assert_eq!(e.status, 403);
    // Policies remain and can be deleted (README §8).
    assert_eq!(list(&client, Request::get(CA)).await.len(), 1);
    let deleted = ok(&client, Request::delete(&path)).await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn conditional_access_is_refused_while_security_defaults_are_on() {
    let (running, client) = start().await;
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.security_defaults = true);
    let e = fail(&client, Request::post(CA, mfa_pilot(&running))).await;
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("Security Defaults is enabled in the tenant. You must disable Security defaults before enabling a Conditional Access policy."),
        "{e}"
    );
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.security_defaults = false);
    ok(&client, Request::post(CA, mfa_pilot(&running))).await;
}

// ---------------------------------------------------------------------------------------------
// $batch

fn response_by_id<'a>(batch: &'a Value, id: &str) -> &'a Value {
    batch["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .unwrap_or_else(|| panic!("no response {id} in {batch}"))
}

#[tokio::test]
async fn batch_runs_requests_and_correlates_by_id() {
    let (_running, client) = start().await;
    let app = create_app(&client, "batched").await;
    let id = s(&app, "/id");
    let batch = ok(
        &client,
        Request::post(
            "$batch",
            json!({"requests": [
                {"id": "1", "method": "GET",
                 "url": format!("/servicePrincipals(appId='{GRAPH}')?$select=id,appRoles")},
                {"id": "2", "dependsOn": ["1"], "method": "PATCH", "url": format!("/applications/{id}"),
                 "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}},
                {"id": "3", "method": "GET",
                 "url": "/groups?$filter=displayName%20eq%20'MFA-Test-Group'&$select=id,displayName"}
            ]}),
        )
        .header("Accept", "application/json"),
    )
    .await;
    assert_eq!(batch.status, 200);
    let batch = body(&batch);
    assert_eq!(batch["responses"].as_array().unwrap().len(), 3);
    let one = response_by_id(&batch, "1");
    assert_eq!(one["status"], json!(200));
    assert!(is_guid(s(one, "/body/id")));
    assert!(one["body"]["appRoles"].is_array());
    assert_eq!(response_by_id(&batch, "2")["status"], json!(204));
    let three = response_by_id(&batch, "3");
    assert_eq!(three["status"], json!(200));
    assert_eq!(
        three["body"]["value"][0]["displayName"],
        json!("MFA-Test-Group")
    );
    assert_eq!(s(&get_app(&client, id).await, "/displayName"), "x");
}

#[tokio::test]
async fn batch_gives_424_to_requests_whose_dependency_failed() {
    let (_running, client) = start().await;
    let batch = body(
        &ok(
            &client,
            Request::post(
                "$batch",
                json!({"requests": [
                    {"id": "A", "method": "GET", "url": "/applications/6b4c1d1e-0000-4000-8000-000000000000"},
                    {"id": "b", "dependsOn": ["a"], "method": "PATCH",
                     "url": "/applications/6b4c1d1e-0000-4000-8000-000000000000",
                     "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}},
                    {"id": "c", "dependsOn": ["b"], "method": "GET", "url": "/groups"}
                ]}),
            ),
        )
        .await,
    );
    assert_eq!(response_by_id(&batch, "A")["status"], json!(404));
    assert_eq!(
        response_by_id(&batch, "A")["body"]["error"]["code"],
        json!("Request_ResourceNotFound")
    );
    assert_eq!(response_by_id(&batch, "b")["status"], json!(424));
    assert_eq!(response_by_id(&batch, "c")["status"], json!(424));
}

#[tokio::test]
async fn batch_refuses_more_than_20_requests_and_malformed_payloads() {
    let (_running, client) = start().await;
    let requests: Vec<Value> = (1..=21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/groups"}))
        .collect();
    let e = fail(
        &client,
        Request::post("$batch", json!({"requests": requests})),
    )
    .await;
    assert_eq!(e.status, 400);

    let twenty: Vec<Value> = (1..=20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/groups"}))
        .collect();
    let ok20 = body(
        &ok(
            &client,
            Request::post("$batch", json!({"requests": twenty})),
        )
        .await,
    );
    assert_eq!(ok20["responses"].as_array().unwrap().len(), 20);

    // ids are unique and not case-sensitive.
    let e = fail(
        &client,
        Request::post(
            "$batch",
            json!({"requests": [
                {"id": "x", "method": "GET", "url": "/groups"},
                {"id": "X", "method": "GET", "url": "/groups"}
            ]}),
        ),
    )
    .await;
    assert_eq!(e.status, 400);
    let e = fail(&client, Request::post("$batch", json!({"nope": []}))).await;
    assert_eq!(e.status, 400);

    // A body needs a Content-Type header.
    let outcome = client
        .send(&Request::post(
            "$batch",
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/applications", "body": {"displayName": "x"}}
            ]}),
        ))
        .await;
    match outcome {
        Ok(batch) => {
            let batch = body(&batch);
            assert_eq!(response_by_id(&batch, "1")["status"], json!(400));
        }
        Err(e) => assert_eq!(e.status(), Some(400)),
    }
}

#[tokio::test]
async fn batch_authorizes_each_inner_request() {
    let (_running, client) = start_with_roles(&["Application.Read.All"]).await;
    let batch = body(
        &ok(
            &client,
            Request::post(
                "$batch",
                json!({"requests": [
                    {"id": "1", "method": "GET", "url": format!("/servicePrincipals(appId='{GRAPH}')?$select=id")},
                    {"id": "2", "method": "POST", "url": "/applications",
                     "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}}
                ]}),
            ),
        )
        .await,
    );
    assert_eq!(response_by_id(&batch, "1")["status"], json!(200));
    let two = response_by_id(&batch, "2");
    assert_eq!(two["status"], json!(403));
    assert_eq!(
        two["body"]["error"]["code"],
        json!("Authorization_RequestDenied")
    );
}

// ---------------------------------------------------------------------------------------------
// list_subscribed_skus (subscribedsku-list.md)

/// Entra ID P1's service plan (AAD_PREMIUM) and Microsoft 365 Business Premium's and
/// Business Standard's SKU ids, from Microsoft's service plan reference.
const PLAN_AAD_PREMIUM: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";
const SKU_SPB: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
const SKU_BUSINESS_STANDARD: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";

#[tokio::test]
async fn subscribed_skus_show_the_p1_plan_only_in_a_p1_tenant() {
    let (running, client) = start().await;
    let tenant = running.tenant.tenant_id.clone();
    let skus = body(&ok(&client, Request::get("subscribedSkus")).await);
    assert!(
        context_of(&skus).ends_with("/v1.0/$metadata#subscribedSkus"),
        "{skus}"
    );
    let value = skus["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "{skus}");
    let sku = &value[0];
    assert_eq!(s(sku, "/id"), format!("{tenant}_{SKU_SPB}"));
    assert_eq!(s(sku, "/skuId"), SKU_SPB);
    assert_eq!(s(sku, "/skuPartNumber"), "SPB");
    assert_eq!(s(sku, "/capabilityStatus"), "Enabled");
    assert_eq!(s(sku, "/appliesTo"), "User");
    assert!(sku["consumedUnits"].is_u64());
    assert!(sku["prepaidUnits"]["enabled"].is_u64());
    assert!(is_guid(s(sku, "/subscriptionIds/0")));
    let p1 = sku["servicePlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["servicePlanId"] == PLAN_AAD_PREMIUM)
        .expect("Business Premium carries Entra ID P1");
    assert_eq!(s(p1, "/servicePlanName"), "AAD_PREMIUM");
    assert_eq!(s(p1, "/provisioningStatus"), "Success");

    // One SKU by its id; `$select` as on other collections; no `$filter` (the doc says so).
    let one = body(
        &ok(
            &client,
            Request::get(format!("subscribedSkus/{}", s(sku, "/id"))),
        )
        .await,
    );
    assert_eq!(one["skuId"], json!(SKU_SPB));
    let selected = body(
        &ok(
            &client,
            Request::get("subscribedSkus").query("$select", "skuPartNumber,servicePlans"),
        )
        .await,
    );
    assert!(context_of(&selected).ends_with("#subscribedSkus(skuPartNumber,servicePlans)"));
    let keys: HashSet<&str> = selected["value"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["id", "skuPartNumber", "servicePlans"]));
    let e = fail(
        &client,
        Request::get("subscribedSkus").query("$filter", "skuPartNumber eq 'SPB'"),
    )
    .await;
    assert_eq!(e.status, 400);

    running.sim.with_tenant(&tenant, |t| t.p1_licence = false);
    let without = list(&client, Request::get("subscribedSkus")).await;
    assert_eq!(without.len(), 1);
    assert_eq!(without[0]["skuId"], json!(SKU_BUSINESS_STANDARD));
    assert_eq!(without[0]["skuPartNumber"], json!("O365_BUSINESS_PREMIUM"));
    assert!(
        without[0]["servicePlans"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["servicePlanId"] != PLAN_AAD_PREMIUM),
        "Business Standard carries no Entra ID P1: {without:?}"
    );
}

#[tokio::test]
async fn subscribed_skus_need_a_licence_or_directory_read_permission() {
    let (_running, client) = start_with_roles(&["Policy.Read.All", "User.Read.All"]).await;
    let e = fail(&client, Request::get("subscribedSkus")).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    for role in [
        "LicenseAssignment.Read.All",
        "Organization.Read.All",
        "Directory.Read.All",
    ] {
        let (_running, client) = start_with_roles(&[role]).await;
        ok(&client, Request::get("subscribedSkus")).await;
    }
}

#[tokio::test]
async fn graph_publishes_license_assignment_read_all_with_its_documented_id() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "appRoles"),
        )
        .await,
    );
    let role = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "LicenseAssignment.Read.All")
        .expect("published");
    assert_eq!(role["id"], json!("e2f98668-2877-4f38-a2f4-8202e0717aa1"));
}

// ---------------------------------------------------------------------------------------------
// permission checks

#[tokio::test]
async fn application_writes_need_a_write_permission() {
    let (running, client) = start_with_roles(&["Application.Read.All"]).await;
    let admin_app = admin_app_object_id(&running);
    ok(&client, Request::get("applications")).await;
    ok(&client, Request::get(format!("applications/{admin_app}"))).await;
    for request in [
        Request::post("applications", json!({"displayName": "x"})),
        Request::patch(
            format!("applications/{admin_app}"),
            json!({"displayName": "y"}),
        ),
        Request::post(format!("applications/{admin_app}/addPassword"), json!({})),
        Request::delete(format!("applications/{admin_app}")),
        Request::post(
            "servicePrincipals",
            json!({"appId": running.tenant.admin_client_id}),
        ),
    ] {
        let what = format!("{} {}", request.method, request.path);
        let e = fail(&client, request).await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (403, "Authorization_RequestDenied"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn reads_need_a_read_permission() {
    let (_running, client) = start_with_roles(&["Mail.Send"]).await;
    for path in [
        "applications",
        "servicePrincipals",
        "groups",
        "users",
        "oauth2PermissionGrants",
    ] {
        let e = fail(&client, Request::get(path)).await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (403, "Authorization_RequestDenied"),
            "{path}"
        );
    }
    let e = fail(
        &client,
        Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
    )
    .await;
    assert_eq!(e.status, 403);
    let e = fail(&client, Request::get(CA)).await;
    assert_eq!(e.status, 403);
}

#[tokio::test]
async fn group_lookup_works_with_group_read_basic_all() {
    let (_running, client) = start_with_roles(&["Group.ReadBasic.All"]).await;
    let found = list(
        &client,
        Request::get("groups").query("$filter", "displayName eq 'MFA-Test-Group'"),
    )
    .await;
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn app_role_assignment_needs_application_read_all_too() {
    let (running, client) = start_with_roles(&["AppRoleAssignment.ReadWrite.All"]).await;
    let graph_sp = snapshot_id(&running, "servicePrincipals", "appId", GRAPH);
    let principal = running.tenant.admin_service_principal_id.clone();
    let grant =
        json!({"principalId": principal, "resourceId": graph_sp, "appRoleId": ROLE_MAIL_SEND});
    let e = fail(
        &client,
        Request::post(
            format!("servicePrincipals/{graph_sp}/appRoleAssignedTo"),
            grant.clone(),
        ),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );

    // Both documented pairs work: + Application.Read.All (least) or + Directory.Read.All.
    for other in ["Application.Read.All", "Directory.Read.All"] {
        let (running, client) = start_with_roles(&["AppRoleAssignment.ReadWrite.All", other]).await;
        let graph_sp = snapshot_id(&running, "servicePrincipals", "appId", GRAPH);
        let principal = running.tenant.admin_service_principal_id.clone();
        let response = ok(
            &client,
            Request::post(
                format!("servicePrincipals/{graph_sp}/appRoleAssignedTo"),
                json!({"principalId": principal, "resourceId": graph_sp, "appRoleId": ROLE_MAIL_SEND}),
            ),
        )
        .await;
        assert_eq!(response.status, 201, "{other}");
    }
}

#[tokio::test]
async fn delegated_grant_writes_need_delegated_permission_grant_read_write_all() {
    for roles in [
        &["Directory.Read.All"][..],
        &[
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
        ][..],
    ] {
        let (running, client) = start_with_roles(roles).await;
        let graph_sp = snapshot_id(&running, "servicePrincipals", "appId", GRAPH);
        let e = fail(
            &client,
            Request::post(
                "oauth2PermissionGrants",
                json!({"clientId": running.tenant.admin_service_principal_id,
                       "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "User.Read"}),
            ),
        )
        .await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (403, "Authorization_RequestDenied"),
            "{roles:?}"
        );
        if roles.contains(&"Directory.Read.All") {
            // Directory.Read.All is the least privileged permission to list grants.
            ok(&client, Request::get("oauth2PermissionGrants")).await;
        }
    }
    let (running, client) = start_with_roles(&["DelegatedPermissionGrant.ReadWrite.All"]).await;
    let graph_sp = snapshot_id(&running, "servicePrincipals", "appId", GRAPH);
    let response = ok(
        &client,
        Request::post(
            "oauth2PermissionGrants",
            json!({"clientId": running.tenant.admin_service_principal_id,
                   "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "User.Read"}),
        ),
    )
    .await;
    assert_eq!(response.status, 201);
    ok(&client, Request::get("oauth2PermissionGrants")).await;
}

#[tokio::test]
async fn conditional_access_writes_need_policy_read_all_and_read_write() {
    // Policy.ReadWrite.ConditionalAccess alone is not enough (known issue).
    let (_running, client) = start_with_roles(&["Policy.ReadWrite.ConditionalAccess"]).await;
    let e = fail(&client, Request::post(CA, policy_for_all_apps("x"))).await;
    assert_eq!((e.status, e.code.as_str()), (403, "AccessDenied"));

    // Policy.Read.All + Policy.ReadWrite.ConditionalAccess (least) works for a policy that
    // names no specific app, but naming one needs Application.Read.All.
    let (running, client) =
        start_with_roles(&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"]).await;
    let created = ok(&client, Request::post(CA, policy_for_all_apps("all apps"))).await;
    assert_eq!(created.status, 201);
    let e = fail(&client, Request::post(CA, mfa_pilot(&running))).await;
    assert_eq!((e.status, e.code.as_str()), (403, "AccessDenied"));
    assert!(
        e.message
            .contains("Application.Read.All scope is required to add/edit application condition"),
        "{e}"
    );
    // Updating a policy to name an app is refused the same way.
    let path = format!("{CA}/{}", s(&body(&created), "/id"));
    let e = fail(
        &client,
        Request::patch(
            &path,
            json!({"conditions": {"applications": {"includeApplications": [AZURE_MANAGEMENT]}}}),
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (403, "AccessDenied"));

    // Application.Read.All + Policy.ReadWrite.ConditionalAccess is the documented alternative.
    let (running, client) =
        start_with_roles(&["Application.Read.All", "Policy.ReadWrite.ConditionalAccess"]).await;
    let created = ok(&client, Request::post(CA, mfa_pilot(&running))).await;
    assert_eq!(created.status, 201);
}

#[tokio::test]
async fn owned_by_can_only_update_applications_it_owns() {
    let (running, client) = start_with_roles(&["Application.ReadWrite.OwnedBy"]).await;
    let own = create_app(&client, "mine").await;
    let own_id = s(&own, "/id");
    let patched = ok(
        &client,
        Request::patch(
            format!("applications/{own_id}"),
            json!({"displayName": "still mine"}),
        ),
    )
    .await;
    assert_eq!(patched.status, 204);
    let secret = ok(
        &client,
        Request::post(format!("applications/{own_id}/addPassword"), json!({})),
    )
    .await;
    assert_eq!(secret.status, 200);

    let other = admin_app_object_id(&running);
    for request in [
        Request::patch(
            format!("applications/{other}"),
            json!({"displayName": "hijacked"}),
        ),
        Request::post(format!("applications/{other}/addPassword"), json!({})),
        Request::delete(format!("applications/{other}")),
    ] {
        let what = format!("{} {}", request.method, request.path);
        let e = fail(&client, request).await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (403, "Authorization_RequestDenied"),
            "{what}"
        );
    }
    // OwnedBy may list every service principal in the tenant (calls.json notes).
    let sps = list(&client, Request::get("servicePrincipals")).await;
    assert!(sps.iter().any(|sp| sp["appId"] == json!(GRAPH)));

    let deleted = ok(&client, Request::delete(format!("applications/{own_id}"))).await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn conditional_access_delete_needs_policy_read_all() {
    let (running, client) = start().await;
    let policy = body(&ok(&client, Request::post(CA, policy_for_all_apps("x"))).await);
    let path = format!("{CA}/{}", s(&policy, "/id"));
    // calls.json delete_conditional_access_policy lists only
    // "Policy.Read.All + Policy.ReadWrite.ConditionalAccess" (no Application.Read.All row),
    // so take Policy.Read.All away from the admin app (it keeps Application.Read.All).
    let graph_sp = snapshot_id(&running, "servicePrincipals", "appId", GRAPH);
    let policy_read_all = "246dd0d5-5bd0-4def-940b-0421030a5b68";
    running.sim.with_tenant(&running.tenant.tenant_id, |t| {
        t.app_role_assignments.retain(|a| {
            a.str("appRoleId") != Some(policy_read_all)
                || a.str("resourceId") != Some(graph_sp.as_str())
        });
    });
    let fresh = running.client();
    let e = fail(&fresh, Request::delete(&path)).await;
    assert_eq!(e.status, 403);
}

#[ignore = "gap: AppRegistration.Create's permission id is not in our reference data, so the simulated Graph does not publish it"]
#[tokio::test]
async fn app_registration_create_is_enough_to_create_an_application() {
    let (_running, client) = start_with_roles(&["AppRegistration.Create"]).await;
    // calls.json create_application permissions.application: "AppRegistration.Create (least)".
    let response = ok(
        &client,
        Request::post("applications", json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(response.status, 201);
}

#[tokio::test]
async fn directory_read_write_all_covers_service_principals_and_grants() {
    let (running, client) =
        start_with_roles(&["Directory.ReadWrite.All", "Application.ReadWrite.All"]).await;
    let graph_sp = snapshot_id(&running, "servicePrincipals", "appId", GRAPH);
    // calls.json create_oauth2_permission_grant permissions: "Directory.ReadWrite.All".
    let response = ok(
        &client,
        Request::post(
            "oauth2PermissionGrants",
            json!({"clientId": running.tenant.admin_service_principal_id,
                   "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "User.Read"}),
        ),
    )
    .await;
    assert_eq!(response.status, 201);
}

// ---------------------------------------------------------------------------------------------
// error shape

#[tokio::test]
async fn errors_carry_code_message_and_inner_error() {
    let (running, client) = start().await;
    let token = running.token_for(&running.tenant).await;
    let response = running
        .http()
        .get(format!(
            "{}/v1.0/applications/6b4c1d1e-0000-4000-8000-000000000000",
            running.sim.graph_url()
        ))
        .bearer_auth(&token)
        .header("client-request-id", "7e8c1f2a-0000-4000-8000-000000000002")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.headers().get("request-id").is_some());
    let error: Value = response.json().await.unwrap();
    let inner = &error["error"];
    assert_eq!(inner["code"], json!("Request_ResourceNotFound"));
    assert!(inner["message"].is_string());
    assert!(is_guid(s(inner, "/innerError/request-id")));
    assert_eq!(
        s(inner, "/innerError/client-request-id"),
        "7e8c1f2a-0000-4000-8000-000000000002"
    );
    assert!(inner["innerError"]["date"].is_string());
    drop(client);
}

// ---------------------------------------------------------------------------------------------
// multi-tenant isolation

#[tokio::test]
async fn tenants_are_isolated() {
    let mut options = options();
    options.tenants = vec![
        TenantSpec::default(),
        TenantSpec {
            domain_label: "fabrikam".into(),
            display_name: "Fabrikam".into(),
            ..TenantSpec::default()
        },
    ];
    let running = common::sim::start(options).await;
    let tenants = running.sim.tenants();
    assert_eq!(tenants.len(), 2);
    let a = tenants
        .iter()
        .find(|t| t.domain == "contoso.onmicrosoft.com")
        .unwrap();
    let b = tenants
        .iter()
        .find(|t| t.domain == "fabrikam.onmicrosoft.com")
        .unwrap();
    let client_a = running.client_for(a);
    let client_b = running.client_for(b);

    let app = create_app(&client_a, "only in A").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");

    let seen_by_b = list(
        &client_b,
        Request::get("applications").query("$filter", "displayName eq 'only in A'"),
    )
    .await;
    assert!(seen_by_b.is_empty());
    let e = fail(&client_b, Request::get(format!("applications/{id}"))).await;
    assert_eq!(e.status, 404);
    let e = fail(
        &client_b,
        Request::get(format!("applications(appId='{app_id}')")),
    )
    .await;
    assert_eq!(e.status, 404);
    // B cannot make a service principal for A's app.
    let e = fail(
        &client_b,
        Request::post("servicePrincipals", json!({"appId": app_id})),
    )
    .await;
    assert!(e.has_code("NoBackingApplicationObject"));
    // B's own admin app is visible to B, not A's.
    let b_apps = list(&client_b, Request::get("applications")).await;
    assert!(b_apps
        .iter()
        .all(|x| x["appId"] != json!(a.admin_client_id)));
    assert!(b_apps
        .iter()
        .any(|x| x["appId"] == json!(b.admin_client_id)));

    let in_a = snapshot_list(&running, &a.tenant_id, "applications");
    let in_b = snapshot_list(&running, &b.tenant_id, "applications");
    assert!(in_a.iter().any(|x| x["id"] == json!(id)));
    assert!(in_b.iter().all(|x| x["id"] != json!(id)));

    // Resource service principal object ids differ per tenant; permission GUIDs do not.
    let graph_a = body(
        &ok(
            &client_a,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    let graph_b = body(
        &ok(
            &client_b,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    assert_ne!(graph_a["id"], graph_b["id"]);
    assert_eq!(graph_a["appRoles"], graph_b["appRoles"]);
    let user_b = body(
        &ok(
            &client_b,
            Request::get("users/alice@fabrikam.onmicrosoft.com"),
        )
        .await,
    );
    let e = fail(
        &client_b,
        Request::get("users/alice@contoso.onmicrosoft.com"),
    )
    .await;
    assert_eq!(e.status, 404);
    assert!(is_guid(s(&user_b, "/id")));
}
