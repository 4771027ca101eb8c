//! The managed kinds. Each file is one kind with the same contract: plan its changes from
//! desired and live state, and apply one change. The planner and executor know only that.

pub mod application;
pub mod client_secret;
pub mod conditional_access;
pub mod consent;
pub mod outputs_files;
pub mod permissions;
pub mod service_principal;

/// A name fit for an address: `Microsoft Graph` -> `microsoft-graph`.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_lowercase_and_dashed() {
        assert_eq!(super::slug("Microsoft Graph"), "microsoft-graph");
        assert_eq!(
            super::slug("Office 365 Exchange Online"),
            "office-365-exchange-online"
        );
    }
}
