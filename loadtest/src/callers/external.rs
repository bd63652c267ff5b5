//! External web bookers: customers booking the same stylists directly in Cal.com (the
//! simulator's `POST /_sim/external-booking`) while the phone callers talk, mostly at the
//! popular times. The simulator tells the service by webhook, as Cal.com would.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::plan::{Calendar, Svc};
use crate::stats::Counts;

/// Knobs of the web bookers.
pub struct WebBookers {
    pub per_minute: f64,
    pub skew: f64,
    pub seed: u64,
    /// Event type of a 30-minute cut per stylist of the demo salon.
    pub event_types: Vec<i64>,
    pub max_attempts: u64,
}

fn utc(date: &str, time: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let date: NaiveDate = date.parse().ok()?;
    let time = NaiveTime::parse_from_str(time, "%H:%M").ok()?;
    chrono_tz::Europe::Berlin
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Books until `stop` (or `max_attempts`); counts `created`, `taken` and errors into `counts`.
pub async fn run(
    http: reqwest::Client,
    sim_url: String,
    calendar: Arc<Calendar>,
    spec: WebBookers,
    stop: Instant,
    counts: Arc<Mutex<Counts>>,
) {
    if spec.per_minute <= 0.0 || spec.event_types.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let cut = Svc { said: "Herrenhaarschnitt", minutes: 30, compound: false, share: 1.0 };
    let mean = 60.0 / spec.per_minute;
    for _ in 0..spec.max_attempts {
        let pause = Duration::from_secs_f64((-mean * (1.0 - rng.random_range(0.0..1.0f64)).ln()).min(60.0));
        if Instant::now() + pause >= stop {
            return;
        }
        tokio::time::sleep(pause).await;
        let (want, _) = calendar.pick(&cut, spec.skew, &mut rng);
        let Some(start) = utc(&want.date, &want.time) else { continue };
        let event_type = spec.event_types[rng.random_range(0..spec.event_types.len())];
        let body = json!({"eventTypeId": event_type, "start": start.to_rfc3339()});
        let kind = match http
            .post(format!("{sim_url}/_sim/external-booking"))
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 201 => "created".to_owned(),
            Ok(r) if r.status().as_u16() == 409 => "taken".to_owned(),
            Ok(r) => format!("http_{}", r.status().as_u16()),
            Err(_) => "transport_error".to_owned(),
        };
        counts.lock().await.add(kind);
    }
}
