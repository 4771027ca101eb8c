//! Many tenants in one run: bounded concurrency with optional fail-fast, and the combined
//! summary. Finding the configs is [`crate::config::discover`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, StreamExt};
use serde::Serialize;

/// Runs `work` for every item, at most `concurrency` at once, keeping input order in the
/// results. With `fail_fast`, items not yet started after a failure are skipped (`None`).
pub async fn run_all<T, R, E, F, Fut>(
    items: Vec<T>,
    concurrency: usize,
    fail_fast: bool,
    work: F,
) -> Vec<Option<Result<R, E>>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let stop = AtomicBool::new(false);
    let stop = &stop;
    let work = &work;
    let mut results: Vec<(usize, Option<Result<R, E>>)> =
        stream::iter(items.into_iter().enumerate())
            .map(|(i, item)| async move {
                if fail_fast && stop.load(Ordering::SeqCst) {
                    return (i, None);
                }
                let result = work(item).await;
                if result.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                (i, Some(result))
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// One tenant's line in the summary and the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct TenantOutcome {
    pub config: PathBuf,
    pub tenant_id: Option<String>,
    /// `no_changes`, `changes`, `changed`, `failed` or `skipped`.
    pub result: &'static str,
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<serde_json::Value>,
    /// The admin's next steps after an apply (`number`, `text`, `path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_steps: Option<serde_json::Value>,
}

impl TenantOutcome {
    /// A tenant that did not get as far as a plan (`failed` or `skipped`).
    pub fn not_run(
        config: PathBuf,
        tenant_id: String,
        result: &'static str,
        error: String,
    ) -> Self {
        Self {
            config,
            tenant_id: Some(tenant_id),
            result,
            add: 0,
            change: 0,
            remove: 0,
            error: Some(error),
            plan: None,
            next_steps: None,
        }
    }

    pub fn failed(&self) -> bool {
        self.result == "failed" || self.result == "skipped"
    }
}

/// The summary table, or one JSON report.
pub fn print_report(outcomes: &[TenantOutcome], output: super::OutputFormat) -> anyhow::Result<()> {
    match output {
        super::OutputFormat::Text => print!("{}", summary_table(outcomes)),
        super::OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"tenants": outcomes}))?
        ),
    }
    Ok(())
}

/// Each set-up tenant's next steps, one line each, after the summary of a run over several.
pub fn next_steps_text(outcomes: &[TenantOutcome]) -> String {
    let mut out = String::new();
    for outcome in outcomes {
        let Some(steps) = outcome.next_steps.as_ref().and_then(|s| s.as_array()) else {
            continue;
        };
        for step in steps {
            let number = step["number"].as_u64().unwrap_or_default() as usize;
            let text = step["text"].as_str().unwrap_or_default();
            out.push_str(&format!(
                "{}: {}",
                outcome.config.display(),
                super::apply::next_step_line(number, steps.len(), text, step["path"].as_str())
            ));
        }
    }
    out
}

/// The table printed after a run over several tenants.
pub fn summary_table(outcomes: &[TenantOutcome]) -> String {
    let mut out = String::from("\nSummary:\n");
    let width = outcomes
        .iter()
        .map(|o| o.config.display().to_string().len())
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!(
        "  {:width$}  {:36}  {:10}  changes\n",
        "config", "tenant", "result"
    ));
    for o in outcomes {
        let changes = if o.result == "failed" || o.result == "skipped" {
            o.error.clone().unwrap_or_default()
        } else {
            format!("+{} ~{} -{}", o.add, o.change, o.remove)
        };
        out.push_str(&format!(
            "  {:width$}  {:36}  {:10}  {}\n",
            o.config.display().to_string(),
            o.tenant_id.clone().unwrap_or_else(|| "-".into()),
            o.result,
            changes
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_keep_order_and_fail_fast_skips_the_rest() {
        let results = run_all(vec![1, 2, 3, 4], 1, true, |n| async move {
            if n == 2 {
                Err(n)
            } else {
                Ok(n)
            }
        })
        .await;
        assert!(matches!(results[0], Some(Ok(1))));
        assert!(matches!(results[1], Some(Err(2))));
        assert!(results[2].is_none() && results[3].is_none());
        let results = run_all(vec![1, 2, 3], 3, false, |n| async move {
            if n == 2 {
                Err(n)
            } else {
                Ok(n)
            }
        })
        .await;
        assert!(matches!(results[2], Some(Ok(3))));
    }
}
