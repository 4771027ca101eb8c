//! The desired-state file: schema, defaults and validation, all before any network call.
//!
//! `load` reads a TOML file into a [`Desired`]; every problem comes back as a
//! [`Diagnostic`] that names the file, line, column and key.

mod desired;
pub mod discover;
mod distinct;
mod error;
pub mod location;
pub mod policy;
mod resolve;
mod schema;
pub mod templates;

use std::path::Path;

pub use desired::*;
pub use distinct::{check_distinct_outputs, SharedOutputsDirectory};
pub use error::{ConfigError, Diagnostic};
pub use resolve::defaults;

use location::{LineColumn, SpanIndex};
use resolve::{Location, Problem};

/// Reads (bounded: see [`crate::fsutil::read_bounded`]) and validates the config at `path`.
pub fn load(path: &Path) -> Result<Desired, ConfigError> {
    let text = crate::fsutil::read_bounded(path, "config file", crate::fsutil::INPUT_LIMIT)?;
    parse(&text, path)
}

/// Validates `text` as if read from `path` (relative paths in it are anchored there).
pub fn parse(text: &str, path: &Path) -> Result<Desired, ConfigError> {
    let index = SpanIndex::new(text);
    // `in_root`: a schema error (not a syntax error) whose span is the root table's, empty at
    // 0, as for a missing top-level key, points nowhere in particular: it is reported as
    // unlocated, not at 1:1.
    let syntax = |e: toml::de::Error, in_root: bool| {
        let offset = e
            .span()
            .filter(|s| !(in_root && s.start == 0 && s.is_empty()))
            .map(|s| s.start);
        Diagnostic {
            file: path.to_path_buf(),
            at: offset.map(|offset| LineColumn::of_offset(text, offset)),
            key: offset
                .and_then(|offset| index.path_at(offset))
                .map(|p| p.to_string())
                .unwrap_or_default(),
            message: e.message().trim_end().to_string(),
        }
    };
    let mut table =
        toml::de::DeTable::parse(text).map_err(|e| ConfigError::Invalid(vec![syntax(e, false)]))?;
    // Unknown keys are reported and dropped first, so they hide no other problem.
    let mut diagnostics: Vec<Diagnostic> = schema::remove_unknown_keys(table.get_mut())
        .into_iter()
        .map(|unknown| Diagnostic {
            file: path.to_path_buf(),
            at: Some(LineColumn::of_offset(text, unknown.offset)),
            key: unknown.path.to_string(),
            message: unknown.message,
        })
        .collect();
    let resolved = serde::Deserialize::deserialize(toml::de::Deserializer::from(table))
        .map_err(|e| vec![syntax(e, true)])
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
        Location::Config(key) => Diagnostic {
            file: path.to_path_buf(),
            at: index
                .offset_of(&key)
                .map(|offset| LineColumn::of_offset(text, offset)),
            key: key.to_string(),
            message: problem.message,
        },
        Location::File { file, at, key } => Diagnostic {
            file,
            at,
            key,
            message: problem.message,
        },
    }
}
