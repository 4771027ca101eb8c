//! Conditional Access

use super::*;

#[tokio::test]
async fn conditional_access_list_create_update_delete() {
    let (running, client) = start().await;
    let by_name = Request::get(CA).query("$filter", "displayName eq 'MFA Pilot'");
    let empty = body(&ok(&client, by_name.clone()).await);
    assert!(context_of(&empty).contains("$metadata#"));
    assert_eq!(empty["value"], json!([]));

    let request = mfa_pilot(&running);
    let response = ok(&client, Request::post(CA, request.clone())).await;
    assert_eq!(response.status, 201);
    let policy = body(&response);
    assert!(
        context_of(&policy).ends_with("policies/$entity"),
        "{policy}"
    );
    assert!(is_guid(s(&policy, "/id")));
    parse_time(s(&policy, "/createdDateTime"));
    assert_eq!(policy["modifiedDateTime"], Value::Null);
    assert_eq!(policy["sessionControls"], Value::Null);
    assert_eq!(s(&policy, "/displayName"), "MFA Pilot");
    assert_eq!(s(&policy, "/state"), "enabledForReportingButNotEnforced");
    // Graph's echo: empty collections filled in (calls.json create_conditional_access_policy).
    let conditions = &policy["conditions"];
    assert_eq!(conditions["signInRiskLevels"], json!([]));
    assert_eq!(conditions["clientAppTypes"], json!(["all"]));
    assert_eq!(conditions["platforms"], Value::Null);
    assert_eq!(
        conditions["applications"]["includeApplications"],
        json!([AZURE_MANAGEMENT])
    );
    assert_eq!(conditions["applications"]["excludeApplications"], json!([]));
    assert_eq!(conditions["applications"]["includeUserActions"], json!([]));
    let users = &conditions["users"];
    assert_eq!(users["includeUsers"], json!([]));
    assert_eq!(
        users["excludeUsers"],
        request["conditions"]["users"]["excludeUsers"]
    );
    assert_eq!(
        users["includeGroups"],
        request["conditions"]["users"]["includeGroups"]
    );
    for empty in ["excludeGroups", "includeRoles", "excludeRoles"] {
        assert_eq!(users[empty], json!([]), "users.{empty}");
    }
    let grant = &policy["grantControls"];
    assert_eq!(grant["operator"], json!("OR"));
    assert_eq!(grant["builtInControls"], json!(["mfa"]));
    assert_eq!(grant["customAuthenticationFactors"], json!([]));
    assert_eq!(grant["termsOfUse"], json!([]));

    let found = list(&client, by_name.clone()).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], policy["id"]);

    let path = format!("{CA}/{}", s(&policy, "/id"));
    let patched = ok(
        &client,
        Request::patch(
            &path,
            json!({"state": "enabled", "conditions": {"signInRiskLevels": ["high", "medium", "low"]}}),
        ),
    )
    .await;
    assert_eq!(patched.status, 204);
    assert!(patched.body.is_none());
    let read = body(&ok(&client, Request::get(&path)).await);
    assert_eq!(s(&read, "/state"), "enabled");
    assert_eq!(
        read["conditions"]["signInRiskLevels"],
        json!(["high", "medium", "low"])
    );
    assert_eq!(
        read["conditions"]["users"]["includeGroups"],
        request["conditions"]["users"]["includeGroups"]
    );
    assert!(read["modifiedDateTime"].is_string());
    assert_eq!(read["createdDateTime"], policy["createdDateTime"]);

    let deleted = ok(&client, Request::delete(&path)).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_none());
    let e = fail(&client, Request::get(&path)).await;
    assert_eq!(e.status, 404);
    assert!(list(&client, by_name).await.is_empty());
}

#[tokio::test]
async fn conditional_access_doc_example_echoes_locations() {
    let (_running, client) = start().await;
    // calls.json create_conditional_access_policy request_example.
    let request = json!({
        "displayName": "Access to EXO requires MFA",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["mobileAppsAndDesktopClients", "browser"],
            "applications": {"includeApplications": [EXCHANGE]},
            "users": {"includeGroups": ["ba8e7ded-8b0f-4836-ba06-8ff1ecc5c8ba"]},
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    });
    let policy = body(&ok(&client, Request::post(CA, request)).await);
    assert_eq!(
        policy["conditions"]["locations"],
        json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})
    );
    assert_eq!(
        policy["conditions"]["clientAppTypes"],
        json!(["mobileAppsAndDesktopClients", "browser"])
    );
}

#[tokio::test]
async fn conditional_access_refuses_bodies_that_do_not_match_the_schema() {
    let (_running, client) = start().await;
    let mut bad_state = policy_for_all_apps("bad state");
    bad_state["state"] = json!("on");
    let mut unknown = policy_for_all_apps("unknown");
    unknown["colour"] = json!("red");
    for (what, request) in [
        ("state not in the enum", bad_state),
        ("unknown property", unknown),
        ("not an object", json!([])),
    ] {
        let e = fail(&client, Request::post(CA, request)).await;
        assert_eq!((e.status, e.code.as_str()), (400, "BadRequest"), "{what}");
        assert!(e.message.starts_with("1007:"), "{what}: {e}");
    }
}

#[tokio::test]
async fn conditional_access_create_requires_a_complete_policy() {
    let (_running, client) = start().await;
    // README §8: "A valid policy needs an application rule, a user rule and a grant or session
    // control"; "state ... is required".
    let full = policy_for_all_apps("complete");
    let mut cases = Vec::new();
    for (what, pointer) in [
        ("no state", "/state"),
        ("no grant or session control", "/grantControls"),
        ("no user rule", "/conditions/users"),
        ("no application rule", "/conditions/applications"),
    ] {
        let mut request = full.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() {
            &mut request
        } else {
            request.pointer_mut(parent).unwrap()
        };
        parent.as_object_mut().unwrap().remove(key);
        cases.push((what, request));
    }
    for (what, request) in cases {
        let e = fail(&client, Request::post(CA, request)).await;
        assert_eq!(e.status, 400, "{what}");
    }
}

#[tokio::test]
async fn conditional_access_list_supports_skip() {
    let (_running, client) = start().await;
    for name in ["p1", "p2"] {
        ok(&client, Request::post(CA, policy_for_all_apps(name))).await;
    }
    // calls.json list_conditional_access_policies: "Supports $skip, $top, $count, $filter, ..."
    let page = body(&ok(&client, Request::get(CA).query("$skip", "1")).await);
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn conditional_access_has_the_documented_context() {
    let (_running, client) = start().await;
    let list_body = body(&ok(&client, Request::get(CA)).await);
    assert!(context_of(&list_body).ends_with("$metadata#conditionalAccess/policies"));
    let policy = body(&ok(&client, Request::post(CA, policy_for_all_apps("ctx"))).await);
    assert!(context_of(&policy).ends_with("$metadata#conditionalAccess/policies/$entity"));
}

#[tokio::test]
async fn conditional_access_holds_at_most_195_policies() {
    let (running, client) = start().await;
    let template = body(&ok(&client, Request::post(CA, policy_for_all_apps("first"))).await);
    running.sim.with_tenant(&running.tenant.tenant_id, |t| {
        while t.conditional_access_policies.len() < 195 {
            let mut data = template.as_object().unwrap().clone();
            data.remove("@odata.context");
            data.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
            t.conditional_access_policies.push(Obj::new(data));
        }
    });
    let e = fail(
        &client,
        Request::post(CA, policy_for_all_apps("one too many")),
    )
    .await;
    assert_eq!(e.status, 400);
}

#[tokio::test]
async fn conditional_access_needs_p1_to_create_or_update_but_not_to_delete() {
    let (running, client) = start().await;
    let policy = body(&ok(&client, Request::post(CA, mfa_pilot(&running))).await);
    let path = format!("{CA}/{}", s(&policy, "/id"));
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.p1_licence = false);

    let e = fail(
        &client,
        Request::post(CA, policy_for_all_apps("unlicensed")),
    )
    .await;
    assert_eq!(e.status, 403);
    let e = fail(&client, Request::patch(&path, json!({"state": "enabled"}))).await;
    assert_eq!(e.status, 403);
    // Policies remain and can be deleted (README §8).
    assert_eq!(list(&client, Request::get(CA)).await.len(), 1);
    let deleted = ok(&client, Request::delete(&path)).await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn conditional_access_is_refused_while_security_defaults_are_on() {
    let (running, client) = start().await;
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.security_defaults = true);
    let e = fail(&client, Request::post(CA, mfa_pilot(&running))).await;
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("Security Defaults is enabled in the tenant. You must disable Security defaults before enabling a Conditional Access policy."),
        "{e}"
    );
    running
        .sim
        .with_tenant(&running.tenant.tenant_id, |t| t.security_defaults = false);
    ok(&client, Request::post(CA, mfa_pilot(&running))).await;
}
