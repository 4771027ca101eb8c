//! Every sign-in against the simulated tenant, offline, through azure_identity and the
//! shared HTTP client; the preflight that stops a run before its first write.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::provision::{CONFIG, TENANT};
use common::sim::Running;
use common::{Canned, ScriptedServer};
use entra_mail::auth::{self, AuthMethod, AuthSettings};
use entra_mail::graph::GraphClient;
use entra_mail::sim::{seed, Faults, SimOptions, TenantSpec};
use rustls_pki_types::pem::PemObject;
use serde_json::json;

async fn sim(faults: Faults, roles: Option<Vec<&str>>) -> Running {
    let mut spec = TenantSpec {
        tenant_id: Some(TENANT.into()),
        ..TenantSpec::default()
    };
    if let Some(roles) = roles {
        spec.admin_roles = roles.into_iter().map(String::from).collect();
    }
    common::sim::start(SimOptions {
        faults,
        tenants: vec![spec],
        ..SimOptions::default()
    })
    .await
}

/// Signs in with `method` and the environment `env`, and returns the token's claims.
async fn sign_in(
    running: &Running,
    method: AuthMethod,
    env: &HashMap<&str, String>,
) -> Result<serde_json::Value, String> {
    let http = running.http();
    let endpoints = running.endpoints();
    let prompt: auth::device_code::Prompt = Arc::new(|_| {});
    let settings = AuthSettings {
        method,
        tenant_id: TENANT,
        authority_host: &endpoints.authority_host,
        graph_url: &endpoints.graph_url,
        delegated_scopes: vec!["Application.ReadWrite.All".into(), "Policy.Read.All".into()],
        device_code_client_id: entra_mail::well_known::GRAPH_COMMAND_LINE_TOOLS.into(),
        http: &http,
        prompt,
        timeout: Duration::from_secs(20),
    };
    let chosen =
        auth::choose_with(&settings, &|name| env.get(name).cloned()).map_err(|e| e.to_string())?;
    let client = GraphClient::builder(&endpoints, chosen.credential)
        .http_client(http)
        .build()
        .unwrap();
    client.token_claims().await.map_err(|e| e.to_string())
}

fn admin_env(running: &Running) -> HashMap<&'static str, String> {
    HashMap::from([("AZURE_CLIENT_ID", running.tenant.admin_client_id.clone())])
}

/// A JWT-shaped token with these claims (the simulator verifies no federated signature).
fn jwt(claims: serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    format!(
        "{header}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn federated_assertion() -> String {
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    jwt(
        json!({"iss": seed::ADMIN_FEDERATED_ISSUER, "sub": seed::ADMIN_FEDERATED_SUBJECT, "aud": seed::ADMIN_FEDERATED_AUDIENCE, "exp": exp}),
    )
}

#[tokio::test]
async fn client_secret() {
    let running = sim(Faults::default(), None).await;
    let mut env = admin_env(&running);
    env.insert(
        "AZURE_CLIENT_SECRET",
        running.tenant.admin_client_secret.expose().to_string(),
    );
    let claims = sign_in(&running, AuthMethod::Auto, &env).await.unwrap();
    assert_eq!(claims["tid"], TENANT);
    assert!(claims["roles"]
        .as_array()
        .unwrap()
        .contains(&json!("Application.ReadWrite.All")));
}

/// A self-signed RSA certificate and its key, as PEM.
fn rsa_certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["entra-mail".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (certificate.pem(), key.serialize_pem())
}

/// `AZURE_CLIENT_CERTIFICATE_PATH` pointing at a PEM file holding `certificate` and `key`.
fn certificate_env(
    running: &Running,
    dir: &std::path::Path,
    name: &str,
    certificate: &str,
    key: &str,
) -> HashMap<&'static str, String> {
    let path = dir.join(name);
    std::fs::write(&path, format!("{certificate}{key}")).unwrap();
    let mut env = admin_env(running);
    env.insert("AZURE_CLIENT_CERTIFICATE_PATH", path.display().to_string());
    env
}

fn token_endpoint(running: &Running) -> String {
    format!(
        "{}/{TENANT}/oauth2/v2.0/token",
        running.sim.authority_host()
    )
}

#[tokio::test]
async fn certificate_signed_assertion() {
    let running = sim(Faults::default(), None).await;
    let (certificate, key) = rsa_certificate();
    let dir = tempfile::tempdir().unwrap();
    let env = certificate_env(&running, dir.path(), "app.pem", &certificate, &key);
    let refused = sign_in(&running, AuthMethod::Auto, &env).await.unwrap_err();
    assert!(
        refused.contains("AADSTS700027"),
        "an unregistered certificate is refused: {refused}"
    );

    // Only the certificate (public part) is registered, as a portal upload of a .cer does.
    assert!(running.sim.register_certificate(
        TENANT,
        &running.tenant.admin_client_id,
        certificate.as_bytes()
    ));
    let claims = sign_in(&running, AuthMethod::Certificate, &env)
        .await
        .unwrap();
    assert_eq!(claims["appid"], running.tenant.admin_client_id.as_str());
}

/// A certificate uploaded through Graph (`keyCredentials`, as the portal or `az ad app
/// credential reset --cert` does) signs in too, once it has replicated.
#[tokio::test]
async fn a_certificate_uploaded_as_a_key_credential() {
    let lag = std::time::Duration::from_millis(800);
    let running = sim(Faults::default(), None).await;
    let (certificate, key) = rsa_certificate();
    let der = rustls_pki_types::CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap();
    let token = running.token_for(&running.tenant).await;
    let patched = running
        .http()
        .patch(format!(
            "{}/v1.0/applications(appId='{}')",
            running.sim.graph_url(),
            running.tenant.admin_client_id
        ))
        .bearer_auth(token)
        .json(&json!({"keyCredentials": [{
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": base64::engine::general_purpose::STANDARD.encode(der.as_ref()),
            "displayName": "CN=entra-mail",
        }]}));
    running.sim.set_faults(|f| f.replication_lag = lag);
    let uploaded = std::time::Instant::now();
    let patched = patched.send().await.unwrap();
    assert_eq!(patched.status().as_u16(), 204, "{:?}", patched.text().await);
    let dir = tempfile::tempdir().unwrap();
    let env = certificate_env(&running, dir.path(), "app.pem", &certificate, &key);
    // Until it has replicated, sign-in does not know the certificate.
    let early = sign_in(&running, AuthMethod::Certificate, &env)
        .await
        .unwrap_err();
    assert!(uploaded.elapsed() < lag, "checked inside the lag");
    assert!(early.contains("AADSTS700027"), "{early}");
    tokio::time::sleep(
        lag.saturating_sub(uploaded.elapsed()) + std::time::Duration::from_millis(50),
    )
    .await;
    let claims = sign_in(&running, AuthMethod::Certificate, &env)
        .await
        .unwrap();
    assert_eq!(claims["appid"], running.tenant.admin_client_id.as_str());
}

/// A broken signing path: the registered certificate's thumbprint in the header, the
/// assertion signed with another key. Entra checks the signature, not just the thumbprint.
#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let running = sim(Faults::default(), None).await;
    let (certificate, _) = rsa_certificate();
    let (_, other_key) = rsa_certificate();
    assert!(running.sim.register_certificate(
        TENANT,
        &running.tenant.admin_client_id,
        certificate.as_bytes()
    ));
    let dir = tempfile::tempdir().unwrap();
    let env = certificate_env(&running, dir.path(), "forged.pem", &certificate, &other_key);
    let refused = sign_in(&running, AuthMethod::Certificate, &env)
        .await
        .unwrap_err();
    assert!(
        refused.contains("AADSTS700027: Client assertion contains an invalid signature."),
        "{refused}"
    );
}

/// The token endpoint's answer to a client assertion, as sent by hand.
async fn post_assertion(running: &Running, assertion: &str) -> serde_json::Value {
    running
        .http()
        .post(token_endpoint(running))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", running.tenant.admin_client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tampered_assertion_is_refused() {
    let running = sim(Faults::default(), None).await;
    let (certificate, key) = rsa_certificate();
    assert!(running.sim.register_certificate(
        TENANT,
        &running.tenant.admin_client_id,
        certificate.as_bytes()
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.pem");
    std::fs::write(&path, format!("{certificate}{key}")).unwrap();
    let signer = auth::certificate::CertificateAssertion::from_pem_file(
        &path,
        &running.tenant.admin_client_id,
        &token_endpoint(&running),
    )
    .unwrap();
    let assertion = signer.assertion().unwrap();
    let accepted = post_assertion(&running, &assertion).await;
    assert!(accepted["access_token"].is_string(), "{accepted}");

    // One flipped byte of the signature.
    let (signed, signature) = assertion.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    signature[7] ^= 0x01;
    let flipped = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature));
    let refused = post_assertion(&running, &flipped).await;
    assert_eq!(refused["error"], "invalid_client", "{refused}");
    assert_eq!(refused["error_codes"], json!([700027]));
    assert!(refused["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS700027: Client assertion contains an invalid signature."));

    // A signature that verifies, over claims that do not fit.
    let claims_of = |assertion: &str| {
        let payload = assertion.split('.').nth(1).unwrap();
        serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap()
    };
    assert_eq!(claims_of(&assertion)["aud"], token_endpoint(&running));
    let elsewhere = auth::certificate::CertificateAssertion::from_pem_file(
        &path,
        &running.tenant.admin_client_id,
        "https://login.microsoftonline.com/elsewhere/oauth2/v2.0/token",
    )
    .unwrap();
    let refused = post_assertion(&running, &elsewhere.assertion().unwrap()).await;
    assert_eq!(refused["error_codes"], json!([700023]), "{refused}");
    let someone_else = auth::certificate::CertificateAssertion::from_pem_file(
        &path,
        "00000000-0000-0000-0000-00000000beef",
        &token_endpoint(&running),
    )
    .unwrap();
    let refused = post_assertion(&running, &someone_else.assertion().unwrap()).await;
    assert_eq!(refused["error_codes"], json!([700021]), "{refused}");
}

#[tokio::test]
async fn a_federated_token_file() {
    let running = sim(Faults::default(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, federated_assertion()).unwrap();
    let mut env = admin_env(&running);
    env.insert("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string());
    let claims = sign_in(&running, AuthMethod::Auto, &env).await.unwrap();
    assert_eq!(claims["tid"], TENANT);

    std::fs::write(&file, federated_assertion().replace("a", "b")).unwrap();
    assert!(sign_in(&running, AuthMethod::WorkloadIdentity, &env)
        .await
        .is_err());
}

/// The files sign-in reads are bounded like configs: a device is refused at once, not read
/// forever (azure_identity's own workload identity credential would read `/dev/zero` on).
#[cfg(unix)]
#[tokio::test]
async fn credential_files_that_are_devices_are_refused_at_once() {
    let running = sim(Faults::default(), None).await;
    let started = std::time::Instant::now();
    for (variable, method, what) in [
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            AuthMethod::WorkloadIdentity,
            "federated token file",
        ),
        (
            "AZURE_CLIENT_CERTIFICATE_PATH",
            AuthMethod::Certificate,
            "certificate file",
        ),
    ] {
        let mut env = admin_env(&running);
        env.insert(variable, "/dev/zero".into());
        let error = sign_in(&running, method, &env).await.unwrap_err();
        assert!(
            error.contains(&format!(
                "{what} /dev/zero is not a regular file but a character device"
            )),
            "{error}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(running.sim.request_log().len(), 0);
}

#[tokio::test]
async fn github_actions_oidc() {
    let running = sim(Faults::default(), None).await;
    let github = ScriptedServer::start().await;
    github.always(Canned::json(
        200,
        json!({"value": federated_assertion(), "count": 1}),
    ));
    let mut env = admin_env(&running);
    env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        format!("{}/token?api-version=2.0", github.base),
    );
    env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "runner-request-token".into(),
    );
    let claims = sign_in(&running, AuthMethod::Auto, &env).await.unwrap();
    assert_eq!(claims["tid"], TENANT);
    let asked = &github.requests()[0];
    assert_eq!(
        asked.query.as_deref(),
        Some("api-version=2.0&audience=api://AzureADTokenExchange")
    );
    assert_eq!(
        asked.headers["authorization"],
        "Bearer runner-request-token"
    );
}

#[tokio::test]
async fn device_code_with_the_approval_knob() {
    let running = sim(
        Faults {
            device_code_interval: Duration::from_secs(1),
            ..Faults::default()
        },
        None,
    )
    .await;
    let shown = Arc::new(Mutex::new(Vec::<String>::new()));
    let http = running.http();
    let endpoints = running.endpoints();
    let seen = shown.clone();
    let settings = AuthSettings {
        method: AuthMethod::DeviceCode,
        tenant_id: TENANT,
        authority_host: &endpoints.authority_host,
        graph_url: &endpoints.graph_url,
        delegated_scopes: vec![
            "Application.ReadWrite.All".into(),
            "Policy.ReadWrite.ConditionalAccess".into(),
        ],
        device_code_client_id: entra_mail::well_known::GRAPH_COMMAND_LINE_TOOLS.into(),
        http: &http,
        prompt: Arc::new(move |message| seen.lock().unwrap().push(message.to_string())),
        timeout: Duration::from_secs(20),
    };
    let chosen = auth::choose_with(&settings, &|_| None).unwrap();
    let client = GraphClient::builder(&endpoints, chosen.credential)
        .http_client(http.clone())
        .build()
        .unwrap();
    let approver = {
        let shown = shown.clone();
        async move {
            loop {
                let message = shown.lock().unwrap().first().cloned();
                if let Some(message) = message {
                    let code = message
                        .split("enter the code ")
                        .nth(1)
                        .unwrap()
                        .split(' ')
                        .next()
                        .unwrap()
                        .to_string();
                    return code;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let (claims, code) = tokio::join!(client.token_claims(), async {
        let code = approver.await;
        assert!(running
            .sim
            .approve_device_code(&code, "admin@contoso.onmicrosoft.com"));
        code
    });
    let claims = claims.unwrap();
    assert_eq!(claims["upn"], "admin@contoso.onmicrosoft.com");
    assert_eq!(
        claims["scp"],
        "Application.ReadWrite.All Policy.ReadWrite.ConditionalAccess"
    );
    assert!(shown.lock().unwrap()[0].contains("https://microsoft.com/devicelogin"));
    assert_eq!(code.len(), 9);
}

#[tokio::test]
async fn a_declined_device_code_says_so() {
    let running = sim(
        Faults {
            device_code_interval: Duration::from_secs(1),
            ..Faults::default()
        },
        None,
    )
    .await;
    let sim = Arc::new(running);
    let decliner = sim.clone();
    let prompt_sim = sim.clone();
    let http = sim.http();
    let endpoints = sim.endpoints();
    let settings = AuthSettings {
        method: AuthMethod::DeviceCode,
        tenant_id: TENANT,
        authority_host: &endpoints.authority_host,
        graph_url: &endpoints.graph_url,
        delegated_scopes: vec!["Policy.Read.All".into()],
        device_code_client_id: entra_mail::well_known::GRAPH_COMMAND_LINE_TOOLS.into(),
        http: &http,
        prompt: Arc::new(move |message| {
            let code = message
                .split("enter the code ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string();
            assert!(prompt_sim.sim.decline_device_code(&code));
        }),
        timeout: Duration::from_secs(20),
    };
    let chosen = auth::choose_with(&settings, &|_| None).unwrap();
    let client = GraphClient::builder(&endpoints, chosen.credential)
        .http_client(http.clone())
        .build()
        .unwrap();
    let error = client.token_claims().await.unwrap_err().to_string();
    assert!(error.contains("authorization_declined"), "{error}");
    drop(decliner);
}

#[tokio::test]
async fn an_access_token_from_the_environment() {
    let running = sim(Faults::default(), None).await;
    let token = running.token_for(&running.tenant).await;
    let env = HashMap::from([("ENTRA_MAIL_ACCESS_TOKEN", token)]);
    let claims = sign_in(&running, AuthMethod::Auto, &env).await.unwrap();
    assert_eq!(claims["appid"], running.tenant.admin_client_id.as_str());
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_tenant_name_their_aadsts_codes() {
    let running = sim(Faults::default(), None).await;
    let mut env = admin_env(&running);
    env.insert("AZURE_CLIENT_SECRET", "not-the-secret".into());
    let error = sign_in(&running, AuthMethod::ClientSecret, &env)
        .await
        .unwrap_err();
    assert!(error.contains("AADSTS7000215"), "{error}");
    assert!(
        !error.contains("not-the-secret"),
        "the wrong secret is not echoed"
    );

    let http = running.http();
    let endpoints = running.endpoints();
    let credential = auth::client_secret(
        "11111111-2222-3333-4444-555555555555",
        &running.tenant.admin_client_id,
        &running.tenant.admin_client_secret,
        &http,
        &endpoints.authority_host,
    )
    .unwrap();
    let client = GraphClient::builder(&endpoints, credential)
        .http_client(http)
        .build()
        .unwrap();
    let error = client.token_claims().await.unwrap_err().to_string();
    assert!(error.contains("AADSTS90002"), "{error}");
}

#[test]
fn auto_picks_in_the_documented_order() {
    let pick = |vars: &[(&str, &str)], az: bool| {
        let env: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        auth::auto_method(&|name| env.get(name).cloned(), az).map(|(method, _)| method)
    };
    assert_eq!(
        pick(
            &[
                ("AZURE_CLIENT_ID", "a"),
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_FEDERATED_TOKEN_FILE", "f")
            ],
            true
        ),
        Some(AuthMethod::ClientSecret)
    );
    assert_eq!(
        pick(
            &[
                ("AZURE_CLIENT_ID", "a"),
                ("AZURE_CLIENT_CERTIFICATE_PATH", "c")
            ],
            true
        ),
        Some(AuthMethod::Certificate)
    );
    assert_eq!(
        pick(
            &[
                ("AZURE_CLIENT_ID", "a"),
                ("AZURE_FEDERATED_TOKEN_FILE", "f")
            ],
            true
        ),
        Some(AuthMethod::WorkloadIdentity)
    );
    assert_eq!(
        pick(
            &[
                ("AZURE_CLIENT_ID", "a"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t")
            ],
            true
        ),
        Some(AuthMethod::GithubOidc)
    );
    assert_eq!(
        pick(
            &[
                ("SYSTEM_OIDCREQUESTURI", "u"),
                ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "c"),
                ("AZURESUBSCRIPTION_CLIENT_ID", "a")
            ],
            true
        ),
        Some(AuthMethod::AzurePipelines)
    );
    assert_eq!(
        pick(&[("ENTRA_MAIL_ACCESS_TOKEN", "t")], true),
        Some(AuthMethod::AccessToken)
    );
    assert_eq!(
        pick(&[("IDENTITY_ENDPOINT", "http://169.254.169.254")], true),
        Some(AuthMethod::ManagedIdentity)
    );
    assert_eq!(pick(&[], true), Some(AuthMethod::AzureCli));
    assert_eq!(pick(&[], false), None);
}

/// The CLI pointed at a simulator like at a real tenant (endpoints, CA, credentials from the
/// environment), for a tenant whose admin app lacks Policy.ReadWrite.ConditionalAccess.
fn cli(running: &Running, dir: &std::path::Path, args: &[&str]) -> assert_cmd::assert::Assert {
    running.cli(dir).args(args).assert()
}

const POLICY: &str = "\n[conditional_access]\nstate = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\nemergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\"]\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_permission_is_named_by_doctor_and_stops_apply_before_any_write() {
    let roles = seed::DEFAULT_ADMIN_ROLES
        .iter()
        .copied()
        .filter(|r| *r != "Policy.ReadWrite.ConditionalAccess")
        .collect();
    let running = sim(Faults::default(), Some(roles)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenant.toml"), format!("{CONFIG}{POLICY}")).unwrap();

    let doctor = cli(&running, dir.path(), &["doctor", "-f", "tenant.toml"]).code(1);
    let out = String::from_utf8_lossy(&doctor.get_output().stdout).to_string();
    assert!(out.contains("MISSING  write a Conditional Access policy that names apps: grant the Microsoft Graph application permission Policy.ReadWrite.ConditionalAccess to app"), "{out}");
    assert!(
        out.contains("ok       create and update the app registration and its secrets"),
        "{out}"
    );

    running.sim.reset_counters();
    let apply = cli(
        &running,
        dir.path(),
        &["apply", "-f", "tenant.toml", "--auto-approve"],
    )
    .code(1);
    let err = String::from_utf8_lossy(&apply.get_output().stderr).to_string();
    assert!(
        err.contains("lacks permissions this config needs, so nothing was read or written"),
        "{err}"
    );
    assert!(err.contains("Policy.ReadWrite.ConditionalAccess"), "{err}");
    let counters = running.sim.counters();
    assert_eq!(counters.writes, 0);
    assert_eq!(counters.requests, 0, "not even a read");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_token_without_a_roles_claim_holds_no_permission() {
    // A token carries no `roles` claim when the app holds no app role (Entra leaves out
    // empty claims): doctor and apply read that as "none", name every grant, and write nothing.
    let running = sim(Faults::default(), Some(Vec::new())).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenant.toml"), format!("{CONFIG}{POLICY}")).unwrap();

    let doctor = cli(&running, dir.path(), &["doctor", "-f", "tenant.toml"]).code(1);
    let out = String::from_utf8_lossy(&doctor.get_output().stdout).to_string();
    assert!(
        out.contains("MISSING  create and update the app registration and its secrets"),
        "{out}"
    );
    assert!(!out.contains("ok       "), "nothing is held: {out}");

    running.sim.reset_counters();
    let apply = cli(
        &running,
        dir.path(),
        &["apply", "-f", "tenant.toml", "--auto-approve"],
    )
    .code(1);
    let err = String::from_utf8_lossy(&apply.get_output().stderr).to_string();
    assert!(
        err.contains("lacks permissions this config needs, so nothing was read or written"),
        "{err}"
    );
    assert!(err.contains("Application.ReadWrite.All"), "{err}");
    assert_eq!(running.sim.counters().requests, 0, "not even a read");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_another_tenant_is_refused() {
    let running = sim(Faults::default(), None).await;
    let other = running.sim.add_tenant(TenantSpec {
        domain_label: "fabrikam".into(),
        ..TenantSpec::default()
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenant.toml"), CONFIG).unwrap();
    let assert = assert_cmd::Command::cargo_bin("entra-mail")
        .unwrap()
        .current_dir(dir.path())
        .env("ENTRA_MAIL_GRAPH_URL", running.sim.graph_url())
        .env("AZURE_AUTHORITY_HOST", running.sim.authority_host())
        .env("SSL_CERT_FILE", running.ca_file.path())
        .env("ENTRA_MAIL_ACCESS_TOKEN", running.token_for(&other).await)
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_TENANT_ID")
        .args(["plan", "-f", "tenant.toml", "--auth", "access-token"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        err.contains(&format!(
            "the access token is for tenant {}, but tenant.toml is for tenant {TENANT}",
            other.tenant_id
        )),
        "{err}"
    );
    assert_eq!(running.sim.counters().requests, 0);
}

/// Without the simulator's CA the token request itself fails TLS: the CLI says which
/// certificate is untrusted and what to set, within seconds (no retries of a handshake that
/// will fail again), and no dependency's log lines reach stderr without -v.
/// Multi-threaded on purpose: the CLI call blocks this thread, and on a current-thread
/// runtime the simulator sharing it could not even finish a handshake (the CLI would then see
/// 10 s connect timeouts, retried: ~21 s ending in "operation timed out").
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_token_endpoint_gets_the_ca_hint_quickly() {
    let running = sim(Faults::default(), None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenant.toml"), CONFIG).unwrap();

    let started = std::time::Instant::now();
    let output = running
        .cli(dir.path())
        .env_remove("SSL_CERT_FILE")
        .env_remove("RUST_LOG")
        .args(["plan", "-f", "tenant.toml"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "{err}");
    let authority = running.endpoints().authority_host;
    let origin = authority.origin().ascii_serialization();
    assert!(
        err.contains(&format!(
            "the certificate of {origin} is not trusted; set SSL_CERT_FILE or --ca-cert to a PEM file with its CA"
        )),
        "{err}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}: {err}");
    assert!(!err.contains("retry policy expired"), "retried: {err}");
    assert!(!err.contains("ERROR"), "{err}");
}
