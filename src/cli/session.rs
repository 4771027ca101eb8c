//! Signing in and reaching the tenant: the simulated one (`--sim`) or a real one.

#[cfg(feature = "sim")]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
#[cfg(feature = "sim")]
use anyhow::Context;
use azure_core::credentials::TokenCredential;
use clap::Args;

use super::GlobalArgs;
use crate::auth::{self, AuthMethod, AuthSettings};
use crate::cloud::Endpoints;
use crate::config::Desired;
use crate::graph::{GraphClient, RetryPolicy};
use crate::http::{build_client, TransportOptions};
#[cfg(feature = "sim")]
pub use crate::sim::Sim;
#[cfg(feature = "sim")]
use crate::sim::{SimOptions, TenantSpec};
use crate::vault::{Vault, VaultTarget};

/// Built without the `sim` feature there is no simulator: no value of this type exists, so
/// every `Option<&Sim>` is `None`.
#[cfg(not(feature = "sim"))]
pub enum Sim {}

/// Tenants worked on at once when `--concurrency` is not given (the benchmark measures it).
pub const DEFAULT_CONCURRENCY: u64 = 8;

/// Options of the commands that talk to a tenant.
#[derive(Debug, Args, Clone)]
pub struct TenantArgs {
    /// Use the built-in simulated tenant (no account needed); its directory persists in
    /// ENTRA_MAIL_SIM_DIR (default .entra-mail-sim).
    #[cfg(feature = "sim")]
    #[arg(long)]
    pub sim: bool,
    /// Time budget, in seconds. It bounds each request to Graph or the sign-in endpoint, its
    /// retries and their waits included (an unanswered request times out with it); and, counted
    /// from when each tenant's changes start (apply or destroy), all their waits for Entra to
    /// replicate.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Enable a Conditional Access policy even though it excludes no emergency-access account.
    #[arg(long)]
    pub allow_lockout_risk: bool,
    /// Write an existing, not yet enforced Conditional Access policy report-only first, then
    /// switch it to its configured state once it reads back (new policies always are).
    #[arg(long)]
    pub staged: bool,
    /// Tenants worked on at once (Conditional Access stays paced per tenant).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Stop starting tenants after the first failure (default: go on and report).
    #[arg(long)]
    pub fail_fast: bool,
    /// How to sign in; `auto` looks at the environment (see README, "Signing in").
    #[arg(long, value_enum, default_value_t = AuthMethod::Auto)]
    pub auth: AuthMethod,
    /// The public client of device code sign-in (default: Microsoft Graph Command Line Tools).
    #[arg(long, value_name = "APP_ID", default_value = crate::well_known::GRAPH_COMMAND_LINE_TOOLS)]
    pub device_code_client_id: String,
}

impl TenantArgs {
    pub fn budget(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

/// Where `--sim` keeps its directory.
#[cfg(feature = "sim")]
pub fn sim_dir() -> PathBuf {
    std::env::var_os("ENTRA_MAIL_SIM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".entra-mail-sim"))
}

/// Starts the in-process simulator with a tenant for every config.
#[cfg(feature = "sim")]
pub async fn start_sim(configs: &[Desired]) -> anyhow::Result<Sim> {
    let dir = sim_dir();
    crate::fsutil::create_private_dir_all(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let state_file = dir.join("state.json");
    let tenants = configs
        .iter()
        .map(|d| TenantSpec {
            tenant_id: Some(d.tenant_id.to_string()),
            ..TenantSpec::default()
        })
        .collect();
    let sim = Sim::start(SimOptions {
        state_file: Some(state_file.clone()),
        tenants,
        ..SimOptions::default()
    })
    .await
    .context("cannot start the simulated tenant")?;
    // Each config's vault, in its tenant, so `--sim` delivers where a real run would.
    for desired in configs {
        let name = desired
            .secret
            .key_vault
            .as_ref()
            .and_then(|kv| crate::vault::vault_name(&kv.vault));
        if let Some(name) = name {
            sim.add_key_vault(&desired.tenant_id.to_string(), &name);
        }
    }
    // Lets `--sim --auth device-code` be tried without a second process approving the code.
    if let Ok(upn) = std::env::var("ENTRA_MAIL_SIM_APPROVE_AS") {
        sim.auto_approve_device_codes(Some(&upn));
    }
    eprintln!(
        "Using the simulated tenant (no real tenant is contacted); its directory is kept in {}",
        state_file.display()
    );
    Ok(sim)
}

/// How a run reaches the tenant: its endpoints, and the one HTTP client (extra trusted roots,
/// the simulator's CA) that sign-in and Graph share.
pub struct Reach {
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
}

/// The endpoints and HTTP client of this run: the simulator's with `--sim`, else the cloud's.
/// Its timeouts fit in `budget` (`--timeout`).
pub fn reach(global: &GlobalArgs, budget: Duration, sim: Option<&Sim>) -> anyhow::Result<Reach> {
    #[cfg_attr(not(feature = "sim"), allow(unused_mut))]
    let mut transport = TransportOptions {
        ca_certs: global.ca_cert.iter().cloned().collect(),
        ..TransportOptions::default()
    }
    .bounded_by(budget);
    let endpoints = match sim {
        #[cfg(not(feature = "sim"))]
        Some(never) => match *never {},
        #[cfg(feature = "sim")]
        Some(sim) => {
            transport.ca_pems.push(sim.ca_pem().to_string());
            Endpoints::resolve(
                global.cloud,
                Some(&sim.graph_url()),
                Some(&sim.authority_host()),
            )?
        }
        None => global.endpoints()?,
    };
    let http = build_client(&transport)?;
    Ok(Reach { endpoints, http })
}

/// A tenant's clients, on one sign-in: Graph, and the Key Vault `secret.key_vault` names.
pub struct Connection {
    pub graph: GraphClient,
    pub vault: Option<Vault>,
}

/// A Graph client for `desired`'s tenant, signed in as `--auth` says (the simulator's admin
/// app with `--sim`, unless `--auth` names another method), and its vault's client.
pub fn connect(
    global: &GlobalArgs,
    args: &TenantArgs,
    desired: &Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<Connection> {
    connect_via(
        global,
        args,
        desired,
        sim,
        &reach(global, args.budget(), sim)?,
    )
}

/// [`connect`] through an already built [`Reach`] (doctor signs in a second way through it).
pub fn connect_via(
    global: &GlobalArgs,
    args: &TenantArgs,
    desired: &Desired,
    sim: Option<&Sim>,
    reach: &Reach,
) -> anyhow::Result<Connection> {
    let Reach { endpoints, http } = reach;
    check_tenant_variable(desired)?;
    let tenant_id = desired.tenant_id.to_string();
    // The command line's --auth wins; otherwise the config's [auth] method, else auto.
    let method = match (args.auth, desired.auth.method) {
        (AuthMethod::Auto, Some(configured)) => configured,
        (chosen, _) => chosen,
    };
    let (credential, method): (Arc<dyn TokenCredential>, AuthMethod) = match (sim, method) {
        #[cfg(not(feature = "sim"))]
        (Some(never), _) => match *never {},
        #[cfg(feature = "sim")]
        (Some(sim), AuthMethod::Auto) => {
            let tenant = sim
                .tenant_info(&tenant_id)
                .context("the simulated tenant was not created")?;
            tracing::info!(
                "signing in to the simulated tenant as its admin app {}",
                tenant.admin_client_id
            );
            let credential = auth::client_secret(
                &tenant_id,
                &tenant.admin_client_id,
                &tenant.admin_client_secret,
                http,
                &endpoints.authority_host,
            )?;
            (credential, AuthMethod::ClientSecret)
        }
        (_, method) => {
            let settings = AuthSettings {
                method,
                tenant_id: &tenant_id,
                authority_host: &endpoints.authority_host,
                graph_url: &endpoints.graph_url,
                delegated_scopes: crate::preflight::delegated_scopes(&crate::resources::needs(
                    desired,
                )),
                device_code_client_id: args.device_code_client_id.clone(),
                http,
                prompt: Arc::new(|message: &str| eprintln!("{message}")),
                timeout: Duration::from_secs(900),
            };
            let prefix = desired.auth.env_prefix.clone().unwrap_or_default();
            let chosen = auth::choose_with(&settings, &|name| {
                std::env::var(format!("{prefix}{name}")).ok()
            })?;
            tracing::info!(
                "signing in with {}: {}",
                serde_json::to_value(chosen.method)?
                    .as_str()
                    .unwrap_or_default(),
                chosen.reason
            );
            if let Some(caveat) = azure_cli_caveat(global, &chosen, endpoints)? {
                eprintln!("warning: {caveat}");
            }
            (chosen.credential, chosen.method)
        }
    };
    // Device code waits for a person (its own 15 minutes); every other sign-in is a request
    // that must end within the budget like any other.
    let credential: Arc<dyn TokenCredential> = if method == AuthMethod::DeviceCode {
        credential
    } else {
        auth::TimeBoxed::new(
            credential,
            args.budget(),
            auth::TimeBoxed::describe(method, &endpoints.authority_host, &tenant_id),
        )
    };
    let retry = RetryPolicy {
        budget: args.budget(),
        ..RetryPolicy::default()
    };
    let vault = match &desired.secret.key_vault {
        Some(key_vault) => {
            let target = VaultTarget::resolve(
                key_vault,
                global.cloud,
                sim_root(sim).as_deref(),
                &endpoints.authority_host,
            )?;
            Some(Vault::new(
                target,
                credential.clone(),
                http,
                &endpoints.authority_host,
                args.budget(),
            )?)
        }
        None => None,
    };
    let graph = GraphClient::builder(endpoints, credential)
        .http_client(http.clone())
        .retry(retry)
        .trace_http(global.trace_http)
        .build()?;
    Ok(Connection { graph, vault })
}

/// The simulator's root, which stands in for every cloud vault with `--sim`.
fn sim_root(sim: Option<&Sim>) -> Option<String> {
    match sim {
        #[cfg(not(feature = "sim"))]
        Some(never) => match *never {},
        #[cfg(feature = "sim")]
        Some(sim) => Some(sim.graph_url()),
        None => None,
    }
}

/// `AZURE_TENANT_ID`, when set, must name the config's tenant.
fn check_tenant_variable(desired: &Desired) -> anyhow::Result<()> {
    let variable = format!(
        "{}AZURE_TENANT_ID",
        desired.auth.env_prefix.as_deref().unwrap_or_default()
    );
    if let Ok(tenant) = std::env::var(&variable) {
        if !tenant.is_empty() && !tenant.eq_ignore_ascii_case(&desired.tenant_id.to_string()) {
            bail!(
                "{variable} is {tenant}, but {} is for tenant {}; sign in to the tenant the config names",
                desired.source.display(),
                desired.tenant_id
            );
        }
    }
    Ok(())
}

/// `az` signs in with its own cloud and trust store: an authority host or extra CA given to
/// us reaches Graph calls, not `az`, and the user is told so rather than left to guess.
fn azure_cli_caveat(
    global: &GlobalArgs,
    chosen: &auth::Chosen,
    endpoints: &Endpoints,
) -> anyhow::Result<Option<String>> {
    if chosen.method != AuthMethod::AzureCli {
        return Ok(None);
    }
    let default_host = Endpoints::resolve(global.cloud, None, None)?.authority_host;
    let ignored: Vec<&str> = [
        (endpoints.authority_host != default_host).then_some("--authority-host"),
        global
            .ca_cert
            .is_some()
            .then_some("--ca-cert (SSL_CERT_FILE)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok((!ignored.is_empty()).then(|| {
        format!(
            "--auth azure-cli signs in through `az`, which uses its own cloud (`az cloud set`) and trust store (REQUESTS_CA_BUNDLE); {} reach Graph calls only, not `az`",
            ignored.join(" and ")
        )
    }))
}
