//! Chaos (issue 9): the invariants of `reliability-anchors.md` attacked with process kills,
//! several nodes and a misbehaving Cal.com.
//!
//! * `kill`: the real binary under load, SIGKILLed at random moments and restarted, round
//!   after round: BK-1, BK-2 (nothing acknowledged is lost), BK-3 (retries after a crash get
//!   the stored answer), BK-4 (holds keep their remaining TTL and end on time), BK-5;
//! * `nodes`: three processes on one PostgreSQL racing for the same hot slots, one of them
//!   SIGKILLed mid-run: BK-1 across nodes, losers hear alternatives, the dead node's holds
//!   expire or convert elsewhere, its outbox jobs are taken over;
//! * `faults`: many bookings through a mixed Cal.com fault schedule (latency spikes, 5xx
//!   bursts, 429 storms, resets, lost answers, minutes of outage, web bookers taking phases):
//!   callers are answered within the budget, then BK-5 exactly once and compensation.
//!
//! The bounded forms run in the normal suite. Knobs for the long forms (RELIABILITY.md):
//! `SLOTKEEPER_CHAOS_ROUNDS` (kill rounds), `SLOTKEEPER_CHAOS_NODE_ROUNDS` (hot-slot rounds),
//! `SLOTKEEPER_CHAOS_BOOKINGS` (bookings per fault phase), `SLOTKEEPER_CHAOS_CALLERS`,
//! `SLOTKEEPER_CHAOS_SEED` (replays a run's random choices), `SLOTKEEPER_CHAOS_BACKEND`
//! (`sqlite` or `postgres` for `kill`), `SLOTKEEPER_BIN` (e.g. the release binary).

mod caller;
mod faults;
mod identity;
mod kill;
mod node;
mod nodes;
mod stall;
mod verify;

use std::net::SocketAddr;

use calcom_sim::{CalcomSim, Faults, SimHandle};
use chrono::{Datelike, Duration as TimeDelta, NaiveDate, Utc, Weekday};
use slotkeeper::config::Settings;

/// A numeric knob from the environment.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// The seed of this run (printed, so a failure can be replayed with `SLOTKEEPER_CHAOS_SEED`).
pub fn seed() -> u64 {
    knob("SLOTKEEPER_CHAOS_SEED", rand::random::<u32>() as u64)
}

/// Weekdays (Berlin) from `from_days` days ahead on, skipping the configured holidays: days the
/// demo salon is open whatever day the test runs. Dates are `DD.MM.YYYY`, as callers may say.
pub fn open_weekdays(from_days: i64, count: usize) -> Vec<String> {
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    (from_days..58)
        .map(|days| today + TimeDelta::days(days))
        .filter(|d| !closed(*d))
        .take(count)
        .map(|d| d.format("%d.%m.%Y").to_string())
        .collect()
}

/// Weekends and the demo salon's holidays (`config/default.toml`).
pub fn closed(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        || [(12, 24), (12, 25), (12, 26), (12, 31), (1, 1)].contains(&(d.month(), d.day()))
}

/// A Cal.com simulator in the test process (it outlives every node we kill), serving the event
/// types of the shipped catalogue, without its own rate limit.
pub async fn start_sim(faults: Faults) -> SimHandle {
    let catalogue = Settings::embedded_default().validate().unwrap();
    let mut config = slotkeeper::simulator::standalone_sim_config(&catalogue, 0, None, 0.0, 0);
    config.faults = faults;
    CalcomSim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap()
}

/// `p50`/`p99` log-normal latency on every simulator endpoint (Cal.com on a normal day).
pub fn everyday_latency(p50_ms: u64, p99_ms: u64) -> Faults {
    let mut faults = Faults::default();
    faults.all.latency = calcom_sim::Latency { p50_ms: Some(p50_ms), p99_ms: Some(p99_ms), ..Default::default() };
    faults
}

#[test]
fn open_weekdays_are_weekdays_in_the_future() {
    let days = open_weekdays(2, 10);
    assert_eq!(days.len(), 10);
    for day in days {
        let date = NaiveDate::parse_from_str(&day, "%d.%m.%Y").unwrap();
        assert!(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun), "{day}");
        assert!(date > Utc::now().date_naive());
    }
}
