//! A new simulated tenant, seeded like a real one: Microsoft's first-party service principals
//! with their published permissions (real GUIDs), users with two emergency-access accounts,
//! the seed's MFA-Test-Group, and an admin app to provision with.

use serde_json::{json, Map, Value};

use super::state::{AdminApp, FederatedCredential, Inner, Obj, Tenant};
use crate::well_known;

/// (value, GUID) of Microsoft Graph application permissions (appRoles).
/// Source: ../shared/reference/graph/well_known_ids.json (Microsoft's permissions-ids list).
pub const GRAPH_ROLES: &[(&str, &str)] = &[
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
    (
        "Group.ReadBasic.All",
        "07d67222-3a10-4d3b-9ddc-b8aa43198a00",
    ),
    ("Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68"),
    (
        "Policy.ReadWrite.ConditionalAccess",
        "01c0a623-fc9b-48e9-b794-0756f8e8f067",
    ),
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
    ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
];

/// (value, GUID, consent type) of Microsoft Graph delegated permissions.
pub const GRAPH_SCOPES: &[(&str, &str, &str)] = &[
    (
        "IMAP.AccessAsUser.All",
        "652390e4-393a-48de-9484-05f9b1212954",
        "User",
    ),
    (
        "POP.AccessAsUser.All",
        "d7b7f2d9-0f45-4ea1-9d42-e50810c06991",
        "User",
    ),
    ("SMTP.Send", "258f6531-6087-4cc4-bb90-092c5fb3ed3f", "User"),
    (
        "offline_access",
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        "User",
    ),
    ("openid", "37f7f235-527c-4136-accd-4a02d197296e", "User"),
    ("profile", "14dad69e-099b-42c9-810b-d002981feec1", "User"),
    ("email", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "User"),
    ("User.Read", "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User"),
    (
        "User.Read.All",
        "a154be20-db9c-4678-8ab7-66f6cc099a59",
        "Admin",
    ),
    ("Mail.Read", "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "User"),
    (
        "Mail.ReadWrite",
        "024d486e-b451-40bb-833d-3e66d98c5c73",
        "User",
    ),
    ("Mail.Send", "e383f46e-2787-4529-855e-0e479a3ffac0", "User"),
    (
        "Application.Read.All",
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
        "Admin",
    ),
    (
        "Application.ReadWrite.All",
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        "Admin",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
        "Admin",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
        "Admin",
    ),
    (
        "Directory.Read.All",
        "06da0dbc-49e2-44d2-8312-53f166ab848a",
        "Admin",
    ),
    (
        "Group.Read.All",
        "5f8c59db-677d-491f-a6b8-5f174b11ec1d",
        "Admin",
    ),
    (
        "Group.ReadBasic.All",
        "ba1917bc-a64b-4c71-b66d-229d4a520e66",
        "User",
    ),
    (
        "Policy.Read.All",
        "572fea84-0151-49b2-9301-11cb16974376",
        "Admin",
    ),
    (
        "Policy.ReadWrite.ConditionalAccess",
        "ad902697-1014-4ef5-81ef-2b4301988e8c",
        "Admin",
    ),
];

/// Office 365 Exchange Online. Its GUIDs are known only from third-party sources
/// (well_known_ids.json says so); the tool resolves names against the live service principal.
pub const EXCHANGE_ROLES: &[(&str, &str)] = &[
    ("IMAP.AccessAsApp", "5e5addcd-3e8d-4e90-baf5-964efab2b20a"),
    ("POP.AccessAsApp", "cb842b43-da6e-4506-86fe-bb12199c656d"),
    ("SMTP.SendAsApp", "7146a1f0-8703-45b3-9eae-527a64c00995"),
    ("full_access_as_app", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
];
pub const EXCHANGE_SCOPES: &[(&str, &str, &str)] = &[
    (
        "IMAP.AccessAsUser.All",
        "195adc35-e27b-454b-a7ed-1ecdffa1c09f",
        "User",
    ),
    (
        "POP.AccessAsUser.All",
        "fb698133-92fa-453e-a9ed-688e10f2e5ac",
        "User",
    ),
    ("SMTP.Send", "76faac2a-0f20-42f1-928a-50de5b9dbe52", "User"),
];

/// The roles the admin app holds unless a test chooses others: everything the tool needs.
pub const DEFAULT_ADMIN_ROLES: &[&str] = &[
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Application.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Group.Read.All",
    "User.Read.All",
];

/// The federated credential seeded on the admin app (a GitHub Actions workflow).
pub const ADMIN_FEDERATED_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const ADMIN_FEDERATED_SUBJECT: &str = "repo:contoso/helpdesk-infra:environment:production";
pub const ADMIN_FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// What a new tenant looks like.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    pub tenant_id: Option<String>,
    /// The label of the initial domain: `{label}.onmicrosoft.com`.
    pub domain_label: String,
    pub display_name: String,
    pub p1_licence: bool,
    pub security_defaults: bool,
    /// Graph application permissions the admin app is granted.
    pub admin_roles: Vec<String>,
}

impl Default for TenantSpec {
    fn default() -> Self {
        Self {
            tenant_id: None,
            domain_label: "contoso".into(),
            display_name: "Contoso".into(),
            p1_licence: true,
            security_defaults: false,
            admin_roles: DEFAULT_ADMIN_ROLES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Builds a tenant from `spec`, with ids drawn from the seeded generator.
pub fn tenant(inner: &mut Inner, spec: &TenantSpec) -> Tenant {
    let id = spec
        .tenant_id
        .clone()
        .unwrap_or_else(|| inner.new_guid())
        .to_ascii_lowercase();
    let domain = format!("{}.onmicrosoft.com", spec.domain_label);
    let mut tenant = Tenant {
        id: id.clone(),
        display_name: spec.display_name.clone(),
        domains: vec![domain.clone(), format!("{}.com", spec.domain_label)],
        p1_licence: spec.p1_licence,
        security_defaults: spec.security_defaults,
        applications: Vec::new(),
        service_principals: Vec::new(),
        app_role_assignments: Vec::new(),
        oauth2_permission_grants: Vec::new(),
        conditional_access_policies: Vec::new(),
        groups: Vec::new(),
        users: Vec::new(),
        admin: AdminApp {
            client_id: String::new(),
            client_secret: String::new(),
            service_principal_id: String::new(),
        },
        last_conditional_access_request: None,
    };

    let graph_sp = first_party(
        inner,
        well_known::MICROSOFT_GRAPH,
        "Microsoft Graph",
        GRAPH_ROLES,
        GRAPH_SCOPES,
    );
    let graph_sp_id = graph_sp.id().to_string();
    tenant.service_principals.push(graph_sp);
    tenant.service_principals.push(first_party(
        inner,
        well_known::EXCHANGE_ONLINE,
        "Office 365 Exchange Online",
        EXCHANGE_ROLES,
        EXCHANGE_SCOPES,
    ));
    tenant.service_principals.push(first_party(
        inner,
        well_known::AZURE_SERVICE_MANAGEMENT,
        "Windows Azure Service Management API",
        &[],
        &[(
            "user_impersonation",
            "41094075-9dad-400e-a0bd-54e686782033",
            "User",
        )],
    ));
    tenant.service_principals.push(first_party(
        inner,
        well_known::GRAPH_COMMAND_LINE_TOOLS,
        "Microsoft Graph Command Line Tools",
        &[],
        &[],
    ));

    let mut user_ids = Vec::new();
    for (name, display, roles) in [
        ("admin", "Tenant Admin", vec!["Global Administrator"]),
        (
            "breakglass1",
            "Emergency Access 1",
            vec!["Global Administrator"],
        ),
        (
            "breakglass2",
            "Emergency Access 2",
            vec!["Global Administrator"],
        ),
        ("alice", "Alice Pilot", vec![]),
        ("bob", "Bob Pilot", vec![]),
        ("carol", "Carol Agent", vec![]),
        ("helpdesk", "Helpdesk Mailbox", vec![]),
    ] {
        let user_id = inner.new_guid();
        let mut user = Obj::new(object(json!({
            "id": user_id,
            "displayName": display,
            "userPrincipalName": format!("{name}@{domain}"),
            "mail": format!("{name}@{domain}"),
            "accountEnabled": true,
        })));
        user.hidden.directory_roles = roles.into_iter().map(String::from).collect();
        user_ids.push(user_id);
        tenant.users.push(user);
    }

    for (name, members) in [
        (
            "MFA-Test-Group",
            vec![user_ids[3].clone(), user_ids[4].clone()],
        ),
        ("Helpdesk Agents", vec![user_ids[5].clone()]),
    ] {
        let mut group = Obj::new(object(json!({
            "id": inner.new_guid(),
            "displayName": name,
            "mailEnabled": false,
            "mailNickname": name.to_ascii_lowercase().replace(' ', "-"),
            "securityEnabled": true,
            "groupTypes": [],
        })));
        group.hidden.members = members;
        tenant.groups.push(group);
    }

    add_admin_app(inner, &mut tenant, &graph_sp_id, &spec.admin_roles);
    tenant
}

fn add_admin_app(inner: &mut Inner, tenant: &mut Tenant, graph_sp_id: &str, roles: &[String]) {
    let app_object_id = inner.new_guid();
    let client_id = inner.new_guid();
    let key_id = inner.new_guid();
    let secret = inner.new_secret_text();
    let mut app = Obj::new(object(json!({
        "id": app_object_id,
        "appId": client_id,
        "displayName": "entra-mail provisioning",
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": [{
            "keyId": key_id, "displayName": "sim admin", "hint": &secret[..3],
            "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2099-01-01T00:00:00Z",
            "customKeyIdentifier": null, "secretText": null,
        }],
    })));
    app.hidden.passwords.insert(key_id, secret.clone());
    app.hidden.federated.push(FederatedCredential {
        issuer: ADMIN_FEDERATED_ISSUER.into(),
        subject: ADMIN_FEDERATED_SUBJECT.into(),
        audience: ADMIN_FEDERATED_AUDIENCE.into(),
    });
    tenant.applications.push(app);

    let sp_id = inner.new_guid();
    tenant.service_principals.push(Obj::new(object(json!({
        "id": sp_id,
        "appId": client_id,
        "displayName": "entra-mail provisioning",
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appOwnerOrganizationId": tenant.id,
        "appRoles": [],
        "oauth2PermissionScopes": [],
        "tags": [],
    }))));
    for role in roles {
        if let Some((_, role_id)) = GRAPH_ROLES.iter().find(|(value, _)| value == role) {
            tenant.app_role_assignments.push(Obj::new(object(json!({
                "id": inner.new_guid(),
                "appRoleId": role_id,
                "principalId": sp_id,
                "principalType": "ServicePrincipal",
                "principalDisplayName": "entra-mail provisioning",
                "resourceId": graph_sp_id,
                "resourceDisplayName": "Microsoft Graph",
                "createdDateTime": "2026-01-01T00:00:00Z",
                "deletedDateTime": null,
            }))));
        }
    }
    tenant.admin = AdminApp {
        client_id,
        client_secret: secret,
        service_principal_id: sp_id,
    };
}

fn first_party(
    inner: &mut Inner,
    app_id: &str,
    name: &str,
    roles: &[(&str, &str)],
    scopes: &[(&str, &str, &str)],
) -> Obj {
    let app_roles: Vec<Value> = roles
        .iter()
        .map(|(value, id)| {
            json!({
                "id": id, "value": value, "isEnabled": true, "origin": "Application",
                "allowedMemberTypes": ["Application"],
                "displayName": format!("{value} (application)"),
                "description": format!("Allows the app to use {value} without a signed-in user."),
            })
        })
        .collect();
    let permission_scopes: Vec<Value> = scopes
        .iter()
        .map(|(value, id, kind)| {
            json!({
                "id": id, "value": value, "type": kind, "isEnabled": true,
                "adminConsentDisplayName": format!("{value} (delegated)"),
                "adminConsentDescription": format!("Allows the app to use {value} on behalf of the signed-in user."),
                "userConsentDisplayName": format!("{value} (delegated)"),
                "userConsentDescription": format!("Allows the app to use {value} on your behalf."),
            })
        })
        .collect();
    Obj::new(object(json!({
        "id": inner.new_guid(),
        "appId": app_id,
        "displayName": name,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "appRoles": app_roles,
        "oauth2PermissionScopes": permission_scopes,
        "tags": [],
    })))
}

/// A JSON object literal as a map.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
