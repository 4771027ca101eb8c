//! The tenant's domains: read, never written. Entra refuses an identifier URI whose host is
//! not on a verified domain (`HostNameNotOnVerifiedDomain`), and Exchange Online holds
//! mailboxes only at verified domains; with the domains read, plan refuses the first before
//! anything is written, and the helpdesk check names the second.

use serde::Deserialize;

use crate::config::{fill_identifier_uri, Desired};
use crate::graph::{GraphClient, GraphError, Request};
use crate::identifier_uri;
use crate::kind::{LivePart, ManagedKind, PlanDraft, PlanError, Reader, UnverifiedIdentifierUri};
use crate::preflight::{optional, Need};

pub const KIND: &str = "domains";

/// What the tenant says of its domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantDomains {
    /// Lowercase names: the verified ones, and those added but not verified yet.
    Known {
        verified: Vec<String>,
        unverified: Vec<String>,
    },
    /// Not read: why, and whether that deserves a warning (a refusal is what the optional
    /// permission's absence means; doctor names it).
    NotChecked { reason: String, warn: bool },
}

impl TenantDomains {
    fn verified(&self) -> Option<&[String]> {
        match self {
            TenantDomains::Known { verified, .. } => Some(verified),
            TenantDomains::NotChecked { .. } => None,
        }
    }

    /// Whether `domain` is added to the tenant but not verified yet.
    fn pending(&self, domain: &str) -> bool {
        matches!(self, TenantDomains::Known { unverified, .. }
            if unverified.iter().any(|d| d.eq_ignore_ascii_case(domain)))
    }

    /// Of a mailbox at `domain`: `None` when the domain is verified or the domains are not
    /// known, else why Exchange Online cannot hold it.
    pub fn mailbox_domain_problem(&self, mailbox: &str) -> Option<String> {
        let verified = self.verified()?;
        let domain = mailbox.rsplit_once('@')?.1.to_ascii_lowercase();
        if verified.contains(&domain) {
            return None;
        }
        Some(if self.pending(&domain) {
            format!("`{domain}` is added to the tenant but not verified yet (its DNS TXT record is outstanding), and Exchange Online holds mailboxes only at verified domains: verify it (Entra admin center: Settings > Domain names)")
        } else {
            format!(
                "`{domain}` is not a domain of this tenant (verified: {}), and Exchange Online holds mailboxes only at verified domains",
                verified.join(", ")
            )
        })
    }
}

/// The kind: reads the domains when the config has something to check against them.
pub struct DomainsKind;

/// An app id for URIs of an app that does not exist yet: `{appId}` stands for the app's own
/// id, which no other part of a URI can equal.
const NEW_APP_ID: &str = "00000000-0000-0000-0000-00000000a99d";

#[async_trait::async_trait]
impl ManagedKind for DomainsKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn needs(&self, desired: &Desired) -> Vec<Need> {
        if !has_something_to_check(desired) {
            return Vec::new();
        }
        vec![optional(
            "check identifier URIs and the helpdesk's mailbox against the tenant's verified domains",
            &[
                &["Domain.Read.All"],
                &["Organization.Read.All"],
                &["Directory.Read.All"],
                &["Domain.ReadWrite.All"],
                &["Organization.ReadWrite.All"],
                &["Directory.ReadWrite.All"],
            ],
        )]
    }

    async fn read(&self, reader: &Reader<'_>) -> Result<Option<LivePart>, GraphError> {
        if !has_something_to_check(reader.desired) {
            return Ok(None);
        }
        let domains = read_domains(reader.client).await;
        Ok(Some(Box::new(move |live| live.parts.put(domains))))
    }

    fn check(&self, draft: &PlanDraft<'_>) -> Result<(), PlanError> {
        let Some(domains) = draft.live.parts.get::<TenantDomains>() else {
            return Ok(());
        };
        let Some(verified) = domains.verified() else {
            return Ok(());
        };
        let desired = draft.desired;
        let Some(api) = &desired.api else {
            return Ok(());
        };
        let app = draft.live.application.as_ref();
        let app_id = app.and_then(|a| a.app_id.as_deref()).unwrap_or(NEW_APP_ID);
        let tenant_id = desired.tenant_id.to_string();
        let uri = fill_identifier_uri(&api.identifier_uri, app_id, &tenant_id);
        // A URI the app already holds is not written again, so Entra does not check it again.
        let held = app
            .and_then(|a| a.identifier_uris.as_ref())
            .is_some_and(|uris| uris.iter().any(|u| u.eq_ignore_ascii_case(&uri)));
        let host = identifier_uri::host_to_verify(&uri, app_id, &tenant_id);
        match host {
            Some(host) if !held && !identifier_uri::on_verified_domain(&host, verified) => Err(
                PlanError::IdentifierUriNotOnVerifiedDomain(Box::new(UnverifiedIdentifierUri {
                    uri: api.identifier_uri.clone(),
                    config: desired.source.display().to_string(),
                    pending: verified_parent_pending(domains, &host),
                    host,
                    tenant: tenant_id,
                    verified: verified.to_vec(),
                })),
            ),
            _ => Ok(()),
        }
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        if let Some(TenantDomains::NotChecked { reason, warn: true }) =
            draft.live.parts.get::<TenantDomains>()
        {
            draft.warnings.push(format!(
                "could not read the tenant's domains ({reason}); identifier URIs and the helpdesk's mailbox were not checked against them"
            ));
        }
        Ok(())
    }
}

/// An identifier URI off the default `api://{appId}`, or a helpdesk mailbox.
fn has_something_to_check(desired: &Desired) -> bool {
    let uri_has_host = desired.api.as_ref().is_some_and(|api| {
        let tenant_id = desired.tenant_id.to_string();
        let uri = fill_identifier_uri(&api.identifier_uri, NEW_APP_ID, &tenant_id);
        identifier_uri::host_to_verify(&uri, NEW_APP_ID, &tenant_id).is_some()
    });
    uri_has_host || desired.helpdesk.is_some()
}

/// The pending domain `host` is on (itself or a parent), for the refusal's hint.
fn verified_parent_pending(domains: &TenantDomains, host: &str) -> Option<String> {
    let TenantDomains::Known { unverified, .. } = domains else {
        return None;
    };
    unverified
        .iter()
        .find(|d| identifier_uri::on_verified_domain(host, std::slice::from_ref(d)))
        .cloned()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Domain {
    id: String,
    #[serde(default)]
    is_verified: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    #[serde(default)]
    verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Deserialize)]
struct VerifiedDomain {
    name: String,
}

/// `GET /domains` (Domain.Read.All); refused, the organization's `verifiedDomains`
/// (Organization.Read.All, which the licence check may already have). One request in the
/// first wave, two when the first is refused.
async fn read_domains(client: &GraphClient) -> TenantDomains {
    let listed = client
        .list::<Domain>(Request::get("domains").query("$select", "id,isVerified"))
        .await;
    let refused = match listed {
        Ok(domains) => {
            let (verified, unverified): (Vec<Domain>, Vec<Domain>) =
                domains.into_iter().partition(|d| d.is_verified);
            let names = |list: Vec<Domain>| list.into_iter().map(|d| d.id.to_ascii_lowercase());
            return TenantDomains::Known {
                verified: names(verified).collect(),
                unverified: names(unverified).collect(),
            };
        }
        Err(e) if e.status() == Some(403) => e,
        Err(e) => return not_checked(&e),
    };
    let organization = client
        .list::<Organization>(Request::get("organization").query("$select", "verifiedDomains"))
        .await;
    match organization {
        Ok(organizations) => TenantDomains::Known {
            verified: organizations
                .into_iter()
                .flat_map(|o| o.verified_domains)
                .map(|d| d.name.to_ascii_lowercase())
                .collect(),
            unverified: Vec::new(),
        },
        Err(e) if e.status() == Some(403) => not_checked(&refused),
        Err(e) => not_checked(&e),
    }
}

fn not_checked(error: &GraphError) -> TenantDomains {
    if error.status() == Some(403) {
        TenantDomains::NotChecked {
            reason: "this sign-in may not read them; grant Domain.Read.All".into(),
            warn: false,
        }
    } else {
        TenantDomains::NotChecked {
            reason: crate::graph::error_chain(error),
            warn: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> TenantDomains {
        TenantDomains::Known {
            verified: vec!["contoso.onmicrosoft.com".into(), "contoso.com".into()],
            unverified: vec!["contoso.org".into()],
        }
    }

    #[test]
    fn a_mailbox_at_a_verified_domain_is_fine() {
        assert_eq!(known().mailbox_domain_problem("Help@Contoso.com"), None);
    }

    #[test]
    fn a_mailbox_elsewhere_names_the_domain() {
        let pending = known().mailbox_domain_problem("help@contoso.org").unwrap();
        assert!(pending.contains("not verified yet"), "{pending}");
        let foreign = known().mailbox_domain_problem("help@fabrikam.com").unwrap();
        assert!(
            foreign.contains("`fabrikam.com` is not a domain of this tenant (verified: contoso.onmicrosoft.com, contoso.com)"),
            "{foreign}"
        );
    }

    #[test]
    fn unknown_domains_judge_nothing() {
        let unknown = TenantDomains::NotChecked {
            reason: "no".into(),
            warn: false,
        };
        assert_eq!(unknown.mailbox_domain_problem("help@fabrikam.com"), None);
    }
}
