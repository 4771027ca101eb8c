//! Typed Microsoft Graph v1.0 resources this tool reads and writes (property names and shapes
//! from crates/entra-sim/src/data/schemas.json). Fields absent from a response stay `None`;
//! `None` is never serialized, so a PATCH body carries only what it sets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::secret::SecretString;

/// A page of a collection: `{"value": [...], "@odata.nextLink": "..."}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: Option<String>,
    pub app_id: Option<String>,
    pub unique_name: Option<String>,
    pub display_name: Option<String>,
    pub sign_in_audience: Option<String>,
    pub identifier_uris: Option<Vec<String>>,
    pub web: Option<WebApplication>,
    /// Single-page-app sign-in: redirect URIs that get tokens by the code flow with PKCE and
    /// no secret.
    pub spa: Option<RedirectUris>,
    /// Desktop and mobile sign-in: redirect URIs of a client that holds no secret.
    pub public_client: Option<RedirectUris>,
    /// Lets the app take public-client flows (device code, ROPC) without a secret; Graph
    /// answers `null` for "not set", which means `false`.
    pub is_fallback_public_client: Option<bool>,
    pub api: Option<ApiApplication>,
    pub app_roles: Option<Vec<AppRole>>,
    pub required_resource_access: Option<Vec<RequiredResourceAccess>>,
    pub password_credentials: Option<Vec<PasswordCredential>>,
    pub publisher_domain: Option<String>,
    /// Free-form labels; entra-mail keeps its ownership record here (see `ownership`).
    pub tags: Option<Vec<String>>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebApplication {
    pub redirect_uris: Option<Vec<String>>,
    pub home_page_url: Option<String>,
    pub logout_url: Option<String>,
    pub implicit_grant_settings: Option<ImplicitGrantSettings>,
}

/// `web.implicitGrantSettings`: tokens handed out in the redirect's fragment.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImplicitGrantSettings {
    pub enable_id_token_issuance: Option<bool>,
    pub enable_access_token_issuance: Option<bool>,
}

/// `spa` and `publicClient`: complex types that hold only redirect URIs.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUris {
    pub redirect_uris: Option<Vec<String>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiApplication {
    pub requested_access_token_version: Option<i32>,
    pub accept_mapped_claims: Option<bool>,
    pub known_client_applications: Option<Vec<String>>,
    pub oauth2_permission_scopes: Option<Vec<PermissionScope>>,
    pub pre_authorized_applications: Option<Vec<Value>>,
}

/// A delegated permission an app exposes (`api.oauth2PermissionScopes[]`), or that a
/// resource service principal publishes.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    pub id: Option<Uuid>,
    pub value: Option<String>,
    /// `Admin` or `User`: who may consent.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub is_enabled: Option<bool>,
    pub admin_consent_display_name: Option<String>,
    pub admin_consent_description: Option<String>,
    pub user_consent_display_name: Option<String>,
    pub user_consent_description: Option<String>,
    pub origin: Option<String>,
}

/// An application permission (`appRoles[]`).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: Option<Uuid>,
    pub value: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub allowed_member_types: Option<Vec<String>>,
    pub is_enabled: Option<bool>,
    pub origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: Uuid,
    /// `Scope` (delegated) or `Role` (application).
    #[serde(rename = "type")]
    pub kind: String,
}

/// A client secret. `secretText` comes back once, from addPassword, and is never sent.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub key_id: Option<Uuid>,
    pub display_name: Option<String>,
    /// The first three characters of the secret.
    pub hint: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_date_time: Option<OffsetDateTime>,
    #[serde(skip_serializing)]
    pub secret_text: Option<SecretString>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: Option<String>,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub service_principal_type: Option<String>,
    pub app_owner_organization_id: Option<String>,
    pub account_enabled: Option<bool>,
    pub app_roles: Option<Vec<AppRole>>,
    pub oauth2_permission_scopes: Option<Vec<PermissionScope>>,
    pub tags: Option<Vec<String>>,
}

/// Admin consent to an application permission.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: Option<String>,
    pub app_role_id: Option<Uuid>,
    /// The client service principal's object id.
    pub principal_id: Option<String>,
    pub principal_type: Option<String>,
    pub principal_display_name: Option<String>,
    /// The resource service principal's object id.
    pub resource_id: Option<String>,
    pub resource_display_name: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
}

/// Consent to delegated permissions; `AllPrincipals` is tenant-wide admin consent.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2PermissionGrant {
    pub id: Option<String>,
    /// The client service principal's object id.
    pub client_id: Option<String>,
    /// `AllPrincipals` or `Principal`.
    pub consent_type: Option<String>,
    pub principal_id: Option<String>,
    /// The resource service principal's object id.
    pub resource_id: Option<String>,
    /// Space-separated permission values.
    pub scope: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessPolicy {
    pub id: Option<String>,
    pub display_name: Option<String>,
    /// `enabled`, `disabled` or `enabledForReportingButNotEnforced`.
    pub state: Option<String>,
    pub conditions: Option<ConditionalAccessConditionSet>,
    pub grant_controls: Option<ConditionalAccessGrantControls>,
    pub session_controls: Option<Value>,
    pub template_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub modified_date_time: Option<OffsetDateTime>,
    /// Properties this tool does not model (`description`, `partialEnablementStrategy`, ...):
    /// kept, so that a hand edit to one is seen as drift rather than lost.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessConditionSet {
    pub applications: Option<ConditionalAccessApplications>,
    pub users: Option<ConditionalAccessUsers>,
    pub client_app_types: Option<Vec<String>>,
    /// Conditions this tool does not model (platforms, locations, risk levels, ...), kept
    /// so that nothing is lost or misread as a change.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessApplications {
    pub include_applications: Option<Vec<String>>,
    pub exclude_applications: Option<Vec<String>>,
    pub include_user_actions: Option<Vec<String>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessUsers {
    pub include_users: Option<Vec<String>>,
    pub exclude_users: Option<Vec<String>>,
    pub include_groups: Option<Vec<String>>,
    pub exclude_groups: Option<Vec<String>>,
    pub include_roles: Option<Vec<String>>,
    pub exclude_roles: Option<Vec<String>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalAccessGrantControls {
    /// `AND` or `OR`.
    pub operator: Option<String>,
    pub built_in_controls: Option<Vec<String>>,
    pub custom_authentication_factors: Option<Vec<String>>,
    pub terms_of_use: Option<Vec<String>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub security_enabled: Option<bool>,
    pub mail_enabled: Option<bool>,
    pub mail_nickname: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub account_enabled: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySecurityDefaultsEnforcementPolicy {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub is_enabled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn application_round_trips_the_documented_response() {
        let body = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
            "id": "03ef14b0-ca33-4840-8f4f-d6e91916010e",
            "appId": "631a96bc-a705-4eda-9f99-fdaf9f54f6a2",
            "displayName": "Display name",
            "identifierUris": [],
            "signInAudience": "AzureADandPersonalMicrosoftAccount",
            "api": {"requestedAccessTokenVersion": 2, "acceptMappedClaims": null,
                    "knownClientApplications": [], "oauth2PermissionScopes": [],
                    "preAuthorizedApplications": []},
            "passwordCredentials": [],
            "requiredResourceAccess": [],
            "publisherDomain": "contoso.onmicrosoft.com"
        });
        let app: Application = serde_json::from_value(body).unwrap();
        assert_eq!(
            app.app_id.as_deref(),
            Some("631a96bc-a705-4eda-9f99-fdaf9f54f6a2")
        );
        assert_eq!(
            app.api.as_ref().unwrap().requested_access_token_version,
            Some(2)
        );
        let out = serde_json::to_value(&app).unwrap();
        assert!(out.get("web").is_none(), "None is not serialized");
    }

    #[test]
    fn secret_text_is_read_but_never_written() {
        let body = json!({"keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6", "hint": "Y6b",
            "secretText": "Y6b~s3cr3tValue", "endDateTime": "2028-06-01T00:00:00Z",
            "displayName": "entra-mail"});
        let cred: PasswordCredential = serde_json::from_value(body).unwrap();
        assert_eq!(
            cred.secret_text.as_ref().unwrap().expose(),
            "Y6b~s3cr3tValue"
        );
        assert!(!format!("{cred:?}").contains("s3cr3t"));
        assert!(!serde_json::to_string(&cred).unwrap().contains("s3cr3t"));
    }

    #[test]
    fn unknown_policy_conditions_are_kept() {
        let body = json!({"displayName": "MFA Pilot", "state": "enabled",
            "conditions": {"clientAppTypes": ["all"], "platforms": {"includePlatforms": ["all"]},
                           "users": {"includeGroups": ["g1"], "includeGuestsOrExternalUsers": null}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
        let policy: ConditionalAccessPolicy = serde_json::from_value(body).unwrap();
        let conditions = policy.conditions.unwrap();
        assert!(conditions.other.contains_key("platforms"));
        assert_eq!(
            conditions.users.unwrap().include_groups.unwrap(),
            vec!["g1"]
        );
    }
}
