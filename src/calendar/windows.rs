//! Cal.com's bookable time for one stylist, per local date, as `GET /v2/slots` last said it.
//!
//! Invariant: for a date Cal.com has answered for, the stylist's windows are Cal.com's, never our
//! configuration's (a salon's schedule, date overrides, out-of-office, external calendars,
//! buffers and notice live in Cal.com); dates Cal.com has not answered for (offline mode, beyond
//! the fetched horizon, Cal.com unreachable) fall back to the configured working hours.
//!
//! Cal.com's slots leave out every booking and every unexpired slot reservation of the host,
//! including our own (`_getReservedSlotsAndCleanupExpired` in
//! `packages/trpc/server/routers/viewer/slots/util.ts` treats all reservations but the booker's
//! own uid as busy, and our API calls have none). We know those intervals ourselves and lay them
//! over the windows as busy time anyway, so the busy intervals known when Cal.com answered are
//! added back to its windows: a hold released or a booking cancelled after the fetch reopens its
//! time without another request. Pure data, no clock of its own.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::domain::Interval;
use crate::domain::hours::local_to_utc;
use crate::domain::interval::merge;

#[derive(Debug, Clone)]
struct Day {
    open: Vec<Interval>,
    fetched_at: DateTime<Utc>,
}

/// What Cal.com said, by local date of the salon.
#[derive(Debug, Clone, Default)]
pub struct CalcomWindows {
    days: BTreeMap<NaiveDate, Day>,
}

/// `[00:00 of date, 00:00 of the next date)` in `tz`, as UTC.
pub fn local_day(tz: Tz, date: NaiveDate) -> Interval {
    let start = local_to_utc(tz, date.and_time(NaiveTime::MIN));
    let next = date.succ_opt().unwrap_or(date);
    let end = local_to_utc(tz, next.and_time(NaiveTime::MIN));
    Interval::new(start, end.max(start + chrono::TimeDelta::minutes(1))).expect("a day has a length")
}

/// The parts of `intervals` inside `bounds`.
pub fn clip(intervals: &[Interval], bounds: &Interval) -> Vec<Interval> {
    intervals
        .iter()
        .filter_map(|iv| Interval::new(iv.start().max(bounds.start()), iv.end().min(bounds.end())).ok())
        .collect()
}

impl CalcomWindows {
    /// Cal.com's answer for the local dates `first..=last`: `slots` are its free ranges (each
    /// `{start, end}` of `format=range`), `known` the busy intervals we knew while it answered.
    pub fn apply(
        &mut self,
        tz: Tz,
        first: NaiveDate,
        last: NaiveDate,
        slots: &[Interval],
        known: &[Interval],
        fetched_at: DateTime<Utc>,
    ) {
        for date in first.iter_days().take_while(|d| *d <= last) {
            let bounds = local_day(tz, date);
            let mut open = clip(slots, &bounds);
            open.extend(clip(known, &bounds));
            self.days.insert(date, Day { open: merge(open), fetched_at });
        }
    }

    /// Windows for the local dates `first..=last`: Cal.com's where it answered, else `configured`
    /// (called with each run of unanswered dates).
    pub fn windows(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        configured: impl Fn(NaiveDate, NaiveDate) -> Vec<Interval>,
    ) -> Vec<Interval> {
        let mut out = Vec::new();
        let mut gap: Option<(NaiveDate, NaiveDate)> = None;
        for date in first.iter_days().take_while(|d| *d <= last) {
            match self.days.get(&date) {
                Some(day) => {
                    if let Some((a, b)) = gap.take() {
                        out.extend(configured(a, b));
                    }
                    out.extend(day.open.iter().copied());
                }
                None => gap = Some(gap.map_or((date, date), |(a, _)| (a, date))),
            }
        }
        if let Some((a, b)) = gap {
            out.extend(configured(a, b));
        }
        merge(out)
    }

    /// When Cal.com last answered for `date`, if it has.
    pub fn fetched_at(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.days.get(&date).map(|d| d.fetched_at)
    }

    /// Forgets dates before `date` (nothing is booked in the past).
    pub fn prune_before(&mut self, date: NaiveDate) {
        self.days = self.days.split_off(&date);
    }

    /// How many dates Cal.com has answered for.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

#[cfg(test)]
mod tests;
