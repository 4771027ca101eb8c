//! Which identifier URIs Microsoft Entra holds to the tenant's verified domains (Microsoft's
//! "Restrictions on identifier URIs"): one rule, used by the simulated tenant to refuse and by
//! the planner to predict the refusal (`HostNameNotOnVerifiedDomain`).
//!
//! URIs that carry the app's or the tenant's own id are accepted on any tenant:
//! `api://{appId}`, `api://{tenantId}[/…]`, `api://{name}/{appId}`, `api://{name}/{tenantId}`.
//! So is an `api://` name that is no DNS name (`api://productapi`): whether a tenant allows it
//! is its app management policy's call, not the verified domains'. Other `api://` URIs and
//! every `https://` and `http://` URI name a host that must be a verified domain or a
//! subdomain of one. Other schemes (`urn:`, `ms-appx://`) name no host.

/// The host Entra checks against the verified domains, lowercase; `None` when it checks none.
pub fn host_to_verify(uri: &str, app_id: &str, tenant_id: &str) -> Option<String> {
    let lower = uri.to_ascii_lowercase();
    let (app_id, tenant_id) = (app_id.to_ascii_lowercase(), tenant_id.to_ascii_lowercase());
    if let Some(rest) = lower.strip_prefix("api://") {
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host_of(authority);
        let own_id = |part: &str| part == app_id || part == tenant_id;
        let carries_own_id = own_id(host) || path.split('/').any(own_id);
        return (!carries_own_id && host.contains('.')).then(|| host.to_string());
    }
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Some(host_of(authority).to_string())
}

/// An authority without its user info and port.
fn host_of(authority: &str) -> &str {
    let host = authority.rsplit('@').next().unwrap_or_default();
    host.split(':').next().unwrap_or_default()
}

/// Whether `host` is one of `verified` or a subdomain of one.
pub fn on_verified_domain<S: AsRef<str>>(host: &str, verified: &[S]) -> bool {
    let host = host.to_ascii_lowercase();
    verified.iter().any(|domain| {
        let domain = domain.as_ref().to_ascii_lowercase();
        host == domain || host.ends_with(&format!(".{domain}"))
    })
}

/// Whether Entra accepts `uri` on an app `app_id` of tenant `tenant_id` with these verified
/// domains.
pub fn allowed<S: AsRef<str>>(uri: &str, app_id: &str, tenant_id: &str, verified: &[S]) -> bool {
    host_to_verify(uri, app_id, tenant_id).is_none_or(|host| on_verified_domain(&host, verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
    const TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
    const VERIFIED: [&str; 2] = ["contoso.onmicrosoft.com", "contoso.com"];

    #[test]
    fn the_documented_secure_patterns_are_accepted() {
        for uri in [
            format!("api://{APP}"),
            format!("api://{TENANT}/{APP}"),
            format!("api://{TENANT}/api"),
            format!("api://productapi/{APP}"),
            format!("api://productapi/{TENANT}"),
            format!("api://{TENANT}"),
            "api://productapi".into(),
            "api://contoso.com:443/x?y".into(),
            format!("API://{}", APP.to_uppercase()),
            "https://contoso.onmicrosoft.com/productsapi".into(),
            "https://contoso.com/productsapi".into(),
            "https://product.contoso.com".into(),
            "https://product.contoso.com/productsapi".into(),
            "api://contoso.com/productsapi".into(),
            "urn:contoso:helpdesk".into(),
        ] {
            assert!(allowed(&uri, APP, TENANT, &VERIFIED), "{uri}");
        }
    }

    #[test]
    fn hosts_off_the_verified_domains_are_refused() {
        for uri in [
            "https://evil.example.com",
            "https://contoso.com.evil.example/x",
            "https://notcontoso.com/api",
            "http://user@fabrikam.com:8443/api",
            "api://fabrikam.com/api",
            "api://user@fabrikam.com:443/api",
        ] {
            assert!(!allowed(uri, APP, TENANT, &VERIFIED), "{uri}");
        }
        assert_eq!(
            host_to_verify("http://user@Fabrikam.com:8443/api", APP, TENANT).as_deref(),
            Some("fabrikam.com")
        );
        assert_eq!(host_to_verify(&format!("api://{APP}"), APP, TENANT), None);
    }
}
