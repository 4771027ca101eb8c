//! `entra-mail plan`: what apply would change. Exit 0 no changes, 2 changes, 1 error.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use time::OffsetDateTime;

use super::session::{self, Sim, TenantArgs};
use super::{validate, GlobalArgs, OutputFormat};
use crate::config::{self, Desired};
use crate::graph::GraphClient;
use crate::live::{self, LiveState};
use crate::outputs::Outputs;
use crate::plan::{self, report, Plan};

/// Exit code of `plan` when changes are pending (Terraform's `-detailed-exitcode`).
pub const CHANGES_PENDING: u8 = 2;

/// Loads every `-f` config; on errors prints them and returns `Err(exit code)`.
pub fn load_configs(global: &GlobalArgs) -> Result<Vec<Desired>, ExitCode> {
    if global.config.is_empty() {
        eprintln!(
            "error: no config file given; pass one with -f FILE (try examples/pandora-itsm.toml)"
        );
        return Err(ExitCode::FAILURE);
    }
    let found = match super::tenants::expand(&global.config) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("error: {error}");
            return Err(ExitCode::FAILURE);
        }
    };
    let mut configs = Vec::new();
    let mut failed = false;
    for loaded in found.into_iter().map(validate::load) {
        match loaded.result {
            Ok(desired) => configs.push(desired),
            Err(ref error) => {
                validate::print_errors(error, loaded.source());
                failed = true;
            }
        }
    }
    if failed {
        return Err(ExitCode::FAILURE);
    }
    // Before any tenant is contacted: a shared directory would lose one tenant's secret.
    if let Err(shared) = config::check_distinct_outputs(&configs) {
        for error in shared {
            eprintln!("error: {error}");
        }
        return Err(ExitCode::FAILURE);
    }
    Ok(configs)
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

/// A config with its client and what the tenant holds.
pub struct Connected {
    pub desired: Desired,
    pub client: GraphClient,
    pub outputs: Option<Outputs>,
    pub live: LiveState,
}

/// A config with its client, what the tenant holds, and the plan.
pub struct Prepared {
    pub desired: Desired,
    pub client: GraphClient,
    pub outputs: Option<Outputs>,
    pub live: LiveState,
    pub plan: Plan,
}

/// Signs in, checks the token, and reads the tenant: everything before a plan. `destroy`
/// stops here, so nothing an apply would refuse can block it.
pub async fn connect_and_read(
    global: &GlobalArgs,
    args: &TenantArgs,
    desired: Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Connected> {
    let client = session::connect(global, args, &desired, sim)?;
    // Before the first read: the right tenant, and every permission this config needs.
    let claims = client
        .token_claims()
        .await
        .with_context(|| format!("cannot sign in to tenant {}", desired.tenant_id))?;
    let report = crate::preflight::check(&desired, &claims)?;
    tracing::info!(
        "signed in as {} {} with {}",
        report.kind,
        report.identity,
        report.permissions.join(", ")
    );
    let outputs = Outputs::read(&desired.outputs.directory)?;
    let live = live::read(&client, &desired, outputs.as_ref())
        .await
        .with_context(|| format!("cannot read tenant {}", desired.tenant_id))?;
    Ok(Connected {
        desired,
        client,
        outputs,
        live,
    })
}

pub async fn prepare(
    global: &GlobalArgs,
    args: &PlanArgs,
    desired: Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Prepared> {
    let Connected {
        desired,
        client,
        outputs,
        live,
    } = connect_and_read(global, &args.tenant, desired, sim).await?;
    let options = plan::PlanOptions {
        now: OffsetDateTime::now_utc(),
        allow_lockout_risk: args.tenant.allow_lockout_risk,
        staged: args.tenant.staged,
        adopt: args.adopt,
        rotate_secret: args.rotate_secret,
    };
    let plan = plan::build_with(&desired, &live, outputs.as_ref(), &options)
        .with_context(|| format!("cannot plan {}", desired.source.display()))?;
    Ok(Prepared {
        desired,
        client,
        outputs,
        live,
        plan,
    })
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
    use crate::plan::Action;
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
