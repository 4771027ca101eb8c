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

use entra_mail::cloud::{Cloud, Endpoints};
use entra_mail::config;
use entra_mail::graph::GraphClient;
use entra_mail::http::{build_client, TransportOptions};
use entra_mail::kind::{ApplySettings, PlanOptions};
use entra_mail::progress::Progress;
use entra_mail::session::Session;
use entra_mail::sim::{Faults, LogEntry, Sim, SimOptions, TenantSpec};

const TENANT: &str = "b3c1e0a2-7d4f-4c8e-9f1a-2d6b5e8c4a10";

/// The example config without its Key Vault: the goals are about Graph, and the vault's own
/// requests (one read, one write per new secret) would blur them.
fn example() -> String {
    include_str!("../examples/pandora-itsm.toml")
        .lines()
        .filter(|line| !line.starts_with("key_vault = "))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The example without Conditional Access (measured on its own, at 1 request/second).
fn config_text() -> String {
    let example = example();
    let example = example.as_str();
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
    let prepared = Session::new(&client, desired)
        .expect("outputs")
        .plan(&PlanOptions::at(time::OffsetDateTime::now_utc()))
        .await
        .expect("plan");
    let progress = Progress::silent();
    prepared
        .apply(ApplySettings::new(Duration::from_secs(120), &progress))
        .await
        .expect("apply");
    let wall = started.elapsed();
    let log = sim.request_log();
    Measured {
        requests: log.len(),
        writes: log.iter().filter(|e| e.wrote).count(),
        waves: waves(&log),
        wall,
    }
}

fn peak_memory_kib() -> Option<u64> {
    vm_hwm_kib(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// `VmHWM` (peak resident memory) from a `/proc/<pid>/status` text.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    })
}

/// The benchmark's tables, printed as they are measured and kept for README.md.
#[derive(Default)]
struct Report {
    text: String,
    missed: bool,
}

impl Report {
    fn line(&mut self, line: impl AsRef<str>) {
        println!("{}", line.as_ref());
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    /// Records a goal and returns the word the tables show for it.
    fn goal(&mut self, met: bool) -> &'static str {
        self.missed |= !met;
        if met {
            "met"
        } else {
            "MISSED"
        }
    }
}

/// One run of the built binary: its exit code, wall time and peak memory.
struct BinaryRun {
    code: i32,
    wall: Duration,
    peak_kib: Option<u64>,
}

/// Runs the built `entra-mail` in `dir` against the simulator, sampling the process's peak
/// memory while it runs. Blocking: call it from `spawn_blocking`, so the in-process
/// simulator keeps its threads.
fn run_binary(
    dir: &std::path::Path,
    args: &[&str],
    envs: &[(String, String)],
    sim_urls: &(String, String),
    ca_file: &std::path::Path,
) -> BinaryRun {
    use std::io::Read;
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_entra-mail"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("ENTRA_MAIL_GRAPH_URL", &sim_urls.0)
        .env("AZURE_AUTHORITY_HOST", &sim_urls.1)
        .env("SSL_CERT_FILE", ca_file)
        .env_remove("GITHUB_ACTIONS")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the entra-mail binary runs");
    let mut stderr = child.stderr.take().expect("stderr");
    let drain = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = None;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            peak_kib = Some(kib);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let stderr = drain.join().unwrap_or_default();
    let code = status.code().unwrap_or(-1);
    if code != 0 && code != 2 {
        eprintln!("{stderr}");
    }
    BinaryRun {
        code,
        wall,
        peak_kib,
    }
}

async fn run_binary_async(
    dir: &std::path::Path,
    args: &[&str],
    envs: Vec<(String, String)>,
    sim: &Sim,
    ca_file: &std::path::Path,
) -> BinaryRun {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let ca_file = ca_file.to_path_buf();
    let urls = (sim.graph_url(), sim.authority_host());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_binary(&dir, &args, &envs, &urls, &ca_file)
    })
    .await
    .expect("binary run")
}

/// One CLI run on the example's tenant: what the tenant saw, and the process's wall time.
async fn cli_run(
    sim: &Sim,
    dir: &std::path::Path,
    ca_file: &std::path::Path,
    args: &[&str],
) -> (Measured, i32) {
    // Runs start more than a second apart, as separate pipeline runs do: Conditional Access
    // allows one request a second per tenant, and the previous run's last one counts.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sim.reset_counters();
    let tenant = sim.tenant_info(TENANT).expect("tenant");
    let mut all_args = args.to_vec();
    all_args.extend(["-f", "tenant.toml"]);
    let envs = vec![
        ("AZURE_TENANT_ID".to_string(), TENANT.to_string()),
        ("AZURE_CLIENT_ID".into(), tenant.admin_client_id.clone()),
        (
            "AZURE_CLIENT_SECRET".into(),
            tenant.admin_client_secret.expose().to_string(),
        ),
    ];
    let run = run_binary_async(dir, &all_args, envs, sim, ca_file).await;
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
            wall: run.wall,
        },
        run.code,
    )
}

/// The example config, Conditional Access included (the built-in policy copy), with its
/// outputs in `outputs_dir`.
fn example_with_conditional_access(outputs_dir: &str) -> String {
    example()
        .replace("policy = \"../policies/mfa-pilot.json\"\n", "")
        .replace("\"out/pandora-itsm\"", &format!("\"{outputs_dir}\""))
}

/// A CI runner's directory: the example config (Conditional Access included) and nothing else.
fn runner_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = example_with_conditional_access("out");
    std::fs::write(dir.path().join("tenant.toml"), text).expect("config");
    dir
}

/// A simulator with `tenants` (the example's when `None`), `latency` on every request.
async fn sim_with(latency: Duration, tenant_ids: &[String]) -> Sim {
    Sim::start(SimOptions {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        tenants: tenant_ids
            .iter()
            .map(|id| TenantSpec {
                tenant_id: Some(id.clone()),
                ..TenantSpec::default()
            })
            .collect(),
        ..SimOptions::default()
    })
    .await
    .expect("simulator")
}

async fn one_tenant_sim(latency: Duration) -> Sim {
    sim_with(latency, &[TENANT.to_string()]).await
}

fn ca_file_of(sim: &Sim) -> tempfile::NamedTempFile {
    let ca_file = tempfile::NamedTempFile::new().expect("ca file");
    std::fs::write(ca_file.path(), sim.ca_pem()).expect("ca");
    ca_file
}

/// The main job through the CLI, Conditional Access included.
async fn cli_round_trips(latency: Duration, report: &mut Report) {
    let sim = one_tenant_sim(latency).await;
    let ca_file = ca_file_of(&sim);
    let apply = ["apply", "--auto-approve"];
    let first = runner_dir();
    let (cold, cold_code) = cli_run(&sim, first.path(), ca_file.path(), &apply).await;
    let fresh = runner_dir();
    let (fresh_plan, fresh_plan_code) =
        cli_run(&sim, fresh.path(), ca_file.path(), &["plan"]).await;
    let (fresh_apply, fresh_code) = cli_run(&sim, fresh.path(), ca_file.path(), &apply).await;
    let (same, same_code) = cli_run(&sim, first.path(), ca_file.path(), &apply).await;

    // Conditional Access allows one request a second, and a new policy takes four of them
    // in a row: the plan's list, the POST (under its pending name, report-only), the list
    // that shows no earlier copy, and the PATCH that names and enforces it. Each waits
    // 1.05 s after the answer before it, and the token comes first.
    let floor = Duration::from_millis(3 * 1050) + latency * 5;
    report.line(format!(
        "The main job through the CLI (the built binary, Conditional Access included), L = {} ms. \
         Floor = 3 × 1.05 s of Conditional Access pacing + 5 × L = {:.0} ms.\n",
        latency.as_millis(),
        floor.as_secs_f64() * 1000.0
    ));
    report.line("| run | exit | requests | writes | waves | wall | wall / floor | goal |");
    report.line("|---|---|---|---|---|---|---|---|");
    for (name, m, code, goal, met) in [
        (
            "cold apply",
            &cold,
            cold_code,
            "exit 0, ≤ 1.3 × floor",
            cold_code == 0 && cold.wall.as_secs_f64() <= 1.3 * floor.as_secs_f64(),
        ),
        (
            "plan, fresh runner",
            &fresh_plan,
            fresh_plan_code,
            "exit 0, 0 writes, ≤ 3 waves",
            fresh_plan_code == 0 && fresh_plan.writes == 0 && fresh_plan.waves <= 3,
        ),
        (
            "apply, fresh runner",
            &fresh_apply,
            fresh_code,
            "exit 0, 0 writes, ≤ 3 waves",
            fresh_code == 0 && fresh_apply.writes == 0 && fresh_apply.waves <= 3,
        ),
        (
            "apply, same runner",
            &same,
            same_code,
            "exit 0, 0 writes, ≤ 2 waves",
            same_code == 0 && same.writes == 0 && same.waves <= 2,
        ),
    ] {
        let verdict = report.goal(met);
        report.line(format!(
            "| {name} | {code} | {} | {} | {} | {:.0} ms | {:.2} | {goal}: {verdict} |",
            m.requests,
            m.writes,
            m.waves,
            m.wall.as_secs_f64() * 1000.0,
            m.wall.as_secs_f64() / floor.as_secs_f64(),
        ));
    }
}

/// The provisioning core in-process, without Conditional Access: a cold and a no-op apply.
async fn core_round_trips(latency: Duration, report: &mut Report) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("tenant.toml");
    std::fs::write(&config_path, config_text()).expect("config");
    let sim = one_tenant_sim(latency).await;
    let cold = apply_once(&sim, &config_path).await;
    let noop = apply_once(&sim, &config_path).await;
    report.line(format!(
        "\nThe provisioning core in-process, without Conditional Access, L = {} ms.\n",
        latency.as_millis()
    ));
    report.line("| scenario | requests | writes | waves | wall | wall / (waves × L) | goal |");
    report.line("|---|---|---|---|---|---|---|");
    for (name, m, goal, met) in [
        (
            "cold apply",
            &cold,
            "≤ 7 waves, ≤ 20 requests",
            cold.waves <= 7 && cold.requests <= 20,
        ),
        (
            "no-op apply",
            &noop,
            "≤ 2 waves, 0 writes",
            noop.waves <= 2 && noop.writes == 0,
        ),
    ] {
        let verdict = report.goal(met);
        let ratio = m.wall.as_secs_f64() / (m.waves as f64 * latency.as_secs_f64());
        report.line(format!(
            "| {name} | {} | {} | {} | {:.0} ms | {ratio:.2} | {goal}: {verdict} |",
            m.requests,
            m.writes,
            m.waves,
            m.wall.as_secs_f64() * 1000.0,
        ));
    }
    report.line(format!(
        "\nPeak memory of the bench process (simulator included): {}.",
        mib(peak_memory_kib())
    ));
}

/// The CLI's default `--concurrency`.
const DEFAULT_CONCURRENCY: usize = entra_mail::cli::DEFAULT_CONCURRENCY as usize;

/// One `apply` over a directory of `count` configs, each its own tenant with its own
/// sign-in (`[auth] env_prefix`) and outputs, Conditional Access included, at the CLI's
/// default concurrency: every tenant planned, every plan shown, one confirmation
/// (`--auto-approve`, as a pipeline answers it), then every tenant applied.
async fn cli_many_tenants(count: usize, latency: Duration) -> (BinaryRun, Measured) {
    let ids: Vec<String> = (0..count)
        .map(|i| format!("00000000-0000-4000-8000-{:012}", i + 1))
        .collect();
    let sim = sim_with(latency, &ids).await;
    let ca_file = ca_file_of(&sim);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("tenants")).expect("tenants dir");
    let mut envs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let text = example_with_conditional_access(&format!("out-{i}")).replace(TENANT, id)
            + &format!("\n[auth]\nmethod = \"client-secret\"\nenv_prefix = \"T{i}_\"\n");
        std::fs::write(dir.path().join(format!("tenants/t{i:03}.toml")), text).expect("config");
        let tenant = sim.tenant_info(id).expect("tenant");
        envs.push((format!("T{i}_AZURE_CLIENT_ID"), tenant.admin_client_id));
        envs.push((
            format!("T{i}_AZURE_CLIENT_SECRET"),
            tenant.admin_client_secret.expose().to_string(),
        ));
    }
    let run = run_binary_async(
        dir.path(),
        &["apply", "-f", "tenants", "--auto-approve"],
        envs,
        &sim,
        ca_file.path(),
    )
    .await;
    let log = sim.request_log();
    let measured = Measured {
        requests: log.len(),
        writes: log.iter().filter(|e| e.wrote).count(),
        waves: waves(&log),
        wall: run.wall,
    };
    (run, measured)
}

async fn many_tenants(latency: Duration, counts: &[usize], report: &mut Report) {
    report.line(format!(
        "\nMany tenants through the CLI: one `apply -f tenants/ --auto-approve` over one config \
         per tenant, Conditional Access included, at the default concurrency ({DEFAULT_CONCURRENCY}), \
         L = {} ms. Goal: wall ≤ 1.3 × ⌈tenants / {DEFAULT_CONCURRENCY}⌉ × one tenant's wall, \
         and peak memory under 64 MiB.\n",
        latency.as_millis()
    ));
    report.line(
        "| tenants | exit | requests | writes | wall | wall / one tenant's | peak memory (CLI process) | goal |",
    );
    report.line("|---|---|---|---|---|---|---|---|");
    let mut one = Duration::ZERO;
    for &count in counts {
        let (run, m) = cli_many_tenants(count, latency).await;
        if count == 1 {
            one = m.wall;
        }
        let rounds = count.div_ceil(DEFAULT_CONCURRENCY) as f64;
        let time_met = m.wall.as_secs_f64() <= 1.3 * rounds * one.as_secs_f64();
        let memory_met = run.peak_kib.is_some_and(|kib| kib < 64 * 1024);
        let verdict = report.goal(run.code == 0 && m.writes > 0 && time_met && memory_met);
        report.line(format!(
            "| {count} | {} | {} | {} | {:.0} ms | {:.2} | {} | {verdict} |",
            run.code,
            m.requests,
            m.writes,
            m.wall.as_secs_f64() * 1000.0,
            m.wall.as_secs_f64() / one.as_secs_f64(),
            mib(run.peak_kib),
        ));
    }
}

const README_BEGIN: &str =
    "<!-- bench:begin (cargo bench --bench provision -- --update-readme) -->";
const README_END: &str = "<!-- bench:end -->";

fn readme_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

/// The text between the README's bench markers.
fn readme_block(readme: &str) -> Option<(usize, usize)> {
    let begin = readme.find(README_BEGIN)? + README_BEGIN.len();
    let end = begin + readme[begin..].find(README_END)?;
    Some((begin, end))
}

/// A table row's cells, keyed by its table's header, for the columns that do not depend on
/// timing: `exit`, `requests` and `writes`.
fn exact_cells(text: &str) -> Vec<(String, String, String)> {
    let mut cells = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in text.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let row: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        let Some(columns) = &header else {
            header = Some(row);
            continue;
        };
        if row.iter().all(|c| c.chars().all(|ch| ch == '-')) {
            continue;
        }
        for (column, value) in columns.iter().zip(&row).skip(1) {
            if ["exit", "requests", "writes"].contains(&column.as_str()) {
                cells.push((
                    format!("{}: {}", columns[0], row[0]),
                    column.clone(),
                    value.clone(),
                ));
            }
        }
    }
    cells
}

/// Compares what this run measured with what README.md says, for the columns that do not
/// depend on timing. Returns the differences.
fn stale_readme_cells(readme: &str, measured: &str) -> Vec<String> {
    let Some((begin, end)) = readme_block(readme) else {
        return vec![format!(
            "README.md has no `{README_BEGIN}` … `{README_END}` block"
        )];
    };
    let documented = exact_cells(&readme[begin..end]);
    exact_cells(measured)
        .into_iter()
        .filter_map(|(row, column, value)| {
            let said = documented
                .iter()
                .find(|(r, c, _)| *r == row && *c == column)
                .map(|(_, _, v)| v.as_str());
            (said != Some(value.as_str())).then(|| {
                format!(
                    "{row}, {column}: README says {}, measured {value}",
                    said.unwrap_or("nothing")
                )
            })
        })
        .collect()
}

fn update_readme(measured: &str) -> std::io::Result<()> {
    let path = readme_path();
    let readme = std::fs::read_to_string(&path)?;
    let (begin, end) = readme_block(&readme)
        .ok_or_else(|| std::io::Error::other(format!("README.md has no `{README_BEGIN}` block")))?;
    let updated = format!("{}\n{measured}{}", &readme[..begin], &readme[end..]);
    let temporary = path.with_extension("md.tmp");
    std::fs::write(&temporary, updated)?;
    std::fs::rename(&temporary, &path)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let short = flag("--short");
    let latency_ms: u64 = std::env::var("ENTRA_MAIL_BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let latency = Duration::from_millis(latency_ms);
    let mut report = Report::default();

    cli_round_trips(latency, &mut report).await;
    core_round_trips(latency, &mut report).await;
    let counts: &[usize] = if short { &[1, 10] } else { &[1, 10, 50] };
    many_tenants(latency, counts, &mut report).await;

    if flag("--update-readme") {
        if short {
            eprintln!("benchmark: --update-readme needs the full run (without --short)");
            std::process::exit(1);
        }
        if let Err(error) = update_readme(&report.text) {
            eprintln!("benchmark: cannot update README.md: {error}");
            std::process::exit(1);
        }
        println!("\nbenchmark: README.md's performance tables updated");
    }
    if flag("--check-readme") {
        let readme = std::fs::read_to_string(readme_path()).unwrap_or_default();
        let stale = stale_readme_cells(&readme, &report.text);
        if !stale.is_empty() {
            eprintln!("benchmark: README.md's performance tables are stale:");
            for line in &stale {
                eprintln!("  {line}");
            }
            eprintln!(
                "run `cargo bench --bench provision -- --update-readme` and commit README.md"
            );
            std::process::exit(1);
        }
        println!("\nbenchmark: README.md's exit codes, request and write counts match this run");
    }
    if report.missed {
        eprintln!("benchmark: a goal was missed");
        std::process::exit(1);
    }
    println!("\nbenchmark: every goal met");
}
