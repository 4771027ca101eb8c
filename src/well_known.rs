//! First-party application ids that are the same in every tenant.
//! Source: ../shared/reference/graph/well_known_ids.json (Microsoft's first-party app list).

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
