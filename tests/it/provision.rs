//! The provisioning core against the simulated tenant: cold apply, idempotent re-runs,
//! drift repair, replication lag, secret lifecycle, destroy.

use crate::common;

use std::time::Duration;

use common::provision::{Harness, CONFIG, TENANT};
use entra_mail::kind::{Action, PlanOptions};
use entra_mail::resources::application;
use entra_mail::sim::Faults;
use serde_json::json;
use time::OffsetDateTime;

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

fn actions(plan: &entra_mail::plan::Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                entra_mail::plan::report::symbol(c.action),
                c.address
            )
        })
        .collect()
}

#[tokio::test]
async fn a_cold_apply_builds_exactly_the_seed_app() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    let (plan, _) = h.apply().await;
    assert_eq!(
        actions(&plan),
        [
            "+ application.pandora-itsm-mail",
            "+ application_identifier_uri.pandora-itsm-mail",
            "+ service_principal.pandora-itsm-mail",
            "+ client_secret.entra-mail",
            "+ oauth2_permission_grant.microsoft-graph",
            &("+ outputs.".to_string() + &h.dir.path().join("out").display().to_string()),
        ]
    );

    // The sign-in paths the config leaves closed are set explicitly on create.
    match plan.changes[0].operation_as::<application::Op>() {
        Some(application::Op::UpsertApplication { body, .. }) => {
            assert_eq!(body["spa"], json!({"redirectUris": []}));
            assert_eq!(body["publicClient"], json!({"redirectUris": []}));
            assert_eq!(
                body["web"]["implicitGrantSettings"],
                json!({"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false})
            );
            assert_eq!(body["isFallbackPublicClient"], false);
        }
        other => panic!("{other:?}"),
    }
    let app = h.app();
    assert_eq!(app["isFallbackPublicClient"], false, "set, not left null");
    assert_eq!(app["displayName"], "Pandora ITSM mail");
    assert_eq!(app["signInAudience"], "AzureADMyOrg");
    assert_eq!(app["web"]["redirectUris"], json!(["https://itsm.contoso.com/pandoraitsm/index.php?sec=godmode&sec2=godmode/setup/setup_mail"]));
    assert_eq!(
        app["identifierUris"],
        json!([format!("api://{}", app["appId"].as_str().unwrap())])
    );
    let access = &app["requiredResourceAccess"];
    assert_eq!(access.as_array().unwrap().len(), 1);
    assert_eq!(access[0]["resourceAppId"], GRAPH);
    let ids: Vec<&str> = access[0]["resourceAccess"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "652390e4-393a-48de-9484-05f9b1212954",
            "d7b7f2d9-0f45-4ea1-9d42-e50810c06991",
            "258f6531-6087-4cc4-bb90-092c5fb3ed3f",
            "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
            "37f7f235-527c-4136-accd-4a02d197296e",
            "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
            "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        ]
    );
    let scope = &app["api"]["oauth2PermissionScopes"][0];
    assert_eq!(scope["value"], "mail.access");
    assert_eq!(scope["type"], "Admin");
    assert_eq!(scope["isEnabled"], true);

    assert_eq!(h.our_service_principals().len(), 1);
    assert_eq!(h.our_service_principals()[0]["accountEnabled"], true);
    let grants = h.our_grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["consentType"], "AllPrincipals");
    assert_eq!(grants[0]["scope"], "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send offline_access openid email User.Read");

    let secrets = h.our_secrets();
    assert_eq!(secrets.len(), 1);
    let outputs = h.outputs().unwrap();
    let held = outputs.secret.unwrap();
    assert_eq!(secrets[0]["keyId"], json!(held.key_id));
    assert_eq!(
        secrets[0]["hint"].as_str().unwrap(),
        &held.value.expose()[..3]
    );
    assert_eq!(outputs.client_id, app["appId"].as_str().unwrap());
    assert!(h.dir.path().join("out/pandora-itsm.md").exists());
}

#[tokio::test]
async fn a_second_apply_makes_no_writes() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    let writes_before = h.writes();
    let requests_before = h.running.sim.counters().requests;

    let (plan, report) = h.apply().await;

    assert!(!plan.has_changes(), "{:?}", actions(&plan));
    assert!(report.applied.is_empty());
    assert_eq!(h.writes(), writes_before, "a re-run writes nothing");
    let reads = h.running.sim.counters().requests - requests_before;
    // The app, apps named like ours (adoption candidates), the resource, and (from the
    // outputs' ids) our service principal, its app role assignments and its grants, in one
    // wave with the helpdesk's mailbox (by any of its addresses) and the tenant's domains
    // (its verified ones): eight reads.
    assert_eq!(reads, 8, "the re-run only reads");
}

#[tokio::test]
async fn drift_is_shown_exactly_and_repaired() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    let app_id = h.app()["appId"].as_str().unwrap().to_string();

    // Behind our back: a redirect URI edited, a permission dropped, consent revoked.
    h.running.sim.with_tenant(common::provision::TENANT, |t| {
        let app = t
            .applications
            .iter_mut()
            .find(|a| a.str("appId") == Some(app_id.as_str()))
            .unwrap();
        app.data["web"]["redirectUris"] = json!(["https://evil.example.com/cb"]);
        app.data["requiredResourceAccess"][0]["resourceAccess"]
            .as_array_mut()
            .unwrap()
            .remove(2);
        t.oauth2_permission_grants.clear();
    });

    let plan = h.plan().await;
    assert_eq!(
        actions(&plan),
        [
            "~ application.pandora-itsm-mail",
            "+ oauth2_permission_grant.microsoft-graph"
        ]
    );
    let names: Vec<&str> = plan.changes[0]
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["redirect_uris", "required_resource_access"]);
    assert_eq!(
        plan.changes[0].attributes[1]
            .before
            .as_array()
            .unwrap()
            .len(),
        6
    );

    h.apply().await;
    assert!(!h.plan().await.has_changes());
    assert_eq!(
        h.app()["web"]["redirectUris"][0],
        "https://itsm.contoso.com/pandoraitsm/index.php?sec=godmode&sec2=godmode/setup/setup_mail"
    );
    assert_eq!(h.our_grants().len(), 1);
}

#[tokio::test]
async fn a_deleted_service_principal_and_secret_are_recreated() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    let old_key = h.outputs().unwrap().secret.unwrap().key_id;
    let app_id = h.app()["appId"].as_str().unwrap().to_string();

    h.running.sim.with_tenant(common::provision::TENANT, |t| {
        t.service_principals
            .retain(|sp| sp.str("appId") != Some(app_id.as_str()));
        t.oauth2_permission_grants.clear();
        let app = t
            .applications
            .iter_mut()
            .find(|a| a.str("appId") == Some(app_id.as_str()))
            .unwrap();
        app.data["passwordCredentials"] = json!([]);
        app.hidden.passwords.clear();
    });

    let (plan, _) = h.apply().await;
    let planned = actions(&plan);
    assert!(
        planned.contains(&"+ service_principal.pandora-itsm-mail".to_string()),
        "{planned:?}"
    );
    assert!(
        planned.contains(&"+ client_secret.entra-mail".to_string()),
        "{planned:?}"
    );
    assert_eq!(
        plan.changes
            .iter()
            .find(|c| c.address == "client_secret.entra-mail")
            .unwrap()
            .reason
            .as_deref(),
        Some("the tenant holds no delivered secret of ours")
    );
    assert_eq!(h.our_service_principals().len(), 1);
    assert_eq!(h.our_grants().len(), 1);
    let new_key = h.outputs().unwrap().secret.unwrap().key_id;
    assert_ne!(new_key, old_key);
    assert_eq!(h.our_secrets().len(), 1);
    assert!(!h.plan().await.has_changes());
}

#[tokio::test]
async fn replication_lag_is_waited_out_without_duplicates() {
    let faults = Faults {
        replication_lag: Duration::from_secs(2),
        ..Faults::default()
    };
    let h = Harness::start(CONFIG, faults).await;
    let (_, report) = h.apply().await;
    assert!(
        report.replication_waits > 0,
        "the lag was noticed and waited out"
    );
    assert_eq!(h.our_service_principals().len(), 1);
    assert_eq!(h.our_grants().len(), 1);
    assert_eq!(h.our_secrets().len(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(!h.plan().await.has_changes());
}

#[tokio::test]
async fn a_held_secret_is_reused_then_renewed_inside_the_window() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    let first = h.outputs().unwrap().secret.unwrap();

    // 149 days on: still outside the 30-day window of a 180-day secret.
    let plan = h
        .plan_at(OffsetDateTime::now_utc() + time::Duration::days(149))
        .await;
    assert!(!plan.has_changes());

    // 151 days on: inside it. A new secret; the old one stays for the grace period.
    let (plan, _) = h
        .apply_at(OffsetDateTime::now_utc() + time::Duration::days(151))
        .await;
    let secret_change = plan
        .changes
        .iter()
        .find(|c| c.address == "client_secret.entra-mail")
        .unwrap();
    assert_eq!(secret_change.action, Action::Create);
    assert!(secret_change
        .reason
        .as_deref()
        .unwrap()
        .contains("inside the 30-day renewal window"));
    let outputs = h.outputs().unwrap();
    assert_ne!(outputs.secret.as_ref().unwrap().key_id, first.key_id);
    assert_eq!(
        h.our_secrets().len(),
        2,
        "the previous secret keeps working during the grace period"
    );

    // After the 7-day grace period the previous secret goes.
    let later = OffsetDateTime::now_utc() + time::Duration::days(8);
    let (plan, _) = h.apply_at(later).await;
    let removal = plan
        .changes
        .iter()
        .find(|c| c.action == Action::Delete)
        .unwrap();
    assert!(
        removal
            .reason
            .as_deref()
            .unwrap()
            .contains("grace period is over"),
        "{:?}",
        removal.reason
    );
    assert_eq!(h.our_secrets().len(), 1);
    assert_eq!(
        h.our_secrets()[0]["keyId"].as_str().unwrap(),
        outputs.secret.as_ref().unwrap().key_id.to_string(),
        "the renewed secret stays"
    );
}

#[tokio::test]
async fn orphaned_secrets_are_removed() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    let app_id = h.app()["appId"].as_str().unwrap().to_string();
    // A secret of ours whose answer was lost: nobody holds its value.
    h.running.sim.with_tenant(common::provision::TENANT, |t| {
        let app = t.applications.iter_mut().find(|a| a.str("appId") == Some(app_id.as_str())).unwrap();
        app.data["passwordCredentials"].as_array_mut().unwrap().push(json!({
            "keyId": "11111111-2222-3333-4444-555555555555", "displayName": "entra-mail", "hint": "abc",
            "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z", "customKeyIdentifier": null, "secretText": null
        }));
        // Someone else's secret is not ours to touch.
        app.data["passwordCredentials"].as_array_mut().unwrap().push(json!({
            "keyId": "66666666-2222-3333-4444-555555555555", "displayName": "someone else", "hint": "xyz",
            "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z", "customKeyIdentifier": null, "secretText": null
        }));
    });
    let (plan, _) = h.apply().await;
    assert_eq!(actions(&plan), ["- client_secret.entra-mail[11111111]"]);
    assert_eq!(
        plan.changes[0].reason.as_deref(),
        Some(
            "never delivered: its value reached nobody (a lost answer or a crash before delivery)"
        )
    );
    let names: Vec<String> = h.app()["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["displayName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["entra-mail", "someone else"]);
}

#[tokio::test]
async fn an_enabled_scope_is_disabled_before_it_changes() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    h.rewrite_config(&CONFIG.replace(
        "Lets Pandora ITSM read and send the helpdesk mailbox.",
        "Lets Pandora ITSM use the helpdesk mailbox.",
    ));
    let plan = h.plan().await;
    assert_eq!(actions(&plan), ["~ application.pandora-itsm-mail"]);
    match plan.changes[0].operation_as::<application::Op>() {
        Some(application::Op::UpsertApplication {
            disable_scopes_first,
            ..
        }) => {
            let first = disable_scopes_first
                .as_ref()
                .expect("the scope is disabled first");
            assert_eq!(
                first["api"]["oauth2PermissionScopes"][0]["isEnabled"],
                false
            );
        }
        other => panic!("{other:?}"),
    }
    h.apply().await;
    let scope = &h.app()["api"]["oauth2PermissionScopes"][0];
    assert_eq!(
        scope["adminConsentDescription"],
        "Lets Pandora ITSM use the helpdesk mailbox."
    );
    assert_eq!(scope["isEnabled"], true);
}

#[tokio::test]
async fn an_unknown_permission_names_the_closest_ones() {
    let h = Harness::start(
        &CONFIG.replace("\"SMTP.Send\"", "\"SMTP.Sendd\""),
        Faults::default(),
    )
    .await;
    let error = h
        .try_plan_with(&PlanOptions::at(OffsetDateTime::now_utc()))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Microsoft Graph publishes no delegated permission `SMTP.Sendd`; did you mean `SMTP.Send`?"
    );
    assert_eq!(h.writes(), 0);
}

#[tokio::test]
async fn application_permissions_get_app_role_assignments_and_dropping_one_revokes_it() {
    let config = CONFIG.replace(
        "[api]",
        "application = [\"Mail.Read\", \"Mail.Send\"]\n\n[api]",
    );
    let h = Harness::start(&config, Faults::default()).await;
    let (plan, _) = h.apply().await;
    let planned = actions(&plan);
    assert!(
        planned.contains(&"+ app_role_assignment.microsoft-graph.Mail.Read".to_string()),
        "{planned:?}"
    );
    assert!(
        planned.contains(&"+ app_role_assignment.microsoft-graph.Mail.Send".to_string()),
        "{planned:?}"
    );
    let sp_id = h.our_service_principals()[0]["id"].clone();
    let assigned = |h: &Harness| {
        h.snapshot()["appRoleAssignments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["principalId"] == sp_id)
            .count()
    };
    assert_eq!(assigned(&h), 2);

    h.rewrite_config(&config.replace(", \"Mail.Send\"", ""));
    let (plan, _) = h.apply().await;
    let planned = actions(&plan);
    assert!(
        planned.contains(&"- app_role_assignment.microsoft-graph.Mail.Send".to_string()),
        "{planned:?}"
    );
    assert!(
        planned.contains(&"~ application.pandora-itsm-mail".to_string()),
        "{planned:?}"
    );
    assert_eq!(assigned(&h), 1);
    assert!(!h.plan().await.has_changes());
}

#[tokio::test]
async fn destroy_removes_only_our_objects_and_can_run_twice() {
    let h = Harness::start(CONFIG, Faults::default()).await;
    h.apply().await;
    let before = h.snapshot();
    let count = |v: &serde_json::Value, key: &str| v[key].as_array().unwrap().len();

    for _ in 0..2 {
        h.destroy().await;
    }

    let after = h.snapshot();
    assert_eq!(
        count(&after, "applications"),
        count(&before, "applications") - 1
    );
    assert_eq!(
        count(&after, "servicePrincipals"),
        count(&before, "servicePrincipals") - 1
    );
    assert_eq!(count(&after, "oauth2PermissionGrants"), 0);
    assert!(after["applications"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["uniqueName"] != "pandora-itsm-mail"));
    assert!(
        after["applications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["displayName"] == "entra-mail provisioning"),
        "the admin app is untouched"
    );
}

/// Graph refuses a duplicate app role assignment with a bare 400 (only its message says
/// why), so apply asks the tenant whether the assignment exists, waiting for lists to show it.
#[tokio::test]
async fn an_assignment_graph_calls_a_duplicate_is_recognised_once_it_lists() {
    let config = CONFIG.replace("[api]", "application = [\"Mail.Send\"]\n\n[api]");
    let h = Harness::start(&config, Faults::default()).await;
    h.apply().await;
    // Lists stop showing the assignment for a while, as when its write has not replicated.
    h.running.sim.with_tenant(TENANT, |t| {
        for assignment in &mut t.app_role_assignments {
            assignment.list_visible_at =
                Some(std::time::Instant::now() + std::time::Duration::from_secs(2));
        }
    });
    let (plan, _) = h.apply().await;
    assert!(
        actions(&plan).contains(&"+ app_role_assignment.microsoft-graph.Mail.Send".to_string()),
        "the plan did not see it: {:?}",
        actions(&plan)
    );
    let mail_send = h.snapshot()["appRoleAssignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["appRoleId"] == "b633e1c5-b582-4048-a93e-9f11b44c7e96")
        .count();
    assert_eq!(mail_send, 1, "one assignment, not two");
}
