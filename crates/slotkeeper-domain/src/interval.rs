//! Half-open time intervals `[start, end)` in UTC.
//!
//! Half-open is the rule everywhere (memory, SQLite trigger, PostgreSQL `tstzrange(…, '[)')`):
//! back-to-back appointments 09:00–09:30 and 09:30–10:00 do not overlap, and an empty interval is
//! never constructed, so it can never slip past an overlap check.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an interval must end after it starts")]
pub struct EmptyInterval;

impl Interval {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, EmptyInterval> {
        if start < end { Ok(Self { start, end }) } else { Err(EmptyInterval) }
    }

    pub fn starting_at(start: DateTime<Utc>, minutes: u32) -> Result<Self, EmptyInterval> {
        Self::new(start, start + TimeDelta::minutes(i64::from(minutes)))
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn contains_instant(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} .. {})", self.start.format("%Y-%m-%d %H:%M"), self.end.format("%H:%M"))
    }
}

/// Sorts and merges overlapping or touching intervals into a disjoint, ascending list.
pub fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}

/// `windows` minus `busy`; both must be sorted and disjoint (see [`merge`]). The result is too.
pub fn subtract(windows: &[Interval], busy: &[Interval]) -> Vec<Interval> {
    let mut free = Vec::with_capacity(windows.len() + busy.len());
    let mut b = 0;
    for window in windows {
        let mut cursor = window.start;
        while b < busy.len() && busy[b].end <= cursor {
            b += 1;
        }
        let mut k = b;
        while k < busy.len() && busy[k].start < window.end {
            if busy[k].start > cursor {
                free.push(Interval { start: cursor, end: busy[k].start });
            }
            cursor = cursor.max(busy[k].end);
            k += 1;
        }
        if cursor < window.end {
            free.push(Interval { start: cursor, end: window.end });
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + minute * 60, 0).unwrap()
    }

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(at(a), at(b)).unwrap()
    }

    #[test]
    fn back_to_back_intervals_do_not_overlap() {
        assert!(!iv(0, 30).overlaps(&iv(30, 60)));
        assert!(iv(0, 31).overlaps(&iv(30, 60)));
    }

    #[test]
    fn empty_intervals_cannot_be_built() {
        assert!(Interval::new(at(5), at(5)).is_err());
        assert!(Interval::new(at(6), at(5)).is_err());
    }

    #[test]
    fn subtract_cuts_busy_time_out_of_windows() {
        let windows = [iv(0, 100), iv(200, 300)];
        let busy = [iv(10, 20), iv(90, 210), iv(250, 260)];
        assert_eq!(subtract(&windows, &busy), vec![iv(0, 10), iv(20, 90), iv(210, 250), iv(260, 300)]);
    }

    proptest! {
        #[test]
        fn subtract_agrees_with_a_minute_by_minute_oracle(
            raw_windows in prop::collection::vec((0i64..500, 1i64..60), 0..6),
            raw_busy in prop::collection::vec((0i64..500, 1i64..60), 0..10),
        ) {
            let windows = merge(raw_windows.iter().map(|&(s, d)| iv(s, s + d)).collect());
            let busy = merge(raw_busy.iter().map(|&(s, d)| iv(s, s + d)).collect());
            let free = subtract(&windows, &busy);
            for minute in 0..600 {
                let point = iv(minute, minute + 1);
                let expected = windows.iter().any(|w| w.contains(&point)) && !busy.iter().any(|b| b.overlaps(&point));
                let actual = free.iter().any(|f| f.contains(&point));
                prop_assert_eq!(expected, actual, "minute {}", minute);
            }
            prop_assert!(free.windows(2).all(|p| p[0].end < p[1].start || p[0].end <= p[1].start));
        }
    }
}
