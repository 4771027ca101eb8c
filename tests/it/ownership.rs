//! The tenant remembers what is ours: the built CLI on fresh CI runners (a new directory with
//! no outputs every run), secret rotation, lost answers, two pipelines, adoption of what an
//! admin made in the portal, and a destroy that touches only our objects.

use crate::common;

use std::path::Path;

use common::provision::{CliRun, Harness, CONFIG, TENANT};
use entra_mail::graph::Request;
use entra_mail::resources::client_secret::PENDING_WINDOW;
use entra_mail::sim::Faults;
use serde_json::{json, Value};

const POLICY: &str = "\n[conditional_access]\nstate = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\nemergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\", \"breakglass2@contoso.onmicrosoft.com\"]\n";

fn config() -> String {
    format!("{CONFIG}{POLICY}")
}

/// A CI runner: a directory holding only the config (and whatever earlier runs left in it).
fn runner() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenant.toml"), config()).unwrap();
    dir
}

fn cli(h: &Harness, dir: &Path, args: &[&str]) -> CliRun {
    h.run_cli(dir, args)
}

fn apply(h: &Harness, dir: &Path, extra: &[&str]) -> CliRun {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    cli(h, dir, &args)
}

fn key_ids(h: &Harness) -> Vec<String> {
    h.our_secrets()
        .iter()
        .map(|s| s["keyId"].as_str().unwrap().to_string())
        .collect()
}

fn held_key(dir: &Path) -> Option<String> {
    let bytes = std::fs::read(dir.join("out/outputs.json")).ok()?;
    let outputs: Value = serde_json::from_slice(&bytes).ok()?;
    outputs["client_secret"]["key_id"]
        .as_str()
        .map(String::from)
}

fn policies_named(h: &Harness, name: &str) -> Vec<Value> {
    h.snapshot()["conditionalAccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["displayName"] == name)
        .cloned()
        .collect()
}

fn apps_named(h: &Harness, name: &str) -> Vec<Value> {
    h.snapshot()["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["displayName"] == name)
        .cloned()
        .collect()
}

/// `destroy --auto-approve` in `dir`, with every Graph write request (POST, PATCH, PUT or
/// DELETE, whatever its answer) the simulator logged during the run.
fn destroy(h: &Harness, dir: &Path) -> (CliRun, Vec<String>) {
    let from = h.running.sim.request_log().len();
    let run = cli(h, dir, &["destroy", "--auto-approve"]);
    let writes = h.running.sim.request_log()[from..]
        .iter()
        .filter(|e| {
            !e.path.contains("oauth2/v2.0/")
                && matches!(e.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
        })
        .map(|e| format!("{} {} -> {}", e.method, e.path, e.status))
        .collect();
    (run, writes)
}

/// A destroy run after everything of ours is gone: exit 0, says so, sends no write.
fn destroy_finds_nothing(h: &Harness, dir: &Path) {
    let (again, writes) = destroy(h, dir);
    assert_eq!(again.code, 0, "{}", again.text());
    assert!(
        again.stdout.contains("Nothing to destroy"),
        "{}",
        again.stdout
    );
    assert!(writes.is_empty(), "a second destroy wrote: {writes:?}");
}

/// Every object of `kind` in the tenant whose `field` is `value`.
fn objects_with(h: &Harness, kind: &str, field: &str, value: &Value) -> Vec<Value> {
    h.snapshot()[kind]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| &o[field] == value)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_fresh_runners_make_one_secret_and_never_revoke_it() {
    let h = Harness::start(&config(), Faults::default()).await;
    let mut created = Vec::new();
    for run in 1..=10 {
        let dir = runner();
        if run > 1 {
            let plan = cli(&h, dir.path(), &["plan"]);
            assert_eq!(
                plan.code,
                0,
                "run {run}: plan on a fresh runner: {}",
                plan.text()
            );
            assert_eq!(plan.writes, 0);
        }
        let applied = apply(&h, dir.path(), &[]);
        assert_eq!(applied.code, 0, "run {run}: {}", applied.text());
        if run > 1 {
            assert_eq!(
                applied.writes,
                0,
                "run {run} writes nothing: {}",
                applied.text()
            );
        }
        for key in key_ids(&h) {
            if !created.contains(&key) {
                created.push(key);
            }
        }
    }
    assert_eq!(created.len(), 1, "exactly one secret was ever made");
    assert_eq!(key_ids(&h), created, "and it was never deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotate_secret_keeps_the_old_one_for_its_grace_period() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    let first = key_ids(&h);

    let rotated = apply(&h, runner().path(), &["--rotate-secret"]);
    assert_eq!(rotated.code, 0, "{}", rotated.text());
    assert!(
        rotated.stdout.contains("(--rotate-secret)"),
        "{}",
        rotated.stdout
    );
    let both = key_ids(&h);
    assert_eq!(
        both.len(),
        2,
        "the old secret keeps working during the grace period"
    );
    assert!(both.contains(&first[0]));
    let plan = cli(&h, runner().path(), &["plan"]);
    assert_eq!(
        plan.code,
        0,
        "within the grace period nothing is due: {}",
        plan.text()
    );

    // Eight days on: past the 7-day grace period, the replaced secret goes.
    h.age_secrets(time::Duration::days(8));
    let later = apply(&h, runner().path(), &[]);
    assert_eq!(later.code, 0, "{}", later.text());
    assert!(
        later.stdout.contains("grace period is over"),
        "{}",
        later.stdout
    );
    let left = key_ids(&h);
    assert_eq!(left.len(), 1);
    assert_ne!(left[0], first[0], "the new secret stays, the old one went");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_add_password_answer_leaves_an_orphan_that_a_fresh_runner_removes() {
    let h = Harness::start(&config(), Faults::default()).await;
    assert_eq!(apply(&h, runner().path(), &[]).code, 0);
    let delivered = key_ids(&h);

    // The rotation's first write is addPassword: it commits, and its answer is lost.
    let next_write = h.running.sim.counters().writes + 1;
    h.running
        .sim
        .set_faults(|f| f.drop_answer_of_writes = vec![next_write]);
    let lost = apply(&h, runner().path(), &["--rotate-secret"]);
    assert_ne!(
        lost.code,
        0,
        "the run that lost the answer fails: {}",
        lost.text()
    );
    assert_eq!(h.running.sim.counters().dropped_answers, 1);
    let orphan: Vec<String> = key_ids(&h)
        .into_iter()
        .filter(|k| !delivered.contains(k))
        .collect();
    assert_eq!(orphan.len(), 1, "the secret was made; nobody got its value");

    // A fresh runner at once: the undelivered secret may still belong to a run in progress.
    let soon = cli(&h, runner().path(), &["plan"]);
    assert_eq!(soon.code, 0, "{}", soon.text());
    assert!(
        soon.text().contains("not recorded as delivered"),
        "{}",
        soon.text()
    );

    // Once no run can still be delivering it, a fresh runner removes it; ours stays.
    h.age_secrets(PENDING_WINDOW + time::Duration::minutes(1));
    let cleaned = apply(&h, runner().path(), &[]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.text());
    assert!(
        cleaned.stdout.contains("never delivered"),
        "{}",
        cleaned.stdout
    );
    assert_eq!(
        key_ids(&h),
        delivered,
        "the orphan went, the delivered secret stayed"
    );
    assert_eq!(cli(&h, runner().path(), &["plan"]).code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_pipelines_with_their_own_outputs_never_remove_each_others_secret() {
    let h = Harness::start(&config(), Faults::default()).await;
    let first = runner();
    let second = runner();
    let mut ever_held = Vec::new();
    for round in 1..=5 {
        for (name, dir) in [("first", &first), ("second", &second)] {
            let run = apply(&h, dir.path(), &[]);
            assert_eq!(run.code, 0, "{name} round {round}: {}", run.text());
            let live = key_ids(&h);
            for key in &ever_held {
                assert!(
                    live.contains(key),
                    "{name} round {round} removed secret {key}"
                );
            }
            if let Some(key) = held_key(dir.path()) {
                if !ever_held.contains(&key) {
                    ever_held.push(key);
                }
            }
        }
    }
    assert_eq!(
        ever_held.len(),
        1,
        "one secret, held by the pipeline that made it"
    );
    assert_eq!(key_ids(&h), ever_held);
}

/// What an admin clicks together in the portal: an app without uniqueName, and a policy.
async fn portal_made(h: &Harness) -> (String, String) {
    let app: Value = h
        .client
        .post(
            "applications",
            &json!({"displayName": "Pandora ITSM mail", "signInAudience": "AzureADMyOrg"}),
        )
        .await
        .unwrap();
    let group_id = h.snapshot()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "MFA-Test-Group")
        .unwrap()["id"]
        .clone();
    let policy: Value = h
        .client
        .post(
            "identity/conditionalAccess/policies",
            &json!({
                "displayName": "MFA Pilot",
                "state": "enabledForReportingButNotEnforced",
                "conditions": {
                    "clientAppTypes": ["all"],
                    "applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]},
                    "users": {"includeGroups": [group_id]}
                },
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
            }),
        )
        .await
        .unwrap();
    (
        app["id"].as_str().unwrap().to_string(),
        policy["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn portal_made_objects_are_adopted_only_when_asked() {
    let h = Harness::start(&config(), Faults::default()).await;
    let (app_id, policy_id) = portal_made(&h).await;
    let dir = runner();

    let refused = apply(&h, dir.path(), &[]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert_eq!(refused.writes, 0, "nothing is written without --adopt");
    assert!(refused.stderr.contains(&app_id), "{}", refused.stderr);
    assert!(refused.stderr.contains("--adopt"), "{}", refused.stderr);

    // The app alone adopted leaves the policy: it is named like ours but not ours either.
    let plan = cli(&h, dir.path(), &["plan", "--adopt"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(
        plan.stdout.contains("⇐ application.pandora-itsm-mail"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("⇐ conditional_access_policy.mfa-pilot"),
        "{}",
        plan.stdout
    );
    assert_eq!(plan.writes, 0);

    let adopted = apply(&h, dir.path(), &["--adopt"]);
    assert_eq!(adopted.code, 0, "{}", adopted.text());
    let apps = apps_named(&h, "Pandora ITSM mail");
    assert_eq!(apps.len(), 1, "no second app");
    assert_eq!(apps[0]["id"], app_id.as_str());
    assert_eq!(apps[0]["uniqueName"], "pandora-itsm-mail");
    let policies = policies_named(&h, "MFA Pilot");
    assert_eq!(policies.len(), 1, "no second policy");
    assert_eq!(policies[0]["id"], policy_id.as_str());
    assert_eq!(policies[0]["state"], "enabled", "corrected to the config");

    let rerun = apply(&h, runner().path(), &[]);
    assert_eq!(rerun.code, 0, "{}", rerun.text());
    assert_eq!(
        rerun.writes,
        0,
        "adopted objects are ours now: {}",
        rerun.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_policy_alone_is_refused_without_adopt() {
    let h = Harness::start(&config(), Faults::default()).await;
    assert_eq!(apply(&h, runner().path(), &[]).code, 0);
    // Someone deletes ours and makes their own by hand: it is not ours.
    let ours = policies_named(&h, "MFA Pilot")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    h.client
        .delete(&format!("identity/conditionalAccess/policies/{ours}"))
        .await
        .unwrap();
    let (_, theirs) = portal_made(&h).await;
    let run = apply(&h, runner().path(), &[]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_eq!(run.writes, 0);
    assert!(
        run.stderr.contains(&theirs) && run.stderr.contains("--adopt"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_removes_ours_and_leaves_a_hand_made_policy_with_our_name() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    let ours = policies_named(&h, "MFA Pilot")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (their_app, theirs) = portal_made(&h).await;
    let their_policy = objects_with(&h, "conditionalAccessPolicies", "id", &json!(theirs));
    assert_eq!(their_policy.len(), 1);

    let (destroyed, writes) = destroy(&h, runner().path());
    assert_eq!(destroyed.code, 0, "{}", destroyed.text());
    assert!(
        destroyed
            .stdout
            .lines()
            .any(|l| l.contains("warning") && l.contains(&theirs) && l.contains("left alone")),
        "a warning names the policy left alone: {}",
        destroyed.stdout
    );
    assert!(
        writes
            .iter()
            .all(|w| !w.contains(&theirs) && !w.contains(&their_app)),
        "no write touched what is not ours: {writes:?}"
    );
    assert!(
        writes.iter().any(|w| w.contains(&ours)),
        "ours was deleted: {writes:?}"
    );
    assert_eq!(
        objects_with(&h, "conditionalAccessPolicies", "id", &json!(theirs)),
        their_policy,
        "theirs remains, unchanged; ours ({ours}) is gone"
    );
    assert_eq!(policies_named(&h, "MFA Pilot").len(), 1);
    assert!(h.snapshot()["applications"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["uniqueName"] != "pandora-itsm-mail"));

    // A second destroy finds nothing of ours, writes nothing, and still leaves theirs.
    destroy_finds_nothing(&h, runner().path());
    assert_eq!(
        objects_with(&h, "conditionalAccessPolicies", "id", &json!(theirs)),
        their_policy
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_with_the_pilot_group_gone_removes_all_of_ours() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    let app_id = h.app()["appId"].clone();
    let sp_id = h.our_service_principals()[0]["id"].clone();
    assert!(!h.our_grants().is_empty());
    let policy = policies_named(&h, "MFA Pilot")[0]["id"].clone();
    // The config still names the group; an admin deleted it in the portal. Apply must refuse
    // (a policy is never sent with a name left out); destroy needs no group to delete ours.
    h.running.sim.with_tenant(TENANT, |t| {
        t.groups
            .retain(|g| g.str("displayName") != Some("MFA-Test-Group"));
    });
    let refused = cli(&h, dir.path(), &["plan"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(
        refused.stderr.contains("MFA-Test-Group"),
        "{}",
        refused.stderr
    );

    let (destroyed, writes) = destroy(&h, dir.path());
    assert_eq!(destroyed.code, 0, "{}", destroyed.text());
    assert!(
        destroyed.stdout.contains("Destroy complete"),
        "{}",
        destroyed.stdout
    );
    assert!(
        writes.iter().all(|w| w.starts_with("DELETE ")),
        "destroy only deletes: {writes:?}"
    );
    assert!(objects_with(&h, "applications", "appId", &app_id).is_empty());
    assert!(objects_with(&h, "servicePrincipals", "id", &sp_id).is_empty());
    assert!(objects_with(&h, "oauth2PermissionGrants", "clientId", &sp_id).is_empty());
    assert!(objects_with(&h, "conditionalAccessPolicies", "id", &policy).is_empty());
    assert!(
        !dir.path().join("out/outputs.json").exists(),
        "the outputs go with the secret they hold"
    );

    destroy_finds_nothing(&h, dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_works_when_an_apply_would_be_refused() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    // The pilot group is gone and a permission name no longer resolves: apply must refuse,
    // destroy must not care.
    h.running.sim.with_tenant(TENANT, |t| {
        t.groups
            .retain(|g| g.str("displayName") != Some("MFA-Test-Group"));
    });
    let broken = config().replace("\"User.Read\"", "\"User.Reed\"");
    std::fs::write(dir.path().join("tenant.toml"), broken).unwrap();
    assert_eq!(cli(&h, dir.path(), &["plan"]).code, 1);
    let destroyed = cli(&h, dir.path(), &["destroy", "--auto-approve"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.text());
    assert!(policies_named(&h, "MFA Pilot").is_empty());
    assert!(apps_named(&h, "Pandora ITSM mail").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_with_nothing_of_ours_keeps_an_outputs_file_whose_secret_lives() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    assert!(held_key(dir.path()).is_some());
    // The config now names another app: nothing of it exists, but our outputs file still
    // holds a secret that is live in the tenant.
    let renamed = config().replace(
        "unique_name = \"pandora-itsm-mail\"",
        "unique_name = \"another-app\"",
    );
    std::fs::write(dir.path().join("tenant.toml"), renamed).unwrap();
    let run = cli(&h, dir.path(), &["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(run.stdout.contains("Nothing to destroy"), "{}", run.stdout);
    assert!(
        run.stdout.contains("still exists in the tenant"),
        "{}",
        run.stdout
    );
    assert!(
        held_key(dir.path()).is_some(),
        "the only copy of a live secret stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_record_lives_in_the_apps_tags_and_keeps_tags_that_are_not_ours() {
    let h = Harness::start(&config(), Faults::default()).await;
    assert_eq!(apply(&h, runner().path(), &[]).code, 0);
    let app = h.app();
    let object_id = app["id"].as_str().unwrap().to_string();
    // An admin tags the app too.
    let mut tags: Vec<Value> = app["tags"].as_array().unwrap().clone();
    tags.push(json!("HideApp"));
    h.client
        .send(&Request::patch(
            format!("applications/{object_id}"),
            json!({"tags": tags}),
        ))
        .await
        .unwrap();
    assert_eq!(apply(&h, runner().path(), &["--rotate-secret"]).code, 0);
    let tags: Vec<String> = h.app()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(tags.contains(&"HideApp".to_string()), "{tags:?}");
    assert!(tags.contains(&"entra-mail:v1".to_string()), "{tags:?}");
    let policy = policies_named(&h, "MFA Pilot")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        tags.contains(&format!("entra-mail:policy:{policy}")),
        "{tags:?}"
    );
    for key in key_ids(&h) {
        assert!(
            tags.contains(&format!("entra-mail:secret:{key}")),
            "{tags:?}"
        );
    }
    assert!(
        !tags
            .iter()
            .any(|t| t.starts_with("entra-mail:policy-intent:")),
        "{tags:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_from_before_the_record_keeps_its_secret() {
    let h = Harness::start(&config(), Faults::default()).await;
    assert_eq!(apply(&h, runner().path(), &[]).code, 0);
    let secret = key_ids(&h);
    // As an earlier version left it: no record at all.
    h.running.sim.with_tenant(TENANT, |t| {
        for app in &mut t.applications {
            app.data.insert("tags".into(), json!([]));
        }
    });
    // The policy is not recorded either, so it needs adopting; the secret must survive.
    let upgraded = apply(&h, runner().path(), &["--adopt"]);
    assert_eq!(upgraded.code, 0, "{}", upgraded.text());
    assert_eq!(
        key_ids(&h),
        secret,
        "a secret that may be in use is never removed"
    );
    let rerun = cli(&h, runner().path(), &["plan"]);
    assert_eq!(rerun.code, 0, "{}", rerun.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_finds_a_recorded_policy_the_config_no_longer_names() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    assert_eq!(policies_named(&h, "MFA Pilot").len(), 1);
    std::fs::write(dir.path().join("tenant.toml"), CONFIG).unwrap();
    let destroyed = cli(&h, dir.path(), &["destroy", "--auto-approve"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.text());
    assert!(
        policies_named(&h, "MFA Pilot").is_empty(),
        "{}",
        destroyed.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_portal_apps_with_our_name_are_an_error_listing_them() {
    let h = Harness::start(&config(), Faults::default()).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let app: Value = h
            .client
            .post("applications", &json!({"displayName": "Pandora ITSM mail"}))
            .await
            .unwrap();
        ids.push(app["id"].as_str().unwrap().to_string());
    }
    let run = apply(&h, runner().path(), &["--adopt"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_eq!(run.writes, 0);
    for id in &ids {
        assert!(run.stderr.contains(id.as_str()), "{}", run.stderr);
    }
    assert_eq!(apps_named(&h, "Pandora ITSM mail").len(), 2, "no third app");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_this_runner_holds_is_kept_and_recorded_though_the_record_lost_it() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = runner();
    assert_eq!(apply(&h, dir.path(), &[]).code, 0);
    let secret = key_ids(&h);
    // The record lost the secret's entry (two writers at once), and time passed: only the
    // outputs file on this runner still proves the secret was delivered.
    h.running.sim.with_tenant(TENANT, |t| {
        for app in &mut t.applications {
            if let Some(tags) = app.data.get_mut("tags").and_then(Value::as_array_mut) {
                tags.retain(|tag| !tag.as_str().unwrap_or("").starts_with("entra-mail:secret:"));
            }
        }
    });
    h.age_secrets(PENDING_WINDOW + time::Duration::minutes(1));
    let run = apply(&h, dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        key_ids(&h),
        secret,
        "a held secret is never removed: {}",
        run.stdout
    );
    let tags = h.app()["tags"].clone();
    assert!(
        tags.as_array()
            .unwrap()
            .contains(&json!(format!("entra-mail:secret:{}", secret[0]))),
        "and its entry is written again: {tags}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn outputs_stop_offering_a_secret_the_tenant_no_longer_has() {
    let h = Harness::start(&config(), Faults::default()).await;
    let first = runner();
    assert_eq!(apply(&h, first.path(), &[]).code, 0);
    let held = held_key(first.path()).unwrap();
    // Another pipeline rotates; after the grace period its next run removes the old secret.
    let second = runner();
    assert_eq!(apply(&h, second.path(), &["--rotate-secret"]).code, 0);
    h.age_secrets(time::Duration::days(8));
    assert_eq!(apply(&h, second.path(), &[]).code, 0);
    assert!(!key_ids(&h).contains(&held));

    let plan = cli(&h, first.path(), &["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(
        plan.stdout.contains("no longer exists in the tenant"),
        "{}",
        plan.stdout
    );
    let run = apply(&h, first.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        run.writes, 0,
        "only the local outputs change: {}",
        run.stdout
    );
    assert_eq!(
        held_key(first.path()),
        None,
        "the dead secret left outputs.json"
    );
    assert_eq!(cli(&h, first.path(), &["plan"]).code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_removing_a_secret_does_not_show_its_hint() {
    let h = Harness::start(&config(), Faults::default()).await;
    let first = runner();
    assert_eq!(apply(&h, first.path(), &[]).code, 0);
    let old = held_key(first.path()).unwrap();
    let hint = h
        .our_secrets()
        .iter()
        .find(|c| c["keyId"] == json!(old))
        .and_then(|c| c["hint"].as_str().map(String::from))
        .expect("the tenant shows a hint");
    // Rotate; past the grace period the next plan removes the old secret.
    assert_eq!(apply(&h, first.path(), &["--rotate-secret"]).code, 0);
    h.age_secrets(time::Duration::days(8));

    let json_plan = cli(&h, first.path(), &["--output", "json", "plan"]);
    assert_eq!(json_plan.code, 2, "{}", json_plan.text());
    let plan: Value = serde_json::from_str(&json_plan.stdout).unwrap();
    let removed: Vec<&Value> = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"]["actions"] == json!(["delete"]))
        .collect();
    assert!(
        removed
            .iter()
            .any(|c| c["change"]["before"]["key_id"] == json!(old)),
        "the plan removes the old secret: {plan}"
    );
    for change in removed {
        let before = &change["change"]["before"];
        assert!(before.get("hint").is_none(), "{before}");
    }
    assert!(!json_plan.stdout.contains(&format!("\"{hint}\"")));
    let text_plan = cli(&h, first.path(), &["plan"]);
    assert_eq!(text_plan.code, 2, "{}", text_plan.text());
    assert!(!text_plan.stdout.contains("hint"), "{}", text_plan.stdout);
}
