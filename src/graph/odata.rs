//! OData literals and query strings, quoted and escaped the way Graph parses them.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters left as they are in a query value: RFC 3986 unreserved, plus `$` for
/// system query option names.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const QUERY_NAME: &AsciiSet = &QUERY.remove(b'$');
/// Characters escaped inside a path segment's key literal.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'\'')
    .remove(b'@')
    .remove(b':');

/// An OData string literal: single quotes around, inner quotes doubled (`O'Brien` ->
/// `'O''Brien'`).
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A `$filter` equality clause: `displayName eq 'MFA Pilot'`.
pub fn eq(property: &str, value: &str) -> String {
    format!("{property} eq {}", quote(value))
}

/// A path segment addressing an entity by an alternate key, percent-encoded for the path:
/// `applications(uniqueName='pandora-itsm-mail')`.
pub fn by_key(collection: &str, key: &str, value: &str) -> String {
    let literal = utf8_percent_encode(&quote(value), PATH).to_string();
    format!("{collection}({key}={literal})")
}

/// A percent-encoded query string (no leading `?`). Spaces become `%20`, never `+`.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, QUERY_NAME),
                utf8_percent_encode(value, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(quote("O'Brien's group"), "'O''Brien''s group'");
        assert_eq!(eq("displayName", "MFA Pilot"), "displayName eq 'MFA Pilot'");
    }

    #[test]
    fn alternate_keys_are_escaped_for_the_path() {
        assert_eq!(
            by_key("applications", "uniqueName", "pandora-itsm-mail"),
            "applications(uniqueName='pandora-itsm-mail')"
        );
        assert_eq!(
            by_key("applications", "uniqueName", "a/b c'd"),
            "applications(uniqueName='a%2Fb%20c''d')"
        );
    }

    #[test]
    fn query_strings_use_percent_20() {
        let pairs = vec![
            ("$filter".to_string(), eq("displayName", "MFA-Test-Group")),
            ("$select".to_string(), "id,displayName".to_string()),
        ];
        assert_eq!(
            encode_query(&pairs),
            "$filter=displayName%20eq%20%27MFA-Test-Group%27&$select=id%2CdisplayName"
        );
    }
}
