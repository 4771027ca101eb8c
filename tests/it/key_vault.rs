//! Delivering the client secret to Azure Key Vault, through the CLI against the simulated
//! tenant and its vault: apply writes it tagged with its keyId, a fresh runner trusts the
//! vault's copy, a refused write takes the new secret off the app again, a stale vault is
//! reported (and fixed only on `--rotate-secret`), and `render --from-vault` rebuilds the sheet.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use azure_security_keyvault_secrets::models::SetSecretParameters;
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use entra_mail::sim::Faults;
use serde_json::Value;

use crate::common::files_under;
use crate::common::provision::{sweep_kills, CliRun, Harness, CONFIG, TENANT};

const VAULT: &str = "contoso-itsm";
const SECRET_NAME: &str = "pandora-itsm-mail-client-secret";

/// A harness whose config delivers to the simulator's vault, with `extra` in `[outputs]`.
async fn harness(outputs_extra: &str) -> Harness {
    let h = Harness::start(CONFIG, Faults::default()).await;
    assert!(h.running.sim.add_key_vault(TENANT, VAULT));
    h.rewrite_config(&config_with_vault(&h, outputs_extra));
    h
}

fn config_with_vault(h: &Harness, outputs_extra: &str) -> String {
    let url = h.running.sim.key_vault_url(VAULT);
    CONFIG
        .replace(
            "grace_period_days = 7\n",
            &format!("grace_period_days = 7\nkey_vault = \"{url}\"\n"),
        )
        .replace(
            "directory = \"out\"\n",
            &format!("directory = \"out\"\n{outputs_extra}"),
        )
}

fn run(h: &Harness, args: &[&str]) -> CliRun {
    h.run_cli(h.dir.path(), args)
}

fn ok(h: &Harness, args: &[&str]) -> CliRun {
    let run = run(h, args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.text());
    run
}

/// The vault's versions of our secret, newest last, as the simulator's snapshot shows them
/// (no values).
fn versions(h: &Harness) -> Vec<Value> {
    h.snapshot()["keyVaults"][VAULT]["secrets"][SECRET_NAME]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn current_tags(h: &Harness) -> Value {
    versions(h)
        .last()
        .map(|v| v["tags"].clone())
        .unwrap_or(Value::Null)
}

fn vault_value(h: &Harness) -> String {
    h.running
        .sim
        .key_vault_secret_value(VAULT, SECRET_NAME)
        .expect("the vault holds the secret")
        .expose()
        .to_string()
}

/// Gives every secret on the app the first one's start and end: secrets made in one second,
/// which Graph's second-precision times cannot order.
fn made_in_one_second(h: &Harness) {
    h.running.sim.with_tenant(TENANT, |t| {
        for app in &mut t.applications {
            if let Some(credentials) = app.data["passwordCredentials"].as_array_mut() {
                let Some(first) = credentials.first().cloned() else {
                    continue;
                };
                for credential in credentials.iter_mut() {
                    credential["startDateTime"] = first["startDateTime"].clone();
                    credential["endDateTime"] = first["endDateTime"].clone();
                }
            }
        }
    });
}

fn key_ids(h: &Harness) -> Vec<String> {
    h.our_secrets()
        .iter()
        .map(|s| s["keyId"].as_str().unwrap().to_string())
        .collect()
}

/// A client of the simulator's vault signed in as the tenant's admin app: the test's own
/// hand on the vault, behind the tool's back.
fn admin_vault_client(h: &Harness) -> SecretClient {
    let endpoints = h.running.endpoints();
    let http = h.running.http();
    let credential = entra_mail::auth::client_secret(
        TENANT,
        &h.running.tenant.admin_client_id,
        &h.running.tenant.admin_client_secret,
        &http,
        &endpoints.authority_host,
    )
    .unwrap();
    let options = SecretClientOptions {
        api_version: "7.6".into(),
        client_options: entra_mail::auth::credential_options(&http, &endpoints.authority_host),
        verify_challenge_resource: Some(false),
    };
    SecretClient::new(
        &h.running.sim.key_vault_url(VAULT),
        credential as Arc<dyn azure_core::credentials::TokenCredential>,
        Some(options),
    )
    .unwrap()
}

/// Writes a version of our secret whose key-id tag names no secret of the app (tagged with
/// the app's client id, or with none).
async fn write_foreign_version(h: &Harness, client_id: Option<&str>) {
    let mut tags = HashMap::from([("key-id".to_string(), uuid::Uuid::new_v4().to_string())]);
    if let Some(client_id) = client_id {
        tags.insert("client-id".to_string(), client_id.to_string());
    }
    let parameters = SetSecretParameters {
        value: Some("not-a-secret-of-the-app".into()),
        tags: Some(tags),
        ..SetSecretParameters::default()
    };
    admin_vault_client(h)
        .set_secret(SECRET_NAME, parameters.try_into().unwrap(), None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_delivers_the_secret_to_the_vault_tagged_and_nowhere_else() {
    let h = harness("secret_in_outputs = false\n").await;
    let applied = ok(&h, &["apply", "--auto-approve", "-vv"]);

    let secrets = key_ids(&h);
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    let versions = versions(&h);
    assert_eq!(versions.len(), 1, "{versions:?}");
    let version = &versions[0];
    assert_eq!(version["tags"]["key-id"], secrets[0].as_str());
    assert_eq!(version["tags"]["tenant-id"], TENANT);
    assert_eq!(version["tags"]["client-id"], h.app()["appId"]);
    assert_eq!(version["contentType"], "text/plain");
    let expires = time::OffsetDateTime::parse(
        h.our_secrets()[0]["endDateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(version["attributes"]["exp"], expires.unix_timestamp());

    // The value is the app's secret (the simulator issued it), and it is in no file, tag or
    // log line: the outputs hold the ids only.
    let value = vault_value(&h);
    assert!(h.running.sim.issued_secrets().contains(&value));
    assert!(!version.to_string().contains(&value));
    let outputs = h.outputs().expect("the outputs file holds the ids");
    assert!(outputs.secret.is_none());
    assert_eq!(outputs.client_id, h.app()["appId"].as_str().unwrap());
    let files = files_under(h.dir.path());
    assert!(files.len() >= 3, "outputs and sheets: {files:?}");
    for (path, text) in &files {
        assert!(
            !text.contains(&value),
            "{} holds the secret's value",
            path.display()
        );
    }
    assert!(!applied.text().contains(&value), "the log holds the secret");
    let sheet = std::fs::read_to_string(h.dir.path().join("out/pandora-itsm.md")).unwrap();
    assert!(
        sheet.contains(&format!("as secret `{SECRET_NAME}`"))
            && sheet.contains("render --from-vault"),
        "{sheet}"
    );

    // The vault write is delivery in the tenant's record: nothing left to do.
    let again = run(&h, &["plan"]);
    assert_eq!(again.code, 0, "{}", again.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_runner_trusts_the_vault_and_writes_nothing() {
    let h = harness("secret_in_outputs = false\n").await;
    ok(&h, &["apply", "--auto-approve"]);
    let delivered = key_ids(&h);
    // A new runner: no outputs directory at all.
    std::fs::remove_dir_all(h.dir.path().join("out")).unwrap();

    let plan = run(&h, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.text());
    let apply = ok(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.writes, 0, "{}", apply.text());
    assert_eq!(key_ids(&h), delivered);
    assert_eq!(versions(&h).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vault_copy_alone_proves_delivery_when_the_record_lacks_it() {
    let h = harness("secret_in_outputs = false\n").await;
    ok(&h, &["apply", "--auto-approve"]);
    let delivered = key_ids(&h);
    // The record entry is lost (say, a crash between the vault's answer and the record
    // write), and the secret is older than the pending window.
    h.running.sim.with_tenant(TENANT, |t| {
        for app in &mut t.applications {
            if let Some(tags) = app.data.get_mut("tags").and_then(Value::as_array_mut) {
                tags.retain(|t| !t.as_str().unwrap_or_default().contains(&delivered[0]));
            }
        }
    });
    h.age_secrets(time::Duration::hours(1));
    std::fs::remove_dir_all(h.dir.path().join("out")).unwrap();

    let apply = ok(&h, &["apply", "--auto-approve"]);
    assert_eq!(key_ids(&h), delivered, "{}", apply.text());
    assert!(
        !apply.text().contains("never delivered"),
        "{}",
        apply.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_vault_write_takes_the_new_secret_off_the_app() {
    let h = harness("").await;
    ok(&h, &["apply", "--auto-approve"]);
    let live = key_ids(&h);
    let delivered_tags = current_tags(&h);
    // The identity may now read the vault but not write it.
    let admin = h.running.tenant.admin_service_principal_id.clone();
    h.running
        .sim
        .with_key_vault(VAULT, |vault| {
            vault.access.insert(admin, vec!["get".to_string()]);
        })
        .unwrap();

    let rotate = run(&h, &["apply", "--auto-approve", "--rotate-secret"]);
    assert_eq!(rotate.code, 1, "{}", rotate.text());
    let text = rotate.text();
    assert!(text.contains("403 Forbidden"), "{text}");
    assert!(text.contains("Key Vault Secrets Officer"), "{text}");
    assert!(text.contains("removed from the app again"), "{text}");
    // The live secret is untouched, the new one gone, the vault as it was.
    assert_eq!(key_ids(&h), live);
    assert_eq!(current_tags(&h), delivered_tags);
    assert_eq!(versions(&h).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_that_cannot_be_read_stops_the_plan_naming_the_role() {
    let h = harness("").await;
    let admin = h.running.tenant.admin_service_principal_id.clone();
    h.running
        .sim
        .with_key_vault(VAULT, |vault| {
            vault.access.insert(admin, Vec::new());
        })
        .unwrap();
    let plan = run(&h, &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.text());
    assert!(
        plan.text().contains("refused to get secret"),
        "{}",
        plan.text()
    );
    assert!(
        plan.text().contains("Key Vault Secrets Officer"),
        "{}",
        plan.text()
    );
    assert_eq!(plan.writes, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_vault_is_reported_and_only_rotate_secret_replaces_it() {
    let h = harness("").await;
    ok(&h, &["apply", "--auto-approve"]);
    let before = key_ids(&h);
    write_foreign_version(&h, None).await;
    // A fresh runner: no one here holds the current secret's value.
    std::fs::remove_dir_all(h.dir.path().join("out")).unwrap();

    let plan = run(&h, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.text());
    assert!(
        plan.text().contains("which the app no longer has"),
        "{}",
        plan.text()
    );
    assert!(plan.text().contains("--rotate-secret"), "{}", plan.text());
    let apply = ok(&h, &["apply", "--auto-approve"]);
    assert_eq!(apply.writes, 0, "plan says, apply does not rotate");
    assert_eq!(key_ids(&h), before);

    ok(&h, &["apply", "--auto-approve", "--rotate-secret"]);
    let after = key_ids(&h);
    assert_eq!(after.len(), 2, "the old one keeps its grace period");
    assert_eq!(current_tags(&h)["key-id"], after[1].as_str());
    made_in_one_second(&h);
    std::fs::remove_dir_all(h.dir.path().join("out")).unwrap();
    let fixed = run(&h, &["plan"]);
    assert_eq!(fixed.code, 0, "{}", fixed.text());
    assert!(
        !fixed.text().contains("--rotate-secret"),
        "{}",
        fixed.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_configured_later_is_filled_from_the_secret_this_machine_holds() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    assert!(h.running.sim.add_key_vault(TENANT, VAULT));
    ok(&h, &["apply", "--auto-approve"]);
    let held = key_ids(&h);
    h.rewrite_config(&config_with_vault(&h, ""));

    let plan = run(&h, &["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    assert!(plan.text().contains("holds no secret"), "{}", plan.text());
    ok(&h, &["apply", "--auto-approve"]);
    assert_eq!(key_ids(&h), held, "delivered without rotating");
    assert_eq!(current_tags(&h)["key-id"], held[0].as_str());
    assert_eq!(
        vault_value(&h),
        h.outputs().unwrap().secret.unwrap().value.expose()
    );
    let again = run(&h, &["plan"]);
    assert_eq!(again.code, 0, "{}", again.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_deleted_secret_name_stops_a_new_secret_before_anything_is_written() {
    let h = harness("").await;
    ok(&h, &["apply", "--auto-approve"]);
    admin_vault_client(&h)
        .delete_secret(SECRET_NAME, None)
        .await
        .unwrap();
    std::fs::remove_dir_all(h.dir.path().join("out")).unwrap();

    let plan = run(&h, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.text());
    assert!(
        plan.text().contains("holds a soft-deleted secret named"),
        "{}",
        plan.text()
    );
    let rotate = run(&h, &["apply", "--auto-approve", "--rotate-secret"]);
    assert_eq!(rotate.code, 1, "{}", rotate.text());
    assert!(rotate.text().contains("soft-deleted"), "{}", rotate.text());
    assert!(rotate.text().contains("recover"), "{}", rotate.text());
    assert_eq!(rotate.writes, 0, "{}", rotate.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn render_from_the_vault_gives_the_sheet_the_outputs_file_gives() {
    let h = harness("").await;
    ok(&h, &["apply", "--auto-approve"]);
    let out = h.dir.path().join("out");
    let rendered = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let from_outputs: Vec<String> = ["pandora-itsm.md", "pandora-itsm.json"]
        .iter()
        .map(|f| rendered(f))
        .collect();
    assert!(from_outputs[0].contains(&vault_value(&h)));
    // An admin's machine, long after the pipeline ran: no outputs at all.
    std::fs::remove_dir_all(&out).unwrap();

    let render = run(&h, &["render", "--from-vault"]);
    assert_eq!(render.code, 0, "{}", render.text());
    let from_vault: Vec<String> = ["pandora-itsm.md", "pandora-itsm.json"]
        .iter()
        .map(|f| rendered(f))
        .collect();
    assert_eq!(from_vault, from_outputs);
    assert!(!render.text().contains(&vault_value(&h)));
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_signs_in_with_the_vault_secret_and_names_what_the_vault_needs() {
    let h = harness("secret_in_outputs = false\n").await;
    ok(&h, &["apply", "--auto-approve"]);
    let doctor = run(&h, &["doctor"]);
    assert_eq!(doctor.code, 0, "{}", doctor.text());
    let text = doctor.text();
    assert!(
        text.contains("delivered secret (in Key Vault): ok"),
        "{text}"
    );
    assert!(text.contains("Key Vault Secrets Officer"), "{text}");

    // A version whose value the app does not know is refused at sign-in.
    let client_id = h.app()["appId"].as_str().unwrap().to_string();
    write_foreign_version(&h, Some(&client_id)).await;
    let doctor = run(&h, &["doctor", "--output", "json"]);
    assert_eq!(doctor.code, 1, "{}", doctor.text());
    let report: Value = serde_json::from_str(&doctor.stdout).unwrap();
    assert_eq!(report["delivered_secret"]["source"], "key_vault");
    assert_eq!(report["delivered_secret"]["status"], "rejected", "{report}");
}

/// `--cloud` decides the vault's domain: a public-cloud vault URL with `--cloud china` stops
/// before the tenant is contacted, also against the simulated tenant.
#[test]
fn a_vault_of_another_cloud_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(root.join("examples/pandora-itsm.toml"))
        .unwrap()
        .replace("../policies/mfa-pilot.json", "policies/mfa-pilot.json");
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::copy(
        root.join("policies/mfa-pilot.json"),
        dir.path().join("policies/mfa-pilot.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("t.toml"), config).unwrap();
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_entra-mail"))
        .current_dir(dir.path())
        .env("ENTRA_MAIL_SIM_DIR", dir.path().join("sim"))
        .args([
            "apply",
            "--sim",
            "--cloud",
            "china",
            "--auto-approve",
            "-f",
            "t.toml",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is a vault of the Public cloud"),
        "{stderr}"
    );
    assert!(stderr.contains("vault.azure.cn"), "{stderr}");
    assert!(!dir.path().join("out/pandora-itsm/outputs.json").exists());
    let state = std::fs::read_to_string(dir.path().join("sim/state.json")).unwrap();
    assert!(
        !state.contains("pandora-itsm-mail"),
        "the tenant got the app"
    );
}

/// A vault that takes every write but never answers one: the failed write is read back, and
/// the new secret, which the vault holds, stays on the app.
#[tokio::test(flavor = "multi_thread")]
async fn a_vault_write_that_committed_but_failed_is_read_back_not_undone() {
    let faults = Faults {
        unavailable_after_writes_to: vec![format!("keyvault/{VAULT}/secrets/{SECRET_NAME}")],
        ..Faults::default()
    };
    let h = Harness::start(CONFIG, faults).await;
    assert!(h.running.sim.add_key_vault(TENANT, VAULT));
    h.rewrite_config(&config_with_vault(&h, ""));

    let apply = run(&h, &["apply", "--auto-approve", "--timeout", "3"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert!(h.running.sim.counters().unavailable >= 1);
    let live = key_ids(&h);
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(current_tags(&h)["key-id"], live[0].as_str());
}

/// The vault serves an older secret of ours past its grace period (the current one was
/// delivered elsewhere): readers of the vault still use it, so it is kept until the vault
/// holds its successor; on the machine that holds the successor, the vault gets it first.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_the_vault_still_serves_outlives_its_grace_period() {
    let h = harness("").await;
    ok(&h, &["apply", "--auto-approve"]);
    // A rotation by a run that did not deliver to the vault.
    h.rewrite_config(CONFIG);
    ok(&h, &["apply", "--auto-approve", "--rotate-secret"]);
    h.rewrite_config(&config_with_vault(&h, ""));
    let both = key_ids(&h);
    assert_eq!(both.len(), 2);
    assert_eq!(current_tags(&h)["key-id"], both[0].as_str());
    // Made in one second, the order on the app tells them apart, not the vault.
    made_in_one_second(&h);
    h.age_secrets(time::Duration::days(8));

    // A fresh runner: the vault's secret is past its grace, and no one here holds the new one.
    let out = h.dir.path().join("out");
    let held = std::fs::read(out.join("outputs.json")).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let apply = ok(&h, &["apply", "--auto-approve"]);
    assert!(
        apply.text().contains("Key Vault still serves it"),
        "{}",
        apply.text()
    );
    assert_eq!(key_ids(&h), both, "the served secret was removed");

    // The machine that holds the new secret delivers it, then removes the old one.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("outputs.json"), held).unwrap();
    let plan = run(&h, &["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    ok(&h, &["apply", "--auto-approve"]);
    assert_eq!(key_ids(&h), both[1..].to_vec());
    assert_eq!(current_tags(&h)["key-id"], both[1].as_str());
}

/// A cold apply that delivers to the vault, killed (`kill -9`) the moment its `nth` write has
/// committed, under 2 s of replication lag, then run again at once from the same runner.
/// Once lag has passed, plan exits 0 and the vault serves a live secret of ours that the
/// tenant records as delivered.
async fn killed_at(nth: u64) -> Result<(), String> {
    let faults = Faults {
        hold_answer_of_writes: vec![nth],
        replication_lag: std::time::Duration::from_secs(2),
        ..Faults::default()
    };
    let h = Harness::start(CONFIG, faults).await;
    assert!(h.running.sim.add_key_vault(TENANT, VAULT));
    h.rewrite_config(&config_with_vault(&h, ""));
    let dir = h.dir.path().to_path_buf();
    let (method, path) = h.apply_killed_at(&dir, nth).await?;
    let at = format!("killed at {method} {path}");
    let again = tokio::task::block_in_place(|| run(&h, &["apply", "--auto-approve"]));
    if again.code != 0 {
        return Err(format!("{at}: re-run:\n{}", again.text()));
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let plan = tokio::task::block_in_place(|| run(&h, &["plan"]));
    if plan.code != 0 {
        return Err(format!("{at}: plan:\n{}", plan.text()));
    }
    let served = current_tags(&h)["key-id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let recorded = h.app()["tags"].as_array().is_some_and(|tags| {
        tags.iter()
            .any(|t| t == &format!("entra-mail:secret:{served}"))
    });
    if !key_ids(&h).contains(&served) || !recorded {
        return Err(format!(
            "{at}: the vault serves {served:?}; the app has {:?}; recorded: {recorded}",
            key_ids(&h)
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_kill_at_every_write_with_a_vault_converges_on_the_rerun() {
    let baseline = harness("").await;
    let cold = tokio::task::block_in_place(|| ok(&baseline, &["apply", "--auto-approve"]));
    let writes = baseline.running.sim.counters().writes;
    let vault_writes = baseline
        .running
        .sim
        .request_log()
        .into_iter()
        .filter(|e| e.wrote && e.path.starts_with("keyvault/"))
        .count();
    assert_eq!(vault_writes, 1, "{}", cold.text());
    sweep_kills(writes, killed_at).await;
}
