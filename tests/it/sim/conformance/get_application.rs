//! get_application

use super::*;

#[tokio::test]
async fn get_application_by_id_app_id_and_unique_name_with_select() {
    let (_running, client) = start().await;
    let app = body(
        &ok(
            &client,
            Request::post(
                "applications",
                json!({"displayName": "PostmanWeb", "uniqueName": "postman-web"}),
            ),
        )
        .await,
    );
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");

    for path in [
        format!("applications/{id}"),
        format!("applications(appId='{app_id}')"),
        "applications(uniqueName='postman-web')".to_string(),
    ] {
        let read = body(&ok(&client, Request::get(&path)).await);
        assert_eq!(s(&read, "/id"), id, "{path}");
        assert_eq!(s(&read, "/appId"), app_id, "{path}");
        assert!(context_of(&read).contains("$metadata#applications"));
    }

    let selected = body(
        &ok(
            &client,
            Request::get(format!("applications(appId='{app_id}')"))
                .query("$select", "id,appId,displayName,requiredResourceAccess"),
        )
        .await,
    );
    assert_eq!(
        keys_of(&selected),
        HashSet::from([
            "@odata.context",
            "id",
            "appId",
            "displayName",
            "requiredResourceAccess"
        ])
    );

    let e = fail(
        &client,
        Request::get("applications(appId='6b4c1d1e-0000-4000-8000-000000000000')"),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    let e = fail(
        &client,
        Request::get("applications/6b4c1d1e-0000-4000-8000-000000000000"),
    )
    .await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
}

#[tokio::test]
async fn get_application_with_select_has_the_documented_context() {
    let (_running, client) = start().await;
    let app = create_app(&client, "PostmanWeb").await;
    let selected = body(
        &ok(
            &client,
            Request::get(format!("applications(appId='{}')", s(&app, "/appId")))
                .query("$select", "id,appId,displayName,requiredResourceAccess"),
        )
        .await,
    );
    // calls.json get_application response_example.
    assert!(
        context_of(&selected).ends_with(
            "$metadata#applications(id,appId,displayName,requiredResourceAccess)/$entity"
        ),
        "{}",
        context_of(&selected)
    );
}

#[tokio::test]
async fn list_applications_filters_selects_and_pages() {
    let (_running, client) = start().await;
    let mut apps = Vec::new();
    for name in ["page-a", "page-b", "page-c"] {
        let app = body(
            &ok(
                &client,
                Request::post(
                    "applications",
                    json!({"displayName": name, "uniqueName": format!("key-{name}")}),
                ),
            )
            .await,
        );
        apps.push(app);
    }

    let by_name = body(
        &ok(
            &client,
            Request::get("applications").query("$filter", "displayName eq 'page-b'"),
        )
        .await,
    );
    assert!(context_of(&by_name).ends_with("$metadata#applications"));
    assert_eq!(by_name["value"].as_array().unwrap().len(), 1);
    assert_eq!(by_name["value"][0]["id"], apps[1]["id"]);

    let by_app_id = list(
        &client,
        Request::get("applications")
            .query("$filter", format!("appId eq '{}'", s(&apps[2], "/appId"))),
    )
    .await;
    assert_eq!(by_app_id.len(), 1);
    assert_eq!(by_app_id[0]["id"], apps[2]["id"]);

    let by_unique = list(
        &client,
        Request::get("applications").query("$filter", "uniqueName eq 'key-page-a'"),
    )
    .await;
    assert_eq!(by_unique.len(), 1);
    assert_eq!(by_unique[0]["id"], apps[0]["id"]);

    let selected = body(
        &ok(
            &client,
            Request::get("applications")
                .query("$filter", "displayName eq 'page-a'")
                .query("$select", "id,displayName"),
        )
        .await,
    );
    assert!(context_of(&selected).ends_with("$metadata#applications(id,displayName)"));
    let item = selected["value"][0].as_object().unwrap();
    let keys: HashSet<&str> = item.keys().map(String::as_str).collect();
    assert_eq!(keys, HashSet::from(["id", "displayName"]));

    // Paging: $top and @odata.nextLink.
    let first = body(
        &ok(
            &client,
            Request::get("applications")
                .query("$filter", "startswith(displayName,'page-')")
                .query("$top", "2"),
        )
        .await,
    );
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    let next = s(&first, "/@odata.nextLink").to_string();
    assert!(next.starts_with(&client.base_url().origin().ascii_serialization()));
    let second = body(&ok(&client, Request::get(next)).await);
    assert_eq!(second["value"].as_array().unwrap().len(), 1);
    assert!(second.get("@odata.nextLink").is_none());
    let mut seen: Vec<Value> = first["value"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["value"].as_array().unwrap())
        .map(|a| a["id"].clone())
        .collect();
    seen.sort_by_key(|v| v.to_string());
    let mut expected: Vec<Value> = apps.iter().map(|a| a["id"].clone()).collect();
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(seen, expected);

    let all = list(
        &client,
        Request::get("applications")
            .query("$filter", "startswith(displayName,'page-')")
            .query("$top", "1"),
    )
    .await;
    assert_eq!(all.len(), 3);

    // Page size is 1..=999.
    let e = fail(&client, Request::get("applications").query("$top", "1000")).await;
    assert_eq!(e.status, 400);
}
