//! Users, the organization, its domains and subscriptions, and the security defaults policy.

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::{error, list_view, membership, need, not_found, Ctx, Key, Res, Segment};

pub fn route(
    ctx: &mut Ctx<'_>,
    set: &str,
    method: &Method,
    key: Option<Key>,
    rest: &[Segment],
    _body: &[u8],
) -> Res {
    if let (Some(key), "GET", [segment]) = (&key, method.as_str(), rest) {
        if set == "users" && segment.name == "transitiveMemberOf" {
            return membership::transitive_member_of(ctx, key.describe());
        }
    }
    if let Some(segment) = rest.first() {
        return Err(error(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{}'.", segment.name),
        ));
    }
    match (set, method.as_str(), key) {
        ("users", "GET", None) => {
            ctx.require(need::USER_READ)?;
            // A basic-profile reader cannot filter on what it cannot read.
            let on_proxy_addresses = ctx
                .query
                .filter
                .as_deref()
                .is_some_and(|f| f.contains("proxyAddresses"));
            if on_proxy_addresses && !membership::reads_full_profiles(ctx) {
                return Err(super::replies::denied());
            }
            let items = list_view(&ctx.tenant.users, ctx.now)
                .into_iter()
                .map(|user| membership::user_as_seen(ctx, user))
                .collect();
            ctx.collection(
                "users",
                items,
                &[
                    "id",
                    "displayName",
                    "userPrincipalName",
                    "mail",
                    "proxyAddresses",
                    "accountEnabled",
                ],
            )
        }
        ("users", "GET", Some(key)) => {
            // A user reads themself with User.Read; anyone else needs a directory read permission.
            let id = key.describe().to_string();
            let data = ctx
                .tenant
                .users
                .iter()
                .filter_map(|u| u.view(ctx.now, false))
                .find(|u| {
                    u.get("id").and_then(Value::as_str) == Some(id.as_str())
                        || u.get("userPrincipalName")
                            .and_then(Value::as_str)
                            .is_some_and(|upn| upn.eq_ignore_ascii_case(&id))
                })
                .cloned()
                .ok_or_else(|| not_found(&id))?;
            let is_self =
                data.get("id").and_then(Value::as_str) == Some(ctx.caller.object_id.as_str());
            if !(is_self && ctx.holds("User.Read")) {
                ctx.require(need::USER_READ)?;
            }
            Ok(ctx.entity(200, "users", &membership::user_as_seen(ctx, data)))
        }
        ("organization", "GET", None) => {
            ctx.require(need::ORGANIZATION_READ)?;
            ctx.collection("organization", vec![organization(ctx)], &["id"])
        }
        ("organization", "GET", Some(key)) => {
            ctx.require(need::ORGANIZATION_READ)?;
            let id = key.describe().to_string();
            if !id.eq_ignore_ascii_case(&ctx.tenant.id) {
                return Err(not_found(&id));
            }
            Ok(ctx.entity(200, "organization", &organization(ctx)))
        }
        ("domains", "GET", None) => {
            ctx.require(need::DOMAIN_READ)?;
            ctx.collection(
                "domains",
                domains(ctx),
                &["id", "isVerified", "isDefault", "isInitial", "isRoot"],
            )
        }
        ("domains", "GET", Some(key)) => {
            ctx.require(need::DOMAIN_READ)?;
            let id = key.describe().to_string();
            let domain = domains(ctx)
                .into_iter()
                .find(|d| {
                    d.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|name| name.eq_ignore_ascii_case(&id))
                })
                .ok_or_else(|| not_found(&id))?;
            Ok(ctx.entity(200, "domains", &domain))
        }
        ("subscribedSkus", "GET", None) => {
            ctx.require(need::LICENCE_READ)?;
            // Graph supports only `$select` here; any `$filter` is refused as unsupported.
            ctx.collection("subscribedSkus", subscribed_skus(ctx), &[])
        }
        ("subscribedSkus", "GET", Some(key)) => {
            ctx.require(need::LICENCE_READ)?;
            let id = key.describe().to_string();
            let sku = subscribed_skus(ctx)
                .into_iter()
                .find(|s| s.get("id").and_then(Value::as_str) == Some(id.as_str()))
                .ok_or_else(|| not_found(&id))?;
            Ok(ctx.entity(200, "subscribedSkus", &sku))
        }
        ("policies/identitySecurityDefaultsEnforcementPolicy", "GET", None) => {
            ctx.require(need::POLICY_READ)?;
            let data = crate::state::object(json!({
                "id": "00000000-0000-0000-0000-000000000005",
                "displayName": "Security Defaults",
                "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.",
                "isEnabled": ctx.tenant.security_defaults,
            }));
            let mut reply = ctx.entity(
                200,
                "policies/identitySecurityDefaultsEnforcementPolicy",
                &data,
            );
            if let Some(body) = reply.body.as_mut() {
                // This singleton's context has no `/$entity` (calls.json).
                body["@odata.context"] =
                    json!(ctx.context("policies/identitySecurityDefaultsEnforcementPolicy"));
            }
            Ok(reply)
        }
        _ => Err(error(
            405,
            "Request_BadRequest",
            "The HTTP method is not allowed on this resource.",
        )),
    }
}

/// The tenant as `GET /organization` shows it: only verified domains are in
/// `verifiedDomains`.
fn organization(ctx: &Ctx<'_>) -> Map<String, Value> {
    let tenant = &ctx.tenant;
    let verified: Vec<Value> = tenant
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"name": d, "isDefault": i == 0, "isInitial": i == 0, "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline"}))
        .collect();
    crate::state::object(json!({
        "id": tenant.id,
        "displayName": tenant.display_name,
        "tenantType": "AAD",
        "verifiedDomains": verified,
        "assignedPlans": if tenant.p1_licence {
            json!([{"capabilityStatus": "Enabled", "service": "AADPremiumService", "servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d"}])
        } else { json!([]) },
    }))
}

/// The tenant's domains as `GET /domains` lists them (domain.md): the verified ones, the
/// initial `*.onmicrosoft.com` one first and default, then any added but not yet verified.
fn domains(ctx: &Ctx<'_>) -> Vec<Map<String, Value>> {
    let tenant = &ctx.tenant;
    let verified = tenant.domains.iter().map(|d| (d, true));
    let unverified = tenant.unverified_domains.iter().map(|d| (d, false));
    verified
        .chain(unverified)
        .enumerate()
        .map(|(i, (name, is_verified))| {
            let services = if is_verified {
                json!(["Email", "OfficeCommunicationsOnline"])
            } else {
                json!([])
            };
            crate::state::object(json!({
                "authenticationType": "Managed",
                "availabilityStatus": null,
                "id": name,
                "isAdminManaged": true,
                "isDefault": i == 0,
                "isInitial": i == 0,
                "isRoot": is_verified,
                "isVerified": is_verified,
                "passwordNotificationWindowInDays": 14,
                "passwordValidityPeriodInDays": 2147483647,
                "state": null,
                "supportedServices": services,
            }))
        })
        .collect()
}

/// The tenant's one subscription: Microsoft 365 Business Premium (which carries Entra ID P1)
/// in a P1 tenant, Business Standard (which does not) in one without.
fn subscribed_skus(ctx: &Ctx<'_>) -> Vec<Map<String, Value>> {
    use entra_base::well_known::{
        CONDITIONAL_ACCESS_PLANS, PLAN_EXCHANGE_ONLINE_1, SKU_BUSINESS_PREMIUM,
        SKU_BUSINESS_STANDARD,
    };
    let tenant = &ctx.tenant;
    let (sku, plans) = if tenant.p1_licence {
        (
            SKU_BUSINESS_PREMIUM,
            vec![CONDITIONAL_ACCESS_PLANS[0], PLAN_EXCHANGE_ONLINE_1],
        )
    } else {
        (SKU_BUSINESS_STANDARD, vec![PLAN_EXCHANGE_ONLINE_1])
    };
    let (part_number, sku_id) = sku;
    let namespace = uuid::Uuid::parse_str(&tenant.id).unwrap_or(uuid::Uuid::NAMESPACE_OID);
    let subscription = uuid::Uuid::new_v5(&namespace, sku_id.as_bytes()).to_string();
    let service_plans: Vec<Value> = plans
        .iter()
        .map(|(name, id)| {
            json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"})
        })
        .collect();
    vec![crate::state::object(json!({
        "accountName": tenant.display_name,
        "accountId": tenant.id,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": tenant.users.len(),
        // Graph's id is `{tenantId}_{skuId}` (subscribedsku-list.md).
        "id": format!("{}_{sku_id}", tenant.id),
        "prepaidUnits": {"enabled": 25, "lockedOut": 0, "suspended": 0, "warning": 0},
        "servicePlans": service_plans,
        "skuId": sku_id,
        "skuPartNumber": part_number,
        "subscriptionIds": [subscription],
    }))]
}
