//! Certificate sign-in (`AZURE_CLIENT_CERTIFICATE_PATH`): a client assertion JWT signed with
//! the certificate's RSA key (RS256), as Entra expects, without OpenSSL.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

/// Signs client assertions for one app with one certificate.
pub struct CertificateAssertion {
    client_id: String,
    token_endpoint: String,
    key: RsaKeyPair,
    certificate_der: Vec<u8>,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); a PFX file can be converted with `openssl pkcs12 -in cert.pfx -out cert.pem -nodes`", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} holds no private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)", path.display())]
    NoKey { path: PathBuf },
    #[error("the private key in {} is not an RSA key Entra accepts for client assertions: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
}

impl CertificateAssertion {
    /// Loads a PEM file holding the certificate and its private key.
    pub fn from_pem_file(
        path: &Path,
        client_id: &str,
        token_endpoint: &str,
    ) -> Result<Self, CertificateError> {
        let pem =
            crate::fsutil::read_bounded(path, "certificate file", crate::fsutil::INPUT_LIMIT)?;
        let pem = pem.as_bytes();
        let certificate = CertificateDer::pem_slice_iter(pem)
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| CertificateError::NoCertificate { path: path.into() })?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| CertificateError::NoKey { path: path.into() })?;
        let key = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => {
                return Err(CertificateError::BadKey {
                    path: path.into(),
                    reason: "only RSA keys are supported".into(),
                })
            }
        }
        .map_err(|e| CertificateError::BadKey {
            path: path.into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            client_id: client_id.to_string(),
            token_endpoint: token_endpoint.to_string(),
            key,
            certificate_der: certificate.to_vec(),
        })
    }

    /// `x5t`: base64url SHA-1 thumbprint of the certificate, as registered in Entra.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &self.certificate_der,
        ))
    }

    fn thumbprint_sha256(&self) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &self.certificate_der,
        ))
    }

    /// A fresh signed assertion, valid for ten minutes.
    pub fn assertion(&self) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint(), "x5t#S256": self.thumbprint_sha256(),
            "x5c": [STANDARD.encode(&self.certificate_der)]});
        let claims = json!({"aud": self.token_endpoint, "iss": self.client_id, "sub": self.client_id,
            "jti": uuid::Uuid::new_v4(), "nbf": now, "iat": now, "exp": now + 600});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| format!("cannot sign the client assertion: {e}"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.assertion().map_err(|message| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        })
    }
}
