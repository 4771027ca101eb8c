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
use crate::graph::{GraphClient, Request};
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
        let client = session::connect_via(global, args, desired, sim.as_ref(), &reach)?;
        let claims = client
            .token_claims()
            .await
            .with_context(|| format!("cannot sign in to tenant {}", desired.tenant_id))?;
        let report = preflight::report(desired, &claims)?;
        let security_defaults = security_defaults(&client).await;
        let licence = licence(&client).await;
        let policy_blocked = desired.conditional_access.is_some()
            && (security_defaults == Some(true) || licence == Some(false));
        let secret = delivered::check(desired, &reach, &client, args.budget(), global.quiet).await;
        healthy &= report.missing().is_empty() && !policy_blocked && !secret.failed();
        match global.output {
            OutputFormat::Json => reports.push(json!({
                "config": desired.source,
                "report": report,
                "security_defaults": security_defaults,
                "entra_id_p1": licence,
                "apply_would_succeed": report.missing().is_empty() && !policy_blocked,
                "delivered_secret": secret,
            })),
            OutputFormat::Text => print_text(desired, &report, security_defaults, licence, &secret),
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

fn print_text(
    desired: &crate::config::Desired,
    report: &preflight::Report,
    security_defaults: Option<bool>,
    licence: Option<bool>,
    secret: &delivered::DeliveredSecret,
) {
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
    println!(
        "  Entra ID P1 licence: {}",
        yes_no(
            licence,
            "reading it needs Organization.Read.All or Directory.Read.All"
        )
    );
    if desired.conditional_access.is_some() {
        if security_defaults == Some(true) {
            println!("  Conditional Access cannot be used while security defaults are on: turn them off (Entra admin center: Identity > Overview > Properties > Manage security defaults)");
        }
        if licence == Some(false) {
            println!("  Conditional Access needs Microsoft Entra ID P1 (or Microsoft 365 Business Premium)");
        }
    }
    println!("  delivered secret: {}", secret.text());
    let missing = report.missing().len();
    if missing == 0 {
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

/// Whether the tenant has Entra ID P1 (`AADPremiumService` enabled), when we may read it.
async fn licence(client: &GraphClient) -> Option<bool> {
    let organizations: Vec<Value> = client
        .list(Request::get("organization").query("$select", "id,assignedPlans"))
        .await
        .ok()?;
    let plans = organizations
        .first()?
        .get("assignedPlans")?
        .as_array()?
        .clone();
    Some(plans.iter().any(|p| {
        p.get("service").and_then(Value::as_str) == Some("AADPremiumService")
            && p.get("capabilityStatus").and_then(Value::as_str) == Some("Enabled")
    }))
}
