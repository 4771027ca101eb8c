//! The lockout guard. It judges the policy as Graph will hold it after the write (the file
//! rendered, merged over the live policy) and refuses, before anything is written, a policy
//! that could lock people out; each refusal names its override.

use std::collections::BTreeSet;

use serde_json::Value;

use super::reach::{reaches_everyone, strings_at, Audience};
use super::render::Resolution;
use crate::config::policy::placeholder_name;
use crate::config::DesiredPolicy;
use crate::graph::models::ConditionalAccessPolicy;
use crate::graph::models::User;
use crate::kind::{PlanError, PlanOptions};
use crate::live::{LiveConditionalAccess, Member};

/// A policy as it will stand, with what it is judged against.
pub struct Judged<'a> {
    pub policy: &'a DesiredPolicy,
    /// The policy as Graph will hold it.
    pub in_force: &'a Value,
    pub live: &'a LiveConditionalAccess,
    pub resolution: &'a Resolution,
    pub audience: &'a Audience,
    /// Our live policy's id, if there is one (other policies are everything else).
    pub ours: Option<&'a str>,
}

/// The refusals, in the order a reader would fix them.
pub fn refuse(judged: &Judged<'_>, options: &PlanOptions) -> Result<(), PlanError> {
    emergency_accounts_usable(judged)?;
    if !judged.policy.allow_all_users {
        broad_audiences(judged)?;
    }
    if enforced(judged.in_force) && !options.allow_lockout_risk {
        emergency_access_excluded(judged)?;
    }
    Ok(())
}

/// Whether the policy will be enforced (`state` is `enabled`).
pub fn enforced(policy: &Value) -> bool {
    policy
        .get("state")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
}

/// Existence: a break-glass account that cannot sign in is no way in.
fn emergency_accounts_usable(judged: &Judged<'_>) -> Result<(), PlanError> {
    for (upn, user) in emergency_users(judged) {
        let upn = upn.clone();
        let policy = judged.policy.display_name.clone();
        match user.account_enabled {
            Some(true) => {}
            Some(false) => return Err(PlanError::EmergencyAccessDisabled { upn, policy }),
            // Graph leaves `accountEnabled` out under a basic-profile permission.
            None => return Err(PlanError::EmergencyAccessUnverified { upn, policy }),
        }
    }
    Ok(())
}

/// The emergency-access users the config names that exist, with their UPN as configured.
fn emergency_users<'a>(judged: &'a Judged<'_>) -> impl Iterator<Item = (&'a String, &'a User)> {
    judged.live.users.iter().filter_map(|(upn, user)| {
        let named = judged
            .policy
            .emergency_access_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(upn));
        user.as_ref().filter(|_| named).map(|user| (upn, user))
    })
}

/// The users of a configured group (none when it could not be read).
fn group_users<'a>(judged: &'a Judged<'_>, name: &str) -> &'a [Member] {
    judged
        .resolution
        .group_id(name)
        .and_then(|id| judged.live.users_in(&id))
        .unwrap_or_default()
}

/// Every user, directory roles, guests: audiences that take in admins or outsiders.
fn broad_audiences(judged: &Judged<'_>) -> Result<(), PlanError> {
    let policy = judged.policy.display_name.clone();
    if reaches_everyone(judged.in_force) {
        return Err(PlanError::EveryUser { policy });
    }
    let roles = strings_at(judged.in_force, "/conditions/users/includeRoles");
    if !roles.is_empty() {
        return Err(PlanError::DirectoryRoles {
            policy,
            roles: roles
                .iter()
                .map(|id| judged.resolution.label_of(id))
                .collect(),
        });
    }
    let guests = judged
        .in_force
        .pointer("/conditions/users/includeGuestsOrExternalUsers")
        .is_some_and(|g| !g.is_null())
        || strings_at(judged.in_force, "/conditions/users/includeUsers")
            .contains("guestsorexternalusers");
    if guests {
        return Err(PlanError::Guests { policy });
    }
    Ok(())
}

/// Emergency access: an enforced policy excludes every configured break-glass account, and
/// at least one that exists and may sign in.
fn emergency_access_excluded(judged: &Judged<'_>) -> Result<(), PlanError> {
    let policy = judged.policy;
    let enabled_by = if judged
        .policy
        .template
        .get("state")
        .and_then(Value::as_str)
        .and_then(placeholder_name)
        .is_some()
    {
        "conditional_access.state = \"enabled\"".to_string()
    } else {
        format!(
            "its policy file {} writes \"state\": \"enabled\"",
            policy.policy
        )
    };
    let refuse_without = |detail: &str| PlanError::NoEmergencyAccess {
        policy: policy.display_name.clone(),
        enabled_by: enabled_by.clone(),
        detail: detail.to_string(),
    };
    if policy.emergency_access_users.is_empty() && policy.emergency_access_groups.is_empty() {
        return Err(refuse_without("no emergency-access account is named"));
    }
    let excluded = &judged.audience.excluded;
    let excluded_groups = strings_at(judged.in_force, "/conditions/users/excludeGroups");
    for upn in &policy.emergency_access_users {
        let id = judged.resolution.user_id(upn).unwrap_or_default();
        if !excluded.contains(&id) {
            return Err(PlanError::EmergencyAccessNotExcluded {
                who: upn.clone(),
                policy: policy.display_name.clone(),
            });
        }
    }
    for name in &policy.emergency_access_groups {
        let id = judged.resolution.group_id(name).unwrap_or_default();
        if !excluded_groups.contains(&id) {
            return Err(PlanError::EmergencyAccessNotExcluded {
                who: name.clone(),
                policy: policy.display_name.clone(),
            });
        }
    }
    if usable_emergency_accounts(judged).is_empty() {
        return Err(refuse_without(
            "the emergency-access groups it excludes have no enabled members",
        ));
    }
    Ok(())
}

/// Emergency-access users (named, or members of an emergency-access group) that exist, may
/// sign in, and are excluded.
fn usable_emergency_accounts(judged: &Judged<'_>) -> BTreeSet<String> {
    let mut accounts = BTreeSet::new();
    for (_, user) in emergency_users(judged) {
        if user.account_enabled != Some(false) {
            accounts.extend(user.id.as_ref().map(|id| id.to_ascii_lowercase()));
        }
    }
    for name in &judged.policy.emergency_access_groups {
        let members = group_users(judged, name);
        accounts.extend(
            members
                .iter()
                .filter(|m| m.account_enabled != Some(false))
                .map(|m| m.id.to_ascii_lowercase()),
        );
    }
    accounts.retain(|id| judged.audience.excluded.contains(id));
    accounts
}

/// Warnings about emergency access that do not stop the run: disabled members of an
/// emergency-access group, and other enabled policies that would stop a break-glass account.
pub fn warnings(judged: &Judged<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    for name in &judged.policy.emergency_access_groups {
        let disabled: Vec<&str> = group_users(judged, name)
            .iter()
            .filter(|m| m.account_enabled == Some(false))
            .map(|m| m.user_principal_name.as_deref().unwrap_or(&m.id))
            .collect();
        if !disabled.is_empty() {
            warnings.push(format!(
                "emergency-access group `{name}` has disabled members, which are no way in: {}",
                disabled.join(", ")
            ));
        }
    }
    warnings.extend(other_policies(judged));
    warnings
}

/// Other enabled policies that require MFA or block access and reach an emergency-access
/// account: with them in force, the account may not be the way in it is meant to be.
fn other_policies(judged: &Judged<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    let others: Vec<(&ConditionalAccessPolicy, Value)> = judged
        .live
        .policies
        .iter()
        .filter(|p| p.id.as_deref() != judged.ours)
        .filter_map(|p| serde_json::to_value(p).ok().map(|v| (p, v)))
        .filter(|(_, v)| enforced(v) && stops_sign_in(v).is_some())
        .collect();
    if others.is_empty() {
        return warnings;
    }
    for upn in &judged.policy.emergency_access_users {
        let Some(id) = judged.resolution.user_id(upn) else {
            continue;
        };
        let (groups, roles) = match judged
            .live
            .emergency_memberships
            .get(&upn.to_ascii_lowercase())
        {
            Some(Ok(objects)) => (
                objects
                    .iter()
                    .filter(|o| o.is_group())
                    .map(|o| o.id.to_ascii_lowercase())
                    .collect(),
                objects
                    .iter()
                    .filter_map(|o| o.role_template_id.as_ref())
                    .map(|r| r.to_ascii_lowercase())
                    .collect(),
            ),
            Some(Err(why)) => {
                warnings.push(format!(
                    "could not check whether other Conditional Access policies reach emergency-access account `{upn}` through its groups or roles: {why}"
                ));
                (BTreeSet::new(), BTreeSet::new())
            }
            None => (BTreeSet::new(), BTreeSet::new()),
        };
        let member = Membership {
            user: id,
            groups,
            roles,
        };
        for (other, value) in &others {
            if member.targeted_by(value) {
                warnings.push(other_policy_warning(upn, other, value));
            }
        }
    }
    for name in &judged.policy.emergency_access_groups {
        let Some(id) = judged.resolution.group_id(name) else {
            continue;
        };
        for (other, value) in &others {
            let users = |k: &str| strings_at(value, &format!("/conditions/users/{k}"));
            let reached =
                users("includeUsers").contains("all") || users("includeGroups").contains(&id);
            if reached && !users("excludeGroups").contains(&id) {
                warnings.push(other_policy_warning(name, other, value));
            }
        }
    }
    warnings
}

fn other_policy_warning(who: &str, other: &ConditionalAccessPolicy, value: &Value) -> String {
    format!(
        "emergency-access account `{who}` is inside another enabled Conditional Access policy, `{}` ({}), which {}; exclude it there too, or it may not be the way in it is meant to be",
        other.display_name.as_deref().unwrap_or_default(),
        other.id.as_deref().unwrap_or_default(),
        stops_sign_in(value).unwrap_or_default()
    )
}

/// What an enabled policy demands that a break-glass account may not meet.
fn stops_sign_in(policy: &Value) -> Option<&'static str> {
    let controls = strings_at(policy, "/grantControls/builtInControls");
    if controls.contains("block") {
        Some("blocks access")
    } else if controls.contains("mfa")
        || policy
            .pointer("/grantControls/authenticationStrength")
            .is_some_and(|s| !s.is_null())
    {
        Some("requires multi-factor authentication")
    } else {
        None
    }
}

/// A user, the groups and the roles it holds: enough to tell whether a policy reaches it.
struct Membership {
    user: String,
    groups: BTreeSet<String>,
    roles: BTreeSet<String>,
}

impl Membership {
    fn targeted_by(&self, policy: &Value) -> bool {
        let users = |k: &str| strings_at(policy, &format!("/conditions/users/{k}"));
        let hits = |set: &BTreeSet<String>, mine: &BTreeSet<String>| !set.is_disjoint(mine);
        let included = users("includeUsers").contains("all")
            || users("includeUsers").contains(&self.user)
            || hits(&users("includeGroups"), &self.groups)
            || hits(&users("includeRoles"), &self.roles);
        let excluded = users("excludeUsers").contains(&self.user)
            || hits(&users("excludeGroups"), &self.groups)
            || hits(&users("excludeRoles"), &self.roles);
        included && !excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn breakglass() -> Membership {
        Membership {
            user: "u1".into(),
            groups: ["g1".to_string()].into(),
            roles: ["r1".to_string()].into(),
        }
    }

    #[test]
    fn a_policy_reaches_a_user_directly_through_groups_roles_or_all() {
        for users in [
            json!({"includeUsers": ["All"]}),
            json!({"includeUsers": ["U1"]}),
            json!({"includeGroups": ["g1"]}),
            json!({"includeRoles": ["R1"]}),
        ] {
            let policy = json!({"conditions": {"users": users}});
            assert!(breakglass().targeted_by(&policy), "{users}");
        }
    }

    #[test]
    fn any_exclusion_takes_a_user_out() {
        for exclusion in [
            json!({"excludeUsers": ["u1"]}),
            json!({"excludeGroups": ["G1"]}),
            json!({"excludeRoles": ["r1"]}),
        ] {
            let mut users = json!({"includeUsers": ["All"]});
            users
                .as_object_mut()
                .unwrap()
                .extend(exclusion.as_object().unwrap().clone());
            let policy = json!({"conditions": {"users": users}});
            assert!(!breakglass().targeted_by(&policy), "{exclusion}");
        }
        let other = json!({"conditions": {"users": {"includeGroups": ["g2"]}}});
        assert!(!breakglass().targeted_by(&other));
    }

    #[test]
    fn mfa_strength_and_block_stop_a_sign_in_and_nothing_else_does() {
        let with = |grant: Value| json!({"grantControls": grant});
        assert_eq!(
            stops_sign_in(&with(json!({"builtInControls": ["block"]}))),
            Some("blocks access")
        );
        assert_eq!(
            stops_sign_in(&with(json!({"builtInControls": ["MFA"]}))),
            Some("requires multi-factor authentication")
        );
        assert_eq!(
            stops_sign_in(&with(
                json!({"builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}})
            )),
            Some("requires multi-factor authentication")
        );
        assert_eq!(
            stops_sign_in(&with(json!({"builtInControls": ["compliantDevice"]}))),
            None
        );
    }
}
