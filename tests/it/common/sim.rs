//! Starting the simulated tenant and a production Graph client pointed at it.

use std::sync::Arc;

use entra_mail::auth;
use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::graph::GraphClient;
use entra_mail::http::{build_client, TransportOptions};
use entra_mail::sim::{Sim, SimOptions, TenantInfo, TenantSpec};

/// A simulator with one default tenant, and its CA written to a file.
pub struct Running {
    pub sim: Sim,
    pub tenant: TenantInfo,
    pub ca_file: tempfile::NamedTempFile,
}

pub async fn start(options: SimOptions) -> Running {
    let mut options = options;
    if options.tenants.is_empty() {
        options.tenants.push(TenantSpec::default());
    }
    let sim = Sim::start(options).await.expect("simulator starts");
    let tenant = sim.tenants().into_iter().next().expect("a tenant");
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), sim.ca_pem()).unwrap();
    Running {
        sim,
        tenant,
        ca_file,
    }
}

impl Running {
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::resolve(
            Cloud::Public,
            Some(&self.sim.graph_url()),
            Some(&self.sim.authority_host()),
        )
        .unwrap()
    }

    pub fn http(&self) -> reqwest::Client {
        build_client(&TransportOptions {
            ca_certs: vec![self.ca_file.path().to_path_buf()],
            ..TransportOptions::default()
        })
        .unwrap()
    }

    /// A Graph client signed in as `tenant`'s admin app with its client secret, through the
    /// same credential and HTTP code production uses.
    pub fn client_for(&self, tenant: &TenantInfo) -> GraphClient {
        let http = self.http();
        let endpoints = self.endpoints();
        let credential: Arc<dyn azure_core::credentials::TokenCredential> = auth::client_secret(
            &tenant.tenant_id,
            &tenant.admin_client_id,
            &tenant.admin_client_secret,
            &http,
            &endpoints.authority_host,
        )
        .unwrap();
        GraphClient::builder(&endpoints, credential)
            .http_client(http)
            .build()
            .unwrap()
    }

    pub fn client(&self) -> GraphClient {
        self.client_for(&self.tenant)
    }
}

pub async fn start_with_client() -> (Running, GraphClient, TenantInfo) {
    let running = start(SimOptions::default()).await;
    let client = running.client();
    let tenant = running.tenant.clone();
    (running, client, tenant)
}

impl Running {
    /// An access token for `tenant`'s admin app, straight from the token endpoint.
    pub async fn token_for(&self, tenant: &TenantInfo) -> String {
        let answer: serde_json::Value = self
            .http()
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                self.sim.authority_host(),
                tenant.tenant_id
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", tenant.admin_client_id.as_str()),
                ("client_secret", tenant.admin_client_secret.expose()),
                ("scope", &format!("{}/.default", self.sim.graph_url())),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"].as_str().unwrap().to_string()
    }

    /// The built CLI in `dir`, pointed at this simulator as at a real tenant: endpoints and
    /// CA from the environment, signed in as the default tenant's admin app.
    pub fn cli(&self, dir: &std::path::Path) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.cli_process(dir))
    }

    /// As [`Running::cli`], as a process to spawn (runs at once, `kill -9`).
    pub fn cli_process(&self, dir: &std::path::Path) -> std::process::Command {
        self.aimed(
            std::process::Command::new(env!("CARGO_BIN_EXE_entra-mail")),
            dir,
        )
    }

    /// As [`Running::cli`], started through `sh` with this `umask` (e.g. "000") set first.
    pub fn cli_with_umask(&self, dir: &std::path::Path, umask: &str) -> assert_cmd::Command {
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_entra-mail"));
        assert_cmd::Command::from_std(self.aimed(command, dir))
    }

    fn aimed(
        &self,
        mut command: std::process::Command,
        dir: &std::path::Path,
    ) -> std::process::Command {
        command
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("ENTRA_MAIL_GRAPH_URL", self.sim.graph_url())
            .env("AZURE_AUTHORITY_HOST", self.sim.authority_host())
            .env("SSL_CERT_FILE", self.ca_file.path())
            .env("AZURE_TENANT_ID", &self.tenant.tenant_id)
            .env("AZURE_CLIENT_ID", &self.tenant.admin_client_id)
            .env(
                "AZURE_CLIENT_SECRET",
                self.tenant.admin_client_secret.expose(),
            )
            .env_remove("GITHUB_ACTIONS");
        command
    }
}
