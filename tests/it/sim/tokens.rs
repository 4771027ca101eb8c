//! The simulated token endpoint: client credentials (secret or assertion), the device code
//! grant, OpenID discovery, and how Graph treats the tokens it issues.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::sim::Running;
use entra_mail::graph::Request;
use entra_mail::sim::seed::{
    ADMIN_FEDERATED_AUDIENCE, ADMIN_FEDERATED_ISSUER, ADMIN_FEDERATED_SUBJECT,
};
use entra_mail::sim::{Faults, SimOptions, TenantInfo, TenantSpec};
use serde_json::{json, Value};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

// ---------------------------------------------------------------------------------------------
// helpers

async fn start() -> Running {
    common::sim::start(SimOptions {
        faults: Faults {
            conditional_access_rate_limit: false,
            ..Faults::default()
        },
        ..SimOptions::default()
    })
    .await
}

/// POSTs a form to `{authority}/{tenant}/oauth2/v2.0/{endpoint}`.
async fn post_form(
    running: &Running,
    tenant: &str,
    endpoint: &str,
    pairs: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    let response = running
        .http()
        .post(format!(
            "{}/{tenant}/oauth2/v2.0/{endpoint}",
            running.sim.authority_host()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn client_credentials(
    running: &Running,
    tenant: &TenantInfo,
    secret: &str,
    scope: &str,
) -> (u16, Value) {
    post_form(
        running,
        &tenant.tenant_id,
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &tenant.admin_client_id),
            ("client_secret", secret),
            ("scope", scope),
        ],
    )
    .await
}

fn s<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {value}"))
}

/// The claims of a JWT-shaped token (header.payload.signature, base64url).
fn claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "three JWT parts: {token}");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], json!("JWT"));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

fn access_token(answer: &Value) -> String {
    s(answer, "/access_token").to_string()
}

/// An Entra OAuth error: `error`, and `error_description` starting `AADSTS{code}`.
fn assert_aad_error((status, answer): &(u16, Value), expected_status: u16, error: &str, code: u32) {
    assert_eq!(*status, expected_status, "{answer}");
    assert_eq!(s(answer, "/error"), error, "{answer}");
    let description = s(answer, "/error_description");
    assert!(
        description.starts_with(&format!("AADSTS{code}")),
        "{description}"
    );
    assert_eq!(answer["error_codes"], json!([code]), "{answer}");
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(answer[field].is_string(), "{field} in {answer}");
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A hand-made client assertion: the simulator reads claims and does not check signatures.
fn assertion(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(b"not really a signature")
    )
}

fn federated_claims() -> Value {
    json!({
        "iss": ADMIN_FEDERATED_ISSUER,
        "sub": ADMIN_FEDERATED_SUBJECT,
        "aud": ADMIN_FEDERATED_AUDIENCE,
        "iat": now(),
        "nbf": now(),
        "exp": now() + 600,
        "jti": "7e8c1f2a-0000-4000-8000-000000000003"
    })
}

async fn with_assertion(running: &Running, jwt: &str) -> (u16, Value) {
    let tenant = &running.tenant;
    post_form(
        running,
        &tenant.tenant_id,
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &tenant.admin_client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", jwt),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await
}

async fn graph_get(running: &Running, token: &str, path: &str) -> (u16, Value) {
    let response = running
        .http()
        .get(format!("{}/v1.0/{path}", running.sim.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn graph_post(running: &Running, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = running
        .http()
        .post(format!("{}/v1.0/{path}", running.sim.graph_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// client credentials with a secret

#[tokio::test]
async fn client_secret_issues_a_token_with_tenant_app_and_roles() {
    let running = start().await;
    let tenant = &running.tenant;
    let (status, answer) = client_credentials(
        &running,
        tenant,
        tenant.admin_client_secret.expose(),
        GRAPH_DEFAULT,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(s(&answer, "/token_type"), "Bearer");
    assert!(answer["expires_in"].as_i64().unwrap() > 0);
    let token = access_token(&answer);
    let claims = claims(&token);
    assert_eq!(s(&claims, "/tid"), tenant.tenant_id);
    assert_eq!(s(&claims, "/appid"), tenant.admin_client_id);
    assert_eq!(s(&claims, "/oid"), tenant.admin_service_principal_id);
    assert_eq!(s(&claims, "/idtyp"), "app");
    assert!(claims["exp"].as_i64().unwrap() > now());
    let mut roles: Vec<&str> = claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    roles.sort();
    let mut expected: Vec<&str> = entra_mail::sim::seed::DEFAULT_ADMIN_ROLES.to_vec();
    expected.sort();
    assert_eq!(roles, expected);
    assert!(claims.get("scp").is_none());
    assert!(running.sim.issued_secrets().contains(&token));
    assert_eq!(running.sim.counters().token_requests, 1);

    // The token works on Graph.
    let (status, _) = graph_get(&running, &token, "applications").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn graph_scope_may_name_graph_by_url_or_app_id() {
    let running = start().await;
    let tenant = &running.tenant;
    let secret = tenant.admin_client_secret.expose();
    for scope in [
        GRAPH_DEFAULT.to_string(),
        format!("{GRAPH}/.default"),
        format!("{}/.default", running.sim.graph_url()),
    ] {
        let (status, answer) = client_credentials(&running, tenant, secret, &scope).await;
        assert_eq!(status, 200, "{scope}: {answer}");
    }
}

/// The status and claims of the admin app's Graph token, in a tenant where it holds `roles`.
async fn admin_token_claims_holding(roles: &[&str]) -> (u16, Value) {
    let running = common::sim::start(SimOptions {
        tenants: vec![TenantSpec {
            admin_roles: roles.iter().map(|r| r.to_string()).collect(),
            ..TenantSpec::default()
        }],
        ..SimOptions::default()
    })
    .await;
    let tenant = &running.tenant;
    let (status, answer) = client_credentials(
        &running,
        tenant,
        tenant.admin_client_secret.expose(),
        GRAPH_DEFAULT,
    )
    .await;
    (status, claims(&access_token(&answer)))
}

#[tokio::test]
async fn roles_follow_the_admin_apps_assignments() {
    let (_, claims) = admin_token_claims_holding(&["Application.Read.All"]).await;
    assert_eq!(claims["roles"], json!(["Application.Read.All"]));
}

#[tokio::test]
async fn an_app_with_no_app_roles_gets_a_token_without_a_roles_claim() {
    // Entra leaves out a claim that has no values; a reader must take absence as "none".
    let (status, claims) = admin_token_claims_holding(&[]).await;
    assert_eq!(status, 200, "{claims}");
    assert!(claims.get("roles").is_none(), "{claims}");
    assert_eq!(s(&claims, "/idtyp"), "app");
}

#[tokio::test]
async fn a_new_app_role_assignment_shows_in_the_next_token() {
    let running = start().await;
    let client = running.client();
    let tenant = &running.tenant;
    let graph: Value = client
        .send(&Request::get(format!("servicePrincipals(appId='{GRAPH}')")).query("$select", "id"))
        .await
        .unwrap()
        .body
        .unwrap();
    let graph_sp = s(&graph, "/id");
    client
        .send(&Request::post(
            format!("servicePrincipals/{graph_sp}/appRoleAssignedTo"),
            json!({"principalId": tenant.admin_service_principal_id, "resourceId": graph_sp,
                   "appRoleId": "b633e1c5-b582-4048-a93e-9f11b44c7e96"}),
        ))
        .await
        .unwrap();
    let (_, answer) = client_credentials(
        &running,
        tenant,
        tenant.admin_client_secret.expose(),
        GRAPH_DEFAULT,
    )
    .await;
    let claims = claims(&access_token(&answer));
    assert!(claims["roles"]
        .as_array()
        .unwrap()
        .contains(&json!("Mail.Send")));
}

#[tokio::test]
async fn client_credential_errors_carry_aadsts_codes() {
    let running = start().await;
    let tenant = &running.tenant;
    let secret = tenant.admin_client_secret.expose();

    let wrong_secret =
        client_credentials(&running, tenant, "0123456789abcdef", GRAPH_DEFAULT).await;
    assert_aad_error(&wrong_secret, 401, "invalid_client", 7000215);

    let unknown_client = post_form(
        &running,
        &tenant.tenant_id,
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "6b4c1d1e-0000-4000-8000-000000000000"),
            ("client_secret", secret),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_aad_error(&unknown_client, 400, "unauthorized_client", 700016);

    let unknown_tenant = post_form(
        &running,
        "6b4c1d1e-0000-4000-8000-0000000000ff",
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &tenant.admin_client_id),
            ("client_secret", secret),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_aad_error(&unknown_tenant, 400, "invalid_request", 90002);

    let bad_scope = client_credentials(
        &running,
        tenant,
        secret,
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_aad_error(&bad_scope, 400, "invalid_scope", 1002012);

    let no_credential = post_form(
        &running,
        &tenant.tenant_id,
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &tenant.admin_client_id),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_aad_error(&no_credential, 401, "invalid_client", 7000218);

    let bad_grant = post_form(
        &running,
        &tenant.tenant_id,
        "token",
        &[
            ("grant_type", "password"),
            ("client_id", &tenant.admin_client_id),
        ],
    )
    .await;
    assert_eq!(bad_grant.0, 400);
    assert_eq!(s(&bad_grant.1, "/error"), "unsupported_grant_type");
}

#[tokio::test]
async fn added_secrets_sign_in_until_removed() {
    let running = start().await;
    let client = running.client();
    let tenant = &running.tenant;
    let snapshot = running.sim.tenant_snapshot(&tenant.tenant_id).unwrap();
    let admin_app = snapshot["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == json!(tenant.admin_client_id))
        .map(|a| s(a, "/id").to_string())
        .unwrap();
    let credential = client
        .send(&Request::post(
            format!("applications/{admin_app}/addPassword"),
            json!({"passwordCredential": {"displayName": "rotated"}}),
        ))
        .await
        .unwrap()
        .body
        .unwrap();
    let secret = s(&credential, "/secretText");
    let (status, _) = client_credentials(&running, tenant, secret, GRAPH_DEFAULT).await;
    assert_eq!(status, 200);

    client
        .send(&Request::post(
            format!("applications/{admin_app}/removePassword"),
            json!({"keyId": credential["keyId"]}),
        ))
        .await
        .unwrap();
    let removed = client_credentials(&running, tenant, secret, GRAPH_DEFAULT).await;
    assert_aad_error(&removed, 401, "invalid_client", 7000215);
    // The original secret still works.
    let (status, _) = client_credentials(
        &running,
        tenant,
        tenant.admin_client_secret.expose(),
        GRAPH_DEFAULT,
    )
    .await;
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------------------------
// client credentials with a federated assertion

#[tokio::test]
async fn a_federated_client_assertion_signs_in() {
    let running = start().await;
    let (status, answer) = with_assertion(&running, &assertion(federated_claims())).await;
    assert_eq!(status, 200, "{answer}");
    let claims = claims(&access_token(&answer));
    assert_eq!(s(&claims, "/tid"), running.tenant.tenant_id);
    assert_eq!(s(&claims, "/appid"), running.tenant.admin_client_id);
    assert!(claims["roles"].is_array());
}

#[tokio::test]
async fn client_assertion_mismatches_are_refused() {
    let running = start().await;
    let mut wrong_subject = federated_claims();
    wrong_subject["sub"] = json!("repo:contoso/helpdesk-infra:ref:refs/heads/main");
    assert_aad_error(
        &with_assertion(&running, &assertion(wrong_subject)).await,
        400,
        "invalid_client",
        700213,
    );

    let mut wrong_issuer = federated_claims();
    wrong_issuer["iss"] = json!("https://gitlab.example.com");
    assert_aad_error(
        &with_assertion(&running, &assertion(wrong_issuer)).await,
        400,
        "invalid_client",
        700211,
    );

    let mut wrong_audience = federated_claims();
    wrong_audience["aud"] = json!("api://SomethingElse");
    assert_aad_error(
        &with_assertion(&running, &assertion(wrong_audience)).await,
        400,
        "invalid_client",
        700212,
    );

    let mut expired = federated_claims();
    expired["exp"] = json!(now() - 60);
    assert_aad_error(
        &with_assertion(&running, &assertion(expired)).await,
        400,
        "invalid_client",
        700024,
    );

    assert_aad_error(
        &with_assertion(&running, "not-a-jwt").await,
        400,
        "invalid_client",
        50027,
    );
}

// ---------------------------------------------------------------------------------------------
// device code

async fn start_device_code(running: &Running, scope: &str) -> Value {
    let (status, answer) = post_form(
        running,
        &running.tenant.tenant_id,
        "devicecode",
        &[("client_id", GRAPH_CLI), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn poll(running: &Running, device_code: &str) -> (u16, Value) {
    post_form(
        running,
        &running.tenant.tenant_id,
        "token",
        &[
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", GRAPH_CLI),
            ("device_code", device_code),
        ],
    )
    .await
}

const DELEGATED_SCOPES: &str = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/Policy.Read.All https://graph.microsoft.com/Policy.ReadWrite.ConditionalAccess offline_access openid profile";

#[tokio::test]
async fn device_code_flow_pends_slows_down_and_issues_a_user_token() {
    let running = start().await;
    let started = start_device_code(&running, DELEGATED_SCOPES).await;
    let user_code = s(&started, "/user_code").to_string();
    let device_code = s(&started, "/device_code").to_string();
    assert!(!user_code.is_empty() && !device_code.is_empty());
    assert!(started["verification_uri"].is_string());
    assert!(started["expires_in"].as_i64().unwrap() > 0);
    assert!(started["interval"].as_i64().unwrap() > 0);
    assert!(s(&started, "/message").contains(&user_code));
    assert!(running.sim.pending_device_codes().contains(&user_code));

    let pending = poll(&running, &device_code).await;
    assert_aad_error(&pending, 400, "authorization_pending", 70016);
    let (status, answer) = poll(&running, &device_code).await;
    assert_eq!(status, 400);
    assert_eq!(s(&answer, "/error"), "slow_down");

    assert!(running
        .sim
        .approve_device_code(&user_code, "admin@contoso.onmicrosoft.com"));
    assert!(!running
        .sim
        .approve_device_code("NOSUCHCODE", "admin@contoso.onmicrosoft.com"));
    let (status, answer) = poll(&running, &device_code).await;
    assert_eq!(status, 200, "{answer}");
    let token = access_token(&answer);
    let claims = claims(&token);
    assert_eq!(s(&claims, "/tid"), running.tenant.tenant_id);
    assert_eq!(s(&claims, "/upn"), "admin@contoso.onmicrosoft.com");
    assert_eq!(s(&claims, "/idtyp"), "user");
    let mut scopes: Vec<&str> = s(&claims, "/scp").split(' ').collect();
    scopes.sort();
    assert_eq!(
        scopes,
        vec![
            "Application.ReadWrite.All",
            "Policy.Read.All",
            "Policy.ReadWrite.ConditionalAccess"
        ]
    );
    assert!(claims.get("roles").is_none());

    // The code is used up.
    let (status, answer) = poll(&running, &device_code).await;
    assert_eq!(status, 400);
    assert_eq!(s(&answer, "/error"), "invalid_grant");

    // The delegated token works on Graph within its scopes.
    let (status, _) = graph_get(&running, &token, "applications").await;
    assert_eq!(status, 200);
    let (status, _) = graph_get(&running, &token, "groups").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_declined_device_code_sign_in_is_refused() {
    let running = start().await;
    let started = start_device_code(&running, DELEGATED_SCOPES).await;
    assert!(running.sim.decline_device_code(s(&started, "/user_code")));
    let (status, answer) = poll(&running, s(&started, "/device_code")).await;
    assert_eq!(status, 400);
    assert_eq!(s(&answer, "/error"), "authorization_declined");
}

#[tokio::test]
async fn auto_approved_device_codes_sign_in_at_the_first_poll() {
    let running = start().await;
    running
        .sim
        .auto_approve_device_codes(Some("alice@contoso.onmicrosoft.com"));
    let started = start_device_code(&running, DELEGATED_SCOPES).await;
    let (status, answer) = poll(&running, s(&started, "/device_code")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        s(&claims(&access_token(&answer)), "/upn"),
        "alice@contoso.onmicrosoft.com"
    );
}

#[tokio::test]
async fn delegated_conditional_access_writes_need_an_admin_role() {
    let running = start().await;
    let policy = json!({
        "displayName": "delegated",
        "state": "disabled",
        "conditions": {"clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["None"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    });
    let mut tokens = Vec::new();
    for upn in [
        "alice@contoso.onmicrosoft.com",
        "admin@contoso.onmicrosoft.com",
    ] {
        let started = start_device_code(&running, DELEGATED_SCOPES).await;
        running
            .sim
            .approve_device_code(s(&started, "/user_code"), upn);
        let (status, answer) = poll(&running, s(&started, "/device_code")).await;
        assert_eq!(status, 200, "{answer}");
        tokens.push(access_token(&answer));
    }
    // README §2: delegated CA writes need Conditional Access Administrator or Security
    // Administrator (alice holds no role; admin is a Global Administrator).
    let (status, answer) = graph_post(
        &running,
        &tokens[0],
        "identity/conditionalAccess/policies",
        policy.clone(),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(s(&answer, "/error/code"), "AccessDenied");
    let (status, answer) = graph_post(
        &running,
        &tokens[1],
        "identity/conditionalAccess/policies",
        policy,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}

// ---------------------------------------------------------------------------------------------
// discovery, bad tokens, tenants

#[tokio::test]
async fn openid_configuration_names_the_endpoints() {
    let running = start().await;
    let tenant = &running.tenant.tenant_id;
    let authority = running.sim.authority_host();
    let response = running
        .http()
        .get(format!(
            "{authority}/{tenant}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let config: Value = response.json().await.unwrap();
    assert_eq!(
        s(&config, "/token_endpoint"),
        format!("{authority}/{tenant}/oauth2/v2.0/token")
    );
    assert_eq!(
        s(&config, "/device_authorization_endpoint"),
        format!("{authority}/{tenant}/oauth2/v2.0/devicecode")
    );
    assert_eq!(s(&config, "/issuer"), format!("{authority}/{tenant}/v2.0"));
    assert!(config["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_credentials")));

    let response = running
        .http()
        .get(format!(
            "{authority}/6b4c1d1e-0000-4000-8000-0000000000ff/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_aad_error(&(status, answer), 400, "invalid_request", 90002);
}

#[tokio::test]
async fn graph_refuses_tokens_it_did_not_issue() {
    let running = start().await;
    // A JWT-shaped token the simulator never issued, and garbage.
    let forged = assertion(
        json!({"tid": running.tenant.tenant_id, "appid": running.tenant.admin_client_id,
        "roles": ["Application.ReadWrite.All"], "exp": now() + 600}),
    );
    for token in [forged.as_str(), "garbage"] {
        let (status, answer) = graph_get(&running, token, "applications").await;
        assert_eq!(status, 401, "{token}");
        assert_eq!(s(&answer, "/error/code"), "InvalidAuthenticationToken");
    }
    let response = running
        .http()
        .get(format!("{}/v1.0/applications", running.sim.graph_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(s(&answer, "/error/code"), "InvalidAuthenticationToken");
}

#[tokio::test]
async fn a_token_only_reaches_its_own_tenant() {
    let running = common::sim::start(SimOptions {
        tenants: vec![
            TenantSpec::default(),
            TenantSpec {
                domain_label: "fabrikam".into(),
                display_name: "Fabrikam".into(),
                ..TenantSpec::default()
            },
        ],
        ..SimOptions::default()
    })
    .await;
    let tenants = running.sim.tenants();
    let a = &tenants[0];
    let b = &tenants[1];

    // A's admin app is unknown in B.
    let cross = post_form(
        &running,
        &b.tenant_id,
        "token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &a.admin_client_id),
            ("client_secret", a.admin_client_secret.expose()),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_aad_error(&cross, 400, "unauthorized_client", 700016);

    let (_, answer) =
        client_credentials(&running, a, a.admin_client_secret.expose(), GRAPH_DEFAULT).await;
    let token_a = access_token(&answer);
    assert_eq!(s(&claims(&token_a), "/tid"), a.tenant_id);
    let (status, apps) = graph_get(&running, &token_a, "applications").await;
    assert_eq!(status, 200);
    let app_ids: Vec<&str> = apps["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["appId"].as_str())
        .collect();
    assert!(app_ids.contains(&a.admin_client_id.as_str()));
    assert!(!app_ids.contains(&b.admin_client_id.as_str()));
}

#[tokio::test]
async fn delegated_service_principal_creation_needs_an_application_admin_role() {
    let running = start().await;
    let client = running.client();
    let app = client
        .send(&Request::post(
            "applications",
            json!({"displayName": "multi", "signInAudience": "AzureADMultipleOrgs"}),
        ))
        .await
        .unwrap()
        .body
        .unwrap();
    let started = start_device_code(&running, DELEGATED_SCOPES).await;
    running
        .sim
        .approve_device_code(s(&started, "/user_code"), "alice@contoso.onmicrosoft.com");
    let (status, answer) = poll(&running, s(&started, "/device_code")).await;
    assert_eq!(status, 200, "{answer}");
    // README §2: "Service principal creation in delegated mode for multitenant apps needs
    // Application Administrator or Cloud Application Administrator"; alice holds no role.
    let (status, answer) = graph_post(
        &running,
        &access_token(&answer),
        "servicePrincipals",
        json!({"appId": app["appId"]}),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
}
