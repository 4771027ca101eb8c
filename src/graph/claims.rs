//! An access token's claims, decoded, not verified: for saying who we are and what we may do
//! (and when a token someone handed us expires), never for security decisions.

use base64::Engine;
use serde_json::Value;
use time::OffsetDateTime;

/// The payload of a JWT, without verifying it.
pub fn decode_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The claims Microsoft Entra puts in an access token, read by name.
#[derive(Debug, Clone, Copy)]
pub struct Claims<'a>(&'a Value);

impl<'a> Claims<'a> {
    pub fn new(claims: &'a Value) -> Self {
        Self(claims)
    }

    /// A string claim (`tid`, `oid`, `appid`, `upn`, `app_displayname`...), when present.
    pub fn text(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// A signed-in user's token (delegated: it has scopes, `scp`), not an app's own.
    pub fn delegated(&self) -> bool {
        self.0.get("scp").is_some()
    }

    /// What the token may do: a user's delegated scopes (`scp`) or an app's roles (`roles`).
    pub fn permissions(&self) -> Vec<String> {
        if self.delegated() {
            self.text("scp")
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect()
        } else {
            self.strings("roles").map(String::from).collect()
        }
    }

    /// The template ids of the directory roles a signed-in user holds (`wids`), lowercased.
    pub fn directory_roles(&self) -> Vec<String> {
        self.strings("wids").map(str::to_ascii_lowercase).collect()
    }

    /// When the token expires (`exp`).
    pub fn expires(&self) -> Option<OffsetDateTime> {
        self.0
            .get("exp")
            .and_then(Value::as_i64)
            .and_then(|exp| OffsetDateTime::from_unix_timestamp(exp).ok())
    }

    fn strings(&self, key: &str) -> impl Iterator<Item = &'a str> {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(claims: &Value) -> String {
        let encode = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!("{}.{}.sig", encode(&json!({"alg": "none"})), encode(claims))
    }

    #[test]
    fn an_apps_token_is_read() {
        let value = decode_claims(&token(&json!({
            "tid": "t", "appid": "a", "roles": ["Application.ReadWrite.All"], "exp": 1_700_000_000
        })))
        .unwrap();
        let claims = Claims::new(&value);
        assert!(!claims.delegated());
        assert_eq!(claims.text("appid"), Some("a"));
        assert_eq!(claims.permissions(), ["Application.ReadWrite.All"]);
        assert_eq!(
            claims.expires(),
            OffsetDateTime::from_unix_timestamp(1_700_000_000).ok()
        );
    }

    #[test]
    fn a_users_token_is_read() {
        let value = json!({"scp": "Policy.Read.All  User.Read", "wids": ["B1BE1C3E-X"]});
        let claims = Claims::new(&value);
        assert!(claims.delegated());
        assert_eq!(claims.permissions(), ["Policy.Read.All", "User.Read"]);
        assert_eq!(claims.directory_roles(), ["b1be1c3e-x"]);
        assert_eq!(claims.expires(), None);
    }

    #[test]
    fn what_is_not_a_jwt_has_no_claims() {
        assert_eq!(decode_claims("opaque"), None);
        assert_eq!(decode_claims("a.!!!.c"), None);
    }
}
