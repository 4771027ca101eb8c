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

/// Every GUID-shaped `id` and `appId` in a tenant's snapshot, with where it sits.
fn directory_ids(tenant: &serde_json::Value) -> Vec<(String, String)> {
    let mut ids = vec![(
        "tenant".to_string(),
        tenant["id"].as_str().unwrap().to_string(),
    )];
    for (set, items) in tenant.as_object().unwrap() {
        for item in items.as_array().into_iter().flatten() {
            for field in ["id", "appId"] {
                if let Some(id) = item[field].as_str() {
                    ids.push((format!("{set}.{field}"), id.to_ascii_lowercase()));
                }
            }
        }
    }
    ids
}

#[tokio::test]
async fn ids_are_unique_across_a_seeded_directory_whatever_tenant_id_it_is_given() {
    use entra_mail::sim::{SimOptions, TenantSpec};
    // The seeded generator's first draw is the tenant id of a run without one. Handing that id
    // back (`sim serve --tenant <the id it printed>`) must not give it to a second object.
    let drawn = common::sim::start(SimOptions::default()).await;
    let first_draw = drawn.tenant.tenant_id.clone();
    drop(drawn);
    let given = common::sim::start(SimOptions {
        tenants: vec![
            TenantSpec {
                tenant_id: Some(first_draw.clone()),
                ..TenantSpec::default()
            },
            // A second tenant from the generator, as a `-f` config's would be.
            TenantSpec {
                domain_label: "fabrikam".into(),
                ..TenantSpec::default()
            },
        ],
        ..SimOptions::default()
    })
    .await;
    let snapshot = given.sim.snapshot();
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut objects = 0;
    for tenant in snapshot.as_object().unwrap().values() {
        for (place, id) in directory_ids(tenant) {
            // A service principal carries its app's appId: the same app, not a second object.
            if place == "servicePrincipals.appId" {
                continue;
            }
            objects += 1;
            if let Some(other) = seen.insert(id.clone(), place.clone()) {
                panic!("{id} is both the {other} and the {place}");
            }
        }
    }
    assert!(objects > 20, "the whole seeded directory: {objects} ids");
    assert!(seen.contains_key(&first_draw));
}
