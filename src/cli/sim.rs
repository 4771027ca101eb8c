//! `entra-mail sim serve`: run the simulated tenant as a server for other processes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::GlobalArgs;
use crate::config;
use crate::fsutil::write_private_atomically;
use crate::sim::{Faults, Sim, SimOptions, TenantInfo, TenantSpec};

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated tenant over HTTPS until stopped (Ctrl-C).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keep the directory in this file across runs.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seed for ids, secrets and fault decisions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write ca.pem and credentials.env.
    #[arg(long, value_name = "DIR", default_value = "entra-mail-sim")]
    pub dir: PathBuf,
    /// A tenant to create (repeatable); tenants of `-f` configs are created too.
    #[arg(long = "tenant", value_name = "GUID")]
    pub tenants: Vec<String>,
    /// A Key Vault to serve in the (first) tenant (repeatable); vaults of `-f` configs'
    /// `secret.key_vault` are served in their tenants too.
    #[arg(long = "key-vault", value_name = "NAME")]
    pub key_vaults: Vec<String>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Fault knobs, all off by default except Conditional Access's 1 request/second limit.
#[derive(Debug, Args)]
pub struct FaultArgs {
    /// New or changed objects stay invisible to reads this long.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub replication_lag_ms: u64,
    /// Lists lag this long (at least the replication lag).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub list_lag_ms: u64,
    /// Share of Graph requests answered 429 (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Retry-After seconds on those 429s; 0 sends no header.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub throttle_retry_after: u64,
    /// Share of Graph requests answered 503 (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub unavailable_rate: f64,
    /// Lift Conditional Access's one request per second per tenant.
    #[arg(long)]
    pub no_conditional_access_rate_limit: bool,
    /// Commit the Nth write, then drop the connection (repeatable).
    #[arg(long = "drop-answer-of-write", value_name = "N")]
    pub drop_answer_of_writes: Vec<u64>,
    /// Share of writes whose answer is lost after they commit.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub drop_answer_rate: f64,
    /// Latency added to every Graph request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
}

impl FaultArgs {
    pub fn to_faults(&self) -> anyhow::Result<Faults> {
        for (name, rate) in [
            ("--throttle-rate", self.throttle_rate),
            ("--unavailable-rate", self.unavailable_rate),
            ("--drop-answer-rate", self.drop_answer_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                anyhow::bail!("{name} {rate} is out of range; use 0 to 1");
            }
        }
        Ok(Faults {
            replication_lag: Duration::from_millis(self.replication_lag_ms),
            list_lag: Duration::from_millis(self.list_lag_ms),
            throttle_rate: self.throttle_rate,
            throttle_retry_after: (self.throttle_retry_after > 0)
                .then_some(self.throttle_retry_after),
            unavailable_rate: self.unavailable_rate,
            conditional_access_rate_limit: !self.no_conditional_access_rate_limit,
            drop_answer_of_writes: self.drop_answer_of_writes.clone(),
            drop_answer_rate: self.drop_answer_rate,
            latency: Duration::from_millis(self.latency_ms),
            route_latency: Vec::new(),
            ..Faults::default()
        })
    }
}

pub async fn run(global: &GlobalArgs, command: &SimCommand) -> anyhow::Result<ExitCode> {
    let SimCommand::Serve(args) = command;
    let mut tenant_ids = args.tenants.clone();
    // (tenant, vault name); `None` is the first tenant served.
    let mut vaults: Vec<(Option<String>, String)> = args
        .key_vaults
        .iter()
        .map(|name| (None, name.clone()))
        .collect();
    for found in crate::config::discover::expand(&global.config)? {
        let desired = config::parse(&found.text?, &found.path)?;
        let tenant_id = desired.tenant_id.to_string();
        if let Some(name) = desired
            .secret
            .key_vault
            .as_ref()
            .and_then(config_vault_name)
        {
            vaults.push((Some(tenant_id.clone()), name));
        }
        tenant_ids.push(tenant_id);
    }
    // One spelling of each id (braces, upper case and `urn:uuid:` are GUIDs too).
    let tenant_ids: Vec<String> = tenant_ids
        .iter()
        .map(|id| {
            uuid::Uuid::try_parse(id)
                .map(|guid| guid.to_string())
                .with_context(|| format!("--tenant `{id}` is not a GUID"))
        })
        .collect::<anyhow::Result<_>>()?;
    for (_, name) in &vaults {
        if !crate::sim::keyvault::vault_name_ok(name) {
            anyhow::bail!("key vault name `{name}` is not valid: 3 to 24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no two hyphens in a row");
        }
    }
    let mut specs: Vec<TenantSpec> = tenant_ids
        .iter()
        .map(|id| TenantSpec {
            tenant_id: Some(id.clone()),
            ..TenantSpec::default()
        })
        .collect();
    if specs.is_empty() {
        specs.push(TenantSpec::default());
    }
    let sim = Sim::start(SimOptions {
        port: args.port,
        seed: args.seed,
        state_file: args.state.clone(),
        faults: args.faults.to_faults()?,
        tenants: specs,
    })
    .await?;
    let vault_urls = add_key_vaults(&sim, tenant_ids.first(), &vaults)?;
    let files = write_client_files(&sim, &args.dir, vault_urls.first())?;
    print_banner(&sim, &files, args.state.as_deref(), &vault_urls)?;
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sim.shutdown();
    eprintln!("simulated tenant stopped");
    Ok(ExitCode::SUCCESS)
}

/// The vault a config delivers to, by its name: a bare name, a cloud vault URL's first host
/// label, or for a simulator's vault URL (`https://127.0.0.1:PORT/keyvault/NAME`) its last
/// path segment (the port changes between runs; the name does not).
fn config_vault_name(vault: &crate::config::DesiredKeyVault) -> Option<String> {
    crate::vault::vault_name(&vault.vault).or_else(|| match &vault.vault {
        crate::config::VaultAddress::Url(url) => url
            .path()
            .strip_prefix("/keyvault/")
            .map(|name| name.trim_end_matches('/').to_ascii_lowercase())
            .filter(|name| !name.is_empty() && !name.contains('/')),
        crate::config::VaultAddress::Name(_) => None,
    })
}

/// Creates the vaults, each in its tenant (`None`: the first tenant served), and returns
/// their URLs in order, each once.
fn add_key_vaults(
    sim: &Sim,
    first_tenant: Option<&String>,
    vaults: &[(Option<String>, String)],
) -> anyhow::Result<Vec<String>> {
    let first = first_tenant
        .cloned()
        .or_else(|| sim.tenants().first().map(|t| t.tenant_id.clone()))
        .unwrap_or_default();
    let mut urls: Vec<String> = Vec::new();
    for (tenant, name) in vaults {
        let tenant = tenant.as_ref().unwrap_or(&first);
        if !sim.add_key_vault(tenant, name) {
            anyhow::bail!("cannot serve key vault `{name}` in tenant {tenant}: another tenant of the simulator has a vault of that name");
        }
        let url = sim.key_vault_url(name);
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    Ok(urls)
}

struct ClientFiles {
    ca: PathBuf,
    credentials: PathBuf,
}

/// The CA for `--ca-cert` and, mode 0600, the admin apps' credentials as environment
/// variables (the secrets go to the file, never to the terminal), with the first vault's URL.
fn write_client_files(
    sim: &Sim,
    dir: &Path,
    key_vault_url: Option<&String>,
) -> anyhow::Result<ClientFiles> {
    crate::fsutil::create_private_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).with_context(|| format!("cannot write {}", ca.display()))?;
    let mut env = String::from(
        "# entra-mail simulated tenant: source this file to sign in as the admin app.\n",
    );
    let ca_path = absolute(&ca).display().to_string();
    // The CA for every client that may talk to the simulator: OpenSSL and rustls readers
    // (SSL_CERT_FILE), curl, Python's requests (so azure-identity and Microsoft's Graph SDK
    // for Python) and Node.
    for name in CA_VARIABLES {
        env.push_str(&export("", name, &ca_path));
    }
    env.push_str(&export("", "AZURE_AUTHORITY_HOST", &sim.authority_host()));
    env.push_str(&export("", "ENTRA_MAIL_GRAPH_URL", &sim.graph_url()));
    if let Some(url) = key_vault_url {
        env.push_str(&export("", "ENTRA_MAIL_SIM_KEY_VAULT_URL", url));
    }
    let tenants = sim.tenants();
    for (i, tenant) in tenants.iter().enumerate() {
        let prefix = if i == 0 {
            String::new()
        } else {
            format!("# tenant {}: ", i + 1)
        };
        env.push_str(&export(&prefix, "AZURE_TENANT_ID", &tenant.tenant_id));
        env.push_str(&export(&prefix, "AZURE_CLIENT_ID", &tenant.admin_client_id));
        env.push_str(&export(
            &prefix,
            "AZURE_CLIENT_SECRET",
            tenant.admin_client_secret.expose(),
        ));
    }
    let credentials = dir.join("credentials.env");
    write_private_atomically(&credentials, env.as_bytes())
        .with_context(|| format!("cannot write {}", credentials.display()))?;
    Ok(ClientFiles { ca, credentials })
}

/// The variables `credentials.env` points at the simulator's CA.
const CA_VARIABLES: [&str; 4] = [
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
];

/// One `export NAME='value'` line, the value quoted for a POSIX shell (a directory the user
/// names may hold a quote).
fn export(prefix: &str, name: &str, value: &str) -> String {
    format!("{prefix}export {name}='{}'\n", value.replace('\'', "'\\''"))
}

fn print_banner(
    sim: &Sim,
    files: &ClientFiles,
    state: Option<&Path>,
    key_vault_urls: &[String],
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "simulated Entra tenant serving")?;
    writeln!(out, "  graph url       {}", sim.graph_url())?;
    writeln!(out, "  authority host  {}", sim.authority_host())?;
    for url in key_vault_urls {
        writeln!(out, "  key vault       {url}")?;
    }
    writeln!(out, "  CA certificate  {}", files.ca.display())?;
    writeln!(
        out,
        "  credentials     {} (mode 0600; source it)",
        files.credentials.display()
    )?;
    match state {
        Some(path) => writeln!(out, "  state           {}", path.display())?,
        None => writeln!(
            out,
            "  state           in memory (use --state FILE to keep it)"
        )?,
    }
    for TenantInfo {
        tenant_id,
        domain,
        admin_client_id,
        ..
    } in sim.tenants()
    {
        writeln!(
            out,
            "  tenant          {tenant_id} ({domain}), admin app {admin_client_id}"
        )?;
    }
    writeln!(
        out,
        "  control         {}/sim/snapshot, /sim/counters, /sim/log",
        sim.graph_url()
    )?;
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()?;
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}
