//! `doctor` proves the delivered secret works: the built CLI applies against the simulated
//! tenant, then doctor signs in with the secret from outputs.json and reports ok, rejected,
//! not usable yet or none held, never printing the secret.

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use common::provision::{Harness, CONFIG, TENANT};
use entra_mail::graph::Request;
use entra_mail::sim::Faults;
use serde_json::{json, Value};

/// What a CLI run printed, and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JSON report's `delivered_secret` (with `--output json`).
    fn delivered(&self) -> Value {
        let report: Value = serde_json::from_str(&self.stdout).expect("a JSON report");
        report["delivered_secret"].clone()
    }
}

fn cli(h: &Harness, args: &[&str]) -> Run {
    let output = h.running.cli(h.dir.path()).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn apply(h: &Harness) {
    let run = cli(h, &["apply", "-f", "tenant.toml", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

fn doctor(h: &Harness, extra: &[&str]) -> Run {
    let mut args = vec!["doctor", "-f", "tenant.toml"];
    args.extend_from_slice(extra);
    cli(h, &args)
}

fn outputs_path(h: &Harness) -> PathBuf {
    h.dir.path().join("out/outputs.json")
}

fn outputs(h: &Harness) -> Value {
    serde_json::from_slice(&std::fs::read(outputs_path(h)).unwrap()).unwrap()
}

/// The delivered secret's value, as the outputs file holds it.
fn held_value(h: &Harness) -> String {
    outputs(h)["client_secret"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

fn held_key_id(h: &Harness) -> String {
    outputs(h)["client_secret"]["key_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn set_held_value(h: &Harness, value: &str) {
    let mut file = outputs(h);
    file["client_secret"]["value"] = json!(value);
    std::fs::write(outputs_path(h), serde_json::to_vec_pretty(&file).unwrap()).unwrap();
}

/// Makes the outputs file look written an hour ago: a secret delivered by an earlier run.
fn age_outputs_file(h: &Harness) {
    std::fs::File::options()
        .write(true)
        .open(outputs_path(h))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// Makes the tenant say our secret was made an hour ago.
fn age_secret_in_tenant(h: &Harness, key_id: &str) {
    let an_hour_ago = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let changed = h
        .running
        .sim
        .with_tenant(TENANT, |tenant| {
            let mut changed = 0;
            for app in &mut tenant.applications {
                let credentials = app
                    .data
                    .get_mut("passwordCredentials")
                    .and_then(Value::as_array_mut);
                for credential in credentials.into_iter().flatten() {
                    if credential["keyId"] == json!(key_id) {
                        credential["startDateTime"] = json!(an_hour_ago);
                        changed += 1;
                    }
                }
            }
            changed
        })
        .unwrap();
    assert_eq!(changed, 1);
}

/// No secret appears in anything the runs printed: the held value, any value the test wrote,
/// and every secret and token the simulated tenant handed out.
fn assert_no_secret(h: &Harness, runs: &[&Run], also: &[&str]) {
    let mut secrets: Vec<String> = h.running.sim.issued_secrets();
    secrets.extend(also.iter().map(|s| s.to_string()));
    assert!(secrets.len() > 2);
    for run in runs {
        let text = run.all();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into doctor's output"
            );
        }
    }
}

async fn applied(faults: Faults) -> Harness {
    let h = Harness::start(CONFIG, faults).await;
    apply(&h);
    h
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_signs_in_with_the_delivered_secret() {
    let h = applied(Faults::default()).await;
    let value = held_value(&h);
    let key_id = held_key_id(&h);
    let expires = outputs(&h)["client_secret"]["expires"]
        .as_str()
        .unwrap()
        .to_string();

    let before = h.running.sim.counters().token_requests;
    let text = doctor(&h, &["-vvv", "--trace-http"]);
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout.contains(&format!(
            "  delivered secret: ok (keyId {}…, expires {})\n",
            &key_id[..8],
            &expires[..10]
        )),
        "{}",
        text.stdout
    );
    // One sign-in for doctor's own identity, one with the delivered secret.
    assert_eq!(h.running.sim.counters().token_requests - before, 2);

    let report = doctor(&h, &["--output", "json"]);
    assert_eq!(report.code, 0, "{}", report.all());
    let delivered = report.delivered();
    assert_eq!(delivered["status"], "ok", "{delivered}");
    assert_eq!(delivered["key_id"], json!(key_id));
    assert_eq!(delivered["expires"], json!(expires));
    assert!(delivered.get("error").is_none(), "{delivered}");
    assert_no_secret(&h, &[&text, &report], &[&value]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_secret_is_rejected_without_being_printed() {
    let h = applied(Faults::default()).await;
    let value = held_value(&h);

    // A different value altogether: it does not begin with the hint the tenant shows, so
    // doctor does not wait even though the secret is minutes old.
    let other = if value.starts_with("Zz9") {
        "Yy8~an0ther-value-entirely-0000000000000"
    } else {
        "Zz9~an0ther-value-entirely-0000000000000"
    };
    set_held_value(&h, other);
    let text = doctor(&h, &["-vvv", "--timeout", "5"]);
    assert_eq!(text.code, 1, "{}", text.all());
    assert!(
        text.stdout.contains("  delivered secret: rejected (keyId "),
        "{}",
        text.stdout
    );
    assert!(text
        .stdout
        .contains("AADSTS7000215: Invalid client secret provided."));
    assert!(
        text.stdout
            .contains("the value in outputs.json is not this secret's"),
        "{}",
        text.stdout
    );
    let report = doctor(&h, &["--output", "json", "--timeout", "5"]);
    assert_eq!(report.code, 1, "{}", report.all());
    let delivered = report.delivered();
    assert_eq!(delivered["status"], "rejected", "{delivered}");
    assert!(
        delivered["error"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:"),
        "{delivered}"
    );

    // The same first characters, the rest wrong, on a secret the tenant says is an hour
    // old: too old for replication lag, so refused at once.
    let mut near: Vec<char> = value.chars().collect();
    let last = near.len() - 1;
    near[last] = if near[last] == 'x' { 'y' } else { 'x' };
    let near: String = near.into_iter().collect();
    set_held_value(&h, &near);
    age_secret_in_tenant(&h, &held_key_id(&h));
    let old = doctor(&h, &["--timeout", "5"]);
    assert_eq!(old.code, 1, "{}", old.all());
    assert!(
        old.stdout.contains("delivered secret: rejected")
            && old.stdout.contains("AADSTS7000215")
            && old
                .stdout
                .contains("the secret was made 60 min ago, too long for replication to explain"),
        "{}",
        old.stdout
    );
    assert_no_secret(&h, &[&text, &report, &old], &[&value, other, &near]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_gone_from_the_tenant_is_rejected() {
    let h = applied(Faults::default()).await;
    let value = held_value(&h);
    let app_object_id = outputs(&h)["application_object_id"]
        .as_str()
        .unwrap()
        .to_string();
    h.client
        .send(&Request::post(
            format!("applications/{app_object_id}/removePassword"),
            json!({"keyId": held_key_id(&h)}),
        ))
        .await
        .unwrap();

    // Just after apply wrote outputs.json, Graph might merely not show the new secret yet:
    // doctor cannot tell, so within the time budget it is not usable yet, not a failure.
    let just_delivered = doctor(&h, &["--timeout", "2"]);
    assert_eq!(just_delivered.code, 0, "{}", just_delivered.all());
    assert!(
        just_delivered
            .stdout
            .contains("delivered secret: not usable yet")
            && just_delivered.stdout.contains(
                "the secret no longer exists in the tenant, or Graph does not show it yet"
            ),
        "{}",
        just_delivered.stdout
    );

    // Delivered an hour ago and gone from the tenant: rejected at once.
    age_outputs_file(&h);
    let removed = doctor(&h, &["--timeout", "5"]);
    assert_eq!(removed.code, 1, "{}", removed.all());
    assert!(
        removed.stdout.contains("delivered secret: rejected")
            && removed.stdout.contains("AADSTS7000215")
            && removed
                .stdout
                .contains("the secret no longer exists in the tenant"),
        "{}",
        removed.stdout
    );
    assert!(!removed.stdout.contains("or Graph does not show it yet"));

    // The whole app deleted: sign-in does not know the client (AADSTS700016).
    h.client
        .delete(&format!("applications/{app_object_id}"))
        .await
        .unwrap();
    let deleted = doctor(&h, &["--output", "json", "--timeout", "5"]);
    assert_eq!(deleted.code, 1, "{}", deleted.all());
    let delivered = deleted.delivered();
    assert_eq!(delivered["status"], "rejected", "{delivered}");
    assert!(
        delivered["error"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700016:"),
        "{delivered}"
    );
    assert_eq!(
        delivered["detail"],
        json!("the app no longer exists in the tenant")
    );
    assert_no_secret(&h, &[&just_delivered, &removed, &deleted], &[&value]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_secret_is_waited_for_while_entra_replicates_it() {
    let h = applied(Faults {
        replication_lag: Duration::from_secs(2),
        ..Faults::default()
    })
    .await;
    let mut values = vec![held_value(&h)];
    // A fresh apply waits out the lag for its later steps, so its secret may already work.
    let fresh = doctor(&h, &[]);
    assert_eq!(fresh.code, 0, "{}", fresh.all());
    assert!(fresh.stdout.contains("delivered secret: ok (keyId "));

    // A secret made at the end of an apply: `--rotate-secret` makes a new one and delivers
    // it. It first lets lists catch up with the last apply, which would otherwise plan its
    // grant again.
    let redeliver = |values: &mut Vec<String>| {
        std::thread::sleep(Duration::from_millis(2100));
        let run = cli(
            &h,
            &[
                "apply",
                "-f",
                "tenant.toml",
                "--auto-approve",
                "--rotate-secret",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.all());
        values.push(held_value(&h));
        // Entra can take longer to accept a new secret at sign-in than to list it, and the
        // apply's watch of its record has already outlasted the read lag: the sign-in lag of
        // the new secret is set here, two seconds from now.
        let key = held_key_id(&h);
        h.running.sim.with_tenant(TENANT, |t| {
            for app in &mut t.applications {
                if let Some(at) = app.hidden.password_usable_at.get_mut(&key) {
                    *at = std::time::Instant::now() + Duration::from_secs(2);
                }
            }
        });
    };
    redeliver(&mut values);
    let waited = doctor(&h, &[]);
    assert_eq!(waited.code, 0, "{}", waited.all());
    assert!(
        waited.stdout.contains("delivered secret: ok (keyId ")
            && waited.stdout.contains("s for replication)"),
        "{}",
        waited.stdout
    );
    assert!(
        waited
            .stderr
            .contains("waiting for Entra to accept the delivered secret"),
        "{}",
        waited.stderr
    );

    // A budget shorter than the lag: not usable yet, which is not a failure.
    redeliver(&mut values);
    let short = doctor(&h, &["--timeout", "1"]);
    assert_eq!(short.code, 0, "{}", short.all());
    assert!(
        short
            .stdout
            .contains("delivered secret: not usable yet (keyId ")
            && short.stdout.contains("AADSTS7000215")
            && short
                .stdout
                .contains("a new secret can take minutes to work"),
        "{}",
        short.stdout
    );
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    assert_no_secret(&h, &[&fresh, &waited, &short], &values);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_outputs_file_means_no_secret_is_held_here() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    let text = doctor(&h, &[]);
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout.contains(
            "  delivered secret: none held: no outputs.json in out; its value is kept by whoever received it from apply (the tenant keeps no copy)"
        ),
        "{}",
        text.stdout
    );
    let report = doctor(&h, &["--output", "json"]);
    assert_eq!(report.code, 0, "{}", report.all());
    assert_eq!(report.delivered()["status"], "none_held");
    assert_eq!(
        h.running.sim.counters().token_requests,
        2,
        "no sign-in tried"
    );

    // An outputs file without a secret holds none either.
    apply(&h);
    let value = held_value(&h);
    let mut file = outputs(&h);
    file["client_secret"] = Value::Null;
    std::fs::write(outputs_path(&h), serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    let empty = doctor(&h, &[]);
    assert_eq!(empty.code, 0, "{}", empty.all());
    assert!(
        empty
            .stdout
            .contains("delivered secret: none held: out/outputs.json holds no client secret"),
        "{}",
        empty.stdout
    );
    assert_no_secret(&h, &[&text, &report, &empty], &[&value]);
}
