//! Apply: run a plan's changes as a dependency graph, independent ones at the same time.
//! Each change is run by its kind's operation; the executor knows only the contract. A plan
//! is checked whole before anything runs: every dependency exists, no address appears
//! twice, and no change waits on itself.

use futures::stream::{FuturesUnordered, StreamExt};

use crate::kind::{dependency_graph, ApplyContext, ApplyError};
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

/// Applies `plan`: each change once every change it depends on has succeeded, all ready
/// changes at once. On a failure, nothing new starts; running changes finish.
pub async fn run(ctx: &ApplyContext<'_>, plan: &Plan) -> Result<ApplyReport, ApplyError> {
    let dependencies = dependency_graph(&plan.changes).map_err(ApplyError::InvalidPlan)?;
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
    use crate::kind::{Action, Address, Operation, ResourceChange};

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
