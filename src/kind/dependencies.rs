//! A plan's changes as a dependency graph, checked whole: the planner refuses a plan that
//! is not sound, and the executor checks again before it runs anything.

use std::collections::HashMap;

use super::{Address, ResourceChange};

/// Each change's dependencies as indexes into `changes`; an error naming what is wrong when
/// a dependency is missing, an address appears twice, or the dependencies form a cycle.
pub fn dependency_graph(changes: &[ResourceChange]) -> Result<Vec<Vec<usize>>, String> {
    let mut index: HashMap<&Address, usize> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        if index.insert(&change.address, i).is_some() {
            return Err(format!("{} appears twice", change.address));
        }
    }
    let mut graph = Vec::with_capacity(changes.len());
    for change in changes {
        let mut dependencies = Vec::new();
        for dependency in &change.depends_on {
            let Some(&i) = index.get(dependency) else {
                return Err(format!(
                    "{} depends on {dependency}, which the plan does not hold",
                    change.address
                ));
            };
            dependencies.push(i);
        }
        graph.push(dependencies);
    }
    if let Some(stuck) = first_in_cycle(&graph) {
        return Err(format!(
            "{} depends on itself through its dependencies",
            changes[stuck].address
        ));
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
