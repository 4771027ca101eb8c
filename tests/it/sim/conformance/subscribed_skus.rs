//! list_subscribed_skus (subscribedsku-list.md)

use super::*;

/// Entra ID P1's service plan (AAD_PREMIUM) and Microsoft 365 Business Premium's and
/// Business Standard's SKU ids, from Microsoft's service plan reference.
const PLAN_AAD_PREMIUM: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";
const SKU_SPB: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
const SKU_BUSINESS_STANDARD: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";

#[tokio::test]
async fn subscribed_skus_show_the_p1_plan_only_in_a_p1_tenant() {
    let (running, client) = start().await;
    let tenant = running.tenant.tenant_id.clone();
    let skus = body(&ok(&client, Request::get("subscribedSkus")).await);
    assert!(
        context_of(&skus).ends_with("/v1.0/$metadata#subscribedSkus"),
        "{skus}"
    );
    let value = skus["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "{skus}");
    let sku = &value[0];
    assert_eq!(s(sku, "/id"), format!("{tenant}_{SKU_SPB}"));
    assert_eq!(s(sku, "/skuId"), SKU_SPB);
    assert_eq!(s(sku, "/skuPartNumber"), "SPB");
    assert_eq!(s(sku, "/capabilityStatus"), "Enabled");
    assert_eq!(s(sku, "/appliesTo"), "User");
    assert!(sku["consumedUnits"].is_u64());
    assert!(sku["prepaidUnits"]["enabled"].is_u64());
    assert!(is_guid(s(sku, "/subscriptionIds/0")));
    let p1 = sku["servicePlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["servicePlanId"] == PLAN_AAD_PREMIUM)
        .expect("Business Premium carries Entra ID P1");
    assert_eq!(s(p1, "/servicePlanName"), "AAD_PREMIUM");
    assert_eq!(s(p1, "/provisioningStatus"), "Success");

    // One SKU by its id; `$select` as on other collections; no `$filter` (the doc says so).
    let one = body(
        &ok(
            &client,
            Request::get(format!("subscribedSkus/{}", s(sku, "/id"))),
        )
        .await,
    );
    assert_eq!(one["skuId"], json!(SKU_SPB));
    let selected = body(
        &ok(
            &client,
            Request::get("subscribedSkus").query("$select", "skuPartNumber,servicePlans"),
        )
        .await,
    );
    assert!(context_of(&selected).ends_with("#subscribedSkus(skuPartNumber,servicePlans)"));
    assert_eq!(
        keys_of(&selected["value"][0]),
        HashSet::from(["id", "skuPartNumber", "servicePlans"])
    );
    let e = fail(
        &client,
        Request::get("subscribedSkus").query("$filter", "skuPartNumber eq 'SPB'"),
    )
    .await;
    assert_eq!(e.status, 400);

    running.sim.with_tenant(&tenant, |t| t.p1_licence = false);
    let without = list(&client, Request::get("subscribedSkus")).await;
    assert_eq!(without.len(), 1);
    assert_eq!(without[0]["skuId"], json!(SKU_BUSINESS_STANDARD));
    assert_eq!(without[0]["skuPartNumber"], json!("O365_BUSINESS_PREMIUM"));
    assert!(
        without[0]["servicePlans"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["servicePlanId"] != PLAN_AAD_PREMIUM),
        "Business Standard carries no Entra ID P1: {without:?}"
    );
}

#[tokio::test]
async fn subscribed_skus_need_a_licence_or_directory_read_permission() {
    let (_running, client) = start_with_roles(&["Policy.Read.All", "User.Read.All"]).await;
    let e = fail(&client, Request::get("subscribedSkus")).await;
    assert_eq!(
        (e.status, e.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    for role in [
        "LicenseAssignment.Read.All",
        "Organization.Read.All",
        "Directory.Read.All",
    ] {
        let (_running, client) = start_with_roles(&[role]).await;
        ok(&client, Request::get("subscribedSkus")).await;
    }
}

#[tokio::test]
async fn graph_publishes_license_assignment_read_all_with_its_documented_id() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "appRoles"),
        )
        .await,
    );
    let role = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "LicenseAssignment.Read.All")
        .expect("published");
    assert_eq!(role["id"], json!("e2f98668-2877-4f38-a2f4-8202e0717aa1"));
}
