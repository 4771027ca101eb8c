//! National clouds and the two endpoints every run needs: Microsoft Graph and the authority.

use clap::ValueEnum;
use serde::Serialize;
use url::Url;

/// The Microsoft cloud a tenant lives in. Custom `--graph-url` / `--authority-host` override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Public,
    /// Azure Government (GCC High / DoD).
    Usgov,
    /// Azure operated by 21Vianet.
    China,
}

impl Cloud {
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::Usgov, Cloud::China];

    /// The domain its key vaults live under: `https://{name}.{domain}`.
    pub fn key_vault_domain(self) -> &'static str {
        match self {
            Cloud::Public => "vault.azure.net",
            Cloud::Usgov => "vault.usgovcloudapi.net",
            Cloud::China => "vault.azure.cn",
        }
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::Usgov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }
}

/// Where Graph and the token endpoint are, after the cloud's defaults and any overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// Graph's root, without the version segment, e.g. `https://graph.microsoft.com`.
    pub graph_url: Url,
    /// The authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("{option} `{value}` is not an absolute URL: {reason}")]
    NotAUrl {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("{option} `{value}` must use https (http is allowed only for localhost)")]
    NotHttps { option: &'static str, value: String },
}

impl Endpoints {
    /// Resolves the endpoints for `cloud`, with `graph_url` / `authority_host` overriding it.
    pub fn resolve(
        cloud: Cloud,
        graph_url: Option<&str>,
        authority_host: Option<&str>,
    ) -> Result<Self, EndpointError> {
        Ok(Self {
            graph_url: parse_endpoint("--graph-url", graph_url.unwrap_or(cloud.graph_url()))?,
            authority_host: parse_endpoint(
                "--authority-host",
                authority_host.unwrap_or(cloud.authority_host()),
            )?,
        })
    }

    /// The `.default` scope a token for Graph is requested with, e.g.
    /// `https://graph.microsoft.com/.default`.
    pub fn graph_scope(&self) -> String {
        format!("{}/.default", self.graph_url.as_str().trim_end_matches('/'))
    }
}

/// Whether `url` points at this machine, where plain http cannot leak a token.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_endpoint(option: &'static str, value: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(value).map_err(|e| EndpointError::NotAUrl {
        option,
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(EndpointError::NotHttps {
            option,
            value: value.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_clouds_have_their_own_hosts() {
        let gov = Endpoints::resolve(Cloud::Usgov, None, None).unwrap();
        assert_eq!(gov.graph_url.as_str(), "https://graph.microsoft.us/");
        assert_eq!(
            gov.authority_host.as_str(),
            "https://login.microsoftonline.us/"
        );
        let china = Endpoints::resolve(Cloud::China, None, None).unwrap();
        assert_eq!(
            china.graph_scope(),
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
        assert_eq!(
            china.authority_host.as_str(),
            "https://login.chinacloudapi.cn/"
        );
    }

    #[test]
    fn custom_endpoints_override_the_cloud() {
        let e = Endpoints::resolve(Cloud::China, Some("https://127.0.0.1:8443"), None).unwrap();
        assert_eq!(e.graph_url.as_str(), "https://127.0.0.1:8443/");
        assert_eq!(e.authority_host.as_str(), "https://login.chinacloudapi.cn/");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(Endpoints::resolve(Cloud::Public, Some("http://localhost:8080"), None).is_ok());
        let err =
            Endpoints::resolve(Cloud::Public, Some("http://graph.example.com"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--graph-url `http://graph.example.com` must use https (http is allowed only for localhost)"
        );
    }
}
