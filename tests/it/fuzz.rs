//! The config and policy parsers under random and mutated input (proptest), plus a kept
//! corpus of awkward inputs: they never panic, and every located error points at the key or
//! value it is about (an error that cannot be located says so: no line and column).

use crate::common;

use std::path::Path;

use common::bad_configs::BASE;
use entra_mail::config::location::{LineColumn, SpanIndex};
use entra_mail::config::{self, policy};
use proptest::prelude::*;

/// `text` with `len` bytes at `at` replaced by `insert` (kept on character boundaries).
fn mutate(text: &str, at: usize, len: usize, insert: &str) -> String {
    let mut start = at.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{insert}{}", &text[..start], &text[end..])
}

/// The byte offset of a 1-based line and column (in characters) in `text`.
fn offset_of(text: &str, at: LineColumn) -> usize {
    let mut line_start = 0;
    for _ in 1..at.line {
        line_start += text[line_start..].find('\n').expect("line past the end") + 1;
    }
    let line = &text[line_start..];
    line_start
        + line
            .char_indices()
            .nth(at.column - 1)
            .map_or(line.len(), |(i, _)| i)
}

/// `a` and `b` are the same key path or one holds the other (`app` and `app.name[0]`).
fn related(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.strip_prefix(short)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Every config error either has no line and column, or its line and column fall on the key
/// it names (or its value, or the table that should hold a missing key).
fn assert_located(text: &str) {
    if let Err(error) = config::parse(text, Path::new("fuzz.toml")) {
        let index = SpanIndex::new(text);
        for diagnostic in error.diagnostics() {
            assert!(!diagnostic.message.is_empty());
            let Some(at) = diagnostic.at else { continue };
            assert!(at.line >= 1 && at.column >= 1, "{diagnostic}");
            let offset = offset_of(text, at);
            if diagnostic.key.is_empty() {
                continue;
            }
            let there = index.path_at(offset).map(|p| p.to_string());
            assert!(
                there
                    .as_deref()
                    .is_some_and(|p| related(p, &diagnostic.key)),
                "{diagnostic}: points at {there:?}: {:?}",
                &text[offset..]
            );
        }
    }
}

/// Every located policy problem points at its property's key, at its value, or (for a
/// missing property) at the value of the object that should hold it.
fn assert_policy_located(text: &str) {
    let Err(problems) = policy::check(text) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return; // not JSON: serde_json's own position
    };
    for problem in problems {
        let Some(at) = problem.at else { continue };
        let offset = offset_of(text, at);
        let there = serde_json::Deserializer::from_str(&text[offset..])
            .into_iter::<serde_json::Value>()
            .next()
            .and_then(Result::ok);
        let mut present = problem.pointer.as_str();
        while value.pointer(present).is_none() {
            present = &present[..present.rfind('/').unwrap_or(0)];
        }
        let key = problem
            .pointer
            .rsplit('/')
            .next()
            .map(|k| k.replace("~1", "/").replace("~0", "~"));
        assert!(
            there.as_ref() == value.pointer(present)
                || there.as_ref().and_then(|t| t.as_str()) == key.as_deref(),
            "{problem:?} points at {:?}",
            &text[offset..]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_config_or_a_located_error(text in "\\PC{0,300}") {
        assert_located(&text);
    }

    #[test]
    fn mutated_configs_are_valid_or_located(at in 0usize..2000, len in 0usize..30, insert in "[ -~\\n]{0,6}") {
        assert_located(&mutate(BASE, at, len, &insert));
    }

    #[test]
    fn any_text_is_a_policy_or_an_error(text in "\\PC{0,300}") {
        assert_policy_located(&text);
    }

    #[test]
    fn mutated_policies_never_panic(at in 0usize..800, len in 0usize..20, insert in "[ -~]{0,6}") {
        assert_policy_located(&mutate(policy::BUILTIN_MFA_PILOT.1, at, len, &insert));
    }
}

#[test]
fn the_kept_corpus_never_panics() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => assert_located(&text),
            Some("json") => assert_policy_located(&text),
            _ => continue,
        }
        seen += 1;
    }
    assert!(seen >= 7);
}

#[test]
fn policy_problems_point_at_the_right_occurrence_of_a_repeated_value() {
    // "id" appears as a value before the "id" key, and the same bad placeholder sits in two
    // places: a search for the first occurrence of the text points at the wrong one.
    let text = "{\"displayName\": \"id\", \"state\": \"${bad}\",\n \"conditions\": {\"applications\": {\"includeApplications\": [\"${bad}\"]}, \"users\": {}},\n \"grantControls\": {},\n \"id\": \"x\"}";
    assert_policy_located(text);
    let problems = policy::check(text).unwrap_err();
    let lines: Vec<(&str, usize)> = problems
        .iter()
        .map(|p| (p.pointer.as_str(), p.at.unwrap().line))
        .collect();
    assert!(lines.contains(&("/id", 4)), "{lines:?}");
    assert!(lines.contains(&("/state", 1)), "{lines:?}");
    assert!(
        lines.contains(&("/conditions/applications/includeApplications/0", 2)),
        "{lines:?}"
    );
}
