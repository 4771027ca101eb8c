//! Microsoft Entra built-in directory roles: one table for sign-in (`wids`), memberships and
//! role definitions. Template ids and descriptions are Microsoft's ("Microsoft Entra built-in
//! roles"); they are the same in every tenant.

use std::sync::LazyLock;

use entra_base::well_known::DIRECTORY_ROLES;

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

/// What each built-in role is for, by display name (names and template ids are
/// `well_known::DIRECTORY_ROLES`, which the tool itself names roles by).
const DESCRIPTIONS: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    (
        "Conditional Access Administrator",
        "Can manage Conditional Access capabilities.",
    ),
    (
        "Security Administrator",
        "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
    ),
    (
        "Application Administrator",
        "Can create and manage all aspects of app registrations and enterprise apps.",
    ),
    (
        "Cloud Application Administrator",
        "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
    ),
    (
        "Global Reader",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
    (
        "Reports Reader",
        "Can read sign-in and audit reports.",
    ),
    (
        "Security Reader",
        "Can read security information and reports in Microsoft Entra ID and Office 365.",
    ),
    (
        "Exchange Administrator",
        "Can manage all aspects of the Exchange product.",
    ),
    (
        "User Administrator",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    (
        "Helpdesk Administrator",
        "Can reset passwords for non-administrators and Helpdesk Administrators.",
    ),
    (
        "Privileged Role Administrator",
        "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
    ),
    (
        "Privileged Authentication Administrator",
        "Can access to view, set and reset authentication method information for any user (admin or non-admin).",
    ),
    (
        "Authentication Administrator",
        "Can access to view, set and reset authentication method information for any non-admin user.",
    ),
    (
        "Password Administrator",
        "Can reset passwords for non-administrators and Password Administrators.",
    ),
    (
        "SharePoint Administrator",
        "Can manage all aspects of the SharePoint service.",
    ),
    (
        "Billing Administrator",
        "Can perform common billing related tasks like updating payment information.",
    ),
    (
        "Intune Administrator",
        "Can manage all aspects of the Intune product.",
    ),
];

/// The built-in roles the simulator knows.
pub static ROLE_TEMPLATES: LazyLock<Vec<RoleTemplate>> = LazyLock::new(|| {
    DIRECTORY_ROLES
        .iter()
        .map(|(name, template_id)| {
            let description = DESCRIPTIONS
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, d)| d);
            role(name, template_id, description)
        })
        .collect()
});

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
            assert!(!a.description.is_empty(), "{} has a description", a.name);
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
