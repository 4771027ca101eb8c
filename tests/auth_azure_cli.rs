//! `--auth azure-cli` runs `az account get-access-token`; a stand-in `az` on PATH hands out a
//! token the simulated tenant issued. (Its own test binary, outside `tests/it`: it changes PATH
//! for the process, and other tests that choose a sign-in automatically look for `az` there.)

// The shared harness; this binary uses only a little of it.
#[allow(dead_code)]
#[path = "it/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;

use common::provision::TENANT;
use entra_mail::auth::{self, AuthMethod, AuthSettings};
use entra_mail::graph::GraphClient;
use entra_mail::sim::{SimOptions, TenantSpec};

/// A simulated tenant, and a directory holding a stand-in `az` that hands out a token the
/// tenant issued and logs its arguments to `az-args`; the second value is PATH with it first.
async fn tenant_and_fake_az() -> (common::sim::Running, tempfile::TempDir, String) {
    let running = common::sim::start(SimOptions {
        tenants: vec![TenantSpec {
            tenant_id: Some(TENANT.into()),
            ..TenantSpec::default()
        }],
        ..SimOptions::default()
    })
    .await;
    let token = running.token_for(&running.tenant).await;
    let dir = tempfile::tempdir().unwrap();
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 3000;
    let answer = serde_json::json!({"accessToken": token, "expires_on": expires, "tenant": TENANT, "tokenType": "Bearer"});
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\ncat <<'JSON'\n{answer}\nJSON\n",
        dir.path().join("az-args").display()
    );
    let az = dir.path().join("az");
    std::fs::write(&az, script).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (running, dir, path)
}

#[tokio::test]
async fn the_azure_cli_token_is_used() {
    let (running, dir, path) = tenant_and_fake_az().await;
    let log = dir.path().join("az-args");
    std::env::set_var("PATH", path);

    let http = running.http();
    let endpoints = running.endpoints();
    let settings = AuthSettings {
        method: AuthMethod::Auto,
        tenant_id: TENANT,
        authority_host: &endpoints.authority_host,
        graph_url: &endpoints.graph_url,
        delegated_scopes: Vec::new(),
        device_code_client_id: entra_mail::well_known::GRAPH_COMMAND_LINE_TOOLS.into(),
        http: &http,
        prompt: std::sync::Arc::new(|_| {}),
        timeout: std::time::Duration::from_secs(5),
    };
    let chosen = auth::choose_with(&settings, &|_| None).unwrap();
    assert_eq!(
        chosen.method,
        AuthMethod::AzureCli,
        "auto falls back to az on PATH"
    );
    let client = GraphClient::builder(&endpoints, chosen.credential)
        .http_client(http)
        .build()
        .unwrap();
    let claims = client.token_claims().await.unwrap();
    assert_eq!(claims["tid"], TENANT);
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.contains(&format!("--scope {}/.default", running.sim.graph_url())),
        "{args}"
    );
    assert!(args.contains(&format!("--tenant {TENANT}")), "{args}");
}

#[tokio::test]
async fn az_is_said_to_ignore_our_authority_host_and_ca() {
    let (running, dir, path) = tenant_and_fake_az().await;
    std::fs::write(dir.path().join("tenant.toml"), common::provision::CONFIG).unwrap();
    // The simulator's authority host and CA come from the environment, as Running::cli sets.
    let output = running
        .cli(dir.path())
        .env("PATH", path)
        .args(["doctor", "-f", "tenant.toml", "--auth", "azure-cli"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: --auth azure-cli signs in through `az`, which uses its own cloud (`az cloud set`) and trust store (REQUESTS_CA_BUNDLE); --authority-host and --ca-cert (SSL_CERT_FILE) reach Graph calls only, not `az`"),
        "{stderr}"
    );
}
