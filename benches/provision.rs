//! `cargo bench --bench provision`: a cold apply and a no-op apply against the in-process
//! simulated tenant with a per-request latency L, measured against the round-trip floor.
//!
//! Reports HTTP requests (token included), writes, sequential waves (requests that overlap in
//! time form one wave), wall time, wall / (waves x L) and the process's peak memory.
//!
//! The main job is also measured as a user runs it: the built `entra-mail` binary, Conditional
//! Access included, cold, then again on a fresh CI runner (no outputs) and on the same runner.
//!
//! Every goal is checked; a missed one makes the benchmark exit 1. `-- --short` skips the
//! 50-tenant run (CI runs that form).

use std::sync::Arc;
use std::time::{Duration, Instant};

use entra_mail::apply::{self, ApplyContext};
use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::config;
use entra_mail::graph::GraphClient;
use entra_mail::http::{build_client, TransportOptions};
use entra_mail::live;
use entra_mail::outputs::Outputs;
use entra_mail::plan;
use entra_mail::progress::Progress;
use entra_mail::sim::{Faults, LogEntry, Sim, SimOptions, TenantSpec};

const TENANT: &str = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10";

/// The example without Conditional Access (measured on its own, at 1 request/second).
fn config_text() -> String {
    let example = include_str!("../examples/pandora-itsm.toml");
    let cut = example
        .find("# Conditional Access")
        .unwrap_or(example.len());
    let rest = example[cut..]
        .find("[outputs]")
        .map(|i| &example[cut + i..])
        .unwrap_or("");
    format!("{}{}", &example[..cut], rest).replace("out/pandora-itsm", "bench-out")
}

struct Measured {
    requests: usize,
    writes: usize,
    waves: usize,
    wall: Duration,
}

/// Sequential waves: a request that starts after every earlier one has finished opens a
/// new wave.
fn waves(log: &[LogEntry]) -> usize {
    let mut entries: Vec<&LogEntry> = log.iter().collect();
    entries.sort_by_key(|e| e.started_us);
    let mut waves = 0;
    let mut latest_end = 0;
    for entry in entries {
        if waves == 0 || entry.started_us >= latest_end {
            waves += 1;
        }
        latest_end = latest_end.max(entry.finished_us);
    }
    waves
}

async fn client(sim: &Sim) -> GraphClient {
    client_for(sim, TENANT).await
}

async fn client_for(sim: &Sim, tenant_id: &str) -> GraphClient {
    let tenant = sim.tenant_info(tenant_id).expect("tenant");
    let http = build_client(&TransportOptions {
        ca_pems: vec![sim.ca_pem().to_string()],
        ..TransportOptions::default()
    })
    .expect("http");
    let endpoints = Endpoints::resolve(
        Cloud::Public,
        Some(&sim.graph_url()),
        Some(&sim.authority_host()),
    )
    .expect("endpoints");
    let credential: Arc<dyn azure_core::credentials::TokenCredential> =
        entra_mail::auth::client_secret(
            tenant_id,
            &tenant.admin_client_id,
            &tenant.admin_client_secret,
            &http,
            &endpoints.authority_host,
        )
        .expect("credential");
    GraphClient::builder(&endpoints, credential)
        .http_client(http)
        .build()
        .expect("client")
}

/// One apply with a fresh client (so its token request counts, as in a new process).
async fn apply_once(sim: &Sim, config_path: &std::path::Path) -> Measured {
    sim.reset_counters();
    let started = Instant::now();
    let client = client(sim).await;
    let desired = config::load(config_path).expect("config");
    let outputs = Outputs::read(&desired.outputs.directory).expect("outputs");
    let live = live::read(&client, &desired, outputs.as_ref())
        .await
        .expect("live");
    let plan = plan::build(
        &desired,
        &live,
        outputs.as_ref(),
        time::OffsetDateTime::now_utc(),
    )
    .expect("plan");
    let progress = Progress::silent();
    let ctx = ApplyContext::new(
        &client,
        &desired,
        &live,
        outputs,
        Duration::from_secs(120),
        &progress,
        None,
    );
    apply::run(&ctx, &plan).await.expect("apply");
    let wall = started.elapsed();
    let log = sim.request_log();
    Measured {
        requests: log.len(),
        writes: log.iter().filter(|e| e.wrote).count(),
        waves: waves(&log),
        wall,
    }
}

/// A cold apply of `count` tenants at once (each with its own client, token and outputs),
/// in a simulator of their own.
async fn many_tenants(count: usize, latency: Duration) -> (Duration, usize) {
    let specs: Vec<TenantSpec> = (0..count)
        .map(|i| TenantSpec {
            tenant_id: Some(format!("00000000-0000-4000-8000-{:012}", i + 1)),
            ..TenantSpec::default()
        })
        .collect();
    let sim = Sim::start(SimOptions {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        tenants: specs.clone(),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let path = dir.path().join(format!("tenant-{i}.toml"));
        let text = config_text()
            .replace(TENANT, spec.tenant_id.as_deref().unwrap_or_default())
            .replace("bench-out", &format!("bench-out-{i}"));
        std::fs::write(&path, text).expect("config");
        paths.push(path);
    }
    let started = Instant::now();
    let runs = specs.iter().zip(&paths).map(|(spec, path)| {
        let sim = &sim;
        async move {
            let client = client_for(sim, spec.tenant_id.as_deref().unwrap_or_default()).await;
            let desired = config::load(path).expect("config");
            let live = live::read(&client, &desired, None).await.expect("live");
            let plan =
                plan::build(&desired, &live, None, time::OffsetDateTime::now_utc()).expect("plan");
            let progress = Progress::silent();
            let ctx = ApplyContext::new(
                &client,
                &desired,
                &live,
                None,
                Duration::from_secs(120),
                &progress,
                None,
            );
            apply::run(&ctx, &plan).await.expect("apply");
        }
    });
    futures::future::join_all(runs).await;
    (started.elapsed(), sim.request_log().len())
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One CLI run against the simulator: what the tenant saw, and the process's wall time.
fn cli_run(
    sim: &Sim,
    dir: &std::path::Path,
    ca_file: &std::path::Path,
    args: &[&str],
) -> (Measured, i32) {
    // Runs start more than a second apart, as separate pipeline runs do: Conditional Access
    // allows one request a second per tenant, and the previous run's last one counts.
    std::thread::sleep(Duration::from_millis(1100));
    sim.reset_counters();
    let tenant = sim.tenant_info(TENANT).expect("tenant");
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_entra-mail"))
        .current_dir(dir)
        .args(args)
        .args(["-f", "tenant.toml"])
        .env("NO_COLOR", "1")
        .env("ENTRA_MAIL_GRAPH_URL", sim.graph_url())
        .env("AZURE_AUTHORITY_HOST", sim.authority_host())
        .env("SSL_CERT_FILE", ca_file)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", &tenant.admin_client_id)
        .env("AZURE_CLIENT_SECRET", tenant.admin_client_secret.expose())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("the entra-mail binary runs");
    let wall = started.elapsed();
    let code = output.status.code().unwrap_or(-1);
    if code != 0 && code != 2 {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    let log = sim.request_log();
    if std::env::var_os("ENTRA_MAIL_BENCH_LOG").is_some() {
        for entry in &log {
            eprintln!(
                "{:>8} {:>8} {} {} {}",
                entry.started_us, entry.finished_us, entry.status, entry.method, entry.path
            );
        }
    }
    (
        Measured {
            requests: log.len(),
            writes: log.iter().filter(|e| e.wrote).count(),
            waves: waves(&log),
            wall,
        },
        code,
    )
}

/// A CI runner's directory: the example config (Conditional Access included) and nothing else.
fn runner_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = include_str!("../examples/pandora-itsm.toml")
        .replace("policy = \"../policies/mfa-pilot.json\"\n", "")
        .replace("out/pandora-itsm", "out");
    std::fs::write(dir.path().join("tenant.toml"), text).expect("config");
    dir
}

/// A simulator with the example's tenant, `latency` on every request.
async fn one_tenant_sim(latency: Duration) -> Sim {
    Sim::start(SimOptions {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        tenants: vec![TenantSpec {
            tenant_id: Some(TENANT.into()),
            ..TenantSpec::default()
        }],
        ..SimOptions::default()
    })
    .await
    .expect("simulator")
}

/// The main job through the CLI, Conditional Access included. Returns whether every goal
/// was met.
async fn cli_round_trips(latency: Duration) -> bool {
    let sim = one_tenant_sim(latency).await;
    let ca_file = tempfile::NamedTempFile::new().expect("ca file");
    std::fs::write(ca_file.path(), sim.ca_pem()).expect("ca");
    let first = runner_dir();
    let (cold, cold_code) = cli_run(
        &sim,
        first.path(),
        ca_file.path(),
        &["apply", "--auto-approve"],
    );
    let fresh = runner_dir();
    let (fresh_plan, fresh_plan_code) = cli_run(&sim, fresh.path(), ca_file.path(), &["plan"]);
    let (fresh_apply, fresh_code) = cli_run(
        &sim,
        fresh.path(),
        ca_file.path(),
        &["apply", "--auto-approve"],
    );
    let (same, same_code) = cli_run(
        &sim,
        first.path(),
        ca_file.path(),
        &["apply", "--auto-approve"],
    );

    // Conditional Access allows one request a second: token, the policy list, then the POST
    // no sooner than 1.05 s after the list's answer.
    let floor = Duration::from_millis(1050) + latency * 3;
    let cold_goal = cold_code == 0 && cold.wall.as_secs_f64() <= 1.3 * floor.as_secs_f64();
    let fresh_plan_goal = fresh_plan_code == 0 && fresh_plan.writes == 0 && fresh_plan.waves <= 3;
    let fresh_goal = fresh_code == 0 && fresh_apply.writes == 0 && fresh_apply.waves <= 3;
    let same_goal = same_code == 0 && same.writes == 0 && same.waves <= 2;
    println!(
        "\nthe main job through the CLI (the built binary, Conditional Access included), L = {} ms; floor = 1.05 s of Conditional Access pacing + 3 x L = {:.0} ms\n",
        latency.as_millis(),
        floor.as_secs_f64() * 1000.0
    );
    println!("| run | exit | requests | writes | waves | wall | wall / floor | goal |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, m, code, goal, met) in [
        ("cold apply", &cold, cold_code, "<= 1.3 x floor", cold_goal),
        (
            "plan, fresh runner",
            &fresh_plan,
            fresh_plan_code,
            "exit 0, 0 writes, <= 3 waves",
            fresh_plan_goal,
        ),
        (
            "apply, fresh runner",
            &fresh_apply,
            fresh_code,
            "0 writes, <= 3 waves",
            fresh_goal,
        ),
        (
            "apply, same runner",
            &same,
            same_code,
            "0 writes, <= 2 waves",
            same_goal,
        ),
    ] {
        println!(
            "| {name} | {code} | {} | {} | {} | {:.0} ms | {:.2} | {goal}: {} |",
            m.requests,
            m.writes,
            m.waves,
            m.wall.as_secs_f64() * 1000.0,
            m.wall.as_secs_f64() / floor.as_secs_f64(),
            if met { "met" } else { "MISSED" }
        );
    }
    cold_goal && fresh_plan_goal && fresh_goal && same_goal
}

#[tokio::main]
async fn main() {
    let short = std::env::args().any(|a| a == "--short");
    let mut all_met = true;
    let latency_ms: u64 = std::env::var("ENTRA_MAIL_BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let latency = Duration::from_millis(latency_ms);
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("tenant.toml");
    std::fs::write(&config_path, config_text()).expect("config");
    let sim = one_tenant_sim(latency).await;

    let cold = apply_once(&sim, &config_path).await;
    let noop = apply_once(&sim, &config_path).await;

    println!("provision benchmark: in-process simulated tenant, L = {latency_ms} ms per request\n");
    println!("| scenario | requests | writes | waves | wall | wall / (waves x L) | goal |");
    println!("|---|---|---|---|---|---|---|");
    for (name, m, goal) in [
        ("cold apply", &cold, cold.waves <= 6 && cold.requests <= 20),
        ("no-op apply", &noop, noop.waves <= 2 && noop.writes == 0),
    ] {
        all_met &= goal;
        let ratio = m.wall.as_secs_f64() / (m.waves as f64 * latency.as_secs_f64());
        println!(
            "| {name} | {} | {} | {} | {:.0} ms | {ratio:.2} | {} |",
            m.requests,
            m.writes,
            m.waves,
            m.wall.as_secs_f64() * 1000.0,
            if goal { "met" } else { "MISSED" }
        );
    }
    println!(
        "\ngoals: cold apply <= 6 waves and <= 20 requests; no-op apply <= 2 waves and 0 writes"
    );
    println!("lower bound: cold 5 waves (token; reads; app upsert; service principal + secret + identifier URI; consent), no-op 2 waves (token; reads)");
    if let Some(kib) = peak_memory_kib() {
        println!(
            "peak memory (whole process, simulator included): {:.1} MiB",
            kib as f64 / 1024.0
        );
    }

    all_met &= cli_round_trips(latency).await;

    println!(
        "\nmany tenants at once (concurrency = tenants), a cold apply each, L = {latency_ms} ms\n"
    );
    println!("| tenants | wall | requests | wall / one tenant's | peak memory so far |");
    println!("|---|---|---|---|---|");
    let mut one = Duration::ZERO;
    let mut fifty = (Duration::ZERO, 0.0);
    let counts: &[usize] = if short { &[1, 10] } else { &[1, 10, 50] };
    for &count in counts {
        let (wall, requests) = many_tenants(count, latency).await;
        if count == 1 {
            one = wall;
        }
        let memory = peak_memory_kib().map_or(0.0, |kib| kib as f64 / 1024.0);
        if count == 50 {
            fifty = (wall, memory);
        }
        println!(
            "| {count} | {:.0} ms | {requests} | {:.2} | {memory:.1} MiB |",
            wall.as_secs_f64() * 1000.0,
            wall.as_secs_f64() / one.as_secs_f64()
        );
    }
    if !short {
        let time_met = fifty.0.as_secs_f64() <= 2.0 * one.as_secs_f64();
        let memory_met = fifty.1 < 64.0;
        all_met &= time_met && memory_met;
        println!(
            "\ngoal: 50 tenants in at most 2x one tenant's wall time ({}) and peak memory under 64 MiB ({})",
            if time_met { "met" } else { "MISSED" },
            if memory_met { "met" } else { "MISSED" }
        );
    }
    if !all_met {
        eprintln!("benchmark: a goal was missed");
        std::process::exit(1);
    }
    println!("\nbenchmark: every goal met");
}
