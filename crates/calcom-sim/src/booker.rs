//! External web booker of the Cal.com simulator: customers booking free slots online while the
//! phone agents work, so slotkeeper meets real races.
//!
//! Guarantees: bookings arrive as a Poisson process with mean `per_minute`, each into a random
//! free slot of a random event type within `horizon_days` from today; they go through the same
//! overlap and reservation rules and webhooks as API bookings; the same `seed` gives the same
//! sequence of choices. Time is `tokio::time`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{ExternalBooker, SimInner};

/// Longest pause between two attempts, so a tiny rate still books now and then.
const MAX_PAUSE: Duration = Duration::from_secs(3600);

pub(crate) async fn run(sim: Arc<SimInner>, cfg: ExternalBooker) {
    if cfg.per_minute <= 0.0 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mean_secs = 60.0 / cfg.per_minute;
    loop {
        let u: f64 = rng.random();
        let pause = (-mean_secs * (1.0 - u).ln()).clamp(0.0, MAX_PAUSE.as_secs_f64());
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
        book_one(&sim, &cfg, &mut rng);
    }
}

/// Tries one booking; returns whether one was made.
pub(crate) fn book_one(sim: &SimInner, cfg: &ExternalBooker, rng: &mut StdRng) -> bool {
    let now = sim.now();
    let pick = {
        let cal = sim.cal();
        let ids = cal.event_type_ids();
        if ids.is_empty() {
            return false;
        }
        let event_type_id = ids[rng.random_range(0..ids.len())];
        let tz = cal.schedule.tz;
        let day = now.with_timezone(&tz).date_naive()
            + ChronoDuration::days(i64::from(rng.random_range(0..cfg.horizon_days.max(1))));
        let start_of_day = day.and_hms_opt(0, 0, 0).and_then(|t| tz.from_local_datetime(&t).earliest());
        let Some(day_start) = start_of_day.map(|t| t.with_timezone(&Utc)) else {
            return false;
        };
        let (from, to) = (day_start.max(now), day_start + ChronoDuration::hours(24));
        if to <= from {
            return false;
        }
        match cal.free_slots(event_type_id, from, to, None, now) {
            Ok(slots) if !slots.is_empty() => Some((event_type_id, slots[rng.random_range(0..slots.len())].0)),
            _ => None,
        }
    };
    match pick {
        Some((event_type_id, start)) => match sim.book_external(event_type_id, start) {
            Ok(b) => {
                tracing::debug!(uid = %b.uid, event_type_id, "sim external booking");
                true
            }
            Err(_) => false,
        },
        None => false,
    }
}
