//! What a handler answers: the reply type, Graph's error bodies, and the JSON shapes of a
//! single entity and of a collection page (`@odata.context`, `value`, `@odata.nextLink`).

use serde_json::{json, Map, Value};

use super::Ctx;

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

pub(super) fn denied() -> Reply {
    error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

impl Ctx<'_> {
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
        let page = self.query.page(path, set, items, filterable)?;
        let context = match &self.query.select_raw {
            Some(select) => self.context(&format!("{set}({select})")),
            None => self.context(set),
        };
        let mut body = json!({"@odata.context": context, "value": page.items});
        if let Some(next) = page.next {
            body["@odata.nextLink"] = json!(format!("{}/v1.0/{path}?{next}", self.base));
        }
        Ok(Reply::json(200, body))
    }
}
