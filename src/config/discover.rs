//! Finding and loading the configs `-f` names: a file, every `*.toml` in a directory, or the
//! configs a manifest lists; each read once and bounded, then parsed. The errors are
//! returned whole, with each config's text, for the CLI to show.

use std::path::{Path, PathBuf};

use super::{check_distinct_outputs, ConfigError, Desired, SharedOutputsDirectory};
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

/// A config found by `-f`, loaded.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// Its text, kept for showing the lines its errors point at.
    pub text: Option<String>,
    pub result: Result<Desired, ConfigError>,
}

impl Loaded {
    pub fn source(&self) -> Option<(&Path, &str)> {
        self.text.as_deref().map(|text| (self.path.as_path(), text))
    }
}

pub fn load(found: Found) -> Loaded {
    let Found { path, text } = found;
    match text {
        Ok(text) => Loaded {
            result: super::parse(&text, &path),
            path,
            text: Some(text),
        },
        Err(error) => Loaded {
            path,
            text: None,
            result: Err(ConfigError::Read(error)),
        },
    }
}

/// Why the configs `-f` names cannot be worked on. Nothing has been sent to a tenant.
#[derive(Debug)]
pub enum LoadError {
    /// `-f` named nothing.
    NoConfig,
    Discovery(DiscoveryError),
    /// The configs that failed to load, with their text for showing where.
    Invalid(Vec<Loaded>),
    /// Configs that share an outputs directory: one tenant's secret would overwrite another's.
    SharedOutputs(Vec<SharedOutputsDirectory>),
}

/// Every config `paths` names, loaded and checked together.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Desired>, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoConfig);
    }
    let found = expand(paths).map_err(LoadError::Discovery)?;
    let mut configs = Vec::new();
    let mut failed = Vec::new();
    for loaded in found.into_iter().map(load) {
        match loaded.result {
            Ok(desired) => configs.push(desired),
            Err(_) => failed.push(loaded),
        }
    }
    if !failed.is_empty() {
        return Err(LoadError::Invalid(failed));
    }
    check_distinct_outputs(&configs).map_err(LoadError::SharedOutputs)?;
    Ok(configs)
}

#[cfg(test)]
mod tests {
    use super::*;

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
