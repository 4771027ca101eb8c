//! `entra-mail sim serve` as another process's tenant: what `credentials.env` gives a client,
//! a kept state file across restarts, and sign-in under replication lag.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A running `sim serve` process, stopped (SIGINT, as Ctrl-C) on drop.
struct Served {
    child: Child,
    graph_url: String,
    env: HashMap<String, String>,
    http: reqwest::Client,
}

impl Served {
    fn start(dir: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("entra-mail"))
            .args(["sim", "serve", "--dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut graph_url = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("banner line");
            if let Some(url) = line.trim().strip_prefix("graph url") {
                graph_url = url.trim().to_string();
            }
            if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        assert!(graph_url.starts_with("https://127.0.0.1:"), "{graph_url}");
        let env = sourced(&dir.join("credentials.env"));
        let ca = std::fs::read(&env["SSL_CERT_FILE"]).expect("the CA file the env names");
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("PEM"))
            .build()
            .expect("client");
        Served {
            child,
            graph_url,
            env,
            http,
        }
    }

    /// Stops the server as Ctrl-C does and waits for it to exit.
    fn stop(mut self) {
        interrupt(&mut self.child);
    }

    async fn token(&self, client_id: &str, secret: &str) -> (u16, Value) {
        let tenant = &self.env["AZURE_TENANT_ID"];
        let answer = self
            .http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.graph_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token endpoint answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn admin_token(&self) -> String {
        let (status, answer) = self
            .token(
                &self.env["AZURE_CLIENT_ID"],
                &self.env["AZURE_CLIENT_SECRET"],
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn graph(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let token = self.admin_token().await;
        let mut request = self
            .http
            .request(method, format!("{}/v1.0/{path}", self.graph_url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("graph answers");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap_or(Value::Null)
    }

    async fn snapshot(&self) -> Value {
        self.http
            .get(format!("{}/sim/snapshot", self.graph_url))
            .send()
            .await
            .expect("snapshot")
            .json()
            .await
            .expect("snapshot JSON")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interrupt(child: &mut Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = child.wait().expect("sim serve exits");
    assert!(status.success(), "Ctrl-C stops it cleanly: {status}");
}

/// The variables a POSIX shell has after sourcing `file` (the test of its quoting too).
fn sourced(file: &Path) -> HashMap<String, String> {
    let names = [
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "AZURE_AUTHORITY_HOST",
        "ENTRA_MAIL_GRAPH_URL",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
    ];
    let script = names
        .iter()
        .map(|n| format!("printf '%s\\0' \"${n}\""))
        .collect::<Vec<_>>()
        .join("; ");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(". \"$1\"; {script}"))
        .arg("sh")
        .arg(file)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    names
        .iter()
        .zip(text.split('\0'))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Every `id` in a snapshot's tenant, by where it sits.
fn ids_of(tenant: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for (set, items) in tenant.as_object().into_iter().flatten() {
        for item in items.as_array().into_iter().flatten() {
            if let Some(id) = item["id"].as_str() {
                ids.push(format!("{set}:{id}"));
            }
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_env_points_every_kind_of_client_at_the_ca() {
    // A directory whose name holds a quote and a space: the file must still source.
    let root = tempfile::tempdir().unwrap();
    let dir: PathBuf = root.path().join("it's the sim");
    let served = Served::start(&dir, &[]);
    let ca = dir.join("ca.pem");
    for name in [
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
    ] {
        assert_eq!(Path::new(&served.env[name]), ca, "{name}");
    }
    assert_eq!(served.env["ENTRA_MAIL_GRAPH_URL"], served.graph_url);
    assert_eq!(served.env["AZURE_AUTHORITY_HOST"], served.graph_url);
    // The sourced secret signs in: the quoting kept it whole.
    served.admin_token().await;
    served.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_state_file_survives_a_restart_with_every_object_and_new_ids_stay_unique() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("sim");
    let state = root.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let first = Served::start(&dir, &["--state", state_arg]);
    let app = first
        .graph(
            reqwest::Method::POST,
            "applications",
            Some(json!({"displayName": "kept app"})),
        )
        .await;
    let policy = first
        .graph(
            reqwest::Method::POST,
            "identity/conditionalAccess/policies",
            Some(json!({
                "displayName": "MFA Pilot",
                "state": "enabledForReportingButNotEnforced",
                "conditions": {
                    "users": {"includeUsers": ["None"]},
                    "applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]},
                    "clientAppTypes": ["all"]
                },
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
            })),
        )
        .await;
    let before = first.snapshot().await;
    let tenant_id = first.env["AZURE_TENANT_ID"].clone();
    let admin_secret = first.env["AZURE_CLIENT_SECRET"].clone();
    first.stop();

    // No --tenant and no -f: the kept directory is the tenant served.
    let second = Served::start(&dir, &["--state", state_arg]);
    assert_eq!(second.env["AZURE_TENANT_ID"], tenant_id);
    assert_eq!(second.env["AZURE_CLIENT_SECRET"], admin_secret);
    let after = second.snapshot().await;
    assert_eq!(after, before, "every object is found again, unchanged");
    let policies = second
        .graph(
            reqwest::Method::GET,
            "identity/conditionalAccess/policies",
            None,
        )
        .await;
    assert!(
        policies["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == policy["id"]),
        "{policies}"
    );
    second
        .graph(
            reqwest::Method::GET,
            &format!("applications/{}", app["id"].as_str().unwrap()),
            None,
        )
        .await;

    // The generator starts again from its seed: what it draws must not repeat a kept id.
    let new_app = second
        .graph(
            reqwest::Method::POST,
            "applications",
            Some(json!({"displayName": "made after the restart"})),
        )
        .await;
    let kept: Vec<String> = ids_of(&before[&tenant_id])
        .into_iter()
        .map(|id| id.split_once(':').unwrap().1.to_string())
        .collect();
    for field in ["id", "appId"] {
        let new = new_app[field].as_str().unwrap();
        assert!(
            !kept.iter().any(|id| id == new) && new != app["appId"] && new != tenant_id,
            "{field} {new} repeats a kept id"
        );
    }
    second.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn sim_serve_replication_lag_keeps_a_new_secret_from_signing_in_until_it_replicates() {
    let root = tempfile::tempdir().unwrap();
    let lag = Duration::from_millis(1500);
    let served = Served::start(
        &root.path().join("sim"),
        &["--replication-lag-ms", &lag.as_millis().to_string()],
    );
    let admin_client_id = served.env["AZURE_CLIENT_ID"].clone();
    let apps = served
        .graph(
            reqwest::Method::GET,
            &format!("applications?$filter=appId eq '{admin_client_id}'"),
            None,
        )
        .await;
    let admin_object = apps["value"][0]["id"].as_str().unwrap().to_string();
    let added = std::time::Instant::now();
    let credential = served
        .graph(
            reqwest::Method::POST,
            &format!("applications/{admin_object}/addPassword"),
            Some(json!({"passwordCredential": {"displayName": "new"}})),
        )
        .await;
    let secret = credential["secretText"].as_str().unwrap().to_string();
    let (status, refused) = served.token(&admin_client_id, &secret).await;
    assert!(added.elapsed() < lag, "checked inside the lag");
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["error_codes"], json!([7000215]), "{refused}");

    tokio::time::sleep(lag.saturating_sub(added.elapsed()) + Duration::from_millis(100)).await;
    let (status, accepted) = served.token(&admin_client_id, &secret).await;
    assert_eq!(status, 200, "{accepted}");
    served.stop();
}
