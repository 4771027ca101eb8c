//! `entra-mail plan`: what apply would change. Exit 0 no changes, 2 changes, 1 error.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use time::OffsetDateTime;

use super::session::{self, Sim, TenantArgs};
use super::{validate, GlobalArgs, OutputFormat};
use crate::config::discover::LoadError;
use crate::config::{self, Desired};
use crate::graph::GraphClient;
use crate::kind::PlanOptions;
use crate::plan::{report, Plan};
use crate::session::{Prepared, Session};

/// Exit code of `plan` when changes are pending (Terraform's `-detailed-exitcode`).
pub const CHANGES_PENDING: u8 = 2;

/// Loads every `-f` config; on errors shows them and returns `Err(exit code)`.
pub fn load_configs(global: &GlobalArgs) -> Result<Vec<Desired>, ExitCode> {
    config::discover::load_all(&global.config).map_err(|error| {
        show_load_error(&error);
        ExitCode::FAILURE
    })
}

/// Shows why the configs cannot be worked on, each config's problems at their lines.
fn show_load_error(error: &LoadError) {
    match error {
        LoadError::NoConfig => eprintln!(
            "error: no config file given; pass one with -f FILE (try examples/pandora-itsm.toml)"
        ),
        LoadError::Discovery(error) => eprintln!("error: {error}"),
        LoadError::Invalid(failed) => {
            for loaded in failed {
                if let Err(error) = &loaded.result {
                    validate::print_errors(error, loaded.source());
                }
            }
        }
        // Before any tenant is contacted: a shared directory would lose one tenant's secret.
        LoadError::SharedOutputs(shared) => {
            for error in shared {
                eprintln!("error: {error}");
            }
        }
    }
}

/// What `plan` and `apply` may do beyond correcting the tenant.
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Take over an app or Conditional Access policy named like ours that an admin made by
    /// hand (in the portal): it is recorded as entra-mail's and corrected to the config.
    #[arg(long)]
    pub adopt: bool,
    /// Make a new client secret even though the current one is valid; the old one keeps its
    /// grace period (like Terraform's -replace).
    #[arg(long)]
    pub rotate_secret: bool,
}

/// Signs in and checks the token (the right tenant, every permission the config's kinds
/// need): everything before the tenant is read.
pub async fn connect(
    global: &GlobalArgs,
    args: &TenantArgs,
    desired: Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Session> {
    let connection = session::connect(global, args, &desired, sim)?;
    let client = connection.graph;
    let report = Session::<GraphClient>::check_sign_in(&client, &desired).await?;
    tracing::info!(
        "signed in as {} {} with {}",
        report.kind,
        report.identity,
        report.permissions.join(", ")
    );
    Ok(Session::new(client, desired)?.with_vault(connection.vault))
}

/// Signs in, reads the tenant and plans with the command line's options.
pub async fn prepare(
    global: &GlobalArgs,
    args: &PlanArgs,
    desired: Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Prepared> {
    let options = PlanOptions {
        now: OffsetDateTime::now_utc(),
        allow_lockout_risk: args.tenant.allow_lockout_risk,
        staged: args.tenant.staged,
        adopt: args.adopt,
        rotate_secret: args.rotate_secret,
    };
    let session = connect(global, &args.tenant, desired, sim).await?;
    Ok(session.plan(&options).await?)
}

/// Starts the simulator when `--sim` asks for it.
#[cfg_attr(not(feature = "sim"), allow(unused_variables))]
pub async fn sim_for(args: &TenantArgs, configs: &[Desired]) -> anyhow::Result<Option<Sim>> {
    #[cfg(feature = "sim")]
    if args.sim {
        return Ok(Some(session::start_sim(configs).await?));
    }
    Ok(None)
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    let sim = sim_for(&args.tenant, &configs).await?;
    let sources: Vec<_> = configs
        .iter()
        .map(|d| (d.source.clone(), d.tenant_id.to_string()))
        .collect();
    let results = super::tenants::run_all(
        configs,
        args.tenant.concurrency as usize,
        args.tenant.fail_fast,
        |desired| {
            let sim = sim.as_ref();
            async move { prepare(global, args, desired, sim).await.map(|p| p.plan) }
        },
    )
    .await;
    if sources.len() == 1 {
        let plan = match results.into_iter().next().flatten() {
            Some(result) => result?,
            None => anyhow::bail!("no plan was made"),
        };
        print_plan(global, &plan)?;
        return Ok(if plan.has_changes() {
            ExitCode::from(CHANGES_PENDING)
        } else {
            ExitCode::SUCCESS
        });
    }
    let mut outcomes = Vec::new();
    for ((config, tenant), result) in sources.into_iter().zip(results) {
        outcomes.push(match result {
            Some(Ok(plan)) => {
                if global.output == OutputFormat::Text {
                    print!("{}", report::text(&plan, report::Style::detect()));
                }
                outcome_of(config, &plan)
            }
            Some(Err(error)) => {
                if global.output == OutputFormat::Text {
                    eprintln!("error: {}: {}", config.display(), super::one_line(&error));
                }
                super::tenants::TenantOutcome::not_run(
                    config,
                    tenant,
                    "failed",
                    super::one_line(&error),
                )
            }
            None => super::tenants::TenantOutcome::not_run(
                config,
                tenant,
                "skipped",
                "skipped after a failure (--fail-fast)".into(),
            ),
        });
    }
    super::tenants::print_report(&outcomes, global.output)?;
    let failed = outcomes.iter().any(super::tenants::TenantOutcome::failed);
    let pending = outcomes.iter().any(|o| o.result == "changes");
    Ok(if failed {
        ExitCode::FAILURE
    } else if pending {
        ExitCode::from(CHANGES_PENDING)
    } else {
        ExitCode::SUCCESS
    })
}

/// A tenant's plan as a summary line.
pub fn outcome_of(config: std::path::PathBuf, plan: &Plan) -> super::tenants::TenantOutcome {
    use crate::kind::Action;
    super::tenants::TenantOutcome {
        config,
        tenant_id: Some(plan.tenant_id.to_string()),
        result: if plan.has_changes() {
            "changes"
        } else {
            "no_changes"
        },
        add: plan.count(Action::Create),
        change: plan.count(Action::Update),
        remove: plan.count(Action::Delete),
        error: None,
        plan: Some(report::json(plan)),
        next_steps: None,
    }
}

fn print_plan(global: &GlobalArgs, plan: &Plan) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match global.output {
        OutputFormat::Json => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report::json(plan))?
        )?,
        OutputFormat::Text => write!(stdout, "{}", report::text(plan, report::Style::detect()))?,
    }
    Ok(())
}
