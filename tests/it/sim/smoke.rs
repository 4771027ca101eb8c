use crate::common;
use entra_mail::graph::models::ServicePrincipal;

#[tokio::test]
async fn smoke() {
    let (sim, client, _) = common::sim::start_with_client().await;
    let sp: ServicePrincipal = client
        .get("servicePrincipals(appId='00000003-0000-0000-c000-000000000000')")
        .await
        .unwrap();
    assert!(sp
        .app_roles
        .unwrap()
        .iter()
        .any(|r| r.value.as_deref() == Some("Application.ReadWrite.All")));
    drop(sim);
}
