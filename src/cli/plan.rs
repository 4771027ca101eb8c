//! `entra-mail plan`: what apply would change. Exit 0 no changes, 2 changes, 1 error.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use time::OffsetDateTime;

use super::session::{self, TenantArgs};
use super::{validate, GlobalArgs, OutputFormat};
use crate::config::{self, Desired};
use crate::graph::GraphClient;
use crate::live::{self, LiveState};
use crate::outputs::Outputs;
use crate::plan::{self, report, Plan};
use crate::sim::Sim;

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
    let mut configs = Vec::new();
    let mut failed = false;
    for path in &global.config {
        match config::load(path) {
            Ok(desired) => configs.push(desired),
            Err(error) => {
                validate::print_errors(&error);
                failed = true;
            }
        }
    }
    if failed {
        Err(ExitCode::FAILURE)
    } else {
        Ok(configs)
    }
}

/// A config with its client, what the tenant holds, and the plan.
pub struct Prepared {
    pub desired: Desired,
    pub client: GraphClient,
    pub outputs: Option<Outputs>,
    pub live: LiveState,
    pub plan: Plan,
}

pub async fn prepare(
    global: &GlobalArgs,
    args: &TenantArgs,
    desired: Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Prepared> {
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
    let options = plan::PlanOptions {
        now: OffsetDateTime::now_utc(),
        allow_lockout_risk: args.allow_lockout_risk,
        staged: args.staged,
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
pub async fn sim_for(args: &TenantArgs, configs: &[Desired]) -> anyhow::Result<Option<Sim>> {
    if args.sim {
        Ok(Some(session::start_sim(configs).await?))
    } else {
        Ok(None)
    }
}

pub async fn run(global: &GlobalArgs, args: &TenantArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    let sim = sim_for(args, &configs).await?;
    let mut plans = Vec::new();
    for desired in configs {
        plans.push(prepare(global, args, desired, sim.as_ref()).await?.plan);
    }
    let mut stdout = std::io::stdout().lock();
    match global.output {
        OutputFormat::Json if plans.len() == 1 => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report::json(&plans[0]))?
        )?,
        OutputFormat::Json => {
            let all: Vec<_> = plans.iter().map(report::json).collect();
            writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"plans": all}))?
            )?;
        }
        OutputFormat::Text => {
            let style = report::Style::detect();
            for plan in &plans {
                write!(stdout, "{}", report::text(plan, style))?;
            }
        }
    }
    let pending = plans.iter().any(Plan::has_changes);
    Ok(if pending {
        ExitCode::from(CHANGES_PENDING)
    } else {
        ExitCode::SUCCESS
    })
}
