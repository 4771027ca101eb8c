//! Signing in and reaching the tenant: the simulated one (`--sim`) or a real one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use azure_core::credentials::TokenCredential;
use clap::Args;

use super::GlobalArgs;
use crate::auth;
use crate::cloud::Endpoints;
use crate::config::Desired;
use crate::graph::{GraphClient, RetryPolicy};
use crate::http::{build_client, TransportOptions};
use crate::secret::SecretString;
use crate::sim::{Sim, SimOptions, TenantSpec};

/// Options of the commands that talk to a tenant.
#[derive(Debug, Args, Clone)]
pub struct TenantArgs {
    /// Use the built-in simulated tenant (no account needed); its directory persists in
    /// ENTRA_MAIL_SIM_DIR (default .entra-mail-sim).
    #[arg(long)]
    pub sim: bool,
    /// Time budget, in seconds, for waiting out throttling and replication per request.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
    /// Enable a Conditional Access policy even though it excludes no emergency-access account.
    #[arg(long)]
    pub allow_lockout_risk: bool,
    /// Write the Conditional Access policy report-only first, then switch it to its
    /// configured state once it reads back.
    #[arg(long)]
    pub staged: bool,
}

impl TenantArgs {
    pub fn budget(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

/// Where `--sim` keeps its directory.
pub fn sim_dir() -> PathBuf {
    std::env::var_os("ENTRA_MAIL_SIM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".entra-mail-sim"))
}

/// Starts the in-process simulator with a tenant for every config.
pub async fn start_sim(configs: &[Desired]) -> anyhow::Result<Sim> {
    let dir = sim_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
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
    eprintln!(
        "Using the simulated tenant (no real tenant is contacted); its directory is kept in {}",
        state_file.display()
    );
    Ok(sim)
}

/// A Graph client for `desired`'s tenant.
pub fn connect(
    global: &GlobalArgs,
    args: &TenantArgs,
    desired: &Desired,
    sim: Option<&Sim>,
) -> anyhow::Result<GraphClient> {
    let mut transport = TransportOptions {
        ca_certs: global.ca_cert.iter().cloned().collect(),
        ..TransportOptions::default()
    };
    let (endpoints, credential_source) = match sim {
        Some(sim) => {
            transport.ca_pems.push(sim.ca_pem().to_string());
            let endpoints = Endpoints::resolve(
                global.cloud,
                Some(&sim.graph_url()),
                Some(&sim.authority_host()),
            )?;
            let tenant = sim
                .tenant_info(&desired.tenant_id.to_string())
                .context("the simulated tenant was not created")?;
            (
                endpoints,
                (tenant.admin_client_id, tenant.admin_client_secret),
            )
        }
        None => (
            global.endpoints()?,
            client_secret_from_environment(desired)?,
        ),
    };
    let http = build_client(&transport)?;
    let (client_id, secret) = credential_source;
    let credential: Arc<dyn TokenCredential> = auth::client_secret(
        &desired.tenant_id.to_string(),
        &client_id,
        &secret,
        &http,
        &endpoints.authority_host,
    )?;
    let retry = RetryPolicy {
        budget: args.budget(),
        ..RetryPolicy::default()
    };
    Ok(GraphClient::builder(&endpoints, credential)
        .http_client(http)
        .retry(retry)
        .trace_http(global.trace_http)
        .build()?)
}

/// `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`, for `desired`'s tenant.
fn client_secret_from_environment(desired: &Desired) -> anyhow::Result<(String, SecretString)> {
    if let Ok(tenant) = std::env::var("AZURE_TENANT_ID") {
        if !tenant.eq_ignore_ascii_case(&desired.tenant_id.to_string()) {
            bail!(
                "AZURE_TENANT_ID is {tenant}, but {} is for tenant {}; sign in to the tenant the config names",
                desired.source.display(),
                desired.tenant_id
            );
        }
    }
    let client_id = std::env::var("AZURE_CLIENT_ID")
        .ok()
        .filter(|v| !v.is_empty());
    let secret = std::env::var("AZURE_CLIENT_SECRET")
        .ok()
        .filter(|v| !v.is_empty());
    match (client_id, secret) {
        (Some(id), Some(secret)) => Ok((id, SecretString::new(secret))),
        _ => bail!(
            "no credentials for tenant {}: set AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an app with the permissions in README.md, or try the simulated tenant with --sim",
            desired.tenant_id
        ),
    }
}
