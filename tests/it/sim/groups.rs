//! Groups in the simulated tenant, as Microsoft Graph v1.0 documents them: upsert by
//! `uniqueName` (group-upsert), reads, direct members (group-post-members,
//! group-delete-members, group-list-members), permissions, replication lag and throttling.
//!
//! Every test talks to the simulator through the production `GraphClient` over TLS.

use std::time::Duration;

use entra_mail::auth;
use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::graph::{ApiError, GraphClient, Request, Response};
use entra_mail::http::{build_client, TransportOptions};
use entra_mail::sim::{Faults, Sim, SimOptions, TenantInfo, TenantSpec};
use serde_json::{json, Value};

const DUPLICATE_MEMBER: &str =
    "One or more added object references already exist for the following modified properties: 'members'.";
const NOT_REPLICATED_YET: &str =
    "The source resource object or one of the objects being referenced do not exist.";

// ---------------------------------------------------------------------------------------------
// harness

struct Running {
    sim: Sim,
    tenant: TenantInfo,
    client: GraphClient,
}

/// A simulator whose one tenant's admin app holds `roles` (Graph application permissions),
/// and a production Graph client signed in as that app with its client secret.
async fn start(roles: &[&str], faults: Faults) -> Running {
    let sim = Sim::start(SimOptions {
        seed: 15,
        faults,
        tenants: vec![TenantSpec {
            admin_roles: roles.iter().map(|r| r.to_string()).collect(),
            ..TenantSpec::default()
        }],
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let tenant = sim.tenants().into_iter().next().expect("a tenant");
    let endpoints = Endpoints::resolve(
        Cloud::Public,
        Some(&sim.graph_url()),
        Some(&sim.authority_host()),
    )
    .unwrap();
    let http = build_client(&TransportOptions {
        ca_pems: vec![sim.ca_pem().to_string()],
        ..TransportOptions::default()
    })
    .unwrap();
    let credential = auth::client_secret(
        &tenant.tenant_id,
        &tenant.admin_client_id,
        &tenant.admin_client_secret,
        &http,
        &endpoints.authority_host,
    )
    .unwrap();
    let client = GraphClient::builder(&endpoints, credential)
        .http_client(http)
        .build()
        .unwrap();
    Running {
        sim,
        tenant,
        client,
    }
}

/// Everything a group writer needs: groups, their members, and reading the users added.
const WRITER: &[&str] = &["Group.ReadWrite.All", "User.Read.All"];

async fn writer() -> Running {
    start(WRITER, Faults::default()).await
}

async fn ok(client: &GraphClient, request: Request) -> Response {
    let what = format!("{} {}", request.method, request.path);
    client
        .send(&request)
        .await
        .unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

async fn fail(client: &GraphClient, request: Request) -> ApiError {
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

fn body(response: &Response) -> Value {
    response.body.clone().expect("a JSON body")
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {value}"))
}

fn pilot(display_name: &str) -> Value {
    json!({
        "displayName": display_name,
        "mailEnabled": false,
        "mailNickname": "pilot-users",
        "securityEnabled": true,
    })
}

fn upsert(unique_name: &str, body: Value) -> Request {
    Request::patch(format!("groups(uniqueName='{unique_name}')"), body)
        .header("Prefer", "create-if-missing")
}

/// Creates the group `pilot-users` and returns it as the 201 answer shows it.
async fn create_pilot(client: &GraphClient) -> Value {
    let created = ok(client, upsert("pilot-users", pilot("Pilot users"))).await;
    assert_eq!(created.status, 201);
    body(&created)
}

fn add_member(group_id: &str, member_id: &str) -> Request {
    Request::post(
        format!("groups/{group_id}/members/$ref"),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member_id}")}),
    )
}

fn remove_member(group_id: &str, member_id: &str) -> Request {
    Request::delete(format!("groups/{group_id}/members/{member_id}/$ref"))
}

async fn user_id(client: &GraphClient, label: &str, tenant: &TenantInfo) -> String {
    let upn = format!("{label}@{}", tenant.domain);
    let user = body(
        &ok(
            client,
            Request::get(format!("users/{upn}")).query("$select", "id"),
        )
        .await,
    );
    text(&user, "/id").to_string()
}

async fn member_ids(client: &GraphClient, group_id: &str) -> Vec<String> {
    client
        .list::<Value>(Request::get(format!("groups/{group_id}/members")).query("$select", "id"))
        .await
        .unwrap()
        .iter()
        .map(|m| text(m, "/id").to_string())
        .collect()
}

/// Ends every replication in the tenant's groups, as time would.
fn replicate(running: &Running) {
    running.sim.with_tenant(&running.tenant.tenant_id, |t| {
        for group in &mut t.groups {
            group.visible_at = None;
            group.list_visible_at = None;
        }
    });
}

fn groups_named(running: &Running, unique_name: &str) -> usize {
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| {
            t.groups
                .iter()
                .filter(|g| g.str("uniqueName") == Some(unique_name))
                .count()
        })
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// upsert

#[tokio::test]
async fn upsert_creates_with_201_and_updates_with_204() {
    let running = writer().await;
    let client = &running.client;

    let created = create_pilot(client).await;
    let id = text(&created, "/id").to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{created}");
    assert!(text(&created, "/@odata.context").ends_with("/v1.0/$metadata#groups/$entity"));
    assert_eq!(created["uniqueName"], json!("pilot-users"));
    assert_eq!(created["displayName"], json!("Pilot users"));
    assert_eq!(created["securityEnabled"], json!(true));
    assert_eq!(created["mailEnabled"], json!(false));
    assert_eq!(created["groupTypes"], json!([]));
    assert!(text(&created, "/securityIdentifier").starts_with("S-1-12-1-"));

    let again = ok(
        client,
        upsert(
            "pilot-users",
            json!({"displayName": "Pilot users", "description": "MFA pilot"}),
        ),
    )
    .await;
    assert_eq!(again.status, 204);
    assert!(again.body.is_none());
    assert_eq!(groups_named(&running, "pilot-users"), 1);

    let read = body(
        &ok(
            client,
            Request::get("groups(uniqueName='pilot-users')")
                .query("$select", "id,description,uniqueName"),
        )
        .await,
    );
    assert_eq!(
        read,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#groups(id,description,uniqueName)/$entity", running.sim.graph_url()),
            "id": id,
            "description": "MFA pilot",
            "uniqueName": "pilot-users",
        })
    );
    let by_id = body(&ok(client, Request::get(format!("groups/{id}"))).await);
    assert_eq!(by_id["uniqueName"], json!("pilot-users"));
    assert_eq!(by_id["description"], json!("MFA pilot"));
}

#[tokio::test]
async fn upsert_without_prefer_of_a_missing_group_is_404() {
    let running = writer().await;
    let e = fail(
        &running.client,
        Request::patch("groups(uniqueName='nobody')", pilot("Nobody")),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    assert!(e.message.contains("'nobody'"), "{}", e.message);
    assert_eq!(groups_named(&running, "nobody"), 0);
}

#[tokio::test]
async fn creating_needs_every_required_property() {
    let running = writer().await;
    for missing in [
        "displayName",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
    ] {
        let mut group = pilot("Pilot users");
        group.as_object_mut().unwrap().remove(missing);
        let e = fail(&running.client, upsert("pilot-users", group)).await;
        assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
        assert_eq!(
            e.message,
            format!("A value is required for property '{missing}' of resource 'Group'.")
        );
    }
    assert_eq!(groups_named(&running, "pilot-users"), 0);
}

#[tokio::test]
async fn unique_name_cannot_change_once_set() {
    let running = writer().await;
    let id = text(&create_pilot(&running.client).await, "/id").to_string();
    let e = fail(
        &running.client,
        Request::patch(format!("groups/{id}"), json!({"uniqueName": "renamed"})),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    assert_eq!(groups_named(&running, "pilot-users"), 1);
}

#[tokio::test]
async fn unique_name_is_listed_and_filterable() {
    let running = writer().await;
    let client = &running.client;
    let id = text(&create_pilot(client).await, "/id").to_string();

    let found: Vec<Value> = client
        .list(
            Request::get("groups")
                .query("$filter", "uniqueName eq 'pilot-users'")
                .query("$select", "id,displayName,uniqueName"),
        )
        .await
        .unwrap();
    assert_eq!(
        found,
        [json!({"id": id, "displayName": "Pilot users", "uniqueName": "pilot-users"})]
    );
    // The seeded groups were made without one; they show it as null.
    let seeded: Vec<Value> = client
        .list(
            Request::get("groups")
                .query("$filter", "displayName eq 'MFA-Test-Group'")
                .query("$select", "id,uniqueName"),
        )
        .await
        .unwrap();
    assert_eq!(seeded.len(), 1);
    assert_eq!(seeded[0]["uniqueName"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// members

#[tokio::test]
async fn members_are_added_listed_and_removed() {
    let running = writer().await;
    let client = &running.client;
    let group = text(&create_pilot(client).await, "/id").to_string();
    let alice = user_id(client, "alice", &running.tenant).await;

    let added = ok(client, add_member(&group, &alice)).await;
    assert_eq!(added.status, 204);
    assert!(added.body.is_none());
    let members = body(&ok(client, Request::get(format!("groups/{group}/members"))).await);
    assert!(text(&members, "/@odata.context").ends_with("$metadata#directoryObjects"));
    assert_eq!(members["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        members["value"][0]["@odata.type"],
        json!("#microsoft.graph.user")
    );
    assert_eq!(members["value"][0]["id"], json!(alice));

    let duplicate = fail(client, add_member(&group, &alice)).await;
    assert_eq!(
        (
            duplicate.status,
            duplicate.code.as_str(),
            duplicate.message.as_str()
        ),
        (400, "Request_BadRequest", DUPLICATE_MEMBER)
    );

    let removed = ok(client, remove_member(&group, &alice)).await;
    assert_eq!(removed.status, 204);
    assert!(member_ids(client, &group).await.is_empty());
    let not_member = fail(client, remove_member(&group, &alice)).await;
    assert_eq!(
        (not_member.status, not_member.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
}

#[tokio::test]
async fn members_page_and_select_as_other_lists() {
    let running = writer().await;
    let client = &running.client;
    let group = text(&create_pilot(client).await, "/id").to_string();
    let mut expected = Vec::new();
    for label in ["alice", "bob", "carol"] {
        let id = user_id(client, label, &running.tenant).await;
        ok(client, add_member(&group, &id)).await;
        expected.push(id);
    }
    let first = body(
        &ok(
            client,
            Request::get(format!("groups/{group}/members"))
                .query("$top", "2")
                .query("$select", "id,displayName"),
        )
        .await,
    );
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        first["value"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["@odata.type", "id", "displayName"]
    );
    assert!(text(&first, "/@odata.nextLink").contains("$skiptoken="));
    assert_eq!(member_ids(client, &group).await, expected);
}

#[tokio::test]
async fn adding_what_does_not_exist_is_404() {
    let running = writer().await;
    let client = &running.client;
    let group = text(&create_pilot(client).await, "/id").to_string();
    let nobody = uuid::Uuid::new_v4().to_string();

    let e = fail(client, add_member(&group, &nobody)).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    assert!(e.message.contains(&nobody), "{}", e.message);

    let alice = user_id(client, "alice", &running.tenant).await;
    let e = fail(client, add_member(&nobody, &alice)).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );

    let e = fail(
        client,
        Request::post(
            format!("groups/{group}/members/$ref"),
            json!({"@odata.id": "alice"}),
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    assert!(member_ids(client, &group).await.is_empty());
}

#[tokio::test]
async fn deleting_a_group_takes_it_out_of_the_groups_it_was_in() {
    let running = writer().await;
    let client = &running.client;
    let pilot = text(&create_pilot(client).await, "/id").to_string();
    let seeded: Vec<Value> = client
        .list(Request::get("groups").query("$filter", "displayName eq 'MFA-Test-Group'"))
        .await
        .unwrap();
    let mfa_group = text(&seeded[0], "/id").to_string();
    ok(client, add_member(&mfa_group, &pilot)).await;
    assert!(member_ids(client, &mfa_group).await.contains(&pilot));

    let deleted = ok(client, Request::delete(format!("groups/{pilot}"))).await;
    assert_eq!(deleted.status, 204);
    let e = fail(client, Request::get(format!("groups/{pilot}"))).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    assert!(!member_ids(client, &mfa_group).await.contains(&pilot));
    assert_eq!(groups_named(&running, "pilot-users"), 0);
}

// ---------------------------------------------------------------------------------------------
// permissions

#[tokio::test]
async fn group_writes_need_a_write_permission() {
    // The tool's default permissions read groups but write none.
    let running = start(&["Group.Read.All", "User.Read.All"], Faults::default()).await;
    let client = &running.client;
    let e = fail(client, upsert("pilot-users", pilot("Pilot users"))).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    let seeded: Vec<Value> = client
        .list(Request::get("groups").query("$filter", "displayName eq 'MFA-Test-Group'"))
        .await
        .unwrap();
    let group = text(&seeded[0], "/id").to_string();
    let carol = user_id(client, "carol", &running.tenant).await;
    let e = fail(client, add_member(&group, &carol)).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    assert_eq!(member_ids(client, &group).await.len(), 2);
}

#[tokio::test]
async fn group_member_write_changes_members_but_not_groups() {
    let running = start(
        &["GroupMember.ReadWrite.All", "User.Read.All"],
        Faults::default(),
    )
    .await;
    let client = &running.client;
    let seeded: Vec<Value> = client
        .list(Request::get("groups").query("$filter", "displayName eq 'MFA-Test-Group'"))
        .await
        .unwrap();
    let group = text(&seeded[0], "/id").to_string();
    let carol = user_id(client, "carol", &running.tenant).await;
    assert_eq!(ok(client, add_member(&group, &carol)).await.status, 204);
    assert!(member_ids(client, &group).await.contains(&carol));
    assert_eq!(ok(client, remove_member(&group, &carol)).await.status, 204);

    let e = fail(client, upsert("pilot-users", pilot("Pilot users"))).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    let e = fail(
        client,
        Request::patch(format!("groups/{group}"), json!({"description": "x"})),
    )
    .await;
    assert_eq!(e.status, 403);
    let e = fail(client, Request::delete(format!("groups/{group}"))).await;
    assert_eq!(e.status, 403);
}

#[tokio::test]
async fn member_reads_accept_the_group_read_permissions() {
    for role in [
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
    ] {
        let running = start(&[role], Faults::default()).await;
        let client = &running.client;
        let seeded: Vec<Value> = client
            .list(Request::get("groups").query("$filter", "displayName eq 'MFA-Test-Group'"))
            .await
            .unwrap();
        let group = text(&seeded[0], "/id").to_string();
        assert_eq!(member_ids(client, &group).await.len(), 2, "{role}");
        let e = fail(
            client,
            remove_member(&group, &uuid::Uuid::new_v4().to_string()),
        )
        .await;
        assert_eq!(e.status, 403, "{role}");
    }
}

// ---------------------------------------------------------------------------------------------
// replication lag and throttling

#[tokio::test]
async fn new_groups_and_member_changes_replicate_before_readers_see_them() {
    // Lag long enough that nothing replicates by itself; `replicate` stands for time passing.
    let faults = Faults {
        replication_lag: Duration::from_secs(3600),
        list_lag: Duration::from_secs(3600),
        ..Faults::default()
    };
    let running = start(WRITER, faults).await;
    let client = &running.client;
    let alice = user_id(client, "alice", &running.tenant).await;

    let group = text(&create_pilot(client).await, "/id").to_string();
    let e = fail(client, Request::get(format!("groups/{group}"))).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    let listed: Vec<Value> = client
        .list(Request::get("groups").query("$filter", "uniqueName eq 'pilot-users'"))
        .await
        .unwrap();
    assert!(listed.is_empty());
    // The upsert sees the primary copy: a retry updates, it does not make a second group.
    let again = ok(client, upsert("pilot-users", pilot("Pilot users"))).await;
    assert_eq!(again.status, 204);
    assert_eq!(groups_named(&running, "pilot-users"), 1);
    // Adding a member to a group still replicating fails as Graph documents.
    let e = fail(client, add_member(&group, &alice)).await;
    assert_eq!(
        (e.status, e.code.as_str(), e.message.as_str()),
        (400, "Request_BadRequest", NOT_REPLICATED_YET)
    );

    replicate(&running);
    assert_eq!(
        ok(client, Request::get(format!("groups/{group}")))
            .await
            .status,
        200
    );
    assert_eq!(ok(client, add_member(&group, &alice)).await.status, 204);
    assert!(
        member_ids(client, &group).await.is_empty(),
        "a new member shows only once replicated"
    );
    // Writes see the primary copy: the member is there already.
    let duplicate = fail(client, add_member(&group, &alice)).await;
    assert_eq!(duplicate.message, DUPLICATE_MEMBER);

    replicate(&running);
    assert_eq!(member_ids(client, &group).await, [alice.as_str()]);
    assert_eq!(ok(client, remove_member(&group, &alice)).await.status, 204);
    assert_eq!(
        member_ids(client, &group).await,
        [alice.as_str()],
        "a removed member shows until replicated"
    );
    replicate(&running);
    assert!(member_ids(client, &group).await.is_empty());
}

#[tokio::test]
async fn throttled_group_requests_are_retried_to_success() {
    let faults = Faults {
        throttle_rate: 0.5,
        throttle_retry_after: Some(0),
        ..Faults::default()
    };
    let running = start(WRITER, faults).await;
    let client = &running.client;
    let group = text(&create_pilot(client).await, "/id").to_string();
    let alice = user_id(client, "alice", &running.tenant).await;
    ok(client, add_member(&group, &alice)).await;
    assert_eq!(member_ids(client, &group).await, [alice.as_str()]);
    ok(client, remove_member(&group, &alice)).await;
    assert!(member_ids(client, &group).await.is_empty());
    assert!(running.sim.counters().throttled > 0);
    assert_eq!(groups_named(&running, "pilot-users"), 1);
}
