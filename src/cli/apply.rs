//! `entra-mail apply` and `destroy`: show the plan, confirm, change the tenant, save outputs.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::plan::{connect, load_configs, prepare, sim_for, PlanArgs};
use super::session::TenantArgs;
use super::{GlobalArgs, OutputFormat};
use crate::apply::ApplyReport;
use crate::kind::{Action, ApplySettings, SecretHook};
use crate::plan::{report, Plan};
use crate::progress::Progress;
use crate::resources::client_secret::{find_held_secret, HeldSecretInTenant};
use crate::session::Prepared;

#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Print only the client secret on stdout (for piping into a vault); everything else
    /// goes to stderr.
    #[arg(long)]
    pub secret_stdout: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Destroy without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// Where reports go: stdout, or stderr when stdout is reserved for the secret.
fn report_line(to_stderr: bool, text: &str) {
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
}

/// Asks on the terminal; refuses without one.
fn confirm(question: &str, auto_approve: bool) -> anyhow::Result<bool> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing to change the tenant without confirmation: stdin is not a terminal; review the plan and pass --auto-approve");
    }
    eprint!("{question} Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Masks the secret in GitHub Actions logs before anything can print it. The runner reads
/// workflow commands on stderr too, so stdout stays for the secret alone (`--secret-stdout`)
/// or the JSON summary (`--output json`).
fn secret_hook() -> Option<SecretHook> {
    let on_github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    on_github.then(|| -> SecretHook {
        Box::new(|secret| {
            eprintln!("::add-mask::{}", secret.expose());
            let _ = std::io::stderr().flush();
        })
    })
}

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    if args.secret_stdout && global.output == OutputFormat::Json {
        bail!("--secret-stdout prints only the secret on stdout, so it cannot be combined with --output json");
    }
    for desired in &configs {
        if args.secret_stdout && !desired.outputs.secret_in_outputs {
            bail!(
                "--secret-stdout: {} sets outputs.secret_in_outputs = false, so this run keeps no copy of the secret to print; the vault holds it",
                desired.source.display()
            );
        }
        crate::outputs::check_writable(&desired.outputs.directory)?;
    }
    let sim = sim_for(&args.plan.tenant, &configs).await?;
    let to_stderr = args.secret_stdout || global.output == OutputFormat::Json;
    if configs.len() > 1 {
        if args.secret_stdout {
            bail!("--secret-stdout prints one secret; with several tenants, read each tenant's outputs.json");
        }
        return apply_many(global, args, configs, sim.as_ref()).await;
    }
    let mut summaries = Vec::new();
    for desired in configs {
        let prepared = prepare(global, &args.plan, desired, sim.as_ref()).await?;
        summaries.push(apply_one(global, args, prepared, to_stderr).await?);
    }
    if global.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&summaries.remove(0))?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Several tenants: plan them all at once, show every plan, ask once, apply them all at once
/// (up to --concurrency), then one summary. A failed tenant does not stop the others unless
/// --fail-fast.
async fn apply_many(
    global: &GlobalArgs,
    args: &ApplyArgs,
    configs: Vec<crate::config::Desired>,
    sim: Option<&super::session::Sim>,
) -> anyhow::Result<ExitCode> {
    use super::tenants::{run_all, TenantOutcome};
    let concurrency = args.plan.tenant.concurrency as usize;
    let sources: Vec<_> = configs
        .iter()
        .map(|d| (d.source.clone(), d.tenant_id.to_string()))
        .collect();
    let prepared = run_all(
        configs,
        concurrency,
        args.plan.tenant.fail_fast,
        |desired| prepare(global, &args.plan, desired, sim),
    )
    .await;
    let text = global.output == OutputFormat::Text;
    let mut outcomes: Vec<TenantOutcome> = Vec::new();
    let mut ready = Vec::new();
    for ((config, tenant), result) in sources.iter().cloned().zip(prepared) {
        let failed = |result: &'static str, error: String| {
            TenantOutcome::not_run(config.clone(), tenant.clone(), result, error)
        };
        match result {
            Some(Ok(prepared)) => {
                if text {
                    print!("{}", report::text(&prepared.plan, report::Style::detect()));
                }
                let mut outcome = super::plan::outcome_of(config.clone(), &prepared.plan);
                outcome.next_steps = Some(next_steps_json(&prepared.session.desired));
                if prepared.plan.has_changes() {
                    ready.push((outcomes.len(), prepared));
                } else if let Err(error) = narrow_outputs(&prepared.session.desired, |line| {
                    if text {
                        print!("{line}");
                    }
                }) {
                    // Nothing else happens for this tenant: it asks no question either.
                    outcome.result = "failed";
                    outcome.error = Some(super::one_line(&error));
                }
                outcomes.push(outcome);
            }
            Some(Err(error)) => outcomes.push(failed("failed", super::one_line(&error))),
            None => outcomes.push(failed(
                "skipped",
                "skipped after a failure (--fail-fast)".into(),
            )),
        }
    }
    let stop_early = args.plan.tenant.fail_fast && outcomes.iter().any(|o| o.result == "failed");
    if !ready.is_empty() && !stop_early {
        let question = format!(
            "\nApply these changes to {} tenant{}?",
            ready.len(),
            if ready.len() == 1 { "" } else { "s" }
        );
        if !confirm(&question, args.auto_approve)? {
            bail!("apply cancelled; nothing was changed");
        }
        let multi = indicatif::MultiProgress::new();
        let results = run_all(
            ready,
            concurrency,
            args.plan.tenant.fail_fast,
            |(index, prepared)| {
                let progress = Progress::for_tenant(
                    &multi,
                    &prepared.session.desired.source.display().to_string(),
                    global.quiet,
                );
                async move {
                    let applied = execute(prepared, args.plan.tenant.budget(), &progress).await;
                    Ok::<_, std::convert::Infallible>((index, applied))
                }
            },
        )
        .await;
        for result in results.into_iter().flatten().flatten() {
            let (index, applied) = result;
            match applied {
                Ok(_) => outcomes[index].result = "changed",
                Err(error) => {
                    outcomes[index].result = "failed";
                    outcomes[index].error = Some(super::one_line(&error));
                }
            }
        }
    }
    for outcome in &mut outcomes {
        // Steps are for tenants that are set up.
        if !matches!(outcome.result, "changed" | "no_changes") {
            outcome.next_steps = None;
        }
    }
    super::tenants::print_report(&outcomes, global.output)?;
    if text {
        print!("{}", super::tenants::next_steps_text(&outcomes));
    }
    let failed = outcomes.iter().any(super::tenants::TenantOutcome::failed);
    Ok(super::exit_code(failed))
}

/// Makes the outputs directory and files private where they are not (the plan warned), on
/// every apply: a run that changes nothing rewrites no file. Says so through `say`; the
/// narrowed paths as JSON.
fn narrow_outputs(
    desired: &crate::config::Desired,
    say: impl Fn(&str),
) -> anyhow::Result<serde_json::Value> {
    let narrowed = crate::resources::outputs_files::narrow_modes(desired)?;
    for loose in &narrowed {
        say(&format!("{}\n", capitalised(&loose.narrowed())));
    }
    Ok(serde_json::json!(narrowed
        .iter()
        .map(|l| l.json())
        .collect::<Vec<_>>()))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Runs a prepared plan; the report.
async fn execute(
    prepared: Prepared,
    budget: std::time::Duration,
    progress: &Progress,
) -> anyhow::Result<ApplyReport> {
    narrow_outputs(&prepared.session.desired, |line| {
        progress.note(line.trim_end())
    })?;
    let mut settings = ApplySettings::new(budget, progress);
    settings.on_new_secret = secret_hook();
    let report = prepared.apply(settings).await;
    progress.finish();
    Ok(report?)
}

async fn apply_one(
    global: &GlobalArgs,
    args: &ApplyArgs,
    prepared: Prepared,
    to_stderr: bool,
) -> anyhow::Result<serde_json::Value> {
    let (desired, client, plan) = (
        &prepared.session.desired,
        prepared.session.client(),
        &prepared.plan,
    );
    let style = report::Style::detect();
    report_line(to_stderr, &report::text(plan, style));
    let mut summary = summary_json(plan);
    if !plan.has_changes() {
        summary["narrowed"] = narrow_outputs(desired, |line| report_line(to_stderr, line))?;
        let (requests, writes) = client.request_counts();
        report_line(
            to_stderr,
            &format!("Nothing to apply: {writes} writes ({requests} Graph requests, all reads).\n"),
        );
        if args.secret_stdout {
            print_held_secret(prepared.session.outputs.as_ref())?;
        }
        summary["graph_requests"] = requests.into();
        summary["graph_writes"] = writes.into();
        summary["next_steps"] = say_next_steps(desired, global.output, to_stderr);
        return Ok(summary);
    }
    if !confirm("\nApply these changes?", args.auto_approve)? {
        bail!("apply cancelled; nothing was changed");
    }
    summary["narrowed"] = narrow_outputs(desired, |line| report_line(to_stderr, line))?;
    let progress = Progress::new(global.quiet);
    let mut settings = ApplySettings::new(args.plan.tenant.budget(), &progress);
    settings.on_new_secret = secret_hook();
    let result = prepared.apply(settings).await;
    progress.finish();
    let report = result?;
    let (requests, writes) = client.request_counts();
    let outputs_path = crate::outputs::Outputs::path_in(&desired.outputs.directory);
    let holds_secret = report.outputs.as_ref().is_some_and(|o| o.secret.is_some());
    let vault = prepared.session.vault.as_ref().map(|v| v.target());
    let vault_line = vault.map_or(String::new(), |target| {
        format!(
            "Key Vault: {} secret `{}` {}\n",
            target.display(),
            target.secret_name,
            if report.new_secret {
                "holds the new client secret, tagged with its keyId"
            } else {
                "is where the client secret is kept"
            }
        )
    });
    let outputs_line = if report.outputs.is_none() {
        String::new()
    } else if holds_secret {
        format!(
            "Outputs: {} (mode 0600: it holds the client secret)\n",
            outputs_path.display()
        )
    } else if vault.is_some() && !desired.outputs.secret_in_outputs {
        format!(
            "Outputs: {} (ids only: outputs.secret_in_outputs = false keeps the secret in the Key Vault alone)\n",
            outputs_path.display()
        )
    } else {
        format!(
            "Outputs: {} (ids only: the tenant's client secret was delivered by an earlier run; --rotate-secret makes a new one)\n",
            outputs_path.display()
        )
    };
    report_line(
        to_stderr,
        &format!(
            "\nApply complete: {} added, {} changed, {} removed{}; {requests} Graph requests ({writes} writes){}.\n{vault_line}{outputs_line}",
            plan.count(Action::Create),
            plan.count(Action::Update),
            plan.count(Action::Delete),
            match plan.count(Action::Adopt) {
                0 => String::new(),
                n => format!(", {n} adopted"),
            },
            waits_note(report.replication_waits, client.wait_stats()),
        ),
    );
    if args.secret_stdout {
        print_held_secret(report.outputs.as_ref())?;
    }
    summary["applied"] = serde_json::json!(report.applied);
    if let Some(target) = vault {
        summary["key_vault"] = serde_json::json!({
            "url": target.display(),
            "secret": target.secret_name,
            "new_secret": report.new_secret,
        });
    }
    summary["graph_requests"] = requests.into();
    summary["graph_writes"] = writes.into();
    summary["replication_waits"] = report.replication_waits.into();
    summary["retries"] = client.wait_stats().retries.into();
    summary["retry_wait_seconds"] = client.wait_stats().waited.as_secs_f64().into();
    summary["outputs"] = serde_json::json!(outputs_path);
    summary["next_steps"] = say_next_steps(desired, global.output, to_stderr);
    Ok(summary)
}

/// The admin's next steps, with real paths: numbered prose on a terminal, one line each in
/// a log, and in the JSON report (returned) always.
fn say_next_steps(
    desired: &crate::config::Desired,
    output: OutputFormat,
    to_stderr: bool,
) -> serde_json::Value {
    use std::io::IsTerminal;
    let steps = crate::render::next_steps(desired);
    if !steps.is_empty() && output == OutputFormat::Text {
        let on_terminal = if to_stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        report_line(
            to_stderr,
            &next_steps_text(&steps, &desired.outputs.directory, on_terminal),
        );
    }
    next_steps_json(desired)
}

/// The next steps as the JSON report holds them: `number`, `text`, `path` (or null).
pub(super) fn next_steps_json(desired: &crate::config::Desired) -> serde_json::Value {
    let directory = &desired.outputs.directory;
    serde_json::json!(crate::render::next_steps(desired)
        .iter()
        .map(|step| serde_json::json!({
            "number": step.number,
            "text": step.text,
            "path": step.file.as_ref().map(|f| directory.join(f)),
        }))
        .collect::<Vec<_>>())
}

/// `next step 2/4: <text>: <path>`, one line a search finds whole.
pub(super) fn next_step_line(
    number: usize,
    total: usize,
    text: &str,
    path: Option<&str>,
) -> String {
    let path = path.map_or(String::new(), |p| format!(": {p}"));
    format!("next step {number}/{total}: {text}{path}\n")
}

/// Numbered prose for a person; for a log, one line per step that a search finds whole.
fn next_steps_text(
    steps: &[crate::helpdesk::NextStep],
    directory: &std::path::Path,
    on_terminal: bool,
) -> String {
    let path_of = |step: &crate::helpdesk::NextStep| {
        step.file
            .as_ref()
            .map(|file| directory.join(file).display().to_string())
    };
    if !on_terminal {
        return steps
            .iter()
            .map(|step| {
                next_step_line(
                    step.number,
                    steps.len(),
                    &step.text,
                    path_of(step).as_deref(),
                )
            })
            .collect();
    }
    let mut text = String::from("\nNext steps:\n");
    for step in steps {
        text.push_str(&format!("  {}. {}\n", step.number, step.text));
        if let Some(path) = path_of(step) {
            text.push_str(&format!("     {path}\n"));
        }
    }
    text
}

/// ", waited 4.2 s (3 retries after throttling or unavailability, 2 replication waits)".
fn waits_note(replication_waits: u32, stats: crate::graph::WaitStats) -> String {
    if replication_waits == 0 && stats.retries == 0 {
        return String::new();
    }
    format!(
        "; waited out {} retr{} after throttling, unavailability or a broken connection ({:.1} s) and {replication_waits} replication delay{}",
        stats.retries,
        if stats.retries == 1 { "y" } else { "ies" },
        stats.waited.as_secs_f64(),
        if replication_waits == 1 { "" } else { "s" }
    )
}

fn print_held_secret(outputs: Option<&crate::outputs::Outputs>) -> anyhow::Result<()> {
    let Some(secret) = outputs.and_then(|o| o.secret.as_ref()) else {
        bail!("--secret-stdout: this machine holds no client secret: the tenant's secret of ours was delivered by an earlier run and is kept; pass --rotate-secret to make (and print) a new one");
    };
    println!("{}", secret.value.expose());
    Ok(())
}

fn summary_json(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "config": plan.source,
        "tenant_id": plan.tenant_id,
        "plan": report::json(plan),
    })
}

pub async fn destroy(global: &GlobalArgs, args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    let sim = sim_for(&args.tenant, &configs).await?;
    let json = global.output == OutputFormat::Json;
    let mut summaries = Vec::new();
    let mut failed = false;
    for desired in configs {
        let source = desired.source.clone();
        match destroy_one(global, args, desired, sim.as_ref()).await {
            Ok(summary) => summaries.push(summary),
            // With JSON, what was destroyed before the failure is still reported.
            Err(error) if json => {
                summaries
                    .push(serde_json::json!({"config": source, "error": super::one_line(&error)}));
                failed = true;
                break;
            }
            Err(error) => return Err(error),
        }
    }
    if json {
        return super::finish_json_reports(summaries, failed);
    }
    Ok(super::exit_code(failed))
}

/// Plans and runs one config's destroy; its JSON summary.
async fn destroy_one(
    global: &GlobalArgs,
    args: &DestroyArgs,
    desired: crate::config::Desired,
    sim: Option<&super::session::Sim>,
) -> anyhow::Result<serde_json::Value> {
    let json = global.output == OutputFormat::Json;
    // No apply plan here: a missing group, an unknown permission or the lockout guard
    // must not stop a destroy.
    let session = connect(global, &args.tenant, desired, sim).await?;
    let prepared = session.plan_destroy().await?;
    let (desired, client, plan) = (
        &prepared.session.desired,
        prepared.session.client(),
        &prepared.plan,
    );
    let outputs = prepared.session.outputs.as_ref();
    let mut summary = summary_json(plan);
    if !json && plan.has_changes() {
        print!("{}", report::text(plan, report::Style::detect()));
    }
    if !plan.has_changes() {
        if !json {
            for warning in &plan.warnings {
                println!("warning: {warning}");
            }
        }
        let note = remove_dead_outputs(client, desired, outputs).await;
        if !json {
            println!(
                "Nothing to destroy in tenant {}: no object carries our keys or is recorded as ours.{}",
                desired.tenant_id, note.sentence()
            );
        }
        summary["outputs"] = note.json();
        return Ok(summary);
    }
    if !confirm("\nDestroy these objects?", args.auto_approve)? {
        bail!("destroy cancelled; nothing was changed");
    }
    let progress = Progress::new(global.quiet);
    let result = prepared
        .apply(ApplySettings::new(args.tenant.budget(), &progress))
        .await;
    progress.finish();
    let report = result?;
    let note = remove_dead_outputs(client, desired, outputs).await;
    if !json {
        println!(
            "\nDestroy complete: {} removed.{}",
            plan.count(Action::Delete),
            note.sentence()
        );
    }
    summary["destroyed"] = serde_json::json!(report.applied);
    summary["graph_requests"] = client.request_counts().0.into();
    summary["graph_writes"] = client.request_counts().1.into();
    summary["outputs"] = note.json();
    Ok(summary)
}

/// What destroy did with this machine's outputs.
enum OutputsNote {
    /// Kept: the secret they hold still exists in the tenant, on app `client_id`.
    Kept {
        path: std::path::PathBuf,
        key_id: uuid::Uuid,
        client_id: String,
    },
    Removed(Vec<std::path::PathBuf>),
}

impl OutputsNote {
    fn sentence(&self) -> String {
        match self {
            OutputsNote::Kept {
                path,
                key_id,
                client_id,
            } => format!(
                " Kept {}: its client secret (keyId {key_id}) still exists in the tenant on app {client_id}.",
                path.display()
            ),
            OutputsNote::Removed(removed) if removed.is_empty() => String::new(),
            OutputsNote::Removed(removed) => {
                let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
                format!(
                    " Removed the outputs that held its secret: {}.",
                    names.join(", ")
                )
            }
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            OutputsNote::Kept {
                path,
                key_id,
                client_id,
            } => {
                serde_json::json!({"kept": path, "reason": format!("its client secret (keyId {key_id}) still exists in the tenant on app {client_id}")})
            }
            OutputsNote::Removed(removed) => serde_json::json!({"removed": removed}),
        }
    }
}

/// Removes the outputs (they hold a secret) unless their secret still exists in the tenant,
/// on whatever app: then someone may still use it, and the file is its only copy here.
async fn remove_dead_outputs(
    client: &crate::graph::GraphClient,
    desired: &crate::config::Desired,
    outputs: Option<&crate::outputs::Outputs>,
) -> OutputsNote {
    if let Some((held, secret)) = outputs.and_then(|o| o.secret.as_ref().map(|s| (o, s))) {
        let alive = match find_held_secret(client, &held.client_id, secret.key_id).await {
            Ok(HeldSecretInTenant::Listed(_)) => true,
            Ok(HeldSecretInTenant::AppGone | HeldSecretInTenant::SecretGone) => false,
            // Unknown: keep the file rather than lose a secret that may be in use.
            Err(_) => true,
        };
        if alive {
            return OutputsNote::Kept {
                path: crate::outputs::Outputs::path_in(&desired.outputs.directory),
                key_id: secret.key_id,
                client_id: held.client_id.clone(),
            };
        }
    }
    OutputsNote::Removed(crate::render::remove_all(desired))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::NextStep;

    fn steps() -> Vec<NextStep> {
        vec![
            NextStep {
                number: 1,
                text: "Open the sheet".into(),
                file: Some("glpi.md".into()),
            },
            NextStep {
                number: 2,
                text: "Enter the values".into(),
                file: None,
            },
        ]
    }

    #[test]
    fn a_terminal_gets_numbered_steps_with_real_paths() {
        let text = next_steps_text(&steps(), std::path::Path::new("out/x"), true);
        assert!(
            text.contains("  1. Open the sheet\n     out/x/glpi.md\n"),
            "{text}"
        );
        assert!(text.contains("  2. Enter the values\n"), "{text}");
    }

    #[test]
    fn a_log_gets_one_line_per_step() {
        let text = next_steps_text(&steps(), std::path::Path::new("out/x"), false);
        assert_eq!(
            text,
            "next step 1/2: Open the sheet: out/x/glpi.md\nnext step 2/2: Enter the values\n"
        );
    }
}
