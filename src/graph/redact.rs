//! Redaction for `--trace-http`: bodies are shown with every secret and token replaced.

use serde_json::Value;

pub const REDACTED: &str = "(redacted)";

/// Keys whose values are secrets wherever they appear (compared case-insensitively).
const SENSITIVE_KEYS: &[&str] = &[
    "secretText",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "client_assertion",
    "password",
    "device_code",
];

fn is_sensitive(key: &str) -> bool {
    SENSITIVE_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// A copy of `value` with sensitive values replaced.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive(k) {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// A body as text for the trace: JSON redacted, form bodies redacted per field, anything
/// else summarised by size (it could hold anything).
pub fn redact_body(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(empty body)".into();
    }
    if let Ok(json) = serde_json::from_slice::<Value>(bytes) {
        return redact_json(&json).to_string();
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return format!("({} bytes, not text)", bytes.len());
    };
    if text.contains('=') && !text.contains(char::is_whitespace) {
        return text
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_sensitive(k) => format!("{k}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&");
    }
    format!("({} bytes of non-JSON text)", bytes.len())
}

/// A header value for the trace; credentials are hidden.
pub fn redact_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {REDACTED}"),
            None => REDACTED.into(),
        }
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_replaced_at_any_depth() {
        let body =
            json!({"keyId": "k1", "secretText": "abcSECRET", "nested": [{"Client_Secret": "x"}]});
        let out = redact_json(&body).to_string();
        assert!(!out.contains("abcSECRET"));
        assert!(out.contains("\"keyId\":\"k1\""));
        assert!(out.contains("\"Client_Secret\":\"(redacted)\""));
    }

    #[test]
    fn form_bodies_are_redacted_per_field() {
        let out = redact_body(b"grant_type=client_credentials&client_id=abc&client_secret=s3cr3t");
        assert_eq!(
            out,
            "grant_type=client_credentials&client_id=abc&client_secret=(redacted)"
        );
    }

    #[test]
    fn authorization_keeps_only_its_scheme() {
        assert_eq!(
            redact_header("Authorization", "Bearer eyJ.abc"),
            "Bearer (redacted)"
        );
        assert_eq!(redact_header("request-id", "r1"), "r1");
    }
}
