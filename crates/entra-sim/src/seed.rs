//! A new simulated tenant, seeded like a real one: Microsoft's first-party service principals
//! with their published permissions (real GUIDs), users with two emergency-access accounts,
//! the seed's MFA-Test-Group, and an admin app to provision with.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::keyvault::{self, KeyVault};
use super::state::{
    group_data, object, user_data, AdminApp, FederatedCredential, Inner, Obj, Tenant,
};
use entra_base::well_known::{self, EXCHANGE_ROLES, EXCHANGE_SCOPES, GRAPH_ROLES, GRAPH_SCOPES};

/// The roles the admin app holds unless a test chooses others: everything the tool needs.
pub const DEFAULT_ADMIN_ROLES: &[&str] = &[
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Application.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "User.Read.All",
    "AuditLog.Read.All",
    "RoleManagement.Read.Directory",
    "LicenseAssignment.Read.All",
    "Domain.Read.All",
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
    /// Key vaults to create in the tenant, where the admin app may get, set, list and delete
    /// secrets. A name that is not a valid vault name or is another tenant's is skipped.
    pub key_vaults: Vec<String>,
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
            key_vaults: Vec::new(),
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
        unverified_domains: vec![format!("{}.org", spec.domain_label)],
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
        key_vaults: BTreeMap::new(),
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
    const GA: &str = "Global Administrator";
    // (name, display name, roles, MFA registered): bob and carol have not registered yet.
    for (name, display, roles, mfa) in [
        ("admin", "Tenant Admin", vec![GA], true),
        ("breakglass1", "Emergency Access 1", vec![GA], true),
        ("breakglass2", "Emergency Access 2", vec![GA], true),
        ("alice", "Alice Pilot", vec![], true),
        ("bob", "Bob Pilot", vec![], false),
        ("carol", "Carol Agent", vec![], false),
        ("helpdesk", "Helpdesk Mailbox", vec![], true),
    ] {
        let user_id = inner.new_guid();
        let mut user = Obj::new(user_data(&user_id, &format!("{name}@{domain}"), display));
        // Mail also reaches each user at the custom domain, as an alias (a proxy address).
        if let Some(Value::Array(addresses)) = user.data.get_mut("proxyAddresses") {
            addresses.push(json!(format!("smtp:{name}@{}.com", spec.domain_label)));
        }
        user.hidden.directory_roles = roles.into_iter().map(String::from).collect();
        user.hidden.mfa_registered = mfa;
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
        let mut group = Obj::new(group_data(&inner.new_guid(), name));
        group.hidden.members = members;
        tenant.groups.push(group);
    }

    add_admin_app(inner, &mut tenant, &graph_sp_id, &spec.admin_roles);
    for name in &spec.key_vaults {
        if key_vault_name_free(inner, &tenant.id, name) {
            let vault = KeyVault::granting(&tenant.admin.service_principal_id);
            tenant.key_vaults.insert(name.to_ascii_lowercase(), vault);
        }
    }
    tenant
}

/// Creates the vault `name` in tenant `tenant_id` unless it exists, where the admin app may
/// get, set, list and delete secrets. False if there is no such tenant or the name is not free
/// for it.
pub fn add_key_vault(inner: &mut Inner, tenant_id: &str, name: &str) -> bool {
    if !key_vault_name_free(inner, tenant_id, name) {
        return false;
    }
    let Some(tenant) = inner.tenant_mut(tenant_id) else {
        return false;
    };
    let admin = tenant.admin.service_principal_id.clone();
    tenant
        .key_vaults
        .entry(name.to_ascii_lowercase())
        .or_insert_with(|| KeyVault::granting(&admin));
    true
}

/// Whether tenant `tenant_id` may have a vault `name`: a valid name that no other tenant's
/// vault has (a vault's name is its DNS name, unique across Azure).
pub fn key_vault_name_free(inner: &Inner, tenant_id: &str, name: &str) -> bool {
    keyvault::vault_name_ok(name)
        && keyvault::tenant_of(inner, name)
            .is_none_or(|owner| owner.eq_ignore_ascii_case(tenant_id))
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
        let known = GRAPH_ROLES.iter().find(|(value, _)| value == role);
        // A typo in a test's roles must not silently become "permission missing".
        assert!(
            known.is_some(),
            "the simulator's Microsoft Graph publishes no application permission `{role}`"
        );
        if let Some((_, role_id)) = known {
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
