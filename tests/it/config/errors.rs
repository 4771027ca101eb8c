//! Bad configs: each gives an exact message at an exact file, line, column and key,
//! before anything touches a tenant.

use crate::common;

use std::path::Path;

use entra_mail::config;

use common::bad_configs::{BASE, CASES};

#[test]
fn every_bad_config_gives_its_exact_error_and_location() {
    let mut failures = Vec::new();
    for (what, find, replace, expected) in CASES {
        assert!(
            BASE.contains(find),
            "case `{what}`: `{find}` is not in BASE"
        );
        let text = BASE.replacen(find, replace, 1);
        let actual = match config::parse(&text, Path::new("t.toml")) {
            Ok(_) => "(valid)".to_string(),
            Err(e) => e.to_string(),
        };
        if actual != *expected {
            failures.push(format!(
                "case `{what}`:\n  expected: {expected}\n  actual:   {actual}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn the_base_config_is_valid() {
    let desired = config::parse(BASE, Path::new("t.toml")).unwrap();
    assert_eq!(
        desired.app.sign_in_audience,
        config::SignInAudience::AzureADMyOrg
    );
    assert_eq!(desired.secret.grace_period_days, 7);
    assert_eq!(desired.api.unwrap().identifier_uri, "api://{appId}");
    let ca = desired.conditional_access.unwrap();
    assert_eq!(ca.target_apps, ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]);
    assert_eq!(ca.policy, config::PolicySource::Builtin("mfa-pilot".into()));
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = BASE
        .replace("b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10", "nope")
        .replace("value = \"mail.access\"", "value = \"mail access\"");
    let error = config::parse(&text, Path::new("t.toml")).unwrap_err();
    let keys: Vec<&str> = error.diagnostics().iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["tenant_id", "api.scopes[0].value"]);
}

#[test]
fn an_unknown_key_hides_no_other_problem_and_suggests_the_known_one() {
    let text = BASE
        .replace("unique_name =", "uniqe_name =")
        .replace("state = \"report-only\"", "state = \"on\"");
    let error = config::parse(&text, Path::new("t.toml")).unwrap_err();
    let found: Vec<String> = error.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        found,
        [
            "t.toml:4:1: `app.uniqe_name`: unknown field `uniqe_name`, expected one of `unique_name`, `display_name`, `sign_in_audience`, `redirect_uris`; did you mean `unique_name`?",
            "t.toml:23:9: `conditional_access.state`: unknown variant `on`, expected one of `enabled`, `report-only`, `disabled`",
        ]
    );
}

#[test]
fn a_policy_file_error_points_into_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.json");
    std::fs::write(
        &policy,
        "{\n  \"displayName\": \"${display_name}\",\n  \"state\": \"${state}\",\n  \"conditions\": {\"applications\": {\"includeApplications\": [\"${target_apps}\"]},\n    \"users\": {\"includeGroups\": [\"${pilot_group}\"]}},\n  \"grantControls\": {\"operator\": \"OR\", \"builtInControls\": [\"mfa\"]}\n}\n",
    )
    .unwrap();
    let config_path = dir.path().join("t.toml");
    let text = BASE.replace(
        "state = \"report-only\"",
        "state = \"report-only\"\npolicy = \"p.json\"",
    );
    let error = config::parse(&text, &config_path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:5:33: `/conditions/users/includeGroups/0`: unknown placeholder `${{pilot_group}}`; known: ${{display_name}}, ${{state}}, ${{grant_operator}}, ${{pilot_groups}}, ${{pilot_users}}, ${{emergency_access_users}}, ${{emergency_access_groups}}, ${{target_apps}}, ${{grant_controls}}",
            policy.display()
        )
    );
}

#[test]
fn a_user_template_may_not_render_over_outputs_json_or_another_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("more")).unwrap();
    for file in [
        "outputs.json.hbs",
        "pandora-itsm.md.hbs",
        "mine.txt.hbs",
        "more/Mine.txt.hbs",
    ] {
        std::fs::write(dir.path().join(file), "{{app.client_id}}\n").unwrap();
    }
    let text = BASE.replace(
        "[pandora_itsm]",
        "[outputs]\ntemplates = [\"pandora-itsm\", \"outputs.json.hbs\", \"pandora-itsm.md.hbs\", \"mine.txt.hbs\", \"more/Mine.txt.hbs\"]\n\n[pandora_itsm]",
    );
    let error = config::parse(&text, &dir.path().join("t.toml")).unwrap_err();
    let found: Vec<(&str, &str)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.key.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("outputs.templates[1]", "`outputs.json.hbs` would render to `outputs.json` and overwrite the outputs file (ids and the secret); rename the template"),
            ("outputs.templates[2]", "`pandora-itsm.md.hbs` would render to `pandora-itsm.md`, as `pandora-itsm` does; each template needs its own output file"),
            ("outputs.templates[4]", "`more/Mine.txt.hbs` would render to `Mine.txt`, as `mine.txt.hbs` does; each template needs its own output file"),
        ]
    );
}

#[test]
fn a_broken_user_template_points_into_the_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.hbs"),
        "Client: {{app.client_id}}\n{{#if secret}}\n",
    )
    .unwrap();
    let text = BASE.replace(
        "[pandora_itsm]",
        "[outputs]\ntemplates = [\"mine.hbs\"]\n\n[pandora_itsm]",
    );
    let error = config::parse(&text, &dir.path().join("t.toml")).unwrap_err();
    let d = &error.diagnostics()[0];
    assert_eq!(d.file, dir.path().join("mine.hbs"));
    let at = d.at.expect("a template error has a line");
    assert_eq!((at.line, at.column), (3, 1));
    assert!(
        d.message.starts_with("template does not compile"),
        "{}",
        d.message
    );
}

#[test]
fn an_error_that_cannot_be_located_names_the_file_alone() {
    // A missing top-level key has no place in the file (no table holds it): it is printed
    // as the file alone, not as a made-up `t.toml:1:1`.
    let text = BASE
        .lines()
        .filter(|l| !l.starts_with("tenant_id"))
        .collect::<Vec<_>>()
        .join("\n");
    let error = config::parse(&text, Path::new("t.toml")).unwrap_err();
    let d = error
        .diagnostics()
        .iter()
        .find(|d| d.message.contains("`tenant_id`"))
        .unwrap_or_else(|| panic!("{error}"));
    assert_eq!(d.at, None);
    assert_eq!(d.to_string(), "t.toml: missing field `tenant_id`");
    let json = serde_json::to_value(d).unwrap();
    assert!(
        json.get("line").is_none() && json.get("column").is_none(),
        "{json}"
    );
}
