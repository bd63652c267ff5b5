//! Digit tokens with separators: numeric dates ("26.11.", "26/11/2026", "2026-11-26",
//! "14.4.27") and the date-or-time decision for "10.11"-style tokens.
//!
//! Guarantees: digit groups are length-checked before parsing (no overflow), two-digit
//! years are 20xx, dates without a year resolve to their next occurrence, impossible dates
//! are reported with the caller's text, and a "10.11" token is only read as a date when the
//! context does not make it a time (see the module docs of `german`). A clock time takes the
//! "Uhr"/"h" after it ("10:30 Uhr"), and "26.11." the year after it ("26.11. 2027").

use chrono::NaiveDate;

use super::ParseError;
use super::date::next_occurrence;
use super::scan::{Ambiguous, Clock, Mode, Scanner, TIME_MARKERS, clip};

impl Scanner<'_, '_> {
    /// Validates day/month digit groups (with a year, if said) and records the date or an
    /// error with the caller's text.
    pub(super) fn numeric_date(&mut self, d: &str, m: &str, y: Option<i32>) {
        let shown = match y {
            Some(y) => format!("{d}.{m}.{y}"),
            None => format!("{d}.{m}."),
        };
        let date = match y {
            Some(y) => dm_in_year(d, m, y),
            None => parse_dmy(self.today, d, m, None),
        };
        match date {
            Some(date) => self.st.explicit.set(date),
            None => self.date_error(ParseError::InvalidDate(clip(&shown))),
        }
    }

    /// 1 plus a following "Uhr"/"h" ("10:30 Uhr", "10.30h").
    fn with_uhr(&self, i: usize) -> usize {
        if self.word_is(i + 1, &["uhr", "h"]) { 2 } else { 1 }
    }

    /// Tokens with separators: "26.11.", "26/11/2026", "2026-11-26", "10:30", "10.30".
    pub(super) fn numeric_token(&mut self, i: usize) -> Option<usize> {
        let t = *self.tok(i)?;
        if t.text.contains(':') {
            self.clock_token(i);
            return Some(self.with_uhr(i));
        }
        let shown = if t.dot { clip(&format!("{}.", t.text)) } else { clip(t.text) };
        let sep = t.text.chars().find(|c| !c.is_ascii_digit())?;
        if !matches!(sep, '.' | '/' | '-') {
            return None;
        }
        let mut parts = [""; 3];
        let mut count = 0;
        for p in t.text.split(sep) {
            if count == 3 || p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts[count] = p;
            count += 1;
        }
        let date = match (count, sep) {
            (3, '-') if parts[0].len() == 4 => parse_dmy(self.today, parts[2], parts[1], Some(parts[0])),
            (3, _) => parse_dmy(self.today, parts[0], parts[1], Some(parts[2])),
            (2, '.') => return Some(self.day_month_or_clock(i, parts[0], parts[1], &shown, t.dot)),
            // "13-14 Uhr": a range, never a date; ask again instead of picking one end
            (2, '-') => {
                self.st.alt_time = true;
                return Some(self.with_uhr(i));
            }
            (2, _) => {
                if let Some(y) = self.year_at(i + 1) {
                    self.numeric_date(parts[0], parts[1], Some(y));
                    return Some(2);
                }
                parse_dmy(self.today, parts[0], parts[1], None)
            }
            _ => return None,
        };
        match date {
            Some(d) => self.st.explicit.set(d),
            None => self.date_error(ParseError::InvalidDate(shown)),
        }
        Some(1)
    }

    /// "10.11": 10 November or 10:11. A time when the context says so ("um 10.30",
    /// "10.30 Uhr", `parse_time`); with a trailing dot and a month 1–12 ("26.11.") a date;
    /// "10.30." (sentence end) a time; otherwise decided after the scan. Returns the tokens used.
    fn day_month_or_clock(&mut self, i: usize, a: &str, b: &str, shown: &str, dot: bool) -> usize {
        let date = parse_dmy(self.today, a, b, None);
        let clock = clock_from(a, b);
        let time_context = self.mode == Mode::Time
            || self.prev(i).is_some_and(|p| p.is_any(&TIME_MARKERS))
            || self.word_is(i + 1, &["uhr", "h"]);
        if time_context {
            match (clock, date) {
                (Some(c), _) => self.st.times.push(c),
                (None, Some(d)) if self.mode == Mode::Time => self.st.explicit.set(d),
                (None, _) => self.time_error(ParseError::InvalidTime(shown.to_string())),
            }
            return self.with_uhr(i);
        }
        // With a trailing dot a month-like second group makes it a date, valid or not
        // ("0.11." is an invalid date); "10.30." (sentence end) is still a time.
        let month_like = b.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
        if dot && month_like {
            if let Some(y) = self.year_at(i + 1) {
                self.numeric_date(a, b, Some(y));
                return 2;
            }
            match date {
                Some(d) => self.st.explicit.set(d),
                None => self.date_error(ParseError::InvalidDate(shown.to_string())),
            }
            return 1;
        }
        match (date, clock) {
            (Some(d), Some(c)) => self.st.ambiguous.push(Ambiguous { date: Some(d), time: Some(c) }),
            (Some(d), None) => self.st.explicit.set(d),
            (None, Some(c)) => self.st.times.push(c),
            (None, None) => self.date_error(ParseError::InvalidDate(shown.to_string())),
        }
        1
    }
}

/// "10" and "30" as a written clock time 10:30 (minutes must have two digits).
fn clock_from(h: &str, m: &str) -> Option<Clock> {
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (m <= 59 && (h <= 23 || (h == 24 && m == 0))).then_some(Clock { h, m, spoken: false })
}

/// Day and month digit groups in year `y`.
fn dm_in_year(d: &str, m: &str, y: i32) -> Option<NaiveDate> {
    if d.is_empty() || d.len() > 2 || m.is_empty() || m.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m.parse().ok()?, d.parse().ok()?)
}

/// Day, month and optional year digit groups → date. Two-digit years are 20xx; without a
/// year the next occurrence on or after `today` is used.
fn parse_dmy(today: NaiveDate, d: &str, m: &str, y: Option<&str>) -> Option<NaiveDate> {
    if d.is_empty() || d.len() > 2 || m.is_empty() || m.len() > 2 {
        return None;
    }
    let (d, m) = (d.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    match y {
        None => next_occurrence(today, m, d),
        Some(y) if y.len() == 2 => NaiveDate::from_ymd_opt(2000 + y.parse::<i32>().ok()?, m, d),
        Some(y) if y.len() == 4 => NaiveDate::from_ymd_opt(y.parse().ok()?, m, d),
        Some(_) => None,
    }
}
