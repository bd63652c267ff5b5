//! Free start times for a service on one stylist's calendar: a pure function of working windows,
//! busy intervals and the service's busy phases.
//!
//! A start time is offered only if **every staff-busy phase** lies inside free time (working
//! windows minus live holds, bookings and external busy times). Gaps of a compound service need no
//! free time, so a short job can go into a perm's processing time — and, the other way round, a
//! perm's gap may sit over someone else's short job. The same rule decides holds (the calendar
//! actor) and offers (this module), so a slot that is offered can be held (invariant BK-7).

use chrono::{DateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::interval::Interval;

/// A question to [`free_starts`].
#[derive(Debug, Clone, Copy)]
pub struct SlotQuery<'a> {
    /// `(offset, duration)` in minutes of each staff-busy phase, from the service start.
    pub layout: &'a [(u32, u32)],
    /// Working windows, sorted and disjoint.
    pub windows: &'a [Interval],
    /// Free time: working windows minus busy intervals, sorted and disjoint.
    pub free: &'a [Interval],
    /// Start times lie on this grid of the local clock (e.g. :00, :15, :30, :45).
    pub step_minutes: u32,
    /// The zone whose clock the grid follows.
    pub tz: Tz,
    /// Earliest allowed start (now plus minimum notice).
    pub not_before: DateTime<Utc>,
    /// Only starts in `[range.start, range.end)`.
    pub range: Interval,
    /// Stop after this many.
    pub limit: usize,
}

/// Does a service with `layout` fit at `start`, given `free` time?
pub fn fits(layout: &[(u32, u32)], start: DateTime<Utc>, free: &[Interval]) -> bool {
    layout.iter().all(|&(offset, duration)| {
        let begin = start + TimeDelta::minutes(i64::from(offset));
        let Ok(phase) = Interval::starting_at(begin, duration) else { return false };
        let index = free.partition_point(|f| f.end() <= phase.start());
        free.get(index).is_some_and(|f| f.contains(&phase))
    })
}

/// Ascending start times at which the service fits.
pub fn free_starts(query: &SlotQuery<'_>) -> Vec<DateTime<Utc>> {
    let mut starts = Vec::new();
    if query.step_minutes == 0 || query.layout.is_empty() {
        return starts;
    }
    let step = TimeDelta::minutes(i64::from(query.step_minutes));
    let lower_bound = query.range.start().max(query.not_before);
    for window in query.windows {
        if window.end() <= lower_bound {
            continue;
        }
        if window.start() >= query.range.end() {
            break;
        }
        let mut t = first_grid_point(window.start(), query.tz, query.step_minutes);
        if t < lower_bound {
            let behind = (lower_bound - t).num_minutes();
            let steps = (behind + i64::from(query.step_minutes) - 1) / i64::from(query.step_minutes);
            t += step * (steps as i32);
        }
        while t < window.end() && t < query.range.end() {
            if t >= lower_bound && fits(query.layout, t, query.free) {
                starts.push(t);
                if starts.len() >= query.limit {
                    return starts;
                }
            }
            t += step;
        }
    }
    starts
}

/// The first instant at or after `t` whose local clock reading is on the grid.
fn first_grid_point(t: DateTime<Utc>, tz: Tz, step_minutes: u32) -> DateTime<Utc> {
    let offset_secs = tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc();
    let local = t + TimeDelta::seconds(i64::from(offset_secs));
    let minute_of_day = local.hour() * 60 + local.minute();
    let rem = minute_of_day % step_minutes;
    let mut aligned =
        t - TimeDelta::seconds(i64::from(local.second())) - TimeDelta::nanoseconds(i64::from(local.nanosecond()));
    if rem != 0 {
        aligned += TimeDelta::minutes(i64::from(step_minutes - rem));
    }
    if aligned < t { aligned + TimeDelta::minutes(i64::from(step_minutes)) } else { aligned }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::{merge, subtract};
    use proptest::prelude::*;

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn iv(a: &str, b: &str) -> Interval {
        Interval::new(t(a), t(b)).unwrap()
    }

    const DAUERWELLE: &[(u32, u32)] = &[(0, 50), (65, 5), (80, 15), (95, 40)];

    fn query<'a>(layout: &'a [(u32, u32)], windows: &'a [Interval], free: &'a [Interval]) -> SlotQuery<'a> {
        SlotQuery {
            layout,
            windows,
            free,
            step_minutes: 15,
            tz: BERLIN,
            not_before: t("2026-11-25T00:00:00Z"),
            range: iv("2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"),
            limit: 1000,
        }
    }

    #[test]
    fn starts_follow_the_local_grid_and_end_inside_the_window() {
        // Thursday 26 Nov 2026, 09:00–18:00 Berlin = 08:00–17:00 UTC.
        let windows = [iv("2026-11-26T08:00:00Z", "2026-11-26T17:00:00Z")];
        let starts = free_starts(&query(&[(0, 30)], &windows, &windows));
        assert_eq!(starts.first(), Some(&t("2026-11-26T08:00:00Z")));
        assert_eq!(starts.last(), Some(&t("2026-11-26T16:30:00Z")));
        assert_eq!(starts.len(), 35);
    }

    #[test]
    fn a_short_job_fits_into_the_gap_of_a_perm() {
        let windows = [iv("2026-11-26T08:00:00Z", "2026-11-26T17:00:00Z")];
        // A perm at 09:00 local (08:00 UTC) keeps the stylist busy 08:00–08:50, 09:05–09:10, 09:20–10:15.
        let perm = [
            iv("2026-11-26T08:00:00Z", "2026-11-26T08:50:00Z"),
            iv("2026-11-26T09:05:00Z", "2026-11-26T09:10:00Z"),
            iv("2026-11-26T09:20:00Z", "2026-11-26T10:15:00Z"),
        ];
        let free = subtract(&windows, &merge(perm.to_vec()));
        let mut q = query(&[(0, 10)], &windows, &free);
        q.step_minutes = 5;
        assert!(fits(&[(0, 10)], t("2026-11-26T08:50:00Z"), &free), "10 minutes inside the 15-minute gap");
        assert!(!fits(&[(0, 20)], t("2026-11-26T08:50:00Z"), &free), "20 minutes do not fit");
        assert!(free_starts(&q).contains(&t("2026-11-26T08:50:00Z")));
    }

    #[test]
    fn a_perm_may_straddle_another_job_with_its_gap() {
        let windows = [iv("2026-11-26T08:00:00Z", "2026-11-26T17:00:00Z")];
        // Someone else's 10-minute job at 08:52–09:02 UTC sits inside the perm's first gap (08:50–09:05).
        let other = [iv("2026-11-26T08:52:00Z", "2026-11-26T09:02:00Z")];
        let free = subtract(&windows, &other);
        assert!(fits(DAUERWELLE, t("2026-11-26T08:00:00Z"), &free));
        assert!(!fits(DAUERWELLE, t("2026-11-26T08:15:00Z"), &free));
    }

    #[test]
    fn nothing_starts_before_the_minimum_notice() {
        let windows = [iv("2026-11-26T08:00:00Z", "2026-11-26T17:00:00Z")];
        let mut q = query(&[(0, 30)], &windows, &windows);
        q.not_before = t("2026-11-26T10:07:00Z");
        assert_eq!(free_starts(&q).first(), Some(&t("2026-11-26T10:15:00Z")));
    }

    #[test]
    fn the_grid_follows_local_time_for_odd_window_starts() {
        // A window starting 09:10 local starts offering at 09:15 local.
        let windows = [iv("2026-11-26T08:10:00Z", "2026-11-26T09:00:00Z")];
        let starts = free_starts(&query(&[(0, 15)], &windows, &windows));
        assert_eq!(starts.first(), Some(&t("2026-11-26T08:15:00Z")));
    }

    proptest! {
        /// BK-7 oracle: a start is offered iff every busy minute of every phase is free.
        #[test]
        fn offered_starts_agree_with_a_minute_by_minute_oracle(
            busy_raw in prop::collection::vec((0i64..540, 5i64..90), 0..8),
            layout_pick in 0usize..3,
        ) {
            let layouts: [&[(u32, u32)]; 3] = [&[(0, 30)], &[(0, 45)], DAUERWELLE];
            let layout = layouts[layout_pick];
            let day = t("2026-11-26T08:00:00Z");
            let windows = [Interval::new(day, day + TimeDelta::hours(9)).unwrap()];
            let busy = merge(busy_raw.iter().map(|&(s, d)| Interval::new(day + TimeDelta::minutes(s), day + TimeDelta::minutes(s + d)).unwrap()).collect());
            let free = subtract(&windows, &busy);
            let mut q = query(layout, &windows, &free);
            q.step_minutes = 5;
            let offered = free_starts(&q);
            for k in 0..(9 * 12) {
                let start = day + TimeDelta::minutes(k * 5);
                let ok = layout.iter().all(|&(off, dur)| (0..dur).all(|m| {
                    let minute = Interval::starting_at(start + TimeDelta::minutes(i64::from(off + m)), 1).unwrap();
                    windows[0].contains(&minute) && !busy.iter().any(|b| b.overlaps(&minute))
                }));
                prop_assert_eq!(ok, offered.contains(&start), "start {}", start);
            }
        }
    }
}
