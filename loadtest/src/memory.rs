//! `memory`: the service's resident memory with 10,000 staff calendars loaded.
//!
//! The catalogue is generated (default 100 salons × 100 stylists, plus the demo salon). Every
//! calendar is loaded by holds through the real Retell API, one per day of a 7-day horizon
//! (`--holds-per-calendar`), so each stylist has a live calendar actor with a week of entries and
//! armed expiry timers. Then VmRSS and VmHWM are read from `/proc/<pid>/status`.
//!
//! Differences from the shipped configuration, for this mode only: hold TTL 3600 s (the holds
//! must outlive the load) and `calcom.mirror_holds = false` (mirroring 70,000 holds in a minute
//! would only measure the rate limiter's queue, not the calendars).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::configgen::{self, Bench, DemoFlags, bench_number, bench_staff};
use crate::db::Database;
use crate::procs::Rss;
use crate::retell::{Call, Reply, RetellClient, caller_number, new_call_id};
use crate::stack::{Stack, StackOptions, prometheus_sum};
use crate::stats::{Counts, Summary};

#[derive(Debug, Clone, Args)]
pub struct MemoryArgs {
    #[arg(long, default_value_t = 100)]
    pub tenants: usize,
    #[arg(long, default_value_t = 100)]
    pub staff_per_tenant: usize,
    /// Holds per calendar, one per day of the horizon.
    #[arg(long, default_value_t = 7)]
    pub holds_per_calendar: u64,
    /// Requests in flight while loading.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 300.0)]
    pub limit_mb: f64,
    /// Deadline of the load phase.
    #[arg(long, default_value_t = 900)]
    pub deadline_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    pub calendars: u64,
    pub holds_requested: u64,
    pub holds_created: u64,
    pub errors: Counts,
    pub load_secs: f64,
    pub holds_per_sec: f64,
    pub hold_latency: Summary,
    pub calendar_actors: f64,
    /// Right after the service answered `/health/live`.
    pub rss_started: Rss,
    /// Calendar actors alive once the start-up pre-warm settled (before any hold), and how long it took.
    pub actors_before_load: f64,
    pub prewarm_secs: f64,
    /// After the start-up pre-warm of Cal.com busy times (which starts every calendar's actor).
    pub rss_idle: Rss,
    pub rss_loaded: Rss,
    pub limit_mb: f64,
    pub within_limit: bool,
    pub database: String,
}

pub async fn run(args: &MemoryArgs, bin: &Path, dir: &Path, postgres: Option<&str>) -> Result<MemoryReport> {
    let bench = Bench { tenants: args.tenants, staff_per_tenant: args.staff_per_tenant };
    let config = dir.join("config-memory.toml");
    configgen::write(&config, DemoFlags { reservations: true, parallel_booking: true }, Some(bench))?;
    let database = match postgres {
        Some(server) => Database::postgres(server, "memory").await?,
        None => Database::sqlite(&dir.join("db"), "memory")?,
    };
    let stack = Stack::start(StackOptions {
        bin,
        dir,
        label: "memory",
        config: &config,
        database_url: database.url(),
        calcom_latency_ms: 0,
        calcom_rate_limit: 120,
        overrides: vec![
            ("SLOTKEEPER__HOLDS__SINGLE_TTL_SECS".into(), "3600".into()),
            ("SLOTKEEPER__CALCOM__MIRROR_HOLDS".into(), "false".into()),
        ],
        start_within: Duration::from_secs(300),
    })
    .await?;
    let rss_started = stack.service.rss().unwrap_or_default();
    let (actors_idle, warm_secs) = settle_actors(&stack, Duration::from_secs(180)).await;
    let rss_idle = stack.service.rss().unwrap_or_default();
    let client = RetellClient {
        http: stack.http.clone(),
        base: stack.service_url().to_owned(),
        timeout: Duration::from_secs(30),
    };
    let calendars = (args.tenants * args.staff_per_tenant) as u64;
    let total = calendars * args.holds_per_calendar;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let next = Arc::new(AtomicU64::new(0));
    let history = Arc::new(Mutex::new((crate::stats::Latencies::default(), Counts::default(), 0u64)));
    let deadline = Instant::now() + Duration::from_secs(args.deadline_secs);
    let bar = crate::progress::bar(total, "memory: holds");
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            let (client, next, history, bar) = (client.clone(), next.clone(), history.clone(), bar.clone());
            let (per_tenant, per_calendar) = (args.staff_per_tenant as u64, args.holds_per_calendar);
            tokio::spawn(async move {
                loop {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    if g >= total || Instant::now() >= deadline {
                        return;
                    }
                    let (calendar, day) = (g / per_calendar, g % per_calendar);
                    let tenant = (calendar / per_tenant) as usize;
                    let staff = bench_staff((calendar % per_tenant) as usize);
                    let minute = 8 * 60 + 30 * ((calendar + day) % 24);
                    let call = Call { call_id: new_call_id(), from: caller_number(g), to: bench_number(tenant), agent: format!("agent_bench-{tenant:04}") };
                    let date = today + chrono::Duration::days(1 + day as i64);
                    let args = json!({"service": "Herrenhaarschnitt", "date": date.to_string(), "time": format!("{:02}:{:02}", minute / 60, minute % 60), "staff": staff});
                    let (reply, took) = client.function(&call, "check_availability", args).await;
                    let mut h = history.lock().await;
                    h.0.record("hold", took);
                    match reply {
                        Reply::Answer(a) if a.success && a.reservation_token.is_some() => h.2 += 1,
                        Reply::Answer(a) => h.1.add(format!("refused:{}", a.reason.unwrap_or_default())),
                        other => h.1.add(other.error_kind().unwrap_or_default()),
                    }
                    bar.inc(1);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = tokio::time::timeout_at(deadline + Duration::from_secs(60), worker).await;
    }
    let load_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_loaded = stack.service.rss().unwrap_or_default();
    let metrics = stack.get_text(&format!("{}/metrics", stack.service_url())).await.unwrap_or_default();
    let ready = stack.get_json(&format!("{}/health/ready", stack.service_url())).await.unwrap_or(Value::Null);
    let actors = ready
        .get("calendar_actors")
        .and_then(Value::as_f64)
        .unwrap_or_else(|| prometheus_sum(&metrics, "calendar_actors"));
    stack.stop().await;
    let backend = database.backend().to_owned();
    database.discard(false).await;
    let (latencies, errors, created) =
        Arc::try_unwrap(history).map_err(|_| anyhow::anyhow!("memory workers still running"))?.into_inner();
    let report = MemoryReport {
        calendars,
        holds_requested: total.min(next.load(Ordering::Relaxed)),
        holds_created: created,
        errors,
        load_secs,
        holds_per_sec: created as f64 / load_secs.max(0.001),
        hold_latency: latencies.summaries().get("hold").copied().unwrap_or_default(),
        calendar_actors: actors,
        rss_started,
        actors_before_load: actors_idle,
        prewarm_secs: warm_secs,
        rss_idle,
        rss_loaded,
        limit_mb: args.limit_mb,
        within_limit: rss_loaded.rss_mb() < args.limit_mb && rss_loaded.hwm_mb() < args.limit_mb,
        database: backend,
    };
    println!("{}", line(&report));
    Ok(report)
}

/// Waits until the number of calendar actors stops growing (the pre-warm at start spawns them).
async fn settle_actors(stack: &Stack, within: Duration) -> (f64, f64) {
    let started = Instant::now();
    let url = format!("{}/health/ready", stack.service_url());
    let (mut last, mut stable) = (-1.0, 0);
    while started.elapsed() < within {
        let actors = stack
            .get_json(&url)
            .await
            .ok()
            .and_then(|v| v.get("calendar_actors").and_then(Value::as_f64))
            .unwrap_or(0.0);
        stable = if actors == last { stable + 1 } else { 0 };
        last = actors;
        if stable >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (last.max(0.0), started.elapsed().as_secs_f64())
}

pub fn line(r: &MemoryReport) -> String {
    format!(
        "memory calendars={} holds={} errors={} actors={} rss_idle_mb={:.0} rss_mb={:.0} hwm_mb={:.0} limit_mb={:.0} within_limit={}",
        r.calendars,
        r.holds_created,
        r.errors.total(),
        r.calendar_actors,
        r.rss_idle.rss_mb(),
        r.rss_loaded.rss_mb(),
        r.rss_loaded.hwm_mb(),
        r.limit_mb,
        r.within_limit
    )
}

pub fn markdown(r: &MemoryReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| calendars | holds created (errors) | calendar actors | load | RSS at start | RSS after pre-warm ({:.0} actors) | RSS loaded | VmHWM | limit | met |",
        r.actors_before_load
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} ({}) | {:.0} | {:.0} s, {:.0} holds/s, p99 {:.1} ms | {:.0} MB | {:.0} MB | **{:.0} MB** | {:.0} MB | {:.0} MB | {} |",
        r.calendars,
        r.holds_created,
        r.errors.total(),
        r.calendar_actors,
        r.load_secs,
        r.holds_per_sec,
        r.hold_latency.p99_ms,
        r.rss_started.rss_mb(),
        r.rss_idle.rss_mb(),
        r.rss_loaded.rss_mb(),
        r.rss_loaded.hwm_mb(),
        r.limit_mb,
        if r.within_limit { "yes" } else { "**no**" }
    );
    out
}
