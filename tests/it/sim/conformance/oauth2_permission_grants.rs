//! oauth2PermissionGrants

use super::*;

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
