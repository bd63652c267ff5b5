//! Who calls, for what, and when: the caller population of a run, the same for every mode.
//!
//! The population is drawn from one seed, so "reservations on" and "reservations off" face the
//! same callers. Contention is the point: a share `skew` of callers wants one of a few popular
//! times (10:00, 11:00, 14:00, 15:00 on the next weekdays), the rest a random time within two
//! weeks. The service mix includes Dauerwelle (a compound, four-phase service).

use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A service as callers say it, with its length in the demo salon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Svc {
    pub said: &'static str,
    pub minutes: u32,
    pub compound: bool,
    pub share: f64,
}

/// The demo salon's services; `dauerwelle_share` of callers want a perm, the rest split as listed.
pub fn services(dauerwelle_share: f64) -> Vec<Svc> {
    let rest = (1.0 - dauerwelle_share).max(0.0);
    vec![
        Svc { said: "Herrenhaarschnitt", minutes: 30, compound: false, share: rest * 0.35 },
        Svc { said: "Damenhaarschnitt", minutes: 45, compound: false, share: rest * 0.30 },
        Svc { said: "Färben", minutes: 90, compound: false, share: rest * 0.20 },
        Svc { said: "Ponyschnitt", minutes: 10, compound: false, share: rest * 0.15 },
        Svc { said: "Dauerwelle", minutes: 135, compound: true, share: dauerwelle_share },
    ]
}

/// What a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub date: String,
    pub time: String,
    pub staff: Option<String>,
}

/// One caller of the population.
#[derive(Debug, Clone)]
pub struct Caller {
    pub index: u64,
    pub svc: Svc,
    pub want: Want,
    /// Hangs up after hearing the slot is free (Retell sends `call_ended`).
    pub abandons: bool,
    /// Takes longer than the hold to confirm (the first time).
    pub slow: bool,
    /// Think time before confirming (already scaled), when not slow.
    pub think: Duration,
    /// Arrival after the start of the run.
    pub arrival: Duration,
    /// Seed of the caller's own later choices.
    pub seed: u64,
}

/// Knobs of the population.
#[derive(Debug, Clone)]
pub struct PopulationSpec {
    pub callers: u64,
    pub seed: u64,
    pub skew: f64,
    pub abandon: f64,
    pub slow: f64,
    pub dauerwelle_share: f64,
    pub time_scale: f64,
    pub arrival: Duration,
    /// Think time range in unscaled seconds (the issue: 5–60 s).
    pub think_secs: (f64, f64),
}

/// Open days and popular times of the demo salon, from `today` on.
pub struct Calendar {
    days: Vec<NaiveDate>,
    popular: Vec<Want>,
}

/// The demo salon's closed or short days within the next months (config/default.toml).
fn special(day: NaiveDate) -> bool {
    matches!((day.month(), day.day()), (12, 24) | (12, 25) | (12, 26) | (1, 1))
}

impl Calendar {
    /// Weekdays (Mon–Fri, not holidays) from tomorrow on; popular: the first days at 10, 11, 14, 15 h.
    pub fn new(today: NaiveDate, popular_slots: usize) -> Calendar {
        let days: Vec<NaiveDate> = (1..60)
            .map(|d| today + chrono::Duration::days(d))
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !special(*d))
            .take(10)
            .collect();
        let hours = ["10:00", "11:00", "14:00", "15:00"];
        let popular = days
            .iter()
            .flat_map(|d| hours.iter().map(move |h| Want { date: d.to_string(), time: (*h).to_owned(), staff: None }))
            .take(popular_slots.max(1))
            .collect();
        Calendar { days, popular }
    }

    #[cfg(test)]
    pub fn popular(&self) -> &[Want] {
        &self.popular
    }

    /// A random weekday and quarter hour at which `svc` fits into 09:00–18:00.
    pub fn random_want(&self, svc: &Svc, rng: &mut impl Rng) -> Want {
        let day = self.days[rng.random_range(0..self.days.len())];
        let latest = (18 * 60 - svc.minutes.min(9 * 60)).max(9 * 60);
        let quarters = (latest - 9 * 60) / 15;
        let minute = 9 * 60 + 15 * rng.random_range(0..=quarters);
        let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or_default();
        Want { date: day.to_string(), time: time.format("%H:%M").to_string(), staff: None }
    }

    /// A popular time (with probability `skew`) or a random one.
    pub fn pick(&self, svc: &Svc, skew: f64, rng: &mut impl Rng) -> (Want, bool) {
        if rng.random_bool(skew.clamp(0.0, 1.0)) {
            (self.popular[rng.random_range(0..self.popular.len())].clone(), true)
        } else {
            (self.random_want(svc, rng), false)
        }
    }
}

fn pick_service(services: &[Svc], rng: &mut impl Rng) -> Svc {
    let total: f64 = services.iter().map(|s| s.share).sum();
    let mut x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
    for s in services {
        if x < s.share {
            return *s;
        }
        x -= s.share;
    }
    services[0]
}

/// The callers of a run.
pub fn population(spec: &PopulationSpec, calendar: &Calendar) -> Vec<Caller> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let services = services(spec.dauerwelle_share.clamp(0.0, 1.0));
    (0..spec.callers)
        .map(|index| {
            let svc = pick_service(&services, &mut rng);
            let (want, _) = calendar.pick(&svc, spec.skew, &mut rng);
            let (lo, hi) = spec.think_secs;
            let think = Duration::from_secs_f64(rng.random_range(lo..=hi.max(lo)) * spec.time_scale);
            let arrival = spec.arrival.mul_f64(rng.random_range(0.0..1.0));
            Caller {
                index,
                svc,
                want,
                abandons: rng.random_bool(spec.abandon.clamp(0.0, 1.0)),
                slow: rng.random_bool(spec.slow.clamp(0.0, 1.0)),
                think,
                arrival,
                seed: rng.random(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popular_times_are_weekdays_and_random_times_fit_the_day() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 22).unwrap();
        let calendar = Calendar::new(today, 8);
        assert_eq!(calendar.popular().len(), 8);
        assert!(calendar.popular().iter().all(|w| w.date != "2026-12-24" && w.date != "2026-12-26"));
        let mut rng = StdRng::seed_from_u64(1);
        let perm = services(0.2)[4];
        for _ in 0..200 {
            let want = calendar.random_want(&perm, &mut rng);
            assert!(want.time.as_str() <= "15:45", "{want:?}");
        }
    }
}
