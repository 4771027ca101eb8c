//! Routing: a request's path split into entity set, key and what follows, authentication,
//! injected faults, and the table that hands each entity set to its handler.

use std::time::Instant;

use axum::http::{HeaderMap, Method};

use super::odata::{string_literal, Query};
use super::replies::{error, Reply};
use super::{
    applications, conditional_access, directory, grants, groups, reports, role_definitions,
    service_principals, Ctx,
};
use crate::state::{Inner, IssuedToken, RequestFault, RequestFaults, GRAPH_AUDIENCE};

/// A read-only leaf: nothing below it, and GET only.
pub fn get_only(method: &Method, rest: &[Segment]) -> Result<(), Reply> {
    if let Some(segment) = rest.first() {
        return Err(error(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{}'.", segment.name),
        ));
    }
    if method != Method::GET {
        return Err(error(
            405,
            "Request_BadRequest",
            "The HTTP method is not allowed on this resource.",
        ));
    }
    Ok(())
}

/// A path segment: `applications`, `abc-123`, or `applications(uniqueName='x')`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub key: Option<Key>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Id(String),
    Alternate(String, String),
}

impl Key {
    /// How the key reads in an error: the id, or the alternate key's value.
    pub fn describe(&self) -> &str {
        match self {
            Key::Id(id) => id,
            Key::Alternate(_, value) => value,
        }
    }
}

fn parse_segment(raw: &str) -> Segment {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned();
    if let (Some(open), true) = (decoded.find('('), decoded.ends_with(')')) {
        let name = decoded[..open].to_string();
        let inside = &decoded[open + 1..decoded.len() - 1];
        let key = match inside.split_once('=') {
            Some((property, literal)) => Key::Alternate(
                property.trim().to_string(),
                string_literal(literal.trim()).unwrap_or_else(|| literal.trim().to_string()),
            ),
            None => Key::Id(string_literal(inside).unwrap_or_else(|| inside.to_string())),
        };
        return Segment {
            name,
            key: Some(key),
        };
    }
    Segment {
        name: decoded,
        key: None,
    }
}

/// Splits a path into an entity set, an optional key, and what follows:
/// `applications/{id}/addPassword` and `applications(appId='x')/addPassword` both give
/// (`applications`, key, [`addPassword`]).
pub fn split_path(path: &str) -> (String, Option<Key>, Vec<Segment>) {
    let mut segments: Vec<Segment> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(parse_segment)
        .collect();
    for prefix in [
        ["identity", "conditionalAccess", "policies"].as_slice(),
        ["policies", "identitySecurityDefaultsEnforcementPolicy"].as_slice(),
        ["roleManagement", "directory", "roleDefinitions"].as_slice(),
        [
            "reports",
            "authenticationMethods",
            "userRegistrationDetails",
        ]
        .as_slice(),
    ] {
        let joined = segments.len() >= prefix.len()
            && segments
                .iter()
                .zip(prefix)
                .all(|(s, p)| s.key.is_none() && s.name == *p);
        if joined {
            let name = prefix.join("/");
            segments.drain(..prefix.len());
            segments.insert(0, Segment { name, key: None });
        }
    }
    if segments.is_empty() {
        return (String::new(), None, Vec::new());
    }
    let first = segments.remove(0);
    if let Some(key) = first.key {
        return (first.name, Some(key), segments);
    }
    if segments.is_empty() {
        return (first.name, None, segments);
    }
    let id = segments.remove(0);
    (first.name, Some(Key::Id(id.name)), segments)
}

/// One Graph request, after TLS and HTTP.
pub struct GraphCall<'a> {
    pub method: &'a Method,
    /// Below `/v1.0/`.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Runs one request against the caller's tenant (used directly by `$batch`).
pub fn dispatch(
    inner: &mut Inner,
    base: &str,
    caller: &IssuedToken,
    call: &GraphCall<'_>,
) -> (Reply, bool) {
    let lag = inner.faults.lag();
    let Inner {
        tenants,
        rng,
        issued_secrets,
        issued_ids,
        ..
    } = inner;
    let Some(tenant) = tenants.get_mut(&caller.tenant_id) else {
        return (
            error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure: unknown tenant.",
            ),
            false,
        );
    };
    let query = match Query::parse(call.query) {
        Ok(q) => q,
        Err(reply) => return (reply, false),
    };
    let prefer = call
        .headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let mut ctx = Ctx {
        tenant,
        caller,
        rng,
        issued_secrets,
        issued_ids,
        now: Instant::now(),
        lag,
        base,
        query,
        prefer,
        wrote: false,
    };
    let (set, key, rest) = split_path(call.path);
    let result = match set.as_str() {
        "applications" => applications::route(&mut ctx, call.method, key, &rest, call.body),
        "servicePrincipals" => {
            service_principals::route(&mut ctx, call.method, key, &rest, call.body)
        }
        "oauth2PermissionGrants" => grants::route(&mut ctx, call.method, key, &rest, call.body),
        "identity/conditionalAccess/policies" => {
            conditional_access::route(&mut ctx, call.method, key, &rest, call.body)
        }
        "roleManagement/directory/roleDefinitions" => {
            role_definitions::route(&mut ctx, call.method, key, &rest)
        }
        "reports/authenticationMethods/userRegistrationDetails" => {
            reports::route(&mut ctx, call.method, key, &rest)
        }
        "groups" => groups::route(&mut ctx, call.method, key, &rest, call.body),
        "users"
        | "organization"
        | "domains"
        | "subscribedSkus"
        | "policies/identitySecurityDefaultsEnforcementPolicy" => {
            directory::route(&mut ctx, &set, call.method, key, &rest, call.body)
        }
        _ => Err(error(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{set}'."),
        )),
    };
    let reply = result.unwrap_or_else(|e| e);
    (reply, ctx.wrote)
}

pub(super) fn authenticate(inner: &Inner, headers: &HeaderMap) -> Result<IssuedToken, Reply> {
    let Some(token) = crate::token::bearer(headers) else {
        return Err(error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    };
    let Some(issued) = inner.tokens.get(token) else {
        return Err(error(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.) or the token was not issued for this resource."));
    };
    // A token for another resource (a Key Vault token) is not Graph's to accept.
    if issued.audience != GRAPH_AUDIENCE {
        return Err(error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        ));
    }
    if Instant::now() >= issued.expires_at {
        return Err(error(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    Ok(issued.clone())
}

/// Throttling, unavailability and the Conditional Access rate limit.
pub(super) fn injected_fault(inner: &mut Inner, tenant_id: &str, path: &str) -> Option<Reply> {
    match inner.roll_fault(RequestFaults::default()) {
        Some(RequestFault::Throttled { retry_after }) => {
            let mut reply = error(429, "TooManyRequests", "Too many requests.");
            if let Some(seconds) = retry_after {
                reply.headers.push(("Retry-After", seconds.to_string()));
            }
            return Some(reply);
        }
        Some(RequestFault::Unavailable) => return Some(unavailable()),
        None => {}
    }
    if inner.faults.conditional_access_rate_limit && path.starts_with("identity/conditionalAccess")
    {
        let tenant = inner.tenant_mut(tenant_id)?;
        let now = Instant::now();
        let too_soon = tenant
            .last_conditional_access_request
            .is_some_and(|last| now.duration_since(last) < std::time::Duration::from_secs(1));
        // A refused request counts against the limit too (immediate retries do not help).
        tenant.last_conditional_access_request = Some(now);
        if too_soon {
            inner.counters.throttled += 1;
            return Some(error(429, "TooManyRequests", "Too many requests to Conditional Access; at most one request per second per tenant."));
        }
    }
    None
}

/// Graph's 503, for injected unavailability before or after a write.
pub fn unavailable() -> Reply {
    error(
        503,
        "serviceNotAvailable",
        "The service is temporarily unavailable. Please retry later.",
    )
}

/// "METHOD route" with ids replaced, for counters. Below the entity, segments alternate
/// between a navigation and the id of an object in it (`members/{id}/$ref`); system segments
/// such as `$ref` are kept.
pub(super) fn route_name(method: &Method, path: &str) -> String {
    let (set, key, rest) = split_path(path);
    let mut name = format!("{method} {set}");
    match key {
        Some(Key::Id(_)) => name.push_str("/{id}"),
        Some(Key::Alternate(property, _)) => name.push_str(&format!("({property})")),
        None => {}
    }
    for (i, segment) in rest.iter().enumerate() {
        if i % 2 == 1 && !segment.name.starts_with('$') {
            name.push_str("/{id}");
        } else {
            name.push('/');
            name.push_str(&segment.name);
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_set_key_and_rest() {
        assert_eq!(
            split_path("applications(uniqueName='pandora-itsm-mail')"),
            (
                "applications".into(),
                Some(Key::Alternate(
                    "uniqueName".into(),
                    "pandora-itsm-mail".into()
                )),
                vec![]
            )
        );
        let (set, key, rest) = split_path("applications/abc/addPassword");
        assert_eq!(
            (set.as_str(), key),
            ("applications", Some(Key::Id("abc".into())))
        );
        assert_eq!(rest[0].name, "addPassword");
        let (set, key, rest) = split_path("identity/conditionalAccess/policies/p1");
        assert_eq!(
            (set.as_str(), key, rest.len()),
            (
                "identity/conditionalAccess/policies",
                Some(Key::Id("p1".into())),
                0
            )
        );
        let (_, key, _) = split_path("applications(uniqueName='a%2Fb%20c''d')");
        assert_eq!(
            key,
            Some(Key::Alternate("uniqueName".into(), "a/b c'd".into()))
        );
    }

    #[test]
    fn route_names_hide_ids() {
        assert_eq!(
            route_name(&Method::PATCH, "applications(uniqueName='x')"),
            "PATCH applications(uniqueName)"
        );
        assert_eq!(
            route_name(&Method::POST, "applications/abc/addPassword"),
            "POST applications/{id}/addPassword"
        );
        assert_eq!(
            route_name(&Method::DELETE, "servicePrincipals/s/appRoleAssignedTo/a"),
            "DELETE servicePrincipals/{id}/appRoleAssignedTo/{id}"
        );
        assert_eq!(
            route_name(&Method::POST, "groups/g/members/$ref"),
            "POST groups/{id}/members/$ref"
        );
        assert_eq!(
            route_name(&Method::DELETE, "groups/g/members/u/$ref"),
            "DELETE groups/{id}/members/{id}/$ref"
        );
        for (path, name) in [
            (
                "roleManagement/directory/roleDefinitions",
                "GET roleManagement/directory/roleDefinitions",
            ),
            (
                "roleManagement/directory/roleDefinitions/62e90394",
                "GET roleManagement/directory/roleDefinitions/{id}",
            ),
            (
                "reports/authenticationMethods/userRegistrationDetails",
                "GET reports/authenticationMethods/userRegistrationDetails",
            ),
            (
                "groups/g1/transitiveMembers",
                "GET groups/{id}/transitiveMembers",
            ),
            (
                "users/alice@contoso.com/transitiveMemberOf",
                "GET users/{id}/transitiveMemberOf",
            ),
        ] {
            assert_eq!(route_name(&Method::GET, path), name);
        }
    }

    #[test]
    fn multi_segment_sets_split_before_their_key() {
        let (set, key, rest) =
            split_path("reports/authenticationMethods/userRegistrationDetails/u1");
        assert_eq!(
            (set.as_str(), key, rest.len()),
            (
                "reports/authenticationMethods/userRegistrationDetails",
                Some(Key::Id("u1".into())),
                0
            )
        );
        let (set, key, _) = split_path("roleManagement/directory/roleDefinitions");
        assert_eq!(
            (set.as_str(), key),
            ("roleManagement/directory/roleDefinitions", None)
        );
    }
}
