//! grant_app_role / list_app_role_assignments

use super::*;

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
