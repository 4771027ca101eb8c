//! Converging while Entra replicates slowly (2–6 s, as real tenants do), through the CLI: a
//! lost answer on the policy POST, two pipelines at once, `kill -9` at every write, and an
//! immediate re-run. Each ends with one of everything and a plan that exits 0.

use crate::common;

use std::time::Duration;

use common::provision::{outputs_of, sweep_kills, CliRun, Harness, CONFIG};
use entra_mail::sim::Faults;
use serde_json::Value;

const POLICY: &str = "\n[conditional_access]\nstate = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\nemergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\", \"breakglass2@contoso.onmicrosoft.com\"]\n";
const POLICIES: &str = "identity/conditionalAccess/policies";

fn config() -> String {
    format!("{CONFIG}{POLICY}")
}

fn lag(seconds: u64) -> Faults {
    Faults {
        replication_lag: Duration::from_secs(seconds),
        ..Faults::default()
    }
}

fn apply(h: &Harness, dir: &std::path::Path) -> CliRun {
    h.run_cli(dir, &["apply", "--auto-approve"])
}

/// A second pipeline's checkout: the same config, its own outputs.
fn another_runner() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenant.toml"), config()).unwrap();
    dir
}

/// The tenant one uninterrupted run makes, seen once replication has passed: one app, one
/// service principal, one grant, one enforced policy that the record names, and every live
/// secret of ours that the record calls delivered held by one of `runners`.
fn converged(h: &Harness, runners: &[&std::path::Path]) -> Result<(), String> {
    let snapshot = h.snapshot();
    let all = |key: &str| snapshot[key].as_array().cloned().unwrap_or_default();
    let apps: Vec<Value> = all("applications")
        .into_iter()
        .filter(|a| a["uniqueName"] == "pandora-itsm-mail")
        .collect();
    let [app] = apps.as_slice() else {
        return Err(format!("{} apps", apps.len()));
    };
    let sps = h.our_service_principals().len();
    let grants = h.our_grants().len();
    let policies: Vec<Value> = all("conditionalAccessPolicies")
        .into_iter()
        .filter(|p| p["displayName"] == "MFA Pilot")
        .collect();
    if sps != 1 || grants != 1 || policies.len() != 1 {
        return Err(format!(
            "{sps} service principals, {grants} grants, {} policies",
            policies.len()
        ));
    }
    let policy = &policies[0];
    let tags: Vec<String> = app["tags"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    let id = policy["id"].as_str().unwrap_or_default();
    if policy["state"] != "enabled" || !tags.contains(&format!("entra-mail:policy:{id}")) {
        return Err(format!("policy {policy} with record {tags:?}"));
    }
    let held: Vec<String> = runners
        .iter()
        .filter_map(|dir| outputs_of(&dir.join("tenant.toml")))
        .filter_map(|o| o.secret.map(|s| s.key_id.to_string()))
        .collect();
    let delivered: Vec<String> = h
        .our_secrets()
        .iter()
        .filter_map(|s| s["keyId"].as_str().map(String::from))
        .filter(|key| tags.contains(&format!("entra-mail:secret:{key}")))
        .collect();
    // Every secret on record as delivered is one a runner holds: a re-run neither drops the
    // secret a killed run delivered nor makes a second while the first still replicates.
    if delivered.is_empty() || delivered.iter().any(|key| !held.contains(key)) {
        return Err(format!("delivered {delivered:?}, held {held:?}"));
    }
    Ok(())
}

/// After `lag`, a plan from `dir` finds nothing to do.
fn settles(h: &Harness, dir: &std::path::Path, lag: Duration) {
    std::thread::sleep(lag + Duration::from_millis(500));
    let plan = h.run_cli(dir, &["plan"]);
    assert_eq!(plan.code, 0, "plan once lag has passed:\n{}", plan.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_policy_answer_then_an_immediate_rerun_under_lag_leaves_one_policy() {
    let h = Harness::start(
        &config(),
        Faults {
            drop_answer_of_first_write_to: vec![POLICIES.into()],
            ..lag(3)
        },
    )
    .await;
    let dir = h.dir.path();
    let first = apply(&h, dir);
    assert_eq!(h.running.sim.counters().dropped_answers, 1);
    // The run that lost the answer looks for the policy before anything else, so it ends
    // well; the re-run, started at once, finds it though lists may not show it yet.
    assert_eq!(first.code, 0, "{}", first.text());
    let again = apply(&h, dir);
    assert_eq!(again.code, 0, "{}", again.text());
    settles(&h, dir, Duration::from_secs(3));
    converged(&h, &[dir]).unwrap();
    let posts = h
        .running
        .sim
        .request_log()
        .iter()
        .filter(|e| e.method == "POST" && e.path == POLICIES)
        .count();
    assert_eq!(posts, 1, "the policy was never sent twice");
}

#[tokio::test(flavor = "multi_thread")]

async fn two_applies_started_apart_under_six_seconds_of_lag_leave_one_policy() {
    let h = Harness::start(&config(), lag(6)).await;
    let second = another_runner();
    let spawn = |dir: &std::path::Path| {
        h.running
            .cli_process(dir)
            .args(["apply", "--auto-approve", "-f", "tenant.toml"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn(h.dir.path());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let b = spawn(second.path());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    for (name, run) in [("first", &a), ("second", &b)] {
        assert!(
            run.status.success(),
            "{name} run:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    settles(&h, h.dir.path(), Duration::from_secs(6));
    converged(&h, &[h.dir.path(), second.path()]).unwrap();
    // Two copies may have been made; never were two enforced: every copy was POSTed
    // report-only under the pending name, and only the survivor was ever enabled.
    let log = h.running.sim.request_log();
    for post in log
        .iter()
        .filter(|e| e.method == "POST" && e.path == POLICIES)
    {
        let body = post.body.as_ref().unwrap();
        assert_eq!(body["state"], "enabledForReportingButNotEnforced");
        assert_eq!(
            body["displayName"],
            "MFA Pilot (entra-mail pending: pandora-itsm-mail)"
        );
    }
    let survivor = h.snapshot()["conditionalAccessPolicies"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for entry in log.iter().filter(|e| e.method == "PATCH") {
        if entry.body.as_ref().is_some_and(|b| b["state"] == "enabled") {
            assert!(entry.path.ends_with(&survivor), "{} enabled", entry.path);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immediate_second_apply_under_lag_succeeds_and_then_nothing_changes() {
    let h = Harness::start(&config(), lag(3)).await;
    let dir = h.dir.path();
    let first = apply(&h, dir);
    assert_eq!(first.code, 0, "{}", first.text());
    // At once, from a fresh runner too: the new grant, policy and record are not readable yet.
    let fresh = another_runner();
    for runner in [dir, fresh.path()] {
        let again = apply(&h, runner);
        assert_eq!(again.code, 0, "{}", again.text());
    }
    std::thread::sleep(Duration::from_millis(3500));
    let last = apply(&h, dir);
    assert_eq!(
        (last.code, last.writes),
        (0, 0),
        "once lag has passed:\n{}",
        last.text()
    );
    converged(&h, &[dir, fresh.path()]).unwrap();
}

/// A cold apply is killed (`kill -9`) the moment its `nth` write has committed, then run
/// again at once; once lag has passed, the tenant is converged and a plan exits 0.
async fn killed_at(nth: u64) -> Result<(), String> {
    let h = Harness::start(
        &config(),
        Faults {
            hold_answer_of_writes: vec![nth],
            ..lag(2)
        },
    )
    .await;
    let dir = h.dir.path().to_path_buf();
    let (method, path) = h.apply_killed_at(&dir, nth).await?;
    let again = tokio::task::block_in_place(|| apply(&h, &dir));
    if again.code != 0 {
        return Err(format!(
            "killed at {method} {path}: re-run:\n{}",
            again.text()
        ));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let plan = tokio::task::block_in_place(|| h.run_cli(&dir, &["plan"]));
    if plan.code != 0 {
        return Err(format!("killed at {method} {path}: plan:\n{}", plan.text()));
    }
    converged(&h, &[&dir]).map_err(|e| format!("killed at {method} {path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_kill_at_every_write_under_lag_converges_on_the_rerun() {
    // An uninterrupted cold apply under the same lag, to count its writes.
    let baseline = Harness::start(&config(), lag(2)).await;
    let run = tokio::task::block_in_place(|| apply(&baseline, baseline.dir.path()));
    assert_eq!(run.code, 0, "{}", run.text());
    let writes = baseline.running.sim.counters().writes;
    assert!(writes >= 10, "a cold apply makes {writes} writes");
    sweep_kills(writes, killed_at).await;
}

/// Another run's record write, based on a copy read before ours replicated, drops our
/// delivered secret; the run it dropped from sees the later write and puts the entry back,
/// so no later run takes that secret for an undelivered one and removes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_write_from_a_stale_copy_is_repaired_by_the_run_it_dropped() {
    let h = Harness::start(CONFIG, lag(3)).await;
    let delivered_write = || {
        h.running.sim.request_log().into_iter().find(|e| {
            e.method == "PATCH"
                && e.path.starts_with("applications/")
                && e.body.as_ref().is_some_and(|b| {
                    b["tags"].as_array().is_some_and(|tags| {
                        tags.iter().any(|t| {
                            t.as_str()
                                .is_some_and(|t| t.starts_with("entra-mail:secret:"))
                        })
                    })
                })
        })
    };
    let stale_writer = async {
        let write = loop {
            if let Some(write) = delivered_write() {
                break write;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // The copy a concurrent run read before our entry replicated, with its own rev.
        let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000 + 1;
        let tags: Vec<Value> = write.body.unwrap()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                let t = t.as_str().unwrap_or_default();
                !t.starts_with("entra-mail:secret:") && !t.starts_with("entra-mail:rev:")
            })
            .cloned()
            .chain([Value::from(format!("entra-mail:rev:{millis}-0badf00d"))])
            .collect();
        let request = entra_mail::graph::Request::patch(
            write.path.clone(),
            serde_json::json!({ "tags": tags }),
        );
        loop {
            match h.client.send(&request).await {
                Ok(_) => break,
                Err(e) if e.status() == Some(404) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    let options = entra_mail::kind::PlanOptions::at(time::OffsetDateTime::now_utc());
    let (applied, ()) = tokio::join!(h.try_apply_with(&options), stale_writer);
    applied.unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let held = h.outputs().unwrap().secret.unwrap().key_id;
    let tags = h.app()["tags"].clone();
    assert!(
        tags.as_array()
            .unwrap()
            .contains(&Value::from(format!("entra-mail:secret:{held}"))),
        "the delivered secret is on record again: {tags}"
    );
}

/// A copy a killed run left under its pending name is ours by that name: apply removes it as
/// a duplicate, and destroy removes it with the rest instead of stopping on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_left_under_its_pending_name_is_removed_by_apply_and_by_destroy() {
    let h = Harness::start(&config(), Faults::default()).await;
    let dir = h.dir.path();
    assert_eq!(apply(&h, dir).code, 0);
    let leave_pending_copy = || async {
        let mut copy = h.snapshot()["conditionalAccessPolicies"][0].clone();
        for key in ["id", "createdDateTime", "modifiedDateTime", "templateId"] {
            copy.as_object_mut().unwrap().remove(key);
        }
        copy["displayName"] = "MFA Pilot (entra-mail pending: pandora-itsm-mail)".into();
        copy["state"] = "enabledForReportingButNotEnforced".into();
        h.client
            .send(&entra_mail::graph::Request::post(POLICIES, copy))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
    };
    let named_ours = || {
        h.snapshot()["conditionalAccessPolicies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| {
                p["displayName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("MFA Pilot"))
            })
            .count()
    };
    leave_pending_copy().await;
    assert_eq!(named_ours(), 2);
    let again = tokio::task::block_in_place(|| apply(&h, dir));
    assert_eq!(again.code, 0, "{}", again.text());
    assert!(again.text().contains("pending"), "{}", again.text());
    assert_eq!(named_ours(), 1, "the pending copy went");

    leave_pending_copy().await;
    let destroy = tokio::task::block_in_place(|| h.run_cli(dir, &["destroy", "--auto-approve"]));
    assert_eq!(destroy.code, 0, "{}", destroy.text());
    assert_eq!(
        named_ours(),
        0,
        "every policy of ours went, the pending copy too"
    );
}

/// A runner that holds a secret the app does not list yet (a run killed right after
/// delivering it, then run again at once, while Entra still replicates the new secret) waits
/// for it instead of making a second.
#[tokio::test(flavor = "multi_thread")]
async fn a_held_secret_not_listed_yet_is_waited_for_not_replaced() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    let dir = h.dir.path();
    assert_eq!(apply(&h, dir).code, 0);
    let held = h.outputs().unwrap().secret.unwrap().key_id.to_string();
    // Reads show the app as it was before the secret, for the next 4 seconds.
    h.running.sim.with_tenant(common::provision::TENANT, |t| {
        let app = t
            .applications
            .iter_mut()
            .find(|a| a.data.get("uniqueName") == Some(&Value::from("pandora-itsm-mail")))
            .unwrap();
        let mut before = app.data.clone();
        if let Some(credentials) = before["passwordCredentials"].as_array_mut() {
            credentials.retain(|c| c["keyId"] != held.as_str());
        }
        app.previous = Some(before);
        let until = std::time::Instant::now() + Duration::from_secs(4);
        app.visible_at = Some(until);
        app.list_visible_at = Some(until);
    });
    let plan = tokio::task::block_in_place(|| h.run_cli(dir, &["plan"]));
    assert_eq!(plan.code, 0, "{}", plan.text());
    assert!(plan.text().contains("not listed yet"), "{}", plan.text());
}
