//! The simulated tenant's memberships, roles and registration report, as Microsoft Graph v1.0
//! documents them: nested groups and `transitiveMembers`, a user's `transitiveMemberOf`, role
//! definitions, `userRegistrationDetails`, and write bodies in the request log.
//!
//! Every request goes through the production `GraphClient` over TLS.

use crate::common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::calls::{body, fail, ok, s};
use common::sim::Running;
use entra_mail::auth::{self, AuthMethod, AuthSettings};
use entra_mail::graph::{GraphClient, Request};
use entra_mail::sim::seed::DEFAULT_ADMIN_ROLES;
use entra_mail::sim::{roles, Faults, SimOptions, Tenant, TenantSpec};
use serde_json::{json, Value};

const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
const REGISTRATION: &str = "reports/authenticationMethods/userRegistrationDetails";
const ROLE_DEFINITIONS: &str = "roleManagement/directory/roleDefinitions";

// ---------------------------------------------------------------------------------------------
// helpers

async fn start_with(spec: TenantSpec) -> (Running, GraphClient) {
    let running = common::sim::start(SimOptions {
        faults: Faults {
            conditional_access_rate_limit: false,
            device_code_interval: Duration::from_secs(1),
            ..Faults::default()
        },
        tenants: vec![spec],
        ..SimOptions::default()
    })
    .await;
    let client = running.client();
    (running, client)
}

async fn start() -> (Running, GraphClient) {
    start_with(TenantSpec::default()).await
}

/// The default admin roles plus `extra`, minus `without`.
fn roles_with(extra: &[&str], without: &[&str]) -> Vec<String> {
    DEFAULT_ADMIN_ROLES
        .iter()
        .chain(extra)
        .filter(|r| !without.contains(r))
        .map(|r| r.to_string())
        .collect()
}

/// `request` fails with `status` and Graph error `code`.
async fn assert_fails(client: &GraphClient, request: Request, status: u16, code: &str) {
    let e = fail(client, request).await;
    assert_eq!((e.status, e.code.as_str()), (status, code));
}

fn edit<R>(running: &Running, change: impl FnOnce(&mut Tenant) -> R) -> R {
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, change)
        .expect("the tenant")
}

fn upn(running: &Running, label: &str) -> String {
    format!("{label}@{}", running.tenant.domain)
}

fn user_id(running: &Running, label: &str) -> String {
    edit(running, |t| {
        t.user(label).expect("seeded user").id().to_string()
    })
}

/// A signed-in user's client (device code, approved as `upn`) holding `scopes`.
async fn delegated_client(running: &Running, upn: &str, scopes: &[&str]) -> GraphClient {
    running.sim.auto_approve_device_codes(Some(upn));
    let http = running.http();
    let endpoints = running.endpoints();
    let settings = AuthSettings {
        method: AuthMethod::DeviceCode,
        tenant_id: &running.tenant.tenant_id,
        authority_host: &endpoints.authority_host,
        graph_url: &endpoints.graph_url,
        delegated_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        device_code_client_id: entra_mail::well_known::GRAPH_COMMAND_LINE_TOOLS.into(),
        http: &http,
        prompt: Arc::new(|_| {}),
        timeout: Duration::from_secs(20),
    };
    let chosen = auth::choose_with(&settings, &|_| None).unwrap();
    GraphClient::builder(&endpoints, chosen.credential)
        .http_client(http)
        .build()
        .unwrap()
}

async fn list(client: &GraphClient, request: Request) -> Vec<Value> {
    client.list::<Value>(request).await.unwrap()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| s(i, "/id").to_string()).collect()
}

fn id_set(items: &[Value]) -> HashSet<String> {
    ids(items).into_iter().collect()
}

fn strings(items: &[Value], pointer: &str) -> HashSet<String> {
    items.iter().map(|i| s(i, pointer).to_string()).collect()
}

/// `count` users `{prefix}{n}` in a new group `name`; the member ids in order.
fn big_group(running: &Running, name: &str, prefix: &str, count: usize) -> (String, Vec<String>) {
    edit(running, |t| {
        let members: Vec<String> = (0..count)
            .map(|n| t.add_user(&format!("{prefix}{n}"), &format!("User {n}")))
            .collect();
        (t.add_group(name, members.clone()), members)
    })
}

// ---------------------------------------------------------------------------------------------
// nested groups and transitiveMembers

/// Top holds alice and Mid; Mid holds bob and Leaf; Leaf holds carol, alice again and Top (a
/// cycle). Returns (top, mid, leaf) ids.
fn nested_groups(running: &Running) -> (String, String, String) {
    let (alice, bob, carol) = (
        user_id(running, "alice"),
        user_id(running, "bob"),
        user_id(running, "carol"),
    );
    edit(running, |t| {
        let top = t.add_group("Top", Vec::new());
        let leaf = t.add_group("Leaf", vec![carol, alice.clone(), top.clone()]);
        let mid = t.add_group("Mid", vec![bob, leaf.clone()]);
        t.group_mut("Top").unwrap().hidden.members = vec![alice, mid.clone()];
        (top, mid, leaf)
    })
}

#[tokio::test]
async fn members_list_direct_users_and_groups_typed() {
    let (running, client) = start().await;
    let (top, mid, _) = nested_groups(&running);
    let answer = body(&ok(&client, Request::get(format!("groups/{top}/members"))).await);
    assert!(s(&answer, "/@odata.context").ends_with("/v1.0/$metadata#directoryObjects"));
    let members = answer["value"].as_array().unwrap();
    assert_eq!(ids(members), [user_id(&running, "alice"), mid.clone()]);
    assert_eq!(
        members[0],
        json!({"@odata.type": "#microsoft.graph.user", "id": user_id(&running, "alice"),
            "displayName": "Alice Pilot", "userPrincipalName": upn(&running, "alice"),
            "accountEnabled": true})
    );
    assert_eq!(
        members[1],
        json!({"@odata.type": "#microsoft.graph.group", "id": mid, "displayName": "Mid"})
    );
}

#[tokio::test]
async fn transitive_members_follow_two_levels_of_nesting_through_a_cycle() {
    let (running, client) = start().await;
    let (top, mid, leaf) = nested_groups(&running);
    let request = Request::get(format!("groups/{top}/transitiveMembers"));
    let answer = body(&ok(&client, request.clone()).await);
    assert!(s(&answer, "/@odata.context").ends_with("/v1.0/$metadata#directoryObjects"));
    let found = answer["value"].as_array().unwrap().clone();
    // Everyone below Top once: alice is listed twice and Top is in its own cycle.
    let expected: HashSet<String> = [
        user_id(&running, "alice"),
        user_id(&running, "bob"),
        user_id(&running, "carol"),
        mid.clone(),
        leaf.clone(),
    ]
    .into();
    assert_eq!(found.len(), expected.len(), "{found:?}");
    assert_eq!(id_set(&found), expected);
    let carol = found
        .iter()
        .find(|m| m["id"] == json!(user_id(&running, "carol")))
        .unwrap();
    assert_eq!(carol["@odata.type"], "#microsoft.graph.user");
    assert_eq!(carol["userPrincipalName"], json!(upn(&running, "carol")));
    let leaf_object = found.iter().find(|m| m["id"] == json!(leaf)).unwrap();
    assert_eq!(
        leaf_object,
        &json!({"@odata.type": "#microsoft.graph.group", "id": leaf, "displayName": "Leaf"})
    );
    // From the middle of the cycle, Top is a member too.
    let from_mid = list(
        &client,
        Request::get(format!("groups/{mid}/transitiveMembers")),
    )
    .await;
    assert!(id_set(&from_mid).contains(&top));
    assert!(!id_set(&from_mid).contains(&mid));

    // $select keeps id and the type.
    let selected = list(&client, request.query("$select", "displayName")).await;
    for item in &selected {
        let keys: HashSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, HashSet::from(["@odata.type", "id", "displayName"]));
    }
}

#[tokio::test]
async fn transitive_members_need_a_member_read_permission_and_a_visible_group() {
    let (running, client) = start().await;
    nested_groups(&running);
    assert_fails(
        &client,
        Request::get("groups/00000000-0000-0000-0000-00000000dead/transitiveMembers"),
        404,
        "Request_ResourceNotFound",
    )
    .await;
    // A group still replicating is not found either.
    edit(&running, |t| {
        t.group_mut("Leaf").unwrap().visible_at = Some(Instant::now() + Duration::from_secs(600))
    });
    let leaf = edit(&running, |t| t.group("Leaf").unwrap().id().to_string());
    assert_fails(
        &client,
        Request::get(format!("groups/{leaf}/transitiveMembers")),
        404,
        "Request_ResourceNotFound",
    )
    .await;

    let (running, basic) = start_with(TenantSpec {
        admin_roles: vec!["Group.ReadBasic.All".into(), "User.Read.All".into()],
        ..TenantSpec::default()
    })
    .await;
    let (top_basic, _, _) = nested_groups(&running);
    assert_fails(
        &basic,
        Request::get(format!("groups/{top_basic}/transitiveMembers")),
        403,
        "Authorization_RequestDenied",
    )
    .await;

    // GroupMember.Read.All alone lists users with limited information.
    let (running, members_only) = start_with(TenantSpec {
        admin_roles: vec!["GroupMember.Read.All".into()],
        ..TenantSpec::default()
    })
    .await;
    let (top_limited, mid, _) = nested_groups(&running);
    let found = list(
        &members_only,
        Request::get(format!("groups/{top_limited}/transitiveMembers")),
    )
    .await;
    let alice = found
        .iter()
        .find(|m| m["id"] == json!(user_id(&running, "alice")))
        .unwrap();
    assert_eq!(alice["@odata.type"], "#microsoft.graph.user");
    assert_eq!(alice["userPrincipalName"], Value::Null);
    let mid_object = found.iter().find(|m| m["id"] == json!(mid)).unwrap();
    assert_eq!(mid_object["displayName"], "Mid");
}

#[tokio::test]
async fn a_250_member_group_pages_by_100() {
    let (running, client) = start().await;
    let (group, members) = big_group(&running, "Everyone", "user", 250);
    for relation in ["members", "transitiveMembers"] {
        let mut sizes = Vec::new();
        let mut request = Some(Request::get(format!("groups/{group}/{relation}")));
        while let Some(current) = request.take() {
            let page = body(&ok(&client, current).await);
            sizes.push(page["value"].as_array().unwrap().len());
            request = page["@odata.nextLink"].as_str().map(Request::get);
        }
        assert_eq!(sizes, [100, 100, 50], "{relation}");

        let all = list(&client, Request::get(format!("groups/{group}/{relation}"))).await;
        assert_eq!(
            ids(&all),
            members,
            "{relation}: every member once, in order"
        );
    }
    let one_page = body(
        &ok(
            &client,
            Request::get(format!("groups/{group}/transitiveMembers")).query("$top", "999"),
        )
        .await,
    );
    assert_eq!(one_page["value"].as_array().unwrap().len(), 250);
    assert!(one_page.get("@odata.nextLink").is_none());
    let e = fail(
        &client,
        Request::get(format!("groups/{group}/transitiveMembers")).query("$top", "1000"),
    )
    .await;
    assert_eq!(e.status, 400);
}

#[tokio::test]
async fn expanding_members_stops_at_20() {
    let (running, client) = start().await;
    let (_, members) = big_group(&running, "Twenty-five", "member", 25);
    let groups = list(
        &client,
        Request::get("groups")
            .query("$filter", "displayName eq 'Twenty-five'")
            .query("$expand", "members"),
    )
    .await;
    let expanded = groups[0]["members"].as_array().unwrap();
    assert_eq!(ids(expanded), members[..20]);
    assert_eq!(expanded[0]["@odata.type"], "#microsoft.graph.user");
    // The seed's small groups expand whole.
    let pilots = list(
        &client,
        Request::get("groups")
            .query("$filter", "displayName eq 'MFA-Test-Group'")
            .query("$expand", "members"),
    )
    .await;
    assert_eq!(pilots[0]["members"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// transitiveMemberOf

#[tokio::test]
async fn transitive_member_of_gives_nested_groups_and_directory_roles() {
    let (running, client) = start_with(TenantSpec {
        admin_roles: roles_with(&["Directory.Read.All"], &[]),
        ..TenantSpec::default()
    })
    .await;
    let (top, mid, leaf) = nested_groups(&running);
    edit(&running, |t| {
        t.user_mut("carol").unwrap().hidden.directory_roles =
            vec!["Global Reader".into(), "Reports Reader".into()];
    });
    let carol = user_id(&running, "carol");
    let answer = body(
        &ok(
            &client,
            Request::get(format!(
                "users/{}/transitiveMemberOf",
                upn(&running, "carol")
            )),
        )
        .await,
    );
    assert!(s(&answer, "/@odata.context").ends_with("/v1.0/$metadata#directoryObjects"));
    let found = answer["value"].as_array().unwrap().clone();
    // Leaf and the seed's Helpdesk Agents directly; Mid and Top through nesting (the cycle
    // adds nothing).
    let helpdesk_agents = edit(&running, |t| {
        t.group("Helpdesk Agents").unwrap().id().to_string()
    });
    let groups: Vec<&Value> = found
        .iter()
        .filter(|o| o["@odata.type"] == "#microsoft.graph.group")
        .collect();
    assert_eq!(
        groups
            .iter()
            .map(|g| s(g, "/id").to_string())
            .collect::<HashSet<_>>(),
        HashSet::from([top, mid, leaf, helpdesk_agents])
    );
    assert!(groups.iter().all(|g| g["displayName"].is_string()));
    let directory_roles: Vec<&Value> = found
        .iter()
        .filter(|o| o["@odata.type"] == "#microsoft.graph.directoryRole")
        .collect();
    assert_eq!(directory_roles.len(), 2);
    let reader = directory_roles[0];
    assert_eq!(reader["displayName"], "Global Reader");
    assert_eq!(reader["roleTemplateId"], GLOBAL_READER);
    assert_eq!(
        s(reader, "/id"),
        roles::directory_role_id(&running.tenant.tenant_id, GLOBAL_READER)
    );
    assert_ne!(s(reader, "/id"), GLOBAL_READER);
    assert_eq!(
        directory_roles[1]["roleTemplateId"],
        "4a5d8f65-41da-4de4-8968-e035b65339cf"
    );

    // By id, the same answer; the admin holds Global Administrator and no group.
    let by_id = list(
        &client,
        Request::get(format!("users/{carol}/transitiveMemberOf")),
    )
    .await;
    assert_eq!(by_id, found);
    let admin = list(
        &client,
        Request::get(format!(
            "users/{}/transitiveMemberOf",
            upn(&running, "admin")
        )),
    )
    .await;
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0]["roleTemplateId"], GLOBAL_ADMINISTRATOR);

    assert_fails(
        &client,
        Request::get("users/nobody@contoso.onmicrosoft.com/transitiveMemberOf"),
        404,
        "Request_ResourceNotFound",
    )
    .await;
}

#[tokio::test]
async fn transitive_member_of_permissions() {
    // Without a role-management read permission, roles come back with limited information.
    let (running, client) = start_with(without_role_reading()).await;
    let admin = list(
        &client,
        Request::get(format!(
            "users/{}/transitiveMemberOf",
            upn(&running, "admin")
        )),
    )
    .await;
    assert_eq!(admin[0]["@odata.type"], "#microsoft.graph.directoryRole");
    assert!(admin[0]["id"].is_string());
    assert_eq!(admin[0]["roleTemplateId"], Value::Null);

    let (running, basic) = start_with(TenantSpec {
        admin_roles: vec!["Group.ReadBasic.All".into()],
        ..TenantSpec::default()
    })
    .await;
    let e = fail(
        &basic,
        Request::get(format!(
            "users/{}/transitiveMemberOf",
            upn(&running, "alice")
        )),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );

    // A signed-in user reads their own memberships with User.Read, nobody else's.
    let alice = delegated_client(&running, &upn(&running, "alice"), &["User.Read"]).await;
    let own = list(
        &alice,
        Request::get(format!(
            "users/{}/transitiveMemberOf",
            upn(&running, "alice")
        )),
    )
    .await;
    assert_eq!(own.len(), 1, "MFA-Test-Group");
    assert_eq!(own[0]["@odata.type"], "#microsoft.graph.group");
    let e = fail(
        &alice,
        Request::get(format!("users/{}/transitiveMemberOf", upn(&running, "bob"))),
    )
    .await;
    assert_eq!(e.status, 403);
}

// ---------------------------------------------------------------------------------------------
// role definitions

#[tokio::test]
async fn role_definitions_list_the_built_in_roles_and_filter() {
    let (_running, client) = start_with(TenantSpec {
        admin_roles: roles_with(&["Directory.Read.All"], &[]),
        ..TenantSpec::default()
    })
    .await;
    let answer = body(&ok(&client, Request::get(ROLE_DEFINITIONS)).await);
    assert!(s(&answer, "/@odata.context")
        .ends_with("/v1.0/$metadata#roleManagement/directory/roleDefinitions"));
    let all = answer["value"].as_array().unwrap();
    assert_eq!(all.len(), roles::ROLE_TEMPLATES.len());
    let ga = all
        .iter()
        .find(|r| r["displayName"] == "Global Administrator")
        .unwrap();
    assert_eq!(ga["id"], GLOBAL_ADMINISTRATOR);
    assert_eq!(ga["templateId"], GLOBAL_ADMINISTRATOR);
    assert_eq!(
        (&ga["isBuiltIn"], &ga["isEnabled"]),
        (&json!(true), &json!(true))
    );
    assert!(s(ga, "/description").starts_with("Can manage all aspects"));

    let by_template = list(
        &client,
        Request::get(ROLE_DEFINITIONS).query("$filter", format!("templateId eq '{GLOBAL_READER}'")),
    )
    .await;
    assert_eq!(
        strings(&by_template, "/displayName"),
        HashSet::from(["Global Reader".to_string()])
    );
    let by_name = list(
        &client,
        Request::get(ROLE_DEFINITIONS)
            .query("$filter", "displayName eq 'Reports Reader'")
            .query("$select", "displayName,templateId"),
    )
    .await;
    assert_eq!(
        by_name,
        [
            json!({"id": "4a5d8f65-41da-4de4-8968-e035b65339cf", "displayName": "Reports Reader",
            "templateId": "4a5d8f65-41da-4de4-8968-e035b65339cf"})
        ]
    );
    let one = body(
        &ok(
            &client,
            Request::get(format!("{ROLE_DEFINITIONS}/{GLOBAL_READER}")),
        )
        .await,
    );
    assert_eq!(one["displayName"], "Global Reader");
    let e = fail(
        &client,
        Request::get(ROLE_DEFINITIONS).query("$filter", "description eq 'x'"),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "Request_UnsupportedQuery")
    );
}

#[tokio::test]
async fn role_definitions_need_a_role_management_or_directory_read_permission() {
    let (_running, client) = start_with(without_role_reading()).await;
    assert_fails(
        &client,
        Request::get(ROLE_DEFINITIONS),
        403,
        "Authorization_RequestDenied",
    )
    .await;
}

/// The default admin app's permissions without RoleManagement.Read.Directory: it reads users
/// and groups, not role management.
fn without_role_reading() -> TenantSpec {
    TenantSpec {
        admin_roles: roles_with(&[], &["RoleManagement.Read.Directory"]),
        ..TenantSpec::default()
    }
}

// ---------------------------------------------------------------------------------------------
// userRegistrationDetails

#[tokio::test]
async fn registration_report_lists_enabled_users_and_filters() {
    let (running, client) = start().await;
    let answer = body(&ok(&client, Request::get(REGISTRATION)).await);
    assert!(s(&answer, "/@odata.context")
        .ends_with("/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails"));
    let rows = answer["value"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    let admin = rows
        .iter()
        .find(|r| r["userPrincipalName"] == json!(upn(&running, "admin")))
        .unwrap();
    assert_eq!(admin["id"], json!(user_id(&running, "admin")));
    assert_eq!(admin["userDisplayName"], "Tenant Admin");
    assert_eq!(admin["userType"], "member");
    assert_eq!(admin["isAdmin"], true);
    assert_eq!(
        (&admin["isMfaRegistered"], &admin["isMfaCapable"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        admin["methodsRegistered"],
        json!(["microsoftAuthenticatorPush"])
    );
    assert!(admin["lastUpdatedDateTime"].is_string());

    let unregistered = list(
        &client,
        Request::get(REGISTRATION).query("$filter", "isMfaRegistered eq false"),
    )
    .await;
    assert_eq!(
        strings(&unregistered, "/userPrincipalName"),
        HashSet::from([upn(&running, "bob"), upn(&running, "carol")])
    );
    assert!(unregistered
        .iter()
        .all(|r| r["methodsRegistered"] == json!([])));
    let admins = list(
        &client,
        Request::get(REGISTRATION).query(
            "$filter",
            "isAdmin eq true and isMfaCapable eq true and userType eq 'member'",
        ),
    )
    .await;
    assert_eq!(
        strings(&admins, "/userPrincipalName"),
        HashSet::from([
            upn(&running, "admin"),
            upn(&running, "breakglass1"),
            upn(&running, "breakglass2")
        ])
    );
    let alice = list(
        &client,
        Request::get(REGISTRATION)
            .query(
                "$filter",
                format!("userPrincipalName eq '{}'", upn(&running, "alice")),
            )
            .query("$select", "userPrincipalName,isMfaRegistered"),
    )
    .await;
    assert_eq!(
        alice,
        [
            json!({"id": user_id(&running, "alice"), "userPrincipalName": upn(&running, "alice"),
            "isMfaRegistered": true})
        ]
    );

    // Disabled users are not in the report.
    edit(&running, |t| {
        t.user_mut("bob")
            .unwrap()
            .data
            .insert("accountEnabled".into(), json!(false))
    });
    let unregistered = list(
        &client,
        Request::get(REGISTRATION).query("$filter", "isMfaRegistered eq false"),
    )
    .await;
    assert_eq!(
        strings(&unregistered, "/userPrincipalName"),
        HashSet::from([upn(&running, "carol")])
    );
    assert_eq!(list(&client, Request::get(REGISTRATION)).await.len(), 6);
}

#[tokio::test]
async fn registration_report_pages() {
    let (running, client) = start().await;
    big_group(&running, "Many", "many", 150);
    let first = body(&ok(&client, Request::get(REGISTRATION)).await);
    assert_eq!(first["value"].as_array().unwrap().len(), 100);
    assert!(first["@odata.nextLink"].is_string());
    let all = list(
        &client,
        Request::get(REGISTRATION).query("$filter", "isMfaRegistered eq false"),
    )
    .await;
    assert_eq!(all.len(), 152, "150 new users and bob and carol");
}

#[tokio::test]
async fn registration_report_needs_audit_log_read_all_and_a_premium_tenant() {
    let without_permission = TenantSpec {
        admin_roles: roles_with(&["Directory.Read.All"], &["AuditLog.Read.All"]),
        ..TenantSpec::default()
    };
    let without_p1 = TenantSpec {
        p1_licence: false,
        ..TenantSpec::default()
    };
    for (spec, code) in [
        (without_permission, "Authorization_RequestDenied"),
        (
            without_p1,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        ),
    ] {
        let (_running, client) = start_with(spec).await;
        let e = fail(&client, Request::get(REGISTRATION)).await;
        assert_eq!((e.status, e.code.as_str()), (403, code));
    }
}

#[tokio::test]
async fn a_signed_in_caller_needs_a_reporting_role() {
    let (running, _) = start().await;
    let alice = delegated_client(&running, &upn(&running, "alice"), &["AuditLog.Read.All"]).await;
    assert_fails(
        &alice,
        Request::get(REGISTRATION),
        403,
        "Authentication_RequestFromUnsupportedUserRole",
    )
    .await;
    edit(&running, |t| {
        t.user_mut("alice").unwrap().hidden.directory_roles = vec!["Reports Reader".into()]
    });
    assert_eq!(list(&alice, Request::get(REGISTRATION)).await.len(), 7);
}

// ---------------------------------------------------------------------------------------------
// the request log

#[tokio::test]
async fn writes_log_their_json_bodies_and_reads_none() {
    let (running, client) = start().await;
    running.sim.reset_counters();
    let created = body(
        &ok(
            &client,
            Request::post(
                "applications",
                json!({"displayName": "Logged", "signInAudience": "AzureADMyOrg"}),
            ),
        )
        .await,
    );
    let id = s(&created, "/id").to_string();
    ok(
        &client,
        Request::patch(format!("applications/{id}"), json!({"notes": "why"})),
    )
    .await;
    ok(&client, Request::get(format!("applications/{id}"))).await;
    let batch = json!({"requests": [{"id": "1", "method": "GET", "url": "/organization"}]});
    ok(&client, Request::post("$batch", batch.clone())).await;

    let log: Vec<_> = running
        .sim
        .request_log()
        .into_iter()
        .filter(|e| {
            e.tenant.as_deref() == Some(running.tenant.tenant_id.as_str())
                && !e.path.contains("oauth2")
        })
        .collect();
    let bodies: Vec<(&str, Option<&Value>)> = log
        .iter()
        .map(|e| (e.method.as_str(), e.body.as_ref()))
        .collect();
    assert_eq!(
        bodies,
        [
            (
                "POST",
                Some(&json!({"displayName": "Logged", "signInAudience": "AzureADMyOrg"}))
            ),
            ("PATCH", Some(&json!({"notes": "why"}))),
            ("GET", None),
            ("POST", Some(&batch)),
        ]
    );
    // Sign-ins carry no body either.
    assert!(running
        .sim
        .request_log()
        .iter()
        .filter(|e| e.path.contains("oauth2"))
        .all(|e| e.body.is_none()));
}
