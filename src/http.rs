//! The one HTTP stack: a reqwest client that Graph calls and token requests share, so a
//! corporate CA or the simulator's CA is trusted by both.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to build the shared HTTP client.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// PEM files with extra trusted roots (`--ca-cert`, `SSL_CERT_FILE`).
    pub ca_certs: Vec<PathBuf>,
    /// Extra trusted roots given as PEM text (the in-process simulator's CA).
    pub ca_pems: Vec<String>,
    pub connect_timeout: Duration,
    /// Longest a single request may take, headers and body.
    pub request_timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            ca_certs: Vec::new(),
            ca_pems: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(100),
        }
    }
}

impl TransportOptions {
    /// Timeouts no longer than `budget` (`--timeout`), so no single request, Graph's or the
    /// token endpoint's, outlasts it.
    pub fn bounded_by(mut self, budget: Duration) -> Self {
        self.connect_timeout = self.connect_timeout.min(budget);
        self.request_timeout = self.request_timeout.min(budget);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    ReadCaCert(#[from] crate::fsutil::ReadError),
    #[error("{} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} is not a valid PEM certificate bundle: {reason}", path.display())]
    BadCaCert { path: PathBuf, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// Builds the client: our User-Agent, timeouts, no redirects, and the platform's roots plus
/// extra ones.
pub fn build_client(options: &TransportOptions) -> Result<reqwest::Client, TransportError> {
    let mut extra_roots = Vec::new();
    for path in &options.ca_certs {
        extra_roots.extend(read_pem_bundle(path)?);
    }
    for pem in &options.ca_pems {
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            TransportError::BadCaCert {
                path: PathBuf::from("(built-in simulator CA)"),
                reason: e.to_string(),
            }
        })?;
        extra_roots.extend(certificates);
    }
    reqwest::Client::builder()
        .user_agent(crate::USER_AGENT)
        // Neither Graph nor the token endpoint needs a redirect, and following a 307 or 308
        // would send a client secret or an assertion on to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .tls_certs_merge(extra_roots)
        .build()
        .map_err(TransportError::Build)
}

fn read_pem_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let pem = crate::fsutil::read_bounded(path, "CA certificate file", crate::fsutil::INPUT_LIMIT)?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(TransportError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| TransportError::BadCaCert {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_is_named() {
        let options = TransportOptions {
            ca_certs: vec![PathBuf::from("/nonexistent/ca.pem")],
            ..TransportOptions::default()
        };
        let err = build_client(&options).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot read CA certificate file /nonexistent/ca.pem:"));
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_unread() {
        let options = TransportOptions {
            ca_certs: vec![PathBuf::from("/dev/zero")],
            ..TransportOptions::default()
        };
        assert_eq!(
            build_client(&options).unwrap_err().to_string(),
            "CA certificate file /dev/zero is not a regular file but a character device"
        );
    }

    #[test]
    fn timeouts_fit_in_the_budget() {
        let short = TransportOptions::default().bounded_by(Duration::from_secs(5));
        assert_eq!(short.connect_timeout, Duration::from_secs(5));
        assert_eq!(short.request_timeout, Duration::from_secs(5));
        let long = TransportOptions::default().bounded_by(Duration::from_secs(300));
        assert_eq!(long.connect_timeout, Duration::from_secs(10));
        assert_eq!(long.request_timeout, Duration::from_secs(100));
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let options = TransportOptions {
            ca_certs: vec![path.clone()],
            ..TransportOptions::default()
        };
        let err = build_client(&options).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                path.display()
            )
        );
    }
}
