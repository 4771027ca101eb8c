//! The built binary: commands, exit codes, output formats.

use assert_cmd::Command;
use predicates::prelude::*;

fn entra_mail() -> Command {
    let mut command = Command::cargo_bin("entra-mail").unwrap();
    command
        .env_remove("SSL_CERT_FILE")
        .env_remove("AZURE_AUTHORITY_HOST")
        .env("NO_COLOR", "1");
    command
}

#[test]
fn validate_prints_the_resolved_example() {
    let output = entra_mail()
        .args(["validate", "-f", "examples/pandora-itsm.toml"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("validate_example", String::from_utf8(output).unwrap());
}

#[test]
fn validate_json_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "tenant_id = \"nope\"\n[app]\nunique_name = \"a\"\ndisplay_name = \"b\"\n",
    )
    .unwrap();
    let output = entra_mail()
        .args([
            "--output",
            "json",
            "validate",
            "-f",
            "examples/pandora-itsm.toml",
            "-f",
        ])
        .arg(&bad)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["files"][0]["valid"], true);
    assert_eq!(
        report["files"][0]["desired"]["app"]["unique_name"],
        "pandora-itsm-mail"
    );
    assert_eq!(report["files"][1]["valid"], false);
    let error = &report["files"][1]["errors"][0];
    assert_eq!(error["line"], 1);
    assert_eq!(error["column"], 13);
    assert_eq!(error["key"], "tenant_id");
    assert_eq!(
        error["message"],
        "`nope` is not a GUID; expected the directory (tenant) ID like 72f988bf-86f1-41af-91ab-2d7cd011db47"
    );
}

#[test]
fn validate_shows_errors_with_the_source_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "tenant_id = \"b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10\"\n[app]\nunique_name = \"a\"\ndisplay_name = \"b\"\nredirect_uris = [\"http://itsm.contoso.com/cb\"]\n",
    )
    .unwrap();
    entra_mail()
        .args(["validate", "-f"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "error: `http://itsm.contoso.com/cb` must use https (http is allowed only for localhost, as Entra allows)\n  --> {}:5:18\n  |\n5 | redirect_uris = [\"http://itsm.contoso.com/cb\"]\n  |                  ^\n  = key: app.redirect_uris[0]\n",
            bad.display()
        )))
        .stderr(predicate::str::contains("error: 1 problem found; nothing was sent to any tenant"));
}

#[test]
fn validate_without_a_file_says_how() {
    entra_mail().arg("validate").assert().code(1).stderr(
        "error: no config file given; pass one with -f FILE (try examples/pandora-itsm.toml)\n",
    );
}

#[test]
fn an_unreadable_file_is_named() {
    entra_mail()
        .args(["validate", "-f", "does/not/exist.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: cannot read config file does/not/exist.toml (-f): No such file",
        ));
}

#[test]
fn help_has_examples_and_the_global_options() {
    entra_mail()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("--graph-url"))
        .stdout(predicate::str::contains("--authority-host"))
        .stdout(predicate::str::contains("--cloud"))
        .stdout(predicate::str::contains("--ca-cert"))
        .stdout(predicate::str::contains("--trace-http"));
}

#[test]
fn completions_are_generated() {
    entra_mail()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("complete -F _entra__mail"));
}

#[test]
fn a_bad_cloud_is_refused_by_the_parser() {
    entra_mail()
        .args(["--cloud", "mars", "validate"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "invalid value 'mars' for '--cloud <CLOUD>'",
        ));
}
