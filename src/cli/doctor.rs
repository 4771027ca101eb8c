//! `entra-mail doctor`: sign in, say who we are and what we may do, name every missing
//! permission with its fix, and check what Conditional Access needs of the tenant.

mod delivered;

use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};

use super::plan::{load_configs, sim_for};
use super::session::{self, TenantArgs};
use super::{GlobalArgs, OutputFormat};
use crate::graph::models::IdentitySecurityDefaultsEnforcementPolicy;
use crate::graph::GraphClient;
use crate::live::Licence;
use crate::preflight;

pub async fn run(global: &GlobalArgs, args: &TenantArgs) -> anyhow::Result<ExitCode> {
    let configs = match load_configs(global) {
        Ok(configs) => configs,
        Err(code) => return Ok(code),
    };
    let sim = sim_for(args, &configs).await?;
    let mut healthy = true;
    let mut reports = Vec::new();
    for desired in &configs {
        let reach = session::reach(global, args.budget(), sim.as_ref())?;
        let connection = session::connect_via(global, args, desired, sim.as_ref(), &reach)?;
        let client = connection.graph;
        let claims = client
            .token_claims()
            .await
            .with_context(|| format!("cannot sign in to tenant {}", desired.tenant_id))?;
        let report = preflight::report(desired, &crate::resources::needs(desired), &claims)?;
        let (security_defaults, licence) = tokio::join!(
            security_defaults(&client),
            crate::resources::conditional_access::read::read_licence(&client)
        );
        let policy_blocked = desired.conditional_access.is_some()
            && (security_defaults == Some(true) || licence == Licence::Missing);
        let secret = delivered::check(
            desired,
            &reach,
            &client,
            connection.vault.as_ref(),
            args.budget(),
            global.quiet,
        )
        .await;
        healthy &= report.missing().is_empty() && !policy_blocked && !secret.failed();
        match global.output {
            OutputFormat::Json => reports.push(json!({
                "config": desired.source,
                "report": report,
                "security_defaults": security_defaults,
                "entra_id_p1": match &licence {
                    Licence::Present(_) => Some(true),
                    Licence::Missing => Some(false),
                    Licence::NotRead | Licence::Unreadable(_) => None,
                },
                "licence": licence_json(&licence),
                "apply_would_succeed": report.missing().is_empty() && !policy_blocked,
                "key_vault": connection.vault.as_ref().map(|v| json!({
                    "url": v.target().display(),
                    "secret": v.target().secret_name,
                    "needs": crate::vault::NEEDS,
                })),
                "delivered_secret": secret,
            })),
            OutputFormat::Text => {
                let checks = TenantChecks {
                    security_defaults,
                    licence: &licence,
                    policy_blocked,
                    key_vault: connection.vault.as_ref().map(|v| v.target()),
                };
                print_text(desired, &report, &checks, &secret)
            }
        }
    }
    if global.output == OutputFormat::Json {
        let value = if reports.len() == 1 {
            reports.remove(0)
        } else {
            json!({"tenants": reports})
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What doctor learned of the tenant itself.
struct TenantChecks<'a> {
    security_defaults: Option<bool>,
    licence: &'a Licence,
    /// The config has a policy the tenant cannot hold (no licence, or security defaults on).
    policy_blocked: bool,
    /// The vault new secrets go to.
    key_vault: Option<&'a crate::vault::VaultTarget>,
}

fn print_text(
    desired: &crate::config::Desired,
    report: &preflight::Report,
    checks: &TenantChecks<'_>,
    secret: &delivered::DeliveredSecret,
) {
    let (security_defaults, licence) = (checks.security_defaults, checks.licence);
    println!("{}: tenant {}", desired.source.display(), report.tenant_id);
    println!(
        "  signed in as {} {} (client {})",
        report.kind, report.identity, report.app_id
    );
    println!(
        "  permissions: {}",
        if report.permissions.is_empty() {
            "(none)".to_string()
        } else {
            report.permissions.join(", ")
        }
    );
    for check in &report.checks {
        match (&check.satisfied_by, &check.fix) {
            (Some(by), _) => println!("  ok       {} ({})", check.operation, by.join(" + ")),
            (None, fix) if check.optional => println!(
                "  skipped  {} (optional): {}",
                check.operation,
                fix.clone().unwrap_or_default()
            ),
            (None, fix) => println!(
                "  MISSING  {}: {}",
                check.operation,
                fix.clone().unwrap_or_default()
            ),
        }
    }
    let yes_no = |v: Option<bool>, unknown: &str| match v {
        Some(true) => "yes".to_string(),
        Some(false) => "no".to_string(),
        None => format!("unknown ({unknown})"),
    };
    println!(
        "  security defaults on: {}",
        yes_no(security_defaults, "reading them needs Policy.Read.All")
    );
    println!("  Entra ID P1 licence: {}", licence_text(licence));
    if desired.conditional_access.is_some() {
        if security_defaults == Some(true) {
            println!("  Conditional Access cannot be used while security defaults are on: turn them off (Entra admin center: Identity > Overview > Properties > Manage security defaults)");
        }
        if *licence == Licence::Missing {
            println!("  Conditional Access needs Microsoft Entra ID P1: buy it (or P2, or Microsoft 365 Business Premium, which includes it), or remove [conditional_access] from the config");
        }
    }
    if let Some(vault) = checks.key_vault {
        println!(
            "  key vault: {} secret `{}`; entra-mail needs {}",
            vault.display(),
            vault.secret_name,
            crate::vault::NEEDS
        );
    }
    let from = match secret.source {
        delivered::Source::Outputs => "",
        delivered::Source::KeyVault => " (in Key Vault)",
    };
    println!("  delivered secret{from}: {}", secret.text());
    let missing = report.missing().len();
    if missing == 0 && checks.policy_blocked {
        println!("  apply would stop before its first write: the tenant cannot hold the Conditional Access policy");
    } else if missing == 0 {
        println!("  apply can proceed");
    } else {
        println!(
            "  apply would stop before its first write: {missing} permission{} missing",
            if missing == 1 { " is" } else { "s are" }
        );
    }
}

async fn security_defaults(client: &GraphClient) -> Option<bool> {
    client
        .get::<IdentitySecurityDefaultsEnforcementPolicy>(
            "policies/identitySecurityDefaultsEnforcementPolicy",
        )
        .await
        .ok()
        .and_then(|p| p.is_enabled)
}

fn licence_text(licence: &Licence) -> String {
    match licence {
        Licence::Present(sku) if sku.is_empty() => "present".to_string(),
        Licence::Present(sku) => format!("present ({sku})"),
        Licence::Missing => "missing".to_string(),
        Licence::Unreadable(why) => format!("unreadable ({why})"),
        Licence::NotRead => "not read".to_string(),
    }
}

fn licence_json(licence: &Licence) -> Value {
    match licence {
        Licence::Present(sku) => json!({"status": "present", "sku": sku}),
        Licence::Missing => json!({"status": "missing"}),
        Licence::Unreadable(why) => json!({"status": "unreadable", "detail": why}),
        Licence::NotRead => json!({"status": "not_read"}),
    }
}
