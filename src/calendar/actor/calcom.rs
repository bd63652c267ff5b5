//! The calendar actor's view of Cal.com's bookable time: the windows every free-slot question,
//! hold, booking and reschedule is decided in, and the re-check of a hold against a fresh answer.
//!
//! Invariant: a hold Cal.com no longer has free when it is re-checked is withdrawn here, in the
//! actor, before it can be converted (the caller hears the conflict and alternatives, never a
//! failed booking); the windows applied then no longer count the withdrawn hold as ours.

use chrono::{DateTime, Duration as TimeDelta, Utc};

use super::ActorState;
use crate::calendar::messages::{HoldEnd, Recheck, WindowsUpdate};
use crate::calendar::windows::{clip, local_day};
use crate::domain::Interval;
use crate::domain::interval::{merge, subtract};
use crate::metrics;

impl ActorState {
    /// Bookable windows (UTC) for the local days around `from..to`: Cal.com's where it has
    /// answered, the configured working hours elsewhere.
    pub(super) fn windows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Interval> {
        let tz = self.tenant.tz;
        let first = (from - TimeDelta::days(1)).with_timezone(&tz).date_naive();
        let last = (to + TimeDelta::days(1)).with_timezone(&tz).date_naive();
        let schedule = &self.tenant.staff[self.staff_index].schedule;
        self.calcom.windows(first, last, |a, b| schedule.windows_utc(tz, a, b))
    }

    /// Live busy intervals in `range`, whoever owns them.
    pub(super) fn known(&self, range: &Interval) -> Vec<Interval> {
        self.cal.live_busy(range, self.ctx.clock.now())
    }

    /// The oldest Cal.com answer for the local dates `range` touches (`None`: one is missing).
    pub(super) fn fetched_at(&self, range: &Interval) -> Option<DateTime<Utc>> {
        let tz = self.tenant.tz;
        let first = range.start().with_timezone(&tz).date_naive();
        let last = range.end().with_timezone(&tz).date_naive();
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| self.calcom.fetched_at(d))
            .try_fold(None, |oldest: Option<DateTime<Utc>>, at| at.map(|at| Some(oldest.map_or(at, |o| o.min(at)))))?
    }

    pub(super) async fn apply_windows(&mut self, update: WindowsUpdate) -> Recheck {
        let tz = self.tenant.tz;
        let now = self.ctx.clock.now();
        let span = Interval::new(local_day(tz, update.first).start(), local_day(tz, update.last).end())
            .expect("first <= last");
        let mut known = update.known_before.clone();
        known.extend(self.known(&span));
        let mut known = merge(known);
        let mut verdict = Recheck::NotHeld;
        if let Some(token) = &update.recheck
            && let Some(start) = self.cal.hold(token).filter(|h| h.is_live(now)).map(|h| h.start)
        {
            let own: Vec<Interval> = self.cal.hold_intervals(token).map(<[Interval]>::to_vec).unwrap_or_default();
            let others = subtract(&known, &own);
            let mut open = clip(&update.slots, &span);
            open.extend(others.iter().copied());
            let open = merge(open);
            let fits = own.iter().all(|phase| open.iter().any(|o| o.contains(phase)));
            verdict = if fits { Recheck::Fits } else { Recheck::Conflict };
            metrics::calcom_recheck(if fits { "fits" } else { "conflict" });
            if !fits {
                tracing::info!(calendar = %self.key, token = %token, %start, "cal.com no longer has the held time free; withdrawing the hold");
                let token = token.clone();
                match self.end_hold(&token, None, "conflict", HoldEnd::Conflict).await {
                    Ok(_) => known = others,
                    Err(err) => {
                        // Still held: the booking goes on, and Cal.com checks it again.
                        tracing::warn!(calendar = %self.key, error = %err, "could not withdraw a re-checked hold");
                        verdict = Recheck::NotHeld;
                    }
                }
            }
        }
        self.calcom.apply(tz, update.first, update.last, &update.slots, &known, update.fetched_at);
        let today = now.with_timezone(&tz).date_naive();
        self.calcom.prune_before(today.pred_opt().unwrap_or(today));
        verdict
    }
}
