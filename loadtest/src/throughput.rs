//! `throughput`: the floor and the hot paths side by side, in one run.
//!
//! Targets, each at every `--connections` value for `--seconds` after a warm-up:
//! - `floor`: the bare handler of [`crate::floor`] in its own process;
//! - `check_day`: `check_availability` without a time (a day's free times, no hold) on the demo
//!   salon (three stylists), SQLite and PostgreSQL;
//! - `holds`: `check_availability` with a time and a stylist, which creates a hold written
//!   through to the store. Every request asks for a different free slot: 50 bench salons × 8
//!   stylists, half-hour slots 08:00–20:00 over the next 55 days, handed out by a global counter.
//!
//! Every request is a new call (`call_id`), so each one pays the call record and the
//! idempotency record like a first request of a real call does.
//!
//! `--transcript-minutes 0,3,12` runs `floor` and `check_day` once per value with the call object
//! Retell really sends after that much conversation (`retell-fixtures`: live transcript with word
//! timings and tool calls, about 19 KiB per minute); the floor then materialises the whole body
//! as a `serde_json::Value`, as a naive handler would. `holds` runs at the first value only.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate, Weekday};
use clap::Args;
use serde::Serialize;

use crate::configgen::{self, Bench, DEMO_AGENT, DEMO_NUMBER, DemoFlags, RETELL_KEY, bench_number, bench_staff};
use crate::db::Database;
use crate::loadgen::{self, LoadResult, LoadSpec, Source};
use crate::procs::{Proc, Rss, Spec, free_port};
use crate::stack::{Stack, StackOptions};

#[derive(Debug, Clone, Args)]
pub struct ThroughputArgs {
    /// Concurrent connections (one worker each), measured one after another.
    #[arg(long, value_delimiter = ',', default_value = "50,200")]
    pub connections: Vec<usize>,
    /// Measured seconds per target and connection count.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// Runtime threads of the load generator (the service and the floor use one per core).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Request cap per measurement.
    #[arg(long, default_value_t = 2_000_000)]
    pub max_requests: u64,
    /// Skip PostgreSQL (the service targets then run on SQLite only).
    #[arg(long)]
    pub no_postgres: bool,
    /// Which targets to measure.
    #[arg(long, value_delimiter = ',', default_value = "floor,check_day,holds")]
    pub targets: Vec<String>,
    /// Minutes of conversation whose live transcript every request carries, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub transcript_minutes: Vec<f64>,
}

const BENCH: Bench = Bench { tenants: 50, staff_per_tenant: 8 };
const SLOTS_PER_DAY: u64 = 24;
const DAYS: u64 = 55;

/// A fresh random call id (ids with long runs of zeros look like placeholders to the service).
fn call_id(_worker: usize, _n: u64) -> String {
    crate::retell::new_call_id()
}

/// Weekends and the demo salon's Christmas days (config/default.toml).
fn closed(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || (d.month() == 12 && (24..=26).contains(&d.day()))
}

fn open_weekdays(from: NaiveDate, count: usize) -> Vec<String> {
    (1..40)
        .map(|d| from + chrono::Duration::days(d))
        .filter(|d| !closed(*d))
        .take(count)
        .map(|d| d.to_string())
        .collect()
}

/// `check_availability` without a time on the demo salon; also the floor's requests.
struct DayCheck {
    days: Vec<String>,
    /// The conversation so far, when requests carry a transcript.
    conversation: Option<Arc<retell_fixtures::Conversation>>,
}

impl DayCheck {
    fn new(today: NaiveDate, minutes: f64) -> DayCheck {
        let conversation = (minutes > 0.0).then(|| Arc::new(retell_fixtures::Conversation::new(minutes)));
        DayCheck { days: open_weekdays(today, 6), conversation }
    }

    /// The size of one request body, KiB.
    fn body_kib(&self) -> f64 {
        let mut buf = Vec::new();
        self.body(0, 0, &mut buf);
        buf.len() as f64 / 1024.0
    }
}

impl Source for DayCheck {
    fn body(&self, worker: usize, n: u64, buf: &mut Vec<u8>) {
        let day = &self.days[(n as usize + worker) % self.days.len()];
        if let Some(conversation) = &self.conversation {
            let caller = retell_fixtures::Caller {
                call_id: call_id(worker, n),
                agent_id: DEMO_AGENT.into(),
                from_number: format!("+4915100{:06}", n % 1_000_000),
                to_number: DEMO_NUMBER.into(),
            };
            let args = format!(r#"{{"service":"Herrenhaarschnitt","date":"{day}"}}"#);
            let started = chrono::Utc::now().timestamp_millis() - (conversation.minutes() * 60_000.0) as i64;
            retell_fixtures::write_function_call(buf, "check_availability", &args, &caller, conversation, started);
            return;
        }
        let _ = write!(
            buf,
            r#"{{"name":"check_availability","args":{{"service":"Herrenhaarschnitt","date":"{day}"}},"call":{{"call_id":"{}","agent_id":"{DEMO_AGENT}","from_number":"+4915100{:06}","to_number":"{DEMO_NUMBER}"}}}}"#,
            call_id(worker, n),
            n % 1_000_000
        );
    }

    fn check(&self, status: u16, body: &[u8]) -> Result<(), &'static str> {
        match status {
            200 if body.starts_with(br#"{"success":true"#) => Ok(()),
            200 => Err("refused"),
            _ => Err(status_kind(status)),
        }
    }
}

fn status_kind(status: u16) -> &'static str {
    match status {
        400 => "http_400",
        401 => "http_401",
        404 => "http_404",
        429 => "http_429",
        500 => "http_500",
        503 => "http_503",
        504 => "http_504",
        _ => "http_other",
    }
}

/// A hold on a slot nobody asked for before.
struct Holds {
    next: Arc<AtomicU64>,
    today: NaiveDate,
}

impl Source for Holds {
    fn body(&self, worker: usize, n: u64, buf: &mut Vec<u8>) {
        let calendars = (BENCH.tenants * BENCH.staff_per_tenant) as u64;
        let g = self.next.fetch_add(1, Ordering::Relaxed);
        let calendar = g % calendars;
        let k = g / calendars;
        let day = self.today + chrono::Duration::days(1 + ((k / SLOTS_PER_DAY) % DAYS) as i64);
        let minute = 8 * 60 + 30 * (k % SLOTS_PER_DAY);
        let tenant = (calendar as usize) / BENCH.staff_per_tenant;
        let staff = bench_staff(calendar as usize % BENCH.staff_per_tenant);
        let _ = write!(
            buf,
            r#"{{"name":"check_availability","args":{{"service":"Herrenhaarschnitt","date":"{day}","time":"{:02}:{:02}","staff":"{staff}"}},"call":{{"call_id":"{}","agent_id":"agent_bench-{tenant:04}","from_number":"+4915200{:06}","to_number":"{}"}}}}"#,
            minute / 60,
            minute % 60,
            call_id(worker, n),
            n % 1_000_000,
            bench_number(tenant)
        );
    }

    fn check(&self, status: u16, body: &[u8]) -> Result<(), &'static str> {
        match status {
            200 if body.starts_with(br#"{"success":true"#) => Ok(()),
            200 => Err("not_held"),
            _ => Err(status_kind(status)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub target: String,
    pub backend: String,
    /// Minutes of live transcript in every request body (0: none).
    pub transcript_minutes: f64,
    pub body_kib: f64,
    #[serde(flatten)]
    pub result: LoadResult,
    /// Server process RSS after the measurement.
    pub server_rss: Rss,
    /// Cores used during warm-up and measurement, by whom.
    pub cpu: crate::cpu::CpuUse,
    /// Server CPU time per good answer (µs).
    pub server_cpu_us_per_request: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub target: String,
    pub connections: usize,
    pub transcript_minutes: f64,
    pub throughput_ratio: f64,
    pub p99_ratio: f64,
    pub meets_targets: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    pub threads: usize,
    pub seconds: u64,
    pub measurements: Vec<Measurement>,
    pub vs_floor: Vec<Comparison>,
}

struct Runner<'a> {
    args: &'a ThroughputArgs,
    out: Vec<Measurement>,
}

impl Runner<'_> {
    #[allow(clippy::too_many_arguments)]
    async fn measure(
        &mut self,
        target: &str,
        backend: &str,
        addr: std::net::SocketAddr,
        source: Arc<dyn Source>,
        pid: u32,
        (transcript_minutes, body_kib): (f64, f64),
    ) -> Result<()> {
        for &connections in &self.args.connections {
            let what = format!("{target} {backend} c={connections} transcript={transcript_minutes}min");
            let bar = crate::progress::timed(self.args.warmup_secs + self.args.seconds, &what);
            let spec = LoadSpec {
                addr,
                path: "/retell/functions",
                connections,
                threads: self.args.threads,
                warmup: Duration::from_secs(self.args.warmup_secs),
                duration: Duration::from_secs(self.args.seconds.max(1)),
                max_requests: self.args.max_requests,
                timeout: Duration::from_secs(10),
            };
            let before = crate::cpu::snapshot(pid);
            let result = loadgen::run(spec, source.clone(), Some(bar.clone())).await?;
            let cpu = crate::cpu::since(&before);
            bar.finish_and_clear();
            let server_cpu_us_per_request = if result.rps > 0.0 { cpu.server_cores / result.rps * 1e6 } else { 0.0 };
            let m = Measurement {
                target: target.to_owned(),
                backend: backend.to_owned(),
                transcript_minutes,
                body_kib,
                result,
                server_rss: Rss::of(pid).unwrap_or_default(),
                cpu,
                server_cpu_us_per_request,
            };
            println!("{}", line(&m));
            let _ = std::io::stdout().flush();
            self.out.push(m);
            // Let the server settle (outbox, sweeper) before the next measurement.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok(())
    }
}

pub fn line(m: &Measurement) -> String {
    let r = &m.result;
    format!(
        "throughput target={} backend={} transcript_minutes={} body_kib={:.0} connections={} requests={} rps={:.0} p50_ms={:.2} p95_ms={:.2} p99_ms={:.2} max_ms={:.1} errors={} \
         server_cpu_us_per_req={:.0} cores_server={:.2} cores_generator={:.2} cores_postgres={:.2} cores_other={:.2}",
        m.target,
        m.backend,
        m.transcript_minutes,
        m.body_kib,
        r.connections,
        r.ok,
        r.rps,
        r.latency.p50_ms,
        r.latency.p95_ms,
        r.latency.p99_ms,
        r.latency.max_ms,
        r.errors.total(),
        m.server_cpu_us_per_request,
        m.cpu.server_cores,
        m.cpu.generator_cores,
        m.cpu.postgres_cores,
        m.cpu.other_cores
    )
}

async fn service_targets(
    runner: &mut Runner<'_>,
    bin: &Path,
    dir: &Path,
    config: &Path,
    database: Database,
    today: NaiveDate,
) -> Result<()> {
    let backend = database.backend();
    let stack = Stack::start(StackOptions {
        bin,
        dir,
        label: &format!("throughput-{backend}"),
        config,
        database_url: database.url(),
        calcom_latency_ms: 0,
        calcom_rate_limit: 120,
        overrides: Vec::new(),
        start_within: Duration::from_secs(60),
    })
    .await?;
    let addr = stack.service_url().trim_start_matches("http://").parse().context("service address")?;
    let pid = stack.service.pid();
    let wanted = |t: &str| runner.args.targets.iter().any(|x| x == t);
    let (check_day, holds) = (wanted("check_day"), wanted("holds"));
    let minutes = runner.args.transcript_minutes.clone();
    let result = async {
        if check_day {
            for &minutes in &minutes {
                let day = Arc::new(DayCheck::new(today, minutes));
                let kib = day.body_kib();
                runner.measure("check_day", backend, addr, day, pid, (minutes, kib)).await?;
            }
        }
        if holds {
            let holds = Arc::new(Holds { next: Arc::new(AtomicU64::new(0)), today });
            runner.measure("holds", backend, addr, holds, pid, (0.0, 1.0)).await?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    stack.stop().await;
    database.discard(false).await;
    result
}

pub async fn run(args: &ThroughputArgs, bin: &Path, dir: &Path, postgres: Option<&str>) -> Result<ThroughputReport> {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let config = dir.join("config-throughput.toml");
    configgen::write(&config, DemoFlags { reservations: true, parallel_booking: true }, Some(BENCH))?;
    let mut runner = Runner { args, out: Vec::new() };

    if args.targets.iter().any(|t| t == "floor") {
        measure_floor(&mut runner, dir, today).await?;
    }
    if args.targets.iter().any(|t| t == "check_day" || t == "holds") {
        service_targets(&mut runner, bin, dir, &config, Database::sqlite(&dir.join("db"), "throughput")?, today)
            .await?;
        if let (Some(server), false) = (postgres, args.no_postgres) {
            service_targets(&mut runner, bin, dir, &config, Database::postgres(server, "throughput").await?, today)
                .await?;
        }
    }
    let vs_floor = compare(&runner.out);
    Ok(ThroughputReport { threads: args.threads, seconds: args.seconds, measurements: runner.out, vs_floor })
}

async fn measure_floor(runner: &mut Runner<'_>, dir: &Path, today: NaiveDate) -> Result<()> {
    let port = free_port()?;
    let me = std::env::current_exe().context("locating the loadtest binary")?;
    let mut floor = Proc::spawn(Spec {
        name: "floor-server",
        program: &me,
        args: vec![
            "floor-server".into(),
            "--addr".into(),
            format!("127.0.0.1:{port}"),
            "--key".into(),
            RETELL_KEY.into(),
        ],
        env: Vec::new(),
        log: dir.join("logs").join("floor-server.log"),
        cwd: dir,
    })?;
    let http = crate::stack::http_client()?;
    floor.wait_ready(&http, &format!("http://127.0.0.1:{port}/health/live"), Duration::from_secs(20)).await?;
    let addr = format!("127.0.0.1:{port}").parse()?;
    let pid = floor.pid();
    let minutes = runner.args.transcript_minutes.clone();
    let result = async {
        for minutes in minutes {
            let floor_source = Arc::new(DayCheck::new(today, minutes));
            let kib = floor_source.body_kib();
            runner.measure("floor", "none", addr, floor_source, pid, (minutes, kib)).await?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    floor.stop(Duration::from_secs(5)).await;
    result
}

fn compare(all: &[Measurement]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for m in all.iter().filter(|m| m.target == "check_day") {
        let Some(floor) = all.iter().find(|f| {
            f.target == "floor"
                && f.result.connections == m.result.connections
                && f.transcript_minutes == m.transcript_minutes
        }) else {
            continue;
        };
        let throughput_ratio = m.result.rps / floor.result.rps.max(f64::MIN_POSITIVE);
        let p99_ratio = m.result.latency.p99_ms / floor.result.latency.p99_ms.max(0.001);
        // Without a transcript the goal is half the floor (it only parses a tiny body); with one,
        // a floor that materialises the transcript must lose: at least its throughput, no worse p99.
        let (least_ratio, most_p99) = if m.transcript_minutes > 0.0 { (1.0, 1.0) } else { (0.5, 2.0) };
        out.push(Comparison {
            target: format!("check_day/{}", m.backend),
            connections: m.result.connections,
            transcript_minutes: m.transcript_minutes,
            throughput_ratio,
            p99_ratio,
            meets_targets: throughput_ratio >= least_ratio && p99_ratio <= most_p99 && m.result.errors.total() == 0,
        });
    }
    out
}

/// The Markdown tables of a throughput report.
pub fn markdown(report: &ThroughputReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| target | backend | transcript min (body KiB) | connections | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU µs/req | cores server / generator / PostgreSQL / other | server RSS MB |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for m in &report.measurements {
        let r = &m.result;
        let errors = if r.errors.0.is_empty() { "0".to_owned() } else { format!("{:?}", r.errors.0) };
        let [p50, p95, p99, max] = r.latency.cells();
        let _ = writeln!(
            out,
            "| {} | {} | {} ({:.0}) | {} | {} | {:.0} | {p50} | {p95} | {p99} | {max} | {errors} | {:.0} | {:.2} / {:.2} / {:.2} / {:.2} | {:.0} |",
            m.target,
            m.backend,
            m.transcript_minutes,
            m.body_kib,
            r.connections,
            r.ok,
            r.rps,
            m.server_cpu_us_per_request,
            m.cpu.server_cores,
            m.cpu.generator_cores,
            m.cpu.postgres_cores,
            m.cpu.other_cores,
            m.server_rss.rss_mb()
        );
    }
    let _ = writeln!(
        out,
        "\n| hot path vs floor | transcript min | connections | throughput ratio (≥ 0.5; ≥ 1.0 with a transcript) | p99 ratio (≤ 2.0; ≤ 1.0 with a transcript) | met |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for c in &report.vs_floor {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.2} | {} |",
            c.target,
            c.transcript_minutes,
            c.connections,
            c.throughput_ratio,
            c.p99_ratio,
            if c.meets_targets { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(out, "\n| holds (write-through) | connections | holds/s (≥ 3000) | p99 ms (< 20) | met |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for m in report.measurements.iter().filter(|m| m.target == "holds") {
        let met = m.result.rps >= 3000.0 && m.result.latency.p99_ms < 20.0 && m.result.errors.total() == 0;
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {} |",
            m.backend,
            m.result.connections,
            m.result.rps,
            m.result.latency.p99_ms,
            if met { "yes" } else { "**no**" }
        );
    }
    out
}
