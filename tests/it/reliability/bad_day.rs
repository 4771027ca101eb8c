//! The bad day: a lost answer at every write, throttling storms, 503 bursts, long
//! replication lag, two runs at once. Each must converge to the tenant an uninterrupted run
//! makes, with nothing duplicated and no secret that nobody holds.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::provision::{outputs_of, try_apply, Harness, CONFIG};
use entra_mail::kind::PlanOptions;
use entra_mail::sim::Faults;
use serde_json::Value;
use time::OffsetDateTime;

const POLICY: &str = "\n[conditional_access]\nstate = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\nemergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\", \"breakglass2@contoso.onmicrosoft.com\"]\n";

fn config() -> String {
    format!("{CONFIG}{POLICY}")
}

fn now() -> PlanOptions {
    PlanOptions::at(OffsetDateTime::now_utc())
}

/// The tenant an uninterrupted run makes: one of each, exact consent, one live held secret.
fn assert_converged(h: &Harness) {
    let snapshot = h.snapshot();
    let count = |key: &str, pred: &dyn Fn(&Value) -> bool| {
        snapshot[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| pred(v))
            .count()
    };
    assert_eq!(
        count("applications", &|a| a["uniqueName"] == "pandora-itsm-mail"),
        1,
        "one app"
    );
    let app = h.app();
    assert_eq!(
        count("servicePrincipals", &|sp| sp["appId"] == app["appId"]),
        1,
        "one service principal"
    );
    let grants = h.our_grants();
    assert_eq!(grants.len(), 1, "one grant");
    assert_eq!(grants[0]["scope"], "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send offline_access openid email User.Read");
    assert_eq!(
        count("conditionalAccessPolicies", &|p| p["displayName"]
            == "MFA Pilot"),
        1,
        "one policy"
    );
    let secrets = h.our_secrets();
    assert_eq!(secrets.len(), 1, "no secret that nobody holds: {secrets:?}");
    let held = h.outputs().expect("outputs").secret.expect("a held secret");
    assert_eq!(
        secrets[0]["keyId"],
        serde_json::json!(held.key_id),
        "the outputs hold the live secret"
    );
}

/// Applies until it succeeds (a lost answer fails the run that saw it, like a killed
/// process); at most `tries` runs.
async fn apply_until_done(h: &Harness, tries: usize) -> usize {
    for attempt in 1..=tries {
        if h.try_apply_with(&now()).await.is_ok() {
            return attempt;
        }
    }
    panic!("did not converge in {tries} runs");
}

/// The method and path of the `nth` write (1-based) the simulator has seen.
fn nth_write(h: &Harness, nth: u64) -> (String, String) {
    h.nth_write(nth).expect("that write was logged")
}

#[tokio::test]
async fn a_lost_answer_at_every_write_still_converges() {
    // An uninterrupted run, to count its writes: the README's "11 writes of a cold apply".
    let baseline = Harness::start(&config(), Faults::default()).await;
    baseline.try_apply_with(&now()).await.unwrap();
    let writes = baseline.writes();
    assert_eq!(
        writes, 11,
        "app, its record, identifier URI, service principal, secret, grant, policy, its switch to enabled, records: {writes}"
    );
    let posts = (1..=writes)
        .filter(|&n| nth_write(&baseline, n).0 == "POST")
        .count();
    assert_eq!(posts, 3, "the README's 3 POSTs");
    assert_converged(&baseline);

    let mut same_run = 0;
    let mut one_more = 0;
    for lost in 1..=writes {
        let h = Harness::start(
            &config(),
            Faults {
                drop_answer_of_writes: vec![lost],
                ..Faults::default()
            },
        )
        .await;
        let runs = apply_until_done(&h, 3).await;
        assert!(
            h.running.sim.counters().dropped_answers == 1,
            "write {lost} lost its answer"
        );
        let (method, path) = nth_write(&h, lost);
        // Idempotent writes are resent by the client and converge in the same run. A POST
        // is never resent blindly: a grant is looked for first and then kept or sent again
        // in the same run, and so is a policy (found by name and intent); `addPassword`
        // fails its run, and the next one converges.
        let expected = if method == "POST"
            && path != "oauth2PermissionGrants"
            && path != "identity/conditionalAccess/policies"
        {
            2
        } else {
            1
        };
        assert_eq!(
            runs, expected,
            "write {lost} ({method} {path}) converged in {runs} run(s)"
        );
        match runs {
            1 => same_run += 1,
            _ => one_more += 1,
        }
        if !path.ends_with("/addPassword") {
            assert_converged(&h);
        }
        // A secret whose answer was lost is kept while a run might still be delivering it;
        // once that window has passed, the next run removes it.
        h.age_secrets(
            entra_mail::resources::client_secret::PENDING_WINDOW + time::Duration::minutes(1),
        );
        h.try_apply_with(&now()).await.unwrap();
        assert_converged(&h);
        assert!(
            !h.try_plan_with(&now()).await.unwrap().has_changes(),
            "write {lost}: a further run changes nothing"
        );
    }
    assert_eq!((same_run, one_more), (10, 1), "as the README says");
}

#[tokio::test]
async fn throttling_storms_with_and_without_retry_after_converge() {
    for retry_after in [Some(1), None] {
        let faults = Faults {
            throttle_rate: 0.3,
            throttle_retry_after: retry_after,
            ..Faults::default()
        };
        let h = Harness::start(&config(), faults).await;
        h.try_apply_with(&now()).await.unwrap();
        assert_converged(&h);
        let counters = h.running.sim.counters();
        assert!(counters.throttled > 0, "the storm happened");
        assert!(
            counters.requests < 80,
            "bounded: {} requests",
            counters.requests
        );
        assert!(
            h.client.wait_stats().retries >= counters.throttled,
            "every 429 was waited out and reported"
        );
    }
}

#[tokio::test]
async fn bursts_of_503_converge() {
    let h = Harness::start(
        &config(),
        Faults {
            unavailable_rate: 0.3,
            ..Faults::default()
        },
    )
    .await;
    // A POST answered 503 is not resent blindly: its run fails, and the next converges.
    apply_until_done(&h, 5).await;
    assert_converged(&h);
    assert!(h.running.sim.counters().unavailable > 0);
}

#[tokio::test]
async fn twenty_seconds_of_replication_lag_is_waited_out() {
    let faults = Faults {
        replication_lag: Duration::from_secs(20),
        ..Faults::default()
    };
    let h = Harness::start(&config(), faults).await;
    let (_, report) = h.try_apply_with(&now()).await.unwrap();
    assert!(report.replication_waits > 0);
    assert_converged(&h);
}

/// The tenant's "MFA Pilot" policies as (createdDateTime, id), earliest first.
fn pilot_policies(h: &Harness) -> Vec<(String, String)> {
    let snapshot = h.snapshot();
    let mut policies: Vec<(String, String)> = snapshot["conditionalAccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["displayName"] == "MFA Pilot")
        .map(|p| {
            (
                p["createdDateTime"].as_str().unwrap().to_string(),
                p["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    policies.sort();
    policies
}

#[tokio::test]
async fn two_runs_at_once_duplicate_nothing() {
    two_runs_at_once(Duration::ZERO).await;
}

/// As above with lists lagging behind point reads, as in Entra.
#[tokio::test]
async fn two_runs_at_once_with_list_lag_duplicate_nothing() {
    two_runs_at_once(Duration::from_secs(2)).await;
}

/// Two pipelines (same tenant and config, separate outputs) apply at once.
async fn two_runs_at_once(list_lag: Duration) {
    let first = Harness::start(
        &config(),
        Faults {
            list_lag,
            ..Faults::default()
        },
    )
    .await;
    // A second pipeline: same tenant, same config, its own outputs directory.
    let second_dir = tempfile::tempdir().unwrap();
    let second_config = second_dir.path().join("tenant.toml");
    std::fs::write(&second_config, config()).unwrap();
    let second_client = first.running.client();
    let options = now();
    let (a, b) = tokio::join!(
        first.try_apply_with(&options),
        try_apply(&second_client, &second_config, &options)
    );
    assert!(
        a.is_ok() || b.is_ok(),
        "at least one run succeeds: {a:?} {b:?}"
    );
    // Whoever lost converges on its next run; nothing is duplicated.
    if a.is_err() {
        first.try_apply_with(&now()).await.unwrap();
    }
    if b.is_err() {
        try_apply(&second_client, &second_config, &now())
            .await
            .unwrap();
    }
    let made = pilot_policies(&first);
    if list_lag.is_zero() {
        // Usually the second run lists the first one's policy and makes none; when both read
        // before either wrote, the later copy is removed by its own run.
        assert_eq!(made.len(), 1, "one policy: {made:?}");
    } else {
        // A run that lists the other's young policy before the record shows it waits for the
        // record instead of calling it not ours; a run that lists nothing makes a copy,
        // report-only, and the run whose copy is later removes it in that same run. Both
        // succeed, and the earliest copy is enforced.
        assert!(a.is_ok() && b.is_ok(), "both runs succeed: {a:?} {b:?}");
        let log = first.running.sim.request_log();
        let policy_writes = |method: &str| -> Vec<String> {
            log.iter()
                .filter(|e| {
                    e.method == method && e.path.starts_with("identity/conditionalAccess/policies")
                })
                .map(|e| e.path.clone())
                .collect()
        };
        let posts = policy_writes("POST").len();
        let deleted = policy_writes("DELETE");
        assert_eq!(
            made.len(),
            1,
            "one policy once both runs are done: {made:?}"
        );
        assert_eq!(
            deleted.len(),
            posts - 1,
            "every later copy, and only those, removed within the runs: {deleted:?}"
        );
        assert!(deleted.iter().all(|d| !d.ends_with(&made[0].1)));
        let survivor = &first.snapshot()["conditionalAccessPolicies"];
        assert!(
            survivor
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == made[0].1.as_str() && p["state"] == "enabled"),
            "the surviving copy is enforced: {survivor}"
        );
        // Never were two copies enforced: every switch to enabled is of the survivor.
        for entry in log.iter().filter(|e| e.method == "PATCH") {
            if entry.body.as_ref().is_some_and(|b| b["state"] == "enabled") {
                assert!(
                    entry.path.ends_with(&made[0].1),
                    "only the surviving copy is ever enabled: {}",
                    entry.path
                );
            }
        }
    }
    first.try_apply_with(&now()).await.unwrap();
    let snapshot = first.snapshot();
    let count = |key: &str, field: &str, value: &str| {
        snapshot[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v[field] == value)
            .count()
    };
    assert_eq!(count("applications", "uniqueName", "pandora-itsm-mail"), 1);
    assert_eq!(first.our_service_principals().len(), 1);
    assert_eq!(first.our_grants().len(), 1);
    // No secret that nobody holds: every live secret of ours is one a pipeline holds (a
    // pipeline that found the other's secret keeps it and makes none of its own).
    let held: BTreeSet<String> = [first.outputs(), outputs_of(&second_config)]
        .into_iter()
        .flatten()
        .filter_map(|o| o.secret.map(|s| s.key_id.to_string()))
        .collect();
    assert!(!held.is_empty(), "a pipeline holds the secret");
    let live: BTreeSet<String> = first
        .our_secrets()
        .iter()
        .map(|s| s["keyId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(live, held, "the live secrets are exactly the held ones");
}

/// The CLI through a storm and a lost answer, with every log turned up and on GitHub
/// Actions: no secret or token the simulated tenant issued appears anywhere in its output,
/// except where the README says the secret leaves: `::add-mask::` before anything else, and
/// alone on stdout with `--secret-stdout`.
#[tokio::test(flavor = "multi_thread")]
async fn no_issued_secret_appears_in_any_output() {
    let faults = Faults {
        throttle_rate: 0.3,
        drop_answer_of_writes: vec![4],
        ..Faults::default()
    };
    let running = common::sim::start(entra_mail::sim::SimOptions {
        faults,
        seed: 7,
        tenants: vec![entra_mail::sim::TenantSpec {
            tenant_id: Some(common::provision::TENANT.into()),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.toml"), config()).unwrap();
    let held = || {
        entra_mail::outputs::Outputs::read(&dir.path().join("out"))
            .unwrap()
            .and_then(|o| o.secret)
            .map(|s| s.value.expose().to_string())
    };
    let run = |args: &[&str]| {
        let output = running
            .cli(dir.path())
            .env("GITHUB_ACTIONS", "true")
            .args(["-vvv", "--trace-http"])
            .args(args)
            .args(["-f", "t.toml"])
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let mut seen = String::new();
    let mut masked = 0;
    for args in [
        &["apply", "--auto-approve"][..],
        &["apply", "--auto-approve"],
        &["apply", "--auto-approve", "--output", "json"],
        &["apply", "--auto-approve", "--secret-stdout"],
        &["plan"],
        &["doctor"],
        &["render"],
        &["destroy", "--auto-approve"],
    ] {
        let secret_before = held();
        let (code, mut stdout, mut stderr) = run(args);
        if args[0] != "apply" || args.len() > 2 {
            assert_eq!(code, Some(0), "{args:?}: {stdout}{stderr}");
        }
        // On GitHub Actions a new secret is masked, on stderr, before anything can print it.
        assert!(
            !stdout.contains("::add-mask::"),
            "{args:?}: a mask on stdout"
        );
        let (masks, rest): (Vec<&str>, Vec<&str>) = stderr
            .split_inclusive('\n')
            .partition(|line| line.starts_with("::add-mask::"));
        masked += masks.len();
        stderr = rest.concat();
        if args.contains(&"--secret-stdout") {
            let secret = held().expect("a held secret");
            assert_eq!(secret_before.as_deref(), Some(secret.as_str()));
            assert_eq!(stdout, format!("{secret}\n"), "only the secret on stdout");
            stdout.clear();
        }
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    assert!(masked >= 1, "the new secret was masked");
    assert!(seen.contains("(redacted)"), "the trace ran");
    let issued = running.sim.issued_secrets();
    assert!(
        issued.len() >= 4,
        "the admin secret, app secrets and tokens: {}",
        issued.len()
    );
    let leaked: Vec<&String> = issued
        .iter()
        .filter(|s| seen.contains(s.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "{} issued secrets leaked into the output",
        leaked.len()
    );
}
