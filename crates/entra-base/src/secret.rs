//! A string that must never reach a log, a plan, an error or a panic message.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Holds a secret value. `Debug` and `Display` print `(sensitive)`; the value is reachable
/// only through [`SecretString::expose`], so every place that reveals it is greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself. Call only where the secret is meant to go (outputs file, stdout on
    /// request, an Authorization header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = SecretString::new("hunter2-value");
        assert_eq!(format!("{secret:?}"), "(sensitive)");
        assert_eq!(format!("{secret}"), "(sensitive)");
        assert_eq!(secret.expose(), "hunter2-value");
    }
}
