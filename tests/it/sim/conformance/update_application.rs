//! update_application_required_resource_access

use super::*;

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
