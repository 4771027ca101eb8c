//! The desired-state file: schema, defaults and validation, all before any network call.
//!
//! `load` reads a TOML file into a [`Desired`]; every problem comes back as a
//! [`Diagnostic`] that names the file, line, column and key.

mod desired;
mod distinct;
mod error;
pub mod location;
pub mod policy;
mod resolve;
mod schema;

use std::path::Path;

pub use desired::*;
pub use distinct::{check_distinct_outputs, SharedOutputsDirectory};
pub use error::{ConfigError, Diagnostic};
pub use resolve::defaults;

use location::{LineColumn, SpanIndex};
use resolve::{Location, Problem};

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<Desired, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates `text` as if read from `path` (relative paths in it are anchored there).
pub fn parse(text: &str, path: &Path) -> Result<Desired, ConfigError> {
    let index = SpanIndex::new(text);
    let syntax = |e: toml::de::Error| {
        let offset = e.span().map_or(0, |s| s.start);
        let at = LineColumn::of_offset(text, offset);
        Diagnostic {
            file: path.to_path_buf(),
            line: at.line,
            column: at.column,
            key: index
                .path_at(offset)
                .map(|p| p.to_string())
                .unwrap_or_default(),
            message: e.message().trim_end().to_string(),
        }
    };
    let mut table =
        toml::de::DeTable::parse(text).map_err(|e| ConfigError::Invalid(vec![syntax(e)]))?;
    // Unknown keys are reported and dropped first, so they hide no other problem.
    let mut diagnostics: Vec<Diagnostic> = schema::remove_unknown_keys(table.get_mut())
        .into_iter()
        .map(|unknown| {
            let at = LineColumn::of_offset(text, unknown.offset);
            Diagnostic {
                file: path.to_path_buf(),
                line: at.line,
                column: at.column,
                key: unknown.path.to_string(),
                message: unknown.message,
            }
        })
        .collect();
    let resolved = serde::Deserialize::deserialize(toml::de::Deserializer::from(table))
        .map_err(|e| vec![syntax(e)])
        .and_then(|file: schema::FileConfig| {
            resolve::resolve(file, path).map_err(|problems| {
                problems
                    .into_iter()
                    .map(|problem| locate(problem, text, path, &index))
                    .collect()
            })
        });
    match resolved {
        Ok(desired) if diagnostics.is_empty() => Ok(desired),
        Ok(_) => Err(ConfigError::Invalid(diagnostics)),
        Err(more) => {
            diagnostics.extend(more);
            Err(ConfigError::Invalid(diagnostics))
        }
    }
}

fn locate(problem: Problem, text: &str, path: &Path, index: &SpanIndex) -> Diagnostic {
    match problem.location {
        Location::Config(key) => {
            let at = LineColumn::of_offset(text, index.offset_of(&key).unwrap_or(0));
            Diagnostic {
                file: path.to_path_buf(),
                line: at.line,
                column: at.column,
                key: key.to_string(),
                message: problem.message,
            }
        }
        Location::File { file, at, key } => Diagnostic {
            file,
            line: at.line,
            column: at.column,
            key,
            message: problem.message,
        },
    }
}
