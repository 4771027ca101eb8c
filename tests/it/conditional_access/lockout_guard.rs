//! The lockout guard judges the policy as it will stand in the tenant, through the built CLI
//! against the simulated tenant: a state hard-coded in the policy file, `All` in any case,
//! roles and guests, hand edits that a correction must undo, `--staged` on an enforced
//! policy, transitive membership and reach, disabled break-glass accounts, MFA readiness.

use crate::common;

use std::path::Path;

use common::provision::{tenant_with_swapped_roles, CliRun, Harness, CONFIG, TENANT};
use entra_mail::sim::{Faults, Tenant};
use serde_json::{json, Value};

const EMERGENCY: &str = "emergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\", \"breakglass2@contoso.onmicrosoft.com\"]\n";
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// A config with a `[conditional_access]` section made of `lines`.
fn config(lines: &str) -> String {
    format!("{CONFIG}\n[conditional_access]\n{lines}")
}

/// The shipped policy file with `edit` applied, written as `policy.json` beside the config.
fn policy_file(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/mfa-pilot.json"),
    )
    .unwrap();
    let mut policy: Value = serde_json::from_str(&text).unwrap();
    edit(&mut policy);
    std::fs::write(
        dir.join("policy.json"),
        serde_json::to_string_pretty(&policy).unwrap(),
    )
    .unwrap();
}

fn plan(h: &Harness) -> CliRun {
    h.run_cli(h.dir.path(), &["plan"])
}

fn apply(h: &Harness, extra: &[&str]) -> CliRun {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    h.run_cli(h.dir.path(), &args)
}

fn refused(run: &CliRun, says: &[&str]) {
    assert_eq!(run.code, 1, "{}", run.text());
    assert_eq!(run.writes, 0, "a refusal writes nothing: {}", run.text());
    for words in says {
        assert!(run.stderr.contains(words), "`{words}` in {}", run.stderr);
    }
}

fn our_policy(h: &Harness) -> Value {
    h.snapshot()["conditionalAccessPolicies"][0].clone()
}

fn user_id(t: &Tenant, upn: &str) -> String {
    t.users
        .iter()
        .find(|u| u.str("userPrincipalName") == Some(upn))
        .map(|u| u.id().to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_hard_coded_in_the_policy_file_is_judged_not_the_configs() {
    let h = Harness::start(
        &config("policy = \"policy.json\"\npilot_groups = [\"MFA-Test-Group\"]\n"),
        Faults::default(),
    )
    .await;
    policy_file(h.dir.path(), |p| p["state"] = json!("enabled"));
    for run in [plan(&h), apply(&h, &[])] {
        refused(
            &run,
            &[
                "emergency-access rule",
                "writes \"state\": \"enabled\"",
                "--allow-lockout-risk",
            ],
        );
    }
    let run = apply(&h, &["--allow-lockout-risk"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(our_policy(&h)["state"], "enabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_user_in_any_case_is_refused() {
    let h = Harness::start(&config(""), Faults::default()).await;
    for all in ["all", "ALL"] {
        h.rewrite_config(&config(&format!(
            "pilot_groups = [\"MFA-Test-Group\"]\npilot_users = [\"{all}\"]\n"
        )));
        refused(
            &plan(&h),
            &[
                &format!("\"{all}\" puts every user"),
                "allow_all_users = true",
            ],
        );
    }
    h.rewrite_config(&config(
        "policy = \"policy.json\"\npilot_groups = [\"MFA-Test-Group\"]\n",
    ));
    policy_file(h.dir.path(), |p| {
        p["conditions"]["users"]["includeUsers"] = json!(["ALL"]);
    });
    refused(
        &apply(&h, &[]),
        &["every-user rule", "allow_all_users = true"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_roles_and_guests_written_into_the_file_are_refused() {
    let h = Harness::start(
        &config("policy = \"policy.json\"\npilot_groups = [\"MFA-Test-Group\"]\n"),
        Faults::default(),
    )
    .await;
    policy_file(h.dir.path(), |p| {
        p["conditions"]["users"]["includeRoles"] = json!([GLOBAL_ADMINISTRATOR]);
    });
    refused(
        &apply(&h, &[]),
        &[
            "directory-role rule",
            &format!("Global Administrator ({GLOBAL_ADMINISTRATOR})"),
            "allow_all_users = true",
        ],
    );
    policy_file(h.dir.path(), |p| {
        p["conditions"]["users"]["includeGuestsOrExternalUsers"] = json!({
            "guestOrExternalUserTypes": "b2bCollaborationGuest",
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}
        });
    });
    refused(&apply(&h, &[]), &["guest rule", "allow_all_users = true"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hand_edits_to_the_live_policy_are_drift_and_are_undone() {
    let h = Harness::start(
        &config(&format!(
            "state = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\n{EMERGENCY}"
        )),
        Faults::default(),
    )
    .await;
    assert_eq!(apply(&h, &[]).code, 0);
    let written = our_policy(&h);
    h.running.sim.with_tenant(TENANT, |t| {
        let users = &mut t.conditional_access_policies[0].data["conditions"]["users"];
        users["includeRoles"] = json!([GLOBAL_ADMINISTRATOR]);
        users["excludeUsers"] = json!([]);
    });

    let drift = plan(&h);
    assert_eq!(drift.code, 2, "{}", drift.text());
    for shown in [
        "conditions.users.includeRoles",
        &format!("- \"Global Administrator ({GLOBAL_ADMINISTRATOR})\""),
        "conditions.users.excludeUsers",
        "+ \"breakglass1@contoso.onmicrosoft.com (",
    ] {
        assert!(
            drift.stdout.contains(shown),
            "`{shown}` in {}",
            drift.stdout
        );
    }

    let repair = apply(&h, &[]);
    assert_eq!(repair.code, 0, "{}", repair.text());
    let repaired = our_policy(&h);
    assert_eq!(
        repaired["conditions"]["users"], written["conditions"]["users"],
        "the live policy equals the file again"
    );
    let settled = plan(&h);
    assert_eq!(settled.code, 0, "{}", settled.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn staged_never_lowers_an_enforced_policy() {
    let enforced = format!("state = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\n{EMERGENCY}");
    let h = Harness::start(&config(&enforced), Faults::default()).await;
    assert_eq!(apply(&h, &["--staged"]).code, 0);
    let first_writes = h.running.sim.request_log().len();
    h.rewrite_config(&config(&format!(
        "{enforced}pilot_users = [\"carol@contoso.onmicrosoft.com\"]\n"
    )));

    let run = apply(&h, &["--staged"]);
    assert_eq!(run.code, 0, "{}", run.text());
    let policy_writes: Vec<Value> = h.running.sim.request_log()[first_writes..]
        .iter()
        .filter(|e| e.path.starts_with("identity/conditionalAccess") && e.wrote)
        .map(|e| e.body.clone().unwrap_or(Value::Null))
        .collect();
    assert!(!policy_writes.is_empty(), "the conditions changed");
    for body in &policy_writes {
        let state = body.get("state").and_then(Value::as_str);
        assert!(
            state.is_none() || state == Some("enabled"),
            "a write lowered the enforced policy: {body}"
        );
    }
    let policy = our_policy(&h);
    assert_eq!(policy["state"], "enabled");
    assert_eq!(
        policy["conditions"]["users"]["includeUsers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A group "Big Pilot" of 150 users: 100 direct (the admin among them), 50 through a nested
/// group, one emergency-access account among the direct ones.
fn plant_big_pilot(t: &mut Tenant) {
    let mut direct: Vec<String> = (0..98)
        .map(|i| t.add_user(&format!("pilot{i}"), &format!("Pilot {i}")))
        .collect();
    direct.push(user_id(t, "admin@contoso.onmicrosoft.com"));
    direct.push(user_id(t, "breakglass1@contoso.onmicrosoft.com"));
    let nested: Vec<String> = (0..50)
        .map(|i| t.add_user(&format!("nested{i}"), &format!("Nested {i}")))
        .collect();
    let nested_group = t.add_group("Big Pilot (nested)", nested);
    direct.push(nested_group);
    t.add_group("Big Pilot", direct);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_pilot_group_is_read_whole_and_you_are_found_in_it() {
    let h = Harness::start(
        &config(&format!("pilot_groups = [\"Big Pilot\"]\n{EMERGENCY}")),
        Faults::default(),
    )
    .await;
    h.running.sim.with_tenant(TENANT, plant_big_pilot);
    h.running
        .sim
        .auto_approve_device_codes(Some("admin@contoso.onmicrosoft.com"));
    let run = h.run_cli(h.dir.path(), &["plan", "--auth", "device-code"]);
    assert_eq!(run.code, 2, "{}", run.text());
    let text = run.text();
    assert!(
        text.contains("you (admin@contoso.onmicrosoft.com) are inside `MFA Pilot`'s users"),
        "{text}"
    );
    assert!(
        text.contains("`MFA Pilot` will reach 149 users: 150 through Big Pilot ("),
        "{text}"
    );
    assert!(text.contains("; 1 excluded"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_break_glass_account_is_an_error() {
    let h = Harness::start(
        &config(&format!("pilot_groups = [\"MFA-Test-Group\"]\n{EMERGENCY}")),
        Faults::default(),
    )
    .await;
    let set_enabled = |enabled: bool| {
        h.running.sim.with_tenant(TENANT, |t| {
            let user = t.user_mut("breakglass2@contoso.onmicrosoft.com").unwrap();
            user.data["accountEnabled"] = json!(enabled);
        })
    };
    let disabled = [
        "emergency-access account `breakglass2@contoso.onmicrosoft.com`",
        "is disabled",
    ];
    set_enabled(false);
    refused(&apply(&h, &[]), &disabled);

    // Disabled after the policy is in place: the policy as it stands is judged all the same,
    // though nothing would be written.
    set_enabled(true);
    assert_eq!(apply(&h, &[]).code, 0);
    set_enabled(false);
    refused(&plan(&h), &disabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_cannot_read_whether_break_glass_may_sign_in_is_stopped_first() {
    let h = Harness::start_with(
        &config(&format!("pilot_groups = [\"MFA-Test-Group\"]\n{EMERGENCY}")),
        Faults::default(),
        tenant_with_swapped_roles(&[("User.Read.All", "User.ReadBasic.All")]),
    )
    .await;
    refused(
        &plan(&h),
        &[
            "to check that emergency-access accounts may sign in",
            "User.Read.All",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pilot_members_without_mfa_are_listed_or_the_missing_permission_named() {
    let h = Harness::start(
        &config(&format!("pilot_groups = [\"MFA-Test-Group\"]\n{EMERGENCY}")),
        Faults::default(),
    )
    .await;
    let run = plan(&h);
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(
        run.stdout.contains("1 user `MFA Pilot` reaches has no multi-factor method registered: bob@contoso.onmicrosoft.com;"),
        "{}",
        run.stdout
    );

    let h = Harness::start_with(
        &config(&format!("pilot_groups = [\"MFA-Test-Group\"]\n{EMERGENCY}")),
        Faults::default(),
        tenant_with_swapped_roles(&[("AuditLog.Read.All", "")]),
    )
    .await;
    let run = plan(&h);
    assert_eq!(run.code, 2, "{}", run.text());
    assert!(
        run.stdout.contains("could not check whether the users `MFA Pilot` reaches have a multi-factor method registered: reading it needs AuditLog.Read.All"),
        "{}",
        run.stdout
    );
}
