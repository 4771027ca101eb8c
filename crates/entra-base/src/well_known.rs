//! First-party application ids that are the same in every tenant.
//! Source: crates/entra-sim/src/data/well_known_ids.json (Microsoft's first-party app list).

/// Microsoft Graph.
pub const MICROSOFT_GRAPH: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online.
pub const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";
/// Windows Azure Service Management API, shown as "Microsoft Azure Management" in older portals.
pub const AZURE_SERVICE_MANAGEMENT: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
/// Microsoft Graph Command Line Tools, the default public client for device-code sign-in.
pub const GRAPH_COMMAND_LINE_TOOLS: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Names a config may use for a resource or a Conditional Access target, with their appIds.
pub const APPS: &[(&str, &str)] = &[
    ("Microsoft Graph", MICROSOFT_GRAPH),
    ("Office 365 Exchange Online", EXCHANGE_ONLINE),
    (
        "Windows Azure Service Management API",
        AZURE_SERVICE_MANAGEMENT,
    ),
    ("Microsoft Azure Management", AZURE_SERVICE_MANAGEMENT),
];

/// The appId of a first-party app by its name, compared case-insensitively.
pub fn app_id_by_name(name: &str) -> Option<&'static str> {
    APPS.iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, app_id)| *app_id)
}

/// The known names, for error messages.
pub fn app_names() -> impl Iterator<Item = &'static str> {
    APPS.iter().map(|(name, _)| *name)
}

/// (value, GUID) of Microsoft Graph application permissions (appRoles).
/// Source: crates/entra-sim/src/data/well_known_ids.json (Microsoft's permissions-ids list).
/// The tool resolves names against the tenant's published permissions; these cross-check.
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
    // These are from Microsoft's permissions reference, not in well_known_ids.json.
    ("AuditLog.Read.All", "b0afded3-3588-46d8-8b3d-9842eff778da"),
    (
        "RoleManagement.Read.Directory",
        "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    ),
    ("User.ReadBasic.All", "97235f07-e226-4f63-ace3-39588e11d3a1"),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    ),
    (
        "GroupMember.Read.All",
        "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    ),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
    // Group and membership writes (group-upsert, group-post-members); ids from Microsoft's
    // permissions reference (permissions-ids.md), not in well_known_ids.json.
    (
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
    ),
    (
        "GroupMember.ReadWrite.All",
        "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    ),
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
    // What may read `GET /subscribedSkus` (subscribedsku-list.md), least privileged first;
    // ids as Graph publishes them (Microsoft's permissions reference), not in
    // well_known_ids.json.
    (
        "LicenseAssignment.Read.All",
        "e2f98668-2877-4f38-a2f4-8202e0717aa1",
    ),
    (
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    ),
    (
        "Organization.ReadWrite.All",
        "292d869f-3427-49a8-9dab-8c70152b74e9",
    ),
    // What may read `GET /domains` (domain-list.md), least privileged first; ids as in
    // crates/entra-sim/src/data/well_known_ids.json.
    ("Domain.Read.All", "dbb9058a-0e50-45d7-ae91-66909b5d4664"),
    (
        "Domain.ReadWrite.All",
        "7e05723c-0bb0-42da-be95-ae9f08a6e53c",
    ),
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
    (
        "Organization.Read.All",
        "4908d5b9-3fb2-4b1e-9336-1888b7937185",
        "Admin",
    ),
    (
        "Domain.Read.All",
        "2f9ee017-59c1-4f1d-9472-bd5529a7b311",
        "Admin",
    ),
    (
        "Domain.ReadWrite.All",
        "0b5d694c-a244-4bde-86e6-eb5cd07730fe",
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

/// The documented id of a permission, if it is in the tables above.
pub fn documented_permission_id(
    resource_app_id: &str,
    value: &str,
    delegated: bool,
) -> Option<&'static str> {
    type Roles = &'static [(&'static str, &'static str)];
    type Scopes = &'static [(&'static str, &'static str, &'static str)];
    let (roles, scopes): (Roles, Scopes) = match resource_app_id {
        MICROSOFT_GRAPH => (GRAPH_ROLES, GRAPH_SCOPES),
        EXCHANGE_ONLINE => (EXCHANGE_ROLES, EXCHANGE_SCOPES),
        _ => return None,
    };
    if delegated {
        scopes
            .iter()
            .find(|(v, _, _)| *v == value)
            .map(|(_, id, _)| *id)
    } else {
        roles.iter().find(|(v, _)| *v == value).map(|(_, id)| *id)
    }
}

/// Service plans that carry Conditional Access, as `(servicePlanName, servicePlanId)`:
/// Microsoft Entra ID P1 and P2. They come inside many SKUs (Entra ID P1 itself, Microsoft 365
/// Business Premium, E3, E5, ...), so the licence is found by plan, not by SKU.
/// Source: Microsoft's "Product names and service plan identifiers for licensing"
/// (learn.microsoft.com, Entra ID > users > licensing-service-plan-reference).
pub const CONDITIONAL_ACCESS_PLANS: &[(&str, &str)] = &[
    ("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
    ("AAD_PREMIUM_P2", "eec0eb4f-6444-4f95-aba0-50c24d67f998"),
];

/// SKUs the simulated tenant subscribes to, as `(skuPartNumber, skuId)` (same source).
pub const SKU_BUSINESS_PREMIUM: (&str, &str) = ("SPB", "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46");
pub const SKU_BUSINESS_STANDARD: (&str, &str) = (
    "O365_BUSINESS_PREMIUM",
    "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
);
/// Exchange Online (Plan 1), a plan both of those SKUs carry (same source).
pub const PLAN_EXCHANGE_ONLINE_1: (&str, &str) = (
    "EXCHANGE_S_STANDARD",
    "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
);

/// Built-in directory roles by display name and role template id (the ids Conditional
/// Access's `includeRoles` holds), for naming roles when the token may not read the tenant's
/// role definitions.
pub const DIRECTORY_ROLES: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    ("Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    (
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    ),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        assert_eq!(app_id_by_name("microsoft graph"), Some(MICROSOFT_GRAPH));
        assert_eq!(
            app_id_by_name("Microsoft Azure Management"),
            Some(AZURE_SERVICE_MANAGEMENT)
        );
        assert_eq!(app_id_by_name("Graph"), None);
    }
}
