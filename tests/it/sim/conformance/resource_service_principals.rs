//! get_service_principal_by_appId (resource SPs and permission ids)

use super::*;

/// (value, id) of Graph application permissions, from well_known_ids.json.
const GRAPH_ROLE_IDS: &[(&str, &str)] = &[
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
    ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    ),
    (
        "Policy.ReadWrite.ConditionalAccess",
        "01c0a623-fc9b-48e9-b794-0756f8e8f067",
    ),
    ("Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68"),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    (
        "Group.ReadBasic.All",
        "07d67222-3a10-4d3b-9ddc-b8aa43198a00",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
];

/// (value, id) of Graph delegated permissions, from well_known_ids.json.
const GRAPH_SCOPE_IDS: &[(&str, &str)] = &[
    (
        "IMAP.AccessAsUser.All",
        "652390e4-393a-48de-9484-05f9b1212954",
    ),
    ("SMTP.Send", "258f6531-6087-4cc4-bb90-092c5fb3ed3f"),
    (
        "POP.AccessAsUser.All",
        "d7b7f2d9-0f45-4ea1-9d42-e50810c06991",
    ),
    ("offline_access", "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"),
    ("openid", "37f7f235-527c-4136-accd-4a02d197296e"),
    ("profile", "14dad69e-099b-42c9-810b-d002981feec1"),
    ("email", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"),
    ("User.Read", "e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
    ("Mail.Read", "570282fd-fa5c-430d-a7fd-fc8dc98a9dca"),
    ("Mail.ReadWrite", "024d486e-b451-40bb-833d-3e66d98c5c73"),
    ("Mail.Send", "e383f46e-2787-4529-855e-0e479a3ffac0"),
    ("User.Read.All", "a154be20-db9c-4678-8ab7-66f6cc099a59"),
    (
        "Application.ReadWrite.All",
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
    ),
    (
        "Policy.ReadWrite.ConditionalAccess",
        "ad902697-1014-4ef5-81ef-2b4301988e8c",
    ),
    ("Policy.Read.All", "572fea84-0151-49b2-9301-11cb16974376"),
    ("Group.Read.All", "5f8c59db-677d-491f-a6b8-5f174b11ec1d"),
    (
        "Application.Read.All",
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
    ),
    (
        "Group.ReadBasic.All",
        "ba1917bc-a64b-4c71-b66d-229d4a520e66",
    ),
    ("Directory.Read.All", "06da0dbc-49e2-44d2-8312-53f166ab848a"),
];

fn id_of_value(list: &Value, value: &str) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|p| p["value"] == json!(value))
        .and_then(|p| p["id"].as_str().map(String::from))
}

#[tokio::test]
async fn resource_service_principals_publish_the_well_known_permission_ids() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')")).query(
                "$select",
                "id,appId,displayName,appRoles,oauth2PermissionScopes",
            ),
        )
        .await,
    );
    assert!(is_guid(s(&graph, "/id")));
    assert_eq!(s(&graph, "/appId"), GRAPH);
    assert_eq!(s(&graph, "/displayName"), "Microsoft Graph");
    assert!(graph.get("servicePrincipalType").is_none(), "not selected");
    for (value, id) in GRAPH_ROLE_IDS {
        assert_eq!(
            id_of_value(&graph["appRoles"], value).as_deref(),
            Some(*id),
            "role {value}"
        );
    }
    for (value, id) in GRAPH_SCOPE_IDS {
        assert_eq!(
            id_of_value(&graph["oauth2PermissionScopes"], value).as_deref(),
            Some(*id),
            "scope {value}"
        );
    }
    // Shape of the documented example entries.
    let role = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(ROLE_USER_READ_ALL))
        .unwrap();
    assert_eq!(role["allowedMemberTypes"], json!(["Application"]));
    assert_eq!(role["isEnabled"], json!(true));
    assert_eq!(role["origin"], json!("Application"));
    let admin_scope = graph["oauth2PermissionScopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!("a154be20-db9c-4678-8ab7-66f6cc099a59"))
        .unwrap();
    assert_eq!(admin_scope["type"], json!("Admin"));
    assert_eq!(admin_scope["isEnabled"], json!(true));

    let exchange = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{EXCHANGE}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    for (value, id) in [
        ("IMAP.AccessAsApp", ROLE_IMAP_ACCESS_AS_APP),
        ("POP.AccessAsApp", "cb842b43-da6e-4506-86fe-bb12199c656d"),
        ("SMTP.SendAsApp", "7146a1f0-8703-45b3-9eae-527a64c00995"),
        ("full_access_as_app", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
    ] {
        assert_eq!(
            id_of_value(&exchange["appRoles"], value).as_deref(),
            Some(id),
            "{value}"
        );
    }
    let azure = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{AZURE_MANAGEMENT}')")),
        )
        .await,
    );
    assert_eq!(s(&azure, "/appId"), AZURE_MANAGEMENT);
    let cli = body(
        &ok(
            &client,
            Request::get("servicePrincipals(appId='14d82eec-204b-4c2f-b7e8-296a70dab67e')"),
        )
        .await,
    );
    assert!(is_guid(s(&cli, "/id")));
}

#[ignore = "gap: AppRegistration.Create's permission id is not in our reference data, so the simulated Graph does not publish it"]
#[tokio::test]
async fn graph_publishes_every_application_permission_calls_json_names() {
    let (_running, client) = start().await;
    let graph = body(
        &ok(
            &client,
            Request::get(format!("servicePrincipals(appId='{GRAPH}')"))
                .query("$select", "id,appRoles"),
        )
        .await,
    );
    let values: HashSet<&str> = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["value"].as_str())
        .collect();
    // Every application permission named in calls.json "permissions.application".
    let missing: Vec<&str> = [
        "AppRegistration.Create",
        "Application.ReadWrite.OwnedBy",
        "Application.ReadWrite.All",
        "Application.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "DelegatedPermissionGrant.ReadWrite.All",
        "Group.ReadBasic.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "Policy.Read.All",
        "Policy.ReadWrite.ConditionalAccess",
        "LicenseAssignment.Read.All",
        "Organization.Read.All",
        "Organization.ReadWrite.All",
    ]
    .into_iter()
    .filter(|p| !values.contains(p))
    .collect();
    assert!(missing.is_empty(), "missing app roles: {missing:?}");
}
