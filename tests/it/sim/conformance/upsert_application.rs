//! upsert_application_by_uniqueName

use super::*;

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
