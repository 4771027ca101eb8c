//! Groups as a managed kind (`[[groups]]`), through the CLI against the simulated tenant: made
//! by upsert on `uniqueName` and recorded as ours, members kept exact, named by the pilot
//! policy before they exist, a hand-made group of that name left alone unless `--adopt`, an
//! unknown member refused before any write, and destroy removing only what we made.

use crate::common;

use common::provision::{Harness, CONFIG, TENANT};
use entra_mail::graph::Request;
use entra_mail::sim::Faults;
use serde_json::Value;

const GROUP: &str = r#"
[[groups]]
unique_name = "mfa-pilot-wave-1"
display_name = "MFA-Pilot-Wave-1"
members = ["alice@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com"]

[conditional_access]
display_name = "MFA Pilot"
state = "enabled"
pilot_groups = ["MFA-Pilot-Wave-1"]
emergency_access_users = ["breakglass1@contoso.onmicrosoft.com", "breakglass2@contoso.onmicrosoft.com"]
"#;

fn config(extra: &str) -> String {
    format!("{CONFIG}\n{extra}")
}

fn cli(h: &Harness, args: &[&str]) -> common::provision::CliRun {
    tokio::task::block_in_place(|| h.run_cli(h.dir.path(), args))
}

/// The group carrying `unique_name`, as Graph gives it.
async fn group(h: &Harness, unique_name: &str) -> Option<Value> {
    h.client
        .send_optional::<Value>(&Request::get(format!("groups(uniqueName='{unique_name}')")))
        .await
        .unwrap()
}

/// The user principal names of a group's members, sorted.
async fn members(h: &Harness, id: &str) -> Vec<String> {
    let found: Vec<Value> = h
        .client
        .list(Request::get(format!("groups/{id}/members")).query("$select", "id,userPrincipalName"))
        .await
        .unwrap();
    let mut names: Vec<String> = found
        .iter()
        .map(|m| {
            m["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

fn tags(h: &Harness) -> Vec<String> {
    serde_json::from_value(h.app()["tags"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_is_made_recorded_named_by_the_policy_and_its_members_kept_exact() {
    let h = Harness::start(&config(GROUP), Faults::default()).await;
    let plan = cli(&h, &["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(
        plan.stdout.contains("+ group.mfa-pilot-wave-1"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+ group_member.mfa-pilot-wave-1.alice@contoso.onmicrosoft.com"),
        "{}",
        plan.stdout
    );

    let apply = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    let made = group(&h, "mfa-pilot-wave-1")
        .await
        .expect("the group exists");
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["displayName"], "MFA-Pilot-Wave-1");
    assert_eq!(
        members(&h, &id).await,
        [
            "alice@contoso.onmicrosoft.com",
            "bob@contoso.onmicrosoft.com"
        ]
    );
    assert!(
        tags(&h).contains(&format!(
            "entra-mail:made:group:{}",
            id.to_ascii_lowercase()
        )),
        "recorded as made by entra-mail: {:?}",
        tags(&h)
    );
    let policies = h.snapshot()["conditionalAccessPolicies"].clone();
    let included = &policies[0]["conditions"]["users"]["includeGroups"];
    assert_eq!(
        included,
        &serde_json::json!([id]),
        "the policy names the new group by id"
    );

    let again = cli(&h, &["plan"]);
    assert_eq!(again.code, 0, "{}", again.text());

    // Members follow the config: carol in, bob out.
    h.rewrite_config(&config(&GROUP.replace("bob@", "carol@")));
    let plan = cli(&h, &["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(
        plan.stdout
            .contains("+ group_member.mfa-pilot-wave-1.carol@contoso.onmicrosoft.com"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("- group_member.mfa-pilot-wave-1.bob@contoso.onmicrosoft.com"),
        "{}",
        plan.stdout
    );
    let apply = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert_eq!(
        members(&h, &id).await,
        [
            "alice@contoso.onmicrosoft.com",
            "carol@contoso.onmicrosoft.com"
        ]
    );

    // Destroy removes the group entra-mail made, after the policy that names it.
    let destroy = cli(&h, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.text());
    assert!(
        destroy.stdout.contains("- group.mfa-pilot-wave-1"),
        "{}",
        destroy.stdout
    );
    assert!(
        group(&h, "mfa-pilot-wave-1").await.is_none(),
        "the group is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_group_of_that_name_is_left_alone_unless_adopted_and_never_destroyed() {
    // The seed's MFA-Test-Group was made by hand: it carries no uniqueName.
    let adopted = r#"
[[groups]]
unique_name = "mfa-test-group"
display_name = "MFA-Test-Group"
members = ["alice@contoso.onmicrosoft.com"]
"#;
    let h = Harness::start(&config(adopted), Faults::default()).await;
    let refused = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(
        refused.stderr.contains("not entra-mail's"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--adopt"), "{}", refused.stderr);
    assert_eq!(refused.writes, 0, "nothing is written");

    let apply = cli(&h, &["apply", "--auto-approve", "--adopt"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    let taken = group(&h, "mfa-test-group")
        .await
        .expect("the group carries our key now");
    let id = taken["id"].as_str().unwrap().to_string();
    assert_eq!(members(&h, &id).await, ["alice@contoso.onmicrosoft.com"]);
    assert!(
        !tags(&h)
            .iter()
            .any(|t| t.starts_with("entra-mail:made:group:")),
        "adopted is not made"
    );

    let destroy = cli(&h, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.text());
    assert!(destroy.stdout.contains("left alone"), "{}", destroy.stdout);
    assert!(
        group(&h, "mfa-test-group").await.is_some(),
        "a group we did not make stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_does_not_resolve_is_refused_before_any_write() {
    let h = Harness::start(
        &config(&GROUP.replace("bob@contoso", "nobody@contoso")),
        Faults::default(),
    )
    .await;
    let run = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains(
            "member `nobody@contoso.onmicrosoft.com` of group `MFA-Pilot-Wave-1` does not exist"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.writes, 0);
    let _ = TENANT;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_groups_section_says_what_and_where() {
    let h = Harness::start(
        &config(
            r#"
[[groups]]
unique_name = "two words"
display_name = "X"
members = ["alice", "bob@contoso.onmicrosoft.com", "BOB@contoso.onmicrosoft.com"]

[[groups]]
unique_name = "second"
display_name = "x"
"#,
        ),
        Faults::default(),
    )
    .await;
    let run = cli(&h, &["validate"]);
    assert_eq!(run.code, 1, "{}", run.text());
    for expected in [
        "groups[0].unique_name",
        "`two words` is not a valid unique name",
        "groups[0].members[0]",
        "`alice` is not a user principal name",
        "groups[0].members[2]",
        "is listed twice",
        "groups[1].display_name",
        "two groups are named `x`",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected:?} in {}",
            run.stderr
        );
    }
}

/// Entra replicates a new group, and its members, seconds after the writes: apply waits for
/// the group before adding members, and once replication has caught up the tenant matches.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_group_converges_under_replication_lag() {
    let faults = Faults {
        replication_lag: std::time::Duration::from_secs(2),
        ..Faults::default()
    };
    let h = Harness::start(&config(GROUP), faults).await;
    let apply = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let made = group(&h, "mfa-pilot-wave-1")
        .await
        .expect("the group exists");
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        members(&h, id).await,
        [
            "alice@contoso.onmicrosoft.com",
            "bob@contoso.onmicrosoft.com"
        ]
    );
    let again = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.text());
    assert_eq!(again.writes, 0, "converged: {}", again.text());
}

/// With the licence unreadable, every write but the app's waits for the policy's; the group
/// the policy names must still come before the policy, or the plan could never run.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_licence_still_lets_a_new_pilot_group_go_first() {
    let spec = common::provision::tenant_with_swapped_roles(&[("LicenseAssignment.Read.All", "")]);
    let h = Harness::start_with(&config(GROUP), Faults::default(), spec).await;
    let apply = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert!(
        apply
            .text()
            .contains("could not check the tenant's Microsoft Entra ID P1 licence"),
        "{}",
        apply.text()
    );
    let made = group(&h, "mfa-pilot-wave-1")
        .await
        .expect("the group exists");
    let policies = h.snapshot()["conditionalAccessPolicies"].clone();
    assert_eq!(
        policies[0]["conditions"]["users"]["includeGroups"],
        serde_json::json!([made["id"]])
    );
}

/// The lockout guard judges an emergency-access group by the members it will have: a plan
/// that empties it under an enforced policy is refused before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn emptying_the_emergency_access_group_is_refused_before_any_write() {
    let managed = r#"
[[groups]]
unique_name = "break-glass"
display_name = "Break-Glass"
members = ["breakglass1@contoso.onmicrosoft.com"]

[conditional_access]
display_name = "MFA Pilot"
state = "enabled"
pilot_groups = ["MFA-Test-Group"]
emergency_access_groups = ["Break-Glass"]
"#;
    let h = Harness::start(&config(managed), Faults::default()).await;
    let apply = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());

    h.rewrite_config(&config(&managed.replace(
        r#"members = ["breakglass1@contoso.onmicrosoft.com"]"#,
        "members = []",
    )));
    let refused = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(
        refused.stderr.contains("emergency-access rule"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.writes, 0, "nothing is written");
    let id = group(&h, "break-glass").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        members(&h, &id).await,
        ["breakglass1@contoso.onmicrosoft.com"]
    );
}

/// A renamed group keeps its id, and the policy naming it by its new name finds it.
#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_pilot_group_is_found_by_its_new_name() {
    let h = Harness::start(&config(GROUP), Faults::default()).await;
    assert_eq!(cli(&h, &["apply", "--auto-approve"]).code, 0);
    let id = group(&h, "mfa-pilot-wave-1").await.unwrap()["id"].clone();
    h.rewrite_config(&config(
        &GROUP.replace("MFA-Pilot-Wave-1", "MFA-Pilot-Wave-One"),
    ));
    let apply = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    let renamed = group(&h, "mfa-pilot-wave-1").await.unwrap();
    assert_eq!(renamed["displayName"], "MFA-Pilot-Wave-One");
    assert_eq!(renamed["id"], id);
    let again = cli(&h, &["plan"]);
    assert_eq!(again.code, 0, "{}", again.text());
}

/// A group dropped from the config is still destroyed: the record says we made it.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_removes_a_made_group_the_config_no_longer_names() {
    let only_group = r#"
[[groups]]
unique_name = "mfa-pilot-wave-1"
display_name = "MFA-Pilot-Wave-1"
members = ["alice@contoso.onmicrosoft.com"]
"#;
    let h = Harness::start(&config(only_group), Faults::default()).await;
    assert_eq!(cli(&h, &["apply", "--auto-approve"]).code, 0);
    h.rewrite_config(&config(""));
    let destroy = cli(&h, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.text());
    assert!(
        destroy.stdout.contains("the config no longer names it"),
        "{}",
        destroy.stdout
    );
    assert!(group(&h, "mfa-pilot-wave-1").await.is_none());
}
