//! What decides who can get a token for the app, beyond the config's web redirect URIs: the
//! service principal's `accountEnabled`, SPA and public-client redirect URIs, the implicit
//! grant and public-client flows. Changed behind the tool's back (a Graph PATCH with the
//! tenant's admin app), each is drift: plan exits 2 and names it, apply restores it, and the
//! next plan exits 0. Through the built CLI against the simulator.

use crate::common;

use common::provision::{CliRun, Harness, CONFIG};
use entra_mail::graph::Request;
use entra_mail::sim::Faults;
use serde_json::{json, Value};

async fn applied() -> Harness {
    let h = Harness::start(CONFIG, Faults::default()).await;
    let run = cli(&h, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.text());
    h
}

fn cli(h: &Harness, args: &[&str]) -> CliRun {
    h.run_cli(h.dir.path(), args)
}

async fn patch(h: &Harness, path: String, body: Value) {
    common::calls::ok(&h.client, Request::patch(path, body)).await;
}

async fn patch_app(h: &Harness, body: Value) {
    let id = h.app()["id"].as_str().unwrap().to_string();
    patch(h, format!("applications/{id}"), body).await;
}

/// Plan sees the drift (exit 2, `expected` in its text, `address` in its JSON), apply repairs
/// it, `restored` holds, and the next plan is clean.
fn repaired(h: &Harness, address: &str, expected: &[&str], restored: impl Fn(&Harness) -> bool) {
    assert!(!restored(h), "the drift is in place");
    let plan = cli(h, &["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.text());
    for line in expected {
        assert!(plan.stdout.contains(line), "{line:?} in {}", plan.stdout);
    }
    let json = cli(h, &["plan", "--output", "json"]);
    assert_eq!(json.code, 2, "{}", json.text());
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    let changed: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(changed, [address], "only the drifted object changes");

    let apply = cli(h, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert!(restored(h), "apply restored it");
    let again = cli(h, &["plan"]);
    assert_eq!(again.code, 0, "{}", again.text());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

const APP: &str = "application.pandora-itsm-mail";

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_service_principal_is_enabled_again() {
    let h = applied().await;
    let sp = h.our_service_principals()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    patch(
        &h,
        format!("servicePrincipals/{sp}"),
        json!({"accountEnabled": false}),
    )
    .await;
    repaired(
        &h,
        "service_principal.pandora-itsm-mail",
        &[
            "~ service_principal.pandora-itsm-mail",
            "account_enabled: false → true",
        ],
        |h| h.our_service_principals()[0]["accountEnabled"] == true,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_added_spa_redirect_uri_is_removed() {
    let h = applied().await;
    patch_app(
        &h,
        json!({"spa": {"redirectUris": ["https://spa.example.com/cb"]}}),
    )
    .await;
    repaired(
        &h,
        APP,
        &["spa_redirect_uris:", "- \"https://spa.example.com/cb\""],
        |h| h.app()["spa"]["redirectUris"] == json!([]),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_added_public_client_redirect_uri_is_removed() {
    let h = applied().await;
    patch_app(
        &h,
        json!({"publicClient": {"redirectUris": ["http://localhost:8400"]}}),
    )
    .await;
    repaired(
        &h,
        APP,
        &[
            "public_client_redirect_uris:",
            "- \"http://localhost:8400\"",
        ],
        |h| h.app()["publicClient"]["redirectUris"] == json!([]),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_id_token_issuance_is_turned_off_and_the_web_uris_kept() {
    let h = applied().await;
    let web_uris = h.app()["web"]["redirectUris"].clone();
    patch_app(
        &h,
        json!({"web": {"implicitGrantSettings": {"enableIdTokenIssuance": true}}}),
    )
    .await;
    repaired(
        &h,
        APP,
        &["implicit_grant_id_tokens", "true → false"],
        |h| {
            h.app()["web"]["implicitGrantSettings"]
                == json!({"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false})
        },
    );
    assert_eq!(h.app()["web"]["redirectUris"], web_uris);
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_access_token_issuance_is_turned_off() {
    let h = applied().await;
    patch_app(
        &h,
        json!({"web": {"implicitGrantSettings": {"enableAccessTokenIssuance": true}}}),
    )
    .await;
    repaired(
        &h,
        APP,
        &["implicit_grant_access_tokens", "true → false"],
        |h| h.app()["web"]["implicitGrantSettings"]["enableAccessTokenIssuance"] == false,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fallback_public_client_is_turned_off_and_null_is_off() {
    let h = applied().await;
    // Graph's "not set" is off: no drift.
    patch_app(&h, json!({"isFallbackPublicClient": null})).await;
    let plan = cli(&h, &["plan"]);
    assert_eq!(plan.code, 0, "null is off: {}", plan.text());

    patch_app(&h, json!({"isFallbackPublicClient": true})).await;
    repaired(
        &h,
        APP,
        &["is_fallback_public_client", "true → false"],
        |h| h.app()["isFallbackPublicClient"] == false,
    );
}
