//! `compound`: how long a caller waits for a four-phase Dauerwelle when every Cal.com call takes
//! `--calcom-latency-ms` (500 ms), with `parallel_booking_enabled` on and off.
//!
//! Each booking is its own call: `check_availability` (hold), a pause longer than the hold's
//! Cal.com mirror needs (four reservations one after another), then `start_booking`, whose
//! latency is measured. With `calcom.booking_budget_ms` above the sequential time the caller
//! waits for Cal.com, so `booking_status: confirmed` means Cal.com has every phase; the harness
//! checks that at the simulator too. Bookings run one at a time (no queueing in the numbers).
//! Single-phase bookings (Herrenhaarschnitt) give the measured cost of "one call" through the
//! service, next to the nominal simulator latency.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::configgen::{self, DemoFlags};
use crate::db::Database;
use crate::retell::{Call, Reply, RetellClient};
use crate::stack::{Stack, StackOptions};
use crate::stats::{Counts, Summary, histogram, record};

#[derive(Debug, Clone, Args)]
pub struct CompoundArgs {
    #[arg(long, default_value_t = 500)]
    pub calcom_latency_ms: u64,
    /// Dauerwelle bookings per mode (and as many single-phase ones).
    #[arg(long, default_value_t = 8)]
    pub bookings: usize,
    /// Pause between the hold and `start_booking` (the hold's mirror must settle first).
    #[arg(long, default_value_t = 3000)]
    pub think_ms: u64,
    #[arg(long, default_value_t = 5000)]
    pub booking_budget_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompoundMode {
    pub parallel: bool,
    pub compound: Summary,
    pub single: Summary,
    /// Median compound booking latency / nominal Cal.com latency.
    pub ratio_to_nominal: f64,
    /// Median compound / median single-phase booking latency (both through the service).
    pub ratio_to_single: f64,
    pub confirmed: u64,
    pub failures: Counts,
    /// Bookings whose phases are not all at the simulator.
    pub missing_at_calcom: u64,
    pub samples_ms: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompoundReport {
    pub calcom_latency_ms: u64,
    pub modes: Vec<CompoundMode>,
}

fn days(count: usize) -> Vec<String> {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    use chrono::Datelike;
    (1..60)
        .map(|d| today + chrono::Duration::days(d))
        .filter(|d| d.weekday().num_days_from_monday() < 5 && !(d.month() == 12 && (24..=26).contains(&d.day())))
        .take(count)
        .map(|d| d.to_string())
        .collect()
}

/// Holds then books one slot; returns the booking latency and id, or why it failed.
async fn book(
    client: &RetellClient,
    n: u64,
    service: &str,
    date: &str,
    time: &str,
    staff: &str,
    think: Duration,
) -> Result<(Duration, String), String> {
    let call = Call::demo(n);
    let args = json!({"service": service, "date": date, "time": time, "staff": staff});
    let (reply, _) = client.function(&call, "check_availability", args).await;
    let token = match reply {
        Reply::Answer(a) if a.success && a.reservation_token.is_some() => a.reservation_token.unwrap_or_default(),
        Reply::Answer(a) => return Err(format!("check:{}", a.reason.unwrap_or_default())),
        other => return Err(format!("check:{}", other.error_kind().unwrap_or_default())),
    };
    tokio::time::sleep(think).await;
    let args = json!({"reservation_token": token, "customer_name": format!("Kunde {n}"), "customer_phone": call.from});
    let (reply, took) = client.function(&call, "start_booking", args).await;
    let _ = client.call_ended(&call).await;
    match reply {
        Reply::Answer(a) if a.success && a.booking_status.as_deref() == Some("confirmed") => {
            Ok((took, a.booking_id.unwrap_or_default()))
        }
        Reply::Answer(a) => {
            Err(format!("book:{}:{}", a.reason.unwrap_or_default(), a.booking_status.unwrap_or_default()))
        }
        other => Err(format!("book:{}", other.error_kind().unwrap_or_default())),
    }
}

async fn run_mode(args: &CompoundArgs, bin: &Path, dir: &Path, parallel: bool) -> Result<CompoundMode> {
    let label = if parallel { "compound-parallel" } else { "compound-sequential" };
    let config = dir.join(format!("config-{label}.toml"));
    configgen::write(&config, DemoFlags { reservations: true, parallel_booking: parallel }, None)?;
    let database = Database::sqlite(&dir.join("db"), label)?;
    let stack = Stack::start(StackOptions {
        bin,
        dir,
        label,
        config: &config,
        database_url: database.url(),
        calcom_latency_ms: args.calcom_latency_ms,
        calcom_rate_limit: 0,
        overrides: vec![("SLOTKEEPER__CALCOM__BOOKING_BUDGET_MS".into(), args.booking_budget_ms.to_string())],
        start_within: Duration::from_secs(60),
    })
    .await?;
    let client = RetellClient {
        http: stack.http.clone(),
        base: stack.service_url().to_owned(),
        timeout: Duration::from_secs(30),
    };
    let think = Duration::from_millis(args.think_ms);
    let dates = days(10);
    let staff = ["Anna", "Ben", "Clara"];
    let (mut compound, mut single) = (histogram(), histogram());
    let mut failures = Counts::default();
    let mut booked: Vec<(String, usize)> = Vec::new();
    let mut samples = Vec::new();
    let bar = crate::progress::bar(2 * args.bookings as u64, label);
    for i in 0..args.bookings.min(30) {
        let (date, who) = (&dates[i % dates.len()], staff[(i / dates.len()) % staff.len()]);
        for (service, time, phases) in [("Dauerwelle", "09:00", 4), ("Herrenhaarschnitt", "13:00", 1)] {
            match book(&client, (i * 2 + phases) as u64, service, date, time, who, think).await {
                Ok((took, id)) => {
                    if phases == 4 {
                        record(&mut compound, took);
                        samples.push(took.as_secs_f64() * 1000.0);
                    } else {
                        record(&mut single, took);
                    }
                    booked.push((id, phases));
                }
                Err(kind) => failures.add(format!("{service}:{kind}")),
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let sim: Vec<slotkeeper::calcom::types::Booking> =
        serde_json::from_value(stack.get_json(&format!("{}/_sim/bookings", stack.sim_url())).await?)?;
    let missing = booked
        .iter()
        .filter(|(id, phases)| {
            let at = sim
                .iter()
                .filter(|b| b.status.is_active() && b.metadata.get("slotkeeper_booking_id") == Some(id))
                .count();
            at != *phases
        })
        .count() as u64;
    stack.stop().await;
    database.discard(false).await;
    let (c, s) = (Summary::of(&compound), Summary::of(&single));
    Ok(CompoundMode {
        parallel,
        compound: c,
        single: s,
        ratio_to_nominal: c.p50_ms / args.calcom_latency_ms.max(1) as f64,
        ratio_to_single: if s.p50_ms > 0.0 { c.p50_ms / s.p50_ms } else { 0.0 },
        confirmed: c.count,
        failures,
        missing_at_calcom: missing,
        samples_ms: samples,
    })
}

pub async fn run(args: &CompoundArgs, bin: &Path, dir: &Path) -> Result<CompoundReport> {
    let mut modes = Vec::new();
    for parallel in [true, false] {
        let m = run_mode(args, bin, dir, parallel).await?;
        println!("{}", line(&m, args.calcom_latency_ms));
        modes.push(m);
    }
    Ok(CompoundReport { calcom_latency_ms: args.calcom_latency_ms, modes })
}

pub fn line(m: &CompoundMode, latency: u64) -> String {
    format!(
        "compound mode={} calcom_latency_ms={latency} bookings={} p50_ms={:.0} p99_ms={:.0} max_ms={:.0} ratio_to_one_call={:.2} ratio_to_single_booking={:.2} failures={} missing_at_calcom={}",
        if m.parallel { "parallel" } else { "sequential" },
        m.confirmed,
        m.compound.p50_ms,
        m.compound.p99_ms,
        m.compound.max_ms,
        m.ratio_to_nominal,
        m.ratio_to_single,
        m.failures.total(),
        m.missing_at_calcom
    )
}

pub fn markdown(report: &CompoundReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Simulated Cal.com latency: {} ms per call.\n", report.calcom_latency_ms);
    let _ = writeln!(
        out,
        "| phase booking | Dauerwelle bookings | p50 / p99 / max ms | × one call (target) | single-phase booking p50 ms | × single booking | failures | not all phases at Cal.com |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for m in &report.modes {
        let target = if m.parallel { "< 1.3" } else { "≈ 4" };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} / {:.0} / {:.0} | **{:.2}** ({target}) | {:.0} | {:.2} | {} | {} |",
            if m.parallel { "parallel" } else { "sequential" },
            m.confirmed,
            m.compound.p50_ms,
            m.compound.p99_ms,
            m.compound.max_ms,
            m.ratio_to_nominal,
            m.single.p50_ms,
            m.ratio_to_single,
            m.failures.total(),
            m.missing_at_calcom
        );
    }
    out
}
