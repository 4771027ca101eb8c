//! A config in a temporary directory, applied with the library against the simulator.

use std::path::PathBuf;
use std::time::Duration;

use entra_mail::apply::ApplyReport;
use entra_mail::config::{self, Desired};
use entra_mail::graph::GraphClient;
use entra_mail::kind::{ApplySettings, PlanError, PlanOptions};
use entra_mail::live::LiveState;
use entra_mail::outputs::Outputs;
use entra_mail::plan::Plan;
use entra_mail::progress::Progress;
use entra_mail::session::Session;
use entra_mail::sim::{Faults, SimOptions, TenantSpec};
use serde_json::Value;
use time::OffsetDateTime;

use super::sim::{start, Running};

pub const TENANT: &str = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10";

/// The seed's setup without Conditional Access (the provisioning core).
pub const CONFIG: &str = r#"
tenant_id = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10"

[app]
unique_name = "pandora-itsm-mail"
display_name = "Pandora ITSM mail"
redirect_uris = ["https://itsm.contoso.com/pandoraitsm/index.php?sec=godmode&sec2=godmode/setup/setup_mail"]

[secret]
lifetime_days = 180
renew_before_days = 30
grace_period_days = 7

[[permissions]]
resource = "Microsoft Graph"
delegated = ["IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send", "offline_access", "openid", "email", "User.Read"]

[api]
[[api.scopes]]
value = "mail.access"
admin_consent_display_name = "Access Pandora ITSM mail"
admin_consent_description = "Lets Pandora ITSM read and send the helpdesk mailbox."

[outputs]
directory = "out"

[pandora_itsm]
public_url = "https://itsm.contoso.com/pandoraitsm"
mailbox = "helpdesk@contoso.com"
"#;

/// A tenant whose admin app holds the default permissions with `swap`'s changes: each
/// `(from, to)` replaces `from` by `to`, or drops it when `to` is empty.
pub fn tenant_with_swapped_roles(swap: &[(&str, &str)]) -> TenantSpec {
    let admin_roles = entra_mail::sim::seed::DEFAULT_ADMIN_ROLES
        .iter()
        .filter_map(|role| match swap.iter().find(|(from, _)| from == role) {
            Some((_, "")) => None,
            Some((_, to)) => Some(to.to_string()),
            None => Some(role.to_string()),
        })
        .collect();
    TenantSpec {
        admin_roles,
        ..TenantSpec::default()
    }
}

/// What one CLI run did.
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Writes the simulator counted during the run.
    pub writes: u64,
}

impl CliRun {
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub struct Harness {
    pub running: Running,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub client: GraphClient,
}

impl Harness {
    pub async fn start(config: &str, faults: Faults) -> Harness {
        Self::start_with(config, faults, TenantSpec::default()).await
    }

    /// As [`Harness::start`], with the tenant built from `spec` (its id is always [`TENANT`]).
    pub async fn start_with(config: &str, faults: Faults, spec: TenantSpec) -> Harness {
        let running = start(SimOptions {
            faults,
            tenants: vec![TenantSpec {
                tenant_id: Some(TENANT.into()),
                ..spec
            }],
            ..SimOptions::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("tenant.toml");
        std::fs::write(&config_path, config).unwrap();
        let client = running.client();
        Harness {
            running,
            dir,
            config_path,
            client,
        }
    }

    /// The built CLI with `args` and `-f tenant.toml`, run in `dir` (a CI runner's checkout).
    pub fn run_cli(&self, dir: &std::path::Path, args: &[&str]) -> CliRun {
        self.run_command(self.running.cli(dir), args)
    }

    /// [`Harness::run_cli`] with a command of the caller's making (another sign-in, umask).
    pub fn run_command(&self, mut command: assert_cmd::Command, args: &[&str]) -> CliRun {
        let before = self.running.sim.counters().writes;
        let output = command
            .args(args)
            .args(["-f", "tenant.toml"])
            .output()
            .unwrap();
        CliRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            writes: self.running.sim.counters().writes - before,
        }
    }

    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(&self.config_path, config).unwrap();
    }

    pub fn desired(&self) -> Desired {
        config::load(&self.config_path).unwrap()
    }

    pub fn outputs(&self) -> Option<Outputs> {
        Outputs::read(&self.desired().outputs.directory).unwrap()
    }

    /// A library session for this harness's config, through its client.
    pub fn session(&self) -> Session<&GraphClient> {
        Session::new(&self.client, self.desired()).unwrap()
    }

    /// Plans a destroy with the library and runs it; the plan.
    pub async fn destroy(&self) -> Plan {
        let prepared = self.session().plan_destroy().await.unwrap();
        let progress = Progress::silent();
        prepared
            .apply(ApplySettings::new(Duration::from_secs(30), &progress))
            .await
            .unwrap();
        prepared.plan
    }

    pub async fn live(&self) -> LiveState {
        self.session().read().await.unwrap()
    }

    pub async fn plan_at(&self, now: OffsetDateTime) -> Plan {
        self.session()
            .plan(&PlanOptions::at(now))
            .await
            .unwrap()
            .plan
    }

    pub async fn plan(&self) -> Plan {
        self.plan_at(OffsetDateTime::now_utc()).await
    }

    /// Plans at `now` and applies; returns the plan and the report.
    pub async fn apply_at(&self, now: OffsetDateTime) -> (Plan, ApplyReport) {
        self.try_apply_with(&PlanOptions::at(now)).await.unwrap()
    }

    /// Plans with `options`; the plan's error when it refuses.
    pub async fn try_plan_with(&self, options: &PlanOptions) -> Result<Plan, PlanError> {
        let session = self.session();
        let live = session.read().await.unwrap();
        entra_mail::plan::build_with(&session.desired, &live, session.outputs.as_ref(), options)
    }

    /// Plans with `options` and applies.
    pub async fn try_apply_with(
        &self,
        options: &PlanOptions,
    ) -> Result<(Plan, ApplyReport), String> {
        try_apply(&self.client, &self.config_path, options).await
    }

    pub async fn apply(&self) -> (Plan, ApplyReport) {
        self.apply_at(OffsetDateTime::now_utc()).await
    }

    pub fn snapshot(&self) -> Value {
        self.running.sim.tenant_snapshot(TENANT).unwrap()
    }

    /// Our application in the simulator's directory.
    pub fn app(&self) -> Value {
        let snapshot = self.snapshot();
        let apps: Vec<Value> = snapshot["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["uniqueName"] == "pandora-itsm-mail")
            .cloned()
            .collect();
        assert_eq!(apps.len(), 1, "exactly one app carries our key");
        apps[0].clone()
    }

    pub fn our_service_principals(&self) -> Vec<Value> {
        let app_id = self.app()["appId"].clone();
        self.snapshot()["servicePrincipals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|sp| sp["appId"] == app_id)
            .cloned()
            .collect()
    }

    pub fn our_grants(&self) -> Vec<Value> {
        let sps = self.our_service_principals();
        let Some(sp) = sps.first() else {
            return Vec::new();
        };
        self.snapshot()["oauth2PermissionGrants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["clientId"] == sp["id"])
            .cloned()
            .collect()
    }

    /// Makes every client secret in the tenant `by` older (start and end move back), as if
    /// that much time had passed since each was made.
    pub fn age_secrets(&self, by: time::Duration) {
        age_secrets(&self.running.sim, TENANT, by);
    }

    pub fn our_secrets(&self) -> Vec<Value> {
        self.app()["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["displayName"] == "entra-mail")
            .cloned()
            .collect()
    }

    /// The method and path of the `nth` write (1-based) the simulator has seen.
    pub fn nth_write(&self, nth: u64) -> Option<(String, String)> {
        self.running
            .sim
            .request_log()
            .into_iter()
            .filter(|e| e.wrote)
            .nth(nth.checked_sub(1)? as usize)
            .map(|e| (e.method, e.path))
    }

    pub fn writes(&self) -> u64 {
        self.running.sim.counters().writes
    }

    /// Starts `apply --auto-approve` in `dir` and kills it (`kill -9`) once the simulator has
    /// seen `nth` writes (its faults hold that write's answer); that write's method and path.
    pub async fn apply_killed_at(
        &self,
        dir: &std::path::Path,
        nth: u64,
    ) -> Result<(String, String), String> {
        let mut child = self
            .running
            .cli_process(dir)
            .args(["apply", "--auto-approve", "-f", "tenant.toml"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while self.writes() < nth {
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("write {nth} never came"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap();
        let _ = child.wait();
        Ok(self.nth_write(nth).unwrap_or_default())
    }
}

/// Runs `killed_at(nth)` for every write from 1 to `writes` at once; fails listing each
/// write whose run did not converge.
pub async fn sweep_kills<F, Fut>(writes: u64, killed_at: F)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let sweeps: Vec<_> = (1..=writes)
        .map(|nth| tokio::spawn(killed_at(nth)))
        .collect();
    let mut failures = Vec::new();
    for sweep in sweeps {
        if let Err(e) = sweep.await.unwrap() {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The outputs the config at `config_path` names, if written.
pub fn outputs_of(config_path: &std::path::Path) -> Option<Outputs> {
    Outputs::read(&config::load(config_path).unwrap().outputs.directory).unwrap()
}

/// Plans the config at `config_path` with `options` and applies it through `client`: a
/// pipeline of its own against a tenant another [`Harness`] runs.
pub async fn try_apply(
    client: &GraphClient,
    config_path: &std::path::Path,
    options: &PlanOptions,
) -> Result<(Plan, ApplyReport), String> {
    let desired = config::load(config_path).map_err(|e| e.to_string())?;
    let prepared = Session::new(client, desired)
        .map_err(|e| e.to_string())?
        .plan(options)
        .await
        .map_err(|e| entra_mail::graph::error_chain(&e))?;
    let progress = Progress::silent();
    let report = prepared
        .apply(ApplySettings::new(Duration::from_secs(60), &progress))
        .await
        .map_err(|e| entra_mail::graph::error_chain(&e))?;
    Ok((prepared.plan, report))
}

/// [`Harness::age_secrets`] for any simulator and tenant.
pub fn age_secrets(sim: &entra_mail::sim::Sim, tenant: &str, by: time::Duration) {
    use time::format_description::well_known::Rfc3339;
    let shift = |value: &mut Value| {
        if let Some(text) = value.as_str() {
            if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
                *value = Value::String((t - by).format(&Rfc3339).unwrap());
            }
        }
    };
    sim.with_tenant(tenant, |t| {
        for app in &mut t.applications {
            if let Some(credentials) = app.data["passwordCredentials"].as_array_mut() {
                for credential in credentials {
                    shift(&mut credential["startDateTime"]);
                    shift(&mut credential["endDateTime"]);
                }
            }
        }
    });
}
