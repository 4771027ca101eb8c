//! Many tenants in one run: config discovery (files, directories, manifests), bounded
//! concurrency with optional fail-fast, and the combined summary.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::fsutil::{read_bounded, ReadError, INPUT_LIMIT};

/// A config file found from `-f`, read once: a pipe (`-f <(...)`) cannot be read twice, once
/// to see whether it is a manifest and again to load it.
#[derive(Debug)]
pub struct Found {
    pub path: PathBuf,
    pub text: Result<String, ReadError>,
}

/// Why `-f` yields no configs to work on.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot read directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("directory {} holds no *.toml config", path.display())]
    EmptyDirectory { path: PathBuf },
    #[error("{}: a manifest holds only `configs`; unknown key `{key}`", path.display())]
    ManifestKey { path: PathBuf, key: String },
    #[error("{}: `configs` must be a list of config paths", path.display())]
    ManifestShape { path: PathBuf },
    // Checking nothing and reporting every tenant clean would be a silent success.
    #[error("manifest {} lists no config (`configs` is empty)", path.display())]
    EmptyManifest { path: PathBuf },
}

/// Every config `-f` names: a file, every `*.toml` in a directory, or the `configs` of a
/// manifest (`configs = ["tenants/a.toml", ...]`, relative to the manifest), each read once
/// through [`read_bounded`]. A file that cannot be read is returned with its error, to be
/// reported with the other configs' problems.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Found>, DiscoveryError> {
    let read = |path: &Path| read_bounded(path, "config file", INPUT_LIMIT);
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| DiscoveryError::Directory {
                    path: path.clone(),
                    source,
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(DiscoveryError::EmptyDirectory { path: path.clone() });
            }
            found.extend(files.into_iter().map(|path| Found {
                text: read(&path),
                path,
            }));
            continue;
        }
        let text = read(path).map_err(|e| e.origin("-f"));
        let listed = match &text {
            Ok(text) => manifest(path, text)?,
            Err(_) => None,
        };
        match listed {
            Some(listed) => {
                found.extend(
                    listed.into_iter().map(|listed| Found {
                        text: read(&listed)
                            .map_err(|e| e.origin(format!("listed in {}", path.display()))),
                        path: listed,
                    }),
                )
            }
            None => found.push(Found {
                path: path.clone(),
                text,
            }),
        }
    }
    Ok(found)
}

/// The configs a manifest lists, or `None` when `text` is a config itself.
fn manifest(path: &Path, text: &str) -> Result<Option<Vec<PathBuf>>, DiscoveryError> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(None); // reported when the config is loaded
    };
    let Some(configs) = table.get("configs") else {
        return Ok(None);
    };
    if let Some(other) = table.keys().find(|k| *k != "configs") {
        return Err(DiscoveryError::ManifestKey {
            path: path.to_path_buf(),
            key: other.clone(),
        });
    }
    let shape = || DiscoveryError::ManifestShape {
        path: path.to_path_buf(),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let listed = configs
        .as_array()
        .ok_or_else(shape)?
        .iter()
        .map(|v| v.as_str().map(|s| base.join(s)).ok_or_else(shape))
        .collect::<Result<Vec<_>, _>>()?;
    if listed.is_empty() {
        return Err(DiscoveryError::EmptyManifest {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(listed))
}

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

    fn paths(found: Vec<Found>) -> Vec<PathBuf> {
        found.into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn directories_and_manifests_expand() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tenants")).unwrap();
        std::fs::write(dir.path().join("tenants/b.toml"), "tenant_id = 'x'").unwrap();
        std::fs::write(dir.path().join("tenants/a.toml"), "tenant_id = 'x'").unwrap();
        std::fs::write(dir.path().join("all.toml"), "configs = ['tenants/a.toml']").unwrap();
        let from_dir = expand(&[dir.path().join("tenants")]).unwrap();
        assert_eq!(
            paths(from_dir),
            [
                dir.path().join("tenants/a.toml"),
                dir.path().join("tenants/b.toml")
            ]
        );
        let from_manifest = expand(&[dir.path().join("all.toml")]).unwrap();
        assert_eq!(from_manifest[0].text.as_deref().unwrap(), "tenant_id = 'x'");
        assert_eq!(paths(from_manifest), [dir.path().join("tenants/a.toml")]);
        std::fs::write(dir.path().join("bad.toml"), "configs = ['a']\nextra = 1").unwrap();
        assert!(expand(&[dir.path().join("bad.toml")])
            .unwrap_err()
            .to_string()
            .contains("unknown key `extra`"));
    }

    #[test]
    fn a_manifest_or_directory_that_yields_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("none.toml");
        std::fs::write(&manifest, "configs = []\n").unwrap();
        assert_eq!(
            expand(std::slice::from_ref(&manifest))
                .unwrap_err()
                .to_string(),
            format!(
                "manifest {} lists no config (`configs` is empty)",
                manifest.display()
            )
        );
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        assert!(matches!(
            expand(&[dir.path().join("empty")]),
            Err(DiscoveryError::EmptyDirectory { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_listed_config_names_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("all.toml");
        std::fs::write(&manifest, "configs = ['/dev/zero']\n").unwrap();
        let found = expand(std::slice::from_ref(&manifest)).unwrap();
        assert_eq!(
            found[0].text.as_ref().unwrap_err().to_string(),
            format!(
                "config file /dev/zero (listed in {}) is not a regular file but a character device",
                manifest.display()
            )
        );
    }
}
