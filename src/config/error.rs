//! Config errors: each one names the file, line, column (when it can be located) and key,
//! and says what is allowed.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::location::LineColumn;

/// One problem in a config (or a file it references), located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// Where in `file`; `None` when the problem cannot be pinned to a place (printed as just
    /// the file, never as a made-up `1:1`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub at: Option<LineColumn>,
    /// The key path (`app.redirect_uris[0]`), or a JSON pointer in a policy file; empty for
    /// a syntax error outside any key.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{}:{}:{}: ", self.file.display(), at.line, at.column)?,
            None => write!(f, "{}: ", self.file.display())?,
        }
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("{}", render_all(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// The located problems, empty for an unreadable file.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid(diagnostics) => diagnostics,
            ConfigError::Read(_) => &[],
        }
    }
}

fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
