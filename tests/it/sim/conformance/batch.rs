//! $batch

use super::*;

fn response_by_id<'a>(batch: &'a Value, id: &str) -> &'a Value {
    batch["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .unwrap_or_else(|| panic!("no response {id} in {batch}"))
}

#[tokio::test]
async fn batch_runs_requests_and_correlates_by_id() {
    let (_running, client) = start().await;
    let app = create_app(&client, "batched").await;
    let id = s(&app, "/id");
    let batch = ok(
        &client,
        Request::post(
            "$batch",
            json!({"requests": [
                {"id": "1", "method": "GET",
                 "url": format!("/servicePrincipals(appId='{GRAPH}')?$select=id,appRoles")},
                {"id": "2", "dependsOn": ["1"], "method": "PATCH", "url": format!("/applications/{id}"),
                 "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}},
                {"id": "3", "method": "GET",
                 "url": "/groups?$filter=displayName%20eq%20'MFA-Test-Group'&$select=id,displayName"}
            ]}),
        )
        .header("Accept", "application/json"),
    )
    .await;
    assert_eq!(batch.status, 200);
    let batch = body(&batch);
    assert_eq!(batch["responses"].as_array().unwrap().len(), 3);
    let one = response_by_id(&batch, "1");
    assert_eq!(one["status"], json!(200));
    assert!(is_guid(s(one, "/body/id")));
    assert!(one["body"]["appRoles"].is_array());
    assert_eq!(response_by_id(&batch, "2")["status"], json!(204));
    let three = response_by_id(&batch, "3");
    assert_eq!(three["status"], json!(200));
    assert_eq!(
        three["body"]["value"][0]["displayName"],
        json!("MFA-Test-Group")
    );
    assert_eq!(s(&get_app(&client, id).await, "/displayName"), "x");
}

#[tokio::test]
async fn batch_gives_424_to_requests_whose_dependency_failed() {
    let (_running, client) = start().await;
    let batch = body(
        &ok(
            &client,
            Request::post(
                "$batch",
                json!({"requests": [
                    {"id": "A", "method": "GET", "url": "/applications/6b4c1d1e-0000-4000-8000-000000000000"},
                    {"id": "b", "dependsOn": ["a"], "method": "PATCH",
                     "url": "/applications/6b4c1d1e-0000-4000-8000-000000000000",
                     "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}},
                    {"id": "c", "dependsOn": ["b"], "method": "GET", "url": "/groups"}
                ]}),
            ),
        )
        .await,
    );
    assert_eq!(response_by_id(&batch, "A")["status"], json!(404));
    assert_eq!(
        response_by_id(&batch, "A")["body"]["error"]["code"],
        json!("Request_ResourceNotFound")
    );
    assert_eq!(response_by_id(&batch, "b")["status"], json!(424));
    assert_eq!(response_by_id(&batch, "c")["status"], json!(424));
}

#[tokio::test]
async fn batch_refuses_more_than_20_requests_and_malformed_payloads() {
    let (_running, client) = start().await;
    let requests: Vec<Value> = (1..=21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/groups"}))
        .collect();
    let e = fail(
        &client,
        Request::post("$batch", json!({"requests": requests})),
    )
    .await;
    assert_eq!(e.status, 400);

    let twenty: Vec<Value> = (1..=20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/groups"}))
        .collect();
    let ok20 = body(
        &ok(
            &client,
            Request::post("$batch", json!({"requests": twenty})),
        )
        .await,
    );
    assert_eq!(ok20["responses"].as_array().unwrap().len(), 20);

    // ids are unique and not case-sensitive.
    let e = fail(
        &client,
        Request::post(
            "$batch",
            json!({"requests": [
                {"id": "x", "method": "GET", "url": "/groups"},
                {"id": "X", "method": "GET", "url": "/groups"}
            ]}),
        ),
    )
    .await;
    assert_eq!(e.status, 400);
    let e = fail(&client, Request::post("$batch", json!({"nope": []}))).await;
    assert_eq!(e.status, 400);

    // A body needs a Content-Type header.
    let outcome = client
        .send(&Request::post(
            "$batch",
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/applications", "body": {"displayName": "x"}}
            ]}),
        ))
        .await;
    match outcome {
        Ok(batch) => {
            let batch = body(&batch);
            assert_eq!(response_by_id(&batch, "1")["status"], json!(400));
        }
        Err(e) => assert_eq!(e.status(), Some(400)),
    }
}

#[tokio::test]
async fn batch_authorizes_each_inner_request() {
    let (_running, client) = start_with_roles(&["Application.Read.All"]).await;
    let batch = body(
        &ok(
            &client,
            Request::post(
                "$batch",
                json!({"requests": [
                    {"id": "1", "method": "GET", "url": format!("/servicePrincipals(appId='{GRAPH}')?$select=id")},
                    {"id": "2", "method": "POST", "url": "/applications",
                     "headers": {"Content-Type": "application/json"}, "body": {"displayName": "x"}}
                ]}),
            ),
        )
        .await,
    );
    assert_eq!(response_by_id(&batch, "1")["status"], json!(200));
    let two = response_by_id(&batch, "2");
    assert_eq!(two["status"], json!(403));
    assert_eq!(
        two["body"]["error"]["code"],
        json!("Authorization_RequestDenied")
    );
}
