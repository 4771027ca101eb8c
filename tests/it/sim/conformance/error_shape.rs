//! error shape

use super::*;

#[tokio::test]
async fn errors_carry_code_message_and_inner_error() {
    let (running, client) = start().await;
    let token = running.token_for(&running.tenant).await;
    let response = running
        .http()
        .get(format!(
            "{}/v1.0/applications/6b4c1d1e-0000-4000-8000-000000000000",
            running.sim.graph_url()
        ))
        .bearer_auth(&token)
        .header("client-request-id", "7e8c1f2a-0000-4000-8000-000000000002")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.headers().get("request-id").is_some());
    let error: Value = response.json().await.unwrap();
    let inner = &error["error"];
    assert_eq!(inner["code"], json!("Request_ResourceNotFound"));
    assert!(inner["message"].is_string());
    assert!(is_guid(s(inner, "/innerError/request-id")));
    assert_eq!(
        s(inner, "/innerError/client-request-id"),
        "7e8c1f2a-0000-4000-8000-000000000002"
    );
    assert!(inner["innerError"]["date"].is_string());
    drop(client);
}
