//! Starting the simulated tenant and a production Graph client pointed at it.
#![allow(dead_code)]

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
