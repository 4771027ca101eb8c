//! The config and policy parsers under random and mutated input (proptest), plus a kept
//! corpus of awkward inputs: they never panic, and every config error is located.

mod common;

use std::path::Path;

use common::bad_configs::BASE;
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

fn assert_located(text: &str) {
    if let Err(error) = config::parse(text, Path::new("fuzz.toml")) {
        for diagnostic in error.diagnostics() {
            assert!(
                diagnostic.line >= 1 && diagnostic.column >= 1,
                "{diagnostic}"
            );
            assert!(!diagnostic.message.is_empty());
        }
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
        let _ = policy::check(&text);
    }

    #[test]
    fn mutated_policies_never_panic(at in 0usize..800, len in 0usize..20, insert in "[ -~]{0,6}") {
        let _ = policy::check(&mutate(policy::BUILTIN_MFA_PILOT.1, at, len, &insert));
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
            Some("json") => {
                let _ = policy::check(&text);
            }
            _ => continue,
        }
        seen += 1;
    }
    assert!(seen >= 7);
}
