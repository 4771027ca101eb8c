//! The bad-input corpus through the built CLI, pointed at a simulated tenant as at a real
//! one: every input gives one clear error naming what and where (or, for the few listed in
//! `UNLOCATED`, why there is no where), exit 1, and no write request reaches the tenant.

use crate::common;

use common::bad_configs::{BASE, CASES};
use common::provision::TENANT;
use common::sim::Running;
use entra_mail::sim::{LogEntry, SimOptions, TenantSpec};

struct Case {
    what: String,
    config: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    files: Vec<(String, String)>,
    /// Texts stderr must contain.
    expect: Vec<String>,
    /// Where the one error points (`file:line:column`); `None` for the cases in
    /// [`UNLOCATED`].
    location: Option<String>,
}

/// Cases whose error has no `--> file:line:column`, and why none is possible.
const UNLOCATED: &[(&str, &str)] = &[
    ("unknown permission", "judged against the permissions Microsoft Graph publishes in the tenant, at plan time, after the config's positions are gone"),
    ("outputs directory that is a file", "the problem is on disk (a file where the directory should be), not in the config's text"),
    ("missing config file", "there is no file to point into"),
    ("a device as the config file", "the file is not text at all; there is nothing to point into"),
    ("a config over the size limit", "refused by its size before it is read"),
    ("a manifest that lists no config", "valid TOML; what is wrong is that it yields nothing"),
    ("--secret-stdout with --output json", "a command-line conflict; no file is involved"),
    ("a zero time budget", "a command-line value, rejected by the argument parser"),
    ("an unknown sign-in method", "a command-line value, rejected by the argument parser"),
    ("quiet and verbose at once", "a command-line conflict, rejected by the argument parser"),
    ("a tenant id that does not match the sign-in", "a conflict between the environment (AZURE_TENANT_ID) and the config, found at sign-in"),
    ("enabling without emergency accounts", "the lockout guard judges the plan against the tenant, not one line of the config"),
    ("a pilot group that does not exist", "a fact about the tenant, found at plan time"),
];

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
        location: None,
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
            case.location = Some(location.to_string());
            case
        })
        .collect();
    let with = |mut c: Case, f: &dyn Fn(&mut Case)| {
        f(&mut c);
        c
    };
    let at = |mut c: Case, location: &str| {
        c.location = Some(location.to_string());
        c
    };
    cases.push(at(
        case(
            "malformed TOML",
            "tenant_id = \"b3c1e0a2\n[app\n\u{0}garbage",
            &["error: "],
        ),
        "t.toml:2:5",
    ));
    cases.push(at(
        case(
            "a config that is not TOML at all",
            "{\"tenant_id\": 1}",
            &["--> t.toml:1:1"],
        ),
        "t.toml:1:1",
    ));
    cases.push(case("unknown permission", &BASE.replace("\"SMTP.Send\"", "\"SMTP.Sned\""), &["Microsoft Graph publishes no delegated permission `SMTP.Sned`; did you mean `SMTP.Send`?"]));
    cases.push(with(
        at(
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
            "p.json:2:1",
        ),
        &|c| c.files.push(("p.json".into(), "{\"state\": \n".into())),
    ));
    cases.push(with(
        at(
            case(
                "template that does not compile",
                &BASE.replace(
                    "[pandora_itsm]",
                    "[outputs]\ntemplates = [\"mine.hbs\"]\n\n[pandora_itsm]",
                ),
                &["--> mine.hbs:3:1", "template does not compile"],
            ),
            "mine.hbs:3:1",
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
        case(
            "missing config file",
            BASE,
            &["cannot read config file missing.toml (-f)"],
        ),
        &|c| c.args = vec!["apply".into(), "-f".into(), "missing.toml".into()],
    ));
    cases.push(with(
        case(
            "a device as the config file",
            BASE,
            &["config file /dev/zero (-f) is not a regular file but a character device"],
        ),
        &|c| c.args[2] = "/dev/zero".into(),
    ));
    cases.push(with(
        case(
            "a config over the size limit",
            BASE,
            &["config file big.toml (-f) is 2.0 MiB; the limit is 1 MiB"],
        ),
        &|c| {
            c.files.push((
                "big.toml".into(),
                format!("{BASE}\n{}", "#".repeat(2 << 20)),
            ));
            c.args[2] = "big.toml".into();
        },
    ));
    cases.push(with(
        case(
            "a manifest that lists no config",
            BASE,
            &["manifest all.toml lists no config (`configs` is empty)"],
        ),
        &|c| {
            c.files.push(("all.toml".into(), "configs = []\n".into()));
            c.args[2] = "all.toml".into();
        },
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

/// The number of bad inputs the README's Reliability table says were tried.
fn readme_count() -> usize {
    let row = include_str!("../../../README.md")
        .lines()
        .find(|l| l.starts_with("| Bad inputs through the CLI |"))
        .expect("the README's Reliability table has a row for bad inputs");
    let cell = row.split('|').nth(2).unwrap().trim();
    let number = cell.split_once(" tried").expect("`N tried`").0;
    number.parse().expect("a number of inputs")
}

/// A request the simulator logged is a Graph write (whatever its answer): a POST, PATCH, PUT
/// or DELETE that is not a sign-in.
fn is_graph_write(entry: &LogEntry) -> bool {
    let sign_in = entry.path.contains("oauth2/v2.0/") || entry.path.contains(".well-known/");
    !sign_in && matches!(entry.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
}

/// The located errors in `stderr`: one `--> place` per error, besides the summary line.
fn error_lines(stderr: &str) -> (Vec<&str>, Vec<&str>) {
    let errors = stderr
        .lines()
        .filter(|l| l.starts_with("error: ") && !l.contains(" found; nothing was sent"))
        .collect();
    let locations = stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .collect();
    (errors, locations)
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
    assert_eq!(
        corpus.len(),
        readme_count(),
        "the README states how many bad inputs are tried"
    );
    for (what, why) in UNLOCATED {
        let case = corpus.iter().find(|c| c.what == *what);
        let case = case.unwrap_or_else(|| panic!("UNLOCATED names no case `{what}`"));
        assert!(case.location.is_none(), "`{what}` has a location: {why}");
    }
    let mut failures = Vec::new();
    for case in &corpus {
        let unlocated = UNLOCATED.iter().any(|(what, _)| *what == case.what);
        if case.location.is_none() && !unlocated {
            failures.push(format!(
                "{}: neither a location nor a reason in UNLOCATED",
                case.what
            ));
        }
        let logged = running.sim.request_log().len();
        let (code, stderr) = run(&running, case);
        let writes: Vec<String> = running.sim.request_log()[logged..]
            .iter()
            .filter(|e| is_graph_write(e))
            .map(|e| format!("{} {} -> {}", e.method, e.path, e.status))
            .collect();
        let missing: Vec<&String> = case
            .expect
            .iter()
            .filter(|e| !stderr.contains(e.as_str()))
            .collect();
        let (errors, locations) = error_lines(&stderr);
        let expected_locations: Vec<&str> = case.location.iter().map(String::as_str).collect();
        if code != Some(1)
            || !missing.is_empty()
            || errors.len() != 1
            || locations != expected_locations
            || !writes.is_empty()
        {
            failures.push(format!(
                "{}: exit {code:?}, missing {missing:?}, {} error(s), located at {locations:?} \
                 (expected {expected_locations:?}), Graph writes {writes:?}\n{stderr}",
                case.what,
                errors.len()
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
    let log = running.sim.request_log();
    assert!(
        log.iter().any(|e| e.method == "GET" && !e.path.contains("oauth2/")),
        "the request log holds the runs that read the tenant, so its count of writes means something"
    );
    let writes: Vec<&LogEntry> = log.iter().filter(|e| is_graph_write(e)).collect();
    assert!(
        writes.is_empty(),
        "no bad input sent a write to the tenant: {writes:?}"
    );
}
