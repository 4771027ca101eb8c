//! The simulated Microsoft Graph v1.0: authentication, faults, routing, OData queries and
//! error bodies shared by the resource handlers.

mod applications;
mod batch;
mod conditional_access;
mod directory;
mod grants;
mod membership;
mod reports;
mod role_definitions;
mod service_principals;

use std::collections::HashMap;
use std::time::Instant;

use axum::http::{HeaderMap, Method};
use serde_json::{json, Map, Value};

use super::schema::{self, SchemaProblem};
use super::state::{Inner, IssuedToken, Lag, Obj, Tenant};

/// An answer from a handler (or an error, in the same shape).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }
}

pub type Res = Result<Reply, Reply>;

/// Graph's error body: `{"error": {"code", "message", "innerError"}}` (innerError is filled in
/// on the way out).
pub fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}

/// An error with `details[]`, as Entra sends for replication lag on service principals.
pub fn error_with_detail(
    status: u16,
    code: &str,
    message: &str,
    detail_code: &str,
    target: &str,
) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message,
            "details": [{"code": detail_code, "message": message, "target": target}]}}),
    )
}

pub fn not_found(id: &str) -> Reply {
    error(
        404,
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

pub fn bad_request(message: impl Into<String>) -> Reply {
    error(400, "Request_BadRequest", message)
}

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

fn denied() -> Reply {
    error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// Everything a handler needs for one request.
pub struct Ctx<'a> {
    pub tenant: &'a mut Tenant,
    pub caller: &'a IssuedToken,
    rng: &'a mut fastrand::Rng,
    pub issued_secrets: &'a mut Vec<String>,
    pub now: Instant,
    pub lag: Lag,
    pub base: &'a str,
    pub query: Query,
    pub prefer: Option<String>,
    pub wrote: bool,
}

impl Ctx<'_> {
    pub fn guid(&mut self) -> String {
        super::state::guid_from(self.rng)
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

    pub fn context(&self, fragment: &str) -> String {
        // Graph names Conditional Access's entity set without the `identity/` segment.
        let fragment = fragment.strip_prefix("identity/").unwrap_or(fragment);
        format!("{}/v1.0/$metadata#{fragment}", self.base)
    }

    /// A single entity answer with `@odata.context` and `$select` applied.
    pub fn entity(&self, status: u16, set: &str, data: &Map<String, Value>) -> Reply {
        let mut body = Map::new();
        let context = match &self.query.select_raw {
            Some(select) => self.context(&format!("{set}({select})/$entity")),
            None => self.context(&format!("{set}/$entity")),
        };
        body.insert("@odata.context".into(), json!(context));
        body.extend(self.query.select(data));
        Reply::json(status, Value::Object(body))
    }

    /// A collection answer: filtered, selected and paged.
    pub fn collection(
        &self,
        set: &str,
        items: Vec<Map<String, Value>>,
        filterable: &[&str],
    ) -> Res {
        self.collection_at(set, set, items, filterable)
    }

    /// A collection read at `path` whose items belong to entity set `set` (e.g.
    /// `groups/{id}/members` answers `directoryObjects`): the context names `set`, the next
    /// link `path`.
    pub fn collection_at(
        &self,
        path: &str,
        set: &str,
        items: Vec<Map<String, Value>>,
        filterable: &[&str],
    ) -> Res {
        let clauses = match &self.query.filter {
            Some(filter) => parse_filter(filter, filterable, set)?,
            None => Vec::new(),
        };
        // Directory objects do not support $skip (they page with $skiptoken); Conditional
        // Access policies do.
        let skip_param = match self.query.skip_param {
            Some(_) if !path.starts_with("identity/conditionalAccess") => {
                return Err(bad_request("'$skip' is not supported by the service."));
            }
            Some(skip) => skip,
            None => 0,
        };
        let matching: Vec<_> = items
            .into_iter()
            .filter(|item| matches(item, &clauses))
            .skip(skip_param)
            .collect();
        let top = self.query.top.unwrap_or(100);
        let page: Vec<Value> = matching
            .iter()
            .skip(self.query.skip)
            .take(top)
            .map(|item| Value::Object(self.query.select(item)))
            .collect();
        let context = match &self.query.select_raw {
            Some(select) => self.context(&format!("{set}({select})")),
            None => self.context(set),
        };
        let mut body = json!({"@odata.context": context, "value": page});
        if self.query.skip + top < matching.len() {
            body["@odata.nextLink"] = json!(self.next_link(path, self.query.skip + top));
        }
        Ok(Reply::json(200, body))
    }

    fn next_link(&self, path: &str, skip: usize) -> String {
        let mut link = format!(
            "{}/v1.0/{path}?$skiptoken={}",
            self.base,
            encode_skiptoken(skip)
        );
        for (key, value) in &self.query.pass_on {
            link.push_str(&format!(
                "&{key}={}",
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        link
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

fn encode_skiptoken(skip: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("skip:{skip}"))
}

fn decode_skiptoken(token: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("skip:")?
        .parse()
        .ok()
}

/// The OData system query options a request carries.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub filter: Option<String>,
    pub select: Option<Vec<String>>,
    pub select_raw: Option<String>,
    pub top: Option<usize>,
    pub skip: usize,
    /// `$skip`, which only some APIs support.
    pub skip_param: Option<usize>,
    /// `$expand` (only `members` on groups is supported).
    pub expand: Option<String>,
    /// Options repeated on `@odata.nextLink`.
    pub pass_on: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: &str) -> Result<Self, Reply> {
        let mut query = Query::default();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key);
            let value = decode(value);
            match key.as_str() {
                "$filter" => {
                    query.pass_on.push((key.clone(), value.clone()));
                    query.filter = Some(value);
                }
                "$select" => {
                    query.pass_on.push((key.clone(), value.clone()));
                    query.select = Some(value.split(',').map(|s| s.trim().to_string()).collect());
                    query.select_raw = Some(value);
                }
                "$top" => {
                    let top: usize = value
                        .parse()
                        .ok()
                        .filter(|t| (1..=999).contains(t))
                        .ok_or_else(|| bad_request(format!("Invalid page size specified: '{value}'. Must be between 1 and 999 inclusive.")))?;
                    query.pass_on.push((key.clone(), value.clone()));
                    query.top = Some(top);
                }
                "$expand" => {
                    query.pass_on.push((key.clone(), value.clone()));
                    query.expand = Some(value);
                }
                "$skip" => {
                    let skip = value
                        .parse()
                        .map_err(|_| bad_request(format!("Invalid value '{value}' for $skip.")))?;
                    query.pass_on.push((key.clone(), value.clone()));
                    query.skip_param = Some(skip);
                }
                "$skiptoken" => {
                    query.skip = decode_skiptoken(&value)
                        .ok_or_else(|| bad_request("Invalid paging token (skiptoken)."))?;
                }
                _ => {}
            }
        }
        Ok(query)
    }

    /// `$select` applied: `id`, the type of a derived object, and the selected properties.
    fn select(&self, item: &Map<String, Value>) -> Map<String, Value> {
        match &self.select {
            None => item.clone(),
            Some(fields) => item
                .iter()
                .filter(|(k, _)| {
                    matches!(k.as_str(), "id" | "@odata.type")
                        || fields.iter().any(|f| f == *k)
                        || self.expand.as_deref().and_then(|e| e.split('(').next())
                            == Some(k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// One `$filter` clause.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Eq(String, Value),
    StartsWith(String, String),
    AnyEq(String, String),
}

fn unsupported(property: &str, set: &str) -> Reply {
    error(
        400,
        "Request_UnsupportedQuery",
        format!("Unsupported or invalid query filter clause specified for property '{property}' of resource '{set}'."),
    )
}

/// Parses `a eq 'x' and startswith(b,'y') and c/any(x:x eq 'z')`.
fn parse_filter(filter: &str, filterable: &[&str], set: &str) -> Result<Vec<Clause>, Reply> {
    let mut clauses = Vec::new();
    for part in split_and(filter) {
        let part = part.trim();
        let clause = if let Some(inner) = part
            .strip_prefix("startswith(")
            .and_then(|p| p.strip_suffix(')'))
        {
            let (property, literal) = inner
                .split_once(',')
                .ok_or_else(|| unsupported(part, set))?;
            let text = string_literal(literal.trim()).ok_or_else(|| unsupported(property, set))?;
            Clause::StartsWith(property.trim().to_string(), text)
        } else if let Some((property, rest)) = part.split_once("/any(") {
            let body = rest
                .strip_suffix(')')
                .ok_or_else(|| unsupported(property, set))?;
            let (_, comparison) = body
                .split_once(':')
                .ok_or_else(|| unsupported(property, set))?;
            let literal = comparison
                .split_once(" eq ")
                .map(|(_, l)| l)
                .ok_or_else(|| unsupported(property, set))?;
            let text = string_literal(literal.trim()).ok_or_else(|| unsupported(property, set))?;
            Clause::AnyEq(property.trim().to_string(), text)
        } else {
            let (property, literal) = part
                .split_once(" eq ")
                .ok_or_else(|| unsupported(part, set))?;
            let literal = literal.trim();
            let value = match literal {
                "true" => json!(true),
                "false" => json!(false),
                "null" => Value::Null,
                _ => json!(string_literal(literal).ok_or_else(|| unsupported(property, set))?),
            };
            Clause::Eq(property.trim().to_string(), value)
        };
        let property = match &clause {
            Clause::Eq(p, _) | Clause::StartsWith(p, _) | Clause::AnyEq(p, _) => p,
        };
        if !filterable.contains(&property.as_str()) {
            return Err(unsupported(property, set));
        }
        clauses.push(clause);
    }
    Ok(clauses)
}

/// Splits on ` and ` outside quoted literals.
fn split_and(filter: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut rest = filter;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            in_quotes = !in_quotes;
        }
        if !in_quotes && rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(" and ") {
            parts.push(std::mem::take(&mut current));
            rest = &rest[5..];
            continue;
        }
        current.push(c);
        rest = &rest[c.len_utf8()..];
    }
    parts.push(current);
    parts
}

/// `'O''Brien'` -> `O'Brien`.
fn string_literal(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

fn matches(item: &Map<String, Value>, clauses: &[Clause]) -> bool {
    clauses.iter().all(|clause| match clause {
        Clause::Eq(property, expected) => match (item.get(property), expected) {
            (Some(Value::String(actual)), Value::String(expected)) => {
                actual.eq_ignore_ascii_case(expected)
            }
            (actual, expected) => actual.unwrap_or(&Value::Null) == expected,
        },
        Clause::StartsWith(property, prefix) => item
            .get(property)
            .and_then(Value::as_str)
            .is_some_and(|v| v.to_lowercase().starts_with(&prefix.to_lowercase())),
        Clause::AnyEq(property, expected) => item
            .get(property)
            .and_then(Value::as_array)
            .is_some_and(|values| {
                values
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(expected)))
            }),
    })
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
        "groups"
        | "users"
        | "organization"
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

fn authenticate(inner: &Inner, headers: &HeaderMap) -> Result<IssuedToken, Reply> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(token) = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    };
    let Some(issued) = inner.tokens.get(token) else {
        return Err(error(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.) or the token was not issued for this resource."));
    };
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
fn injected_fault(inner: &mut Inner, tenant_id: &str, path: &str) -> Option<Reply> {
    let faults = inner.faults.clone();
    if faults.throttle_rate > 0.0 && inner.rng.f64() < faults.throttle_rate {
        inner.counters.throttled += 1;
        let mut reply = error(429, "TooManyRequests", "Too many requests.");
        if let Some(seconds) = faults.throttle_retry_after {
            reply.headers.push(("Retry-After", seconds.to_string()));
        }
        return Some(reply);
    }
    if faults.unavailable_rate > 0.0 && inner.rng.f64() < faults.unavailable_rate {
        inner.counters.unavailable += 1;
        return Some(error(
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ));
    }
    if faults.conditional_access_rate_limit && path.starts_with("identity/conditionalAccess") {
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

/// "METHOD route" with ids replaced, for counters.
fn route_name(method: &Method, path: &str) -> String {
    let (set, key, rest) = split_path(path);
    let mut name = format!("{method} {set}");
    match key {
        Some(Key::Id(_)) => name.push_str("/{id}"),
        Some(Key::Alternate(property, _)) => name.push_str(&format!("({property})")),
        None => {}
    }
    for (i, segment) in rest.iter().enumerate() {
        if i == 1 && rest.len() == 2 {
            name.push_str("/{id}");
        } else {
            name.push('/');
            name.push_str(&segment.name);
        }
    }
    name
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
    fn filters_parse_and_match_case_insensitively() {
        let clauses = parse_filter(
            "displayName eq 'mfa-test-group' and securityEnabled eq true",
            &["displayName", "securityEnabled"],
            "groups",
        )
        .unwrap();
        let group = json!({"displayName": "MFA-Test-Group", "securityEnabled": true});
        assert!(matches(group.as_object().unwrap(), &clauses));
        let quoted = parse_filter(
            "displayName eq 'O''Brien and co'",
            &["displayName"],
            "groups",
        )
        .unwrap();
        assert_eq!(
            quoted,
            vec![Clause::Eq("displayName".into(), json!("O'Brien and co"))]
        );
        assert!(parse_filter("colour eq 'red'", &["displayName"], "groups").is_err());
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

    #[test]
    fn select_keeps_id_and_the_derived_type() {
        let query = Query::parse("$select=displayName").unwrap();
        let item = json!({"@odata.type": "#microsoft.graph.user", "id": "u", "displayName": "U", "accountEnabled": true});
        let selected = query.select(item.as_object().unwrap());
        assert_eq!(
            Value::Object(selected),
            json!({"@odata.type": "#microsoft.graph.user", "id": "u", "displayName": "U"})
        );
    }
}

/// Least-privileged permission sets per operation (src/data/calls.json).
/// Each inner list must be held whole; any one list suffices.
pub mod need {
    pub const APP_READ: &[&[&str]] = &[
        &["Application.Read.All"],
        &["Application.ReadWrite.All"],
        &["Application.ReadWrite.OwnedBy"],
        &["Directory.Read.All"],
        &["Directory.ReadWrite.All"],
    ];
    pub const APP_CREATE: &[&[&str]] = &[
        &["AppRegistration.Create"],
        &["Application.ReadWrite.OwnedBy"],
        &["Application.ReadWrite.All"],
    ];
    pub const APP_WRITE: &[&[&str]] = &[
        &["Application.ReadWrite.OwnedBy"],
        &["Application.ReadWrite.All"],
    ];
    pub const SP_WRITE: &[&[&str]] = &[
        &["Application.ReadWrite.OwnedBy"],
        &["Application.ReadWrite.All"],
        &["Directory.ReadWrite.All"],
    ];
    pub const ASSIGNMENT_WRITE: &[&[&str]] = &[
        &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
        &[
            "AppRoleAssignment.ReadWrite.All",
            "Application.ReadWrite.All",
        ],
        &["AppRoleAssignment.ReadWrite.All", "Directory.Read.All"],
    ];
    pub const GRANT_READ: &[&[&str]] = &[
        &["Directory.Read.All"],
        &["DelegatedPermissionGrant.ReadWrite.All"],
        &["Directory.ReadWrite.All"],
    ];
    pub const GRANT_WRITE: &[&[&str]] = &[
        &["DelegatedPermissionGrant.ReadWrite.All"],
        &["Directory.ReadWrite.All"],
    ];
    pub const GROUP_READ: &[&[&str]] = &[
        &["Group.ReadBasic.All"],
        &["GroupMember.Read.All"],
        &["Group.Read.All"],
        &["Directory.Read.All"],
    ];
    pub const USER_READ: &[&[&str]] = &[
        &["User.ReadBasic.All"],
        &["User.Read.All"],
        &["Directory.Read.All"],
    ];
    pub const POLICY_READ: &[&[&str]] = &[&["Policy.Read.All"]];
    pub const CA_WRITE: &[&[&str]] = &[
        &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"],
        &["Application.Read.All", "Policy.ReadWrite.ConditionalAccess"],
    ];
    pub const CA_DELETE: &[&[&str]] = &[&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"]];
    /// Listing a group's members, direct or transitive (group-list-transitivemembers).
    pub const GROUP_MEMBER_READ: &[&[&str]] = &[
        &["GroupMember.Read.All"],
        &["Group.Read.All"],
        &["Group.ReadWrite.All"],
        &["GroupMember.ReadWrite.All"],
        &["Directory.Read.All"],
    ];
    /// Another user's memberships (user-list-transitivememberof; apps only have this table).
    pub const MEMBER_OF_READ: &[&[&str]] = &[
        &["User.Read.All"],
        &["GroupMember.Read.All"],
        &["Group.Read.All"],
        &["Directory.Read.All"],
        &["Directory.ReadWrite.All"],
    ];
    /// Directory role definitions (rbacapplication-list-roledefinitions).
    pub const ROLE_DEFINITION_READ: &[&[&str]] = &[
        &["RoleManagement.Read.Directory"],
        &["Directory.Read.All"],
        &["RoleManagement.ReadWrite.Directory"],
        &["Directory.ReadWrite.All"],
    ];
    /// The authentication methods registration report (no higher permission exists).
    pub const REGISTRATION_REPORT_READ: &[&[&str]] = &[&["AuditLog.Read.All"]];
    /// The tenant's subscriptions (subscribedsku-list: LicenseAssignment.Read.All least).
    pub const LICENCE_READ: &[&[&str]] = &[
        &["LicenseAssignment.Read.All"],
        &["Organization.Read.All"],
        &["Organization.ReadWrite.All"],
        &["Directory.Read.All"],
        &["Directory.ReadWrite.All"],
    ];
    pub const ORGANIZATION_READ: &[&[&str]] = &[
        &["Organization.Read.All"],
        &["Directory.Read.All"],
        &["User.Read"],
    ];
}
