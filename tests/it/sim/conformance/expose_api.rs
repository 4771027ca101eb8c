//! expose_api_identifierUris_and_scope

use super::*;

#[tokio::test]
async fn identifier_uris_accept_the_documented_secure_patterns_only() {
    let (running, client) = start().await;
    let app = create_app(&client, "api").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");
    let tenant = &running.tenant.tenant_id;
    for uris in [
        json!([format!("api://{app_id}")]),
        json!([format!("api://{app_id}"), format!("api://{tenant}/x")]),
        // Microsoft's "Restrictions on identifier URIs": these secure patterns are accepted.
        json!([format!("api://productapi/{app_id}")]),
        json!(["https://contoso.onmicrosoft.com/productsapi"]),
        json!(["https://product.contoso.com/productsapi"]),
        json!(["api://contoso.com/productsapi"]),
        // A name that is no DNS name is the app management policy's call, not the domains'.
        json!(["api://productapi"]),
        // Last: the filter below looks for it.
        json!([format!("api://{tenant}/{app_id}")]),
    ] {
        let response = ok(
            &client,
            Request::patch(
                format!("applications/{id}"),
                json!({"identifierUris": uris}),
            ),
        )
        .await;
        assert_eq!(response.status, 204, "{uris}");
        assert_eq!(get_app(&client, id).await["identifierUris"], uris);
    }
    // A host off the verified domains, or on a domain added but not verified yet
    // (contoso.org): refused.
    for uri in [
        "https://evil.example.com",
        "https://helpdesk.contoso.org/mail",
        "api://fabrikam.com/api",
    ] {
        let e = fail(
            &client,
            Request::patch(
                format!("applications/{id}"),
                json!({"identifierUris": [uri]}),
            ),
        )
        .await;
        assert_eq!(
            (e.status, e.code.as_str()),
            (400, "HostNameNotOnVerifiedDomain"),
            "{uri}"
        );
    }
    // Filterable with any().
    let found = list(
        &client,
        Request::get("applications").query(
            "$filter",
            format!("identifierUris/any(x:x eq 'api://{tenant}/{app_id}')"),
        ),
    )
    .await;
    assert_eq!(found.len(), 1);
}

fn scope(id: &str, value: &str, enabled: bool) -> Value {
    json!({
        "id": id, "value": value, "type": "User", "isEnabled": enabled,
        "adminConsentDisplayName": "Access app",
        "adminConsentDescription": "Allow the application to access app on behalf of the signed-in user.",
        "userConsentDisplayName": "Access app",
        "userConsentDescription": "Allow the application to access app on your behalf."
    })
}

#[tokio::test]
async fn an_enabled_scope_must_be_disabled_before_change_or_removal() {
    let (_running, client) = start().await;
    let app = create_app(&client, "scopes").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");
    let path = format!("applications/{id}");
    let scope_id = "6d1a0e6c-1b2c-4d3e-8f40-123456789abc";

    let exposed = ok(
        &client,
        Request::patch(
            &path,
            json!({
                "identifierUris": [format!("api://{app_id}")],
                "api": {"requestedAccessTokenVersion": 2,
                        "oauth2PermissionScopes": [scope(scope_id, "access_as_user", true)]}
            }),
        ),
    )
    .await;
    assert_eq!(exposed.status, 204);
    let read = get_app(&client, id).await;
    assert_eq!(
        read["api"]["oauth2PermissionScopes"],
        json!([scope(scope_id, "access_as_user", true)])
    );

    // Re-sending the same scope is fine.
    ok(
        &client,
        Request::patch(
            &path,
            json!({"api": {"oauth2PermissionScopes": [scope(scope_id, "access_as_user", true)]}}),
        ),
    )
    .await;

    for (what, scopes) in [
        (
            "changed value",
            json!([scope(scope_id, "access_as_admin", true)]),
        ),
        ("removed", json!([])),
        (
            "same value, new id",
            json!([scope(
                "0f0e0d0c-0000-4000-8000-000000000001",
                "access_as_user",
                true
            )]),
        ),
    ] {
        let e = fail(
            &client,
            Request::patch(&path, json!({"api": {"oauth2PermissionScopes": scopes}})),
        )
        .await;
        assert_eq!(e.status, 400, "{what}");
        assert!(e.message.contains(SCOPE_DISABLED_FIRST), "{what}: {e}");
    }

    // Disable, then remove in a later PATCH.
    ok(
        &client,
        Request::patch(
            &path,
            json!({"api": {"oauth2PermissionScopes": [scope(scope_id, "access_as_user", false)]}}),
        ),
    )
    .await;
    let removed = ok(
        &client,
        Request::patch(&path, json!({"api": {"oauth2PermissionScopes": []}})),
    )
    .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        get_app(&client, id).await["api"]["oauth2PermissionScopes"],
        json!([])
    );

    // value: at most 120 characters, no spaces.
    for bad in ["has space", &"x".repeat(121)] {
        let e = fail(
            &client,
            Request::patch(
                &path,
                json!({"api": {"oauth2PermissionScopes": [scope(scope_id, bad, true)]}}),
            ),
        )
        .await;
        assert_eq!(e.status, 400, "value {bad:?}");
    }
    let longest = "y".repeat(120);
    ok(
        &client,
        Request::patch(
            &path,
            json!({"api": {"oauth2PermissionScopes": [scope(scope_id, &longest, true)]}}),
        ),
    )
    .await;
}

fn app_role(id: &str, value: &str, enabled: bool) -> Value {
    json!({
        "id": id, "value": value, "isEnabled": enabled,
        "allowedMemberTypes": ["Application"],
        "displayName": value, "description": format!("{value} role")
    })
}

#[tokio::test]
async fn an_enabled_app_role_must_be_disabled_before_change_or_removal() {
    let (_running, client) = start().await;
    let app = create_app(&client, "roles").await;
    let path = format!("applications/{}", s(&app, "/id"));
    let role_id = "7a1b2c3d-0000-4000-8000-00000000abcd";
    ok(
        &client,
        Request::patch(
            &path,
            json!({"appRoles": [app_role(role_id, "Tickets.Read", true)]}),
        ),
    )
    .await;
    // "Permission (scope or role) cannot be deleted or updated unless disabled first"
    // (calls.json expose_api_identifierUris_and_scope errors).
    for (what, roles) in [
        ("removed", json!([])),
        (
            "changed value",
            json!([app_role(role_id, "Tickets.Write", true)]),
        ),
    ] {
        let e = fail(&client, Request::patch(&path, json!({"appRoles": roles}))).await;
        assert_eq!(e.status, 400, "{what}");
        assert!(e.message.contains(SCOPE_DISABLED_FIRST), "{what}: {e}");
    }
    ok(
        &client,
        Request::patch(
            &path,
            json!({"appRoles": [app_role(role_id, "Tickets.Read", false)]}),
        ),
    )
    .await;
    ok(&client, Request::patch(&path, json!({"appRoles": []}))).await;
}

#[tokio::test]
async fn personal_account_audience_requires_token_version_2() {
    let (_running, client) = start().await;
    // README §1: "requestedAccessTokenVersion must be 2 when the audience includes personal
    // accounts"; the default audience is AzureADandPersonalMicrosoftAccount.
    let e = fail(
        &client,
        Request::post(
            "applications",
            json!({"displayName": "v1", "api": {"requestedAccessTokenVersion": 1}}),
        ),
    )
    .await;
    assert_eq!(e.status, 400, "create");
    let app = body(
        &ok(
            &client,
            Request::post("applications", json!({"displayName": "v2"})),
        )
        .await,
    );
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{}", s(&app, "/id")),
            json!({"api": {"requestedAccessTokenVersion": 1}}),
        ),
    )
    .await;
    assert_eq!(e.status, 400, "update");
}

#[tokio::test]
async fn unknown_body_property_on_update_is_a_bad_request() {
    let (_running, client) = start().await;
    let app = create_app(&client, "strict").await;
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{}", s(&app, "/id")),
            json!({"displayName": "x", "redirectUri": "https://a"}),
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
    let e = fail(
        &client,
        Request::patch(
            format!("applications/{}", s(&app, "/id")),
            json!({"web": {"redirectUri": []}}),
        ),
    )
    .await;
    assert_eq!((e.status, e.code.as_str()), (400, "Request_BadRequest"));
}
