//! `/groups`: list, read (by id or `uniqueName`), upsert by `uniqueName`, update, delete, and
//! direct membership: add (`members/$ref`), remove (`members/{id}/$ref`) and list (`members`,
//! `transitiveMembers`, in membership.rs).
//!
//! Sources: group-upsert, group-update, group-delete, group-post-members, group-delete-members
//! and group-list-members (Microsoft Graph v1.0 reference).

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{
    bad_request, error, membership, merge, need, not_found, Ctx, Key, Reply, Res, Segment,
};
use crate::state::{object, Obj};

const FILTERABLE: &[&str] = &[
    "id",
    "displayName",
    "mailNickname",
    "securityEnabled",
    "mailEnabled",
    "uniqueName",
];

/// The keys a group is addressed by: its id and its alternate key.
const KEYS: &[&str] = &["id", "uniqueName"];

/// What a new group must be given (group-upsert: "required when creating a group").
const REQUIRED_ON_CREATE: &[&str] = &[
    "displayName",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
];

/// Properties Graph sets and a PATCH may not change.
const READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "mail",
    "proxyAddresses",
    "renewedDateTime",
    "securityIdentifier",
];

const DUPLICATE_MEMBER: &str =
    "One or more added object references already exist for the following modified properties: 'members'.";
/// What Graph answers while the group (or the object added to it) is still replicating
/// (group-post-members, note on replication delays).
const NOT_REPLICATED_YET: &str =
    "The source resource object or one of the objects being referenced do not exist.";
const UNSUPPORTED_REFERENCE: &str =
    "Unsupported referenced-object resource identifier for link property 'members'.";

pub fn route(
    ctx: &mut Ctx<'_>,
    method: &Method,
    key: Option<Key>,
    rest: &[Segment],
    body: &[u8],
) -> Res {
    let segments: Vec<&str> = rest.iter().map(|s| s.name.as_str()).collect();
    match (method.as_str(), key, segments.as_slice()) {
        ("GET", None, []) => list(ctx),
        ("GET", Some(key), []) => {
            ctx.require(need::GROUP_READ)?;
            let index = visible_index(ctx, &key)?;
            let data = ctx.tenant.groups[index]
                .view(ctx.now, false)
                .cloned()
                .unwrap_or_default();
            Ok(ctx.entity(200, "groups", &data))
        }
        ("PATCH", Some(Key::Alternate(property, value)), []) if property == "uniqueName" => {
            upsert(ctx, &value, body)
        }
        ("PATCH", Some(key), []) => {
            ctx.require(need::GROUP_WRITE)?;
            let index = visible_index(ctx, &key)?;
            update(ctx, index, body)?;
            Ok(Reply::empty(204))
        }
        ("DELETE", Some(key), []) => delete(ctx, &key),
        ("GET", Some(key), ["members"]) => membership::members(ctx, key.describe()),
        ("GET", Some(key), ["transitiveMembers"]) => {
            membership::transitive_members(ctx, key.describe())
        }
        ("POST", Some(key), ["members", "$ref"]) => add_member(ctx, &key, body),
        ("DELETE", Some(key), ["members", member, "$ref"]) => remove_member(ctx, &key, member),
        (_, _, [first, ..]) if !matches!(*first, "members" | "transitiveMembers") => Err(error(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{first}'."),
        )),
        _ => Err(error(
            405,
            "Request_BadRequest",
            "The HTTP method is not allowed on this resource.",
        )),
    }
}

/// `GET /groups`, with `$filter`, `$select` and `$expand=members`.
fn list(ctx: &Ctx<'_>) -> Res {
    ctx.require(need::GROUP_READ)?;
    // `$expand=members($select=...)` expands members as `$expand=members` does (the
    // simulator's members carry every property a caller selects).
    let expands_members = ctx
        .query
        .expand
        .as_deref()
        .is_some_and(|e| e == "members" || e.starts_with("members("));
    if expands_members {
        // Members are more than basic group properties.
        ctx.require(need::GROUP_MEMBER_READ)?;
    }
    let mut items = Vec::new();
    for group in ctx.tenant.groups.iter() {
        let Some(mut view) = group.view(ctx.now, true).cloned() else {
            continue;
        };
        if expands_members {
            let members = membership::expanded(ctx, group.members_seen(ctx.now, true));
            view.insert("members".into(), Value::Array(members));
        }
        items.push(view);
    }
    if ctx.query.expand.is_some() && !expands_members {
        return Err(error(
            400,
            "Request_BadRequest",
            "Only members can be expanded on groups.",
        ));
    }
    ctx.collection("groups", items, FILTERABLE)
}

/// The index of the group `key` names, as a point read sees it (404 while it replicates).
fn visible_index(ctx: &Ctx<'_>, key: &Key) -> Result<usize, Reply> {
    super::keyed_index(&ctx.tenant.groups, ctx.now, key, KEYS, "group")
}

/// The index of the group `key` names on the primary copy, replicated or not.
fn primary_index(ctx: &Ctx<'_>, key: &Key) -> Result<Option<usize>, Reply> {
    let (property, value) = match key {
        Key::Id(id) => ("id", id.as_str()),
        Key::Alternate(property, value) => (property.as_str(), value.as_str()),
    };
    if !KEYS.contains(&property) {
        return Err(bad_request(format!("'{property}' is not a key of group.")));
    }
    Ok(ctx.tenant.groups.iter().position(|g| {
        g.str(property)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    }))
}

/// `PATCH /groups(uniqueName='…')`: update, or create with `Prefer: create-if-missing`.
fn upsert(ctx: &mut Ctx<'_>, unique_name: &str, body: &[u8]) -> Res {
    ctx.require(need::GROUP_WRITE)?;
    // Uniqueness is enforced on the primary copy, so a retried upsert never makes a second
    // group, even while the first replicates.
    let key = Key::Alternate("uniqueName".into(), unique_name.into());
    if let Some(index) = primary_index(ctx, &key)? {
        update(ctx, index, body)?;
        return Ok(Reply::empty(204));
    }
    if !ctx.prefers_create_if_missing() {
        return Err(not_found(unique_name));
    }
    let body = ctx.body(body, "group")?;
    let data = new_group(ctx, unique_name, &body)?;
    ctx.tenant
        .groups
        .push(Obj::created(data.clone(), ctx.now, ctx.lag));
    ctx.wrote = true;
    let mut reply = ctx.entity(201, "groups", &data);
    reply
        .headers
        .push(("Preference-Applied", "create-if-missing".into()));
    Ok(reply)
}

/// A new security or Microsoft 365 group from `body` (already schema-checked).
fn new_group(
    ctx: &mut Ctx<'_>,
    unique_name: &str,
    body: &Value,
) -> Result<Map<String, Value>, Reply> {
    for property in REQUIRED_ON_CREATE {
        if body.get(*property).is_none_or(Value::is_null) {
            return Err(bad_request(format!(
                "A value is required for property '{property}' of resource 'Group'."
            )));
        }
    }
    let id = ctx.guid();
    let now = ctx.timestamp();
    let mut data = object(json!({
        "id": id,
        "deletedDateTime": null,
        "classification": null,
        "createdDateTime": now,
        "description": null,
        "displayName": null,
        "expirationDateTime": null,
        "groupTypes": [],
        "isAssignableToRole": null,
        "mail": null,
        "mailEnabled": false,
        "mailNickname": null,
        "membershipRule": null,
        "membershipRuleProcessingState": null,
        "onPremisesSyncEnabled": null,
        "preferredDataLocation": null,
        "preferredLanguage": null,
        "proxyAddresses": [],
        "renewedDateTime": now,
        "securityEnabled": false,
        "securityIdentifier": security_identifier(&id),
        "theme": null,
        "uniqueName": null,
        "visibility": null,
    }));
    if let Some(patch) = body.as_object() {
        if let Some(property) = READ_ONLY.iter().find(|p| patch.contains_key(**p)) {
            return Err(read_only(property));
        }
        merge(&mut data, patch);
    }
    data.insert("uniqueName".into(), json!(unique_name));
    check_values(&data)?;
    super::check_unique_name(&ctx.tenant.groups, &data, None)?;
    if data.get("mailEnabled") == Some(&json!(true)) {
        let nickname = data["mailNickname"].as_str().unwrap_or_default();
        let domain = ctx.tenant.domains.first().cloned().unwrap_or_default();
        let mail = format!("{nickname}@{domain}");
        data.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
        data.insert("mail".into(), json!(mail));
    }
    Ok(data)
}

/// `PATCH /groups/{id}` (and an upsert that finds its group): merges `body` in.
fn update(ctx: &mut Ctx<'_>, index: usize, body: &[u8]) -> Result<(), Reply> {
    let body = ctx.body(body, "group")?;
    let Some(patch) = body.as_object() else {
        return Err(bad_request("Invalid request body."));
    };
    let before = ctx.tenant.groups[index].data.clone();
    for property in READ_ONLY {
        if patch.contains_key(*property) && patch.get(*property) != before.get(*property) {
            return Err(read_only(property));
        }
    }
    let mut after = before.clone();
    merge(&mut after, patch);
    // group-update: uniqueName can be set only while it is null.
    if before.get("uniqueName").is_some_and(|v| !v.is_null())
        && after.get("uniqueName") != before.get("uniqueName")
    {
        return Err(bad_request(
            "Property 'uniqueName' cannot be changed once set.",
        ));
    }
    check_values(&after)?;
    super::check_unique_name(&ctx.tenant.groups, &after, Some(index))?;
    if after != before {
        let group = &mut ctx.tenant.groups[index];
        group.start_change(ctx.now, ctx.lag);
        group.data = after;
        ctx.wrote = true;
    }
    Ok(())
}

/// `DELETE /groups/{id}`: the group goes, and with it its place in other groups.
fn delete(ctx: &mut Ctx<'_>, key: &Key) -> Res {
    ctx.require(need::GROUP_WRITE)?;
    let index = visible_index(ctx, key)?;
    let removed = ctx.tenant.groups.remove(index);
    let (now, lag) = (ctx.now, ctx.lag);
    for group in ctx.tenant.groups.iter_mut() {
        if group.hidden.members.iter().any(|m| m == removed.id()) {
            group.start_change(now, lag);
            group.hidden.members.retain(|m| m != removed.id());
        }
    }
    ctx.wrote = true;
    Ok(Reply::empty(204))
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`.
fn add_member(ctx: &mut Ctx<'_>, key: &Key, body: &[u8]) -> Res {
    ctx.require(need::GROUP_MEMBER_WRITE)?;
    let body = ctx.body(body, "directoryObject")?;
    let member_id = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .and_then(referenced_id)
        .ok_or_else(|| bad_request(UNSUPPORTED_REFERENCE))?;
    let index = primary_index(ctx, key)?.ok_or_else(|| not_found(key.describe()))?;
    let member_visible = match directory_object(ctx, &member_id) {
        None => return Err(not_found(&member_id)),
        Some(member) => member.visible(ctx.now),
    };
    if !ctx.tenant.groups[index].visible(ctx.now) || !member_visible {
        return Err(bad_request(NOT_REPLICATED_YET));
    }
    let group = &mut ctx.tenant.groups[index];
    if group.hidden.members.contains(&member_id) {
        return Err(bad_request(DUPLICATE_MEMBER));
    }
    group.start_change(ctx.now, ctx.lag);
    group.hidden.members.push(member_id);
    ctx.wrote = true;
    Ok(Reply::empty(204))
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`.
fn remove_member(ctx: &mut Ctx<'_>, key: &Key, member_id: &str) -> Res {
    ctx.require(need::GROUP_MEMBER_WRITE)?;
    let index = visible_index(ctx, key)?;
    let group = &mut ctx.tenant.groups[index];
    let Some(position) = group.hidden.members.iter().position(|m| m == member_id) else {
        return Err(not_found(member_id));
    };
    group.start_change(ctx.now, ctx.lag);
    group.hidden.members.remove(position);
    ctx.wrote = true;
    Ok(Reply::empty(204))
}

/// The object id at the end of an `@odata.id` such as
/// `https://graph.microsoft.com/v1.0/directoryObjects/{id}` (or `users/{id}`, `groups/{id}`).
fn referenced_id(reference: &str) -> Option<String> {
    let path = reference.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let [.., set, id] = segments.as_slice() else {
        return None;
    };
    let known = matches!(
        *set,
        "directoryObjects" | "users" | "groups" | "servicePrincipals"
    );
    (known && uuid::Uuid::parse_str(id).is_ok()).then(|| id.to_ascii_lowercase())
}

/// A user, group or service principal of the tenant by object id, replicated or not.
fn directory_object<'t>(ctx: &'t Ctx<'_>, id: &str) -> Option<&'t Obj> {
    let tenant = &*ctx.tenant;
    [&tenant.users, &tenant.groups, &tenant.service_principals]
        .into_iter()
        .flat_map(|objs| objs.iter())
        .find(|o| o.id().eq_ignore_ascii_case(id))
}

fn read_only(property: &str) -> Reply {
    bad_request(format!(
        "Property '{property}' is read-only and cannot be set."
    ))
}

/// What Graph checks of a group's names (group resource: displayName at most 256 characters,
/// mailNickname at most 64 ASCII characters without `@ () \ [] " ; : <> ,` or spaces).
fn check_values(data: &Map<String, Value>) -> Result<(), Reply> {
    let invalid = |property: &str| {
        bad_request(format!(
            "Invalid value specified for property '{property}' of resource 'Group'."
        ))
    };
    let display_name = data
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if display_name.trim().is_empty() || display_name.chars().count() > 256 {
        return Err(invalid("displayName"));
    }
    let nickname = data
        .get("mailNickname")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bad_char = |c: char| !c.is_ascii() || c.is_ascii_control() || "@()\\[]\";:<>, ".contains(c);
    if nickname.is_empty() || nickname.len() > 64 || nickname.chars().any(bad_char) {
        return Err(invalid("mailNickname"));
    }
    Ok(())
}

/// The on-premises style SID Entra gives a cloud group: `S-1-12-1-` and the object id's
/// four 32-bit little-endian words.
fn security_identifier(id: &str) -> Value {
    let Ok(uuid) = uuid::Uuid::parse_str(id) else {
        return Value::Null;
    };
    let words: Vec<String> = uuid
        .to_bytes_le()
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    json!(format!("S-1-12-1-{}", words.join("-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_a_directory_object_by_id() {
        let id = "8a7c50d3-fcbd-4727-a889-8ab232dfea01";
        for set in ["directoryObjects", "users", "groups", "servicePrincipals"] {
            assert_eq!(
                referenced_id(&format!("https://graph.microsoft.com/v1.0/{set}/{id}")),
                Some(id.to_string())
            );
        }
        assert_eq!(
            referenced_id(&format!(
                "https://graph.microsoft.com/v1.0/directoryObjects/{id}/"
            )),
            Some(id.to_string())
        );
        assert_eq!(referenced_id(id), None);
        assert_eq!(
            referenced_id("https://graph.microsoft.com/v1.0/directoryObjects/not-a-guid"),
            None
        );
        assert_eq!(
            referenced_id(&format!(
                "https://graph.microsoft.com/v1.0/applications/{id}"
            )),
            None
        );
    }

    #[test]
    fn group_names_follow_graph_rules() {
        let group = |name: &str, nickname: &str| {
            object(json!({"displayName": name, "mailNickname": nickname}))
        };
        assert!(check_values(&group("Pilot", "pilot-users")).is_ok());
        assert!(check_values(&group("", "pilot")).is_err());
        assert!(check_values(&group("Pilot", "pilot users")).is_err());
        assert!(check_values(&group("Pilot", "pilot@contoso")).is_err());
        assert!(check_values(&group("Pilot", &"n".repeat(65))).is_err());
        assert!(check_values(&group(&"d".repeat(257), "pilot")).is_err());
    }

    #[test]
    fn security_identifiers_are_derived_from_the_id() {
        assert_eq!(
            security_identifier("00000001-0002-0003-0405-060708090a0b"),
            json!("S-1-12-1-1-196610-117835012-185207048")
        );
    }
}
