//! Microsoft Entra built-in directory roles: one table for sign-in (`wids`), memberships and
//! role definitions. Template ids and descriptions are Microsoft's ("Microsoft Entra built-in
//! roles"); they are the same in every tenant.

/// A built-in role: display name, template id, description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTemplate {
    pub name: &'static str,
    pub template_id: &'static str,
    pub description: &'static str,
}

const fn role(
    name: &'static str,
    template_id: &'static str,
    description: &'static str,
) -> RoleTemplate {
    RoleTemplate {
        name,
        template_id,
        description,
    }
}

/// The built-in roles the simulator knows.
pub const ROLE_TEMPLATES: &[RoleTemplate] = &[
    role(
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    role(
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Can manage Conditional Access capabilities.",
    ),
    role(
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
    ),
    role(
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Can create and manage all aspects of app registrations and enterprise apps.",
    ),
    role(
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
    ),
    role(
        "Global Reader",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
    role(
        "Reports Reader",
        "4a5d8f65-41da-4de4-8968-e035b65339cf",
        "Can read sign-in and audit reports.",
    ),
    role(
        "Security Reader",
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "Can read security information and reports in Microsoft Entra ID and Office 365.",
    ),
    role(
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Can manage all aspects of the Exchange product.",
    ),
    role(
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    role(
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Can reset passwords for non-administrators and Helpdesk Administrators.",
    ),
    role(
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
    ),
];

/// The built-in role named `name` (display names are unique).
pub fn by_name(name: &str) -> Option<&'static RoleTemplate> {
    ROLE_TEMPLATES.iter().find(|r| r.name == name)
}

/// The id of a tenant's activated directory role for `template_id`: stable per tenant and
/// role, and distinct from the template id, as in Entra.
pub fn directory_role_id(tenant_id: &str, template_id: &str) -> String {
    let namespace = uuid::Uuid::parse_str(tenant_id).unwrap_or(uuid::Uuid::NAMESPACE_OID);
    uuid::Uuid::new_v5(&namespace, template_id.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_template_ids_are_unique_guids() {
        for (i, a) in ROLE_TEMPLATES.iter().enumerate() {
            assert!(uuid::Uuid::parse_str(a.template_id).is_ok(), "{}", a.name);
            for b in &ROLE_TEMPLATES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.template_id, b.template_id);
            }
        }
        assert_eq!(
            by_name("Global Reader").map(|r| r.template_id),
            Some("f2ef992c-3afb-46b9-b7cf-a126ee74c451")
        );
    }

    #[test]
    fn directory_role_ids_are_stable_per_tenant_and_role() {
        let (t1, t2) = (
            "4f0c2d4e-0000-4000-8000-000000000001",
            "4f0c2d4e-0000-4000-8000-000000000002",
        );
        let ga = ROLE_TEMPLATES[0].template_id;
        assert_eq!(directory_role_id(t1, ga), directory_role_id(t1, ga));
        assert_ne!(directory_role_id(t1, ga), directory_role_id(t2, ga));
        assert_ne!(directory_role_id(t1, ga), ga);
    }
}
