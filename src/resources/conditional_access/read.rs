//! The Conditional Access kind's reads: every policy, the users and groups the policy names
//! (with their members), security defaults, role names, MFA registration, the licence and
//! who we are; then, before the plan, a wait for creates of ours still replicating.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Deserialize;

use crate::config::Desired;
use crate::graph::models::{
    Application, ConditionalAccessPolicy, IdentitySecurityDefaultsEnforcementPolicy, User,
};
use crate::graph::{odata, GraphClient, GraphError, Request};
use crate::live::{
    Caller, DirectoryObject, Licence, LiveConditionalAccess, LiveGroup, LiveState, Member,
    MfaRegistration, TypedMember,
};
use crate::ownership::Record;

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
pub(super) async fn await_pending_policies(
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
        let pending_name = super::pending_name(name, &desired.app.unique_name);
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

/// Every policy, every user and group it names (groups with all their users), security
/// defaults, role names, MFA registration and who we are: one wave, plus one request per
/// group too big or nested for `$expand` to give whole.
pub(super) async fn read_conditional_access(
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
    let claims = crate::graph::Claims::new(&claims);
    let text = |key: &str| claims.text(key).map(String::from);
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
            delegated: claims.delegated(),
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
