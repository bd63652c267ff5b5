//! Working hours in the salon's local time, turned into UTC windows.
//!
//! Hours are written as local wall-clock ranges ("09:00-18:00") per weekday, with dated exceptions
//! (holidays, sick days, short days). Every conversion to UTC goes through the tenant's IANA zone
//! for that exact date, so a Saturday before the spring or autumn change still opens at 09:00 local.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::interval::Interval;

/// A local time range on one day, `start < end`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeRange {
    start: NaiveTime,
    end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("{0:?} is not a time range like \"09:00-18:00\"")]
    Syntax(String),
    #[error("{0:?} ends before it starts")]
    Backwards(String),
    #[error("ranges {0} and {1} overlap")]
    Overlap(String, String),
}

impl TimeRange {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    pub fn parse(text: &str) -> Result<Self, HoursError> {
        let syntax = || HoursError::Syntax(text.to_owned());
        let (a, b) = text.split_once('-').ok_or_else(syntax)?;
        let parse = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| syntax());
        let (start, end) = (parse(a)?, parse(b)?);
        Self::new(start, end).ok_or_else(|| HoursError::Backwards(text.to_owned()))
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

impl fmt::Debug for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Sorts ranges and refuses overlapping ones (a typo in the config, not something to merge quietly).
pub fn sorted_ranges(mut ranges: Vec<TimeRange>) -> Result<Vec<TimeRange>, HoursError> {
    ranges.sort();
    for pair in ranges.windows(2) {
        if pair[1].start < pair[0].end {
            return Err(HoursError::Overlap(pair[0].to_string(), pair[1].to_string()));
        }
    }
    Ok(ranges)
}

/// What a dated exception does to a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOverride {
    Closed,
    Hours(Vec<TimeRange>),
}

/// A staff member's regular week plus dated exceptions.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// Index 0 = Monday.
    weekly: [Vec<TimeRange>; 7],
    exceptions: BTreeMap<NaiveDate, DayOverride>,
}

impl Schedule {
    pub fn new(weekly: [Vec<TimeRange>; 7], exceptions: BTreeMap<NaiveDate, DayOverride>) -> Self {
        Self { weekly, exceptions }
    }

    /// The regular hours of a weekday (exceptions aside).
    pub fn weekly(&self, weekday: chrono::Weekday) -> &[TimeRange] {
        &self.weekly[weekday.num_days_from_monday() as usize]
    }

    pub fn ranges_on(&self, date: NaiveDate) -> &[TimeRange] {
        match self.exceptions.get(&date) {
            Some(DayOverride::Closed) => &[],
            Some(DayOverride::Hours(ranges)) => ranges,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }

    pub fn is_open_on(&self, date: NaiveDate) -> bool {
        !self.ranges_on(date).is_empty()
    }

    pub fn exception_on(&self, date: NaiveDate) -> Option<&DayOverride> {
        self.exceptions.get(&date)
    }

    pub fn exceptions(&self) -> impl Iterator<Item = (&NaiveDate, &DayOverride)> {
        self.exceptions.iter()
    }

    /// Working windows in UTC for the local dates `from..=to`, ascending.
    pub fn windows_utc(&self, tz: Tz, from: NaiveDate, to: NaiveDate) -> Vec<Interval> {
        let mut windows = Vec::new();
        let mut date = from;
        while date <= to {
            for range in self.ranges_on(date) {
                let start = local_to_utc(tz, date.and_time(range.start));
                let end = local_to_utc(tz, date.and_time(range.end));
                if let Ok(window) = Interval::new(start, end) {
                    windows.push(window);
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        windows
    }
}

/// Local wall time to UTC. Ambiguous times (autumn fall-back) take the earlier instant; times
/// in the spring gap move forward to the first instant that exists.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = tz.from_local_datetime(&local).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a DST gap: step forward minute by minute (gaps are at most a few hours).
    let mut probe = local;
    for _ in 0..(24 * 60) {
        probe += TimeDelta::minutes(1);
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(mon_fri: &str, sat: Option<&str>) -> [Vec<TimeRange>; 7] {
        let day = |s: &str| vec![TimeRange::parse(s).unwrap()];
        let mut w: [Vec<TimeRange>; 7] = Default::default();
        for d in &mut w[0..5] {
            *d = day(mon_fri);
        }
        if let Some(s) = sat {
            w[5] = day(s);
        }
        w
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn windows_follow_local_time_across_the_spring_change() {
        let schedule = Schedule::new(week("09:00-18:00", Some("09:00-14:00")), BTreeMap::new());
        // Sat 2026-03-28 is still CET (+1); Mon 2026-03-30 is CEST (+2).
        let windows = schedule.windows_utc(chrono_tz::Europe::Berlin, date("2026-03-28"), date("2026-03-30"));
        let text: Vec<String> = windows.iter().map(|w| format!("{}..{}", w.start(), w.end())).collect();
        assert_eq!(
            text,
            vec![
                "2026-03-28 08:00:00 UTC..2026-03-28 13:00:00 UTC",
                "2026-03-30 07:00:00 UTC..2026-03-30 16:00:00 UTC",
            ]
        );
    }

    #[test]
    fn exceptions_close_or_shorten_a_day() {
        let mut exceptions = BTreeMap::new();
        exceptions.insert(date("2026-12-24"), DayOverride::Hours(vec![TimeRange::parse("09:00-12:00").unwrap()]));
        exceptions.insert(date("2026-12-25"), DayOverride::Closed);
        let schedule = Schedule::new(week("09:00-18:00", None), exceptions);
        assert_eq!(schedule.ranges_on(date("2026-12-24")).len(), 1);
        assert_eq!(schedule.ranges_on(date("2026-12-24"))[0].end(), NaiveTime::from_hms_opt(12, 0, 0).unwrap());
        assert!(!schedule.is_open_on(date("2026-12-25")));
        assert!(!schedule.is_open_on(date("2026-12-27")), "sunday");
    }

    #[test]
    fn bad_ranges_are_refused_with_the_text() {
        assert_eq!(TimeRange::parse("18:00-09:00"), Err(HoursError::Backwards("18:00-09:00".into())));
        assert!(matches!(TimeRange::parse("9 to 5"), Err(HoursError::Syntax(_))));
        let overlapping = vec![TimeRange::parse("09:00-13:00").unwrap(), TimeRange::parse("12:00-18:00").unwrap()];
        assert!(matches!(sorted_ranges(overlapping), Err(HoursError::Overlap(..))));
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward() {
        let local = date("2026-03-29").and_hms_opt(2, 30, 0).unwrap();
        let utc = local_to_utc(chrono_tz::Europe::Berlin, local);
        assert_eq!(utc.to_rfc3339(), "2026-03-29T01:00:00+00:00");
    }
}
