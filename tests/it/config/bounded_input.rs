//! Bounded input, through the built CLI against a simulated tenant: files that are not
//! files, or too big, are refused at once; a pipe works; an unanswered request ends with
//! `--timeout`; a manifest or directory that yields no config is an error, for every command.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::provision::{CONFIG, TENANT};
use common::sim::Running;
use entra_mail::sim::{Faults, SimOptions, TenantSpec};

/// "At once" with room for a loaded machine; the point is not the 20 s (and 11 GB) of
/// reading `/dev/zero`, nor Graph's 100 s default timeout.
const AT_ONCE: Duration = Duration::from_secs(5);

async fn sim(faults: Faults) -> Running {
    common::sim::start(SimOptions {
        tenants: vec![TenantSpec {
            tenant_id: Some(TENANT.into()),
            ..TenantSpec::default()
        }],
        faults,
        ..SimOptions::default()
    })
    .await
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run(running: &Running, dir: &Path, args: &[&str]) -> Run {
    let started = Instant::now();
    let output = running.cli(dir).args(args).output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_and_huge_files_are_refused_at_once_and_nothing_is_sent() {
    let running = sim(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("device-policy.toml"),
        format!("{CONFIG}\n[conditional_access]\npolicy = \"/dev/zero\"\npilot_groups = [\"g\"]\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("big.toml"),
        format!("{CONFIG}\n{}", "#".repeat(2 << 20)),
    )
    .unwrap();
    std::fs::write(d.join("all.toml"), "configs = [\"/dev/urandom\"]\n").unwrap();
    let before = entries(d);
    let cases: [(&[&str], &str); 5] = [
        (
            &["apply", "--auto-approve", "-f", "device-policy.toml"],
            "policy file /dev/zero is not a regular file but a character device",
        ),
        (
            &["apply", "--auto-approve", "-f", "/dev/zero"],
            "config file /dev/zero (-f) is not a regular file but a character device",
        ),
        (
            &["plan", "-f", "big.toml"],
            "config file big.toml (-f) is 2.0 MiB; the limit is 1 MiB",
        ),
        (
            &["validate", "-f", "big.toml"],
            "config file big.toml (-f) is 2.0 MiB; the limit is 1 MiB",
        ),
        (
            &["plan", "-f", "all.toml"],
            "config file /dev/urandom (listed in all.toml) is not a regular file but a character device",
        ),
    ];
    for (args, expected) in cases {
        let run = run(&running, d, args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(run.took < AT_ONCE, "{args:?} took {:?}", run.took);
    }
    assert_eq!(
        running.sim.request_log().len(),
        0,
        "no request, not even a sign-in"
    );
    assert_eq!(entries(d), before, "nothing written");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_config_from_a_pipe_is_planned() {
    let running = sim(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("t.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO for writing waits for its reader: the CLI.
    let writer = std::thread::spawn(move || std::fs::write(fifo, CONFIG));
    let run = run(&running, dir.path(), &["plan", "-f", "t.toml"]);
    assert_eq!(run.code, Some(2), "changes pending: {}", run.stderr);
    assert!(run.stdout.contains("pandora-itsm-mail"), "{}", run.stdout);
    writer.join().unwrap().unwrap();
}

/// A Graph endpoint that takes every request and never answers.
/// `plan --timeout 5` against a simulator with `faults`: it must fail within the budget.
async fn plan_within_five_seconds(faults: Faults) -> Run {
    let running = sim(faults).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.toml"), CONFIG).unwrap();
    let run = run(
        &running,
        dir.path(),
        &["plan", "-f", "t.toml", "--timeout", "5"],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_graph_request_ends_with_the_time_budget() {
    let run = plan_within_five_seconds(Faults {
        route_latency: vec![(String::new(), Duration::from_secs(3600))],
        ..Faults::default()
    })
    .await;
    assert!(
        run.stderr.contains("GET ") && run.stderr.contains(": timed out: no answer within"),
        "names the request and says it timed out: {}",
        run.stderr
    );
}

/// A token endpoint that never answers: azure_identity would try three times, each as long
/// as the HTTP client allows.
#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_sign_in_ends_with_the_time_budget() {
    let run = plan_within_five_seconds(Faults {
        latency: Duration::from_secs(3600),
        ..Faults::default()
    })
    .await;
    assert!(
        run.stderr.contains(&format!(
            "/{TENANT}/oauth2/v2.0/token timed out: no answer within"
        )),
        "names the request and says it timed out: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_or_directory_that_yields_no_config_is_an_error_for_every_command() {
    let running = sim(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("none.toml"), "configs = []\n").unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let commands: [&[&str]; 6] = [
        &["plan"],
        &["apply", "--auto-approve"],
        &["destroy", "--auto-approve"],
        &["render"],
        &["validate"],
        &["doctor"],
    ];
    for command in commands {
        for (source, expected) in [
            ("none.toml", "error: manifest none.toml lists no config"),
            ("empty", "error: directory empty holds no *.toml config"),
        ] {
            let args = [command, &["-f", source]].concat();
            let run = run(&running, dir.path(), &args);
            assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
            assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        }
    }
    assert_eq!(running.sim.request_log().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_accepts_every_form_plan_accepts() {
    let running = sim(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tenants")).unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(
            d.join(format!("tenants/{name}.toml")),
            CONFIG.replace(
                "directory = \"out\"",
                &format!("directory = \"out-{name}\""),
            ),
        )
        .unwrap();
    }
    std::fs::write(
        d.join("all.toml"),
        "configs = [\"tenants/a.toml\", \"tenants/b.toml\"]\n",
    )
    .unwrap();
    let files = |run: &Run| -> Vec<String> {
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    let manifest = run(
        &running,
        d,
        &["--output", "json", "validate", "-f", "all.toml"],
    );
    assert_eq!(manifest.code, Some(0), "{}", manifest.stderr);
    assert_eq!(files(&manifest), ["tenants/a.toml", "tenants/b.toml"]);
    let directory = run(
        &running,
        d,
        &["--output", "json", "validate", "-f", "tenants"],
    );
    assert_eq!(directory.code, Some(0), "{}", directory.stderr);
    assert_eq!(
        files(&directory),
        ["tenants/a.toml", "tenants/b.toml", "tenants/c.toml"]
    );
    let several = run(
        &running,
        d,
        &[
            "--output",
            "json",
            "validate",
            "-f",
            "all.toml",
            "-f",
            "tenants/c.toml",
        ],
    );
    assert_eq!(several.code, Some(0), "{}", several.stderr);
    assert_eq!(
        files(&several),
        ["tenants/a.toml", "tenants/b.toml", "tenants/c.toml"]
    );
    // Twice through the manifest and the directory: one outputs directory, two configs.
    let twice = run(
        &running,
        d,
        &["validate", "-f", "all.toml", "-f", "tenants"],
    );
    assert_eq!(twice.code, Some(1), "{}", twice.stderr);
    assert_eq!(running.sim.request_log().len(), 0);
}
