//! Who a policy reaches, as it will stand: the users through each group (read transitively),
//! the users named directly, who is excluded, and what that means for the person running
//! this and for members with no multi-factor method registered.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::render::Resolution;
use crate::live::{LiveConditionalAccess, MfaRegistration};

/// Lowercase strings of the list at `pointer`.
pub fn strings_at(policy: &Value, pointer: &str) -> BTreeSet<String> {
    policy
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Whether the users condition reaches every user: `includeUsers` holds `All`, in any case.
pub fn reaches_everyone(policy: &Value) -> bool {
    strings_at(policy, "/conditions/users/includeUsers").contains("all")
}

/// The users condition of a policy, with groups expanded to their users.
pub struct Audience {
    pub everyone: bool,
    /// Users named in `includeUsers` (keywords left out).
    pub direct: BTreeSet<String>,
    /// Each included group's id and its users (`None`: not read, or gone).
    pub groups: Vec<(String, Option<BTreeSet<String>>)>,
    /// Users excluded directly or through `excludeGroups`.
    pub excluded: BTreeSet<String>,
    /// Included and not excluded (without `All`: the known ones).
    pub reached: BTreeSet<String>,
}

impl Audience {
    pub fn of(policy: &Value, live: &LiveConditionalAccess) -> Self {
        let users_of = |group: &String| -> Option<BTreeSet<String>> {
            live.users_in(group)
                .map(|members| members.iter().map(|m| m.id.to_ascii_lowercase()).collect())
        };
        let keywords = ["all", "none", "guestsorexternalusers"];
        let direct: BTreeSet<String> = strings_at(policy, "/conditions/users/includeUsers")
            .into_iter()
            .filter(|u| !keywords.contains(&u.as_str()))
            .collect();
        let groups: Vec<(String, Option<BTreeSet<String>>)> =
            strings_at(policy, "/conditions/users/includeGroups")
                .into_iter()
                .map(|g| {
                    let users = users_of(&g);
                    (g, users)
                })
                .collect();
        let mut excluded = strings_at(policy, "/conditions/users/excludeUsers");
        for group in strings_at(policy, "/conditions/users/excludeGroups") {
            excluded.extend(users_of(&group).into_iter().flatten());
        }
        let reached = direct_and_grouped(&direct, &groups)
            .filter(|u| !excluded.contains(*u))
            .cloned()
            .collect();
        Self {
            everyone: reaches_everyone(policy),
            direct,
            groups,
            excluded,
            reached,
        }
    }

    /// Whether `user` (a lowercase id) is inside the policy.
    pub fn reaches(&self, user: &str) -> bool {
        !self.excluded.contains(user) && (self.everyone || self.reached.contains(user))
    }
}

/// Users included directly or through a group, with repeats.
fn direct_and_grouped<'a>(
    direct: &'a BTreeSet<String>,
    groups: &'a [(String, Option<BTreeSet<String>>)],
) -> impl Iterator<Item = &'a String> + 'a {
    direct
        .iter()
        .chain(groups.iter().flat_map(|(_, users)| users.iter().flatten()))
}

/// The users one included group brings in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupReach {
    /// `name (id)`.
    pub group: String,
    /// `None`: its members could not be read.
    pub users: Option<usize>,
}

/// How many users a policy will reach, for the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    pub policy: String,
    /// `includeUsers` holds `All`: every user but the excluded.
    pub all_users: bool,
    /// Distinct users reached, exclusions taken off (with `all_users`: unknown, 0).
    pub users: usize,
    /// Users through each included group.
    pub through_groups: Vec<GroupReach>,
    pub named_directly: usize,
    /// Users the exclusions take off.
    pub excluded: usize,
}

impl Reach {
    pub fn of(policy: &str, audience: &Audience, resolution: &Resolution) -> Self {
        let included: BTreeSet<&String> =
            direct_and_grouped(&audience.direct, &audience.groups).collect();
        let excluded = if audience.everyone {
            audience.excluded.len()
        } else {
            included
                .iter()
                .filter(|u| audience.excluded.contains(**u))
                .count()
        };
        Self {
            policy: policy.to_string(),
            all_users: audience.everyone,
            users: if audience.everyone {
                0
            } else {
                audience.reached.len()
            },
            through_groups: audience
                .groups
                .iter()
                .map(|(id, users)| GroupReach {
                    group: resolution.label_of(id),
                    users: users.as_ref().map(BTreeSet::len),
                })
                .collect(),
            named_directly: audience.direct.len(),
            excluded,
        }
    }

    /// One line for the plan's text.
    pub fn sentence(&self) -> String {
        let mut parts: Vec<String> = self
            .through_groups
            .iter()
            .map(|g| match g.users {
                Some(n) => format!("{n} through {}", g.group),
                None => format!(
                    "an unknown number through {} (its members could not be read)",
                    g.group
                ),
            })
            .collect();
        if self.named_directly > 0 {
            parts.push(format!("{} named directly", self.named_directly));
        }
        let whom = if self.all_users {
            "every user".to_string()
        } else {
            format!("{} {}", self.users, plural(self.users, "user", "users"))
        };
        let how = if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(", "))
        };
        format!(
            "`{}` will reach {whom}{how}; {} excluded",
            self.policy, self.excluded
        )
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Names shown in a warning before "and N more".
const NAMES_SHOWN: usize = 10;

/// What the reach means for people: empty pilot groups, the person running this, and
/// members with no multi-factor method registered.
pub fn warnings(
    policy_name: &str,
    pilot_groups: &[String],
    enforced: bool,
    audience: &Audience,
    live: &LiveConditionalAccess,
    resolution: &Resolution,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for name in pilot_groups {
        let empty = resolution
            .group_id(name)
            .and_then(|id| live.users_in(&id))
            .is_some_and(|m| m.is_empty());
        if empty {
            warnings.push(format!(
                "pilot group `{name}` has no members: `{policy_name}` applies to nobody yet"
            ));
        }
    }
    if let Some(me) = live
        .caller
        .object_id
        .as_ref()
        .filter(|_| live.caller.delegated)
        .map(|id| id.to_ascii_lowercase())
    {
        if audience.reaches(&me) {
            let who = live.caller.name.clone().unwrap_or_else(|| me.clone());
            warnings.push(format!(
                "you ({who}) are inside `{policy_name}`'s users: {}",
                if enforced { "once it is enabled, you too will need multi-factor authentication for what it targets" } else { "it will apply to you when it is enabled" }
            ));
        }
    }
    warnings.extend(mfa_warning(policy_name, audience, &live.mfa));
    warnings
}

fn mfa_warning(policy_name: &str, audience: &Audience, mfa: &MfaRegistration) -> Option<String> {
    match mfa {
        MfaRegistration::NotRead => None,
        MfaRegistration::Unreadable(why) => Some(format!(
            "could not check whether the users `{policy_name}` reaches have a multi-factor method registered: {why}"
        )),
        MfaRegistration::Unregistered(unregistered) => {
            let missing: BTreeMap<&String, &String> = unregistered
                .iter()
                .filter(|(id, _)| audience.reaches(id))
                .collect();
            if missing.is_empty() {
                return None;
            }
            let mut names: Vec<&str> = missing.values().map(|upn| upn.as_str()).collect();
            names.sort_unstable();
            let more = names.len().saturating_sub(NAMES_SHOWN);
            names.truncate(NAMES_SHOWN);
            Some(format!(
                "{} {} `{policy_name}` reaches {} no multi-factor method registered: {}{}; once the policy is enforced they must register one (the Microsoft Authenticator app) at their next sign-in to the apps it targets",
                missing.len(),
                plural(missing.len(), "user", "users"),
                plural(missing.len(), "has", "have"),
                names.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ))
        }
    }
}
