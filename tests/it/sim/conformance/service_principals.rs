//! create_service_principal / upsert_service_principal_by_appId

use super::*;

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
