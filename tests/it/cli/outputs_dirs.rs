//! Where the outputs go, through the built CLI against a simulated tenant: one directory per
//! config (a shared one is refused before any request), and private modes under any umask.
#![cfg(unix)]

use crate::common;

use std::path::Path;

use common::provision::{CONFIG, TENANT};
use common::sim::Running;
use entra_mail::sim::SimOptions;
use serde_json::Value;

/// The provisioning config for app `name` in the simulator's tenant; `directory` replaces the
/// `[outputs] directory`, or `None` leaves the default.
fn config(running: &Running, name: &str, directory: Option<&str>) -> String {
    let outputs = match directory {
        Some(directory) => format!("[outputs]\ndirectory = {directory:?}\n"),
        None => String::new(),
    };
    CONFIG
        .replace(TENANT, &running.tenant.tenant_id)
        .replace(
            "unique_name = \"pandora-itsm-mail\"",
            &format!("unique_name = \"{name}\""),
        )
        .replace("[outputs]\ndirectory = \"out\"\n", &outputs)
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
}

fn outputs(directory: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(directory.join("outputs.json")).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn one_outputs_directory_for_two_configs_is_refused_before_any_request() {
    let running = common::sim::start(SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("x")).unwrap();
    // One directory, spelled two ways.
    write(
        dir.path(),
        "configs/a.toml",
        &config(&running, "mail-a", Some("../out")),
    );
    write(
        dir.path(),
        "configs/b.toml",
        &config(&running, "mail-b", Some("../x/../out")),
    );

    for args in [
        &["plan", "-f", "configs"][..],
        &["apply", "-f", "configs", "--auto-approve"],
        &["validate", "-f", "configs/a.toml", "-f", "configs/b.toml"],
    ] {
        let output = running.cli(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        for expected in [
            "configs/a.toml and configs/b.toml write their outputs to the same directory ",
            "set a distinct [outputs] directory",
        ] {
            assert!(
                stderr.contains(expected),
                "{args:?}: {expected:?} in {stderr}"
            );
        }
    }
    assert!(
        running.sim.request_log().is_empty(),
        "no request reached the simulator: {:?}",
        running.sim.request_log()
    );
    let counters = running.sim.counters();
    assert_eq!((counters.requests, counters.token_requests), (0, 0));
    assert!(!dir.path().join("out").exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn configs_side_by_side_get_their_own_default_directories() {
    let running = common::sim::start(SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "configs/a.toml",
        &config(&running, "mail-a", None),
    );
    write(
        dir.path(),
        "configs/b.toml",
        &config(&running, "mail-b", None),
    );

    let output = running
        .cli(dir.path())
        .args(["apply", "-f", "configs", "--auto-approve"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let a = outputs(&dir.path().join("configs/entra-mail-out/mail-a"));
    let b = outputs(&dir.path().join("configs/entra-mail-out/mail-b"));
    assert_eq!(
        (a["unique_name"].as_str(), b["unique_name"].as_str()),
        (Some("mail-a"), Some("mail-b"))
    );
    assert_ne!(a["client_id"], b["client_id"]);
    assert_ne!(a["client_secret"]["value"], b["client_secret"]["value"]);
}

/// umask 000 takes nothing away, so the modes must come from entra-mail itself; umask 277
/// takes even the owner's write bit, which the created directories and files must get back.
#[tokio::test(flavor = "multi_thread")]
async fn outputs_are_private_under_any_umask() {
    let running = common::sim::start(SimOptions::default()).await;
    for umask in ["000", "277"] {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("mail-{umask}");
        write(dir.path(), "tenant.toml", &config(&running, &name, None));
        let output = running
            .cli_with_umask(dir.path(), umask)
            .args(["apply", "-f", "tenant.toml", "--auto-approve"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "umask {umask}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let root = dir.path().join("entra-mail-out");
        let outputs = root.join(&name);
        for directory in [&root, &outputs] {
            assert_eq!(
                mode(directory),
                0o700,
                "umask {umask}: {}",
                directory.display()
            );
        }
        for file in ["outputs.json", "pandora-itsm.md", "pandora-itsm.json"] {
            assert_eq!(mode(&outputs.join(file)), 0o600, "umask {umask}: {file}");
        }
    }
}

/// Files and a directory made wider by hand (or by an older version under a loose umask) are
/// narrowed by the next apply, even one that changes nothing in the tenant; plan warns first.
#[tokio::test(flavor = "multi_thread")]
async fn existing_outputs_wider_than_private_are_narrowed_by_a_no_change_apply() {
    use std::os::unix::fs::PermissionsExt;
    let running = common::sim::start(SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tenant.toml",
        &config(&running, "mail-wide", None),
    );
    let run = |args: &[&str]| {
        let output = running
            .cli_with_umask(dir.path(), "000")
            .args(args)
            .args(["-f", "tenant.toml"])
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = run(&["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{stderr}");
    let outputs = dir.path().join("entra-mail-out/mail-wide");
    let json = outputs.join("outputs.json");
    let sheet = outputs.join("pandora-itsm.md");
    let before = std::fs::read(&json).unwrap();
    let chmod = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod(&outputs, 0o755);
    chmod(&json, 0o644);
    chmod(&sheet, 0o640);

    // As the config names them: relative to its directory.
    let warnings = [
        "warning: the outputs directory entra-mail-out/mail-wide has mode 0755, wider than 0700",
        "warning: the outputs file entra-mail-out/mail-wide/outputs.json has mode 0644, wider than 0600",
        "warning: the outputs file entra-mail-out/mail-wide/pandora-itsm.md has mode 0640, wider than 0600",
    ];
    let (code, stdout, stderr) = run(&["plan"]);
    assert_eq!(code, Some(0), "nothing changes in the tenant: {stderr}");
    for warning in &warnings {
        assert!(stdout.contains(warning), "{warning:?} in {stdout}");
    }
    let (code, stdout, stderr) = run(&["plan", "--output", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let listed: Vec<String> = plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| format!("warning: {}", w.as_str().unwrap()))
        .collect();
    for warning in &warnings {
        assert!(
            listed.iter().any(|l| l.starts_with(warning)),
            "{warning:?} in {listed:?}"
        );
    }
    assert_eq!(plan["changes_pending"], false);

    let writes = running.sim.counters().writes;
    let (code, stdout, stderr) = run(&["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(running.sim.counters().writes, writes, "no tenant write");
    for said in [
        "Narrowed entra-mail-out/mail-wide from mode 0755 to 0700",
        "Narrowed entra-mail-out/mail-wide/outputs.json from mode 0644 to 0600",
        "Narrowed entra-mail-out/mail-wide/pandora-itsm.md from mode 0640 to 0600",
    ] {
        assert!(stdout.contains(said), "{said:?} in {stdout}");
    }
    assert_eq!(mode(&outputs), 0o700);
    assert_eq!(mode(&json), 0o600);
    assert_eq!(mode(&sheet), 0o600);
    assert_eq!(mode(&outputs.join("pandora-itsm.json")), 0o600);
    assert_eq!(std::fs::read(&json).unwrap(), before, "the secret is kept");

    let (code, stdout, stderr) = run(&["plan"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains("wider than"), "{stdout}");
}
