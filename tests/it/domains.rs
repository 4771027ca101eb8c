//! The tenant's domains through the CLI: plan refuses an identifier URI that Entra would
//! refuse (HostNameNotOnVerifiedDomain) before anything is written, and names a helpdesk
//! mailbox at a domain the tenant has not verified.

use entra_mail::sim::Faults;

use crate::common::provision::{tenant_with_swapped_roles, Harness, CONFIG};

fn with_identifier_uri(uri: &str) -> String {
    CONFIG.replace("[api]\n", &format!("[api]\nidentifier_uri = \"{uri}\"\n"))
}

fn with_mailbox(mailbox: &str) -> String {
    CONFIG.replace("helpdesk@contoso.com", mailbox)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identifier_uri_off_the_verified_domains_stops_plan_and_apply_before_any_write() {
    let h = Harness::start(
        &with_identifier_uri("https://helpdesk.fabrikam.com/mail"),
        Faults::default(),
    )
    .await;
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let run = h.run_cli(h.dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.text());
        assert_eq!(run.writes, 0, "{args:?}");
        let err = &run.stderr;
        assert!(
            err.contains("api.identifier_uri `https://helpdesk.fabrikam.com/mail`"),
            "{err}"
        );
        assert!(err.contains("tenant.toml"), "{err}");
        assert!(
            err.contains("its host `helpdesk.fabrikam.com` is not on a verified domain"),
            "{err}"
        );
        assert!(
            err.contains("(verified: contoso.onmicrosoft.com, contoso.com)"),
            "{err}"
        );
        assert!(err.contains("HostNameNotOnVerifiedDomain"), "{err}");
    }
    assert_eq!(h.running.sim.counters().writes, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_on_a_domain_not_verified_yet_is_named_with_the_fix() {
    let h = Harness::start(
        &with_identifier_uri("https://helpdesk.contoso.org"),
        Faults::default(),
    )
    .await;
    let run = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr
            .contains("`contoso.org` is added to the tenant but not verified yet"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_on_a_verified_domain_applies_and_a_held_uri_is_not_judged_again() {
    let uri = "https://mail.contoso.com/helpdesk";
    let h = Harness::start(&with_identifier_uri(uri), Faults::default()).await;
    let apply = h.run_cli(h.dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.text());
    assert_eq!(h.app()["identifierUris"], serde_json::json!([uri]));

    // The domain's verification lapses: the app keeps its URI, and plan does not refuse a
    // value it will not write again.
    h.running
        .sim
        .with_tenant(crate::common::provision::TENANT, |t| {
            t.domains.retain(|d| d != "contoso.com");
            t.unverified_domains.push("contoso.com".into());
        });
    let plan = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_domain_read_all_the_organization_tells_and_without_either_entra_does() {
    let config = with_identifier_uri("https://helpdesk.fabrikam.com");
    // Organization.Read.All instead: the organization's verifiedDomains decide at plan.
    let h = Harness::start_with(
        &config,
        Faults::default(),
        tenant_with_swapped_roles(&[("Domain.Read.All", "Organization.Read.All")]),
    )
    .await;
    let run = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains("HostNameNotOnVerifiedDomain"),
        "{}",
        run.stderr
    );

    // Neither: plan cannot tell (doctor says what to grant), and Entra refuses at apply.
    let h = Harness::start_with(
        &config,
        Faults::default(),
        tenant_with_swapped_roles(&[("Domain.Read.All", "")]),
    )
    .await;
    let plan = h.run_cli(h.dir.path(), &["plan"]);
    assert_eq!(plan.code, 2, "changes, no refusal: {}", plan.text());
    assert!(
        !plan.text().contains("could not read the tenant's domains"),
        "a refusal to read is not a failure: {}",
        plan.text()
    );
    let doctor = h.run_cli(h.dir.path(), &["doctor"]);
    assert!(
        doctor.stdout.contains("skipped  check identifier URIs and the helpdesk's mailbox against the tenant's verified domains (optional)"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("Domain.Read.All"),
        "{}",
        doctor.stdout
    );
    let apply = h.run_cli(h.dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.text());
    assert!(
        apply.stderr.contains("HostNameNotOnVerifiedDomain"),
        "{}",
        apply.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_at_a_domain_the_tenant_lacks_is_named() {
    for (mailbox, expected) in [
        (
            "help@fabrikam.com",
            "`fabrikam.com` is not a domain of this tenant (verified: contoso.onmicrosoft.com, contoso.com)",
        ),
        ("help@contoso.org", "`contoso.org` is added to the tenant but not verified yet"),
    ] {
        let h = Harness::start(&with_mailbox(mailbox), Faults::default()).await;
        let run = h.run_cli(h.dir.path(), &["plan"]);
        assert_eq!(run.code, 2, "{}", run.text());
        let text = run.text();
        assert!(
            text.contains(&format!("the mailbox `{mailbox}` cannot be in this tenant: {expected}")),
            "{text}"
        );
        assert!(!text.contains("does not resolve in this tenant"), "one warning, the precise one: {text}");
    }
}
