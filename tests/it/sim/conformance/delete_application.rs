//! delete application

use super::*;

#[tokio::test]
async fn delete_application_returns_204_and_removes_it() {
    let (_running, client) = start().await;
    let app = create_app(&client, "doomed").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");
    create_sp(&client, app_id).await;
    let response = ok(&client, Request::delete(format!("applications/{id}"))).await;
    assert_eq!(response.status, 204);
    assert!(response.body.is_none());
    let e = fail(&client, Request::get(format!("applications/{id}"))).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "Request_ResourceNotFound")
    );
    let e = fail(
        &client,
        Request::get(format!("servicePrincipals(appId='{app_id}')")),
    )
    .await;
    assert_eq!(e.status, 404);
    let e = fail(&client, Request::delete(format!("applications/{id}"))).await;
    assert_eq!(e.status, 404);
}
