//! Azure Key Vault's secrets API (REST 7.x) as the simulator serves it beside Graph: through
//! Microsoft's own client (azure_security_keyvault_secrets) on the project's credential and
//! HTTP stack, and with raw requests where the exact answer (challenge, error body) matters.

use super::*;

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_security_keyvault_secrets::models::{
    Secret, SecretAttributes, SecretClientGetSecretOptions, SetSecretParameters,
};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use entra_mail::sim::TenantInfo;
use futures::TryStreamExt;

const VAULT: &str = "contoso-itsm";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

/// A simulator whose default tenant was seeded with the vault.
async fn start_vault() -> Running {
    let mut options = options();
    options.tenants.push(TenantSpec {
        key_vaults: vec![VAULT.to_string()],
        ..TenantSpec::default()
    });
    common::sim::start(options).await
}

/// `tenant`'s admin app signed in with its client secret, as production signs in.
fn credential(running: &Running, tenant: &TenantInfo) -> Arc<dyn TokenCredential> {
    let authority_host = running.endpoints().authority_host;
    entra_mail::auth::client_secret(
        &tenant.tenant_id,
        &tenant.admin_client_id,
        &tenant.admin_client_secret,
        &running.http(),
        &authority_host,
    )
    .unwrap()
}

/// The official client, signed in as `tenant`'s admin app.
fn vault_client(running: &Running, tenant: &TenantInfo) -> SecretClient {
    let http = running.http();
    let authority_host = running.endpoints().authority_host;
    let options = SecretClientOptions {
        client_options: entra_mail::auth::credential_options(&http, &authority_host),
        // The challenge names vault.azure.net; the simulator's host is 127.0.0.1.
        verify_challenge_resource: Some(false),
        ..SecretClientOptions::default()
    };
    let credential = credential(running, tenant);
    SecretClient::new(&running.sim.key_vault_url(VAULT), credential, Some(options)).unwrap()
}

/// A token of `tenant`'s admin app for `scope`.
async fn token(running: &Running, tenant: &TenantInfo, scope: &str) -> String {
    let token = credential(running, tenant)
        .get_token(&[scope], None)
        .await
        .unwrap();
    token.token.secret().to_string()
}

/// What a raw request got; the body is `null` when it is not JSON.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn challenge(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn error(&self) -> (u16, &str, &str) {
        (
            self.status,
            s(&self.body, "/error/code"),
            s(&self.body, "/error/message"),
        )
    }
}

/// Raw requests to the vault, with a bearer token or none.
struct Raw<'a> {
    running: &'a Running,
    token: Option<String>,
}

impl Raw<'_> {
    /// `path` is below the vault's URL, with its query.
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/{path}", self.running.sim.key_vault_url(VAULT));
        let mut request = self.running.http().request(method, url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }
}

/// Raw requests with a vault token of the default tenant's admin app.
async fn as_admin(running: &Running) -> Raw<'_> {
    let token = token(running, &running.tenant, VAULT_SCOPE).await;
    with_token(running, token)
}

fn with_token(running: &Running, token: String) -> Raw<'_> {
    Raw {
        running,
        token: Some(token),
    }
}

/// The current value of `secret` in the vault, as the simulator holds it.
fn value_in_vault(running: &Running, secret: &str) -> Option<String> {
    running
        .sim
        .key_vault_secret_value(VAULT, secret)
        .map(|v| v.expose().to_string())
}

async fn set(client: &SecretClient, name: &str, parameters: SetSecretParameters) -> Value {
    let secret = client
        .set_secret(name, parameters.try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    serde_json::to_value(&secret).unwrap()
}

/// The secret's current version (or `version`) through the client.
async fn get(client: &SecretClient, name: &str, version: Option<&str>) -> Secret {
    let options = SecretClientGetSecretOptions {
        secret_version: version.map(String::from),
        ..Default::default()
    };
    let response = client.get_secret(name, Some(options)).await.unwrap();
    response.into_model().unwrap()
}

fn value(text: &str) -> SetSecretParameters {
    SetSecretParameters {
        value: Some(text.to_string()),
        ..SetSecretParameters::default()
    }
}

fn version_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap()
}

/// The status and error body of a failed SDK call.
fn failure(error: &azure_core::Error) -> (u16, Value) {
    let status = error.http_status().map(u16::from).unwrap_or_default();
    let body = match error.kind() {
        azure_core::error::ErrorKind::HttpResponse {
            raw_response: Some(raw),
            ..
        } => raw.body().json::<Value>().unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

fn challenge(running: &Running) -> String {
    format!(
        r#"Bearer authorization="{}/{}", resource="https://vault.azure.net""#,
        running.sim.authority_host(),
        running.tenant.tenant_id
    )
}

fn admin_sp(running: &Running) -> String {
    running.tenant.admin_service_principal_id.clone()
}

// ---------------------------------------------------------------------------------------------
// authentication

#[tokio::test]
async fn a_request_without_a_token_gets_the_challenge_before_its_body_is_read() {
    let running = start_vault().await;
    // Not even JSON: the body must not be looked at before the caller is known.
    let response = running
        .http()
        .put(format!(
            "{}/secrets/db-password?api-version=7.6",
            running.sim.key_vault_url(VAULT)
        ))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let challenge_header = response.headers().get("www-authenticate").cloned();
    assert_eq!(challenge_header.unwrap(), challenge(&running).as_str());
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
    );
    assert_eq!(value_in_vault(&running, "db-password"), None);
}

#[tokio::test]
async fn a_graph_token_is_refused_by_the_vault_and_a_vault_token_by_graph() {
    let running = start_vault().await;
    let graph_token = running.token_for(&running.tenant).await;
    let answer = with_token(&running, graph_token)
        .get("secrets/db-password/?api-version=7.6")
        .await;
    assert_eq!(answer.challenge(), challenge(&running));
    assert_eq!(
        answer.error(),
        (
            401,
            "Unauthorized",
            "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://graph.microsoft.com."
        )
    );

    let vault_token = token(&running, &running.tenant, VAULT_SCOPE).await;
    let response = running
        .http()
        .get(format!("{}/v1.0/applications", running.sim.graph_url()))
        .bearer_auth(&vault_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(s(&body, "/error/code"), "InvalidAuthenticationToken");
    assert_eq!(
        s(&body, "/error/message"),
        "Access token validation failure. Invalid audience."
    );
}

#[tokio::test]
async fn vault_tokens_carry_the_vault_audience_and_need_no_resource_service_principal() {
    let running = start_vault().await;
    for scope in [
        VAULT_SCOPE,
        "https://vault.azure.net//.default",
        "https://vault.usgovcloudapi.net/.default",
    ] {
        let token = token(&running, &running.tenant, scope).await;
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        let expected = scope.trim_end_matches("/.default").trim_end_matches('/');
        assert_eq!(claims["aud"], expected, "{scope}");
        assert_eq!(claims["oid"], admin_sp(&running).as_str());
        assert!(
            claims.get("roles").is_none(),
            "no values, no claim: {claims}"
        );
    }
    let no_vault_sp = snapshot_list(&running, &running.tenant.tenant_id, "servicePrincipals")
        .iter()
        .all(|sp| sp["displayName"] != "Azure Key Vault");
    assert!(no_vault_sp);
}

#[tokio::test]
async fn another_tenants_token_is_refused_as_of_the_wrong_issuer() {
    let running = start_vault().await;
    let other = running.sim.add_tenant(TenantSpec {
        domain_label: "fabrikam".into(),
        ..TenantSpec::default()
    });
    let token = token(&running, &other, VAULT_SCOPE).await;
    let answer = with_token(&running, token)
        .get("secrets/db-password?api-version=7.6")
        .await;
    assert_eq!(answer.challenge(), challenge(&running));
    let expected = format!(
        "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{}/, found https://sts.windows.net/{}/.",
        running.tenant.tenant_id, other.tenant_id
    );
    assert_eq!(answer.error(), (401, "Unauthorized", expected.as_str()));
}

#[tokio::test]
async fn a_request_without_an_api_version_is_a_bad_parameter() {
    let running = start_vault().await;
    let answer = as_admin(&running).await.get("secrets/db-password").await;
    let (status, code, message) = answer.error();
    assert_eq!((status, code), (400, "BadParameter"));
    assert!(message.contains("API version"), "{message}");
}

#[tokio::test]
async fn an_unknown_vault_is_not_found() {
    let running = start_vault().await;
    let url = running.sim.key_vault_url("fabrikam-kv");
    let response = running
        .http()
        .get(format!("{url}/secrets/x?api-version=7.6"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(s(&body, "/error/code"), "VaultNotFound");
    assert!(s(&body, "/error/message").contains("fabrikam-kv"));
}

// ---------------------------------------------------------------------------------------------
// secrets

#[tokio::test]
async fn each_set_is_a_new_version_and_get_reads_the_latest_or_one() {
    let running = start_vault().await;
    let client = vault_client(&running, &running.tenant);

    let first = set(&client, "db-password", value("one")).await;
    let first_id = s(&first, "/id").to_string();
    assert!(first_id.starts_with(&format!(
        "{}/secrets/db-password/",
        running.sim.key_vault_url(VAULT)
    )));
    let first_version = version_of(&first_id).to_string();
    assert_eq!(first_version.len(), 32);
    assert!(first_version
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(first["value"], "one");

    let latest = get(&client, "db-password", None).await;
    assert_eq!(latest.value.as_deref(), Some("one"));

    let second = set(&client, "db-password", value("two")).await;
    let second_version = version_of(s(&second, "/id")).to_string();
    assert_ne!(second_version, first_version);
    let latest = get(&client, "db-password", None).await;
    assert_eq!(latest.value.as_deref(), Some("two"));
    let old = get(&client, "db-password", Some(&first_version)).await;
    assert_eq!(old.value.as_deref(), Some("one"));

    let versions: Vec<_> = client
        .list_secret_properties_versions("db-password", None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<String> = versions
        .iter()
        .map(|v| version_of(v.id.as_deref().unwrap()).to_string())
        .collect();
    ids.sort();
    let mut expected = vec![first_version, second_version];
    expected.sort();
    assert_eq!(ids, expected);

    // The raw list: SecretItems without values, and no next page.
    let list = as_admin(&running)
        .await
        .get("secrets/db-password/versions?api-version=7.6")
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["nextLink"], Value::Null);
    assert!(list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|item| item.get("value").is_none() && item["attributes"]["enabled"] == true));
}

#[tokio::test]
async fn content_type_tags_and_expiry_round_trip() {
    let running = start_vault().await;
    let client = vault_client(&running, &running.tenant);
    let expires = time::OffsetDateTime::from_unix_timestamp(4_102_444_800).unwrap();
    let parameters = SetSecretParameters {
        value: Some("s3cr3t".into()),
        content_type: Some("text/plain".into()),
        secret_attributes: Some(SecretAttributes {
            enabled: Some(true),
            expires: Some(expires),
            ..SecretAttributes::default()
        }),
        tags: Some(HashMap::from([("key-id".to_string(), "k1".to_string())])),
    };
    set(&client, "db-password", parameters).await;
    let secret = get(&client, "db-password", None).await;
    assert_eq!(secret.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        secret.tags.unwrap(),
        HashMap::from([("key-id".to_string(), "k1".to_string())])
    );
    let attributes = secret.attributes.unwrap();
    assert_eq!(attributes.expires, Some(expires));
    assert_eq!(attributes.enabled, Some(true));
    assert!(attributes.created.is_some() && attributes.updated.is_some());
    assert_eq!(attributes.recoverable_days, Some(90));

    // The snapshot shows the same, never the value.
    let snapshot = running.sim.snapshot();
    let versions =
        &snapshot[&running.tenant.tenant_id]["keyVaults"][VAULT]["secrets"]["db-password"];
    assert_eq!(versions[0]["contentType"], "text/plain");
    assert_eq!(versions[0]["tags"]["key-id"], "k1");
    assert_eq!(versions[0]["attributes"]["exp"], 4_102_444_800_i64);
    assert_eq!(versions[0]["deleted"], false);
    assert!(!snapshot.to_string().contains("s3cr3t"));
    assert_eq!(value_in_vault(&running, "db-password").unwrap(), "s3cr3t");
    assert!(running.sim.issued_secrets().contains(&"s3cr3t".to_string()));
}

#[tokio::test]
async fn missing_secrets_versions_and_values_are_refused() {
    let running = start_vault().await;
    let client = vault_client(&running, &running.tenant);
    let error = client.get_secret("nothing-here", None).await.unwrap_err();
    let (status, body) = failure(&error);
    assert_eq!(status, 404);
    assert_eq!(s(&body, "/error/code"), "SecretNotFound");
    assert!(s(&body, "/error/message")
        .starts_with("A secret with (name/id) nothing-here was not found in this key vault."));

    set(&client, "db-password", value("one")).await;
    let admin = as_admin(&running).await;
    let unknown_version = admin
        .get("secrets/db-password/0123456789abcdef0123456789abcdef?api-version=7.6")
        .await;
    assert_eq!(unknown_version.error().0, 404);
    assert_eq!(unknown_version.error().1, "SecretNotFound");
    for (path, body) in [
        ("secrets/db_password?api-version=7.6", json!({"value": "x"})),
        (
            "secrets/db-password?api-version=7.6",
            json!({"contentType": "text/plain"}),
        ),
    ] {
        let refused = admin.put(path, body).await;
        assert_eq!(refused.error().0, 400, "{path}: {}", refused.body);
        assert_eq!(refused.error().1, "BadParameter");
    }
}

#[tokio::test]
async fn a_disabled_version_cannot_be_read() {
    let running = start_vault().await;
    let admin = as_admin(&running).await;
    let put = admin
        .put(
            "secrets/db-password?api-version=7.6",
            json!({"value": "one", "attributes": {"enabled": false}}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let get = admin.get("secrets/db-password/?api-version=7.6").await;
    assert_eq!(get.status, 403);
    assert_eq!(s(&get.body, "/error/innererror/code"), "SecretDisabled");
}

#[tokio::test]
async fn soft_delete_hides_the_name_until_it_is_purged() {
    let running = start_vault().await;
    let client = vault_client(&running, &running.tenant);
    set(&client, "db-password", value("one")).await;

    let deleted = client
        .delete_secret("db-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let recovery_id = format!(
        "{}/deletedsecrets/db-password",
        running.sim.key_vault_url(VAULT)
    );
    assert_eq!(deleted.recovery_id, Some(recovery_id));
    assert!(deleted.deleted_date.is_some() && deleted.scheduled_purge_date.is_some());

    let (status, body) = failure(&client.get_secret("db-password", None).await.unwrap_err());
    assert_eq!((status, s(&body, "/error/code")), (404, "SecretNotFound"));
    let write = client
        .set_secret("db-password", value("two").try_into().unwrap(), None)
        .await;
    let (status, body) = failure(&write.unwrap_err());
    assert_eq!((status, s(&body, "/error/code")), (409, "Conflict"));
    assert_eq!(
        s(&body, "/error/innererror/code"),
        "ObjectIsDeletedButRecoverable"
    );
    assert!(client.get_deleted_secret("db-password", None).await.is_ok());
    assert_eq!(value_in_vault(&running, "db-password"), None);

    // Purging needs its own permission, which the admin app is not given by default.
    let purge = client.purge_deleted_secret("db-password", None).await;
    let (status, body) = failure(&purge.unwrap_err());
    assert_eq!(
        (status, s(&body, "/error/innererror/code")),
        (403, "ForbiddenByRbac")
    );
    let admin = admin_sp(&running);
    running
        .sim
        .with_key_vault(VAULT, |vault| {
            vault.access.get_mut(&admin).unwrap().push("purge".into())
        })
        .unwrap();
    let purged = client
        .purge_deleted_secret("db-password", None)
        .await
        .unwrap();
    assert_eq!(u16::from(purged.status()), 204);
    set(&client, "db-password", value("two")).await;
    assert_eq!(value_in_vault(&running, "db-password").unwrap(), "two");
}

// ---------------------------------------------------------------------------------------------
// access

#[tokio::test]
async fn a_principal_without_set_is_forbidden_by_rbac() {
    let running = start_vault().await;
    let admin = admin_sp(&running);
    running
        .sim
        .with_key_vault(VAULT, |vault| {
            vault.access.insert(admin.clone(), vec!["get".into()]);
        })
        .unwrap();
    let client = vault_client(&running, &running.tenant);
    let (status, body) = failure(
        &client
            .set_secret("db-password", value("one").try_into().unwrap(), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert_eq!(s(&body, "/error/code"), "Forbidden");
    assert_eq!(s(&body, "/error/innererror/code"), "ForbiddenByRbac");
    let message = s(&body, "/error/message");
    let tenant = &running.tenant;
    assert!(message.starts_with("Caller is not authorized to perform action on resource.\r\n"));
    assert!(message.contains(&format!(
        "Caller: appid={};oid={admin};iss=https://sts.windows.net/{}/\r\n",
        tenant.admin_client_id, tenant.tenant_id
    )));
    assert!(message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\n"));
    assert!(message.contains("/vaults/contoso-itsm/secrets/db-password'\r\n"));
    assert!(message.contains("DecisionReason: 'DeniedWithNoValidRBAC'\r\n"));
    assert!(message.ends_with("Vault: contoso-itsm;location=westeurope\r\n"));
    // Reading is still allowed: it is a 404, not a 403.
    let (status, _) = failure(&client.get_secret("db-password", None).await.unwrap_err());
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_access_policy_vault_refuses_in_its_own_words() {
    let running = start_vault().await;
    running
        .sim
        .with_key_vault(VAULT, |vault| {
            vault.rbac = false;
            vault.access.clear();
        })
        .unwrap();
    let client = vault_client(&running, &running.tenant);
    let (status, body) = failure(&client.get_secret("db-password", None).await.unwrap_err());
    assert_eq!(status, 403);
    assert_eq!(s(&body, "/error/innererror/code"), "AccessDenied");
    let tenant = &running.tenant;
    assert_eq!(
        s(&body, "/error/message"),
        format!(
            "The user, group or application 'appid={};oid={};iss=https://sts.windows.net/{}/' does not have secrets get permission on key vault 'contoso-itsm;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            tenant.admin_client_id, tenant.admin_service_principal_id, tenant.tenant_id
        )
    );
}

#[tokio::test]
async fn a_vault_name_belongs_to_one_tenant() {
    let running = start_vault().await;
    let other = running.sim.add_tenant(TenantSpec {
        domain_label: "fabrikam".into(),
        ..TenantSpec::default()
    });
    assert!(!running.sim.add_key_vault(&other.tenant_id, VAULT));
    assert!(running.sim.add_key_vault(&running.tenant.tenant_id, VAULT));
    assert!(running.sim.add_key_vault(&other.tenant_id, "fabrikam-kv"));
    assert!(!running.sim.add_key_vault(&other.tenant_id, "no"));
    let unknown_tenant = "00000000-0000-0000-0000-000000000001";
    assert!(!running.sim.add_key_vault(unknown_tenant, "lonely-kv"));
}

// ---------------------------------------------------------------------------------------------
// the simulator's own record

#[tokio::test]
async fn vault_requests_are_logged_and_counted_without_values() {
    let running = start_vault().await;
    running.sim.reset_counters();
    let client = vault_client(&running, &running.tenant);
    set(&client, "db-password", value("logged-value-1")).await;

    let log = running.sim.request_log();
    let vault_entries: Vec<_> = log
        .iter()
        .filter(|e| e.path == "keyvault/contoso-itsm/secrets/db-password")
        .collect();
    // The SDK's first try, without a token, then the write.
    let statuses: Vec<(u16, bool)> = vault_entries.iter().map(|e| (e.status, e.wrote)).collect();
    assert_eq!(statuses, vec![(401, false), (200, true)], "{log:?}");
    let write = vault_entries[1];
    assert_eq!(write.method, "PUT");
    assert_eq!(
        write.tenant.as_deref(),
        Some(running.tenant.tenant_id.as_str())
    );
    assert!(!format!("{log:?}").contains("logged-value-1"));

    let counters = running.sim.counters();
    assert_eq!(counters.writes, 1);
    assert_eq!(counters.by_route["PUT keyvault/secrets/{name}"], 2);
}

#[tokio::test]
async fn write_faults_apply_to_vault_writes() {
    let running = start_vault().await;
    running
        .sim
        .set_faults(|f| f.unavailable_after_writes = vec![1]);
    let answer = as_admin(&running)
        .await
        .put(
            "secrets/db-password?api-version=7.6",
            json!({"value": "committed"}),
        )
        .await;
    // Answered 503, yet committed, as a gateway timing out on a write would leave it.
    assert_eq!(answer.error().0, 503);
    assert_eq!(answer.error().1, "ServiceUnavailable");
    assert_eq!(
        value_in_vault(&running, "db-password").unwrap(),
        "committed"
    );
}

#[tokio::test]
async fn a_throttled_vault_answers_429_and_graph_does_not() {
    let running = start_vault().await;
    running
        .sim
        .with_key_vault(VAULT, |vault| vault.faults.throttle_rate = 1.0)
        .unwrap();
    let answer = as_admin(&running)
        .await
        .get("secrets/db-password?api-version=7.6")
        .await;
    assert_eq!(answer.error().0, 429);
    assert_eq!(answer.error().1, "Throttled");
    assert_eq!(answer.headers.get("retry-after").unwrap(), "1");
    let client = running.client();
    ok(&client, Request::get("applications")).await;
}

#[tokio::test]
async fn the_state_file_keeps_vaults_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tenant_id = "8d6f1c2e-0000-4000-8000-00000000abcd";
    let with_state = || {
        let mut options = options();
        options.state_file = Some(dir.path().join("state.json"));
        options.tenants.push(TenantSpec {
            tenant_id: Some(tenant_id.into()),
            ..TenantSpec::default()
        });
        options
    };
    let first = common::sim::start(with_state()).await;
    assert!(first.sim.add_key_vault(tenant_id, VAULT));
    let client = vault_client(&first, &first.tenant);
    set(&client, "db-password", value("kept")).await;
    drop(first);

    let second = common::sim::start(with_state()).await;
    let client = vault_client(&second, &second.tenant);
    let secret = get(&client, "db-password", None).await;
    assert_eq!(secret.value.as_deref(), Some("kept"));
    assert!(second.sim.issued_secrets().contains(&"kept".to_string()));
}
