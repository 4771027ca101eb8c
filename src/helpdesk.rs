//! Helpdesk profiles: what each helpdesk needs of the Entra app (redirect URIs, permissions),
//! which sheets and scripts describe it, and the admin's next steps after an apply. A config
//! names its product in `[helpdesk]`; it may override each default (`app.redirect_uris`,
//! `[[permissions]]`, `outputs.templates`).
//!
//! Facts come from each product's public source or documentation; what could not be checked
//! is marked in the rendered sheets.

use serde::{Deserialize, Serialize};

use crate::config::IncomingProtocol;

/// The helpdesks entra-mail knows, as a config names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    PandoraItsm,
    Glpi,
    Zammad,
    Itop,
    Znuny,
    Osticket,
    RequestTracker,
}

/// How the helpdesk gets its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Authorization code for a user who signs in to the mailbox: delegated permissions and
    /// a redirect URI on the helpdesk.
    Delegated,
    /// Client credentials: no user, no redirect URI; Exchange Online RBAC scopes the app to
    /// the mailbox.
    AppOnly,
}

/// Everything entra-mail knows about one helpdesk.
pub struct Profile {
    pub product: Product,
    /// As a config writes it: `pandora-itsm`.
    pub key: &'static str,
    /// As its makers write it: `Pandora ITSM`.
    pub name: &'static str,
    pub flow: Flow,
    /// Paths under `public_url` the helpdesk receives the sign-in answer at: the default
    /// redirect URIs.
    pub redirect_paths: &'static [&'static str],
    /// Microsoft Graph delegated permissions, admin-consented by default.
    pub delegated: &'static [&'static str],
    /// The scopes the helpdesk asks for at sign-in (its Scope field, where it has one), for
    /// IMAP; see [`Profile::sign_in_scopes`].
    scopes: &'static str,
    /// It can read the mailbox over POP3 (not only IMAP).
    pub reads_pop: bool,
    /// The built-in templates rendered by default: the sheet (Markdown), the sheet (JSON), the
    /// Exchange Online script.
    pub sheet: &'static str,
    pub sheet_json: &'static str,
    pub script: &'static str,
    /// Where in the helpdesk the values go.
    pub settings_path: &'static str,
    /// The step that enters the values, after "open the sheet" and "run the script".
    pub enter_values: &'static str,
    /// Steps after that one.
    pub extra_steps: &'static [&'static str],
}

/// The Exchange Online script for helpdesks that sign in as a user (IMAP/POP and SMTP AUTH
/// on the mailbox), and the one that scopes an app-only helpdesk to its mailbox.
pub const MAILBOX_SCRIPT: &str = "exchange-online";
pub const RBAC_SCRIPT: &str = "exchange-online-rbac";

pub const PROFILES: &[Profile] = &[
    Profile {
        product: Product::PandoraItsm,
        key: "pandora-itsm",
        name: "Pandora ITSM",
        flow: Flow::Delegated,
        // The manual's example, and the classic route of its mail setup page: which one a
        // release sends is not documented, so both are registered.
        redirect_paths: &[
            "godmode/godmode/setup/setup_mail",
            "index.php?sec=godmode&sec2=godmode/setup/setup_mail",
        ],
        delegated: &[
            "IMAP.AccessAsUser.All",
            "POP.AccessAsUser.All",
            "SMTP.Send",
            "offline_access",
            "openid",
            "email",
            "User.Read",
        ],
        scopes: "offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
        reads_pop: true,
        sheet: "pandora-itsm",
        sheet_json: "pandora-itsm-json",
        script: MAILBOX_SCRIPT,
        settings_path: "Setup → Setup → Email setup",
        enter_values: "In Pandora ITSM, open Setup → Setup → Email setup, enter the values from the sheet and authorise the mailbox",
        extra_steps: &["Turn on Pandora ITSM's dual authentication: its global switch, then each user enrols an authenticator app (the sheet's \"Second factor\" section)"],
    },
    Profile {
        product: Product::Glpi,
        key: "glpi",
        name: "GLPI",
        flow: Flow::Delegated,
        redirect_paths: &[
            "plugins/oauthimap/front/authorization.callback.php",
            "marketplace/oauthimap/front/authorization.callback.php",
            "front/smtp_oauth2_callback.php",
        ],
        delegated: &["openid", "email", "offline_access", "IMAP.AccessAsUser.All", "SMTP.Send"],
        scopes: "openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
        reads_pop: false,
        sheet: "glpi",
        sheet_json: "glpi-json",
        script: MAILBOX_SCRIPT,
        settings_path: "Setup → Oauth IMAP applications (\"OAuth IMAP\" in GLPI 11) to receive; Setup → Notifications → Email followups configuration (\"Email notifications configuration\" in GLPI 11), way of sending SMTP+OAUTH, to send",
        enter_values: "In GLPI, add an application under Setup → Oauth IMAP applications with the values from the sheet, then authorise the mailbox",
        extra_steps: &[],
    },
    Profile {
        product: Product::Zammad,
        key: "zammad",
        name: "Zammad",
        flow: Flow::Delegated,
        redirect_paths: &["api/v1/external_credentials/microsoft365/callback"],
        delegated: &[
            "openid",
            "email",
            "profile",
            "offline_access",
            "IMAP.AccessAsUser.All",
            "SMTP.Send",
        ],
        scopes: "openid email profile offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
        reads_pop: false,
        sheet: "zammad",
        sheet_json: "zammad-json",
        script: MAILBOX_SCRIPT,
        settings_path: "Channels → Microsoft 365 IMAP Email → Connect Microsoft 365 App",
        enter_values: "In Zammad, open Channels → Microsoft 365 IMAP Email → Connect Microsoft 365 App, enter the values from the sheet, then add the account and sign in as the mailbox",
        extra_steps: &[],
    },
    Profile {
        product: Product::Itop,
        key: "itop",
        name: "iTop",
        flow: Flow::Delegated,
        redirect_paths: &["pages/oauth.landing.php"],
        delegated: &["offline_access", "IMAP.AccessAsUser.All", "SMTP.Send"],
        scopes: "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
        reads_pop: false,
        sheet: "itop",
        sheet_json: "itop-json",
        script: MAILBOX_SCRIPT,
        settings_path: "Integrations → OAuth Mail Access",
        enter_values: "In iTop, create an OAuth client for Microsoft Azure under Integrations → OAuth Mail Access with the values from the sheet, then generate its access token as the mailbox",
        extra_steps: &[],
    },
    Profile {
        product: Product::Znuny,
        key: "znuny",
        name: "Znuny",
        flow: Flow::Delegated,
        // Under the ScriptAlias, `otrs/` by default (see `redirect_uris`).
        redirect_paths: &["otrs/get-oauth2-token-by-authorization-code.pl"],
        delegated: &["offline_access", "IMAP.AccessAsUser.All", "SMTP.Send"],
        scopes: "offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
        reads_pop: true,
        sheet: "znuny",
        sheet_json: "znuny-json",
        script: MAILBOX_SCRIPT,
        settings_path: "Admin → Manage OAuth2 tokens and their configurations",
        enter_values: "In Znuny, add a token configuration (template \"Microsoft Exchange Online\") under Admin → Manage OAuth2 tokens and their configurations with the values from the sheet, request the token as the mailbox, then choose it in the mail account",
        extra_steps: &[],
    },
    Profile {
        product: Product::Osticket,
        key: "osticket",
        name: "osTicket",
        flow: Flow::Delegated,
        redirect_paths: &["api/auth/oauth2"],
        delegated: &[
            "offline_access",
            "User.Read",
            "IMAP.AccessAsUser.All",
            "POP.AccessAsUser.All",
            "SMTP.Send",
        ],
        scopes: "offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
        reads_pop: true,
        sheet: "osticket",
        sheet_json: "osticket-json",
        script: MAILBOX_SCRIPT,
        settings_path: "Admin Panel → Emails → Emails → the email → Remote Mailbox → Authentication \"OAuth2 - Microsoft\" → Config",
        enter_values: "In osTicket, open Admin Panel → Emails → Emails → the email → Remote Mailbox, choose the authentication \"OAuth2 - Microsoft\", enter the values from the sheet under Config and authorise the mailbox",
        extra_steps: &[],
    },
    Profile {
        product: Product::RequestTracker,
        key: "request-tracker",
        name: "Request Tracker",
        flow: Flow::AppOnly,
        redirect_paths: &[],
        // No Entra permission at all: Exchange Online RBAC grants "Application Mail.ReadWrite"
        // on the one mailbox. An Entra grant would reach every mailbox, and RBAC adds to an
        // Entra grant, never narrows it.
        delegated: &[],
        scopes: "https://graph.microsoft.com/.default",
        reads_pop: false,
        sheet: "request-tracker",
        sheet_json: "wsgetmail",
        script: RBAC_SCRIPT,
        settings_path: "App::wsgetmail's configuration file",
        enter_values: "On the RT server, install the wsgetmail configuration from the sheet and run `wsgetmail --config=wsgetmail.json` (then from cron)",
        extra_steps: &[],
    },
];

impl Product {
    pub fn profile(self) -> &'static Profile {
        PROFILES
            .iter()
            .find(|p| p.product == self)
            .unwrap_or(&PROFILES[0])
    }
}

impl Profile {
    /// The redirect URIs the helpdesk signs in with, under `public_url`.
    pub fn redirect_uris(&self, public_url: &str) -> Vec<String> {
        let base = public_url.trim_end_matches('/');
        self.redirect_paths
            .iter()
            .map(|path| {
                // A Znuny URL that already names its ScriptAlias keeps it once.
                let path = match (self.product, path.strip_prefix("otrs/")) {
                    (Product::Znuny, Some(rest)) if base.ends_with("/otrs") => rest,
                    _ => path,
                };
                format!("{base}/{path}")
            })
            .collect()
    }

    /// The scopes the helpdesk asks for at sign-in, for the protocol it reads with.
    pub fn sign_in_scopes(&self, incoming: IncomingProtocol) -> String {
        match incoming {
            IncomingProtocol::Pop if !self.scopes.contains("POP.") => self
                .scopes
                .replace("IMAP.AccessAsUser.All", "POP.AccessAsUser.All"),
            _ => self.scopes.to_string(),
        }
    }

    /// Its Microsoft Graph delegated permissions when it reads with `incoming`.
    pub fn delegated_for(&self, incoming: IncomingProtocol) -> Vec<String> {
        let mut permissions: Vec<String> = self.delegated.iter().map(|s| s.to_string()).collect();
        if incoming == IncomingProtocol::Pop && !self.delegated.contains(&"POP.AccessAsUser.All") {
            for permission in &mut permissions {
                if permission == "IMAP.AccessAsUser.All" {
                    *permission = "POP.AccessAsUser.All".into();
                }
            }
        }
        permissions
    }

    /// The built-in templates it renders by default.
    pub fn templates(&self) -> [&'static str; 3] {
        [self.sheet, self.sheet_json, self.script]
    }
}

/// The built-in template `name`'s helpdesk, when it describes one product only.
pub fn product_of_template(name: &str) -> Option<Product> {
    PROFILES
        .iter()
        .find(|p| p.sheet == name || p.sheet_json == name)
        .map(|p| p.product)
}

/// One thing the admin does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    pub number: usize,
    pub text: String,
    /// The file it uses, inside the outputs directory.
    pub file: Option<String>,
}

/// The admin's next steps after an apply: open the sheet, run the Exchange Online script,
/// enter the values, then what the product needs besides. A file the config does not render
/// is not named. `rendered` holds the names of the files the templates render to.
pub fn next_steps(
    profile: &Profile,
    mailbox: &str,
    incoming: IncomingProtocol,
    rendered: &[(String, String)],
) -> Vec<NextStep> {
    let file_of = |template: &str| {
        rendered
            .iter()
            .find(|(name, _)| name == template)
            .map(|(_, file)| file.clone())
    };
    let sheet = file_of(profile.sheet);
    let mut steps: Vec<(String, Option<String>)> = Vec::new();
    if let Some(sheet) = &sheet {
        steps.push((
            format!(
                "Open the {} sheet: it holds the values to enter (and the client secret, when this machine holds it)",
                profile.name
            ),
            Some(sheet.clone()),
        ));
    }
    let protocol = match incoming {
        IncomingProtocol::Imap => "IMAP",
        IncomingProtocol::Pop => "POP",
    };
    // The Exchange step is never left out: Graph cannot do it, and mail does not work without
    // it. Without its own file, the sheet says how, or the config must render the script.
    let exchange = match (profile.flow, file_of(profile.script)) {
        (Flow::Delegated, Some(script)) => (
            format!("Run the Exchange Online script in Exchange Online PowerShell: it turns on {protocol} and SMTP AUTH for {mailbox}"),
            Some(script),
        ),
        (Flow::Delegated, None) => (
            format!("Turn on {protocol} and SMTP AUTH for {mailbox} in Exchange Online PowerShell, as the sheet's \"Exchange Online\" section says (or add `{MAILBOX_SCRIPT}` to outputs.templates for a script)"),
            sheet,
        ),
        (Flow::AppOnly, Some(script)) => (
            format!("Run the Exchange Online script in Exchange Online PowerShell before the helpdesk reads mail: until it has run the app reaches no mailbox, and then only {mailbox}"),
            Some(script),
        ),
        (Flow::AppOnly, None) => (
            format!("Add `{RBAC_SCRIPT}` to outputs.templates, render it and run it in Exchange Online PowerShell: until then the app reaches no mailbox"),
            None,
        ),
    };
    steps.push(exchange);
    steps.push((profile.enter_values.to_string(), None));
    steps.extend(profile.extra_steps.iter().map(|s| (s.to_string(), None)));
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (text, file))| NextStep {
            number: i + 1,
            text,
            file,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_with_pop_asks_for_pop_where_the_profile_lists_imap_only() {
        let znuny = Product::Znuny.profile();
        assert!(znuny
            .sign_in_scopes(IncomingProtocol::Pop)
            .contains("/POP.AccessAsUser.All"));
        assert!(!znuny.sign_in_scopes(IncomingProtocol::Pop).contains("IMAP"));
        assert!(znuny
            .delegated_for(IncomingProtocol::Pop)
            .contains(&"POP.AccessAsUser.All".to_string()));
        let pandora = Product::PandoraItsm.profile();
        assert_eq!(
            pandora.delegated_for(IncomingProtocol::Pop),
            pandora.delegated_for(IncomingProtocol::Imap)
        );
    }

    #[test]
    fn every_product_has_one_profile() {
        for product in [
            Product::PandoraItsm,
            Product::Glpi,
            Product::Zammad,
            Product::Itop,
            Product::Znuny,
            Product::Osticket,
            Product::RequestTracker,
        ] {
            assert_eq!(PROFILES.iter().filter(|p| p.product == product).count(), 1);
            assert_eq!(product.profile().product, product);
        }
    }

    #[test]
    fn pandora_registers_both_forms_under_its_public_url() {
        let uris = Product::PandoraItsm
            .profile()
            .redirect_uris("https://itsm.contoso.com/pandoraitsm/");
        assert_eq!(
            uris,
            [
                "https://itsm.contoso.com/pandoraitsm/godmode/godmode/setup/setup_mail",
                "https://itsm.contoso.com/pandoraitsm/index.php?sec=godmode&sec2=godmode/setup/setup_mail",
            ]
        );
    }

    #[test]
    fn znuny_names_its_script_alias_once() {
        let znuny = Product::Znuny.profile();
        assert_eq!(
            znuny.redirect_uris("https://desk.contoso.com"),
            ["https://desk.contoso.com/otrs/get-oauth2-token-by-authorization-code.pl"]
        );
        assert_eq!(
            znuny.redirect_uris("https://desk.contoso.com/otrs"),
            ["https://desk.contoso.com/otrs/get-oauth2-token-by-authorization-code.pl"]
        );
    }

    #[test]
    fn next_steps_name_only_rendered_files() {
        let profile = Product::PandoraItsm.profile();
        let all = [
            ("pandora-itsm".to_string(), "pandora-itsm.md".to_string()),
            (
                "exchange-online".to_string(),
                "exchange-online.ps1".to_string(),
            ),
        ];
        let steps = next_steps(profile, "help@contoso.com", IncomingProtocol::Imap, &all);
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].file.as_deref(), Some("pandora-itsm.md"));
        assert!(steps[1]
            .text
            .contains("turns on IMAP and SMTP AUTH for help@contoso.com"));
        assert!(steps[2].text.contains("Setup → Setup → Email setup"));
        assert!(steps[3].text.contains("dual authentication"));
        assert_eq!(steps[3].number, 4);
        // Without the script's own file, the step stays and points at the sheet.
        let without_script = next_steps(
            profile,
            "help@contoso.com",
            IncomingProtocol::Imap,
            &all[..1],
        );
        assert_eq!(without_script.len(), 4);
        assert_eq!(without_script[1].file.as_deref(), Some("pandora-itsm.md"));
        assert!(without_script[1]
            .text
            .contains("SMTP AUTH for help@contoso.com"));
    }
}
