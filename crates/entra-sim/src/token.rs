//! The token endpoint: client credentials (secret or assertion), the device code grant and
//! OpenID discovery, answering errors with the AADSTS codes Entra uses.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::keyvault;
use super::roles;
use super::state::{AppState, DeviceCode, Inner, IssuedToken, Tenant, GRAPH_AUDIENCE};
use entra_base::well_known;

const TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(900);
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// An OAuth error in Entra's shape: `error`, `error_description` starting `AADSTSnnnn:`,
/// `error_codes`, trace and correlation ids.
struct OAuthError {
    status: StatusCode,
    body: Value,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

fn aad_error(status: StatusCode, error: &str, code: Option<u32>, description: &str) -> OAuthError {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let prefix = code.map(|c| format!("AADSTS{c}: ")).unwrap_or_default();
    let body = json!({
        "error": error,
        "error_description": format!("{prefix}{description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"),
        "error_codes": code.map(|c| vec![c]).unwrap_or_default(),
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": code.map(|c| format!("https://login.microsoftonline.com/error?code={c}")),
    });
    OAuthError { status, body }
}

fn unknown_tenant(tenant: &str) -> OAuthError {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some(90002),
        &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(app): State<AppState>,
    Path(tenant): Path<String>,
) -> Response {
    let inner = app.lock();
    if !inner.tenants.contains_key(&tenant.to_ascii_lowercase()) {
        return unknown_tenant(&tenant).into_response();
    }
    let base = &app.base_url;
    Json(json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "issuer": format!("{base}/{tenant}/v2.0"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", DEVICE_CODE_GRANT],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn device_code(
    State(app): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = app.lock();
    inner.counters.token_requests += 1;
    let Some(tenant_id) = inner.tenant_mut(&tenant).map(|t| t.id.clone()) else {
        return unknown_tenant(&tenant).into_response();
    };
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    if client_id.is_empty() {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some(900144),
            "The request body must contain the following parameter: 'client_id'.",
        )
        .into_response();
    }
    let scopes: Vec<String> = form
        .get("scope")
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let device_code = format!("{}.{}", inner.new_guid(), inner.new_guid());
    let interval = inner.faults.device_code_interval;
    let user_code: String = (0..9)
        .map(|_| (b'A' + inner.rng.u8(0..26)) as char)
        .collect();
    inner.device_codes.insert(
        device_code.clone(),
        DeviceCode {
            tenant_id,
            client_id,
            user_code: user_code.clone(),
            scopes,
            expires_at: Instant::now() + DEVICE_CODE_LIFETIME,
            interval,
            last_poll: None,
            approved_by: None,
            denied: false,
        },
    );
    let verification_uri = "https://microsoft.com/devicelogin";
    Json(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": DEVICE_CODE_LIFETIME.as_secs(),
        "interval": interval.as_secs().max(1),
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    }))
    .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(app): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = app.lock();
    inner.counters.token_requests += 1;
    if inner.tenant_mut(&tenant).is_none() {
        return unknown_tenant(&tenant).into_response();
    }
    let grant_type = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let result = match grant_type {
        "client_credentials" => client_credentials(&mut inner, &app.base_url, &tenant, &form),
        DEVICE_CODE_GRANT => device_code_grant(&mut inner, &app.base_url, &tenant, &form),
        other => Err(aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            Some(70003),
            &format!("The app requested an unsupported grant type '{other}'."),
        )),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn client_credentials(
    inner: &mut Inner,
    base_url: &str,
    tenant_key: &str,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let scope = form.get("scope").cloned().unwrap_or_default();
    let now_epoch = epoch_now();
    let tenant = inner
        .tenant_mut(tenant_key)
        .ok_or_else(|| unknown_tenant(tenant_key))?;
    let now = Instant::now();
    // A brand-new app is unknown to sign-in until it has replicated, as in Entra.
    let app = tenant
        .applications
        .iter()
        .find(|a| a.str("appId") == Some(client_id.as_str()) && a.visible(now))
        .ok_or_else(|| {
            aad_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                Some(700016),
                &format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", tenant.display_name),
            )
        })?;

    if let Some(secret) = form.get("client_secret") {
        check_secret(app, &client_id, secret, now)?;
    } else if form.get("client_assertion_type").map(String::as_str) == Some(JWT_BEARER) {
        let assertion = form.get("client_assertion").cloned().unwrap_or_default();
        let token_endpoint = format!("{base_url}/{tenant_key}/oauth2/v2.0/token");
        // Sign-in knows the app's certificates as a point read sees them: one uploaded a
        // moment ago is not there until it has replicated.
        let seen = app.view(now, false).unwrap_or(&app.data);
        check_assertion(
            app,
            seen,
            &client_id,
            &assertion,
            &token_endpoint,
            now_epoch,
        )?;
    } else {
        return Err(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some(7000218),
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }

    let resource = resource_for_scope(tenant, base_url, &scope)?;
    let caller = tenant
        .service_principals
        .iter()
        .find(|sp| sp.str("appId") == Some(client_id.as_str()))
        .ok_or_else(|| {
            aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                Some(7000229),
                &format!("The client application {client_id} is missing service principal in the tenant {}.", tenant.id),
            )
        })?;
    let caller_id = caller.id().to_string();
    let caller_name = caller.str("displayName").map(String::from);
    // Key Vault checks access itself (access policies or Azure RBAC), not app roles.
    let (audience, roles) = match resource {
        Resource::ServicePrincipal(id) => (GRAPH_AUDIENCE, granted_roles(tenant, &caller_id, &id)),
        Resource::KeyVault(audience) => (audience, Vec::new()),
    };
    let tenant_id = tenant.id.clone();
    let token = IssuedToken {
        tenant_id,
        audience: audience.to_string(),
        expires_at: Instant::now() + TOKEN_LIFETIME,
        object_id: caller_id,
        app_id: client_id,
        roles,
        scopes: None,
        user_principal_name: None,
        directory_roles: Vec::new(),
        app_display_name: caller_name,
    };
    Ok(issue(inner, base_url, token))
}

fn check_secret(
    app: &super::state::Obj,
    client_id: &str,
    secret: &str,
    now: Instant,
) -> Result<(), OAuthError> {
    let matching_key = app
        .hidden
        .passwords
        .iter()
        .find(|(_, value)| value.as_str() == secret)
        .map(|(key, _)| key.clone());
    // Until a new secret has replicated, Entra answers exactly as for a wrong one.
    let replicated = |key: &String| {
        app.hidden
            .password_usable_at
            .get(key)
            .is_none_or(|usable_at| now >= *usable_at)
    };
    let Some(key_id) = matching_key.filter(replicated) else {
        return Err(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some(7000215),
            &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
        ));
    };
    let expired = app
        .data
        .get("passwordCredentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("keyId").and_then(Value::as_str) == Some(key_id.as_str()))
        .filter_map(|c| c.get("endDateTime").and_then(Value::as_str))
        .filter_map(|end| {
            time::OffsetDateTime::parse(end, &time::format_description::well_known::Rfc3339).ok()
        })
        .any(|end| end < time::OffsetDateTime::now_utc());
    if expired {
        return Err(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some(7000222),
            &format!("The provided client secret keys for app '{client_id}' are expired."),
        ));
    }
    Ok(())
}

/// How far a client assertion's `nbf` may lie ahead of the simulator's clock.
const CLOCK_SKEW: i64 = 300;

/// The DER bytes of the first certificate in `bytes` (PEM or DER), if it parses as X.509.
pub(super) fn certificate_der(bytes: &[u8]) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let der = match CertificateDer::pem_slice_iter(bytes).next() {
        Some(pem) => pem.ok()?.to_vec(),
        None => bytes.to_vec(),
    };
    webpki::EndEntityCert::try_from(&CertificateDer::from(der.as_slice())).ok()?;
    Some(der)
}

/// Base64url SHA-1 (`x5t`) and SHA-256 (`x5t#S256`) thumbprints of a certificate.
fn thumbprints(der: &[u8]) -> (String, String) {
    use aws_lc_rs::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
    (
        URL_SAFE_NO_PAD.encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, der)),
        URL_SAFE_NO_PAD.encode(digest(&SHA256, der)),
    )
}

/// Whether `signature` over `signed` verifies with the public key of certificate `der`
/// under the JWS algorithm `alg` (RS256 or PS256, as Entra accepts).
fn signature_verifies(der: &[u8], alg: &str, signed: &[u8], signature: &[u8]) -> bool {
    let algorithm = match alg {
        "RS256" => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        _ => return false,
    };
    let der = rustls_pki_types::CertificateDer::from(der);
    webpki::EndEntityCert::try_from(&der)
        .is_ok_and(|cert| cert.verify_signature(algorithm, signed, signature).is_ok())
}

/// Checks a client assertion. A certificate-signed one (`x5t` / `x5t#S256` header) must
/// name a certificate registered on the app, carry a signature that key verifies, and be
/// issued by and about the client for this token endpoint. Any other is matched against the
/// app's federated identity credentials; its signature is not verified, since the simulator
/// cannot fetch an identity provider's keys.
fn check_assertion(
    app: &super::state::Obj,
    seen: &serde_json::Map<String, Value>,
    client_id: &str,
    assertion: &str,
    token_endpoint: &str,
    now_epoch: i64,
) -> Result<(), OAuthError> {
    let invalid = |code: u32, description: String| {
        aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            Some(code),
            &description,
        )
    };
    let (header, claims) = decode_jwt(assertion)
        .ok_or_else(|| invalid(50027, "JWT token is invalid or malformed.".into()))?;
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let sha1 = header.get("x5t").and_then(Value::as_str);
    let sha256 = header.get("x5t#S256").and_then(Value::as_str);
    if sha1.is_some() || sha256.is_some() {
        let shown = sha256.or(sha1).unwrap_or_default();
        // Registered through the simulator, or uploaded through Graph as a verify key.
        let uploaded = seen
            .get("keyCredentials")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|k| k.get("usage").and_then(Value::as_str) == Some("Verify"))
            .filter_map(|k| k.get("key").and_then(Value::as_str));
        let certificate = app
            .hidden
            .certificates
            .iter()
            .map(String::as_str)
            .chain(uploaded)
            .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
            .find(|der| {
                let (registered_sha1, registered_sha256) = thumbprints(der);
                sha256.map_or(sha1 == Some(registered_sha1.as_str()), |t| {
                    t == registered_sha256
                })
            })
            .ok_or_else(|| {
                invalid(
                    700027,
                    format!("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{shown}']"),
                )
            })?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let verified = assertion
            .rsplit_once('.')
            .is_some_and(|(signed, signature)| {
                URL_SAFE_NO_PAD.decode(signature).is_ok_and(|signature| {
                    signature_verifies(&certificate, alg, signed.as_bytes(), &signature)
                })
            });
        if !verified {
            return Err(invalid(
                700027,
                format!("Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{shown}']"),
            ));
        }
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = claims
        .get("nbf")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MIN);
    if exp <= now_epoch || nbf > now_epoch + CLOCK_SKEW {
        return Err(invalid(
            700024,
            "Client assertion is not within its valid time range.".into(),
        ));
    }
    if sha1.is_some() || sha256.is_some() {
        if claim("iss") != client_id || claim("sub") != client_id {
            return Err(invalid(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .".into(),
            ));
        }
        if !audiences.iter().any(|a| a == token_endpoint) {
            return Err(invalid(
                700023,
                "Client assertion audience claim does not match Realm issuer.".into(),
            ));
        }
        return Ok(());
    }
    let issuer = claim("iss");
    let subject = claim("sub");
    let by_issuer: Vec<_> = app
        .hidden
        .federated
        .iter()
        .filter(|f| f.issuer == issuer)
        .collect();
    if by_issuer.is_empty() {
        return Err(invalid(700211, format!("No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.")));
    }
    let by_subject: Vec<_> = by_issuer
        .into_iter()
        .filter(|f| f.subject == subject)
        .collect();
    if by_subject.is_empty() {
        return Err(invalid(700213, format!("No matching federated identity record found for presented assertion subject '{subject}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.")));
    }
    if !by_subject.iter().any(|f| audiences.contains(&f.audience)) {
        return Err(invalid(700212, format!("No matching federated identity record found for presented assertion audience '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", audiences.join(","))));
    }
    Ok(())
}

fn device_code_grant(
    inner: &mut Inner,
    base_url: &str,
    tenant_key: &str,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let code = form.get("device_code").cloned().unwrap_or_default();
    let auto_approver = inner.auto_approve_device_codes.clone();
    let now = Instant::now();
    let Some(pending) = inner.device_codes.get_mut(&code) else {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some(70000),
            "The provided value for the input parameter 'device_code' is not valid.",
        ));
    };
    if now >= pending.expires_at {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            Some(70020),
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        ));
    }
    if pending.denied {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "authorization_declined",
            Some(70000),
            "The user declined the sign-in request.",
        ));
    }
    if pending.approved_by.is_none() {
        pending.approved_by = auto_approver;
    }
    let Some(user) = pending.approved_by.clone() else {
        let too_fast = pending
            .last_poll
            .is_some_and(|last| now < last + pending.interval);
        pending.last_poll = Some(now);
        return Err(if too_fast {
            aad_error(
                StatusCode::BAD_REQUEST,
                "slow_down",
                None,
                "Polling is too frequent; wait the interval before polling again.",
            )
        } else {
            aad_error(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                Some(70016),
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        });
    };
    let pending = pending.clone();
    inner.device_codes.remove(&code);
    let tenant = inner
        .tenant_mut(tenant_key)
        .ok_or_else(|| unknown_tenant(tenant_key))?;
    let user_obj = tenant
        .users
        .iter()
        .find(|u| {
            u.str("userPrincipalName")
                .is_some_and(|upn| upn.eq_ignore_ascii_case(&user))
        })
        .ok_or_else(|| {
            aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                Some(50034),
                &format!(
                    "The user account {user} does not exist in the {} directory.",
                    tenant.id
                ),
            )
        })?;
    // A sign-in for a vault (`https://vault.azure.net/user_impersonation`) gets a vault
    // token; any other, a Graph one.
    let audience = pending
        .scopes
        .iter()
        .filter_map(|s| s.rsplit_once('/'))
        .find_map(|(resource, _)| keyvault::audience_of(resource))
        .unwrap_or(GRAPH_AUDIENCE);
    let scopes: Vec<String> = pending
        .scopes
        .iter()
        .filter(|s| !matches!(s.as_str(), "openid" | "profile" | "offline_access"))
        .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
        .filter(|s| s != ".default")
        .collect();
    let token = IssuedToken {
        tenant_id: tenant.id.clone(),
        audience: audience.to_string(),
        expires_at: Instant::now() + TOKEN_LIFETIME,
        object_id: user_obj.id().to_string(),
        app_id: pending.client_id.clone(),
        roles: Vec::new(),
        scopes: Some(scopes),
        user_principal_name: Some(user),
        app_display_name: None,
        directory_roles: user_obj
            .hidden
            .directory_roles
            .iter()
            .filter_map(|name| roles::by_name(name))
            .map(|role| role.template_id.to_string())
            .collect(),
    };
    Ok(issue(inner, base_url, token))
}

/// What a `.default` scope asks for.
enum Resource {
    /// A resource service principal of the tenant (Graph, Exchange, an API of the tenant's).
    ServicePrincipal(String),
    /// Key Vault's data plane, with the audience its tokens carry. Entra knows it without a
    /// service principal in the tenant (Microsoft's own), so the simulator seeds none.
    KeyVault(&'static str),
}

/// The resource a `.default` scope asks for.
fn resource_for_scope(
    tenant: &Tenant,
    base_url: &str,
    scope: &str,
) -> Result<Resource, OAuthError> {
    let resource = scope.strip_suffix("/.default").ok_or_else(|| {
        aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            Some(1002012),
            &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        )
    })?;
    let resource = resource.trim_end_matches('/');
    if let Some(audience) = keyvault::audience_of(resource) {
        return Ok(Resource::KeyVault(audience));
    }
    let graph_hosts = [
        base_url,
        "https://graph.microsoft.com",
        "https://graph.microsoft.us",
        "https://microsoftgraph.chinacloudapi.cn",
        well_known::MICROSOFT_GRAPH,
    ];
    let app_id = if graph_hosts.contains(&resource) {
        well_known::MICROSOFT_GRAPH
    } else if resource == "https://outlook.office365.com" || resource == well_known::EXCHANGE_ONLINE
    {
        well_known::EXCHANGE_ONLINE
    } else {
        resource
    };
    tenant
        .service_principals
        .iter()
        .find(|sp| sp.str("appId") == Some(app_id))
        .map(|sp| Resource::ServicePrincipal(sp.id().to_string()))
        .ok_or_else(|| {
            aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                Some(500011),
                &format!("The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", tenant.display_name),
            )
        })
}

/// The values of the app roles `principal` holds on `resource`.
fn granted_roles(tenant: &Tenant, principal: &str, resource: &str) -> Vec<String> {
    let Some(resource_sp) = tenant
        .service_principals
        .iter()
        .find(|sp| sp.id() == resource)
    else {
        return Vec::new();
    };
    let roles = resource_sp
        .data
        .get("appRoles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut values: Vec<String> = tenant
        .app_role_assignments
        .iter()
        .filter(|a| {
            a.str("principalId") == Some(principal) && a.str("resourceId") == Some(resource)
        })
        .filter_map(|a| {
            let role_id = a.str("appRoleId")?;
            roles
                .iter()
                .find(|r| r.get("id").and_then(Value::as_str) == Some(role_id))
                .and_then(|r| r.get("value").and_then(Value::as_str))
                .map(String::from)
        })
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Mints a JWT-shaped token (the tool decodes its claims) and remembers it.
fn issue(inner: &mut Inner, base_url: &str, token: IssuedToken) -> Response {
    let now = epoch_now();
    let lifetime = TOKEN_LIFETIME.as_secs() as i64;
    let mut claims = json!({
        "aud": token.audience,
        "iss": format!("https://sts.windows.net/{}/", token.tenant_id),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "tid": token.tenant_id,
        "oid": token.object_id,
        "sub": token.object_id,
        "appid": token.app_id,
        "app_displayname": token.app_display_name,
        "azp": token.app_id,
        "ver": "1.0",
        "xms_sim": base_url,
    });
    // Entra leaves out a claim that has no values: no `roles: []`, no `wids: []`.
    match &token.scopes {
        Some(scopes) => {
            claims["scp"] = json!(scopes.join(" "));
            claims["idtyp"] = json!("user");
            claims["upn"] = json!(token.user_principal_name);
            if !token.directory_roles.is_empty() {
                claims["wids"] = json!(token.directory_roles);
            }
        }
        None => {
            if !token.roles.is_empty() {
                claims["roles"] = json!(token.roles);
            }
            claims["idtyp"] = json!("app");
        }
    }
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"entra-mail-sim"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature_bytes: [u8; 32] = std::array::from_fn(|_| inner.rng.u8(..));
    let access_token = format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(signature_bytes)
    );
    inner.issued_secrets.push(access_token.clone());
    inner.tokens.insert(access_token.clone(), token);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }))
    .into_response()
}

/// The token of a request's `Authorization: Bearer` header, if it has a non-empty one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The header and claims of a JWT, unverified.
pub fn decode_jwt(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let claims = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    Some((
        serde_json::from_slice(&header).ok()?,
        serde_json::from_slice(&claims).ok()?,
    ))
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
