//! list_domains, get_domain (domain-list.md, domain-get.md), list_organization
//! (organization-list.md), and the permissions Graph publishes for them.

use super::*;

fn names(domains: &[Value]) -> Vec<&str> {
    domains.iter().map(|d| s(d, "/id")).collect()
}

#[tokio::test]
async fn domains_list_the_verified_and_the_unverified_ones() {
    let (_running, client) = start_with_roles(&["Domain.Read.All"]).await;
    let answer = body(&ok(&client, Request::get("domains")).await);
    assert!(
        context_of(&answer).ends_with("/v1.0/$metadata#domains"),
        "{answer}"
    );
    let domains = answer["value"].as_array().unwrap();
    assert_eq!(
        names(domains),
        ["contoso.onmicrosoft.com", "contoso.com", "contoso.org"]
    );
    let initial = &domains[0];
    assert_eq!(initial["isInitial"], json!(true));
    assert_eq!(initial["isDefault"], json!(true));
    assert_eq!(initial["isVerified"], json!(true));
    assert_eq!(initial["isRoot"], json!(true));
    assert_eq!(s(initial, "/authenticationType"), "Managed");
    assert_eq!(initial["availabilityStatus"], Value::Null);
    assert_eq!(
        initial["supportedServices"],
        json!(["Email", "OfficeCommunicationsOnline"])
    );
    assert!(initial["passwordValidityPeriodInDays"].is_i64());
    let custom = &domains[1];
    assert_eq!(
        (custom["isVerified"].clone(), custom["isInitial"].clone()),
        (json!(true), json!(false))
    );
    let pending = &domains[2];
    assert_eq!(pending["isVerified"], json!(false));
    assert_eq!(pending["supportedServices"], json!([]));
    // None of the domain properties is an object id: the key is the name.
    assert!(domains.iter().all(|d| !is_guid(s(d, "/id"))));

    // OData: `$select` names the context; `$filter` on isVerified keeps the verified ones.
    let selected = body(
        &ok(
            &client,
            Request::get("domains").query("$select", "id,isVerified"),
        )
        .await,
    );
    assert!(context_of(&selected).ends_with("#domains(id,isVerified)"));
    assert_eq!(
        keys_of(&selected["value"][0]),
        HashSet::from(["id", "isVerified"])
    );
    let verified = list(
        &client,
        Request::get("domains").query("$filter", "isVerified eq true"),
    )
    .await;
    assert_eq!(names(&verified), ["contoso.onmicrosoft.com", "contoso.com"]);
}

#[tokio::test]
async fn a_domain_is_read_by_its_name() {
    let (_running, client) = start_with_roles(&["Domain.Read.All"]).await;
    let one = body(&ok(&client, Request::get("domains/Contoso.COM")).await);
    assert!(
        context_of(&one).ends_with("/v1.0/$metadata#domains/$entity"),
        "{one}"
    );
    assert_eq!(s(&one, "/id"), "contoso.com");
    let e = fail(&client, Request::get("domains/fabrikam.com")).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
}

#[tokio::test]
async fn domains_need_a_domain_or_directory_read_permission() {
    // The admin app's default roles: no Domain.* and no Directory.*.
    let (_running, client) =
        start_with_roles(&["Application.ReadWrite.All", "User.Read.All"]).await;
    for path in ["domains", "domains/contoso.com"] {
        let e = fail(&client, Request::get(path)).await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (403, "Authorization_RequestDenied"),
            "{path}"
        );
    }
    for role in [
        "Domain.Read.All",
        "Domain.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ] {
        let (_running, client) = start_with_roles(&[role]).await;
        ok(&client, Request::get("domains")).await;
        ok(&client, Request::get("domains/contoso.com")).await;
    }
}

#[tokio::test]
async fn the_organization_lists_only_verified_domains() {
    let (running, client) = start_with_roles(&["Organization.Read.All"]).await;
    let tenant = running.sim.tenants()[0].tenant_id.clone();
    let answer = body(&ok(&client, Request::get("organization")).await);
    assert!(context_of(&answer).ends_with("/v1.0/$metadata#organization"));
    let org = &answer["value"][0];
    assert_eq!(s(org, "/id"), tenant);
    assert_eq!(s(org, "/tenantType"), "AAD");
    let verified: Vec<&str> = org["verifiedDomains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(d, "/name"))
        .collect();
    assert_eq!(verified, ["contoso.onmicrosoft.com", "contoso.com"]);
    assert_eq!(org["verifiedDomains"][0]["isInitial"], json!(true));

    let by_id = body(&ok(&client, Request::get(format!("organization/{tenant}"))).await);
    assert!(
        context_of(&by_id).ends_with("#organization/$entity"),
        "{by_id}"
    );
    assert_eq!(by_id["verifiedDomains"], org["verifiedDomains"]);
    let e = fail(
        &client,
        Request::get("organization/00000000-0000-0000-0000-00000000aaaa"),
    )
    .await;
    assert_eq!(e.status, 404);
}

#[tokio::test]
async fn the_organization_needs_an_organization_or_directory_read_permission() {
    let (_running, client) = start_with_roles(&["Domain.Read.All", "User.Read.All"]).await;
    let e = fail(&client, Request::get("organization")).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    for role in [
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ] {
        let (_running, client) = start_with_roles(&[role]).await;
        ok(&client, Request::get("organization")).await;
    }
}

/// Every Microsoft Graph permission in the project's copy of Microsoft's id list.
fn graph_permissions_in_well_known_ids() -> Vec<(String, String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/entra-sim/src/data/well_known_ids.json"
    );
    let ids: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    ids.as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter(|entry| entry["resourceAppId"] == GRAPH)
        .map(|entry| {
            (
                s(entry, "/name").to_string(),
                s(entry, "/type").to_string(),
                s(entry, "/id").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn graph_publishes_every_well_known_permission_with_its_id() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "appRoles,oauth2PermissionScopes"),
        )
        .await,
    );
    let published = |list: &str, value: &str| -> Option<String> {
        graph[list]
            .as_array()?
            .iter()
            .find(|p| p["value"] == json!(value))
            .and_then(|p| p["id"].as_str().map(String::from))
    };
    let expected = graph_permissions_in_well_known_ids();
    for name in ["Domain.Read.All", "Organization.Read.All"] {
        for kind in ["Role", "Scope"] {
            assert!(
                expected.iter().any(|(n, k, _)| n == name && k == kind),
                "{name} ({kind}) is in well_known_ids.json"
            );
        }
    }
    let wrong: Vec<String> = expected
        .iter()
        .filter_map(|(name, kind, id)| {
            let list = if kind == "Role" {
                "appRoles"
            } else {
                "oauth2PermissionScopes"
            };
            let found = published(list, name);
            (found.as_deref() != Some(id.as_str()))
                .then(|| format!("{name} ({kind}): expected {id}, published {found:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn domain_read_all_can_be_granted_and_then_reads_domains() {
    // The least-privileged role is published, so it is granted like any other.
    let (running, client) =
        start_with_roles(&["Application.Read.All", "AppRoleAssignment.ReadWrite.All"]).await;
    let e = fail(&client, Request::get("domains")).await;
    assert_eq!(e.status, 403);
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    let role_id = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Domain.Read.All")
        .map(|r| s(r, "/id").to_string())
        .expect("published");
    let admin_app = running.sim.tenants()[0].admin_client_id.clone();
    let admin = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{admin_app}')")),
        )
        .await,
    );
    let admin_sp = s(&admin, "/id").to_string();
    ok(
        &client,
        Request::post(
            format!("servicePrincipals/{admin_sp}/appRoleAssignments"),
            json!({"principalId": admin_sp, "resourceId": s(&graph, "/id"), "appRoleId": role_id}),
        ),
    )
    .await;
    let granted = running.client();
    ok(&granted, Request::get("domains")).await;
}
