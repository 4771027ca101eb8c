//! The simulated Microsoft Graph v1.0: the way in ([`handle`]) and what every resource
//! handler shares ([`Ctx`], point reads under replication lag, PATCH merging). Routing,
//! authentication and injected faults are in `dispatch`, OData query options in `odata`,
//! replies and Graph's error bodies in `replies`, permission sets in [`need`]; each entity set
//! has its own module.

mod applications;
mod batch;
mod conditional_access;
mod directory;
mod dispatch;
mod grants;
mod groups;
mod membership;
pub mod need;
mod odata;
mod replies;
mod reports;
mod role_definitions;
mod service_principals;

use std::collections::HashMap;
use std::time::Instant;

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use dispatch::{authenticate, injected_fault, route_name};
pub use dispatch::{dispatch, get_only, split_path, unavailable, GraphCall, Key, Segment};
pub use odata::Query;
use replies::denied;
pub use replies::{bad_request, error, error_with_detail, not_found, Reply, Res};

use super::schema::{self, SchemaProblem};
use super::state::{Inner, IssuedToken, Lag, Obj, Tenant};

/// Everything a handler needs for one request.
pub struct Ctx<'a> {
    pub tenant: &'a mut Tenant,
    pub caller: &'a IssuedToken,
    rng: &'a mut fastrand::Rng,
    pub issued_secrets: &'a mut Vec<String>,
    pub issued_ids: &'a mut std::collections::HashSet<String>,
    pub now: Instant,
    pub lag: Lag,
    pub base: &'a str,
    pub query: Query,
    pub prefer: Option<String>,
    pub wrote: bool,
}

impl Ctx<'_> {
    pub fn guid(&mut self) -> String {
        super::state::guid_from(self.rng, self.issued_ids)
    }

    pub fn secret_text(&mut self) -> String {
        super::state::secret_from(self.rng, self.issued_secrets)
    }

    /// The caller holds every permission of at least one alternative, or 403.
    pub fn require(&self, alternatives: &[&[&str]]) -> Result<(), Reply> {
        let held = self.caller.permissions();
        let ok = alternatives.iter().any(|needed| {
            needed
                .iter()
                .all(|p| held.iter().any(|h| h.eq_ignore_ascii_case(p)))
        });
        if ok {
            Ok(())
        } else {
            Err(denied())
        }
    }

    /// Whether the caller holds `permission`.
    pub fn holds(&self, permission: &str) -> bool {
        self.caller
            .permissions()
            .iter()
            .any(|h| h.eq_ignore_ascii_case(permission))
    }

    /// Parses and checks a JSON body against `type_name`.
    pub fn body(&self, raw: &[u8], type_name: &str) -> Result<Value, Reply> {
        let value: Value = serde_json::from_slice(raw)
            .map_err(|_| bad_request("Invalid request body: the body is not valid JSON."))?;
        if !value.is_object() {
            return Err(bad_request("Invalid request body: expected a JSON object."));
        }
        schema::check(type_name, &value).map_err(|problem| match problem {
            SchemaProblem::UnknownProperty { property, .. } => bad_request(format!(
                "Property '{property}' does not exist as a declared property or extension property."
            )),
            SchemaProblem::InvalidValue {
                property,
                type_name,
            } => bad_request(format!(
                "Invalid value specified for property '{property}' of resource '{type_name}'."
            )),
        })?;
        Ok(value)
    }

    pub fn prefers_create_if_missing(&self) -> bool {
        self.prefer.as_deref().is_some_and(|p| {
            p.split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("create-if-missing"))
        })
    }

    pub fn timestamp(&self) -> String {
        now_rfc3339()
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// What the server does with a request's answer.
pub struct Outcome {
    pub reply: Reply,
    pub wrote: bool,
    pub tenant: Option<String>,
    pub route: String,
}

/// Authenticates, applies faults, and dispatches one request.
pub fn handle(inner: &mut Inner, base: &str, call: &GraphCall<'_>) -> Outcome {
    let route = route_name(call.method, call.path);
    let caller = match authenticate(inner, call.headers) {
        Ok(token) => token,
        Err(reply) => {
            return Outcome {
                reply,
                wrote: false,
                tenant: None,
                route,
            }
        }
    };
    let tenant_id = caller.tenant_id.clone();
    if let Some(reply) = injected_fault(inner, &tenant_id, call.path) {
        return Outcome {
            reply,
            wrote: false,
            tenant: Some(tenant_id),
            route,
        };
    }
    if call.path == "$batch" {
        let (reply, wrote) = batch::handle(inner, base, &caller, call);
        return Outcome {
            reply,
            wrote,
            tenant: Some(tenant_id),
            route,
        };
    }
    let (reply, wrote) = dispatch(inner, base, &caller, call);
    Outcome {
        reply,
        wrote,
        tenant: Some(tenant_id),
        route,
    }
}

/// The index of the object `key` names among `objs` (by id or an alternate key of `keys`), as
/// a point read sees it: 404 while it replicates.
pub fn keyed_index(
    objs: &[Obj],
    now: Instant,
    key: &Key,
    keys: &[&str],
    type_name: &str,
) -> Result<usize, Reply> {
    let (property, value) = match key {
        Key::Id(id) => ("id", id.as_str()),
        Key::Alternate(property, value) => (property.as_str(), value.as_str()),
    };
    if !keys.contains(&property) {
        return Err(bad_request(format!(
            "'{property}' is not a key of {type_name}."
        )));
    }
    objs.iter()
        .position(|o| {
            o.view(now, false)
                .and_then(|v| v.get(property))
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
        .ok_or_else(|| not_found(key.describe()))
}

/// Points read objects by key, honouring replication lag.
pub fn find_visible<'o>(
    objs: &'o [Obj],
    now: Instant,
    id: &str,
) -> Option<(usize, &'o Map<String, Value>)> {
    objs.iter().enumerate().find_map(|(i, o)| {
        o.view(now, false)
            .filter(|v| v.get("id").and_then(Value::as_str) == Some(id))
            .map(|v| (i, v))
    })
}

/// Everything a list sees.
pub fn list_view(objs: &[Obj], now: Instant) -> Vec<Map<String, Value>> {
    objs.iter()
        .filter_map(|o| o.view(now, true).cloned())
        .collect()
}

/// Deep-merges a PATCH body: objects merge, everything else (arrays included) replaces.
pub fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => merge(existing, incoming),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Headers a request may carry that handlers read.
pub fn request_headers(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect()
}

/// Graph's `uniqueName` is an alternate key: no two objects of a collection share it (case
/// aside). `own` is the object being written, which may keep its own.
fn check_unique_name(
    objects: &[Obj],
    data: &Map<String, Value>,
    own: Option<usize>,
) -> Result<(), Reply> {
    let Some(name) = data.get("uniqueName").and_then(Value::as_str) else {
        return Ok(());
    };
    let taken = objects.iter().enumerate().any(|(i, o)| {
        Some(i) != own
            && o.str("uniqueName")
                .is_some_and(|v| v.eq_ignore_ascii_case(name))
    });
    if taken {
        return Err(error(
            400,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property uniqueName already exists.",
        ));
    }
    Ok(())
}
