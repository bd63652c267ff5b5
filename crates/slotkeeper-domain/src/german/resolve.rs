//! Turning the scanner's components into one date, one time (or day part), or a refusal.
//!
//! Guarantees:
//! - A risky token (see `rule`) fails both the date and the time: nothing is built from the
//!   rest of the phrase. Invalid dates and times are still reported as such first.
//! - Two different dates, two different times, or alternatives give `Unrecognized`; a
//!   weekday that does not match the date gives `WeekdayMismatch` (both named in the question).
//! - Clock-relative times ("in 20 Minuten", "jetzt") need `now`; without it they are
//!   unrecognised. Their date is the date of `now + Δ`, which must agree with any other day said.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Weekday};

use super::ParseError;
use super::daypart::DayPart;
use super::scan::{Mode, Outcome, Scan, Scanner, Slot, Unit, WdMod, clip};

impl Scanner<'_, '_> {
    /// Resolves everything the run collected.
    pub(super) fn resolve(&mut self, input: &str) -> Scan {
        let unrecognized = || ParseError::Unrecognized(clip(input));
        self.decide_asap();
        let from_now = match self.relative_instant() {
            Ok(dt) => dt,
            Err(()) => {
                let e = self.st.date_err.take().or(self.st.time_err.take()).unwrap_or_else(unrecognized);
                return Scan {
                    date: Outcome::Failed(e.clone()),
                    time: Outcome::Failed(e),
                    part: None,
                    from_now: false,
                };
            }
        };
        let date = self.resolve_date(input, from_now.map(|dt| dt.date()));
        let (time, part) = self.resolve_time(input, from_now.map(|dt| dt.time()));
        let from_now = from_now.is_some() && matches!(time, Outcome::Found(_));
        Scan { date, time, part, from_now }
    }

    /// "jetzt", "sofort", "gleich" mean now only when nothing else names the day or time
    /// ("gleich morgen früh" is tomorrow morning), except "heute".
    fn decide_asap(&mut self) {
        let s = &self.st;
        let only_today = s.anchor.value.is_none_or(|d| d == self.today) && !s.anchor.conflict;
        let nothing_else = s.offset.value.is_none()
            && s.explicit.value.is_none()
            && s.day_of_month.value.is_none()
            && s.weekday.value.is_none()
            && s.week.value.is_none()
            && s.ambiguous.is_empty()
            && s.am_morgen == 0
            && s.times.is_empty()
            && s.day_part.value.is_none()
            && s.weekend == 0
            && s.noon_point == 0
            && s.from_now.value.is_none();
        if s.asap > 0 && only_today && nothing_else && self.now.is_some() {
            self.st.from_now.set(0);
        }
    }

    /// The local instant of a clock-relative time, rounded up to the whole minute;
    /// `Err` when it cannot be resolved (no `now`, two different offsets, overflow).
    fn relative_instant(&self) -> Result<Option<NaiveDateTime>, ()> {
        let slot = self.st.from_now;
        let Some(minutes) = slot.value else {
            return Ok(None);
        };
        let now = self.now.ok_or(())?;
        if slot.conflict || self.any_risky() || self.st.date_err.is_some() || self.st.time_err.is_some() {
            return Err(());
        }
        let at = now.checked_add_signed(TimeDelta::try_minutes(i64::from(minutes)).ok_or(())?).ok_or(())?;
        let whole = at.with_second(0).and_then(|t| t.with_nanosecond(0)).ok_or(())?;
        let up = if whole < at { whole.checked_add_signed(TimeDelta::minutes(1)).ok_or(())? } else { whole };
        Ok(Some(up))
    }

    /// True when a component names the day itself (not just a weekday or week).
    fn has_day_component(&self) -> bool {
        let s = &self.st;
        s.anchor.value.is_some()
            || s.offset.value.is_some()
            || s.explicit.value.is_some()
            || s.day_of_month.value.is_some()
    }

    fn resolve_date(&mut self, input: &str, from_now: Option<NaiveDate>) -> Outcome<NaiveDate> {
        let unrecognized = || Outcome::Failed(ParseError::Unrecognized(clip(input)));
        // Decide "am Morgen" and ambiguous "10.11" tokens first: both depend on whether
        // the phrase names a day some other way.
        let mut date_taken = self.has_day_component() || from_now.is_some();
        let weekday = self.st.weekday.value.map(|(wd, _)| wd);
        if self.st.am_morgen > 0 {
            if date_taken || weekday.is_some() || self.st.week.value.is_some() || self.mode == Mode::Time {
                self.st.day_part.set(DayPart::Morning);
            } else {
                match self.today.succ_opt() {
                    Some(d) => self.st.anchor.set(d),
                    None => return unrecognized(),
                }
                date_taken = true;
            }
        }
        let mut ambiguous_date = Slot::default();
        for a in std::mem::take(&mut self.st.ambiguous) {
            match (a.date, a.time) {
                // "Freitag 4.12" is a date if 4 December is a Friday, else a time
                (d, Some(t))
                    if date_taken
                        || self.mode == Mode::Time
                        || d.zip(weekday).is_some_and(|(d, wd)| d.weekday() != wd) =>
                {
                    self.st.times.push(t)
                }
                (Some(d), _) => {
                    ambiguous_date.set(d);
                    date_taken = true;
                }
                (None, Some(t)) => self.st.times.push(t),
                (None, None) => {}
            }
        }
        if let Some(e) = self.st.date_err.take() {
            return Outcome::Failed(e);
        }
        if self.any_risky() {
            return unrecognized();
        }
        let s = &self.st;
        if s.anchor.conflict
            || s.offset.conflict
            || s.explicit.conflict
            || s.day_of_month.conflict
            || ambiguous_date.conflict
        {
            return unrecognized();
        }
        let mut chosen: Slot<NaiveDate> = Slot::default();
        for d in [s.explicit.value, ambiguous_date.value, from_now].into_iter().flatten() {
            chosen.set(d);
        }
        if let Some(day) = s.day_of_month.value {
            match self.resolve_day_of_month(day) {
                Ok(d) => chosen.set(d),
                Err(e) => return Outcome::Failed(e),
            }
        }
        let mut weeks_for_weekday = None;
        match (s.offset.value, s.anchor.value) {
            (Some(off), base) if off.unit == Unit::Weeks && s.weekday.value.is_some() && s.week.value.is_none() => {
                let n = i64::from(off.n);
                weeks_for_weekday = Some((base.unwrap_or(self.today), if off.back { -n } else { n }));
            }
            (Some(off), base) => match self.apply_offset(base.unwrap_or(self.today), off) {
                Ok(d) => chosen.set(d),
                Err(e) => return Outcome::Failed(e),
            },
            (None, Some(d)) => chosen.set(d),
            (None, None) => {}
        }
        if chosen.conflict || self.st.alt_date || self.st.weekday.conflict || self.st.week.conflict {
            return unrecognized();
        }
        let by_week = self.resolve_week(weeks_for_weekday);
        let Some(d) = chosen.value else {
            return match by_week {
                Some(Some(d)) => Outcome::Found(d),
                Some(None) => unrecognized(),
                None => Outcome::Missing,
            };
        };
        // A weekday next to a date: it must be that date's weekday ("Freitag, der 18. Juli").
        if let Some((wd, md)) = self.st.weekday.value {
            let weekend_day = self.st.weekend > 0 && matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            if d.weekday() != wd && !weekend_day {
                return Outcome::Failed(ParseError::WeekdayMismatch {
                    date: d,
                    weekday: wd,
                    with_year: d.year() != self.today.year(),
                });
            }
            // "Freitag nächste Woche, den 11.12." or "letzten Freitag, den 4.12.": the week
            // said must hold the date too ("nächsten Freitag, den 4.12." is fine: same weekday).
            let strict = self.st.week.value.is_some()
                || weeks_for_weekday.is_some()
                || matches!(md, WdMod::AfterNext | WdMod::Last | WdMod::BeforeLast);
            if strict && by_week.flatten() != Some(d) {
                return unrecognized();
            }
        } else if self.st.week.value.is_some() && by_week.flatten().is_some_and(|w| !same_iso_week(w, d)) {
            return unrecognized();
        }
        Outcome::Found(d)
    }

    fn resolve_time(&mut self, input: &str, from_now: Option<NaiveTime>) -> (Outcome<NaiveTime>, Option<DayPart>) {
        let unrecognized = || (Outcome::Failed(ParseError::Unrecognized(clip(input))), None);
        if let Some(e) = self.st.time_err.take() {
            return (Outcome::Failed(e), None);
        }
        let part = self.st.day_part;
        if self.any_risky() || part.conflict || self.st.alt_time {
            return unrecognized();
        }
        if let Some(t) = from_now {
            // "heute Abend in 20 Minuten", "in 20 Minuten um 10": ask instead of picking one
            if !self.st.times.is_empty() || part.value.is_some() || self.st.noon_point > 0 {
                return unrecognized();
            }
            return (Outcome::Found(t), None);
        }
        let mut found: Slot<NaiveTime> = Slot::default();
        for c in &self.st.times {
            match super::time::apply_day_part(*c, part.value) {
                Some(t) => found.set(t),
                None => {
                    return (Outcome::Failed(ParseError::InvalidTime(format!("{}:{:02} Uhr", c.h, c.m))), None);
                }
            }
        }
        if found.conflict {
            return unrecognized();
        }
        // Day parts are a result only where there is a `now` (`parse_when`, both fields);
        // `parse_time` has none, so there other parts alone are nothing. "Mittag" alone in a
        // time field (or "um/gegen/zu Mittag" anywhere) names 12:00, in a date phrase ("morgen
        // Mittag") the noon window.
        let with_parts = self.now.is_some();
        let noon = NaiveTime::from_hms_opt(12, 0, 0);
        match (found.value, part.value) {
            (Some(t), _) => (Outcome::Found(t), None),
            (None, Some(DayPart::Noon)) if self.mode == Mode::Time || self.st.noon_point > 0 => {
                (noon.map_or(Outcome::Missing, Outcome::Found), None)
            }
            (None, Some(p)) if with_parts => (Outcome::Missing, Some(p)),
            (None, None) if self.st.weekend > 0 && with_parts => (Outcome::Missing, Some(DayPart::Weekend)),
            (None, _) => (Outcome::Missing, None),
        }
    }
}

fn same_iso_week(a: NaiveDate, b: NaiveDate) -> bool {
    a.iso_week() == b.iso_week()
}
