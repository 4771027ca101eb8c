//! Many tenants in one run, through the CLI against a simulator holding three tenants, each
//! signing in with its own prefixed variables.

use crate::common;

use assert_cmd::Command;
use common::provision::CONFIG;
use entra_mail::sim::{Sim, SimOptions, TenantInfo, TenantSpec};
use serde_json::Value;

struct World {
    sim: Sim,
    tenants: Vec<TenantInfo>,
    ca: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
}

const NAMES: [&str; 3] = ["A", "B", "C"];

async fn world() -> World {
    let sim = Sim::start(SimOptions {
        tenants: NAMES
            .iter()
            .map(|n| TenantSpec {
                domain_label: format!("tenant{}", n.to_lowercase()),
                ..TenantSpec::default()
            })
            .collect(),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let tenants = sim.tenants();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), sim.ca_pem()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tenants")).unwrap();
    for (name, tenant) in NAMES.iter().zip(&tenants) {
        let config = CONFIG
            .replace("b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10", &tenant.tenant_id)
            .replace(
                "directory = \"out\"",
                &format!("directory = \"out-{name}\""),
            );
        std::fs::write(
            dir.path().join(format!("tenants/{name}.toml")),
            format!("{config}\n[auth]\nenv_prefix = \"TENANT_{name}_\"\n"),
        )
        .unwrap();
    }
    World {
        sim,
        tenants,
        ca,
        dir,
    }
}

impl World {
    /// The CLI, with tenant `wrong_secret` given a bad secret (if any).
    fn cli(&self, args: &[&str], wrong_secret: Option<usize>) -> (Option<i32>, Value, String) {
        let mut command = Command::cargo_bin("entra-mail").unwrap();
        command
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("ENTRA_MAIL_GRAPH_URL", self.sim.graph_url())
            .env("AZURE_AUTHORITY_HOST", self.sim.authority_host())
            .env("SSL_CERT_FILE", self.ca.path())
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("GITHUB_ACTIONS");
        for (i, (name, tenant)) in NAMES.iter().zip(&self.tenants).enumerate() {
            let secret = if wrong_secret == Some(i) {
                "not-it".to_string()
            } else {
                tenant.admin_client_secret.expose().to_string()
            };
            command.env(
                format!("TENANT_{name}_AZURE_CLIENT_ID"),
                &tenant.admin_client_id,
            );
            command.env(format!("TENANT_{name}_AZURE_CLIENT_SECRET"), secret);
        }
        let output = command
            .args(["--output", "json"])
            .args(args)
            .output()
            .unwrap();
        let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        (
            output.status.code(),
            report,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn has_app(&self, tenant: usize) -> bool {
        self.sim
            .tenant_snapshot(&self.tenants[tenant].tenant_id)
            .unwrap()["applications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["uniqueName"] == "pandora-itsm-mail")
    }
}

fn results(report: &Value) -> Vec<String> {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["result"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_tenant_with_bad_credentials_fails_alone() {
    let world = world().await;
    let (code, report, stderr) = world.cli(&["apply", "-f", "tenants", "--auto-approve"], Some(2));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(results(&report), ["changed", "changed", "failed"]);
    let error = report["tenants"][2]["error"].as_str().unwrap();
    assert!(error.contains("AADSTS7000215"), "{error}");
    assert!(report["tenants"][2]["config"]
        .as_str()
        .unwrap()
        .ends_with("C.toml"));
    assert!(world.has_app(0) && world.has_app(1) && !world.has_app(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_with_changes_in_one_tenant_exits_2() {
    let world = world().await;
    let (code, _, stderr) = world.cli(&["apply", "-f", "tenants", "--auto-approve"], None);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, report, _) = world.cli(&["plan", "-f", "tenants"], None);
    assert_eq!(code, Some(0));
    assert_eq!(results(&report), ["no_changes", "no_changes", "no_changes"]);

    let b = world.dir.path().join("tenants/B.toml");
    std::fs::write(
        &b,
        std::fs::read_to_string(&b).unwrap().replace(
            "display_name = \"Pandora ITSM mail\"",
            "display_name = \"Pandora ITSM mail (B)\"",
        ),
    )
    .unwrap();
    let (code, report, _) = world.cli(&["plan", "-f", "tenants"], None);
    assert_eq!(code, Some(2));
    assert_eq!(results(&report), ["no_changes", "changes", "no_changes"]);
    // The app's display name, and the sheet that shows it.
    assert_eq!(report["tenants"][1]["change"], 2);
    let addresses: Vec<&str> = report["tenants"][1]["plan"]["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses[0], "application.pandora-itsm-mail");
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_fast_skips_tenants_not_yet_started() {
    let world = world().await;
    let (code, report, _) = world.cli(
        &["plan", "-f", "tenants", "--concurrency", "1", "--fail-fast"],
        Some(0),
    );
    assert_eq!(code, Some(1));
    assert_eq!(results(&report), ["failed", "skipped", "skipped"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_lists_the_tenants() {
    let world = world().await;
    std::fs::write(
        world.dir.path().join("tenants.toml"),
        "configs = [\"tenants/A.toml\", \"tenants/C.toml\"]\n",
    )
    .unwrap();
    let (code, report, _) = world.cli(&["plan", "-f", "tenants.toml"], None);
    assert_eq!(code, Some(2));
    assert_eq!(results(&report), ["changes", "changes"]);
}
