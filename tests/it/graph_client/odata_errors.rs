//! Graph's error bodies, as src/sim/data/calls.json documents them, reach
//! callers as typed errors: status, code, detail codes, request-id.

use crate::common;

use common::{Canned, ScriptedServer};
use entra_mail::auth::StaticToken;
use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::graph::{GraphClient, Request};
use serde_json::json;
use time::OffsetDateTime;

struct Documented {
    call: &'static str,
    method: &'static str,
    path: &'static str,
    status: u16,
    code: &'static str,
    detail: Option<&'static str>,
    message: &'static str,
}

const DOCUMENTED: &[Documented] = &[
    Documented { call: "expose_api_identifierUris_and_scope", method: "PATCH", path: "applications/a1",
        status: 400, code: "HostNameNotOnVerifiedDomain", detail: None,
        message: "Values of identifierUris property must use a verified domain of the organization or its subdomain" },
    Documented { call: "expose_api_identifierUris_and_scope (enabled scope changed)", method: "PATCH", path: "applications/a1",
        status: 400, code: "Request_BadRequest", detail: None,
        message: "Permission (scope or role) cannot be deleted or updated unless disabled first" },
    Documented { call: "add_password", method: "POST", path: "applications/a1/addPassword",
        status: 404, code: "Request_ResourceNotFound", detail: None,
        message: "Resource 'a1' does not exist or one of its queried reference-property objects are not present." },
    Documented { call: "add_password (app policy)", method: "POST", path: "applications/a1/addPassword",
        status: 400, code: "CredentialInvalidLifetimeAsPerAppPolicy", detail: None,
        message: "Credential lifetime exceeds the max value allowed as per assigned policy." },
    Documented { call: "create_service_principal", method: "POST", path: "servicePrincipals",
        status: 400, code: "Request_BadRequest", detail: Some("NoBackingApplicationObject"),
        message: "The appId 'b1' of the service principal does not reference a valid application object." },
    Documented { call: "grant_app_role (duplicate)", method: "POST", path: "servicePrincipals/r1/appRoleAssignedTo",
        status: 400, code: "Request_BadRequest", detail: None,
        message: "Permission being assigned already exists on the object" },
    Documented { call: "grant_app_role (no Application.Read.All)", method: "POST", path: "servicePrincipals/r1/appRoleAssignedTo",
        status: 403, code: "Authorization_RequestDenied", detail: None,
        message: "Insufficient privileges to complete the operation." },
    Documented { call: "create_oauth2_permission_grant (duplicate)", method: "POST", path: "oauth2PermissionGrants",
        status: 409, code: "Request_MultipleObjectsWithSameKeyValue", detail: None,
        message: "Permission entry already exists." },
    Documented { call: "create_conditional_access_policy (app condition)", method: "POST", path: "identity/conditionalAccess/policies",
        status: 403, code: "AccessDenied", detail: None,
        message: "Insufficient privileges to create or update policy. Application.Read.All scope is required to add/edit application condition." },
    Documented { call: "create_conditional_access_policy (malformed)", method: "POST", path: "identity/conditionalAccess/policies",
        status: 400, code: "BadRequest", detail: None,
        message: "1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of ConditionalAccessPolicy type." },
];

#[tokio::test]
async fn documented_errors_parse_into_typed_errors() {
    let server = ScriptedServer::start().await;
    let endpoints = Endpoints::resolve(Cloud::Public, Some(&server.base), None).unwrap();
    let token = StaticToken::new("t", OffsetDateTime::now_utc() + time::Duration::hours(1));
    let client = GraphClient::builder(&endpoints, token).build().unwrap();

    for (i, case) in DOCUMENTED.iter().enumerate() {
        let request_id = format!("0000000{i}-1111-2222-3333-444444444444");
        let mut error = json!({"code": case.code, "message": case.message,
            "innerError": {"date": "2026-11-29T10:00:00", "request-id": request_id,
                           "client-request-id": "c0ffee00-0000-0000-0000-000000000000"}});
        if let Some(detail) = case.detail {
            error["details"] =
                json!([{"code": detail, "message": case.message, "target": "appId"}]);
        }
        server.push(Canned::json(case.status, json!({"error": error})));

        let request = Request::new(case.method.parse().unwrap(), case.path).body(json!({}));
        let failure = client.send(&request).await.unwrap_err();
        let api = failure
            .api()
            .unwrap_or_else(|| panic!("{}: not an API error: {failure}", case.call));

        assert_eq!(api.status, case.status, "{}", case.call);
        assert_eq!(api.code, case.code, "{}", case.call);
        assert!(api.has_code(case.code), "{}", case.call);
        if let Some(detail) = case.detail {
            assert!(api.has_code(detail), "{}", case.call);
        }
        assert_eq!(api.message, case.message, "{}", case.call);
        assert_eq!(
            api.request_id.as_deref(),
            Some(request_id.as_str()),
            "{}",
            case.call
        );
        assert_eq!(api.path, case.path, "{}", case.call);
        assert_eq!(api.method, case.method, "{}", case.call);
    }
    assert_eq!(
        server.requests().len(),
        DOCUMENTED.len(),
        "none of these is retried"
    );
}
