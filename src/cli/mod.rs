//! The command line: arguments, output formats, exit codes. `main.rs` only calls [`run`].

mod apply;
mod doctor;
mod plan;
mod render;
mod session;
pub use session::DEFAULT_CONCURRENCY;
#[cfg(feature = "sim")]
mod sim;
mod tenants;
mod validate;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::cloud::{Cloud, Endpoints};

#[cfg(feature = "sim")]
const EXAMPLES: &str = "\
Examples:
  entra-mail apply --sim -f examples/pandora-itsm.toml
  entra-mail plan --sim -f examples/pandora-itsm.toml
  entra-mail validate -f examples/pandora-itsm.toml
  entra-mail validate -f tenant-a.toml -f tenant-b.toml --output json
  entra-mail sim serve --state sim.json --replication-lag-ms 2000
  entra-mail completions bash > /etc/bash_completion.d/entra-mail";
/// Built without the simulator, the examples that need it are left out.
#[cfg(not(feature = "sim"))]
const EXAMPLES: &str = "\
Examples:
  entra-mail validate -f examples/pandora-itsm.toml
  entra-mail validate -f tenant-a.toml -f tenant-b.toml --output json
  entra-mail plan -f examples/pandora-itsm.toml
  entra-mail completions bash > /etc/bash_completion.d/entra-mail";

/// Provision a Microsoft Entra tenant for Pandora ITSM's Microsoft 365 mail from one file.
#[derive(Debug, Parser)]
#[command(name = "entra-mail", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Desired-state file (TOML), a directory of them, or a manifest listing them; repeat
    /// for several tenants.
    #[arg(short = 'f', long = "config", global = true, value_name = "FILE")]
    pub config: Vec<PathBuf>,

    /// Microsoft Graph endpoint, overriding --cloud's.
    #[arg(long, global = true, env = "ENTRA_MAIL_GRAPH_URL", value_name = "URL")]
    pub graph_url: Option<String>,

    /// Authority host for sign-in, overriding --cloud's.
    #[arg(long, global = true, env = "AZURE_AUTHORITY_HOST", value_name = "URL")]
    pub authority_host: Option<String>,

    /// The Microsoft cloud the tenant lives in.
    #[arg(long, global = true, value_enum, default_value_t = Cloud::Public)]
    pub cloud: Cloud,

    /// Extra trusted root certificates (PEM), e.g. for TLS inspection proxies.
    #[arg(long, global = true, env = "SSL_CERT_FILE", value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,

    /// Output format of reports.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// More log output (-v info, -vv debug, -vvv trace); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log HTTP bodies (secrets and tokens redacted) to stderr.
    #[arg(long, global = true)]
    pub trace_http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config files and print the resolved desired state; no tenant is contacted.
    Validate,
    /// Show what apply would change. Exit 0: no changes, 2: changes pending, 1: error.
    Plan(plan::PlanArgs),
    /// Make the tenant match the config, then write the outputs and render the templates.
    Apply(apply::ApplyArgs),
    /// Remove what entra-mail made (only objects carrying its keys).
    Destroy(apply::DestroyArgs),
    /// Render the templates again from the outputs file, without contacting the tenant (or,
    /// with --from-vault, from the Key Vault's secret and the tenant's ids).
    Render(render::RenderArgs),
    /// Sign in, show who we are and what we may do, and name every missing permission.
    Doctor(session::TenantArgs),
    /// The simulated Entra tenant.
    #[cfg(feature = "sim")]
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl GlobalArgs {
    /// The Graph and authority endpoints these options select.
    pub fn endpoints(&self) -> Result<Endpoints, crate::cloud::EndpointError> {
        Endpoints::resolve(
            self.cloud,
            self.graph_url.as_deref(),
            self.authority_host.as_deref(),
        )
    }
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    init_logging(&cli.global);
    let result = match &cli.command {
        Command::Validate => validate::run(&cli.global),
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Apply(args) => apply::run(&cli.global, args).await,
        Command::Destroy(args) => apply::destroy(&cli.global, args).await,
        Command::Render(args) => render::run(&cli.global, args).await,
        Command::Doctor(args) => doctor::run(&cli.global, args).await,
        #[cfg(feature = "sim")]
        Command::Sim(command) => sim::run(&cli.global, command).await,
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "entra-mail", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            report_error(&error);
            ExitCode::FAILURE
        }
    }
}

/// Prints the JSON report of a command run over one config or several (one document: the
/// config's report, or a list of them); the exit code, failed or not.
pub(crate) fn finish_json_reports(
    mut reports: Vec<serde_json::Value>,
    failed: bool,
) -> anyhow::Result<ExitCode> {
    let value = match reports.len() {
        1 => reports.remove(0),
        _ => serde_json::Value::Array(reports),
    };
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(exit_code(failed))
}

/// `FAILURE` when something failed, else `SUCCESS`.
pub(crate) fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// An error and its causes on one line (summary tables, JSON reports).
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    crate::graph::error_chain(error.as_ref())
}

/// Prints an error and its causes, one per line, like cargo does.
fn report_error(error: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let mut causes = crate::graph::error_causes(error.as_ref()).into_iter();
    if let Some(said) = causes.next() {
        let _ = writeln!(stderr, "error: {said}");
    }
    for cause in causes {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

fn init_logging(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    // Without -v only our own messages: a dependency's ERROR line (rustls refusing a
    // certificate, say) repeats, less clearly, what our error report says anyway.
    let default = if global.verbose == 0 {
        format!("entra_mail={level}")
    } else {
        format!("entra_mail={level},warn")
    };
    let mut directives = std::env::var("RUST_LOG").unwrap_or(default);
    if global.trace_http {
        directives.push_str(",entra_mail::http_trace=trace");
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
