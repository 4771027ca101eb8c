//! Apply: run a plan's changes as a dependency graph, independent ones at the same time.
//! Each change is run by its kind's operation; the executor knows only the contract. A plan
//! is checked whole before anything runs: every dependency exists, no address appears
//! twice, and no change waits on itself.

use std::collections::HashMap;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::kind::{Address, ApplyContext, ApplyError, ResourceChange};
use crate::outputs::Outputs;
use crate::plan::Plan;

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub applied: Vec<String>,
    pub replication_waits: u32,
    pub outputs: Option<Outputs>,
    pub new_secret: bool,
}

/// Each change's dependencies as indexes into `changes`; an error naming what is wrong when
/// a dependency is missing, an address appears twice, or the dependencies form a cycle.
pub fn dependency_graph(changes: &[ResourceChange]) -> Result<Vec<Vec<usize>>, ApplyError> {
    let mut index: HashMap<&Address, usize> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        if index.insert(&change.address, i).is_some() {
            return Err(ApplyError::InvalidPlan(format!(
                "{} appears twice",
                change.address
            )));
        }
    }
    let mut graph = Vec::with_capacity(changes.len());
    for change in changes {
        let mut dependencies = Vec::new();
        for dependency in &change.depends_on {
            let Some(&i) = index.get(dependency) else {
                return Err(ApplyError::InvalidPlan(format!(
                    "{} depends on {dependency}, which the plan does not hold",
                    change.address
                )));
            };
            dependencies.push(i);
        }
        graph.push(dependencies);
    }
    if let Some(stuck) = first_in_cycle(&graph) {
        return Err(ApplyError::InvalidPlan(format!(
            "{} depends on itself through its dependencies",
            changes[stuck].address
        )));
    }
    Ok(graph)
}

/// A change that can never run because its dependencies lead back to it, if any (Kahn's
/// algorithm: what is left once every runnable change has run).
fn first_in_cycle(graph: &[Vec<usize>]) -> Option<usize> {
    let mut done = vec![false; graph.len()];
    loop {
        let runnable: Vec<usize> = (0..graph.len())
            .filter(|&i| !done[i] && graph[i].iter().all(|&d| done[d]))
            .collect();
        if runnable.is_empty() {
            return (0..graph.len()).find(|&i| !done[i]);
        }
        for i in runnable {
            done[i] = true;
        }
    }
}

/// Applies `plan`: each change once every change it depends on has succeeded, all ready
/// changes at once. On a failure, nothing new starts; running changes finish.
pub async fn run(ctx: &ApplyContext<'_>, plan: &Plan) -> Result<ApplyReport, ApplyError> {
    let dependencies = dependency_graph(&plan.changes)?;
    let mut done = vec![false; plan.changes.len()];
    let mut started = vec![false; plan.changes.len()];
    let mut running = FuturesUnordered::new();
    let mut failure: Option<ApplyError> = None;
    let mut report = ApplyReport::default();
    loop {
        if failure.is_none() {
            for (i, change) in plan.changes.iter().enumerate() {
                if !started[i] && dependencies[i].iter().all(|d| done[*d]) {
                    started[i] = true;
                    ctx.progress.step(&format!("applying {}", change.address));
                    running.push(async move { (i, change.operation.run(ctx).await) });
                }
            }
        }
        match running.next().await {
            None => break,
            Some((i, Ok(()))) => {
                done[i] = true;
                let change = &plan.changes[i];
                ctx.progress.note(&format!(
                    "  {} {}",
                    crate::plan::report::symbol(change.action),
                    change.address
                ));
                report.applied.push(change.address.to_string());
                report.new_secret |= change.operation.makes_secret();
            }
            Some((i, Err(e))) => {
                failure.get_or_insert(ApplyError::Change {
                    address: plan.changes[i].address.to_string(),
                    source: Box::new(e),
                });
            }
        }
    }
    if failure.is_none() {
        if let Err(error) = ctx.settle_record().await {
            failure = Some(error);
        }
    }
    report.replication_waits = ctx.replication_waits();
    if let Some(error) = failure {
        return Err(error);
    }
    if done.iter().any(|d| !d) {
        return Err(ApplyError::InvalidPlan(
            "changes were left unrun although none failed".into(),
        ));
    }
    report.outputs = ctx.outputs();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::{Action, Operation};

    #[derive(Debug)]
    struct Nothing;

    #[async_trait::async_trait]
    impl Operation for Nothing {
        async fn run(&self, _ctx: &ApplyContext<'_>) -> Result<(), ApplyError> {
            Ok(())
        }
    }

    fn change(name: &str, depends_on: &[&str]) -> ResourceChange {
        let mut change = ResourceChange::new(Address::new("test", name), Action::Create, Nothing);
        change.depends_on = depends_on
            .iter()
            .map(|d| Address::new("test", *d))
            .collect();
        change
    }

    fn refusal(changes: &[ResourceChange]) -> String {
        match dependency_graph(changes) {
            Err(error) => error.to_string(),
            Ok(graph) => panic!("accepted: {graph:?}"),
        }
    }

    #[test]
    fn a_sound_plan_gives_each_change_its_dependencies() {
        let graph = dependency_graph(&[change("a", &[]), change("b", &["a"])]).unwrap();
        assert_eq!(graph, vec![vec![], vec![0]]);
    }

    #[test]
    fn a_missing_dependency_is_refused_by_name() {
        let why = refusal(&[change("a", &["gone"])]);
        assert!(why.contains("test.a depends on test.gone"), "{why}");
    }

    #[test]
    fn an_address_twice_is_refused() {
        let why = refusal(&[change("a", &[]), change("a", &[])]);
        assert!(why.contains("test.a appears twice"), "{why}");
    }

    #[test]
    fn a_cycle_is_refused() {
        let why = refusal(&[
            change("a", &["c"]),
            change("b", &["a"]),
            change("c", &["b"]),
            change("d", &[]),
        ]);
        assert!(why.contains("depends on itself"), "{why}");
    }
}
