//! Workload identity federation from a token file (`AZURE_FEDERATED_TOKEN_FILE`, as
//! Kubernetes projects it): the file's JWT is the client assertion. Read through
//! [`crate::fsutil::read_bounded`], unlike azure_identity's own, which reads whatever the
//! variable names to its end (`/dev/zero` forever).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;

use crate::fsutil::{read_bounded, ReadError, INPUT_LIMIT};
use crate::secret::SecretString;

/// The projected token is rotated on disk; a copy this old is read again.
const REREAD_AFTER: Duration = Duration::from_secs(300);

pub struct FederatedTokenFile {
    path: PathBuf,
    cached: Mutex<(SecretString, Instant)>,
}

impl std::fmt::Debug for FederatedTokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederatedTokenFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FederatedTokenFile {
    /// Reads the file once now, so a wrong path is reported before any request.
    pub fn new(path: PathBuf) -> Result<Self, ReadError> {
        let token = Self::read(&path)?;
        Ok(Self {
            path,
            cached: Mutex::new((token, Instant::now())),
        })
    }

    fn read(path: &std::path::Path) -> Result<SecretString, ReadError> {
        let text = read_bounded(path, "federated token file", INPUT_LIMIT)?;
        Ok(SecretString::new(text.trim().to_string()))
    }

    fn token(&self) -> Result<String, ReadError> {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.1.elapsed() >= REREAD_AFTER {
            *cached = (Self::read(&self.path)?, Instant::now());
        }
        Ok(cached.0.expose().to_string())
    }
}

#[async_trait::async_trait]
impl ClientAssertion for FederatedTokenFile {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.token().map_err(|e| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, e.to_string())
        })
    }
}
