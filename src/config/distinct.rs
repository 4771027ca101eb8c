//! One outputs directory, and one Key Vault secret, per config in a run: two configs writing
//! to one would overwrite each other's `outputs.json` or vault secret, and with it the only
//! copy of a client secret.

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use super::Desired;

/// Configs of one run whose outputs resolve to the same directory, or whose secrets go to
/// the same Key Vault secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(self))]
pub struct SharedOutputsDirectory {
    /// The directory as the filesystem resolves it; for a vault secret, `vault/secrets/name`.
    pub directory: PathBuf,
    /// The config files, in the order given.
    pub configs: Vec<PathBuf>,
    /// The destination is a Key Vault secret, not a directory.
    pub vault_secret: bool,
}

fn describe(shared: &SharedOutputsDirectory) -> String {
    if shared.vault_secret {
        format!(
            "{} deliver their client secrets to the same Key Vault secret {}, each overwriting the other's; set a distinct secret.key_vault_secret in each config",
            Files(&shared.configs),
            shared.directory.display()
        )
    } else {
        format!(
            "{} write their outputs to the same directory {}; set a distinct [outputs] directory in each config",
            Files(&shared.configs),
            shared.directory.display()
        )
    }
}

/// `a`, `a and b`, `a, b and c`.
struct Files<'a>(&'a [PathBuf]);

impl fmt::Display for Files<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, path) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == self.0.len() { " and " } else { ", " })?;
            }
            write!(f, "{}", path.display())?;
        }
        Ok(())
    }
}

/// Fails when two or more `configs` would write to one outputs directory, however the paths
/// are spelled (`out`, `./x/../out`, a symlink to `out`). Reads the filesystem, writes nothing.
pub fn check_distinct_outputs(configs: &[Desired]) -> Result<(), Vec<SharedOutputsDirectory>> {
    let mut groups: Vec<SharedOutputsDirectory> = Vec::new();
    let mut index: HashMap<(bool, PathBuf), usize> = HashMap::new();
    for desired in configs {
        let mut destinations = vec![(false, resolved(&desired.outputs.directory))];
        if let Some(kv) = &desired.secret.key_vault {
            // Vault and secret names are case-insensitive; a vault named by URL or by name
            // is one vault.
            let vault = crate::vault::vault_name(&kv.vault).unwrap_or_else(|| kv.vault.to_string());
            let secret = format!("{vault}/secrets/{}", kv.secret_name).to_ascii_lowercase();
            destinations.push((true, PathBuf::from(secret)));
        }
        for key in destinations {
            match index.get(&key) {
                Some(&i) => groups[i].configs.push(desired.source.clone()),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push(SharedOutputsDirectory {
                        directory: key.1,
                        configs: vec![desired.source.clone()],
                        vault_secret: key.0,
                    });
                }
            }
        }
    }
    let shared: Vec<_> = groups.into_iter().filter(|g| g.configs.len() > 1).collect();
    if shared.is_empty() {
        Ok(())
    } else {
        Err(shared)
    }
}

/// `directory` as the kernel will find it: the longest existing ancestor canonicalised (so
/// symlinks and `..` resolve as they would on disk), the part not yet made normalised lexically
/// (nothing there can be a link yet).
fn resolved(directory: &Path) -> PathBuf {
    let absolute = std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf());
    let components: Vec<Component<'_>> = absolute.components().collect();
    for split in (1..=components.len()).rev() {
        let existing: PathBuf = components[..split].iter().collect();
        if let Ok(canonical) = std::fs::canonicalize(&existing) {
            return normalise(canonical, &components[split..]);
        }
    }
    normalise(PathBuf::new(), &components)
}

fn normalise(mut base: PathBuf, rest: &[Component<'_>]) -> PathBuf {
    for component in rest {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                base.pop();
            }
            other => base.push(other.as_os_str()),
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
tenant_id = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10"
[app]
unique_name = "NAME"
display_name = "Pandora ITSM mail"
[[permissions]]
resource = "Microsoft Graph"
delegated = ["IMAP.AccessAsUser.All"]
"#;

    /// A config at `dir/file` for app `name`, with `directory` as its outputs (or the default).
    fn config(dir: &Path, file: &str, name: &str, directory: Option<&str>) -> Desired {
        let mut text = CONFIG.replace("NAME", name);
        if let Some(directory) = directory {
            text.push_str(&format!("[outputs]\ndirectory = {directory:?}\n"));
        }
        crate::config::parse(&text, &dir.join(file)).unwrap()
    }

    #[test]
    fn the_default_directory_is_per_app_beside_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let a = config(dir.path(), "a.toml", "mail-a", None);
        let b = config(dir.path(), "b.toml", "mail-b", None);
        assert_eq!(
            a.outputs.directory,
            dir.path().join("entra-mail-out/mail-a")
        );
        assert_eq!(check_distinct_outputs(&[a, b]), Ok(()));
    }

    #[test]
    fn one_directory_spelled_two_ways_is_refused_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("x")).unwrap();
        let a = config(dir.path(), "a.toml", "mail-a", Some("out"));
        let b = config(dir.path(), "b.toml", "mail-b", Some("./x/../out"));
        let c = config(dir.path(), "c.toml", "mail-c", Some("elsewhere"));
        let errors = check_distinct_outputs(&[a, b, c]).unwrap_err();
        assert_eq!(errors.len(), 1);
        let message = errors[0].to_string();
        for expected in [
            "a.toml and ",
            "b.toml write their outputs to the same directory ",
            "out; set a distinct [outputs] directory",
        ] {
            assert!(message.contains(expected), "{expected:?} in {message}");
        }
        assert!(!message.contains("c.toml"), "{message}");
    }

    #[test]
    fn a_path_through_a_missing_folder_is_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let a = config(dir.path(), "a.toml", "mail-a", Some("gone/../out"));
        let b = config(dir.path(), "b.toml", "mail-b", Some("out/."));
        assert_eq!(check_distinct_outputs(&[a, b]).unwrap_err().len(), 1);
    }

    #[test]
    fn same_unique_name_in_one_folder_collides_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let a = config(dir.path(), "a.toml", "mail", None);
        let b = config(dir.path(), "b.toml", "mail", None);
        assert!(check_distinct_outputs(&[a, b]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_folder_is_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let a = config(dir.path(), "a.toml", "mail-a", Some("real/out"));
        let b = config(dir.path(), "b.toml", "mail-b", Some("link/out"));
        assert_eq!(check_distinct_outputs(&[a, b]).unwrap_err().len(), 1);
        // And `link/..` is where the link's target sits, not where the link does.
        std::fs::create_dir_all(dir.path().join("deep/er")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("deep/er"), dir.path().join("short")).unwrap();
        let c = config(dir.path(), "c.toml", "mail-c", Some("short/../out"));
        let d = config(dir.path(), "d.toml", "mail-d", Some("deep/out"));
        assert_eq!(check_distinct_outputs(&[c, d]).unwrap_err().len(), 1);
    }

    #[test]
    fn three_configs_are_listed_together() {
        let dir = tempfile::tempdir().unwrap();
        let configs: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|n| config(dir.path(), &format!("{n}.toml"), n, Some("out")))
            .collect();
        let errors = check_distinct_outputs(&configs).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].configs.len(), 3);
        assert!(errors[0].to_string().contains("a.toml, "), "{}", errors[0]);
    }

    #[test]
    fn one_vault_secret_named_two_ways_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let with_vault = |file: &str, name: &str, vault: &str, secret: &str| {
            let text = CONFIG.replace("NAME", name).replace(
                "[[permissions]]",
                &format!("[secret]\nkey_vault = {vault:?}\nkey_vault_secret = {secret:?}\n[[permissions]]"),
            );
            crate::config::parse(&text, &dir.path().join(file)).unwrap()
        };
        let a = with_vault("a.toml", "mail-a", "contoso-itsm", "mail");
        let b = with_vault(
            "b.toml",
            "mail-b",
            "https://Contoso-ITSM.vault.azure.net",
            "MAIL",
        );
        let c = with_vault("c.toml", "mail-c", "contoso-itsm", "other");
        let errors = check_distinct_outputs(&[a, b, c]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let message = errors[0].to_string();
        assert!(message.contains("a.toml and "), "{message}");
        assert!(
            message.contains("the same Key Vault secret contoso-itsm/secrets/mail"),
            "{message}"
        );
    }
}
