//! The outputs file: what apply learned (ids) and the one copy of the client secret.
//! Written atomically with mode 0600 in a 0700 directory; the tenant keeps no copy of the
//! secret's value.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::fsutil::{
    create_private_dir_all, create_private_new, write_private_atomically, INPUT_LIMIT,
};
use crate::secret::SecretString;

pub const FILE_NAME: &str = "outputs.json";

/// Everything apply produced for one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    pub tenant_id: Uuid,
    pub unique_name: String,
    pub client_id: String,
    pub application_object_id: String,
    pub service_principal_id: Option<String>,
    pub secret: Option<HeldSecret>,
}

/// A client secret whose value we hold.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldSecret {
    pub key_id: Uuid,
    pub display_name: String,
    pub value: SecretString,
    pub expires: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputsError {
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("{} is not a valid outputs file: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the outputs directory {} is not writable ({source}); nothing was sent to the tenant: fix outputs.directory or its permissions", path.display())]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {} (the previous file is left as it was): {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make {} private (mode {:04o}): {source}", path.display(), mode)]
    Narrow {
        path: PathBuf,
        mode: u32,
        #[source]
        source: std::io::Error,
    },
}

/// The file format. Kept separate so the secret's value is serialized only here.
#[derive(Serialize, Deserialize)]
struct FileFormat {
    format_version: u32,
    tenant_id: Uuid,
    unique_name: String,
    client_id: String,
    application_object_id: String,
    service_principal_id: Option<String>,
    client_secret: Option<SecretFormat>,
}

#[derive(Serialize, Deserialize)]
struct SecretFormat {
    key_id: Uuid,
    display_name: String,
    value: String,
    #[serde(with = "time::serde::rfc3339")]
    expires: OffsetDateTime,
}

impl Outputs {
    pub fn path_in(directory: &Path) -> PathBuf {
        directory.join(FILE_NAME)
    }

    /// Reads the outputs in `directory`; `None` when there are none yet.
    pub fn read(directory: &Path) -> Result<Option<Outputs>, OutputsError> {
        let path = Self::path_in(directory);
        let text = match crate::fsutil::read_bounded(&path, "outputs file", INPUT_LIMIT) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(OutputsError::Read(e)),
        };
        let file: FileFormat = serde_json::from_str(&text).map_err(|e| OutputsError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Some(Outputs {
            tenant_id: file.tenant_id,
            unique_name: file.unique_name,
            client_id: file.client_id,
            application_object_id: file.application_object_id,
            service_principal_id: file.service_principal_id,
            secret: file.client_secret.map(|s| HeldSecret {
                key_id: s.key_id,
                display_name: s.display_name,
                value: SecretString::new(s.value),
                expires: s.expires,
            }),
        }))
    }

    /// Writes the outputs into `directory` (created 0700 if needed), atomically, mode 0600.
    pub fn write(&self, directory: &Path) -> Result<PathBuf, OutputsError> {
        let path = Self::path_in(directory);
        let file = FileFormat {
            format_version: 1,
            tenant_id: self.tenant_id,
            unique_name: self.unique_name.clone(),
            client_id: self.client_id.clone(),
            application_object_id: self.application_object_id.clone(),
            service_principal_id: self.service_principal_id.clone(),
            client_secret: self.secret.as_ref().map(|s| SecretFormat {
                key_id: s.key_id,
                display_name: s.display_name.clone(),
                value: s.value.expose().to_string(),
                expires: s.expires,
            }),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| OutputsError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        create_private_dir_all(directory).map_err(|source| OutputsError::Write {
            path: path.clone(),
            source,
        })?;
        write_private_atomically(&path, &bytes).map_err(|source| OutputsError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// Fails unless `directory` can hold the outputs: checked before apply writes to the tenant,
/// because a secret Graph shows once must have somewhere to go. The probe is a new file with
/// an unguessable name, so no file or link planted in the directory is truncated or followed.
pub fn check_writable(directory: &Path) -> Result<(), OutputsError> {
    let fail = |source: std::io::Error| OutputsError::NotWritable {
        path: directory.to_path_buf(),
        source,
    };
    create_private_dir_all(directory).map_err(fail)?;
    let probe = directory.join(format!(".entra-mail-probe-{}", Uuid::new_v4().simple()));
    drop(create_private_new(&probe).map_err(fail)?);
    std::fs::remove_file(&probe).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Outputs {
        Outputs {
            tenant_id: Uuid::nil(),
            unique_name: "pandora-itsm-mail".into(),
            client_id: "c".into(),
            application_object_id: "o".into(),
            service_principal_id: Some("s".into()),
            secret: Some(HeldSecret {
                key_id: Uuid::nil(),
                display_name: "entra-mail".into(),
                value: SecretString::new("abc~value"),
                expires: time::macros::datetime!(2027-05-28 00:00 UTC),
            }),
        }
    }

    #[test]
    fn round_trips_through_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample().write(dir.path()).unwrap();
        assert_eq!(Outputs::read(dir.path()).unwrap(), Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_missing_file_is_none_and_a_broken_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Outputs::read(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(FILE_NAME), "{").unwrap();
        let error = Outputs::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("is not a valid outputs file"), "{error}");
        assert!(!error.contains("abc~value"));
    }

    #[cfg(unix)]
    #[test]
    fn the_writability_probe_truncates_and_follows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, "not yours").unwrap();
        // Every name an earlier version probed with is predictable: plant a file at one and
        // a link at the other.
        let pid = std::process::id();
        let planted_file = dir.path().join(format!(".entra-mail-probe-{pid}"));
        std::fs::write(&planted_file, "someone's data").unwrap();
        let planted_link = dir.path().join(format!(".entra-mail-probe-{}", pid + 1));
        std::os::unix::fs::symlink(&victim, &planted_link).unwrap();

        check_writable(dir.path()).unwrap();

        assert_eq!(
            std::fs::read_to_string(&planted_file).unwrap(),
            "someone's data"
        );
        assert!(std::fs::symlink_metadata(&planted_link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not yours");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "the probe is gone"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_new_outputs_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outputs = dir.path().join("entra-mail-out/pandora-itsm-mail");
        check_writable(&outputs).unwrap();
        for path in [outputs.parent().unwrap(), outputs.as_path()] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", path.display());
        }
    }
}
