//! Bad configs shared by the location tests and the CLI's bad-input corpus.

/// A valid config; each case breaks one thing in it.
pub const BASE: &str = r#"tenant_id = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10"

[app]
unique_name = "pandora-itsm-mail"
display_name = "Pandora ITSM mail"
redirect_uris = ["https://itsm.contoso.com/callback"]

[secret]
lifetime_days = 180
renew_before_days = 30

[[permissions]]
resource = "Microsoft Graph"
delegated = ["IMAP.AccessAsUser.All", "SMTP.Send"]

[api]
[[api.scopes]]
value = "mail.access"
admin_consent_display_name = "Access mail"
admin_consent_description = "Lets Pandora ITSM access mail."

[conditional_access]
state = "report-only"
pilot_groups = ["MFA-Test-Group"]
emergency_access_users = ["breakglass1@contoso.onmicrosoft.com"]

[pandora_itsm]
public_url = "https://itsm.contoso.com/pandoraitsm"
mailbox = "helpdesk@contoso.com"
"#;

/// (what is wrong, text to replace in BASE, replacement, the exact error).
pub const CASES: &[(&str, &str, &str, &str)] = &[
    ("unknown top-level key", "[app]\n", "colour = \"red\"\n[app]\n",
     "t.toml:3:1: `colour`: unknown field `colour`, expected one of `tenant_id`, `app`, `secret`, `permissions`, `api`, `conditional_access`, `groups`, `outputs`, `helpdesk`, `pandora_itsm`, `auth`"),
    ("unknown key in a section", "display_name = \"Pandora ITSM mail\"", "displayname = \"Pandora ITSM mail\"",
     "t.toml:5:1: `app.displayname`: unknown field `displayname`, expected one of `unique_name`, `display_name`, `sign_in_audience`, `redirect_uris`; did you mean `display_name`?"),
    ("unknown key in an array of tables", "delegated = [", "delegate = [",
     "t.toml:14:1: `permissions[0].delegate`: unknown field `delegate`, expected one of `resource`, `delegated`, `application`, `admin_consent`; did you mean `delegated`?"),
    ("missing required key", "display_name = \"Pandora ITSM mail\"\n", "",
     "t.toml:3:1: `app`: missing field `display_name`"),
    ("TOML syntax error", "unique_name = \"pandora-itsm-mail\"", "unique_name = \"pandora-itsm-mail",
     "t.toml:4:33: `app.unique_name`: invalid basic string, expected `\"`"),
    ("tenant id not a GUID", "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10", "contoso.onmicrosoft.com",
     "t.toml:1:13: `tenant_id`: `contoso.onmicrosoft.com` is not a GUID; expected the directory (tenant) ID like 72f988bf-86f1-41af-91ab-2d7cd011db47"),
    ("tenant id GUID with a bad digit", "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10", "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4aZ0",
     "t.toml:1:13: `tenant_id`: `b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4aZ0` is not a GUID; expected the directory (tenant) ID like 72f988bf-86f1-41af-91ab-2d7cd011db47"),
    ("unique name with a space", "\"pandora-itsm-mail\"", "\"pandora itsm\"",
     "t.toml:4:15: `app.unique_name`: `pandora itsm` is not a valid unique name; use 1 to 128 letters, digits, '.', '-' or '_', not only dots (it is the app's permanent key in the tenant)"),
    ("unique name of dots only", "\"pandora-itsm-mail\"", "\"..\"",
     "t.toml:4:15: `app.unique_name`: `..` is not a valid unique name; use 1 to 128 letters, digits, '.', '-' or '_', not only dots (it is the app's permanent key in the tenant)"),
    ("unknown sign-in audience", "[app]\n", "[app]\nsign_in_audience = \"SingleTenant\"\n",
     "t.toml:4:20: `app.sign_in_audience`: unknown variant `SingleTenant`, expected one of `AzureADMyOrg`, `AzureADMultipleOrgs`, `AzureADandPersonalMicrosoftAccount`, `PersonalMicrosoftAccount`"),
    ("redirect URI over plain http", "https://itsm.contoso.com/callback", "http://itsm.contoso.com/callback",
     "t.toml:6:18: `app.redirect_uris[0]`: `http://itsm.contoso.com/callback` must use https (http is allowed only for localhost, as Entra allows)"),
    ("relative redirect URI", "[\"https://itsm.contoso.com/callback\"]", "[\"https://itsm.contoso.com/callback\", \"/callback\"]",
     "t.toml:6:55: `app.redirect_uris[1]`: `/callback` is not an absolute URL (relative URL without a base)"),
    ("redirect URI with a fragment", "https://itsm.contoso.com/callback", "https://itsm.contoso.com/callback#x",
     "t.toml:6:18: `app.redirect_uris[0]`: `https://itsm.contoso.com/callback#x`: a redirect URI cannot contain a fragment (#)"),
    ("wrong type", "lifetime_days = 180", "lifetime_days = \"180\"",
     "t.toml:9:17: `secret.lifetime_days`: invalid type: string \"180\", expected i64"),
    ("lifetime out of range", "lifetime_days = 180", "lifetime_days = 1000",
     "t.toml:9:17: `secret.lifetime_days`: 1000 is out of range; allowed: 1 to 730"),
    ("renewal window not shorter than the lifetime", "renew_before_days = 30", "renew_before_days = 180",
     "t.toml:10:21: `secret.renew_before_days`: 180 is out of range; it must be at least 0 and less than lifetime_days (180)"),
    ("negative grace period", "renew_before_days = 30", "renew_before_days = 30\ngrace_period_days = -1",
     "t.toml:11:21: `secret.grace_period_days`: -1 is out of range; allowed: 0 to 90"),
    ("unknown resource name", "resource = \"Microsoft Graph\"", "resource = \"Graph\"",
     "t.toml:13:12: `permissions[0].resource`: unknown resource `Graph`; use its appId (a GUID) or one of \"Microsoft Graph\", \"Office 365 Exchange Online\", \"Windows Azure Service Management API\", \"Microsoft Azure Management\""),
    ("permission name with a space", "\"SMTP.Send\"]", "\"SMTP Send\"]",
     "t.toml:14:39: `permissions[0].delegated[1]`: `SMTP Send` is not a permission name; names have no spaces, like \"IMAP.AccessAsUser.All\""),
    ("permission listed twice", "\"SMTP.Send\"]", "\"imap.accessasuser.all\"]",
     "t.toml:14:39: `permissions[0].delegated[1]`: `imap.accessasuser.all` is listed twice"),
    ("resource without permissions", "delegated = [\"IMAP.AccessAsUser.All\", \"SMTP.Send\"]\n", "",
     "t.toml:12:1: `permissions[0]`: a resource needs at least one `delegated` or `application` permission"),
    ("scope value with a space", "value = \"mail.access\"", "value = \"mail access\"",
     "t.toml:18:9: `api.scopes[0].value`: `mail access` contains a space; scope values cannot"),
    ("scope value too long", "value = \"mail.access\"", "value = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
     "t.toml:18:9: `api.scopes[0].value`: `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` must be 1 to 120 characters long"),
    ("user consent without its texts", "admin_consent_description = \"Lets Pandora ITSM access mail.\"", "admin_consent_description = \"Lets Pandora ITSM access mail.\"\nconsent = \"admins_and_users\"\nuser_consent_description = \"Access your mail\"",
     "t.toml:17:1: `api.scopes[0].user_consent_display_name`: `user_consent_display_name` is required when consent = \"admins_and_users\" (users see it on the consent screen)"),
    ("identifier URI with an unknown placeholder", "[api]\n", "[api]\nidentifier_uri = \"api://{clientId}\"\n",
     "t.toml:17:18: `api.identifier_uri`: unknown placeholder `{clientId}` in `api://{clientId}`; known: {appId}, {tenantId}"),
    ("identifier URI with a bad scheme", "[api]\n", "[api]\nidentifier_uri = \"ftp://contoso.com/mail\"\n",
     "t.toml:17:18: `api.identifier_uri`: `ftp://contoso.com/mail` must start with api://, https://, urn: or ms-appx:// (default: \"api://{appId}\")"),
    ("unknown policy state", "state = \"report-only\"", "state = \"on\"",
     "t.toml:23:9: `conditional_access.state`: unknown variant `on`, expected one of `enabled`, `report-only`, `disabled`"),
    ("emergency account that is not a UPN", "\"breakglass1@contoso.onmicrosoft.com\"", "\"breakglass1\"",
     "t.toml:25:27: `conditional_access.emergency_access_users[0]`: `breakglass1` is not a user principal name; expected name@domain, like breakglass1@contoso.onmicrosoft.com"),
    ("policy without users", "pilot_groups = [\"MFA-Test-Group\"]\n", "",
     "t.toml:22:2: `conditional_access.pilot_groups`: a policy must name who it applies to: set `pilot_groups` or `pilot_users`"),
    ("all users without saying so", "pilot_groups = [\"MFA-Test-Group\"]", "pilot_groups = [\"MFA-Test-Group\"]\npilot_users = [\"All\"]",
     "t.toml:25:16: `conditional_access.pilot_users[0]`: \"All\" puts every user, admins included, under this policy; set `allow_all_users = true` to mean it"),
    ("all users in lower case", "pilot_groups = [\"MFA-Test-Group\"]", "pilot_groups = [\"MFA-Test-Group\"]\npilot_users = [\"all\"]",
     "t.toml:25:16: `conditional_access.pilot_users[0]`: \"all\" puts every user, admins included, under this policy; set `allow_all_users = true` to mean it"),
    ("guests without saying so", "pilot_groups = [\"MFA-Test-Group\"]", "pilot_groups = [\"MFA-Test-Group\"]\npilot_users = [\"GuestsOrExternalUsers\"]",
     "t.toml:25:16: `conditional_access.pilot_users[0]`: \"GuestsOrExternalUsers\" puts every guest and external user under this policy; set `allow_all_users = true` to mean it"),
    ("unknown target app", "state = \"report-only\"", "state = \"report-only\"\ntarget_apps = [\"Azure Portal\"]",
     "t.toml:24:16: `conditional_access.target_apps[0]`: unknown app `Azure Portal`; use an appId (a GUID), a known name such as \"Windows Azure Service Management API\", or one of All, Office365, MicrosoftAdminPortals"),
    ("unknown grant control", "state = \"report-only\"", "state = \"report-only\"\ngrant_controls = [\"MFA\"]",
     "t.toml:24:19: `conditional_access.grant_controls[0]`: unknown variant `MFA`, expected one of `block`, `mfa`, `compliantDevice`, `domainJoinedDevice`, `approvedApplication`, `compliantApplication`, `passwordChange`"),
    ("missing policy file", "state = \"report-only\"", "state = \"report-only\"\npolicy = \"policies/nope.json\"",
     "t.toml:24:10: `conditional_access.policy`: cannot read policy file policies/nope.json: No such file or directory (os error 2)"),
    ("policy file that is a device", "state = \"report-only\"", "state = \"report-only\"\npolicy = \"/dev/zero\"",
     "t.toml:24:10: `conditional_access.policy`: policy file /dev/zero is not a regular file but a character device"),
    ("policy file that is a directory", "state = \"report-only\"", "state = \"report-only\"\npolicy = \"/\"",
     "t.toml:24:10: `conditional_access.policy`: policy file / is not a regular file but a directory"),
    ("Pandora URL that is not http(s)", "\"https://itsm.contoso.com/pandoraitsm\"", "\"itsm.contoso.com\"",
     "t.toml:28:14: `pandora_itsm.public_url`: `itsm.contoso.com` is not an http(s) URL; give Pandora ITSM's public address, like https://helpdesk.contoso.com"),
    ("port out of range", "mailbox = \"helpdesk@contoso.com\"", "mailbox = \"helpdesk@contoso.com\"\nsmtp_port = 70000",
     "t.toml:30:13: `pandora_itsm.smtp_port`: invalid value: integer `70000`, expected u16"),
    ("two templates render to one file", "[pandora_itsm]", "[outputs]\ntemplates = [\"pandora-itsm\", \"pandora-itsm\"]\n\n[pandora_itsm]",
     "t.toml:28:30: `outputs.templates[1]`: `pandora-itsm` would render to `pandora-itsm.md`, as `pandora-itsm` does; each template needs its own output file"),
    ("unknown template", "[pandora_itsm]", "[outputs]\ntemplates = [\"pandora\"]\n\n[pandora_itsm]",
     "t.toml:28:14: `outputs.templates[0]`: unknown template `pandora`; use a built-in one (pandora-itsm, pandora-itsm-json, glpi, glpi-json, zammad, zammad-json, itop, itop-json, znuny, znuny-json, osticket, osticket-json, request-tracker, wsgetmail, exchange-online, exchange-online-rbac) or a path ending in .hbs"),
    ("unknown helpdesk product", "[pandora_itsm]", "[helpdesk]\nproduct = \"freshdesk\"",
     "t.toml:28:11: `helpdesk.product`: unknown variant `freshdesk`, expected one of `pandora-itsm`, `glpi`, `zammad`, `itop`, `znuny`, `osticket`, `request-tracker`"),
    ("both helpdesk sections", "[pandora_itsm]", "[helpdesk]\npublic_url = \"https://desk.contoso.com\"\nmailbox = \"a@contoso.com\"\n\n[pandora_itsm]",
     "t.toml:31:1: `pandora_itsm`: give [helpdesk] or [pandora_itsm] (its older name, for Pandora ITSM), not both"),
    ("a Request Tracker key for another product", "[pandora_itsm]", "[helpdesk]\nfolder = \"Inbox\"",
     "t.toml:28:10: `helpdesk.folder`: only product = \"request-tracker\" reads `folder`; Pandora ITSM does not"),
    ("POP for a helpdesk that reads IMAP only", "[pandora_itsm]", "[helpdesk]\nproduct = \"glpi\"\nincoming = \"pop\"",
     "t.toml:29:12: `helpdesk.incoming`: GLPI reads mail over IMAP only; use incoming = \"imap\""),
    ("mailbox with a look-alike quote", "mailbox = \"helpdesk@contoso.com\"", "mailbox = \"o\u{2019}brien@contoso.com\"",
     "t.toml:29:11: `pandora_itsm.mailbox`: `o\u{2019}brien@contoso.com` holds a character the sheets and the Exchange Online script cannot hold safely (non-ASCII, a double quote, `$`, a backquote, a backslash or `|`); use an address of the mailbox without them (an alias)"),
    ("display name with a line break", "display_name = \"Pandora ITSM mail\"", "display_name = \"Pandora\\nITSM\"",
     "t.toml:5:16: `app.display_name`: a display name cannot hold a line break or other control character"),
    ("sheet of another helpdesk", "[pandora_itsm]", "[outputs]\ntemplates = [\"glpi\"]\n\n[pandora_itsm]",
     "t.toml:28:14: `outputs.templates[0]`: the built-in template `glpi` is GLPI's sheet, and this config's helpdesk is Pandora ITSM; use `pandora-itsm`"),
    ("script for the other way of signing in", "[pandora_itsm]", "[outputs]\ntemplates = [\"exchange-online-rbac\"]\n\n[pandora_itsm]",
     "t.toml:28:14: `outputs.templates[0]`: the built-in template `exchange-online-rbac` is for helpdesks that sign in as the app alone; Pandora ITSM signs in as a user, so use `exchange-online`"),
    ("public URL with a query", "[pandora_itsm]\npublic_url = \"https://itsm.contoso.com/pandoraitsm\"", "[helpdesk]\npublic_url = \"https://itsm.contoso.com/pandoraitsm?x=1\"",
     "t.toml:28:14: `helpdesk.public_url`: `https://itsm.contoso.com/pandoraitsm?x=1` has a query or fragment; give Pandora ITSM's base address, which its paths are added to"),
    ("key vault over plain http", "renew_before_days = 30\n", "renew_before_days = 30\nkey_vault = \"http://contoso-itsm.vault.azure.net\"\n",
     "t.toml:11:13: `secret.key_vault`: `http://contoso-itsm.vault.azure.net` must use https"),
    ("key vault name too short", "renew_before_days = 30\n", "renew_before_days = 30\nkey_vault = \"kv\"\n",
     "t.toml:11:13: `secret.key_vault`: `kv` is neither a vault URL (https://NAME.vault.azure.net) nor a vault name (3 to 24 letters, digits and single hyphens, starting with a letter)"),
    ("key vault URL with a path", "renew_before_days = 30\n", "renew_before_days = 30\nkey_vault = \"https://contoso-itsm.vault.azure.net/secrets/x\"\n",
     "t.toml:11:13: `secret.key_vault`: `https://contoso-itsm.vault.azure.net/secrets/x` is not a Key Vault URL: it looks like https://NAME.vault.azure.net (or a national cloud's vault domain), with no path"),
    ("key vault URL of no vault domain", "renew_before_days = 30\n", "renew_before_days = 30\nkey_vault = \"https://contoso.example.com\"\n",
     "t.toml:11:13: `secret.key_vault`: `https://contoso.example.com` is not a Key Vault URL: it looks like https://NAME.vault.azure.net (or a national cloud's vault domain), with no path"),
    ("key vault secret name with an underscore", "renew_before_days = 30\n", "renew_before_days = 30\nkey_vault = \"contoso-itsm\"\nkey_vault_secret = \"pandora_itsm\"\n",
     "t.toml:12:20: `secret.key_vault_secret`: `pandora_itsm` is not a Key Vault secret name: 1 to 127 letters, digits and hyphens"),
    ("key vault secret without a vault", "renew_before_days = 30\n", "renew_before_days = 30\nkey_vault_secret = \"pandora-itsm\"\n",
     "t.toml:11:20: `secret.key_vault_secret`: names a secret in no vault: set secret.key_vault too"),
    ("secret kept out of the outputs with no vault", "[pandora_itsm]", "[outputs]\nsecret_in_outputs = false\n\n[pandora_itsm]",
     "t.toml:28:21: `outputs.secret_in_outputs`: false would deliver a new secret to no one: set secret.key_vault, where its value then lives"),
];
