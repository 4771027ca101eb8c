//! Where the outputs go, through the built CLI against a simulated tenant: one directory per
//! config (a shared one is refused before any request), and private modes under any umask.
#![cfg(unix)]

mod common;

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
