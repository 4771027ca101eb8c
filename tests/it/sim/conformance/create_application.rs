//! create_application

use super::*;

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
