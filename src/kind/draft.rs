//! What the kinds plan into: the inputs every kind reads, the changes and warnings they add,
//! objects they promise, and facts one kind leaves for a later one.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use super::permissions::Resolved;
use super::{Address, PlanOptions, Promise, ResourceChange};
use crate::config::Desired;
use crate::live::LiveState;
use crate::outputs::Outputs;

/// Values one kind's plan leaves for a later kind's, by type (the record entries the secrets
/// need, whom the policy reaches).
#[derive(Default)]
pub struct Facts(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Facts {
    pub fn put<T: Any + Send + Sync>(&mut self, fact: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(fact));
    }

    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }

    pub fn take<T: Any + Send + Sync>(&mut self) -> Option<T> {
        let fact = self.0.remove(&TypeId::of::<T>())?;
        fact.downcast().ok().map(|boxed| *boxed)
    }
}

/// The members groups will have once the plan has run, by group display name. A kind that
/// changes a group's members leaves this fact, and the Conditional Access guard and reach
/// judge these members, never today's: a plan that empties an emergency-access group is
/// refused before anything is written.
#[derive(Debug, Clone, Default)]
pub struct PlannedMembers(pub Vec<(String, Vec<crate::live::Member>)>);

/// A plan being made: kinds plan in registry order, each seeing the changes before its own.
pub struct PlanDraft<'a> {
    pub desired: &'a Desired,
    pub live: &'a LiveState,
    pub outputs: Option<&'a Outputs>,
    pub options: &'a PlanOptions,
    /// The config's permissions, resolved against what the resources publish.
    pub resolved: &'a Resolved,
    pub changes: Vec<ResourceChange>,
    pub warnings: Vec<String>,
    /// Objects this plan makes that a later kind may name before they exist.
    pub promised: Vec<Promise>,
    pub facts: Facts,
}

impl PlanDraft<'_> {
    /// Whether a change at `address` is planned.
    pub fn changes_at(&self, address: &Address) -> bool {
        self.changes.iter().any(|c| &c.address == address)
    }

    /// The promise of a `object` named `display_name`, when a kind made one.
    pub fn promise(&self, object: &str, display_name: &str) -> Option<&Promise> {
        self.promised
            .iter()
            .find(|p| p.object == object && p.display_name == display_name)
    }
}

/// A destroy being planned: kinds plan in reverse registry order (dependants first), each
/// seeing the deletes planned before its own.
pub struct DestroyDraft<'a> {
    pub desired: &'a Desired,
    pub live: &'a LiveState,
    pub changes: Vec<ResourceChange>,
    pub warnings: Vec<String>,
}
