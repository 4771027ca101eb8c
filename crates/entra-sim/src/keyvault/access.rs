//! Who may use a vault: Key Vault's token checks (each refusal a 401 with the challenge) and
//! its per-principal secret permissions (a 403 in the RBAC or the access-policy wording).

use std::time::Instant;

use axum::http::HeaderMap;

use super::replies::{forbidden, unauthorized};
use super::{KeyVault, LOCATION, VAULT_AUDIENCE};
use crate::graph::Reply;
use crate::state::{Inner, IssuedToken};

/// A secret permission, as access policies name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Get,
    Set,
    List,
    Delete,
    Purge,
}

impl Permission {
    /// The access-policy name (`--secret-permissions get`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::List => "list",
            Self::Delete => "delete",
            Self::Purge => "purge",
        }
    }

    /// The Azure RBAC data action.
    fn action(self) -> &'static str {
        match self {
            Self::Get => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            Self::Set => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            Self::List => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            Self::Delete => "Microsoft.KeyVault/vaults/secrets/delete",
            Self::Purge => "Microsoft.KeyVault/vaults/secrets/purge/action",
        }
    }
}

/// The token of a request to a vault of `tenant_id`, or Key Vault's 401.
pub fn authenticate(
    inner: &Inner,
    base: &str,
    tenant_id: &str,
    headers: &HeaderMap,
) -> Result<IssuedToken, Reply> {
    let refuse = |message: String| unauthorized(base, tenant_id, message);
    let Some(token) = crate::token::bearer(headers) else {
        return Err(refuse(
            "AKV10000: Request is missing a Bearer or PoP token.".into(),
        ));
    };
    // A token the simulator did not issue cannot be verified: its signing key is unknown.
    let Some(issued) = inner.tokens.get(token) else {
        return Err(refuse(
            "AKV10046: Unable to resolve the key used for signature validation.".into(),
        ));
    };
    if issued.audience != VAULT_AUDIENCE {
        return Err(refuse(format!(
            "AKV10022: Invalid audience. Expected {VAULT_AUDIENCE}, found: {}.",
            issued.audience
        )));
    }
    if issued.tenant_id != tenant_id {
        return Err(refuse(format!(
            "AKV10032: Invalid issuer. Expected one of {}, found {}.",
            issuer(tenant_id),
            issuer(&issued.tenant_id)
        )));
    }
    if Instant::now() >= issued.expires_at {
        return Err(refuse("Token is expired.".into()));
    }
    Ok(issued.clone())
}

/// The `iss` of an access token (v1.0) of `tenant_id`.
fn issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// Whether `caller` may do `permission` on secret `secret` of `vault`, or Key Vault's 403.
pub fn authorize(
    vault: &KeyVault,
    vault_name: &str,
    caller: &IssuedToken,
    permission: Permission,
    secret: &str,
) -> Result<(), Reply> {
    let allowed = vault.access.get(&caller.object_id).is_some_and(|held| {
        held.iter()
            .any(|p| p.eq_ignore_ascii_case(permission.name()))
    });
    if allowed {
        return Ok(());
    }
    let who = format!(
        "appid={};oid={};iss={}",
        caller.app_id,
        caller.object_id,
        issuer(&caller.tenant_id)
    );
    let (message, code) = if vault.rbac {
        (
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: {who}\r\nAction: '{}'\r\nResource: '{}'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\nVault: {vault_name};location={LOCATION}\r\n",
                permission.action(),
                resource_id(vault_name, secret)
            ),
            "ForbiddenByRbac",
        )
    } else {
        (
            format!(
                "The user, group or application '{who}' does not have secrets {} permission on key vault '{vault_name};location={LOCATION}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                permission.name()
            ),
            "AccessDenied",
        )
    };
    Err(forbidden(&message, code))
}

/// The secret's Azure resource id. The simulator has no subscription: a fixed one stands in.
fn resource_id(vault: &str, secret: &str) -> String {
    format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/entra-mail-sim/providers/microsoft.keyvault/vaults/{vault}/secrets/{secret}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Reply;

    fn caller() -> IssuedToken {
        IssuedToken {
            tenant_id: "t1".into(),
            audience: VAULT_AUDIENCE.into(),
            expires_at: Instant::now() + std::time::Duration::from_secs(60),
            object_id: "sp1".into(),
            app_id: "app1".into(),
            roles: Vec::new(),
            scopes: None,
            user_principal_name: None,
            app_display_name: None,
            directory_roles: Vec::new(),
        }
    }

    fn message_and_code(reply: &Reply) -> (String, String) {
        let body = reply.body.clone().unwrap_or_default();
        (
            body["error"]["message"].as_str().unwrap_or_default().into(),
            body["error"]["innererror"]["code"]
                .as_str()
                .unwrap_or_default()
                .into(),
        )
    }

    #[test]
    fn a_granted_permission_allows_and_another_does_not() {
        let vault = KeyVault::granting("sp1");
        assert!(authorize(&vault, "kv", &caller(), Permission::Get, "s").is_ok());
        let refused = authorize(&vault, "kv", &caller(), Permission::Purge, "s").unwrap_err();
        assert_eq!(refused.status, 403);
        let (message, code) = message_and_code(&refused);
        assert_eq!(code, "ForbiddenByRbac");
        assert!(message.contains("Caller: appid=app1;oid=sp1;iss=https://sts.windows.net/t1/\r\n"));
        assert!(message.contains("Action: 'Microsoft.KeyVault/vaults/secrets/purge/action'"));
        assert!(message.contains("Vault: kv;location=westeurope"));
    }

    #[test]
    fn access_policy_vaults_refuse_in_their_own_words() {
        let vault = KeyVault {
            rbac: false,
            ..KeyVault::default()
        };
        let refused = authorize(&vault, "kv", &caller(), Permission::Set, "s").unwrap_err();
        let (message, code) = message_and_code(&refused);
        assert_eq!(code, "AccessDenied");
        assert!(message.starts_with("The user, group or application 'appid=app1;oid=sp1;"));
        assert!(message.contains(
            "does not have secrets set permission on key vault 'kv;location=westeurope'"
        ));
    }
}
