//! The example pipelines keep secrets out of artifacts, give pull requests no way to apply,
//! and deliver a new secret to a vault. Checked on the text (no YAML parser in the tree):
//! jobs and steps are found by their indentation.

const GITHUB: &str = include_str!("../../../examples/github-actions.yml");
const AZURE: &str = include_str!("../../../examples/azure-pipelines.yml");

/// The lines of `text` without comments (whole-line or trailing ` # ...`).
fn code(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| match line.find(" #") {
            Some(i) if !line[..i].contains('"') && !line[..i].contains('\'') => &line[..i],
            _ => line,
        })
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .collect()
}

/// Blocks that start at a line indented exactly `indent` spaces and satisfying `starts`,
/// running until the next line indented `indent` or less.
fn blocks(lines: &[&str], indent: usize, starts: impl Fn(&str) -> bool) -> Vec<String> {
    let depth = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if depth(lines[i]) == indent && starts(lines[i].trim_start()) {
            let mut block = vec![lines[i]];
            i += 1;
            while i < lines.len() && depth(lines[i]) > indent {
                block.push(lines[i]);
                i += 1;
            }
            out.push(block.join("\n"));
        } else {
            i += 1;
        }
    }
    out
}

/// The GitHub workflow's jobs by name.
fn github_jobs() -> Vec<(String, String)> {
    let lines = code(GITHUB);
    let start = lines.iter().position(|l| *l == "jobs:").expect("jobs:");
    blocks(&lines[start + 1..], 2, |l| l.ends_with(':'))
        .into_iter()
        .map(|b| {
            (
                b.lines()
                    .next()
                    .unwrap()
                    .trim()
                    .trim_end_matches(':')
                    .to_string(),
                b,
            )
        })
        .collect()
}

fn pipes_a_new_secret_into_key_vault(text: &str) -> bool {
    let joined = text.replace("\\\n", " ");
    joined.lines().any(|line| {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        line.contains("entra-mail apply")
            && line.contains("--secret-stdout |")
            && line.contains("az keyvault secret set")
            && line.contains("--file /dev/stdin")
            && line.contains("--output none")
    })
}

#[test]
fn no_artifact_holds_outputs_or_the_rendered_sheets() {
    for (name, text) in [
        ("github-actions.yml", GITHUB),
        ("azure-pipelines.yml", AZURE),
    ] {
        let lines = code(text);
        let steps = blocks(&lines, 4, |l| l.starts_with("- "))
            .into_iter()
            .chain(blocks(&lines, 6, |l| l.starts_with("- ")))
            .chain(blocks(&lines, 2, |l| l.starts_with("- ")));
        for step in steps {
            let uploads = [
                "upload-artifact",
                "publish:",
                "PublishPipelineArtifact",
                "PublishBuildArtifacts",
                "cache",
            ]
            .iter()
            .any(|k| step.contains(k));
            if uploads {
                for held in ["outputs.json", "/out", "pandora-itsm.md", "tenants/"] {
                    assert!(
                        !step.contains(held),
                        "{name}: an artifact step publishes {held}:\n{step}"
                    );
                }
            }
        }
    }
}

#[test]
fn github_pull_requests_only_plan_with_read_only_rights() {
    let lines = code(GITHUB);
    let top = blocks(&lines, 0, |l| l.starts_with("permissions:"));
    assert_eq!(top, ["permissions: {}"], "top-level permissions");

    let jobs = github_jobs();
    let names: Vec<_> = jobs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["plan", "apply"]);
    for (name, job) in &jobs {
        let permissions: Vec<_> = job
            .lines()
            .skip_while(|l| l.trim() != "permissions:")
            .skip(1)
            .take_while(|l| l.starts_with("      "))
            .map(str::trim)
            .collect();
        assert!(!permissions.is_empty(), "{name} has no permissions block");
        for p in &permissions {
            assert!(
                *p == "contents: read" || *p == "id-token: write",
                "{name}: {p} is more than reading the repository and asking for an OIDC token"
            );
        }
        let runs_on_pull_requests = !job.contains("if: github.event_name == 'push'");
        if runs_on_pull_requests {
            assert!(!job.contains("entra-mail apply"), "{name} applies:\n{job}");
            assert!(job.contains("entra-mail plan"), "{name}");
            assert!(
                job.contains("environment: ${{ matrix.tenant }}-plan"),
                "{name} must use the plan environment, without apply settings:\n{job}"
            );
            assert!(!job.contains("VAULT"), "{name} sees vault settings:\n{job}");
        }
    }

    let (_, apply) = jobs.iter().find(|(n, _)| n == "apply").unwrap();
    assert!(apply.contains("if: github.event_name == 'push' && github.ref == 'refs/heads/main'"));
    assert!(
        apply.contains("environment: ${{ matrix.tenant }}\n"),
        "{apply}"
    );
    assert!(pipes_a_new_secret_into_key_vault(apply), "{apply}");
    // The environment protection that guards apply is explained where it is set up.
    assert!(GITHUB.contains("Required reviewers"));
}

#[test]
fn azure_applies_only_on_main_and_its_configs_deliver_to_key_vault() {
    let script = code(AZURE).join("\n");
    // The configs name the vault (`secret.key_vault`): no secret passes through the script.
    assert!(!script.contains("--secret-stdout"), "{script}");
    assert!(
        AZURE.contains("key_vault = "),
        "the header shows the config"
    );
    assert!(AZURE.contains("secret_in_outputs = false"));
    let guard = script
        .find(r#"if [ "$(Build.Reason)" = "PullRequest" ] || [ "$(Build.SourceBranch)" != "refs/heads/main" ]; then"#)
        .expect("a pull-request guard");
    let first_apply = script.find("entra-mail apply").unwrap();
    assert!(guard < first_apply, "apply before the pull-request guard");
}

/// `--secret-stdout` fails when apply makes no new secret, so the GitHub pipeline (whose pull
/// request plans may not read the vault) uses it only when the plan creates a
/// `client_secret`, and applies without it otherwise.
#[test]
fn github_uses_secret_stdout_only_when_the_plan_creates_a_secret() {
    {
        let script = code(GITHUB).join("\n");
        assert!(script.contains(
            r#"select(.type == "client_secret" and (.change.actions | index("create")))"#
        ));
        assert!(script.contains(r#"if [ "$new_secret" = "true" ]; then"#));
        assert_eq!(script.matches("--secret-stdout").count(), 1);
        assert!(
            script.contains("--auto-approve\n"),
            "an apply without --secret-stdout"
        );
    }
}
