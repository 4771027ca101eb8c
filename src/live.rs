//! Reading the tenant: everything a plan compares with the desired state, in one parallel
//! wave when the outputs file tells us the ids (a second, smaller wave when it cannot).

use futures::future::{join_all, OptionFuture};

use crate::config::Desired;
use serde::Deserialize;

use crate::graph::models::{
    AppRoleAssignment, Application, ConditionalAccessPolicy,
    IdentitySecurityDefaultsEnforcementPolicy, OAuth2PermissionGrant, ServicePrincipal, User,
};
use crate::graph::{odata, GraphClient, GraphError, Request};
use crate::outputs::Outputs;
use crate::ownership::Record;

/// What the tenant holds of ours, and the resources we ask permissions of.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// The app found by our `uniqueName`; or, when there is none, the one app named like
    /// ours that has no `uniqueName` (a portal-made app `--adopt` can take over: see
    /// [`LiveState::adopting_app`]).
    pub application: Option<Application>,
    /// Apps named like ours with no `uniqueName`, when no app carries our `uniqueName`.
    pub adoption_candidates: Vec<Application>,
    /// The ownership record on our app (empty when there is no app of ours).
    pub record: Record,
    pub service_principal: Option<ServicePrincipal>,
    /// The resource service principals, in config order; `None` where the tenant has none.
    pub resources: Vec<Option<ServicePrincipal>>,
    /// App role assignments held by our service principal.
    pub app_role_assignments: Vec<AppRoleAssignment>,
    /// Tenant-wide delegated grants of our service principal.
    pub grants: Vec<OAuth2PermissionGrant>,
    /// What Conditional Access needs, when the config has a policy.
    pub conditional_access: Option<LiveConditionalAccess>,
}

/// The policies, the users and groups ours names, and the tenant's switches.
#[derive(Debug, Clone, Default)]
pub struct LiveConditionalAccess {
    /// Every policy in the tenant: ours are found by the record, candidates for adoption by
    /// display name (one list request, since Conditional Access allows one per second).
    pub policies: Vec<ConditionalAccessPolicy>,
    /// Each configured group name with the groups that carry it (none: missing; several:
    /// ambiguous).
    pub groups: Vec<(String, Vec<LiveGroup>)>,
    /// Each configured user principal name with its user, if it exists.
    pub users: Vec<(String, Option<User>)>,
    pub security_defaults: bool,
    /// Who runs this (from the token's claims).
    pub caller: Caller,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LiveGroup {
    pub id: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Member {
    pub id: String,
}

/// The identity behind the token.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub object_id: Option<String>,
    /// A signed-in user (delegated token) rather than an app.
    pub delegated: bool,
    pub name: Option<String>,
}

impl LiveState {
    pub fn app_id(&self) -> Option<&str> {
        self.application.as_ref().and_then(|a| a.app_id.as_deref())
    }

    pub fn app_object_id(&self) -> Option<&str> {
        self.application.as_ref().and_then(|a| a.id.as_deref())
    }

    pub fn service_principal_id(&self) -> Option<&str> {
        self.service_principal
            .as_ref()
            .and_then(|sp| sp.id.as_deref())
    }

    /// The live app is a portal-made one named like ours, not yet carrying our `uniqueName`.
    pub fn adopting_app(&self) -> bool {
        self.application
            .as_ref()
            .is_some_and(|a| a.unique_name.is_none())
    }

    /// Whether the app holds a client secret with `key_id` (of any display name).
    pub fn has_secret(&self, key_id: uuid::Uuid) -> bool {
        self.application
            .iter()
            .flat_map(|a| a.password_credentials.iter().flatten())
            .any(|c| c.key_id == Some(key_id))
    }

    /// Our client secrets' credentials (by the configured display name).
    pub fn our_secrets<'a>(
        &'a self,
        display_name: &'a str,
    ) -> impl Iterator<Item = &'a crate::graph::models::PasswordCredential> + 'a {
        self.application
            .iter()
            .flat_map(|a| a.password_credentials.iter().flatten())
            .filter(move |c| c.display_name.as_deref() == Some(display_name))
    }
}

impl LiveConditionalAccess {
    /// Live policies the record says are ours, earliest first.
    pub fn recorded<'a>(&'a self, record: &'a Record) -> Vec<&'a ConditionalAccessPolicy> {
        let mut ours: Vec<&ConditionalAccessPolicy> = self
            .policies
            .iter()
            .filter(|p| p.id.as_deref().is_some_and(|id| record.owns_policy(id)))
            .collect();
        ours.sort_by_key(|p| (p.created_date_time, p.id.clone()));
        ours
    }

    /// Live policies named `name` that the record does not claim.
    pub fn named_not_ours<'a>(
        &'a self,
        name: &str,
        record: &Record,
    ) -> Vec<&'a ConditionalAccessPolicy> {
        self.policies
            .iter()
            .filter(|p| {
                p.display_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .filter(|p| !p.id.as_deref().is_some_and(|id| record.owns_policy(id)))
            .collect()
    }
}

const RESOURCE_SELECT: &str = "id,appId,displayName,appRoles,oauth2PermissionScopes";

/// Reads the live state: the app side and Conditional Access, at the same time.
pub async fn read(
    client: &GraphClient,
    desired: &Desired,
    hint: Option<&Outputs>,
) -> Result<LiveState, GraphError> {
    let (core, conditional_access) = tokio::join!(
        read_core(client, desired, hint),
        OptionFuture::from(
            desired
                .conditional_access
                .as_ref()
                .map(|policy| read_conditional_access(client, policy))
        ),
    );
    let mut live = core?;
    live.conditional_access = conditional_access.transpose()?;
    Ok(live)
}

/// The app side. `hint` (the last outputs) lets the service principal and its consent be
/// read in the same wave as the application.
async fn read_core(
    client: &GraphClient,
    desired: &Desired,
    hint: Option<&Outputs>,
) -> Result<LiveState, GraphError> {
    let hint = hint
        .filter(|o| o.tenant_id == desired.tenant_id && o.unique_name == desired.app.unique_name);
    let hinted_app_id = hint.map(|o| o.client_id.clone());
    let hinted_sp_id = hint.and_then(|o| o.service_principal_id.clone());

    let app_path = odata::by_key("applications", "uniqueName", &desired.app.unique_name);
    let resources = join_all(desired.permissions.iter().map(|p| {
        let request = Request::get(odata::by_key(
            "servicePrincipals",
            "appId",
            &p.resource_app_id.to_string(),
        ))
        .query("$select", RESOURCE_SELECT);
        async move { client.send_optional::<ServicePrincipal>(&request).await }
    }));
    // Without the outputs' ids (a fresh runner), the service principal is found by the key
    // tag we give it, in this same wave.
    let tagged = OptionFuture::from(hint.is_none().then(|| {
        let tag = crate::resources::service_principal::key_tag(desired);
        client.list::<ServicePrincipal>(Request::get("servicePrincipals").query(
            "$filter",
            format!("tags/any(t:t eq {})", odata::quote(&tag)),
        ))
    }));
    let (application, candidates, resources, tagged, hinted_sp, hinted_assignments, hinted_grants) = tokio::join!(
        client.get_optional::<Application>(&app_path),
        adoption_candidates(client, &desired.app.display_name),
        resources,
        tagged,
        OptionFuture::from(
            hinted_app_id
                .as_deref()
                .map(|app_id| service_principal(client, app_id))
        ),
        OptionFuture::from(
            hinted_sp_id
                .as_deref()
                .map(|sp_id| assignments(client, sp_id))
        ),
        OptionFuture::from(hinted_sp_id.as_deref().map(|sp_id| grants(client, sp_id))),
    );
    let resources = resources.into_iter().collect::<Result<Vec<_>, _>>()?;
    let app = match application? {
        Some(app) => app,
        None => {
            let candidates = candidates?;
            let [candidate] = candidates.as_slice() else {
                return Ok(LiveState {
                    resources,
                    adoption_candidates: candidates,
                    ..LiveState::default()
                });
            };
            // One portal-made app: read it whole, as the plan would an app of ours.
            let id = candidate.id.clone().unwrap_or_default();
            match client
                .get_optional::<Application>(&format!("applications/{id}"))
                .await?
            {
                Some(app) => app,
                None => {
                    return Ok(LiveState {
                        resources,
                        ..LiveState::default()
                    })
                }
            }
        }
    };
    let record = Record::from_tags(app.tags.as_deref().unwrap_or_default());
    let app_id = app.app_id.clone().unwrap_or_default();

    let tagged = tagged.transpose()?.unwrap_or_default();
    let tagged = tagged
        .into_iter()
        .find(|sp| sp.app_id.as_deref() == Some(app_id.as_str()));
    let service_principal = match (hinted_sp, tagged) {
        (Some(result), _) if hinted_app_id.as_deref() == Some(app_id.as_str()) => result?,
        (_, Some(sp)) => Some(sp),
        _ => service_principal(client, &app_id).await?,
    };
    let sp_id = service_principal.as_ref().and_then(|sp| sp.id.clone());
    let (app_role_assignments, grants) = match (&sp_id, hinted_assignments, hinted_grants) {
        (None, _, _) => (Vec::new(), Vec::new()),
        (Some(id), Some(assigned), Some(granted))
            if hinted_sp_id.as_deref() == Some(id.as_str()) =>
        {
            (assigned?, granted?)
        }
        (Some(id), _, _) => {
            let (assigned, granted) = tokio::join!(assignments(client, id), grants(client, id));
            (assigned?, granted?)
        }
    };
    Ok(LiveState {
        application: Some(app),
        adoption_candidates: Vec::new(),
        record,
        service_principal,
        resources,
        app_role_assignments,
        grants,
        conditional_access: None,
    })
}

/// The policies when the config names none but the record does (a destroy after
/// `[conditional_access]` left the config): ours must still be found.
pub async fn read_recorded_policies(
    client: &GraphClient,
    live: &mut LiveState,
) -> Result<(), GraphError> {
    if live.conditional_access.is_some() || live.record.policies.is_empty() {
        return Ok(());
    }
    let policies = client
        .list::<ConditionalAccessPolicy>(Request::get("identity/conditionalAccess/policies"))
        .await?;
    live.conditional_access = Some(LiveConditionalAccess {
        policies,
        ..LiveConditionalAccess::default()
    });
    Ok(())
}

/// Where a held secret stands in the tenant, found by its app's `appId` (any app: the outputs
/// may name one the config no longer does).
pub enum HeldSecretInTenant {
    AppGone,
    SecretGone,
    Listed(crate::graph::models::PasswordCredential),
}

pub async fn find_held_secret(
    client: &GraphClient,
    client_id: &str,
    key_id: uuid::Uuid,
) -> Result<HeldSecretInTenant, GraphError> {
    let request = Request::get(odata::by_key("applications", "appId", client_id))
        .query("$select", "id,passwordCredentials");
    let Some(app) = client.send_optional::<Application>(&request).await? else {
        return Ok(HeldSecretInTenant::AppGone);
    };
    Ok(app
        .password_credentials
        .into_iter()
        .flatten()
        .find(|c| c.key_id == Some(key_id))
        .map_or(HeldSecretInTenant::SecretGone, HeldSecretInTenant::Listed))
}

/// Apps with our display name and no `uniqueName`: what an admin made in the portal.
async fn adoption_candidates(
    client: &GraphClient,
    display_name: &str,
) -> Result<Vec<Application>, GraphError> {
    let request = Request::get("applications")
        .query("$filter", odata::eq("displayName", display_name))
        .query("$select", "id,appId,displayName,uniqueName");
    let found: Vec<Application> = client.list(request).await?;
    Ok(found
        .into_iter()
        .filter(|a| a.unique_name.is_none())
        .collect())
}

async fn service_principal(
    client: &GraphClient,
    app_id: &str,
) -> Result<Option<ServicePrincipal>, GraphError> {
    client
        .get_optional(&odata::by_key("servicePrincipals", "appId", app_id))
        .await
}

async fn assignments(
    client: &GraphClient,
    sp_id: &str,
) -> Result<Vec<AppRoleAssignment>, GraphError> {
    match client
        .list(Request::get(format!(
            "servicePrincipals/{sp_id}/appRoleAssignments"
        )))
        .await
    {
        Err(e) if e.status() == Some(404) => Ok(Vec::new()),
        other => other,
    }
}

async fn grants(
    client: &GraphClient,
    sp_id: &str,
) -> Result<Vec<OAuth2PermissionGrant>, GraphError> {
    let filter = format!(
        "{} and consentType eq 'AllPrincipals'",
        odata::eq("clientId", sp_id)
    );
    client
        .list(Request::get("oauth2PermissionGrants").query("$filter", filter))
        .await
}

/// Every policy, every user and group it names, security defaults, and who
/// we are: all in one wave (groups come with their members).
async fn read_conditional_access(
    client: &GraphClient,
    policy: &crate::config::DesiredPolicy,
) -> Result<LiveConditionalAccess, GraphError> {
    let group_names: Vec<&String> = policy
        .pilot_groups
        .iter()
        .chain(&policy.emergency_access_groups)
        .collect();
    let user_names: Vec<&String> = policy
        .pilot_users
        .iter()
        .chain(&policy.emergency_access_users)
        .filter(|u| u.contains('@'))
        .collect();
    let policies_request = Request::get("identity/conditionalAccess/policies");
    let groups = join_all(group_names.iter().map(|name| {
        let request = Request::get("groups")
            .query("$filter", odata::eq("displayName", name))
            .query("$select", "id,displayName")
            .query("$expand", "members");
        async move {
            client
                .list::<LiveGroup>(request)
                .await
                .map(|found| (name.to_string(), found))
        }
    }));
    let users = join_all(user_names.iter().map(|upn| {
        let path = format!(
            "users/{}",
            percent_encoding::utf8_percent_encode(upn, percent_encoding::NON_ALPHANUMERIC)
        );
        let request = Request::get(path).query("$select", "id,displayName,userPrincipalName");
        async move {
            client
                .send_optional::<User>(&request)
                .await
                .map(|user| (upn.to_string(), user))
        }
    }));
    let (policies, groups, users, defaults, claims) = tokio::join!(
        client.list::<ConditionalAccessPolicy>(policies_request),
        groups,
        users,
        client.get::<IdentitySecurityDefaultsEnforcementPolicy>(
            "policies/identitySecurityDefaultsEnforcementPolicy"
        ),
        client.token_claims(),
    );
    let claims = claims?;
    let text = |key: &str| {
        claims
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(String::from)
    };
    Ok(LiveConditionalAccess {
        policies: policies?,
        groups: groups.into_iter().collect::<Result<_, _>>()?,
        users: users.into_iter().collect::<Result<_, _>>()?,
        security_defaults: defaults?.is_enabled.unwrap_or(false),
        caller: Caller {
            object_id: text("oid"),
            delegated: claims.get("scp").is_some(),
            name: text("upn")
                .or_else(|| text("app_displayname"))
                .or_else(|| text("appid")),
        },
    })
}
