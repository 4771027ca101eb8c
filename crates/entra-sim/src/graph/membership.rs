//! Group membership as readers see it: a group's direct and transitive members, and a user's
//! transitive memberships (groups and directory roles), as typed directory objects. Lists
//! lag membership changes as they lag other changes.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::{need, not_found, Ctx, Res};
use crate::roles;
use crate::state::{Obj, Tenant};

/// Graph expands at most this many members in `groups?$expand=members`.
pub const EXPAND_CAP: usize = 20;

/// Permissions that let a caller read each member type in full; without one, Graph still
/// lists the object but with only `id` and `@odata.type` filled in ("limited information
/// returned for inaccessible member objects").
const USER_READERS: &[&str] = &[
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const GROUP_READERS: &[&str] = &[
    "Group.ReadBasic.All",
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const ROLE_READERS: &[&str] = &[
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// The first [`EXPAND_CAP`] direct members, for `$expand=members`.
pub fn expanded(ctx: &Ctx<'_>, members: &[String]) -> Vec<Value> {
    let capped = &members[..members.len().min(EXPAND_CAP)];
    typed_all(ctx, capped)
        .into_iter()
        .map(Value::Object)
        .collect()
}

/// `GET /groups/{id}/members`: direct members, users and groups, as lists see them (a
/// membership change shows once it has replicated).
pub fn members(ctx: &Ctx<'_>, id: &str) -> Res {
    ctx.require(need::GROUP_MEMBER_READ)?;
    let group = visible_group(ctx, id)?;
    let items = typed_all(ctx, group.members_seen(ctx.now, true));
    ctx.collection_at(
        &format!("groups/{id}/members"),
        "directoryObjects",
        items,
        &["id"],
    )
}

/// `GET /groups/{id}/transitiveMembers`: everyone reachable through nested groups, once.
pub fn transitive_members(ctx: &Ctx<'_>, id: &str) -> Res {
    ctx.require(need::GROUP_MEMBER_READ)?;
    visible_group(ctx, id)?;
    let items = typed_all(ctx, &reachable_members(ctx.tenant, ctx.now, id));
    ctx.collection_at(
        &format!("groups/{id}/transitiveMembers"),
        "directoryObjects",
        items,
        &["id"],
    )
}

/// `GET /users/{id | userPrincipalName}/transitiveMemberOf`: groups (nested ones included),
/// then directory roles.
pub fn transitive_member_of(ctx: &Ctx<'_>, key: &str) -> Res {
    let user = ctx
        .tenant
        .users
        .iter()
        .filter(|u| u.visible(ctx.now))
        .find(|u| {
            u.id() == key
                || u.str("userPrincipalName")
                    .is_some_and(|upn| upn.eq_ignore_ascii_case(key))
        })
        .ok_or_else(|| not_found(key))?;
    // A signed-in user reads their own memberships with User.Read.
    let is_self = ctx.caller.is_delegated() && user.id() == ctx.caller.object_id;
    if !(is_self && ctx.holds("User.Read")) {
        ctx.require(need::MEMBER_OF_READ)?;
    }
    let mut items = typed_all(ctx, &containing_groups(ctx.tenant, ctx.now, user.id()));
    let role_readable = can_read(ctx, ROLE_READERS);
    items.extend(
        user.hidden
            .directory_roles
            .iter()
            .filter_map(|name| roles::by_name(name))
            .map(|role| limited(directory_role(&ctx.tenant.id, role), role_readable)),
    );
    ctx.collection_at(
        &format!("users/{}/transitiveMemberOf", user.id()),
        "directoryObjects",
        items,
        &["id"],
    )
}

/// The group a point read sees, or 404 (unknown, or still replicating).
fn visible_group<'c>(ctx: &'c Ctx<'_>, id: &str) -> Result<&'c Obj, super::Reply> {
    ctx.tenant
        .groups
        .iter()
        .find(|g| g.visible(ctx.now) && g.id() == id)
        .ok_or_else(|| not_found(id))
}

/// Members of `group_id` and of every group nested in it, breadth first, each once, as a list
/// sees them at `now`; a cycle ends where it meets a group already seen.
fn reachable_members(tenant: &Tenant, now: Instant, group_id: &str) -> Vec<String> {
    let mut seen = HashSet::from([group_id.to_string()]);
    let mut queue = VecDeque::from([group_id.to_string()]);
    let mut found = Vec::new();
    while let Some(current) = queue.pop_front() {
        let Some(group) = tenant.groups.iter().find(|g| g.id() == current) else {
            continue; // a user: nothing nested below it
        };
        for member in group.members_seen(now, true) {
            if seen.insert(member.clone()) {
                found.push(member.clone());
                queue.push_back(member.clone());
            }
        }
    }
    found
}

/// Groups `member_id` belongs to directly or through nesting, each once, in tenant order, as
/// a list sees them at `now`.
fn containing_groups(tenant: &Tenant, now: Instant, member_id: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([member_id.to_string()]);
    while let Some(current) = queue.pop_front() {
        for group in &tenant.groups {
            if group.members_seen(now, true).contains(&current)
                && seen.insert(group.id().to_string())
            {
                queue.push_back(group.id().to_string());
            }
        }
    }
    tenant
        .groups
        .iter()
        .map(|g| g.id().to_string())
        .filter(|id| seen.contains(id) && id != member_id)
        .collect()
}

/// The directory objects `ids` name, as a list sees them. Unknown ids are skipped, and so are
/// service principals: Graph v1.0 does not list them as group members (a known issue of
/// group-list-members).
fn typed_all(ctx: &Ctx<'_>, ids: &[String]) -> Vec<Map<String, Value>> {
    let users_readable = can_read(ctx, USER_READERS);
    let groups_readable = can_read(ctx, GROUP_READERS);
    ids.iter()
        .filter_map(|id| {
            if let Some(user) = list_visible(&ctx.tenant.users, ctx, id) {
                Some(limited(
                    user_as_seen(ctx, user_object(user)),
                    users_readable,
                ))
            } else {
                list_visible(&ctx.tenant.groups, ctx, id)
                    .map(|group| limited(group_object(group), groups_readable))
            }
        })
        .collect()
}

fn list_visible<'o>(objs: &'o [Obj], ctx: &Ctx<'_>, id: &str) -> Option<&'o Map<String, Value>> {
    objs.iter()
        .find(|o| o.id() == id)
        .and_then(|o| o.view(ctx.now, true))
}

/// Permissions that read a user's full profile; `User.ReadBasic.All` (and membership reads)
/// give only [`BASIC_USER_PROPERTIES`].
const FULL_USER_READERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// What `User.ReadBasic.All` reads of another user.
const BASIC_USER_PROPERTIES: &[&str] = &[
    "@odata.type",
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
];

/// A user as this caller may see it: the full profile, or the basic one with everything
/// else absent (Graph leaves out what the permission does not cover, even when selected).
pub fn user_as_seen(ctx: &Ctx<'_>, mut user: Map<String, Value>) -> Map<String, Value> {
    let is_self = user.get("id").and_then(Value::as_str) == Some(ctx.caller.object_id.as_str());
    if !is_self && !can_read(ctx, FULL_USER_READERS) {
        user.retain(|key, _| BASIC_USER_PROPERTIES.contains(&key.as_str()));
    }
    user
}

/// Whether the caller reads users' full profiles (not only the basic one).
pub fn reads_full_profiles(ctx: &Ctx<'_>) -> bool {
    can_read(ctx, FULL_USER_READERS)
}

fn can_read(ctx: &Ctx<'_>, readers: &[&str]) -> bool {
    readers.iter().any(|p| ctx.holds(p))
}

/// Everything but `id` and `@odata.type` nulled when the caller may not read the type.
fn limited(mut object: Map<String, Value>, readable: bool) -> Map<String, Value> {
    if !readable {
        for (key, value) in object.iter_mut() {
            if key != "id" && key != "@odata.type" {
                *value = Value::Null;
            }
        }
    }
    object
}

fn user_object(user: &Map<String, Value>) -> Map<String, Value> {
    let field = |key: &str| user.get(key).cloned().unwrap_or(Value::Null);
    crate::state::object(json!({
        "@odata.type": "#microsoft.graph.user",
        "id": field("id"),
        "displayName": field("displayName"),
        "userPrincipalName": field("userPrincipalName"),
        "accountEnabled": field("accountEnabled"),
    }))
}

fn group_object(group: &Map<String, Value>) -> Map<String, Value> {
    let field = |key: &str| group.get(key).cloned().unwrap_or(Value::Null);
    crate::state::object(json!({
        "@odata.type": "#microsoft.graph.group",
        "id": field("id"),
        "displayName": field("displayName"),
    }))
}

fn directory_role(tenant_id: &str, role: &roles::RoleTemplate) -> Map<String, Value> {
    crate::state::object(json!({
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": roles::directory_role_id(tenant_id, role.template_id),
        "displayName": role.name,
        "description": role.description,
        "roleTemplateId": role.template_id,
        "deletedDateTime": null,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, members: &[&str]) -> Obj {
        let mut obj = Obj::new(crate::state::object(json!({"id": id})));
        obj.hidden.members = members.iter().map(|m| m.to_string()).collect();
        obj
    }

    fn tenant(groups: Vec<Obj>) -> Tenant {
        let mut inner = crate::state::Inner::new(1);
        let mut tenant = crate::seed::tenant(&mut inner, &Default::default());
        tenant.groups = groups;
        tenant
    }

    #[test]
    fn nesting_is_followed_once_through_a_cycle() {
        let t = tenant(vec![
            group("a", &["u1", "b"]),
            group("b", &["u2", "c", "u1"]),
            group("c", &["a", "u3"]),
        ]);
        let now = Instant::now();
        assert_eq!(
            reachable_members(&t, now, "a"),
            ["u1", "b", "u2", "c", "u3"]
        );
        assert_eq!(
            reachable_members(&t, now, "c"),
            ["a", "u3", "u1", "b", "u2"]
        );
        assert_eq!(containing_groups(&t, now, "u3"), ["a", "b", "c"]);
        assert_eq!(containing_groups(&t, now, "u2"), ["a", "b", "c"]);
        assert!(containing_groups(&t, now, "nobody").is_empty());
    }
}
