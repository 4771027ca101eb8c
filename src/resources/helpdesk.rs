//! The helpdesk's side of the tenant: checked, never written. Plan warns when the mailbox
//! is at a domain the tenant has not verified, when it does not resolve to a user or shared
//! mailbox, when the app's redirect URIs miss every one
//! the helpdesk signs in with, and when the app will reach every mailbox in the tenant.

use serde::Deserialize;

use crate::config::{Desired, DesiredHelpdesk};
use crate::graph::{GraphClient, GraphError, Request};
use crate::helpdesk::{Flow, Profile};
use crate::kind::{LivePart, ManagedKind, PlanDraft, PlanError, Reader};
use crate::preflight::{optional, Need};
use crate::resources::domains::TenantDomains;

pub const KIND: &str = "helpdesk";

/// What the tenant says of the helpdesk's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxFound {
    /// A user (or a shared mailbox's user object) whose address it is, with its primary
    /// address.
    Mailbox {
        user_principal_name: String,
        primary: Option<String>,
    },
    /// A user signs in with that name but has no mailbox.
    NoMailbox { user_principal_name: String },
    /// Nothing in the directory has that address.
    Missing,
    /// No user has it as primary address or user name; aliases were not searched (the
    /// sign-in reads basic profiles only).
    NotPrimary,
    /// The run may not read users; the reason.
    NotChecked(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MailUser {
    user_principal_name: Option<String>,
    mail: Option<String>,
}

const SELECT: &str = "id,userPrincipalName,mail";

/// The helpdesk kind: reads the mailbox, plans warnings only.
pub struct HelpdeskKind;

#[async_trait::async_trait]
impl ManagedKind for HelpdeskKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn needs(&self, desired: &Desired) -> Vec<Need> {
        if desired.helpdesk.is_none() {
            return Vec::new();
        }
        vec![optional(
            "check that the helpdesk's mailbox exists",
            &[
                &["User.ReadBasic.All"],
                &["User.Read.All"],
                &["Directory.Read.All"],
            ],
        )]
    }

    async fn read(&self, reader: &Reader<'_>) -> Result<Option<LivePart>, GraphError> {
        let Some(helpdesk) = &reader.desired.helpdesk else {
            return Ok(None);
        };
        let found = find_mailbox(reader.client, &helpdesk.mailbox).await;
        Ok(Some(Box::new(move |live| live.parts.put(found))))
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        let Some(helpdesk) = &draft.desired.helpdesk else {
            return Ok(());
        };
        let found = draft.live.parts.get::<MailboxFound>();
        let domains = draft.live.parts.get::<TenantDomains>();
        draft.warnings.extend(
            mailbox_domain_warning(helpdesk, domains).or_else(|| mailbox_warning(helpdesk, found)),
        );
        draft
            .warnings
            .extend(redirect_uri_warning(draft.desired, helpdesk));
        draft
            .warnings
            .extend(mailbox_reach_warning(draft.desired, helpdesk));
        Ok(())
    }
}

/// The user whose address `mailbox` is (its primary address or an alias), else a user who
/// signs in with that name (and has no mailbox, or it would have been found). A check that
/// only warns never stops the run: a lookup that fails says so.
async fn find_mailbox(client: &GraphClient, mailbox: &str) -> MailboxFound {
    match lookup(client, mailbox, true).await {
        Ok(found) => found,
        // A basic-profile reader may not filter on proxyAddresses: without aliases.
        Err(e) if e.status() == Some(403) => match lookup(client, mailbox, false).await {
            Ok(MailboxFound::Missing) => MailboxFound::NotPrimary,
            Ok(found) => found,
            Err(e) => not_checked(&e),
        },
        Err(e) => not_checked(&e),
    }
}

fn not_checked(error: &GraphError) -> MailboxFound {
    MailboxFound::NotChecked(if error.status() == Some(403) {
        "this sign-in may not read users; grant User.Read.All to check it".to_string()
    } else {
        format!("the lookup failed: {}", crate::graph::error_chain(error))
    })
}

async fn lookup(
    client: &GraphClient,
    mailbox: &str,
    with_aliases: bool,
) -> Result<MailboxFound, GraphError> {
    let literal = mailbox.replace('\'', "''");
    let filter = if with_aliases {
        format!("mail eq '{literal}' or proxyAddresses/any(a:a eq 'smtp:{literal}')")
    } else {
        format!("mail eq '{literal}'")
    };
    // One request, in the first wave.
    let users: Vec<MailUser> = client
        .list(
            Request::get("users")
                .query("$filter", filter)
                .query("$select", SELECT),
        )
        .await?;
    if let Some(user) = users.into_iter().next() {
        return Ok(MailboxFound::Mailbox {
            user_principal_name: user.user_principal_name.unwrap_or_default(),
            primary: user.mail,
        });
    }
    let path = format!(
        "users/{}?$select={SELECT}",
        percent_encoding::utf8_percent_encode(mailbox, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok(match client.get_optional::<MailUser>(&path).await? {
        Some(MailUser {
            user_principal_name,
            mail: Some(primary),
        }) => MailboxFound::Mailbox {
            user_principal_name: user_principal_name.unwrap_or_default(),
            primary: Some(primary),
        },
        Some(user) => MailboxFound::NoMailbox {
            user_principal_name: user.user_principal_name.unwrap_or_default(),
        },
        None => MailboxFound::Missing,
    })
}

/// A mailbox at a domain the tenant has not verified: the reason the lookup finds nothing.
fn mailbox_domain_warning(
    helpdesk: &DesiredHelpdesk,
    domains: Option<&TenantDomains>,
) -> Option<String> {
    let problem = domains?.mailbox_domain_problem(&helpdesk.mailbox)?;
    Some(format!(
        "the mailbox `{}` cannot be in this tenant: {problem}; {} cannot read or send mail until it is, so fix the mailbox in the config or the domain in the tenant",
        helpdesk.mailbox,
        helpdesk.profile().name
    ))
}

fn mailbox_warning(helpdesk: &DesiredHelpdesk, found: Option<&MailboxFound>) -> Option<String> {
    let (mailbox, name) = (&helpdesk.mailbox, helpdesk.profile().name);
    match found? {
        // An app-only helpdesk names the mailbox in Graph paths, which Graph documents as
        // `/users/{id | userPrincipalName}`: another address of it may reach nothing there.
        MailboxFound::Mailbox {
            user_principal_name,
            ..
        } if helpdesk.profile().flow == Flow::AppOnly
            && !user_principal_name.is_empty()
            && !user_principal_name.eq_ignore_ascii_case(mailbox) =>
        {
            Some(format!(
                "`{mailbox}` is an address of the mailbox whose user name is `{user_principal_name}`: {name} reads mail without a user, through Graph's /users/{{user name}}; set the mailbox to `{user_principal_name}`"
            ))
        }
        MailboxFound::Mailbox { .. } => None,
        MailboxFound::NoMailbox { user_principal_name } => Some(format!(
            "the mailbox `{mailbox}` is the user {user_principal_name}, who has no mailbox (no Exchange Online licence?): {name} cannot read or send mail until it has one"
        )),
        MailboxFound::Missing => Some(format!(
            "the mailbox `{mailbox}` does not resolve in this tenant to a user or shared mailbox: {name} cannot read or send mail without it; create it (a shared mailbox needs no licence) or fix the mailbox in the config"
        )),
        MailboxFound::NotPrimary => Some(format!(
            "no user or shared mailbox has `{mailbox}` as its primary address or user name; whether it is an alias was not checked: that needs User.Read.All"
        )),
        MailboxFound::NotChecked(reason) => Some(format!(
            "could not check that the mailbox `{mailbox}` exists: {reason}"
        )),
    }
}

/// Redirect URIs given by hand that miss every one the helpdesk signs in with.
fn redirect_uri_warning(desired: &Desired, helpdesk: &DesiredHelpdesk) -> Option<String> {
    let profile = helpdesk.profile();
    let expected = profile.redirect_uris(&helpdesk.public_url);
    if profile.flow != Flow::Delegated
        || expected.is_empty()
        || expected
            .iter()
            .any(|u| desired.app.redirect_uris.contains(u))
    {
        return None;
    }
    Some(format!(
        "app.redirect_uris lists none of the redirect URIs {} signs in with under {} ({}); sign-in fails with AADSTS50011 unless your {} sends one of the listed ones",
        profile.name,
        helpdesk.public_url,
        expected
            .iter()
            .map(|u| format!("`{u}`"))
            .collect::<Vec<_>>()
            .join(", "),
        profile.name
    ))
}

/// Application permissions on mail that admin consent will hold once the plan has run: each
/// reaches every mailbox in the tenant, and Exchange Online RBAC adds to them, never narrows.
fn tenant_wide_mail_permissions(desired: &Desired) -> Vec<String> {
    desired
        .permissions
        .iter()
        .filter(|p| p.admin_consent)
        .flat_map(|p| p.application.iter())
        .filter(|value| reaches_every_mailbox(value))
        .cloned()
        .collect()
}

/// Graph matches permission names in any case, so this does too.
fn reaches_every_mailbox(permission: &str) -> bool {
    let lower = permission.to_ascii_lowercase();
    lower.starts_with("mail")
        || [
            "imap.accessasapp",
            "pop.accessasapp",
            "smtp.sendasapp",
            "full_access_as_app",
            "ews.accessasapp",
        ]
        .contains(&lower.as_str())
}

fn mailbox_reach_warning(desired: &Desired, helpdesk: &DesiredHelpdesk) -> Option<String> {
    let profile: &Profile = helpdesk.profile();
    let tenant_wide = tenant_wide_mail_permissions(desired);
    let script = crate::config::templates::builtin(crate::helpdesk::RBAC_SCRIPT)
        .map_or("the Exchange Online RBAC script", |t| t.output_file);
    if !tenant_wide.is_empty() {
        return Some(format!(
            "the app will hold {} with admin consent: it reaches every mailbox in the tenant, not only `{}`, and Exchange Online RBAC (`{script}`) adds to an Entra grant, it never narrows one; remove the permission or its admin_consent and let the script grant it on the one mailbox",
            tenant_wide.join(", "),
            helpdesk.mailbox
        ));
    }
    (profile.flow == Flow::AppOnly).then(|| {
        format!(
            "{} reads mail without a user: until `{script}` has run in Exchange Online PowerShell the app reaches no mailbox; it then reaches `{}` only",
            profile.name, helpdesk.mailbox
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_permissions_reach_every_mailbox_and_others_do_not() {
        for value in [
            "Mail.ReadWrite",
            "mail.readwrite",
            "Mail.Read",
            "MailboxSettings.Read",
            "IMAP.AccessAsApp",
        ] {
            assert!(reaches_every_mailbox(value), "{value}");
        }
        for value in ["User.Read.All", "Calendars.Read", "SMTP.Send"] {
            assert!(!reaches_every_mailbox(value), "{value}");
        }
    }
}
