//! The built CLI against its in-process simulated tenant (`--sim`): the main job, exit
//! codes, confirmation, the secret's paths out, snapshots, and a leak scan.

use std::path::{Path, PathBuf};

use crate::common;

use assert_cmd::Command;
use common::files_under;
use common::provision::{Harness, CONFIG as CORE};
use entra_mail::sim::Faults;
use predicates::prelude::*;
use serde_json::Value;

const CONFIG: &str = include_str!("../../../examples/pandora-itsm.toml");

/// A working directory with the example config, its policy, and a private simulator state.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("examples")).unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("examples/pandora-itsm.toml"), CONFIG).unwrap();
        std::fs::write(
            dir.path().join("policies/mfa-pilot.json"),
            include_str!("../../../policies/mfa-pilot.json"),
        )
        .unwrap();
        Self { dir }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("entra-mail").unwrap();
        command
            .current_dir(self.dir.path())
            .env("ENTRA_MAIL_SIM_DIR", self.dir.path().join("sim"))
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("SSL_CERT_FILE")
            .env_remove("AZURE_CLIENT_SECRET")
            .args(args);
        command
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("examples/out/pandora-itsm")
    }

    fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.path().join("sim/state.json")).unwrap())
            .unwrap()
    }

    fn outputs(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.out().join("outputs.json")).unwrap()).unwrap()
    }

    fn secret(&self) -> String {
        self.outputs()["client_secret"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

const APPLY: &[&str] = &[
    "apply",
    "--sim",
    "-f",
    "examples/pandora-itsm.toml",
    "--auto-approve",
];
const PLAN: &[&str] = &["plan", "--sim", "-f", "examples/pandora-itsm.toml"];

/// Replaces what changes between runs (ids, dates, the secret) with placeholders.
fn normalise(text: &str, ws: &Workspace) -> String {
    let mut text = text.to_string();
    if ws.out().join("outputs.json").exists() {
        let outputs = ws.outputs();
        for (key, placeholder) in [
            ("client_id", "[client-id]"),
            ("application_object_id", "[object-id]"),
            ("service_principal_id", "[sp-id]"),
        ] {
            if let Some(value) = outputs[key].as_str() {
                text = text.replace(value, placeholder);
            }
        }
        text = text.replace(&ws.secret(), "[client-secret]");
        text = text.replace(
            outputs["client_secret"]["key_id"].as_str().unwrap(),
            "[key-id]",
        );
    }
    let in_180_days = (time::OffsetDateTime::now_utc() + time::Duration::days(180))
        .date()
        .to_string();
    text = text.replace(&in_180_days, "[expiry-date]");
    text.replace(&ws.dir.path().display().to_string(), "[workspace]")
}

#[test]
fn plan_exits_2_with_changes_then_apply_then_plan_exits_0() {
    let ws = Workspace::new();
    let plan = ws.cmd(PLAN).assert().code(2).get_output().stdout.clone();
    insta::assert_snapshot!(
        "cold_plan_text",
        normalise(&String::from_utf8(plan).unwrap(), &ws)
    );

    ws.cmd(APPLY)
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply complete: 7 added"));
    ws.cmd(PLAN)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes."));
    ws.cmd(APPLY)
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to apply: 0 writes"));
}

#[test]
fn the_json_plan_follows_terraforms_shape() {
    let ws = Workspace::new();
    let output = ws
        .cmd(&[
            "--output",
            "json",
            "plan",
            "--sim",
            "-f",
            "examples/pandora-itsm.toml",
        ])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let plan: Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(plan["changes_pending"], true);
    assert_eq!(
        plan["resource_changes"][0]["address"],
        "application.pandora-itsm-mail"
    );
    assert_eq!(
        plan["resource_changes"][0]["change"]["actions"],
        serde_json::json!(["create"])
    );
    let secret = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "client_secret")
        .unwrap();
    assert_eq!(secret["change"]["after"]["value"], "(sensitive)");
    insta::assert_snapshot!(
        "cold_plan_json",
        normalise(&serde_json::to_string_pretty(&plan).unwrap(), &ws)
    );
}

#[test]
fn the_pandora_sheet_holds_what_the_admin_types() {
    let ws = Workspace::new();
    ws.cmd(APPLY).assert().success();
    let sheet = std::fs::read_to_string(ws.out().join("pandora-itsm.md")).unwrap();
    assert!(sheet.contains(&ws.secret()));
    insta::assert_snapshot!("pandora_sheet", normalise(&sheet, &ws));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.out().join("pandora-itsm.json")).unwrap())
            .unwrap();
    assert_eq!(json["tenant_id"], "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10");
    assert_eq!(json["smtp"]["port"], 587);
    assert_eq!(json["incoming"]["port"], 993);
    #[cfg(unix)]
    for file in ["outputs.json", "pandora-itsm.md", "pandora-itsm.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.out().join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
}

#[test]
fn render_rewrites_the_sheet_without_the_tenant() {
    let ws = Workspace::new();
    ws.cmd(APPLY).assert().success();
    std::fs::remove_file(ws.out().join("pandora-itsm.md")).unwrap();
    ws.cmd(PLAN)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "rendered files are missing or differ",
        ));
    ws.cmd(&["render", "-f", "examples/pandora-itsm.toml"])
        .assert()
        .success();
    assert!(ws.out().join("pandora-itsm.md").exists());
    ws.cmd(PLAN).assert().code(0);
}

#[test]
fn apply_without_a_terminal_refuses_unless_auto_approved() {
    let ws = Workspace::new();
    ws.cmd(&["apply", "--sim", "-f", "examples/pandora-itsm.toml"])
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refusing to change the tenant without confirmation: stdin is not a terminal; review the plan and pass --auto-approve"));
    let state = ws.state();
    let apps = state["tenants"]["b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10"]["applications"]
        .as_array()
        .unwrap();
    assert!(
        apps.iter()
            .all(|a| a["data"]["uniqueName"] != "pandora-itsm-mail"),
        "nothing was written"
    );
    assert!(!ws.out().join("outputs.json").exists());
}

#[test]
fn secret_stdout_prints_only_the_secret() {
    let ws = Workspace::new();
    let output = ws
        .cmd(&[
            "apply",
            "--sim",
            "-f",
            "examples/pandora-itsm.toml",
            "--auto-approve",
            "--secret-stdout",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{}\n", ws.secret())
    );
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("Apply complete"));
}

#[test]
fn github_actions_masks_the_secret_on_stderr_before_anything_else() {
    let ws = Workspace::new();
    let output = ws
        .cmd(APPLY)
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let mask = format!("::add-mask::{}", ws.secret());
    assert!(!stdout.contains("::add-mask::"), "no mask line on stdout");
    assert!(!stdout.contains(&ws.secret()), "stdout never holds it");
    let first_mention = stderr.find(&ws.secret()).unwrap();
    assert_eq!(
        first_mention,
        stderr.find(&mask).unwrap() + "::add-mask::".len(),
        "the mask line comes first"
    );
    assert_eq!(
        stderr.matches(&ws.secret()).count(),
        1,
        "only the mask line holds it"
    );
}

#[test]
fn github_actions_secret_stdout_holds_exactly_the_secret() {
    let ws = Workspace::new();
    let output = ws
        .cmd(&[
            "apply",
            "--sim",
            "-f",
            "examples/pandora-itsm.toml",
            "--auto-approve",
            "--secret-stdout",
        ])
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{}\n", ws.secret())
    );
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains(&format!("::add-mask::{}", ws.secret())));
}

#[test]
fn github_actions_json_output_is_only_json() {
    let ws = Workspace::new();
    let mut args = vec!["--output", "json"];
    args.extend_from_slice(APPLY);
    let output = ws
        .cmd(&args)
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("::add-mask::"), "{stdout}");
    let _: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains(&format!("::add-mask::{}", ws.secret())));
}

/// The CLI against a simulator running in this test, so the simulator's record of every
/// secret and token it ever issued can be read after `destroy` has deleted the app.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_leaks_into_output_even_when_tracing_http() {
    let config = format!(
        "{CORE}\n[conditional_access]\nstate = \"report-only\"\npilot_groups = [\"MFA-Test-Group\"]\nemergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\"]\n"
    );
    let h = Harness::start(&config, Faults::default()).await;
    let dir = h.dir.path();
    let outputs = dir.join("out");
    let mut seen = String::new();
    let mut app_secret = None;
    for args in [
        &["apply", "--auto-approve"][..],
        &["plan"][..],
        &["destroy", "--auto-approve"][..],
    ] {
        let mut full = vec!["-vvv", "--trace-http"];
        full.extend_from_slice(args);
        let run = h.run_cli(dir, &full);
        assert_eq!(run.code, 0, "{args:?}: {}", run.text());
        seen.push_str(&run.text());
        if args[0] == "apply" {
            assert!(
                run.text().contains("secretText\":\"(redacted)"),
                "the trace shows the addPassword answer, redacted"
            );
            let held: Value =
                serde_json::from_slice(&std::fs::read(outputs.join("outputs.json")).unwrap())
                    .unwrap();
            app_secret = held["client_secret"]["value"].as_str().map(String::from);
        }
        // Only the outputs may hold the app's secret; nothing else the run leaves may.
        for (path, text) in files_under(dir) {
            if !path.starts_with(&outputs) {
                seen.push_str(&text);
            }
        }
    }
    // Whatever destroy left behind is scanned too (it removes the outputs).
    assert!(!outputs.join("outputs.json").exists());
    for (_, text) in files_under(dir) {
        seen.push_str(&text);
    }

    let issued = h.running.sim.issued_secrets();
    let app_secret = app_secret.expect("apply delivered the app's secret");
    assert!(
        issued.contains(&app_secret),
        "the simulator recorded the provisioned app's secret"
    );
    assert!(
        issued.contains(&h.running.tenant.admin_client_secret.expose().to_string()),
        "the simulator recorded the admin app's secret"
    );
    assert!(
        issued.len() >= 3,
        "the admin secret, the app's, and at least one access token: {}",
        issued.len()
    );
    for (i, secret) in issued.iter().enumerate() {
        assert!(
            !seen.contains(secret.as_str()),
            "issued secret or token #{i} leaked into the output"
        );
    }
}

#[test]
fn destroy_removes_the_app_and_the_outputs_and_runs_twice() {
    let ws = Workspace::new();
    ws.cmd(APPLY).assert().success();
    let destroy = &[
        "destroy",
        "--sim",
        "-f",
        "examples/pandora-itsm.toml",
        "--auto-approve",
    ];
    ws.cmd(destroy)
        .assert()
        .success()
        .stdout(predicate::str::contains("Destroy complete: 4 removed."));
    assert!(!ws.out().join("outputs.json").exists());
    assert!(!ws.out().join("pandora-itsm.md").exists());
    ws.cmd(destroy)
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to destroy"));
    ws.cmd(PLAN).assert().code(2);
}

#[allow(dead_code)]
fn exists(path: &Path) -> bool {
    path.exists()
}

#[cfg(unix)]
#[test]
fn the_simulators_directory_is_private_under_any_umask() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    let status = std::process::Command::new("sh")
        .current_dir(ws.dir.path())
        .env("ENTRA_MAIL_SIM_DIR", ws.dir.path().join("sim"))
        .env("NO_COLOR", "1")
        .env_remove("SSL_CERT_FILE")
        .env_remove("AZURE_CLIENT_SECRET")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_entra-mail"))
        .args(["plan", "--sim", "-f", "examples/pandora-itsm.toml"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2), "{status:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ws.dir.path().join("sim")), 0o700);
    assert_eq!(mode(&ws.dir.path().join("sim/state.json")), 0o600);
}

/// `destroy` and `render` speak JSON like `plan` and `apply`, and destroy gives each object
/// the address plan gave it (a grant by its resource's name, not its id).
#[test]
fn destroy_and_render_honour_output_json_with_plan_addresses() {
    let ws = Workspace::new();
    let plan = ws
        .cmd(&[
            "plan",
            "--sim",
            "-f",
            "examples/pandora-itsm.toml",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let planned: Vec<String> = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect();
    ws.cmd(APPLY).assert().success();

    let render = ws
        .cmd(&[
            "render",
            "-f",
            "examples/pandora-itsm.toml",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(render.status.success());
    let render: Value = serde_json::from_slice(&render.stdout).expect("render prints JSON");
    let rendered = render["rendered"].as_array().unwrap();
    assert!(
        rendered
            .iter()
            .any(|p| p.as_str().unwrap().ends_with("pandora-itsm.md")),
        "{render}"
    );

    let destroy = ws
        .cmd(&[
            "destroy",
            "--sim",
            "-f",
            "examples/pandora-itsm.toml",
            "--auto-approve",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        destroy.status.success(),
        "{}",
        String::from_utf8_lossy(&destroy.stderr)
    );
    let destroy: Value = serde_json::from_slice(&destroy.stdout).expect("destroy prints JSON");
    assert_eq!(destroy["plan"]["purpose"], "destroy");
    let destroyed: Vec<&str> = destroy["destroyed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        destroyed.contains(&"oauth2_permission_grant.microsoft-graph"),
        "{destroyed:?}"
    );
    for address in &destroyed {
        assert!(
            planned.iter().any(|p| p == address),
            "{address} is not an address plan gives: {planned:?}"
        );
    }
    assert!(
        destroy["outputs"]["removed"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{destroy}"
    );
}

/// With several configs, `render --output json` reports what it rendered before a config
/// that cannot be rendered, and the error, and exits 1.
#[test]
fn render_json_reports_what_it_did_before_a_failure() {
    let ws = Workspace::new();
    ws.cmd(APPLY).assert().success();
    let second = CONFIG
        .replace(
            "unique_name = \"pandora-itsm-mail\"",
            "unique_name = \"second-mail\"",
        )
        .replace("out/pandora-itsm", "out/second");
    assert_ne!(second, CONFIG, "the second config has its own app");
    std::fs::write(ws.dir.path().join("examples/second.toml"), second).unwrap();
    let run = ws
        .cmd(&[
            "render",
            "-f",
            "examples/pandora-itsm.toml",
            "-f",
            "examples/second.toml",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&run.stdout).expect("one JSON document");
    let report = report.as_array().expect("one entry per config");
    assert!(
        report[0]["rendered"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{report:?}"
    );
    assert!(
        report[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no outputs")),
        "{report:?}"
    );
}
