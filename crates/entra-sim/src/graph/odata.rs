//! OData system query options: `$filter`, `$select`, `$top`, `$expand`, `$skip` and the
//! `$skiptoken` paging Graph uses for directory objects.

use serde_json::{json, Map, Value};

use super::replies::{bad_request, error, Reply};

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

/// One page of a collection, as the query asks for it.
pub struct Page {
    /// The items on this page, `$select` applied.
    pub items: Vec<Value>,
    /// The query string of the next page (its `$skiptoken` and the options repeated), if any.
    pub next: Option<String>,
}

impl Query {
    pub fn parse(raw: &str) -> Result<Self, Reply> {
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
    pub fn select(&self, item: &Map<String, Value>) -> Map<String, Value> {
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

    /// `items` of entity set `set`, read at `path`, filtered (on `filterable` properties
    /// only), skipped, paged and selected.
    pub fn page(
        &self,
        path: &str,
        set: &str,
        items: Vec<Map<String, Value>>,
        filterable: &[&str],
    ) -> Result<Page, Reply> {
        // `a or b and c`: alternatives (`or`), each a conjunction (`and`), as OData binds them.
        let alternatives = match &self.filter {
            Some(filter) => split_on(filter, " or ")
                .iter()
                .map(|alternative| parse_filter(alternative, filterable, set))
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![Vec::new()],
        };
        // Directory objects do not support $skip (they page with $skiptoken); Conditional
        // Access policies do.
        let skip_param = match self.skip_param {
            Some(_) if !path.starts_with("identity/conditionalAccess") => {
                return Err(bad_request("'$skip' is not supported by the service."));
            }
            Some(skip) => skip,
            None => 0,
        };
        let matching: Vec<_> = items
            .into_iter()
            .filter(|item| alternatives.iter().any(|clauses| matches(item, clauses)))
            .skip(skip_param)
            .collect();
        let top = self.top.unwrap_or(100);
        let items = matching
            .iter()
            .skip(self.skip)
            .take(top)
            .map(|item| Value::Object(self.select(item)))
            .collect();
        let next = (self.skip + top < matching.len()).then(|| self.next_query(self.skip + top));
        Ok(Page { items, next })
    }

    /// The query string of the page starting at `skip`.
    fn next_query(&self, skip: usize) -> String {
        let mut query = format!("$skiptoken={}", encode_skiptoken(skip));
        for (key, value) in &self.pass_on {
            query.push_str(&format!(
                "&{key}={}",
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        query
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
    for part in split_on(filter, " and ") {
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

/// Splits on `separator` (` and `, ` or `, any case) outside quoted literals.
fn split_on(filter: &str, separator: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut rest = filter;
    let width = separator.len();
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            in_quotes = !in_quotes;
        }
        if !in_quotes
            && rest.len() >= width
            && rest.is_char_boundary(width)
            && rest[..width].eq_ignore_ascii_case(separator)
        {
            parts.push(std::mem::take(&mut current));
            rest = &rest[width..];
            continue;
        }
        current.push(c);
        rest = &rest[c.len_utf8()..];
    }
    parts.push(current);
    parts
}

/// `'O''Brien'` -> `O'Brien`.
pub fn string_literal(literal: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn or_joins_alternatives_outside_quotes() {
        assert_eq!(
            split_on(
                "mail eq 'a or b' or proxyAddresses/any(x:x eq 'smtp:c')",
                " or "
            ),
            ["mail eq 'a or b'", "proxyAddresses/any(x:x eq 'smtp:c')"]
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
