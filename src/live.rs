//! The live state: what the tenant holds of ours and what the plan compares with, as data.
//! Each kind reads its own part (see [`crate::kind::ManagedKind::read`]); a kind without a
//! field here keeps its objects in [`LiveState::parts`].

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::graph::models::{
    AppRoleAssignment, Application, ConditionalAccessPolicy, OAuth2PermissionGrant,
    ServicePrincipal, User,
};
use crate::ownership::Record;

/// The live objects of kinds that keep them by type: one value per type.
#[derive(Clone, Default)]
pub struct Parts(BTreeMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl Parts {
    pub fn put<T: Any + Send + Sync>(&mut self, part: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(part));
    }

    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parts({} kinds)", self.0.len())
    }
}

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
    /// The live objects of kinds that keep them by type.
    pub parts: Parts,
    /// What the configured Key Vault holds under our secret's name (`None`: no vault, or
    /// not read, as for destroy).
    pub vault: Option<crate::vault::VaultState>,
    /// That vault's URL, for messages.
    pub vault_url: Option<String>,
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
    pub fn complete_members(&self) -> Option<Vec<Member>> {
        let complete = self.members.len() < EXPANDED_MEMBERS_CAP
            && self.members.iter().all(TypedMember::is_user);
        complete.then(|| self.members.iter().map(|m| m.member.clone()).collect())
    }
}

/// A member with its type (a user, a nested group, a device, a service principal).
#[derive(Debug, Clone, Deserialize)]
pub struct TypedMember {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(flatten)]
    pub member: Member,
}

impl TypedMember {
    pub fn is_user(&self) -> bool {
        self.odata_type.as_deref() == Some("#microsoft.graph.user")
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
