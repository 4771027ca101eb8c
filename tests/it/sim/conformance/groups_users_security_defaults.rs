//! groups, users, security defaults

use super::*;

#[tokio::test]
async fn group_user_and_security_defaults_lookups() {
    let (running, client) = start().await;
    let groups = body(
        &ok(
            &client,
            Request::get("groups")
                .query("$filter", "displayName eq 'MFA-Test-Group'")
                .query("$select", "id,displayName,securityEnabled,mailEnabled"),
        )
        .await,
    );
    assert!(
        context_of(&groups)
            .ends_with("$metadata#groups(id,displayName,securityEnabled,mailEnabled)"),
        "{groups}"
    );
    let value = groups["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert!(is_guid(s(&value[0], "/id")));
    assert_eq!(s(&value[0], "/displayName"), "MFA-Test-Group");
    assert_eq!(value[0]["securityEnabled"], json!(true));
    assert_eq!(value[0]["mailEnabled"], json!(false));
    let none = list(
        &client,
        Request::get("groups").query("$filter", "displayName eq 'No-Such-Group'"),
    )
    .await;
    assert!(none.is_empty());

    for name in [
        "admin",
        "breakglass1",
        "breakglass2",
        "alice",
        "bob",
        "carol",
        "helpdesk",
    ] {
        let upn = format!("{name}@contoso.onmicrosoft.com");
        let user = body(&ok(&client, Request::get(format!("users/{upn}"))).await);
        assert_eq!(s(&user, "/userPrincipalName"), upn);
        assert!(is_guid(s(&user, "/id")));
        let by_filter = list(
            &client,
            Request::get("users").query("$filter", format!("userPrincipalName eq '{upn}'")),
        )
        .await;
        assert_eq!(by_filter.len(), 1);
        assert_eq!(by_filter[0]["id"], user["id"]);
    }

    let defaults = body(
        &ok(
            &client,
            Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
        )
        .await,
    );
    assert_eq!(s(&defaults, "/id"), "00000000-0000-0000-0000-000000000005");
    assert_eq!(s(&defaults, "/displayName"), "Security Defaults");
    assert_eq!(defaults["isEnabled"], json!(false));
    assert!(defaults["description"].is_string());

    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.security_defaults = true);
    let defaults = body(
        &ok(
            &client,
            Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
        )
        .await,
    );
    assert_eq!(defaults["isEnabled"], json!(true));

    // Page size 1..=999 (group-list.md: default 100, max 999).
    let e = fail(&client, Request::get("groups").query("$top", "1000")).await;
    assert_eq!(e.status, 400);
    ok(&client, Request::get("groups").query("$top", "999")).await;
}

#[tokio::test]
async fn security_defaults_policy_has_the_documented_context() {
    let (_running, client) = start().await;
    let defaults = body(
        &ok(
            &client,
            Request::get("policies/identitySecurityDefaultsEnforcementPolicy"),
        )
        .await,
    );
    // calls.json get_security_defaults_state response_example.
    assert!(
        context_of(&defaults)
            .ends_with("$metadata#policies/identitySecurityDefaultsEnforcementPolicy"),
        "{}",
        context_of(&defaults)
    );
}

#[tokio::test]
async fn groups_refuse_skip() {
    let (_running, client) = start().await;
    // calls.json find_group_by_displayName: "$skip unsupported".
    let e = fail(&client, Request::get("groups").query("$skip", "1")).await;
    assert_eq!(e.status, 400);
}
