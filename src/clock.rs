//! The service's notion of "now".
//!
//! Production reads the system clock. Tests need to move time without sleeping, in two ways:
//! * [`Clock::tokio_anchored`] follows tokio's clock, so `tokio::time::pause`/`advance` move both the
//!   wall time the service sees and the timers that expire holds (used by in-process tests);
//! * [`Clock::manual`] is advanced explicitly by a test and wakes every sleeper whose deadline has
//!   passed; black-box tests use it, because a real socket and paused tokio time do not mix.
//!
//! Every timer in the service (hold expiry, sweeper) goes through [`Clock::sleep_until`], so a
//! deadline means the same thing to the timer and to the code that compares timestamps.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Clock {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    System,
    TokioAnchored { wall: DateTime<Utc>, instant: tokio::time::Instant },
    Manual(Arc<watch::Sender<DateTime<Utc>>>),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::System => "system",
            Kind::TokioAnchored { .. } => "tokio-anchored",
            Kind::Manual(_) => "manual",
        };
        write!(f, "Clock({kind}, now={})", self.now())
    }
}

impl Clock {
    pub fn system() -> Self {
        Self { kind: Kind::System }
    }

    /// Wall time `wall` at the current tokio instant, then moving with tokio's clock.
    pub fn tokio_anchored(wall: DateTime<Utc>) -> Self {
        Self { kind: Kind::TokioAnchored { wall, instant: tokio::time::Instant::now() } }
    }

    /// A clock that stands still until [`Clock::advance`] or [`Clock::set`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        let (tx, _rx) = watch::channel(start);
        Self { kind: Kind::Manual(Arc::new(tx)) }
    }

    /// Now, truncated to whole milliseconds: every timestamp the service stores has this precision,
    /// so comparisons in SQL and in memory agree.
    pub fn now(&self) -> DateTime<Utc> {
        let raw = match &self.kind {
            Kind::System => Utc::now(),
            Kind::TokioAnchored { wall, instant } => {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(*instant);
                *wall + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX)
            }
            Kind::Manual(tx) => *tx.borrow(),
        };
        truncate_millis(raw)
    }

    /// Moves a manual clock forward and wakes sleepers. No effect on the other kinds
    /// (they move on their own; use `tokio::time::advance` for the anchored one).
    pub fn advance(&self, by: Duration) {
        if let Kind::Manual(tx) = &self.kind {
            let delta = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
            tx.send_modify(|now| *now += delta);
        }
    }

    /// Sets a manual clock (only forward moves make sense; backward moves are allowed for tests of
    /// clock skew).
    pub fn set(&self, to: DateTime<Utc>) {
        if let Kind::Manual(tx) = &self.kind {
            tx.send_replace(to);
        }
    }

    /// Resolves once `now() >= deadline`.
    pub async fn sleep_until(&self, deadline: DateTime<Utc>) {
        match &self.kind {
            Kind::System | Kind::TokioAnchored { .. } => loop {
                let remaining = deadline - self.now();
                let Ok(remaining) = remaining.to_std() else { return };
                if remaining.is_zero() {
                    return;
                }
                // Re-check after waking: the system clock may have been adjusted meanwhile.
                tokio::time::sleep(remaining).await;
            },
            Kind::Manual(tx) => {
                let mut rx = tx.subscribe();
                // `wait_for` checks the current value first, then every change.
                let _ = rx.wait_for(|now| *now >= deadline).await;
            }
        }
    }

    pub async fn sleep(&self, duration: Duration) {
        let deadline = self.now() + TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX);
        self.sleep_until(deadline).await;
    }
}

pub fn truncate_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced_past_their_deadline() {
        let clock = Clock::manual(at("2026-11-25T09:00:00Z"));
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(at("2026-11-25T09:02:00Z")).await })
        };
        clock.advance(Duration::from_secs(60));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(60));
        sleeper.await.unwrap();
        assert_eq!(clock.now(), at("2026-11-25T09:02:00Z"));
    }

    #[tokio::test(start_paused = true)]
    async fn anchored_clock_follows_paused_tokio_time() {
        let clock = Clock::tokio_anchored(at("2026-11-25T09:00:00Z"));
        tokio::time::advance(Duration::from_secs(120)).await;
        assert_eq!(clock.now(), at("2026-11-25T09:02:00Z"));
    }

    #[test]
    fn now_has_millisecond_precision() {
        let t = Clock::system().now();
        assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
    }
}
