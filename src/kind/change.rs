//! A plan's unit: one change to one managed object, with its typed address, what it depends
//! on, and the operation its kind runs to apply it.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::{ApplyContext, ApplyError};
use crate::config::Desired;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Take over an object an admin made by hand (`--adopt`): record it as ours, then
    /// correct it like any other.
    Adopt,
}

/// Where a change lives: its type and its name, `application.pandora-itsm-mail`. Plan and
/// destroy give one object the same address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    kind: &'static str,
    name: String,
}

impl Address {
    pub fn new(kind: &'static str, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }

    /// The app registration. Every kind's objects hang off it, and it holds the ownership
    /// record, so its address is part of the contract.
    pub fn application(desired: &Desired) -> Self {
        Self::new("application", desired.app.unique_name.clone())
    }

    /// The app's service principal, which consent is given to.
    pub fn service_principal(desired: &Desired) -> Self {
        Self::new("service_principal", desired.app.unique_name.clone())
    }

    /// The type: `application`, `conditional_access_policy`, ...
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One of several objects at one address, told apart by `index`: `kind.name[index]`.
    pub fn indexed(&self, index: &str) -> Self {
        Self::new(self.kind, format!("{}[{index}]", self.name))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl PartialEq<str> for Address {
    fn eq(&self, other: &str) -> bool {
        other
            .split_once('.')
            .is_some_and(|(kind, name)| kind == self.kind && name == self.name)
    }
}

impl PartialEq<&str> for Address {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A name fit for an address: `Microsoft Graph` -> `microsoft-graph`.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

/// One attribute's old and new value, for `~` lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeChange {
    pub name: String,
    pub before: Value,
    pub after: Value,
}

/// What apply runs for a change. Each kind has its own operation type; the executor knows
/// only this.
#[async_trait::async_trait]
pub trait Operation: fmt::Debug + Send + Sync + Any {
    async fn run(&self, ctx: &ApplyContext<'_>) -> Result<(), ApplyError>;

    /// Whether it writes to the tenant (the outputs are local).
    fn writes_tenant(&self) -> bool {
        true
    }

    /// Whether it makes a client secret (the apply report says so).
    fn makes_secret(&self) -> bool {
        false
    }
}

/// A kind's operation behind the contract, as a change holds it.
#[derive(Debug, Clone)]
pub struct BoxedOperation(Arc<dyn Operation>);

impl<T: Operation> From<T> for BoxedOperation {
    fn from(operation: T) -> Self {
        Self(Arc::new(operation))
    }
}

impl std::ops::Deref for BoxedOperation {
    type Target = dyn Operation;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

/// A change to one managed object.
#[derive(Debug, Clone)]
pub struct ResourceChange {
    pub address: Address,
    pub action: Action,
    /// The object's managed attributes before and after (secrets as `(sensitive)`).
    pub before: Value,
    pub after: Value,
    pub attributes: Vec<AttributeChange>,
    /// Why, when it is not obvious (an orphaned secret, a renewal).
    pub reason: Option<String>,
    /// Addresses that must be applied first.
    pub depends_on: Vec<Address>,
    pub operation: BoxedOperation,
}

impl ResourceChange {
    /// A change with no attributes, reason or dependencies yet.
    pub fn new(address: Address, action: Action, operation: impl Operation) -> Self {
        Self {
            address,
            action,
            before: Value::Null,
            after: Value::Null,
            attributes: Vec::new(),
            reason: None,
            depends_on: Vec::new(),
            operation: operation.into(),
        }
    }

    /// The type of object it changes.
    pub fn kind(&self) -> &'static str {
        self.address.kind()
    }

    /// The operation as its kind's type, when it is that type.
    pub fn operation_as<T: Operation>(&self) -> Option<&T> {
        let operation: &dyn Any = self.operation.0.as_ref();
        operation.downcast_ref::<T>()
    }
}

/// Choices that change what a plan may do.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    pub now: OffsetDateTime,
    /// Enable a policy even without emergency-access exclusions.
    pub allow_lockout_risk: bool,
    /// Write a policy report-only first, then switch it once it reads back.
    pub staged: bool,
    /// Take over a portal-made app or policy named like ours (`--adopt`).
    pub adopt: bool,
    /// Make a new client secret even though the current one is valid (`--rotate-secret`).
    pub rotate_secret: bool,
}

impl PlanOptions {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now,
            allow_lockout_risk: false,
            staged: false,
            adopt: false,
            rotate_secret: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_and_dashed() {
        assert_eq!(slug("Microsoft Graph"), "microsoft-graph");
        assert_eq!(
            slug("Office 365 Exchange Online"),
            "office-365-exchange-online"
        );
    }

    #[test]
    fn an_address_reads_as_kind_dot_name_and_compares_with_its_text() {
        let address = Address::new("oauth2_permission_grant", "microsoft-graph");
        assert_eq!(
            address.to_string(),
            "oauth2_permission_grant.microsoft-graph"
        );
        assert!(address == "oauth2_permission_grant.microsoft-graph");
        assert!(address != "oauth2_permission_grant.microsoft");
        assert_eq!(
            address.indexed("1a2b").to_string(),
            "oauth2_permission_grant.microsoft-graph[1a2b]"
        );
    }
}
