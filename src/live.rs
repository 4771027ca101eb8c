//! Reading the tenant: everything a plan compares with the desired state, in one parallel
//! wave when the outputs file tells us the ids (a second, smaller wave when it cannot).

use std::collections::BTreeMap;

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
    /// The users in each group the policy names (by name or by id in its file), read
    /// transitively and completely, by lowercase group id; `None` where the group is gone.
    pub members: BTreeMap<String, Option<Vec<Member>>>,
    /// Each configured user principal name with its user, if it exists.
    pub users: Vec<(String, Option<User>)>,
    /// The groups and directory roles each emergency-access user is in (by lowercase UPN),
    /// to tell whether another policy reaches them; `Err` says why it could not be read.
    pub emergency_memberships: BTreeMap<String, Result<Vec<DirectoryObject>, String>>,
    /// Directory role names by lowercase role template id: the tenant's role definitions, or
    /// the built-in ones when the token may not read them.
    pub role_names: BTreeMap<String, String>,
    /// Who in the tenant has no multi-factor method registered.
    pub mfa: MfaRegistration,
    /// Whether the tenant holds a licence that carries Conditional Access.
    pub licence: Licence,
    pub security_defaults: bool,
    /// Who runs this (from the token's claims).
    pub caller: Caller,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LiveGroup {
    pub id: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    /// Direct members, as `$expand` gives them: at most [`EXPANDED_MEMBERS_CAP`].
    #[serde(default)]
    members: Vec<TypedMember>,
}

/// Graph returns at most this many objects for `$expand` on a directory object.
const EXPANDED_MEMBERS_CAP: usize = 20;

impl LiveGroup {
    /// The users in this group, when `$expand` gave all of them: fewer than the cap, and no
    /// nested group whose members it would not follow.
    fn complete_members(&self) -> Option<Vec<Member>> {
        let complete = self.members.len() < EXPANDED_MEMBERS_CAP
            && self.members.iter().all(TypedMember::is_user);
        complete.then(|| self.members.iter().map(|m| m.member.clone()).collect())
    }
}

/// A user reached through a group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub account_enabled: Option<bool>,
}

/// A group or directory role something is a member of.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    pub id: String,
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub display_name: Option<String>,
    /// Set on a `directoryRole`: the role template id Conditional Access names roles by.
    pub role_template_id: Option<String>,
}

impl DirectoryObject {
    pub fn is_group(&self) -> bool {
        self.odata_type.as_deref() == Some("#microsoft.graph.group")
    }

    pub fn is_directory_role(&self) -> bool {
        self.odata_type.as_deref() == Some("#microsoft.graph.directoryRole")
    }
}

/// What `/reports/authenticationMethods/userRegistrationDetails` told us.
#[derive(Debug, Clone, Default)]
pub enum MfaRegistration {
    /// Not read (no policy).
    #[default]
    NotRead,
    /// The enabled users with no multi-factor method registered: lowercase id -> UPN.
    Unregistered(BTreeMap<String, String>),
    /// The report could not be read, and why (what to grant).
    Unreadable(String),
}

/// What `GET /subscribedSkus` told us of the Entra ID P1 (or P2) licence Conditional Access
/// needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Licence {
    /// Not read (no policy).
    #[default]
    NotRead,
    /// An active SKU carries an Entra ID P1 or P2 plan: the SKU's part number (`SPB`, ...).
    Present(String),
    /// No active SKU carries one.
    Missing,
    /// The SKUs could not be read, and why (what to grant).
    Unreadable(String),
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
    /// The users read for a group (by lowercase id); `None` where it was not read or is gone.
    pub fn users_in(&self, group_id: &str) -> Option<&[Member]> {
        self.members.get(group_id).and_then(|m| m.as_deref())
    }

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
    if let Some(policy) = &desired.conditional_access {
        await_pending_policies(client, desired, &policy.display_name, &mut live).await?;
    }
    await_held_secret(client, desired, hint, &mut live).await?;
    Ok(live)
}

/// A secret this runner holds that the app does not list yet, made within the last
/// [`crate::ownership::INTENT_SETTLE`], is most likely still replicating (a run killed just
/// after delivering it, then run again at once). The app is read again until it lists it or
/// that time has passed, so the plan neither drops the held secret nor makes another.
async fn await_held_secret(
    client: &GraphClient,
    desired: &Desired,
    hint: Option<&Outputs>,
    live: &mut LiveState,
) -> Result<(), GraphError> {
    let Some(held) = hint
        .filter(|o| Some(o.client_id.as_str()) == live.app_id())
        .and_then(|o| o.secret.as_ref())
    else {
        return Ok(());
    };
    let made = held.expires - time::Duration::days(i64::from(desired.secret.lifetime_days));
    let settle = time::Duration::try_from(crate::ownership::INTENT_SETTLE).unwrap_or_default();
    let app_path = odata::by_key("applications", "uniqueName", &desired.app.unique_name);
    let mut announced = false;
    while !live.has_secret(held.key_id) && time::OffsetDateTime::now_utc() - made < settle {
        if !announced {
            tracing::warn!(
                "the client secret this runner holds ({}) is not listed yet; waiting for Entra before planning",
                held.key_id
            );
            announced = true;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if let Some(app) = client.get_optional::<Application>(&app_path).await? {
            live.record = Record::from_tags(app.tags.as_deref().unwrap_or_default());
            live.application = Some(app);
        }
    }
    Ok(())
}

/// Waits, for as long as replication may hide it, before the plan decides about a policy
/// named like ours:
///
/// - a recorded intent younger than [`crate::ownership::INTENT_SETTLE`] that no listed
///   policy answers may be a policy not listed yet (its run lost the answer, was killed, or is
///   running now): without the wait the plan would create a second copy;
/// - a policy made that recently that the record does not claim may be another run's whose
///   record entry our read did not show yet: without the wait the plan would call it not ours.
///
/// The list and the record are read again until both settle.
async fn await_pending_policies(
    client: &GraphClient,
    desired: &Desired,
    name: &str,
    live: &mut LiveState,
) -> Result<(), GraphError> {
    let settle = crate::ownership::INTENT_SETTLE.as_secs() as i64;
    let mut announced = false;
    loop {
        let Some(ca) = &live.conditional_access else {
            return Ok(());
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let record = &live.record;
        let pending_name =
            crate::resources::conditional_access::pending_name(name, &desired.app.unique_name);
        let is_pending = |p: &ConditionalAccessPolicy| {
            p.display_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&pending_name))
        };
        let named: Vec<&ConditionalAccessPolicy> = ca
            .policies
            .iter()
            .filter(|p| {
                is_pending(p)
                    || p.display_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .collect();
        let pending = record.policy_intents.iter().max().is_some_and(|&youngest| {
            let since = youngest - crate::ownership::CLOCK_SLACK_SECONDS;
            now - youngest < settle
                && !named.iter().any(|p| {
                    p.created_date_time
                        .is_some_and(|c| c.unix_timestamp() >= since)
                })
        });
        let unclaimed_young = named.iter().any(|p| {
            !is_pending(p)
                && !p.id.as_deref().is_some_and(|id| record.owns_policy(id))
                && p.created_date_time
                    .is_some_and(|c| !record.intended(c) && now - c.unix_timestamp() < settle)
        });
        if !pending && !unclaimed_young {
            return Ok(());
        }
        // Said once at the default level: the plan may wait up to INTENT_SETTLE here.
        if !announced {
            tracing::warn!(
                "policy {name}: a create of ours from the last {settle}s may not be replicated yet; waiting for Entra before planning"
            );
            announced = true;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let app_path = odata::by_key("applications", "uniqueName", &desired.app.unique_name);
        let (policies, app) = tokio::join!(
            client.list::<ConditionalAccessPolicy>(Request::get(
                "identity/conditionalAccess/policies"
            )),
            client.get_optional::<Application>(&app_path),
        );
        if let Some(app) = app? {
            live.record = Record::from_tags(app.tags.as_deref().unwrap_or_default());
        }
        if let Some(ca) = &mut live.conditional_access {
            ca.policies = policies?;
        }
    }
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

/// The app role assignments `sp_id` holds (none while it is still replicating).
pub async fn assignments(
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

/// The tenant-wide delegated grants `sp_id` holds.
pub async fn grants(
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

/// Every policy, every user and group it names (groups with all their users), security
/// defaults, role names, MFA registration and who we are: one wave, plus one request per
/// group too big or nested for `$expand` to give whole.
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
        let emergency = policy.emergency_access_groups.contains(name);
        named_group(client, name, emergency)
    }));
    let literal_groups = join_all(
        literal_group_ids(&policy.template)
            .into_iter()
            .map(|id| async move { (id.clone(), transitive_users(client, &id).await) }),
    );
    let users = join_all(user_names.iter().map(|upn| {
        let request = Request::get(user_path(upn, ""))
            .query("$select", "id,displayName,userPrincipalName,accountEnabled");
        async move {
            client
                .send_optional::<User>(&request)
                .await
                .map(|user| (upn.to_string(), user))
        }
    }));
    let memberships =
        join_all(policy.emergency_access_users.iter().map(|upn| async move {
            (upn.to_ascii_lowercase(), memberships_of(client, upn).await)
        }));
    let (
        policies,
        groups,
        literal_groups,
        users,
        memberships,
        role_names,
        mfa,
        licence,
        defaults,
        claims,
    ) = tokio::join!(
        client.list::<ConditionalAccessPolicy>(policies_request),
        groups,
        literal_groups,
        users,
        memberships,
        role_names(client),
        mfa_registration(client),
        read_licence(client),
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
    let mut members = BTreeMap::new();
    let mut named = Vec::new();
    for found in groups {
        let (name, found, read) = found?;
        members.extend(read);
        named.push((name, found));
    }
    for (id, users) in literal_groups {
        members.insert(id.to_ascii_lowercase(), users?);
    }
    Ok(LiveConditionalAccess {
        policies: policies?,
        groups: named,
        members,
        users: users.into_iter().collect::<Result<_, _>>()?,
        emergency_memberships: memberships.into_iter().collect(),
        role_names,
        mfa,
        licence,
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

/// `users/{upn}{rest}`, the UPN percent-encoded.
fn user_path(upn: &str, rest: &str) -> String {
    format!(
        "users/{}{rest}",
        percent_encoding::utf8_percent_encode(upn, percent_encoding::NON_ALPHANUMERIC)
    )
}

type NamedGroup = (String, Vec<LiveGroup>, Vec<(String, Option<Vec<Member>>)>);

/// The groups named `name`, and the users of the one it must be. A small flat group comes
/// whole with its `$expand`ed members, in the same request; any other is read with
/// [`transitive_users`]. Emergency-access groups always are, for their members' sign-in state.
async fn named_group(
    client: &GraphClient,
    name: &str,
    emergency: bool,
) -> Result<NamedGroup, GraphError> {
    let request = Request::get("groups")
        .query("$filter", odata::eq("displayName", name))
        .query("$select", "id,displayName")
        .query(
            "$expand",
            "members($select=id,userPrincipalName,accountEnabled)",
        );
    let found = client.list::<LiveGroup>(request).await?;
    let mut members = Vec::new();
    if let [group] = found.as_slice() {
        let users = match group.complete_members().filter(|_| !emergency) {
            Some(users) => Some(users),
            None => transitive_users(client, &group.id).await?,
        };
        members.push((group.id.to_ascii_lowercase(), users));
    }
    Ok((name.to_string(), found, members))
}

/// Every user in a group, through nested groups, over every page. (`$expand=members` stops
/// at 20 and does not follow nesting.) `None` when the group does not exist.
async fn transitive_users(
    client: &GraphClient,
    group_id: &str,
) -> Result<Option<Vec<Member>>, GraphError> {
    let request = Request::get(format!("groups/{group_id}/transitiveMembers"))
        .query("$select", "id,userPrincipalName,accountEnabled")
        .query("$top", "999");
    match client.list::<TypedMember>(request).await {
        Ok(found) => Ok(Some(
            found
                .into_iter()
                .filter(TypedMember::is_user)
                .map(|m| m.member)
                .collect(),
        )),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A member with its type (a user, a nested group, a device, a service principal).
#[derive(Debug, Clone, Deserialize)]
struct TypedMember {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    #[serde(flatten)]
    member: Member,
}

impl TypedMember {
    fn is_user(&self) -> bool {
        self.odata_type.as_deref() == Some("#microsoft.graph.user")
    }
}

/// Group ids written into the policy file itself, not through a placeholder.
fn literal_group_ids(template: &serde_json::Value) -> Vec<String> {
    ["includeGroups", "excludeGroups"]
        .iter()
        .filter_map(|k| template.pointer(&format!("/conditions/users/{k}")))
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter(|s| uuid::Uuid::parse_str(s).is_ok())
        .map(String::from)
        .collect()
}

/// The groups and roles an emergency-access user is in; what could not be read is kept as a
/// reason.
async fn memberships_of(client: &GraphClient, upn: &str) -> Result<Vec<DirectoryObject>, String> {
    let request = Request::get(user_path(upn, "/transitiveMemberOf"))
        .query("$select", "id,displayName,roleTemplateId")
        .query("$top", "999");
    let objects: Vec<DirectoryObject> = client.list(request).await.map_err(|e| match e.status() {
        Some(403) => "the token may not read group memberships (grant GroupMember.Read.All, or Directory.Read.All)".to_string(),
        Some(404) => format!("{upn} does not exist"),
        _ => e.to_string(),
    })?;
    // Without a role-reading permission Graph lists a role with its type and id only.
    if objects
        .iter()
        .any(|o| o.is_directory_role() && o.role_template_id.is_none())
    {
        return Err("the token may not read its directory roles (grant RoleManagement.Read.Directory, or Directory.Read.All)".to_string());
    }
    Ok(objects)
}

/// Directory role names by template id: the tenant's definitions (custom roles too), or the
/// built-in table when the token may not read them.
async fn role_names(client: &GraphClient) -> BTreeMap<String, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RoleDefinition {
        display_name: Option<String>,
        template_id: Option<String>,
    }
    let mut names: BTreeMap<String, String> = crate::well_known::DIRECTORY_ROLES
        .iter()
        .map(|(name, id)| (id.to_string(), name.to_string()))
        .collect();
    let request = Request::get("roleManagement/directory/roleDefinitions")
        .query("$select", "id,displayName,templateId");
    match client.list::<RoleDefinition>(request).await {
        Ok(definitions) => {
            for definition in definitions {
                if let (Some(id), Some(name)) = (definition.template_id, definition.display_name) {
                    names.insert(id.to_ascii_lowercase(), name);
                }
            }
            names
        }
        // Optional: built-in roles are named without it.
        Err(_) => names,
    }
}

/// Who has no multi-factor method registered, or why that could not be read.
async fn mfa_registration(client: &GraphClient) -> MfaRegistration {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Registration {
        id: String,
        user_principal_name: Option<String>,
    }
    let request = Request::get("reports/authenticationMethods/userRegistrationDetails")
        .query("$filter", "isMfaRegistered eq false")
        .query("$select", "id,userPrincipalName")
        .query("$top", "999");
    match client.list::<Registration>(request).await {
        Ok(found) => MfaRegistration::Unregistered(
            found
                .into_iter()
                .map(|r| {
                    let upn = r.user_principal_name.unwrap_or_else(|| r.id.clone());
                    (r.id.to_ascii_lowercase(), upn)
                })
                .collect(),
        ),
        Err(e) if e.status() == Some(403) => MfaRegistration::Unreadable(format!(
            "reading it needs {} (a signed-in user also needs the Reports Reader, Security Reader or Global Reader role), and a Microsoft Entra ID P1 licence",
            crate::preflight::MFA_REPORT_PERMISSION
        )),
        // Optional: a failure to read the report is said, not fatal.
        Err(e) => MfaRegistration::Unreadable(format!("the report could not be read ({e})")),
    }
}

/// A `subscribedSku`, as much of it as the licence check reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribedSku {
    sku_part_number: Option<String>,
    capability_status: Option<String>,
    #[serde(default)]
    service_plans: Vec<ServicePlanInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePlanInfo {
    service_plan_id: Option<String>,
    provisioning_status: Option<String>,
}

/// Whether the tenant holds an Entra ID P1 or P2 plan, read from its subscriptions.
pub async fn read_licence(client: &GraphClient) -> Licence {
    let request = Request::get("subscribedSkus")
        .query("$select", "skuPartNumber,capabilityStatus,servicePlans");
    match client.list::<SubscribedSku>(request).await {
        Ok(skus) => licence_in(skus),
        Err(e) if e.status() == Some(403) => Licence::Unreadable(format!(
            "reading it needs {} (or Organization.Read.All, or Directory.Read.All)",
            crate::preflight::LICENCE_PERMISSION
        )),
        // Not fatal: apply then writes the policy first, so a refusal comes before the rest.
        Err(e) => Licence::Unreadable(format!("the subscriptions could not be read ({e})")),
    }
}

/// A plan counts when it is provisioned (`Success`) in a SKU that is not suspended, deleted
/// or locked out (`Enabled`, or `Warning` in the grace period after it lapses).
fn licence_in(skus: Vec<SubscribedSku>) -> Licence {
    let carries_conditional_access = |plan: &ServicePlanInfo| {
        plan.provisioning_status.as_deref() == Some("Success")
            && plan.service_plan_id.as_deref().is_some_and(|id| {
                crate::well_known::CONDITIONAL_ACCESS_PLANS
                    .iter()
                    .any(|(_, known)| known.eq_ignore_ascii_case(id))
            })
    };
    skus.into_iter()
        .find(|sku| {
            matches!(
                sku.capability_status.as_deref(),
                Some("Enabled" | "Warning")
            ) && sku.service_plans.iter().any(carries_conditional_access)
        })
        .map_or(Licence::Missing, |sku| {
            Licence::Present(sku.sku_part_number.unwrap_or_default())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn licence_of(skus: serde_json::Value) -> Licence {
        licence_in(serde_json::from_value(skus).unwrap())
    }

    fn sku(part: &str, status: &str, plan: &str, provisioning: &str) -> serde_json::Value {
        json!({"skuPartNumber": part, "capabilityStatus": status,
            "servicePlans": [{"servicePlanId": plan, "provisioningStatus": provisioning}]})
    }

    const P1: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";
    const P2: &str = "EEC0EB4F-6444-4F95-ABA0-50C24D67F998";
    const EXCHANGE: &str = "9aaf7827-d63c-4b61-89c3-182f06f82e5c";

    #[test]
    fn an_active_p1_or_p2_plan_is_the_licence() {
        let skus = json!([
            sku("O365_BUSINESS_PREMIUM", "Enabled", EXCHANGE, "Success"),
            sku("SPB", "Enabled", P1, "Success")
        ]);
        assert_eq!(licence_of(skus), Licence::Present("SPB".into()));
        let p2 = json!([sku("SPE_E5", "Warning", P2, "Success")]);
        assert_eq!(licence_of(p2), Licence::Present("SPE_E5".into()));
    }

    #[test]
    fn a_lapsed_sku_or_an_unprovisioned_plan_is_no_licence() {
        for skus in [
            json!([]),
            json!([sku("SPB", "Suspended", P1, "Success")]),
            json!([sku("AAD_PREMIUM", "LockedOut", P1, "Success")]),
            json!([sku("SPB", "Enabled", P1, "Disabled")]),
            json!([sku("SPB", "Enabled", P1, "PendingActivation")]),
            json!([sku("O365_BUSINESS_PREMIUM", "Enabled", EXCHANGE, "Success")]),
        ] {
            assert_eq!(licence_of(skus.clone()), Licence::Missing, "{skus}");
        }
    }
}
