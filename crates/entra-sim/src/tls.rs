//! The simulator's TLS: a CA made at start, and a server certificate it signs for loopback.
//! Clients trust the CA through `--ca-cert` / `SSL_CERT_FILE`, exactly as they would trust
//! a corporate TLS-inspection CA, so the production TLS path is what gets exercised.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;

/// The CA (as PEM, for clients) and a rustls config serving a certificate it signed.
pub struct SimTls {
    pub ca_pem: String,
    pub server_config: Arc<ServerConfig>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the simulator's TLS: {0}")]
pub struct TlsError(String);

/// Makes a fresh CA and a server certificate for `localhost`, `127.0.0.1` and `::1`.
pub fn generate() -> Result<SimTls, TlsError> {
    let fail = |e: &dyn std::fmt::Display| TlsError(e.to_string());

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "entra-mail simulated tenant CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| fail(&e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let mut server_params = CertificateParams::new(names).map_err(|e| fail(&e))?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "entra-mail simulated tenant");
    let server_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(|e| fail(&e))?;

    let chain = vec![
        CertificateDer::from(server_cert.der().to_vec()),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| fail(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(SimTls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}
