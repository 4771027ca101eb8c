//! Helpdesk profiles through the CLI against the simulated tenant: a config with only `[app]`
//! and `[helpdesk]` gets the product's redirect URIs, permissions (with consent), sheets and
//! scripts; the config overrides each; plan checks the mailbox and warns what Graph cannot do.

use std::path::Path;

use entra_mail::sim::Faults;
use serde_json::Value;

use crate::common::provision::{tenant_with_swapped_roles, CliRun, Harness, TENANT};

/// A config with only `[app]` and `[helpdesk]`, and `extra` after them.
fn config(product: &str, public_url: &str, mailbox: &str, extra: &str) -> String {
    format!(
        r#"tenant_id = "{TENANT}"

[app]
unique_name = "pandora-itsm-mail"
display_name = "Helpdesk mail"
{extra}
[helpdesk]
product = "{product}"
public_url = "{public_url}"
mailbox = "{mailbox}"
"#
    )
}

/// What each product's profile gives: its redirect URIs under https://desk.contoso.com, its
/// Microsoft Graph delegated permissions, and the files it renders.
struct Expected {
    product: &'static str,
    redirect_uris: &'static [&'static str],
    delegated: &'static [&'static str],
    files: [&'static str; 3],
}

const PROFILES: &[Expected] = &[
    Expected {
        product: "pandora-itsm",
        redirect_uris: &[
            "https://desk.contoso.com/godmode/godmode/setup/setup_mail",
            "https://desk.contoso.com/index.php?sec=godmode&sec2=godmode/setup/setup_mail",
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
        files: [
            "pandora-itsm.md",
            "pandora-itsm.json",
            "exchange-online.ps1",
        ],
    },
    Expected {
        product: "glpi",
        redirect_uris: &[
            "https://desk.contoso.com/plugins/oauthimap/front/authorization.callback.php",
            "https://desk.contoso.com/marketplace/oauthimap/front/authorization.callback.php",
            "https://desk.contoso.com/front/smtp_oauth2_callback.php",
        ],
        delegated: &[
            "openid",
            "email",
            "offline_access",
            "IMAP.AccessAsUser.All",
            "SMTP.Send",
        ],
        files: ["glpi.md", "glpi.json", "exchange-online.ps1"],
    },
    Expected {
        product: "zammad",
        redirect_uris: &[
            "https://desk.contoso.com/api/v1/external_credentials/microsoft365/callback",
        ],
        delegated: &[
            "openid",
            "email",
            "profile",
            "offline_access",
            "IMAP.AccessAsUser.All",
            "SMTP.Send",
        ],
        files: ["zammad.md", "zammad.json", "exchange-online.ps1"],
    },
    Expected {
        product: "itop",
        redirect_uris: &["https://desk.contoso.com/pages/oauth.landing.php"],
        delegated: &["offline_access", "IMAP.AccessAsUser.All", "SMTP.Send"],
        files: ["itop.md", "itop.json", "exchange-online.ps1"],
    },
    Expected {
        product: "znuny",
        redirect_uris: &["https://desk.contoso.com/otrs/get-oauth2-token-by-authorization-code.pl"],
        delegated: &["offline_access", "IMAP.AccessAsUser.All", "SMTP.Send"],
        files: ["znuny.md", "znuny.json", "exchange-online.ps1"],
    },
    Expected {
        product: "osticket",
        redirect_uris: &["https://desk.contoso.com/api/auth/oauth2"],
        delegated: &[
            "offline_access",
            "User.Read",
            "IMAP.AccessAsUser.All",
            "POP.AccessAsUser.All",
            "SMTP.Send",
        ],
        files: ["osticket.md", "osticket.json", "exchange-online.ps1"],
    },
    Expected {
        product: "request-tracker",
        redirect_uris: &[],
        delegated: &[],
        files: [
            "request-tracker.md",
            "wsgetmail.json",
            "exchange-online-rbac.ps1",
        ],
    },
];

const MAILBOX: &str = "helpdesk@contoso.onmicrosoft.com";

/// A plan of changes: it exits 2.
fn plan(h: &Harness) -> CliRun {
    let run = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(run.code, 2, "{}", run.text());
    run
}

fn run(h: &Harness, args: &[&str]) -> CliRun {
    let run = h.run_cli(h.dir.path(), args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.text());
    run
}

/// The values of the permissions the app requests on `resource_app_id`, of `kind`.
fn requested(h: &Harness, kind: &str) -> Vec<String> {
    let snapshot = h.snapshot();
    let graph_sp = snapshot["servicePrincipals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["appId"] == entra_mail::well_known::MICROSOFT_GRAPH)
        .cloned()
        .unwrap();
    let published = if kind == "Scope" {
        &graph_sp["oauth2PermissionScopes"]
    } else {
        &graph_sp["appRoles"]
    };
    let name_of = |id: &Value| {
        published
            .as_array()
            .unwrap()
            .iter()
            .find(|p| &p["id"] == id)
            .map(|p| p["value"].as_str().unwrap().to_string())
            .unwrap()
    };
    h.app()["requiredResourceAccess"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["resourceAppId"] == entra_mail::well_known::MICROSOFT_GRAPH)
        .flat_map(|r| r["resourceAccess"].as_array().unwrap().clone())
        .filter(|a| a["type"] == kind)
        .map(|a| name_of(&a["id"]))
        .collect()
}

/// Our service principal's app role assignments.
fn our_assignments(h: &Harness) -> Vec<Value> {
    let sps = h.our_service_principals();
    let Some(sp) = sps.first() else {
        return Vec::new();
    };
    h.snapshot()["appRoleAssignments"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|a| a["principalId"] == sp["id"])
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// `text` with this run's ids, secret and dates replaced by stable names.
fn stable(h: &Harness, text: &str) -> String {
    let outputs = h.outputs().unwrap();
    let mut text = text.replace(&outputs.client_id, "[client-id]");
    text = text.replace(&outputs.application_object_id, "[application-object-id]");
    if let Some(sp) = &outputs.service_principal_id {
        text = text.replace(sp, "[service-principal-id]");
    }
    if let Some(secret) = &outputs.secret {
        text = text.replace(secret.value.expose(), "[secret]");
        text = text.replace(&secret.expires.date().to_string(), "[expires]");
        text = text.replace(&secret.key_id.to_string(), "[key-id]");
    }
    text.replace(entra_mail::USER_AGENT, "entra-mail/[version]")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_profile_validates_applies_and_renders_with_only_app_and_helpdesk() {
    for expected in PROFILES {
        let product = expected.product;
        let h = Harness::start(
            &config(product, "https://desk.contoso.com", MAILBOX, ""),
            Faults::default(),
        )
        .await;
        run(&h, &["validate"]);
        let applied = run(&h, &["apply", "--auto-approve"]);
        assert!(
            !applied.text().contains("does not resolve"),
            "{product}: the mailbox exists: {}",
            applied.text()
        );

        let app = h.app();
        assert_eq!(
            app["web"]["redirectUris"],
            serde_json::json!(expected.redirect_uris),
            "{product}"
        );
        let mut delegated = requested(&h, "Scope");
        let mut wanted: Vec<String> = expected.delegated.iter().map(|s| s.to_string()).collect();
        delegated.sort();
        wanted.sort();
        assert_eq!(
            delegated, wanted,
            "{product}: requested delegated permissions"
        );
        assert!(
            requested(&h, "Role").is_empty(),
            "{product}: no application permission"
        );
        assert!(
            our_assignments(&h).is_empty(),
            "{product}: no app role assignment"
        );
        let grants = h.our_grants();
        if expected.delegated.is_empty() {
            assert!(grants.is_empty(), "{product}: nothing to consent");
        } else {
            assert_eq!(grants.len(), 1, "{product}: one tenant-wide grant");
            assert_eq!(grants[0]["consentType"], "AllPrincipals");
            let mut scopes: Vec<String> = grants[0]["scope"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .map(String::from)
                .collect();
            scopes.sort();
            assert_eq!(scopes, wanted, "{product}: admin consent to each");
        }

        let out = h.dir.path().join("entra-mail-out/pandora-itsm-mail");
        for file in expected.files {
            let text = std::fs::read_to_string(out.join(file))
                .unwrap_or_else(|e| panic!("{product}: {file}: {e}"));
            if file.ends_with(".json") {
                let parsed: Result<Value, _> = serde_json::from_str(&text);
                assert!(parsed.is_ok(), "{product}: {file} is JSON: {text}");
            }
            insta::assert_snapshot!(format!("{product}__{file}"), stable(&h, &text));
        }
        // A second run changes nothing.
        let again = run(&h, &["plan"]);
        assert!(
            again.text().contains("No changes"),
            "{product}: {}",
            again.text()
        );
    }
}

/// `tenants/a.toml` and `tenants/b.toml`: `product`'s config for apps `a-mail` and `b-mail`
/// (so for outputs of their own) in the harness's tenant; the directory.
fn two_configs(h: &Harness, product: &str) -> std::path::PathBuf {
    let tenants = h.dir.path().join("tenants");
    std::fs::create_dir(&tenants).unwrap();
    for name in ["a", "b"] {
        let text = config(product, "https://desk.contoso.com", MAILBOX, "")
            .replace("pandora-itsm-mail", &format!("{name}-mail"));
        std::fs::write(tenants.join(format!("{name}.toml")), text).unwrap();
    }
    tenants
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join("entra-mail-out/pandora-itsm-mail").join(file)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pandora_sheet_names_dual_authentication_and_the_exchange_script() {
    let h = Harness::start(
        &config(
            "pandora-itsm",
            "https://desk.contoso.com/pandoraitsm",
            MAILBOX,
            "",
        ),
        Faults::default(),
    )
    .await;
    run(&h, &["apply", "--auto-approve"]);
    let sheet = read(h.dir.path(), "pandora-itsm.md");
    assert!(
        sheet.to_lowercase().contains("dual authentication"),
        "{sheet}"
    );
    assert!(sheet.contains("exchange-online.ps1"), "{sheet}");
    // It holds the script itself, the mailbox filled in.
    assert!(
        sheet.contains(&format!("$Mailbox = '{MAILBOX}'")),
        "{sheet}"
    );
    assert!(
        sheet
            .contains("Set-CASMailbox -Identity $Mailbox -SmtpClientAuthenticationDisabled $false"),
        "{sheet}"
    );
    let script = read(h.dir.path(), "exchange-online.ps1");
    assert!(script.contains(&format!("'{MAILBOX}'")), "{script}");
    assert!(script.contains("-ImapEnabled $true"), "{script}");
    assert!(
        script.contains("-SmtpClientAuthenticationDisabled $false"),
        "{script}"
    );
    assert!(script.contains("Get-TransportConfig"), "{script}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pop_turns_on_pop_in_the_exchange_script() {
    let extra = "";
    let h = Harness::start(
        &format!(
            "{}incoming = \"pop\"\n",
            config("znuny", "https://desk.contoso.com", MAILBOX, extra)
        ),
        Faults::default(),
    )
    .await;
    run(&h, &["apply", "--auto-approve"]);
    let mut delegated = requested(&h, "Scope");
    delegated.sort();
    assert_eq!(
        delegated,
        ["POP.AccessAsUser.All", "SMTP.Send", "offline_access"],
        "Znuny asks for POP instead of IMAP"
    );
    let script = read(h.dir.path(), "exchange-online.ps1");
    assert!(script.contains("-PopEnabled $true"), "{script}");
    assert!(!script.contains("-ImapEnabled $true"), "{script}");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_ends_with_the_next_steps_and_json_carries_them() {
    let h = Harness::start(
        &config("pandora-itsm", "https://desk.contoso.com", MAILBOX, ""),
        Faults::default(),
    )
    .await;
    // Paths as the CLI names them: relative, as the config was given.
    let out = Path::new("entra-mail-out/pandora-itsm-mail");
    let json = run(&h, &["--output", "json", "apply", "--auto-approve"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let steps = report["next_steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4, "{report:#}");
    assert_eq!(
        steps[0]["path"],
        out.join("pandora-itsm.md").display().to_string()
    );
    assert_eq!(
        steps[1]["path"],
        out.join("exchange-online.ps1").display().to_string()
    );
    assert!(steps[2]["text"]
        .as_str()
        .unwrap()
        .contains("Setup → Setup → Email setup"));
    assert!(steps[3]["text"]
        .as_str()
        .unwrap()
        .contains("dual authentication"));
    for step in steps.iter().filter(|s| !s["path"].is_null()) {
        assert!(
            h.dir.path().join(step["path"].as_str().unwrap()).is_file(),
            "{step}"
        );
    }
    assert!(
        !json.stderr.contains("Next steps"),
        "not prose with JSON: {}",
        json.stderr
    );

    // Text to a log (no terminal here): one line per step, with its path.
    let text = run(&h, &["apply", "--auto-approve"]);
    assert!(
        text.stdout.contains(&format!(
            "next step 1/4: Open the Pandora ITSM sheet: it holds the values to enter (and the client secret, when this machine holds it): {}\n",
            out.join("pandora-itsm.md").display()
        )),
        "{}",
        text.text()
    );
    assert!(
        text.stdout
            .contains("next step 4/4: Turn on Pandora ITSM's dual authentication"),
        "{}",
        text.text()
    );
    let sheet = read(h.dir.path(), "pandora-itsm.md");
    assert!(sheet.contains("## What to do next"), "{sheet}");
    assert!(
        sheet.contains("4. Turn on Pandora ITSM's dual authentication"),
        "{sheet}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_uris_given_by_hand_override_the_profile() {
    let h = Harness::start(
        &config(
            "glpi",
            "https://desk.contoso.com",
            MAILBOX,
            "redirect_uris = [\"https://glpi.contoso.com/custom/callback.php\"]\n",
        ),
        Faults::default(),
    )
    .await;
    let applied = run(&h, &["apply", "--auto-approve"]);
    assert_eq!(
        h.app()["web"]["redirectUris"],
        serde_json::json!(["https://glpi.contoso.com/custom/callback.php"])
    );
    assert!(
        applied
            .text()
            .contains("app.redirect_uris lists none of the redirect URIs GLPI signs in with"),
        "{}",
        applied.text()
    );
    let sheet = read(h.dir.path(), "glpi.md");
    assert!(
        sheet.contains("https://glpi.contoso.com/custom/callback.php"),
        "the sheet shows what is registered: {sheet}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn permissions_and_templates_given_by_hand_override_the_profile() {
    let extra = "";
    let config = format!(
        "{}\n[[permissions]]\nresource = \"Microsoft Graph\"\ndelegated = [\"IMAP.AccessAsUser.All\", \"offline_access\"]\nadmin_consent = true\n\n[outputs]\ntemplates = [\"zammad-json\"]\n",
        config("zammad", "https://desk.contoso.com", MAILBOX, extra)
    );
    let h = Harness::start(&config, Faults::default()).await;
    run(&h, &["apply", "--auto-approve"]);
    let mut delegated = requested(&h, "Scope");
    delegated.sort();
    assert_eq!(delegated, ["IMAP.AccessAsUser.All", "offline_access"]);
    let out = h.dir.path().join("entra-mail-out/pandora-itsm-mail");
    assert!(out.join("zammad.json").is_file());
    assert!(!out.join("zammad.md").exists());
    assert!(!out.join("exchange-online.ps1").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_warns_when_the_mailbox_does_not_resolve_to_a_mailbox() {
    let h = Harness::start(
        &config(
            "zammad",
            "https://desk.contoso.com",
            "nobody@contoso.com",
            "",
        ),
        Faults::default(),
    )
    .await;
    let planned = plan(&h);
    assert!(
        planned.text().contains("the mailbox `nobody@contoso.com` does not resolve in this tenant to a user or shared mailbox"),
        "{}",
        planned.text()
    );

    // An alias (a proxy address) of a user with a mailbox is that mailbox.
    h.rewrite_config(&config(
        "zammad",
        "https://desk.contoso.com",
        "helpdesk@contoso.com",
        "",
    ));
    let planned = plan(&h);
    assert!(!planned.text().contains("mailbox `"), "{}", planned.text());

    // A user without a mailbox is no mailbox.
    h.running.sim.with_tenant(TENANT, |tenant| {
        tenant.add_user("nomail", "No Mailbox");
        let user = tenant.user_mut("nomail").unwrap();
        user.data.insert("mail".into(), Value::Null);
        user.data
            .insert("proxyAddresses".into(), serde_json::json!([]));
    });
    h.rewrite_config(&config(
        "zammad",
        "https://desk.contoso.com",
        "nomail@contoso.onmicrosoft.com",
        "",
    ));
    let planned = plan(&h);
    assert!(
        planned
            .text()
            .contains("is the user nomail@contoso.onmicrosoft.com, who has no mailbox"),
        "{}",
        planned.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_user_read_permission_plan_says_it_could_not_check_the_mailbox() {
    let spec = tenant_with_swapped_roles(&[("User.Read.All", "")]);
    let h = Harness::start_with(
        &config("itop", "https://desk.contoso.com", MAILBOX, ""),
        Faults::default(),
        spec,
    )
    .await;
    let planned = plan(&h);
    assert!(
        planned.text().contains(&format!(
            "could not check that the mailbox `{MAILBOX}` exists: this sign-in may not read users; grant User.Read.All"
        )),
        "{}",
        planned.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn request_tracker_reaches_no_mailbox_until_the_rbac_script_has_run() {
    let h = Harness::start(
        &config("request-tracker", "https://rt.contoso.com", MAILBOX, ""),
        Faults::default(),
    )
    .await;
    let applied = run(&h, &["apply", "--auto-approve"]);
    assert!(
        applied.text().contains("the app reaches no mailbox"),
        "{}",
        applied.text()
    );
    assert!(our_assignments(&h).is_empty());
    let script = read(h.dir.path(), "exchange-online-rbac.ps1");
    let outputs = h.outputs().unwrap();
    assert!(script.contains(&outputs.client_id), "{script}");
    assert!(
        script.contains(outputs.service_principal_id.as_deref().unwrap()),
        "the script names the enterprise app's object id: {script}"
    );
    assert!(script.contains("New-ManagementScope"), "{script}");
    assert!(script.contains("Application Mail.ReadWrite"), "{script}");
    assert!(script.contains(MAILBOX), "{script}");
    let wsgetmail: Value = serde_json::from_str(&read(h.dir.path(), "wsgetmail.json")).unwrap();
    assert_eq!(wsgetmail["client_id"], outputs.client_id);
    assert_eq!(wsgetmail["tenant_id"], TENANT);
    assert_eq!(wsgetmail["username"], MAILBOX);
    assert_eq!(wsgetmail["folder"], "Inbox");
    assert_eq!(
        wsgetmail["secret"],
        outputs.secret.as_ref().unwrap().value.expose()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_consented_mail_permission_is_warned_to_reach_every_mailbox() {
    let config = format!(
        "{}\n[[permissions]]\nresource = \"Microsoft Graph\"\napplication = [\"Mail.ReadWrite\"]\nadmin_consent = true\n",
        config("request-tracker", "https://rt.contoso.com", MAILBOX, "")
    );
    let h = Harness::start(&config, Faults::default()).await;
    let applied = run(&h, &["apply", "--auto-approve"]);
    assert!(
        applied.text().contains("the app will hold Mail.ReadWrite with admin consent: it reaches every mailbox in the tenant"),
        "{}",
        applied.text()
    );
    assert_eq!(
        our_assignments(&h).len(),
        1,
        "the app role assignment is made as asked"
    );
}

#[test]
fn an_unknown_product_is_an_error_listing_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tenant.toml"),
        config("freshdesk", "https://desk.contoso.com", MAILBOX, ""),
    )
    .unwrap();
    let output = assert_cmd::Command::cargo_bin("entra-mail")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", "-f", "tenant.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("helpdesk.product"), "{stderr}");
    assert!(stderr.contains("freshdesk"), "{stderr}");
    for known in [
        "pandora-itsm",
        "glpi",
        "zammad",
        "itop",
        "znuny",
        "osticket",
        "request-tracker",
    ] {
        assert!(stderr.contains(&format!("`{known}`")), "{known}: {stderr}");
    }
}

#[test]
fn a_public_url_entra_would_refuse_redirect_uris_under_is_an_error_unless_they_are_given() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |config: String| {
        std::fs::write(dir.path().join("tenant.toml"), config).unwrap();
        assert_cmd::Command::cargo_bin("entra-mail")
            .unwrap()
            .current_dir(dir.path())
            .args(["validate", "-f", "tenant.toml"])
            .output()
            .unwrap()
    };
    let output = validate(config("zammad", "http://desk.contoso.com", MAILBOX, ""));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key: helpdesk.public_url"), "{stderr}");
    assert!(
        stderr.contains("`http://desk.contoso.com/api/v1/external_credentials/microsoft365/callback` must use https"),
        "{stderr}"
    );
    // Redirect URIs given by hand: nothing is derived from it. Request Tracker derives none.
    let given = "redirect_uris = [\"https://desk.contoso.com/callback\"]\n";
    assert!(
        validate(config("zammad", "http://desk.contoso.com", MAILBOX, given))
            .status
            .success()
    );
    assert!(validate(config(
        "request-tracker",
        "http://rt.contoso.com",
        MAILBOX,
        ""
    ))
    .status
    .success());
    // Entra allows http on localhost.
    assert!(
        validate(config("zammad", "http://localhost:8080", MAILBOX, ""))
            .status
            .success()
    );
}

/// Every example under examples/helpdesks validates, one per product.
#[test]
fn the_helpdesk_examples_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/helpdesks");
    let mut products = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let desired =
            entra_mail::config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        products.push(desired.helpdesk.unwrap().product);
    }
    products.sort_by_key(|p| format!("{p:?}"));
    products.dedup();
    assert_eq!(
        products.len(),
        6,
        "one example per product but Pandora ITSM's: {products:?}"
    );
}

/// `apply --sim` with each helpdesk example as a newcomer runs it: the embedded simulated
/// tenant, only `[app]` and `[helpdesk]`, and the profile's three files at the end.
#[test]
fn each_helpdesk_example_applies_with_the_embedded_simulated_tenant() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/helpdesks");
    for entry in std::fs::read_dir(&examples).unwrap() {
        let example = entry.unwrap().path();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&example, dir.path().join("tenant.toml")).unwrap();
        let output = assert_cmd::Command::cargo_bin("entra-mail")
            .unwrap()
            .current_dir(dir.path())
            .env("ENTRA_MAIL_SIM_DIR", dir.path().join("sim"))
            .env_remove("GITHUB_ACTIONS")
            .args(["apply", "--sim", "-f", "tenant.toml", "--auto-approve"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{}: {text}", example.display());
        let desired = entra_mail::config::load(&dir.path().join("tenant.toml")).unwrap();
        let profile = desired.helpdesk.as_ref().unwrap().profile();
        for template in profile.templates() {
            let file = entra_mail::config::templates::builtin(template)
                .unwrap()
                .output_file;
            assert!(
                desired.outputs.directory.join(file).is_file(),
                "{}: {file}: {text}",
                example.display()
            );
        }
        assert!(text.contains("next step 1/3: Open the"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_basic_profile_reader_finds_primary_addresses_and_says_aliases_went_unchecked() {
    let spec = tenant_with_swapped_roles(&[("User.Read.All", "User.ReadBasic.All")]);
    let h = Harness::start_with(
        &config("itop", "https://desk.contoso.com", MAILBOX, ""),
        Faults::default(),
        spec,
    )
    .await;
    let planned = plan(&h);
    assert!(!planned.text().contains(MAILBOX), "{}", planned.text());
    h.rewrite_config(&config(
        "itop",
        "https://desk.contoso.com",
        "helpdesk@contoso.com",
        "",
    ));
    let planned = plan(&h);
    assert!(
        planned.text().contains("no user or shared mailbox has `helpdesk@contoso.com` as its primary address or user name; whether it is an alias was not checked: that needs User.Read.All"),
        "{}",
        planned.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_only_helpdesk_is_told_to_use_the_user_name_not_an_alias() {
    let h = Harness::start(
        &config(
            "request-tracker",
            "https://rt.contoso.com",
            "helpdesk@contoso.com",
            "",
        ),
        Faults::default(),
    )
    .await;
    let planned = plan(&h);
    assert!(
        planned.text().contains(&format!(
            "`helpdesk@contoso.com` is an address of the mailbox whose user name is `{MAILBOX}`"
        )),
        "{}",
        planned.text()
    );
    // A helpdesk that signs in as a user may name the mailbox by an alias.
    h.rewrite_config(&config(
        "zammad",
        "https://desk.contoso.com",
        "helpdesk@contoso.com",
        "",
    ));
    assert!(!plan(&h).text().contains("alias"));
}

/// The older `[pandora_itsm]` section keeps working as it did: nothing derived, the two
/// templates it had, and `pandora.redirect_uri` the classic route in users' own templates.
#[tokio::test(flavor = "multi_thread")]
async fn the_older_pandora_section_keeps_its_defaults() {
    let legacy = format!(
        r#"tenant_id = "{TENANT}"

[app]
unique_name = "pandora-itsm-mail"
display_name = "Pandora ITSM mail"

[outputs]
templates = ["pandora-itsm", "pandora-itsm-json", "mine.txt.hbs"]

[pandora_itsm]
public_url = "https://itsm.contoso.com/pandoraitsm"
mailbox = "o'brien@contoso.com"
"#
    );
    let h = Harness::start(&legacy, Faults::default()).await;
    std::fs::write(
        h.dir.path().join("mine.txt.hbs"),
        "{{pandora.redirect_uri}}\n",
    )
    .unwrap();
    let applied = run(&h, &["apply", "--auto-approve"]);
    let app = h.app();
    assert_eq!(app["web"]["redirectUris"], serde_json::json!([]));
    assert_eq!(app["requiredResourceAccess"], serde_json::json!([]));
    assert!(h.our_grants().is_empty());
    assert!(
        applied.text().contains(
            "app.redirect_uris lists none of the redirect URIs Pandora ITSM signs in with"
        ),
        "{}",
        applied.text()
    );
    assert_eq!(
        read(h.dir.path(), "mine.txt"),
        "https://itsm.contoso.com/pandoraitsm/index.php?sec=godmode&sec2=godmode/setup/setup_mail\n"
    );
    assert!(!h
        .dir
        .path()
        .join("entra-mail-out/pandora-itsm-mail/exchange-online.ps1")
        .exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_permission_named_in_lower_case_is_judged_as_graph_holds_it() {
    let config = format!(
        "{}\n[[permissions]]\nresource = \"Microsoft Graph\"\napplication = [\"mail.readwrite\"]\nadmin_consent = true\n",
        config("request-tracker", "https://rt.contoso.com", MAILBOX, "")
    );
    let h = Harness::start(&config, Faults::default()).await;
    let planned = plan(&h);
    assert!(
        planned.text().contains(
            "the app will hold mail.readwrite with admin consent: it reaches every mailbox"
        ),
        "{}",
        planned.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_tenants_report_each_ones_next_steps() {
    let h = Harness::start(
        &config("glpi", "https://desk.contoso.com", MAILBOX, ""),
        Faults::default(),
    )
    .await;
    two_configs(&h, "glpi");
    let output = h
        .running
        .cli(h.dir.path())
        .args([
            "--output",
            "json",
            "apply",
            "-f",
            "tenants",
            "--auto-approve",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let outcomes = report["tenants"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    for outcome in outcomes {
        let steps = outcome["next_steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3, "{outcome:#}");
        assert!(
            steps[0]["path"].as_str().unwrap().ends_with("glpi.md"),
            "{outcome:#}"
        );
    }
    let text = h
        .running
        .cli(h.dir.path())
        .args(["apply", "-f", "tenants", "--auto-approve"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("a.toml: next step 1/3: Open the GLPI sheet"),
        "{stdout}"
    );
    assert!(
        stdout.contains("b.toml: next step 3/3: In GLPI"),
        "{stdout}"
    );
}

/// A bare older config renders the two files it always did, and its next steps still say to
/// do the Exchange Online part, from the sheet that holds the script.
#[tokio::test(flavor = "multi_thread")]
async fn a_bare_older_pandora_config_renders_its_two_files_and_keeps_the_exchange_step() {
    let legacy = format!(
        r#"tenant_id = "{TENANT}"

[app]
unique_name = "pandora-itsm-mail"
display_name = "Pandora ITSM mail"

[pandora_itsm]
public_url = "https://itsm.contoso.com/pandoraitsm"
mailbox = "{MAILBOX}"
"#
    );
    let h = Harness::start(&legacy, Faults::default()).await;
    let json = run(&h, &["--output", "json", "apply", "--auto-approve"]);
    let mut files: Vec<String> =
        std::fs::read_dir(h.dir.path().join("entra-mail-out/pandora-itsm-mail"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    files.sort();
    assert_eq!(
        files,
        ["outputs.json", "pandora-itsm.json", "pandora-itsm.md"]
    );
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let step = &report["next_steps"][1];
    assert!(
        step["text"].as_str().unwrap().contains("SMTP AUTH for"),
        "{report:#}"
    );
    assert!(
        step["path"].as_str().unwrap().ends_with("pandora-itsm.md"),
        "{report:#}"
    );
    let sheet = read(h.dir.path(), "pandora-itsm.md");
    assert!(
        sheet.contains("Set-CASMailbox -Identity $Mailbox"),
        "{sheet}"
    );
}

/// Request Tracker's queue reaches rt-mailgate as one argument, spaces and all, and an iTop
/// mailbox with a quote stays valid PHP in its sheet.
#[tokio::test(flavor = "multi_thread")]
async fn values_with_spaces_and_quotes_stay_one_value_in_what_is_rendered() {
    let h = Harness::start(
        &format!(
            "{}queue = \"Bob's IT Support\"\n",
            config("request-tracker", "https://rt.contoso.com", MAILBOX, "")
        ),
        Faults::default(),
    )
    .await;
    run(&h, &["apply", "--auto-approve"]);
    let wsgetmail: Value = serde_json::from_str(&read(h.dir.path(), "wsgetmail.json")).unwrap();
    assert_eq!(
        wsgetmail["command_args"],
        "--url=https://rt.contoso.com --queue=\"Bob's IT Support\" --action=correspond"
    );
    let sheet = read(h.dir.path(), "request-tracker.md");
    assert!(sheet.contains("--queue=\"Bob's IT Support\""), "{sheet}");

    h.rewrite_config(&config(
        "itop",
        "https://desk.contoso.com",
        "o'brien@contoso.com",
        "",
    ));
    run(&h, &["apply", "--auto-approve"]);
    let sheet = read(h.dir.path(), "itop.md");
    assert!(
        sheet.contains("'email_transport_smtp.username' => 'o\\'brien@contoso.com',"),
        "{sheet}"
    );
    let script = read(h.dir.path(), "exchange-online.ps1");
    assert!(
        script.contains("$Mailbox = 'o''brien@contoso.com'"),
        "{script}"
    );
}

/// A tenant that failed has no next steps in a multi-tenant report: nothing was set up there.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_tenant_reports_no_next_steps() {
    let h = Harness::start(
        &config("zammad", "https://desk.contoso.com", MAILBOX, ""),
        Faults::default(),
    )
    .await;
    let tenants = two_configs(&h, "zammad");
    // A tenant the simulator does not know: its sign-in fails.
    let unknown = std::fs::read_to_string(tenants.join("b.toml"))
        .unwrap()
        .replace(TENANT, "0f0f0f0f-0000-4000-8000-000000000001");
    std::fs::write(tenants.join("b.toml"), unknown).unwrap();
    let output = h
        .running
        .cli(h.dir.path())
        .args([
            "--output",
            "json",
            "apply",
            "-f",
            "tenants",
            "--auto-approve",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let outcomes = report["tenants"].as_array().unwrap();
    let by_config = |name: &str| {
        outcomes
            .iter()
            .find(|o| o["config"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    assert_eq!(by_config("a.toml")["result"], "changed", "{report:#}");
    assert!(by_config("a.toml")["next_steps"].is_array(), "{report:#}");
    assert_eq!(by_config("b.toml")["result"], "failed", "{report:#}");
    assert!(
        by_config("b.toml").get("next_steps").is_none(),
        "{report:#}"
    );
}

/// Tenants planned but whose apply failed have no next steps either.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_whose_apply_failed_reports_no_next_steps() {
    let faults = Faults {
        drop_answer_rate: 1.0,
        ..Faults::default()
    };
    let h = Harness::start(
        &config("zammad", "https://desk.contoso.com", MAILBOX, ""),
        faults,
    )
    .await;
    two_configs(&h, "zammad");
    let output = h
        .running
        .cli(h.dir.path())
        .args([
            "--output",
            "json",
            "apply",
            "--timeout",
            "3",
            "-f",
            "tenants",
            "--auto-approve",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for outcome in report["tenants"].as_array().unwrap() {
        assert_eq!(outcome["result"], "failed", "{report:#}");
        assert!(outcome.get("next_steps").is_none(), "{report:#}");
    }
}
