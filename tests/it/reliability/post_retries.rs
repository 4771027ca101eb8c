//! A 503 or 504 may come after a write took effect. A POST answered so is never sent again
//! blindly: apply looks for what it may have made first. Every write of a full apply gets a
//! "committed, then 503" answer in turn; no run ever leaves a duplicate behind.

use crate::common;

use common::provision::{Harness, CONFIG};
use entra_mail::kind::PlanOptions;
use entra_mail::sim::Faults;
use serde_json::Value;
use time::OffsetDateTime;

const POLICY: &str = "\n[conditional_access]\nstate = \"enabled\"\npilot_groups = [\"MFA-Test-Group\"]\nemergency_access_users = [\"breakglass1@contoso.onmicrosoft.com\", \"breakglass2@contoso.onmicrosoft.com\"]\n";

/// The core config with an application permission (an app role assignment POST) and the
/// policy (a Conditional Access POST).
fn config() -> String {
    format!(
        "{}{POLICY}",
        CONFIG.replace("[api]", "application = [\"Mail.Send\"]\n\n[api]")
    )
}

fn now() -> PlanOptions {
    PlanOptions::at(OffsetDateTime::now_utc())
}

/// How many objects of `collection` match `pred`.
fn count(h: &Harness, collection: &str, pred: impl Fn(&Value) -> bool) -> usize {
    h.snapshot()[collection]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| pred(v))
        .count()
}

/// Nothing of ours exists twice.
fn assert_no_duplicates(h: &Harness, write: u64) {
    // A copy still under its pending name counts too.
    let policies = count(h, "conditionalAccessPolicies", |p| {
        p["displayName"]
            .as_str()
            .is_some_and(|n| n.starts_with("MFA Pilot"))
    });
    assert!(policies <= 1, "write {write}: {policies} policies");
    let grants = h.our_grants().len();
    assert!(grants <= 1, "write {write}: {grants} grants");
    let mail_send = count(h, "appRoleAssignments", |a| {
        a["appRoleId"] == "b633e1c5-b582-4048-a93e-9f11b44c7e96"
    });
    assert!(
        mail_send <= 1,
        "write {write}: {mail_send} Mail.Send assignments"
    );
}

#[tokio::test]
async fn a_write_answered_503_after_it_took_effect_is_never_duplicated() {
    let baseline = Harness::start(&config(), Faults::default()).await;
    baseline.try_apply_with(&now()).await.unwrap();
    let writes = baseline.writes();

    let mut reconciled_in_the_same_run = 0;
    for write in 1..=writes {
        let h = Harness::start(
            &config(),
            Faults {
                unavailable_after_writes: vec![write],
                ..Faults::default()
            },
        )
        .await;
        let first = h.try_apply_with(&now()).await;
        assert_no_duplicates(&h, write);
        if first.is_ok() {
            reconciled_in_the_same_run += 1;
        } else {
            let error = first.err().unwrap_or_default();
            assert!(
                error.contains("may or may not have taken effect"),
                "write {write}: {error}"
            );
            h.age_secrets(
                entra_mail::resources::client_secret::PENDING_WINDOW + time::Duration::minutes(1),
            );
            h.try_apply_with(&now()).await.unwrap();
            assert_no_duplicates(&h, write);
        }
        assert!(
            !h.try_plan_with(&now()).await.unwrap().has_changes(),
            "write {write}: converged"
        );
    }
    assert!(
        reconciled_in_the_same_run >= 2,
        "the assignment and the grant are found and kept in the run that made them"
    );
}
