//! Security groups entra-mail keeps (`[[groups]]`), such as the Conditional Access pilot group:
//! made by upsert on Graph's `uniqueName` alternate key, their members exactly the configured
//! users. A group is ours by that key; one made by hand needs `--adopt`, which sets our key on
//! it. Destroy removes only the groups the ownership record says entra-mail made.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{Desired, DesiredGroup};
use crate::graph::{odata, GraphClient, GraphError, Request};
use crate::kind::{
    Action, Address, ApplyContext, ApplyError, AttributeChange, DestroyDraft, LivePart,
    ManagedKind, Operation, PlanDraft, PlanError, PlannedMembers, Promise, Reader, ResourceChange,
};
use crate::live::{LiveState, Member};
use crate::ownership::Entry;
use crate::preflight::{need, Need};

pub const KIND: &str = "group";
pub const MEMBER_KIND: &str = "group_member";
const SELECT: &str = "id,displayName,uniqueName";

fn address(group: &DesiredGroup) -> Address {
    Address::new(KIND, group.unique_name.clone())
}

fn member_address(group: &DesiredGroup, upn: &str) -> Address {
    Address::new(MEMBER_KIND, format!("{}.{upn}", group.unique_name))
}

/// A group as Graph gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub display_name: Option<String>,
    pub unique_name: Option<String>,
}

/// A directory object by id, with a user's name when it is one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub id: String,
    pub user_principal_name: Option<String>,
    /// Read for configured members: the lockout guard judges whether they may sign in.
    pub account_enabled: Option<bool>,
}

/// What the tenant holds for one configured group.
#[derive(Debug, Clone, Default)]
pub struct LiveGroup {
    /// The group carrying our `uniqueName`.
    pub ours: Option<Group>,
    /// Groups with the configured display name that do not carry our key.
    pub named: Vec<Group>,
    /// The members of `ours`, or of the one group named like it (which `--adopt` takes over).
    pub members: Vec<Principal>,
    /// Each configured member: its user, when the name resolves.
    pub users: Vec<(String, Option<Principal>)>,
}

/// The live state of every configured group, in config order.
#[derive(Debug, Clone, Default)]
pub struct LiveGroups(pub Vec<LiveGroup>);

/// Groups the record says entra-mail made that the config no longer names (read for destroy).
#[derive(Debug, Clone, Default)]
pub struct RecordedGroups(pub Vec<Group>);

/// Why a group cannot be planned. Nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("a group named `{name}` already exists ({id}) without our uniqueName, so it is not entra-mail's; nothing was written. Pass --adopt to take it over (it gets uniqueName `{unique_name}`, and its members are set to the config's), or rename it")]
    NotOurs {
        name: String,
        id: String,
        unique_name: String,
    },
    #[error("{} groups are named `{name}` without our uniqueName ({}); entra-mail cannot tell which to adopt: delete or rename all but one", ids.len(), ids.join(", "))]
    SeveralCandidates { name: String, ids: Vec<String> },
    #[error("group `{name}` ({id}) already has uniqueName `{other}`, which Graph never changes, so it cannot become `{unique_name}`; rename the group, or set groups.unique_name to `{other}`")]
    OtherKey {
        name: String,
        id: String,
        other: String,
        unique_name: String,
    },
    #[error("member `{upn}` of group `{group}` does not exist in the tenant; nothing was written (a group's members are never set with a name left out)")]
    MemberNotFound { upn: String, group: String },
}

/// The groups kind.
pub struct GroupKind;

#[async_trait::async_trait]
impl ManagedKind for GroupKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn needs(&self, desired: &Desired) -> Vec<Need> {
        if desired.groups.is_empty() {
            return Vec::new();
        }
        vec![
            // Directory.ReadWrite.All cannot delete groups, so destroy would stop at one.
            need(
                "create, update and delete groups",
                &[&["Group.ReadWrite.All"]],
            ),
            need(
                "add and remove group members",
                &[
                    &["GroupMember.ReadWrite.All"],
                    &["Group.ReadWrite.All"],
                    &["Directory.ReadWrite.All"],
                ],
            ),
            need(
                "resolve group members' user names",
                &[
                    &["User.ReadBasic.All"],
                    &["User.Read.All"],
                    &["Directory.Read.All"],
                ],
            ),
        ]
    }

    async fn read(&self, reader: &Reader<'_>) -> Result<Option<LivePart>, GraphError> {
        if reader.desired.groups.is_empty() {
            return Ok(None);
        }
        let groups = futures::future::join_all(
            reader
                .desired
                .groups
                .iter()
                .map(|group| read_group(reader.client, group)),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Box::new(move |live: &mut LiveState| {
            live.parts.put(LiveGroups(groups));
        })))
    }

    /// Groups the record says we made that the config no longer names: destroy removes them
    /// too, so dropping a `[[groups]]` entry before a destroy leaks nothing.
    async fn read_for_destroy(
        &self,
        reader: &Reader<'_>,
        live: &mut LiveState,
    ) -> Result<(), GraphError> {
        let configured: Vec<String> = live
            .parts
            .get::<LiveGroups>()
            .map(|groups| {
                groups
                    .0
                    .iter()
                    .filter_map(|g| g.ours.as_ref().map(|o| o.id.to_ascii_lowercase()))
                    .collect()
            })
            .unwrap_or_default();
        let recorded: Vec<&String> = live
            .record
            .made
            .iter()
            .filter(|(kind, id)| kind == KIND && !configured.contains(id))
            .map(|(_, id)| id)
            .collect();
        if recorded.is_empty() {
            return Ok(());
        }
        let found = futures::future::join_all(recorded.iter().map(|id| {
            let request = Request::get(format!("groups/{id}")).query("$select", SELECT);
            async move { reader.client.send_optional::<Group>(&request).await }
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        live.parts
            .put(RecordedGroups(found.into_iter().flatten().collect()));
        Ok(())
    }

    /// A group named like ours that is not ours, or a member that does not resolve, stops the
    /// plan before anything is written.
    fn check(&self, draft: &PlanDraft<'_>) -> Result<(), PlanError> {
        for (group, live) in configured(draft.desired, draft.live) {
            if live.ours.is_none() {
                match live.named.as_slice() {
                    [] => {}
                    [one] if one.unique_name.is_some() => {
                        return Err(PlanError::refused(GroupError::OtherKey {
                            name: group.display_name.clone(),
                            id: one.id.clone(),
                            other: one.unique_name.clone().unwrap_or_default(),
                            unique_name: group.unique_name.clone(),
                        }))
                    }
                    [one] if !draft.options.adopt => {
                        return Err(PlanError::refused(GroupError::NotOurs {
                            name: group.display_name.clone(),
                            id: one.id.clone(),
                            unique_name: group.unique_name.clone(),
                        }))
                    }
                    [_] => {}
                    several => {
                        return Err(PlanError::refused(GroupError::SeveralCandidates {
                            name: group.display_name.clone(),
                            ids: several.iter().map(|g| g.id.clone()).collect(),
                        }))
                    }
                }
            }
            if let Some((upn, _)) = live.users.iter().find(|(_, user)| user.is_none()) {
                return Err(PlanError::refused(GroupError::MemberNotFound {
                    upn: upn.clone(),
                    group: group.display_name.clone(),
                }));
            }
        }
        Ok(())
    }

    fn plan(&self, draft: &mut PlanDraft<'_>) -> Result<(), PlanError> {
        let desired = draft.desired;
        let live = draft.live;
        let mut planned = draft.facts.take::<PlannedMembers>().unwrap_or_default();
        for (group, found) in configured(desired, live) {
            let (change, group_id) = group_change(desired, group, found);
            if let Some(change) = change {
                // Other kinds (the policy's pilot and emergency-access groups) may name it
                // by its configured name before it exists, or before the rename.
                draft.promised.push(Promise {
                    object: KIND,
                    display_name: group.display_name.clone(),
                    address: change.address.clone(),
                    id: group_id.clone(),
                });
                draft.changes.push(change);
            }
            draft
                .changes
                .extend(member_changes(group, found, group_id.as_deref()));
            planned
                .0
                .push((group.display_name.clone(), members_after(found)));
        }
        draft.facts.put(planned);
        Ok(())
    }

    /// Groups the record says entra-mail made go, after everything planned before them (the
    /// policies that name them). A group we adopted, or whose record entry is missing, stays.
    fn destroy(&self, draft: &mut DestroyDraft<'_>) {
        let (desired, live) = (draft.desired, draft.live);
        for (group, found) in configured(desired, live) {
            let Some(ours) = &found.ours else {
                continue;
            };
            if !live.record.made(KIND, &ours.id) {
                draft.warnings.push(format!(
                    "group `{}` ({}) carries our uniqueName but the record does not say entra-mail made it (it was adopted, or its record entry was lost); left alone",
                    group.display_name, ours.id
                ));
                continue;
            }
            let change = delete_change(draft, address(group), ours, "");
            draft.changes.push(change);
        }
        let recorded = live
            .parts
            .get::<RecordedGroups>()
            .map_or(&[][..], |g| &g.0[..]);
        for made in recorded.iter().filter(|g| live.record.made(KIND, &g.id)) {
            let name = made.unique_name.clone().unwrap_or_else(|| made.id.clone());
            let change = delete_change(
                draft,
                Address::new(KIND, name),
                made,
                "; the config no longer names it",
            );
            draft.changes.push(change);
        }
    }
}

/// The delete of a group the record says entra-mail made, after every delete planned before
/// it (the policies that name it); `why` adds to the reason.
fn delete_change(draft: &DestroyDraft<'_>, at: Address, made: &Group, why: &str) -> ResourceChange {
    let mut change = ResourceChange::new(
        at,
        Action::Delete,
        Op::Delete {
            id: made.id.clone(),
        },
    );
    change.before = json!({"id": made.id, "display_name": made.display_name});
    change.reason = Some(format!("made by entra-mail, as its record says{why}"));
    change.depends_on = draft.changes.iter().map(|c| c.address.clone()).collect();
    change
}

/// The group's members once the plan has run: exactly the configured users.
fn members_after(found: &LiveGroup) -> Vec<Member> {
    found
        .users
        .iter()
        .filter_map(|(_, user)| user.as_ref())
        .map(|user| Member {
            id: user.id.clone(),
            user_principal_name: user.user_principal_name.clone(),
            account_enabled: user.account_enabled,
        })
        .collect()
}

/// Each configured group with what the tenant holds for it.
fn configured<'a>(
    desired: &'a Desired,
    live: &'a LiveState,
) -> impl Iterator<Item = (&'a DesiredGroup, &'a LiveGroup)> {
    let found = live.parts.get::<LiveGroups>().map_or(&[][..], |g| &g.0[..]);
    desired.groups.iter().zip(found)
}

/// The group's own change (create, adopt or rename), and its id when it exists.
fn group_change(
    desired: &Desired,
    group: &DesiredGroup,
    found: &LiveGroup,
) -> (Option<ResourceChange>, Option<String>) {
    let wanted = json!({"display_name": group.display_name});
    if let Some(ours) = &found.ours {
        let current = json!({"display_name": ours.display_name});
        if current == wanted {
            return (None, Some(ours.id.clone()));
        }
        let mut change = ResourceChange::new(
            address(group),
            Action::Update,
            Op::Update {
                id: ours.id.clone(),
                body: json!({"displayName": group.display_name}),
            },
        );
        change.before = current.clone();
        change.after = wanted.clone();
        change.attributes = vec![AttributeChange {
            name: "display_name".into(),
            before: current["display_name"].clone(),
            after: wanted["display_name"].clone(),
        }];
        return (Some(change), Some(ours.id.clone()));
    }
    if let [portal] = found.named.as_slice() {
        let mut change = ResourceChange::new(
            address(group),
            Action::Adopt,
            Op::Adopt {
                id: portal.id.clone(),
                body: json!({"uniqueName": group.unique_name, "displayName": group.display_name}),
            },
        );
        change.before = json!({"id": portal.id, "display_name": portal.display_name});
        change.after =
            json!({"unique_name": group.unique_name, "display_name": group.display_name});
        change.reason = Some(format!(
            "made outside entra-mail ({}); taken over with --adopt",
            portal.id
        ));
        return (Some(change), Some(portal.id.clone()));
    }
    let mut change = ResourceChange::new(
        address(group),
        Action::Create,
        Op::Create {
            unique_name: group.unique_name.clone(),
            body: json!({
                "displayName": group.display_name,
                "mailEnabled": false,
                "mailNickname": group.unique_name,
                "securityEnabled": true,
            }),
        },
    );
    change.after = json!({"unique_name": group.unique_name, "display_name": group.display_name, "security_enabled": true});
    change.attributes = vec![AttributeChange {
        name: "display_name".into(),
        before: Value::Null,
        after: json!(group.display_name),
    }];
    // Recorded on the app as made by entra-mail, so the app must exist first.
    change.depends_on = vec![Address::application(desired)];
    (Some(change), None)
}

/// Adds for configured members the group lacks, removals for members it should not have.
fn member_changes(
    group: &DesiredGroup,
    found: &LiveGroup,
    group_id: Option<&str>,
) -> Vec<ResourceChange> {
    let group_address = address(group);
    let mut changes = Vec::new();
    for (upn, user) in &found.users {
        let Some(user) = user else { continue };
        if found
            .members
            .iter()
            .any(|m| m.id.eq_ignore_ascii_case(&user.id))
        {
            continue;
        }
        let mut change = ResourceChange::new(
            member_address(group, upn),
            Action::Create,
            Op::AddMember {
                group: group_address.clone(),
                group_id: group_id.map(String::from),
                member_id: user.id.clone(),
            },
        );
        change.after = json!({"group": group.display_name, "member": upn});
        change.depends_on = vec![group_address.clone()];
        changes.push(change);
    }
    for member in &found.members {
        let wanted = found.users.iter().any(|(_, u)| {
            u.as_ref()
                .is_some_and(|u| u.id.eq_ignore_ascii_case(&member.id))
        });
        if wanted {
            continue;
        }
        let name = member
            .user_principal_name
            .clone()
            .unwrap_or_else(|| member.id.clone())
            .to_ascii_lowercase();
        let mut change = ResourceChange::new(
            member_address(group, &name),
            Action::Delete,
            Op::RemoveMember {
                group_id: group_id.unwrap_or_default().to_string(),
                member_id: member.id.clone(),
            },
        );
        change.before = json!({"group": group.display_name, "member": name});
        change.reason = Some("not a configured member".into());
        // Never before the group is ours: an adoption that fails leaves a group we do not
        // own untouched.
        change.depends_on = vec![group_address.clone()];
        changes.push(change);
    }
    changes
}

/// The group with our key, groups with the configured name, the members, and each configured
/// member's user: one wave, then the members of the group that is (or will be) ours.
async fn read_group(client: &GraphClient, group: &DesiredGroup) -> Result<LiveGroup, GraphError> {
    let by_key = Request::get(odata::by_key("groups", "uniqueName", &group.unique_name))
        .query("$select", SELECT);
    let named = Request::get("groups")
        .query("$filter", odata::eq("displayName", &group.display_name))
        .query("$select", SELECT);
    let users = futures::future::join_all(group.members.iter().map(|upn| async move {
        let request = Request::get(format!(
            "users/{}",
            percent_encoding::utf8_percent_encode(upn, percent_encoding::NON_ALPHANUMERIC)
        ))
        .query("$select", "id,userPrincipalName,accountEnabled");
        let user = client.send_optional::<Principal>(&request).await?;
        Ok::<_, GraphError>((upn.clone(), user))
    }));
    let (ours, named, users) = tokio::join!(
        client.send_optional::<Group>(&by_key),
        client.list::<Group>(named),
        users
    );
    let named = named?;
    // Under replication lag the list may show our group before the key finds it.
    let ours = ours?.or_else(|| {
        named
            .iter()
            .find(|g| {
                g.unique_name
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&group.unique_name))
            })
            .cloned()
    });
    let our_id = ours.as_ref().map(|g| g.id.clone());
    let named: Vec<Group> = named
        .into_iter()
        .filter(|g| Some(&g.id) != our_id.as_ref())
        .collect();
    // The group that will be ours: the one with our key, or the one `--adopt` takes over.
    let kept = match (&ours, named.as_slice()) {
        (Some(group), _) | (None, [group]) => Some(group),
        _ => None,
    };
    let members = match kept {
        Some(group) => {
            client
                .list::<Principal>(
                    Request::get(format!("groups/{}/members", group.id))
                        .query("$select", "id,userPrincipalName"),
                )
                .await?
        }
        None => Vec::new(),
    };
    Ok(LiveGroup {
        ours,
        named,
        members,
        users: users.into_iter().collect::<Result<_, _>>()?,
    })
}

/// What apply does to a group.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `PATCH /groups(uniqueName=…)` with `Prefer: create-if-missing`, then the record entry
    /// that says entra-mail made it.
    Create {
        unique_name: String,
        body: Value,
    },
    /// `PATCH /groups/{id}`: our key and name on a group made by hand (`--adopt`).
    Adopt {
        id: String,
        body: Value,
    },
    Update {
        id: String,
        body: Value,
    },
    Delete {
        id: String,
    },
    /// `POST /groups/{id}/members/$ref`; the group's id is learned when this run made it.
    AddMember {
        group: Address,
        group_id: Option<String>,
        member_id: String,
    },
    RemoveMember {
        group_id: String,
        member_id: String,
    },
}

#[async_trait::async_trait]
impl Operation for Op {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
        match self {
            Op::Create { unique_name, body } => create(ctx, unique_name, body).await,
            Op::Adopt { id, body } | Op::Update { id, body } => {
                let request = Request::patch(format!("groups/{id}"), body.clone());
                ctx.client.send(&request).await?;
                Ok(())
            }
            Op::Delete { id } => Ok(ctx.delete_if_present(&format!("groups/{id}")).await?),
            Op::AddMember {
                group,
                group_id,
                member_id,
            } => {
                let id = group_id
                    .clone()
                    .or_else(|| ctx.learned_id(group))
                    .ok_or(ApplyError::Missing("the group's id"))?;
                add_member(ctx, &id, member_id).await
            }
            Op::RemoveMember {
                group_id,
                member_id,
            } => {
                let path = format!("groups/{group_id}/members/{member_id}/$ref");
                Ok(ctx.delete_if_present(&path).await?)
            }
        }
    }
}

/// The upsert; a new group (`201`) is recorded as made by entra-mail at once. A `204` means
/// another run (or a lost answer) made it: its id is read back, and it is not recorded here.
async fn create(ctx: &ApplyContext<'_>, unique_name: &str, body: &Value) -> Result<(), ApplyError> {
    let path = odata::by_key("groups", "uniqueName", unique_name);
    let response = ctx
        .client
        .send(&Request::patch(&path, body.clone()).header("Prefer", "create-if-missing"))
        .await?;
    let address = Address::new(KIND, unique_name);
    if response.status == 201 {
        let made: Group = response.json()?;
        ctx.learn(&address, made.id.clone());
        return ctx.record(Entry::Made(KIND.into(), made.id)).await;
    }
    let found: Group = ctx
        .retry_while_replicating(
            "the group",
            |e| e.status() == Some(404),
            || ctx.client.get::<Group>(&path),
        )
        .await?;
    ctx.learn(&address, found.id);
    Ok(())
}

/// Adds a member. Graph answers 400 both for a member already there and for a group it does
/// not know yet (a new one still replicating), telling them apart only in English: so a 400
/// is judged from the tenant instead. The group not readable yet: lag, waited out like a 404.
/// Otherwise the member must show in the group's list, which lags behind writes, within
/// [`crate::ownership::INTENT_SETTLE`]; if it never does, the refusal is the error.
async fn add_member(
    ctx: &ApplyContext<'_>,
    group_id: &str,
    member_id: &str,
) -> Result<(), ApplyError> {
    let reference = ctx
        .client
        .base_url()
        .join(&format!("directoryObjects/{member_id}"))
        .map_err(|_| ApplyError::Missing("a member reference"))?;
    let body = json!({"@odata.id": reference.as_str()});
    let request = Request::post(format!("groups/{group_id}/members/$ref"), body);
    let refused = ctx
        .retry_while_replicating(
            "the new group",
            |e| e.status() == Some(404),
            || async {
                match ctx.client.send(&request).await {
                    Ok(_) => Ok(None),
                    Err(refused) if refused.status() == Some(400) => {
                        match member_state(ctx.client, group_id, member_id).await? {
                            MemberState::GroupNotYetReadable(not_found) => Err(not_found),
                            MemberState::Member => Ok(None),
                            MemberState::NotMember => Ok(Some(refused)),
                        }
                    }
                    Err(other) => Err(other),
                }
            },
        )
        .await?;
    let Some(refused) = refused else {
        return Ok(());
    };
    let listed = ctx
        .poll_for(
            "the group's members",
            crate::ownership::INTENT_SETTLE,
            || async {
                let state = member_state(ctx.client, group_id, member_id).await?;
                Ok::<_, GraphError>(matches!(state, MemberState::Member).then_some(()))
            },
        )
        .await?;
    match listed {
        Some(()) => Ok(()),
        None => Err(refused.into()),
    }
}

/// What the tenant says of a member after a refused add.
enum MemberState {
    Member,
    NotMember,
    GroupNotYetReadable(GraphError),
}

async fn member_state(
    client: &GraphClient,
    group_id: &str,
    member_id: &str,
) -> Result<MemberState, GraphError> {
    let request = Request::get(format!("groups/{group_id}/members")).query("$select", "id");
    match client.list::<Principal>(request).await {
        Ok(members) if members.iter().any(|m| m.id.eq_ignore_ascii_case(member_id)) => {
            Ok(MemberState::Member)
        }
        Ok(_) => Ok(MemberState::NotMember),
        Err(e) if e.status() == Some(404) => Ok(MemberState::GroupNotYetReadable(e)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(name: &str) -> Principal {
        Principal {
            id: format!("id-{name}"),
            user_principal_name: Some(format!("{name}@contoso.com")),
            account_enabled: Some(true),
        }
    }

    /// The members a plan adds and removes, as `+name` / `-name`.
    fn member_plan(wanted: &[&str], live: &[&str], group_exists: bool) -> Vec<String> {
        let group = DesiredGroup {
            unique_name: "pilot".into(),
            display_name: "Pilot".into(),
            members: wanted.iter().map(|n| format!("{n}@contoso.com")).collect(),
        };
        let found = LiveGroup {
            ours: group_exists.then(|| Group {
                id: "g".into(),
                ..Group::default()
            }),
            members: live.iter().map(|n| principal(n)).collect(),
            users: wanted
                .iter()
                .map(|n| (format!("{n}@contoso.com"), Some(principal(n))))
                .collect(),
            ..LiveGroup::default()
        };
        member_changes(&group, &found, group_exists.then_some("g"))
            .iter()
            .map(|c| {
                let sign = if c.action == Action::Create { "+" } else { "-" };
                let name = c.address.name().trim_start_matches("pilot.");
                format!("{sign}{}", name.trim_end_matches("@contoso.com"))
            })
            .collect()
    }

    #[test]
    fn members_become_exactly_the_configured_users() {
        // (name, configured, live members, group exists, expected)
        type Row<'a> = (&'a str, &'a [&'a str], &'a [&'a str], bool, &'a [&'a str]);
        let rows: &[Row] = &[
            (
                "a new group gets every member",
                &["alice", "bob"],
                &[],
                false,
                &["+alice", "+bob"],
            ),
            (
                "members in place change nothing",
                &["alice", "bob"],
                &["bob", "alice"],
                true,
                &[],
            ),
            (
                "a missing member is added",
                &["alice", "bob"],
                &["alice"],
                true,
                &["+bob"],
            ),
            (
                "a member not configured is removed",
                &["alice"],
                &["alice", "mallory"],
                true,
                &["-mallory"],
            ),
            (
                "an empty list empties the group",
                &[],
                &["alice"],
                true,
                &["-alice"],
            ),
            ("swap", &["carol"], &["bob"], true, &["+carol", "-bob"]),
        ];
        for (name, wanted, live, exists, expected) in rows {
            assert_eq!(member_plan(wanted, live, *exists), *expected, "{name}");
        }
    }

    #[test]
    fn a_member_add_of_a_new_group_waits_for_the_group() {
        let group = DesiredGroup {
            unique_name: "pilot".into(),
            display_name: "Pilot".into(),
            members: vec!["alice@contoso.com".into()],
        };
        let found = LiveGroup {
            users: vec![("alice@contoso.com".into(), Some(principal("alice")))],
            ..LiveGroup::default()
        };
        let changes = member_changes(&group, &found, None);
        assert_eq!(changes[0].depends_on, vec![address(&group)]);
        // A removal waits for the group to be ours too (an adoption may fail).
        let found = LiveGroup {
            members: vec![principal("mallory")],
            ..LiveGroup::default()
        };
        let removal = &member_changes(&group, &found, Some("g"))[0];
        assert_eq!(removal.action, Action::Delete);
        assert_eq!(removal.depends_on, vec![address(&group)]);
        assert!(matches!(
            changes[0].operation_as::<Op>(),
            Some(Op::AddMember { group_id: None, .. })
        ));
    }
}
