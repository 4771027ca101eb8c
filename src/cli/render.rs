//! `entra-mail render`: render the templates again from the outputs file, no tenant call; or,
//! with `--from-vault`, from the secret in the Key Vault and the ids in the tenant.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::plan::{load_configs, sim_for};
use super::session::{self, Sim, TenantArgs};
use super::{GlobalArgs, OutputFormat};
use crate::config::Desired;
use crate::session::{Rendered, SessionError};

#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Read the client secret from the Key Vault `secret.key_vault` names and the ids from
    /// the tenant (signing in), instead of from the outputs file.
    #[arg(long)]
    pub from_vault: bool,
    #[command(flatten)]
    pub tenant: TenantArgs,
}

pub async fn run(global: &GlobalArgs, args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    if args.from_vault {
        if let Some(desired) = configs.iter().find(|d| d.secret.key_vault.is_none()) {
            bail!(
                "--from-vault: {} sets no secret.key_vault, so there is no vault to read",
                desired.source.display()
            );
        }
    }
    let sim = match args.from_vault {
        true => sim_for(&args.tenant, &configs).await?,
        false => None,
    };
    let mut summaries = Vec::new();
    let mut failed = false;
    for desired in configs {
        let rendered = match render_one(global, args, &desired, sim.as_ref()).await {
            Ok(rendered) => rendered,
            // With JSON, what was rendered before the failure is still reported.
            Err(error) if global.output == OutputFormat::Json => {
                summaries.push(serde_json::json!({
                    "config": desired.source,
                    "error": super::one_line(&error),
                }));
                failed = true;
                break;
            }
            Err(error) => return Err(error),
        };
        match global.output {
            OutputFormat::Text => {
                for loose in &rendered.narrowed {
                    println!("{}", loose.narrowed());
                }
                for path in &rendered.written {
                    println!("rendered {}", path.display());
                }
            }
            OutputFormat::Json => summaries.push(serde_json::json!({
                "config": desired.source,
                "tenant_id": desired.tenant_id,
                "narrowed": rendered.narrowed.iter().map(|l| l.json()).collect::<Vec<_>>(),
                "rendered": rendered.written,
            })),
        }
    }
    if global.output == OutputFormat::Json {
        return super::finish_json_reports(summaries, failed);
    }
    Ok(super::exit_code(failed))
}

/// One config's files, from the outputs file or from the vault.
async fn render_one(
    global: &GlobalArgs,
    args: &RenderArgs,
    desired: &Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Rendered> {
    if !args.from_vault {
        return Ok(crate::session::render(desired)?);
    }
    let connection = session::connect(global, &args.tenant, desired, sim)?;
    let Some(vault) = connection.vault.as_ref() else {
        return Err(SessionError::NoOutputs {
            directory: desired.outputs.directory.clone(),
            config: desired.source.clone(),
        }
        .into());
    };
    Ok(crate::session::render_from_vault(&connection.graph, vault, desired).await?)
}
