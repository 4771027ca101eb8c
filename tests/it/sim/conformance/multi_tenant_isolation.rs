//! multi-tenant isolation

use super::*;

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
