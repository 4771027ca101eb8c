//! The bad-input corpus through the built CLI, pointed at a simulated tenant as at a real
//! one: every input gives one clear error naming what and where, exit 1, and zero writes.

mod common;

use common::bad_configs::{BASE, CASES};
use common::provision::TENANT;
use common::sim::Running;
use entra_mail::sim::{SimOptions, TenantSpec};

struct Case {
    what: String,
    config: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    files: Vec<(String, String)>,
    /// Texts stderr must contain.
    expect: Vec<String>,
}

fn case(what: &str, config: &str, expect: &[&str]) -> Case {
    Case {
        what: what.into(),
        config: config.into(),
        args: vec![
            "apply".into(),
            "-f".into(),
            "t.toml".into(),
            "--auto-approve".into(),
        ],
        env: Vec::new(),
        files: Vec::new(),
        expect: expect.iter().map(|s| s.to_string()).collect(),
    }
}

fn corpus() -> Vec<Case> {
    let mut cases: Vec<Case> = CASES
        .iter()
        .map(|(what, find, replace, expected)| {
            let (location, rest) = expected.split_once(": ").unwrap();
            let message = rest.split_once("`: ").map_or(rest, |(_, m)| m);
            let mut case = case(what, &BASE.replacen(find, replace, 1), &[]);
            case.expect = vec![format!("--> {location}"), message.to_string()];
            case
        })
        .collect();
    let with = |mut c: Case, f: &dyn Fn(&mut Case)| {
        f(&mut c);
        c
    };
    cases.push(case(
        "malformed TOML",
        "tenant_id = \"b3c1e0a2\n[app\n\u{0}garbage",
        &["error: "],
    ));
    cases.push(case(
        "a config that is not TOML at all",
        "{\"tenant_id\": 1}",
        &["--> t.toml:1:1"],
    ));
    cases.push(case("unknown permission", &BASE.replace("\"SMTP.Send\"", "\"SMTP.Sned\""), &["Microsoft Graph publishes no delegated permission `SMTP.Sned`; did you mean `SMTP.Send`?"]));
    cases.push(with(
        case(
            "policy file that is not JSON",
            &BASE.replace(
                "state = \"report-only\"",
                "state = \"report-only\"\npolicy = \"p.json\"",
            ),
            &[
                "--> p.json:2:1",
                "not valid JSON: EOF while parsing a value",
            ],
        ),
        &|c| c.files.push(("p.json".into(), "{\"state\": \n".into())),
    ));
    cases.push(with(
        case(
            "template that does not compile",
            &BASE.replace(
                "[pandora_itsm]",
                "[outputs]\ntemplates = [\"mine.hbs\"]\n\n[pandora_itsm]",
            ),
            &["--> mine.hbs:3:1", "template does not compile"],
        ),
        &|c| {
            c.files.push((
                "mine.hbs".into(),
                "ok {{app.client_id}}\n{{#each x}}\n".into(),
            ))
        },
    ));
    cases.push(with(
        case(
            "outputs directory that is a file",
            &BASE.replace(
                "[pandora_itsm]",
                "[outputs]\ndirectory = \"taken\"\n\n[pandora_itsm]",
            ),
            &[
                "the outputs directory",
                "is not writable",
                "nothing was sent to the tenant",
            ],
        ),
        &|c| {
            c.files
                .push(("taken".into(), "a file, not a directory".into()))
        },
    ));
    cases.push(with(
        case("missing config file", BASE, &["cannot read missing.toml"]),
        &|c| c.args = vec!["apply".into(), "-f".into(), "missing.toml".into()],
    ));
    cases.push(with(
        case(
            "--secret-stdout with --output json",
            BASE,
            &["--secret-stdout prints only the secret on stdout"],
        ),
        &|c| {
            c.args = vec![
                "--output".into(),
                "json".into(),
                "apply".into(),
                "-f".into(),
                "t.toml".into(),
                "--auto-approve".into(),
                "--secret-stdout".into(),
            ];
        },
    ));
    cases.push(with(
        case(
            "a zero time budget",
            BASE,
            &["invalid value '0' for '--timeout <SECONDS>'"],
        ),
        &|c| c.args.extend(["--timeout".into(), "0".into()]),
    ));
    cases.push(with(
        case(
            "an unknown sign-in method",
            BASE,
            &["invalid value 'password' for '--auth <AUTH>'"],
        ),
        &|c| c.args.extend(["--auth".into(), "password".into()]),
    ));
    cases.push(with(
        case(
            "quiet and verbose at once",
            BASE,
            &["the argument '--quiet' cannot be used with '--verbose"],
        ),
        &|c| c.args.extend(["-q".into(), "-v".into()]),
    ));
    cases.push(with(
        case(
            "a tenant id that does not match the sign-in",
            BASE,
            &["AZURE_TENANT_ID is 11111111-2222-3333-4444-555555555555, but t.toml is for tenant"],
        ),
        &|c| {
            c.env.push((
                "AZURE_TENANT_ID".into(),
                "11111111-2222-3333-4444-555555555555".into(),
            ));
        },
    ));
    cases.push(case(
        "enabling without emergency accounts",
        &BASE
            .replace("state = \"report-only\"", "state = \"enabled\"")
            .replace(
                "emergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\"]\n",
                "",
            ),
        &["refusing to enable `MFA Pilot` (conditional_access.state = \"enabled\"): emergency-access rule"],
    ));
    cases.push(case(
        "a pilot group that does not exist",
        &BASE.replace("MFA-Test-Group", "Nobody-Group"),
        &["group `Nobody-Group` named by Conditional Access policy `MFA Pilot` does not exist"],
    ));
    cases
}

fn run(running: &Running, case: &Case) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.toml"), &case.config).unwrap();
    for (name, contents) in &case.files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    let mut command = running.cli(dir.path());
    command.args(&case.args);
    for (name, value) in &case.env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_is_one_clear_error_and_no_write() {
    let running = common::sim::start(SimOptions {
        tenants: vec![TenantSpec {
            tenant_id: Some(TENANT.into()),
            ..TenantSpec::default()
        }],
        ..SimOptions::default()
    })
    .await;
    let corpus = corpus();
    assert!(corpus.len() >= 40, "the corpus has {} inputs", corpus.len());
    let mut failures = Vec::new();
    for case in &corpus {
        let (code, stderr) = run(&running, case);
        let missing: Vec<&String> = case
            .expect
            .iter()
            .filter(|e| !stderr.contains(e.as_str()))
            .collect();
        if code != Some(1) || !missing.is_empty() {
            failures.push(format!(
                "{}: exit {code:?}, missing {missing:?}\n{stderr}",
                case.what
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs misbehaved:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n---\n")
    );
    assert_eq!(
        running.sim.counters().writes,
        0,
        "no bad input wrote to the tenant"
    );
}
