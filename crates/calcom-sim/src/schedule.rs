//! Opening hours of the simulated salon: which local times are bookable.
//!
//! Guarantees: slots are generated in the schedule's zone, on open days only, every `step`
//! minutes from opening while the slot ends by closing time; local times that a DST change
//! skips produce no slot and ambiguous ones use the earlier instant.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::SimSchedule;

/// Opening hours of every host, in one zone.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub tz: Tz,
    days: [bool; 7],
    open_min: u32,
    close_min: u32,
}

fn parse_hhmm(s: &str) -> Result<u32, String> {
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| format!("invalid time {s:?}, expected HH:MM"))?;
    Ok(t.num_seconds_from_midnight() / 60)
}

impl Schedule {
    pub fn parse(s: &SimSchedule) -> Result<Self, String> {
        let tz: Tz = s.time_zone.parse().map_err(|_| format!("unknown time zone {:?}", s.time_zone))?;
        let mut days = [false; 7];
        for d in &s.days {
            let wd: chrono::Weekday = d.parse().map_err(|_| format!("unknown weekday {d:?}"))?;
            days[wd.num_days_from_monday() as usize] = true;
        }
        let (open_min, close_min) = (parse_hhmm(&s.open)?, parse_hhmm(&s.close)?);
        if close_min <= open_min {
            return Err(format!("schedule closes ({}) before it opens ({})", s.close, s.open));
        }
        Ok(Schedule { tz, days, open_min, close_min })
    }

    /// Starts of every `step`-minute slot of `len` minutes on a local date.
    pub fn slot_starts(&self, date: NaiveDate, step: u32, len: u32) -> Vec<DateTime<Utc>> {
        if !self.days[date.weekday().num_days_from_monday() as usize] || step == 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut m = self.open_min;
        while m + len <= self.close_min {
            let local = date.and_hms_opt(m / 60, m % 60, 0);
            // Local times skipped by a DST change have no slot.
            if let Some(t) = local.and_then(|l| self.tz.from_local_datetime(&l).earliest()) {
                out.push(t.with_timezone(&Utc));
            }
            m += step;
        }
        out
    }

    /// Is `[start, end)` inside opening hours of one open day?
    pub fn contains(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let (s, e) = (start.with_timezone(&self.tz), end.with_timezone(&self.tz));
        let minutes = |t: &DateTime<Tz>| t.num_seconds_from_midnight() / 60;
        s.date_naive() == e.date_naive()
            && self.days[s.weekday().num_days_from_monday() as usize]
            && minutes(&s) >= self.open_min
            && minutes(&e) <= self.close_min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Schedule {
        Schedule::parse(&SimSchedule::default()).expect("default schedule")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn default_schedule_slots() {
        let s = berlin();
        let monday = NaiveDate::from_ymd_opt(2031, 3, 3).expect("date");
        let slots = s.slot_starts(monday, 30, 30);
        assert_eq!(slots.len(), 24);
        assert_eq!(slots[0], utc("2031-03-03T07:00:00Z"));
        assert_eq!(slots[23], utc("2031-03-03T18:30:00Z"));
        assert_eq!(s.slot_starts(monday, 90, 90).len(), 8);
        let sunday = NaiveDate::from_ymd_opt(2031, 3, 9).expect("date");
        assert!(s.slot_starts(sunday, 30, 30).is_empty());
        let summer = NaiveDate::from_ymd_opt(2031, 7, 7).expect("date");
        assert_eq!(s.slot_starts(summer, 30, 30)[0], utc("2031-07-07T06:00:00Z"));
    }

    #[test]
    fn local_times_skipped_by_dst_have_no_slot() {
        let night = SimSchedule {
            days: vec!["sun".into()],
            open: "01:00".into(),
            close: "04:00".into(),
            ..SimSchedule::default()
        };
        let s = Schedule::parse(&night).expect("schedule");
        let change = NaiveDate::from_ymd_opt(2031, 3, 30).expect("date");
        let slots = s.slot_starts(change, 60, 60);
        assert_eq!(slots, vec![utc("2031-03-30T00:00:00Z"), utc("2031-03-30T01:00:00Z")]);
    }

    #[test]
    fn contains_checks_day_and_hours() {
        let s = berlin();
        assert!(s.contains(utc("2031-03-03T07:00:00Z"), utc("2031-03-03T07:30:00Z")));
        assert!(s.contains(utc("2031-03-03T18:30:00Z"), utc("2031-03-03T19:00:00Z")));
        assert!(!s.contains(utc("2031-03-03T06:30:00Z"), utc("2031-03-03T07:00:00Z")));
        assert!(!s.contains(utc("2031-03-03T18:45:00Z"), utc("2031-03-03T19:15:00Z")));
        assert!(!s.contains(utc("2031-03-09T09:00:00Z"), utc("2031-03-09T09:30:00Z")), "sunday");
    }

    #[test]
    fn invalid_schedules_are_rejected() {
        let bad = |f: fn(&mut SimSchedule)| {
            let mut s = SimSchedule::default();
            f(&mut s);
            Schedule::parse(&s).is_err()
        };
        assert!(bad(|s| s.time_zone = "Europe/Atlantis".into()));
        assert!(bad(|s| s.days = vec!["funday".into()]));
        assert!(bad(|s| s.open = "8am".into()));
        assert!(bad(|s| s.close = "07:00".into()));
    }
}
