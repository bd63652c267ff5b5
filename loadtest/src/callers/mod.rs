//! The `callers` scenario: N concurrent Retell conversations against the real service, with
//! external web bookers, run once per mode (reservations on / off, parallel / sequential phase
//! booking) on a fresh service, simulator and database each, then verified.
//!
//! Time is compressed by `--time-scale`: think times (5–60 s) and the hold TTLs (120 s single,
//! 180 s compound) are multiplied by it, so expiries happen within the run; the TTLs actually
//! used are in the report.

pub mod caller;
mod external;
pub mod plan;
mod report;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::Utc;
use clap::Args;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::configgen::{self, DemoFlags};
use crate::db::Database;
use crate::procs::RssSampler;
use crate::retell::RetellClient;
use crate::stack::{Stack, StackOptions};
use crate::stats::Counts;
use crate::verify::verify;
use caller::{History, Shared};
use plan::{Calendar, PopulationSpec};
pub use report::{Mode, ModeReport, markdown};

#[derive(Debug, Clone, Args)]
pub struct CallersArgs {
    /// Concurrent callers per mode.
    #[arg(long, default_value_t = 200)]
    pub callers: u64,
    /// Multiplies think times (5–60 s) and hold TTLs (120/180 s).
    #[arg(long, default_value_t = 0.1)]
    pub time_scale: f64,
    /// Share of callers who want one of the popular times.
    #[arg(long, default_value_t = 0.6)]
    pub skew: f64,
    /// How many popular times (10, 11, 14, 15 h on the next weekdays).
    #[arg(long, default_value_t = 8)]
    pub popular_slots: usize,
    /// Share of callers who hang up after hearing a time is free.
    #[arg(long, default_value_t = 0.1)]
    pub abandon: f64,
    /// Share of callers who take longer than their hold to confirm (once).
    #[arg(long, default_value_t = 0.05)]
    pub slow: f64,
    /// Share of callers who want a Dauerwelle (four phases).
    #[arg(long, default_value_t = 0.2)]
    pub dauerwelle_share: f64,
    /// Callers arrive spread over this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub arrival_secs: f64,
    /// Most `check_availability` calls per caller (asking again after "taken").
    #[arg(long, default_value_t = 4)]
    pub max_checks: u32,
    /// External web bookings attempted per minute at the simulator (0 = none).
    #[arg(long, default_value_t = 60.0)]
    pub web_bookings_per_minute: f64,
    /// Latency of every simulated Cal.com answer.
    #[arg(long, default_value_t = 200)]
    pub calcom_latency_ms: u64,
    /// Cal.com requests per minute per key (simulator and the service's limiter; Cal.com: 120).
    #[arg(long, default_value_t = 10_000)]
    pub calcom_rate_limit: u32,
    /// `calcom.booking_budget_ms` of the service.
    #[arg(long, default_value_t = 2500)]
    pub booking_budget_ms: u64,
    /// Modes to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "reservations_on,reservations_off,reservations_on_sequential")]
    pub modes: Vec<Mode>,
    /// Deadline of the callers of one mode.
    #[arg(long, default_value_t = 300)]
    pub deadline_secs: u64,
    /// Request cap per mode (default: callers × (2 × max_checks + 1)).
    #[arg(long)]
    pub max_requests: Option<u64>,
    /// Longest wait for the outbox to drain before verifying.
    #[arg(long, default_value_t = 90)]
    pub drain_secs: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// What every mode shares.
pub struct Env<'a> {
    pub bin: &'a Path,
    pub dir: &'a Path,
    pub postgres: Option<&'a str>,
    pub keep_db: bool,
}

fn scaled_secs(secs: f64, scale: f64) -> u64 {
    ((secs * scale).ceil() as u64).max(1)
}

/// Runs every requested mode; the reports come back in mode order.
pub async fn run(args: &CallersArgs, env: &Env<'_>) -> Result<Vec<ModeReport>> {
    if args.callers == 0 || args.time_scale <= 0.0 {
        bail!("--callers and --time-scale must be positive");
    }
    let mut reports = Vec::new();
    for mode in &args.modes {
        let report = run_mode(args, env, *mode).await?;
        println!("{}", report.line());
        reports.push(report);
    }
    Ok(reports)
}

async fn run_mode(args: &CallersArgs, env: &Env<'_>, mode: Mode) -> Result<ModeReport> {
    let label = mode.label();
    let flags = DemoFlags { reservations: mode.reservations(), parallel_booking: mode.parallel() };
    let config = env.dir.join(format!("config-{label}.toml"));
    let catalogue = configgen::write(&config, flags, None)?;
    let database = match env.postgres {
        Some(server) => Database::postgres(server, label).await?,
        None => Database::sqlite(&env.dir.join("db"), label)?,
    };
    let (ttl_single, ttl_compound) = (scaled_secs(120.0, args.time_scale), scaled_secs(180.0, args.time_scale));
    let overrides = vec![
        ("SLOTKEEPER__HOLDS__SINGLE_TTL_SECS".to_owned(), ttl_single.to_string()),
        ("SLOTKEEPER__HOLDS__COMPOUND_TTL_SECS".to_owned(), ttl_compound.to_string()),
        ("SLOTKEEPER__HOLDS__SWEEPER_INTERVAL_SECS".to_owned(), scaled_secs(5.0, args.time_scale).to_string()),
        ("SLOTKEEPER__CALCOM__BOOKING_BUDGET_MS".to_owned(), args.booking_budget_ms.to_string()),
    ];
    let stack = Stack::start(StackOptions {
        bin: env.bin,
        dir: env.dir,
        label,
        config: &config,
        database_url: database.url(),
        calcom_latency_ms: args.calcom_latency_ms,
        calcom_rate_limit: args.calcom_rate_limit,
        overrides,
        start_within: Duration::from_secs(60),
    })
    .await?;

    let today = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let calendar = Calendar::new(today, args.popular_slots);
    let spec = PopulationSpec {
        callers: args.callers,
        seed: args.seed,
        skew: args.skew,
        abandon: args.abandon,
        slow: args.slow,
        dauerwelle_share: args.dauerwelle_share,
        time_scale: args.time_scale,
        arrival: Duration::from_secs_f64(args.arrival_secs.max(0.0)),
        think_secs: (5.0, 60.0),
    };
    let population = plan::population(&spec, &calendar);
    let tenant = &catalogue.tenants()[0];
    let cut = "herrenhaarschnitt".into();
    let web_event_types: Vec<i64> =
        tenant.staff.iter().filter_map(|s| tenant.event_types(&cut, &s.id)?.first().copied()).collect();

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.deadline_secs);
    let progress = crate::progress::bar(args.callers, &format!("callers {label}"));
    let shared = Arc::new(Shared {
        client: RetellClient {
            http: stack.http.clone(),
            base: stack.service_url().to_owned(),
            timeout: Duration::from_secs(15),
        },
        calendar: Calendar::new(today, args.popular_slots),
        history: Mutex::new(History::default()),
        sent: AtomicU64::new(0),
        max_requests: args.max_requests.unwrap_or(args.callers * (2 * u64::from(args.max_checks) + 1)),
        deadline,
        ttl_single: Duration::from_secs(ttl_single),
        ttl_compound: Duration::from_secs(ttl_compound),
        max_checks: args.max_checks.max(1),
        progress: progress.clone(),
    });
    let sampler = RssSampler::start(stack.service.pid(), Duration::from_millis(250));
    let cpu_start = crate::cpu::snapshot(stack.service.pid());
    let web_counts = Arc::new(Mutex::new(Counts::default()));
    let web_stop = started + Duration::from_secs_f64(args.arrival_secs.max(1.0) + 60.0 * args.time_scale);
    let web = tokio::spawn(external::run(
        stack.http.clone(),
        stack.sim_url().to_owned(),
        Arc::new(calendar),
        external::WebBookers {
            per_minute: args.web_bookings_per_minute,
            skew: args.skew,
            seed: args.seed ^ 0x5eed,
            event_types: web_event_types,
            max_attempts: 10_000,
        },
        web_stop.min(deadline),
        web_counts.clone(),
    ));
    let tasks: Vec<_> = population.into_iter().map(|c| tokio::spawn(caller::run(shared.clone(), c))).collect();
    let mut endings = Counts::default();
    for task in tasks {
        // Each caller stops at the deadline by itself; the slack covers one last request.
        match tokio::time::timeout_at(deadline + Duration::from_secs(30), task).await {
            Ok(Ok(ending)) => endings.add(ending.label()),
            Ok(Err(_)) => endings.add("panicked"),
            Err(_) => endings.add("hung"),
        }
    }
    let call_phase = started.elapsed();
    let cpu = crate::cpu::since(&cpu_start);
    progress.finish_and_clear();
    web.abort();
    let (drained, outbox) = stack.drain_outbox(Duration::from_secs(args.drain_secs)).await?;
    let metrics = stack.get_text(&format!("{}/metrics", stack.service_url())).await.unwrap_or_default();
    let sim_stats = stack.get_json(&format!("{}/_sim/stats", stack.sim_url())).await?;
    let sim_bookings: Vec<slotkeeper::calcom::types::Booking> =
        serde_json::from_value(stack.get_json(&format!("{}/_sim/bookings", stack.sim_url())).await?)?;
    let rss = stack.service.rss().unwrap_or_default();
    let peak_kb = sampler.finish();
    let info = stack.info.clone();
    let clean_stop = stack.stop().await;

    let store = database.open().await?;
    let history = Arc::try_unwrap(shared).map_err(|_| anyhow::anyhow!("callers still running"))?.history.into_inner();
    let dead = outbox.get("dead").and_then(serde_json::Value::as_u64).unwrap_or(0);
    let verification = verify(&store, &sim_bookings, &history.acked, drained, dead).await?;
    let reservation_states = store.reservation_state_counts().await?;
    store.close().await;
    database.discard(env.keep_db).await;

    Ok(report::build(report::Inputs {
        mode,
        backend: if env.postgres.is_some() { "postgres" } else { "sqlite" },
        callers: args.callers,
        history,
        endings,
        web: web_counts.lock().await.clone(),
        call_phase,
        metrics: &metrics,
        sim_stats,
        rss,
        peak_kb,
        outbox,
        verification,
        sim_bookings: &sim_bookings,
        reservation_states,
        info,
        ttl_single,
        ttl_compound,
        clean_stop,
        cpu,
    }))
}
