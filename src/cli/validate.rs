//! `entra-mail validate`: check config files offline and print the resolved desired state.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;

use super::{GlobalArgs, OutputFormat};
use crate::config::discover::{self, Loaded};
use crate::config::{self, ConfigError, Diagnostic};
use crate::fsutil::{read_bounded, INPUT_LIMIT};

pub fn run(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if global.config.is_empty() {
        bail!("no config file given; pass one with -f FILE (try examples/pandora-itsm.toml)");
    }
    // The same discovery as plan and apply: files, directories, manifests.
    let results: Vec<Loaded> = discover::expand(&global.config)?
        .into_iter()
        .map(discover::load)
        .collect();
    let loaded: Vec<_> = results
        .iter()
        .filter_map(|l| l.result.as_ref().ok().cloned())
        .collect();
    let shared = config::check_distinct_outputs(&loaded)
        .err()
        .unwrap_or_default();
    let all_valid = results.iter().all(|l| l.result.is_ok()) && shared.is_empty();
    let mut stdout = std::io::stdout().lock();
    match global.output {
        OutputFormat::Json => {
            let files: Vec<_> = results
                .iter()
                .map(|Loaded { path, result, .. }| match result {
                    Ok(desired) => json!({"path": path, "valid": true, "desired": desired}),
                    Err(error) => {
                        json!({"path": path, "valid": false, "errors": error_list(error)})
                    }
                })
                .collect();
            let mut report = json!({"valid": all_valid, "files": files});
            if !shared.is_empty() {
                let errors: Vec<_> = shared
                    .iter()
                    .map(|e| json!({"message": e.to_string()}))
                    .collect();
                report["errors"] = json!(errors);
            }
            writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?;
        }
        OutputFormat::Text => {
            for loaded in &results {
                let path = &loaded.path;
                match &loaded.result {
                    Ok(desired) => {
                        let resolved = toml::to_string_pretty(desired)
                            .context("cannot print the resolved desired state")?;
                        writeln!(
                            stdout,
                            "# {}: valid; resolved desired state:\n{resolved}",
                            path.display()
                        )?;
                    }
                    Err(error) => print_errors(error, loaded.source()),
                }
            }
            for error in &shared {
                eprintln!("error: {error}");
            }
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn error_list(error: &ConfigError) -> serde_json::Value {
    match error {
        ConfigError::Invalid(diagnostics) => json!(diagnostics),
        ConfigError::Read(_) => json!([{"message": error.to_string()}]),
    }
}

/// Prints a config's errors; `source` is the config's own text, already read.
pub(super) fn print_errors(error: &ConfigError, source: Option<(&Path, &str)>) {
    let mut stderr = std::io::stderr().lock();
    match error {
        ConfigError::Read(_) => {
            let _ = writeln!(stderr, "error: {error}");
        }
        ConfigError::Invalid(diagnostics) => {
            for diagnostic in diagnostics {
                let _ = writeln!(stderr, "{}", render(diagnostic, source));
            }
            let count = diagnostics.len();
            let _ = writeln!(
                stderr,
                "error: {count} problem{} found; nothing was sent to any tenant",
                if count == 1 { "" } else { "s" }
            );
        }
    }
}

/// A diagnostic the way rustc shows one: message, location, the line and a caret.
fn render(d: &Diagnostic, source: Option<(&Path, &str)>) -> String {
    let Some(at) = d.at else {
        // Not pinned to a place: name the file alone rather than a made-up line.
        let mut out = format!("error: {}\n  --> {}", d.message, d.file.display());
        if !d.key.is_empty() {
            out.push_str(&format!("\n  = key: {}", d.key));
        }
        out.push('\n');
        return out;
    };
    let mut out = format!(
        "error: {}\n  --> {}:{}:{}",
        d.message,
        d.file.display(),
        at.line,
        at.column
    );
    let source_line = source_text(&d.file, source).and_then(|text| {
        text.lines()
            .nth(at.line.saturating_sub(1))
            .map(str::to_string)
    });
    if let Some(line) = source_line {
        let gutter = at.line.to_string().len();
        let pad = " ".repeat(gutter);
        let caret_pad: String = line
            .chars()
            .take(at.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!(
            "\n{pad} |\n{} | {line}\n{pad} | {caret_pad}^",
            at.line
        ));
    }
    if !d.key.is_empty() {
        out.push_str(&format!("\n  = key: {}", d.key));
    }
    out.push('\n');
    out
}

/// The text of a file a diagnostic points into: the config's as already read, else the
/// file's, read again only when it is a regular file (a pipe gives its text only once).
fn source_text(file: &Path, source: Option<(&Path, &str)>) -> Option<String> {
    if let Some((path, text)) = source {
        if path == file {
            return Some(text.to_string());
        }
    }
    std::fs::metadata(file).ok().filter(|m| m.is_file())?;
    read_bounded(file, "file", INPUT_LIMIT).ok()
}
