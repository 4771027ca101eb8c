//! Conditional Access "MFA Pilot" against the simulated tenant: create, idempotent re-runs,
//! drift repair with names beside ids, every guard refusal, pacing, staging, destroy.

use crate::common;

use common::provision::{Harness, CONFIG, TENANT};
use entra_mail::kind::{Action, PlanOptions};
use entra_mail::plan::report;
use entra_mail::sim::Faults;
use serde_json::{json, Value};
use time::OffsetDateTime;

const POLICY: &str = r#"
[conditional_access]
display_name = "MFA Pilot"
state = "enabled"
pilot_groups = ["MFA-Test-Group"]
emergency_access_users = ["breakglass1@contoso.onmicrosoft.com", "breakglass2@contoso.onmicrosoft.com"]
"#;

fn config(policy: &str) -> String {
    format!("{CONFIG}\n{policy}")
}

fn now() -> PlanOptions {
    PlanOptions::at(OffsetDateTime::now_utc())
}

fn policies(h: &Harness) -> Vec<Value> {
    h.snapshot()["conditionalAccessPolicies"]
        .as_array()
        .unwrap()
        .clone()
}

fn id_of(h: &Harness, collection: &str, key: &str, value: &str) -> String {
    h.snapshot()[collection]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o[key] == value)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_seed_policy_is_created_as_graph_json() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    let (plan, _) = h.try_apply_with(&now()).await.unwrap();
    assert!(plan
        .changes
        .iter()
        .any(|c| c.address == "conditional_access_policy.mfa-pilot" && c.action == Action::Create));

    let policies = policies(&h);
    assert_eq!(policies.len(), 1);
    let policy = &policies[0];
    assert_eq!(policy["displayName"], "MFA Pilot");
    assert_eq!(policy["state"], "enabled");
    assert_eq!(
        policy["conditions"]["applications"]["includeApplications"],
        json!(["797f4846-ba00-4fd7-ba43-dac1f8f63013"])
    );
    assert_eq!(
        policy["conditions"]["users"]["includeGroups"],
        json!([id_of(&h, "groups", "displayName", "MFA-Test-Group")])
    );
    assert_eq!(
        policy["conditions"]["users"]["excludeUsers"],
        json!([
            id_of(
                &h,
                "users",
                "userPrincipalName",
                "breakglass1@contoso.onmicrosoft.com"
            ),
            id_of(
                &h,
                "users",
                "userPrincipalName",
                "breakglass2@contoso.onmicrosoft.com"
            )
        ])
    );
    assert_eq!(policy["grantControls"]["operator"], "OR");
    assert_eq!(policy["grantControls"]["builtInControls"], json!(["mfa"]));
    assert_eq!(
        h.running.sim.counters().throttled,
        0,
        "Conditional Access calls are paced, never throttled"
    );
}

#[tokio::test]
async fn a_second_apply_writes_nothing_despite_graphs_echo() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.try_apply_with(&now()).await.unwrap();
    let writes = h.writes();
    let (plan, _) = h.try_apply_with(&now()).await.unwrap();
    assert!(
        !plan.has_changes(),
        "{:?}",
        plan.changes.iter().map(|c| &c.address).collect::<Vec<_>>()
    );
    assert_eq!(h.writes(), writes);
}

#[tokio::test]
async fn drift_shows_exactly_what_changed_with_names_and_is_repaired() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.try_apply_with(&now()).await.unwrap();
    // Behind our back: state flipped, the pilot group removed, the grant changed.
    h.running.sim.with_tenant(TENANT, |t| {
        let policy = &mut t.conditional_access_policies[0].data;
        policy["state"] = json!("disabled");
        policy["conditions"]["users"]["includeGroups"] = json!([]);
        policy["conditions"]["users"]["includeUsers"] = json!(["None"]);
        policy["grantControls"]["builtInControls"] = json!(["block"]);
    });

    let plan = h.try_plan_with(&now()).await.unwrap();
    assert_eq!(plan.changes.len(), 1);
    let change = &plan.changes[0];
    assert_eq!(change.action, Action::Update);
    let names: Vec<&str> = change.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "state",
            "conditions.users.includeGroups",
            "conditions.users.includeUsers",
            "grantControls.builtInControls"
        ]
    );
    let group_id = id_of(&h, "groups", "displayName", "MFA-Test-Group");
    assert_eq!(
        change.attributes[1].after,
        json!([format!("MFA-Test-Group ({group_id})")])
    );
    let text = report::text(&plan, report::Style { colour: false });
    insta::assert_snapshot!(
        "policy_drift_text",
        text.replace(&group_id, "[group-id]")
            .replace(&h.config_path.display().to_string(), "[config]")
    );
    let json = serde_json::to_string_pretty(&report::json(&plan)).unwrap();
    insta::assert_snapshot!(
        "policy_drift_json",
        json.replace(&group_id, "[group-id]")
            .replace(&h.config_path.display().to_string(), "[config]")
    );

    h.try_apply_with(&now()).await.unwrap();
    let policy = &policies(&h)[0];
    assert_eq!(policy["state"], "enabled");
    assert_eq!(policy["grantControls"]["builtInControls"], json!(["mfa"]));
    assert_eq!(
        policy["conditions"]["users"]["includeGroups"],
        json!([group_id])
    );
    assert!(!h.try_plan_with(&now()).await.unwrap().has_changes());
}

#[tokio::test]
async fn enabling_without_emergency_accounts_is_refused_with_a_way_out() {
    let policy = POLICY.replace("emergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\", \"breakglass2@contoso.onmicrosoft.com\"]\n", "");
    let h = Harness::start(&config(&policy), Faults::default()).await;
    let error = h.try_plan_with(&now()).await.unwrap_err().to_string();
    assert!(
        error.starts_with("refusing to enable `MFA Pilot` (conditional_access.state = \"enabled\"): emergency-access rule:"),
        "{error}"
    );
    assert!(error.contains("no emergency-access account is named"));
    assert!(error.contains("keep the policy report-only"));
    assert!(error.contains("--allow-lockout-risk"));
    assert_eq!(h.writes(), 0);

    // Report-only needs no break-glass exclusion; an explicit risk acceptance enables it.
    h.rewrite_config(&config(
        &policy.replace("state = \"enabled\"", "state = \"report-only\""),
    ));
    assert!(h.try_plan_with(&now()).await.is_ok());
    h.rewrite_config(&config(&policy));
    let options = PlanOptions {
        allow_lockout_risk: true,
        ..now()
    };
    assert!(h.try_plan_with(&options).await.is_ok());
}

#[tokio::test]
async fn a_policy_file_that_forgets_the_exclusion_is_refused() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    let file = h.dir.path().join("no-exclusion.json");
    std::fs::write(
        &file,
        r#"{"displayName": "${display_name}", "state": "${state}",
            "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["${target_apps}"]},
                           "users": {"includeGroups": ["${pilot_groups}"]}},
            "grantControls": {"operator": "${grant_operator}", "builtInControls": ["${grant_controls}"]}}"#,
    )
    .unwrap();
    h.rewrite_config(&config(&POLICY.replace(
        "state = \"enabled\"",
        "state = \"enabled\"\npolicy = \"no-exclusion.json\"",
    )));
    let error = h.try_plan_with(&now()).await.unwrap_err().to_string();
    assert!(error.starts_with("refusing to enable `MFA Pilot`: emergency-access rule: as it will stand, it does not exclude emergency-access account `breakglass1@contoso.onmicrosoft.com`"), "{error}");
}

#[tokio::test]
async fn unresolved_names_stop_everything_before_a_write() {
    let h = Harness::start(
        &config(&POLICY.replace("MFA-Test-Group", "MFA-Tset-Group")),
        Faults::default(),
    )
    .await;
    let error = h.try_plan_with(&now()).await.unwrap_err().to_string();
    assert_eq!(error, "group `MFA-Tset-Group` named by Conditional Access policy `MFA Pilot` does not exist in the tenant; nothing was written (a policy is never sent with a name left out)");
    h.rewrite_config(&config(&POLICY.replace("breakglass2@", "breakglass9@")));
    let error = h.try_plan_with(&now()).await.unwrap_err().to_string();
    assert!(error.starts_with("user `breakglass9@contoso.onmicrosoft.com` named by Conditional Access policy `MFA Pilot` does not exist"), "{error}");
    assert_eq!(h.writes(), 0);
}

#[tokio::test]
async fn an_empty_pilot_group_is_a_warning() {
    let h = Harness::start(
        &config(&POLICY.replace("MFA-Test-Group", "Helpdesk Agents")),
        Faults::default(),
    )
    .await;
    h.running.sim.with_tenant(TENANT, |t| {
        let group = t
            .groups
            .iter_mut()
            .find(|g| g.str("displayName") == Some("Helpdesk Agents"))
            .unwrap();
        group.hidden.members.clear();
    });
    let plan = h.try_plan_with(&now()).await.unwrap();
    assert!(
        plan.warnings.contains(
            &"pilot group `Helpdesk Agents` has no members: `MFA Pilot` applies to nobody yet"
                .to_string()
        ),
        "{:?}",
        plan.warnings
    );
}

/// A policy like ours, with our name, made by someone else.
fn plant_copy_of_our_policy(t: &mut entra_mail::sim::Tenant) {
    let mut copy = t.conditional_access_policies[0].clone();
    copy.data["id"] = json!("00000000-0000-0000-0000-00000000dead");
    t.conditional_access_policies.push(copy);
}

#[tokio::test]
async fn a_same_named_policy_beside_ours_is_left_alone_with_a_warning() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.try_apply_with(&now()).await.unwrap();
    h.running.sim.with_tenant(TENANT, |t| {
        plant_copy_of_our_policy(t);
    });
    let plan = h.try_plan_with(&now()).await.unwrap();
    assert!(!plan.has_changes(), "{:?}", plan.changes);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("00000000-0000-0000-0000-00000000dead")
                && w.contains("not recorded as entra-mail's; left alone")),
        "{:?}",
        plan.warnings
    );
}

#[tokio::test]
async fn two_unrecorded_policies_with_our_name_are_an_error_naming_both() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.try_apply_with(&now()).await.unwrap();
    h.running.sim.with_tenant(TENANT, |t| {
        plant_copy_of_our_policy(t);
        // The record forgets ours: both are strangers now.
        for app in &mut t.applications {
            app.data.insert("tags".into(), json!(["entra-mail:v1"]));
        }
    });
    let options = PlanOptions {
        adopt: true,
        ..now()
    };
    let error = h.try_plan_with(&options).await.unwrap_err().to_string();
    assert!(
        error.starts_with("2 Conditional Access policies are named `MFA Pilot` ("),
        "{error}"
    );
    assert!(error.contains("00000000-0000-0000-0000-00000000dead"));
}

#[tokio::test]
async fn security_defaults_are_a_clear_error() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.running
        .sim
        .with_tenant(TENANT, |t| t.security_defaults = true);
    let error = h.try_plan_with(&now()).await.unwrap_err().to_string();
    assert!(error.starts_with(&format!("security defaults are on in tenant {TENANT}, and Conditional Access policies cannot be used while they are; turn them off")), "{error}");
    assert_eq!(h.writes(), 0);
}

/// A tenant without Entra ID P1 whose admin app may (`readable`) or may not read its
/// subscriptions.
async fn without_p1(readable: bool) -> Harness {
    let spec = if readable {
        common::provision::tenant_with_swapped_roles(&[])
    } else {
        common::provision::tenant_with_swapped_roles(&[("LicenseAssignment.Read.All", "")])
    };
    let spec = entra_mail::sim::TenantSpec {
        p1_licence: false,
        ..spec
    };
    Harness::start_with(&config(POLICY), Faults::default(), spec).await
}

/// Every write the simulator logged (refused ones too), as `METHOD path`, with its body.
fn write_requests(h: &Harness) -> Vec<(String, Option<Value>)> {
    h.running
        .sim
        .request_log()
        .into_iter()
        .filter(|e| {
            !e.path.contains("oauth2/v2.0/")
                && matches!(e.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
        })
        .map(|e| (format!("{} {}", e.method, e.path), e.body))
        .collect()
}

// Multi-threaded: the simulator serves the CLI while the test waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn without_p1_plan_names_the_licence_and_apply_writes_nothing() {
    let h = without_p1(true).await;
    let plan = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.text());
    assert!(
        plan.stderr.contains(&format!("tenant {TENANT} has no Microsoft Entra ID P1 licence, which Conditional Access needs, so nothing was written: buy Microsoft Entra ID P1")),
        "{}",
        plan.text()
    );
    assert!(
        plan.stderr.contains("or remove [conditional_access] from"),
        "{}",
        plan.stderr
    );

    let apply = h.run_cli(h.dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.text());
    assert!(apply
        .stderr
        .contains("has no Microsoft Entra ID P1 licence"));
    assert_eq!(apply.writes, 0);
    assert_eq!(write_requests(&h), Vec::new(), "not even a refused write");
    assert!(policies(&h).is_empty());
}

// Multi-threaded: the simulator serves the CLI while the test waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn without_p1_and_unable_to_read_it_the_policy_is_written_right_after_the_app() {
    let h = without_p1(false).await;
    let plan = h.try_plan_with(&now()).await.unwrap();
    let warning = plan
        .warnings
        .iter()
        .find(|w| w.contains("could not check the tenant's Microsoft Entra ID P1 licence"))
        .unwrap_or_else(|| panic!("a licence warning: {:?}", plan.warnings));
    assert!(warning.contains("LicenseAssignment.Read.All"), "{warning}");
    let cli_plan = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(cli_plan.code, 2, "{}", cli_plan.text());
    assert!(
        cli_plan.text().contains("could not check the tenant's Microsoft Entra ID P1 licence: reading it needs LicenseAssignment.Read.All"),
        "{}",
        cli_plan.text()
    );

    let error = h.try_apply_with(&now()).await.unwrap_err();
    assert!(
        error.starts_with(
            "conditional_access_policy.mfa-pilot: Conditional Access needs a Microsoft Entra ID P1"
        ),
        "{error}"
    );
    // The policy POST is refused before anything but the app (which records the policy as
    // ours) is written: no identifier URI, service principal, secret or consent.
    let writes = write_requests(&h);
    let post = writes
        .iter()
        .position(|(w, _)| w == "POST identity/conditionalAccess/policies")
        .unwrap_or_else(|| panic!("a policy POST: {writes:?}"));
    for (write, body) in &writes[..post] {
        assert!(write.starts_with("PATCH applications"), "{writes:?}");
        let body = body.clone().unwrap_or_default();
        assert!(body.get("identifierUris").is_none(), "{write}: {body}");
    }
    assert_eq!(
        post,
        writes.len() - 1,
        "nothing after the refusal: {writes:?}"
    );
    assert!(h.our_service_principals().is_empty());
    assert!(h.our_secrets().is_empty());
    assert_eq!(h.app()["identifierUris"], json!([]));
    assert!(policies(&h).is_empty());
}

#[tokio::test]
async fn with_p1_the_licence_is_read_and_the_order_is_unchanged() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    let live = h.live().await;
    assert_eq!(
        live.conditional_access
            .as_ref()
            .map(|ca| ca.licence.clone()),
        Some(entra_mail::live::Licence::Present("SPB".into()))
    );
    let plan = h.try_plan_with(&now()).await.unwrap();
    assert!(
        !plan.warnings.iter().any(|w| w.contains("licence")),
        "{:?}",
        plan.warnings
    );
    let policy = "conditional_access_policy.mfa-pilot";
    for change in &plan.changes {
        assert!(
            !change.depends_on.iter().any(|d| d == policy),
            "{} waits for the policy only when the licence is unknown",
            change.address
        );
    }
    h.try_apply_with(&now()).await.unwrap();
    assert_eq!(policies(&h).len(), 1);
    assert_eq!(h.our_service_principals().len(), 1);
}

// Multi-threaded: the simulator serves the CLI while the test waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_says_whether_the_licence_is_present_missing_or_unreadable() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    let run = h.run_cli(h.dir.path(), &["doctor"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(
        run.stdout.contains("Entra ID P1 licence: present (SPB)"),
        "{}",
        run.stdout
    );

    let h = without_p1(true).await;
    let run = h.run_cli(h.dir.path(), &["doctor"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stdout.contains("Entra ID P1 licence: missing"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("Conditional Access needs Microsoft Entra ID P1: buy it"));
    assert!(run
        .stdout
        .contains("apply would stop before its first write"));
    let json = h.run_cli(h.dir.path(), &["doctor", "--output", "json"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["licence"], json!({"status": "missing"}));
    assert_eq!(report["entra_id_p1"], json!(false));

    let h = without_p1(false).await;
    let run = h.run_cli(h.dir.path(), &["doctor"]);
    assert!(
        run.stdout.contains(
            "Entra ID P1 licence: unreadable (reading it needs LicenseAssignment.Read.All"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("skipped  check the tenant's Entra ID P1 licence before anything is written (optional): grant the Microsoft Graph application permission LicenseAssignment.Read.All"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn staged_writes_report_only_first_then_the_configured_state() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    let options = PlanOptions {
        staged: true,
        ..now()
    };
    h.try_apply_with(&options).await.unwrap();
    assert_eq!(policies(&h)[0]["state"], "enabled");
    let ca_writes: Vec<(String, String)> = h
        .running
        .sim
        .request_log()
        .into_iter()
        .filter(|e| e.path.starts_with("identity/conditionalAccess") && e.wrote)
        .map(|e| (e.method, e.path))
        .collect();
    assert_eq!(
        ca_writes.len(),
        2,
        "POST report-only, then PATCH the state: {ca_writes:?}"
    );
    assert_eq!(ca_writes[0].0, "POST");
    assert_eq!(ca_writes[1].0, "PATCH");
}

#[tokio::test]
async fn pacing_keeps_conditional_access_under_one_request_per_second() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.try_apply_with(&PlanOptions {
        staged: true,
        ..now()
    })
    .await
    .unwrap();
    let starts: Vec<u64> = h
        .running
        .sim
        .request_log()
        .into_iter()
        .filter(|e| e.path.starts_with("identity/conditionalAccess"))
        .map(|e| e.started_us)
        .collect();
    assert!(
        starts.len() >= 4,
        "list, POST, read back, PATCH: {starts:?}"
    );
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= 1_000_000,
            "Conditional Access requests 1 s apart: {starts:?}"
        );
    }
    assert_eq!(h.running.sim.counters().throttled, 0);
}

#[tokio::test]
async fn destroy_removes_the_policy() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.try_apply_with(&now()).await.unwrap();
    let plan = h.destroy().await;
    assert!(plan
        .changes
        .iter()
        .any(|c| c.address == "conditional_access_policy.mfa-pilot" && c.action == Action::Delete));
    assert!(policies(&h).is_empty());
}

#[tokio::test]
async fn another_enforced_policy_reaching_break_glass_accounts_is_a_warning() {
    let h = Harness::start(&config(POLICY), Faults::default()).await;
    h.running.sim.with_tenant(TENANT, |t| {
        let other = entra_mail::sim::state::Obj::new(
            json!({
                "id": "00000000-0000-0000-0000-0000000000aa",
                "displayName": "Require MFA for admins",
                "state": "enabled",
                "conditions": {
                    "applications": {"includeApplications": ["All"]},
                    "users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeUsers": []}
                },
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
            })
            .as_object()
            .unwrap()
            .clone(),
        );
        t.conditional_access_policies.push(other);
    });
    let plan = h.try_plan_with(&now()).await.unwrap();
    for upn in ["breakglass1", "breakglass2"] {
        let expected = format!("emergency-access account `{upn}@contoso.onmicrosoft.com` is inside another enabled Conditional Access policy, `Require MFA for admins` (00000000-0000-0000-0000-0000000000aa), which requires multi-factor authentication");
        assert!(
            plan.warnings.iter().any(|w| w.starts_with(&expected)),
            "{expected} in {:#?}",
            plan.warnings
        );
    }

    // Excluded there by a group it is in, the account is out of that policy's reach.
    h.running.sim.with_tenant(TENANT, |t| {
        let breakglass: Vec<String> = t
            .users
            .iter()
            .filter(|u| {
                u.str("userPrincipalName")
                    .is_some_and(|n| n.starts_with("breakglass"))
            })
            .map(|u| u.id().to_string())
            .collect();
        let group = t.add_group("Emergency access", breakglass);
        let other = t.conditional_access_policies.last_mut().unwrap();
        other.data["conditions"]["users"]["excludeGroups"] = json!([group]);
    });
    let plan = h.try_plan_with(&now()).await.unwrap();
    assert!(
        !plan
            .warnings
            .iter()
            .any(|w| w.contains("inside another enabled")),
        "{:#?}",
        plan.warnings
    );
}

#[tokio::test]
async fn a_pilot_group_bigger_than_a_page_is_counted_whole() {
    let h = Harness::start(
        &config(&POLICY.replace("MFA-Test-Group", "All Staff")),
        Faults::default(),
    )
    .await;
    h.running.sim.with_tenant(TENANT, |t| {
        let staff: Vec<String> = (0..1200)
            .map(|i| t.add_user(&format!("staff{i}"), &format!("Staff {i}")))
            .collect();
        t.add_group("All Staff", staff);
    });
    let plan = h.try_plan_with(&now()).await.unwrap();
    let reach = plan.reach.expect("a policy has a reach");
    assert_eq!(reach.users, 1200);
    assert_eq!(reach.through_groups.len(), 1);
    assert_eq!(reach.through_groups[0].users, Some(1200));
    let member_pages = h
        .running
        .sim
        .request_log()
        .iter()
        .filter(|e| e.path.ends_with("/transitiveMembers"))
        .count();
    assert_eq!(member_pages, 2, "999 users a page");
}

#[tokio::test]
async fn what_graph_completes_in_a_stored_policy_is_no_drift() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    let builtin = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/mfa-pilot.json"),
    )
    .unwrap();
    let mut file: Value = serde_json::from_str(&builtin).unwrap();
    // A strength instead of the plain MFA control, and a sign-in frequency: Graph stores both
    // with more than was sent.
    file["grantControls"] = json!({"operator": "OR", "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}});
    file["sessionControls"] =
        json!({"signInFrequency": {"value": 8, "type": "hours", "isEnabled": true}});
    std::fs::write(h.dir.path().join("strength.json"), file.to_string()).unwrap();
    h.rewrite_config(&config(&POLICY.replace(
        "state = \"enabled\"",
        "state = \"enabled\"\npolicy = \"strength.json\"",
    )));
    h.try_apply_with(&now()).await.unwrap();
    let stored = &policies(&h)[0];
    assert_eq!(
        stored["grantControls"]["authenticationStrength"]["displayName"],
        "Multifactor authentication"
    );
    assert_eq!(
        stored["sessionControls"]["signInFrequency"]["frequencyInterval"],
        "timeBased"
    );
    let plan = h.try_plan_with(&now()).await.unwrap();
    assert!(
        !plan.has_changes(),
        "{:#?}",
        plan.changes
            .iter()
            .map(|c| &c.attributes)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_emergency_account_whose_sign_in_state_is_unreadable_is_an_error() {
    let h = Harness::start_with(
        &config(POLICY),
        Faults::default(),
        common::provision::tenant_with_swapped_roles(&[("User.Read.All", "User.ReadBasic.All")]),
    )
    .await;
    let error = h.try_plan_with(&now()).await.unwrap_err().to_string();
    assert!(
        error.starts_with("cannot tell whether emergency-access account `breakglass1@contoso.onmicrosoft.com` named by `MFA Pilot` may sign in"),
        "{error}"
    );
    assert_eq!(h.writes(), 0);
}
