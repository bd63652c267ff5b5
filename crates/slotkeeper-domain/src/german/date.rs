//! Date matchers for the scanner: relative days, days of the month, named months (day first
//! or month first), years, and the dispatch to weekdays, offsets and holidays.
//!
//! Guarantees:
//! - All arithmetic is checked; an overflow becomes [`ParseError::InvalidDate`], never a panic.
//! - A date without a year resolves to its next occurrence on or after `today`
//!   (this year, else the following years; "29.2." finds the next leap year).
//! - Impossible calendar dates ("31.02.", "32.11.", "31. April") are reported with the text
//!   the caller used.
//! - A year is four digits, or two digits 25–99 (20xx); a two-digit 0–24 after a date could
//!   as well be an hour, so it is not taken (and, not understood, makes the phrase
//!   unrecognised).

use chrono::{Datelike, NaiveDate};

use super::ParseError;
use super::format::month_name;
use super::lexer::{Kind, Tok};
use super::scan::{Scanner, TIME_MARKERS, WdMod, clip};
use super::weekdays::{Nth, modifier, shift_days};
use super::words::{cardinal, day_part, month, ordinal};

/// Words after which a bare number ("am 27", "den 3.") is a day of the month.
const DATE_PREPS: [&str; 5] = ["am", "den", "dem", "zum", "vom"];

/// Words after which a number is a time, not a day ("27 Uhr", "zehn nach …").
pub(super) const TIME_FOLLOWERS: [&str; 5] = ["uhr", "h", "nach", "vor", "viertel"];

/// Words that introduce a bare ordinal as a day of the month ("am dritten", "der erste").
const ORDINAL_INTROS: [&str; 7] = ["am", "den", "dem", "der", "zum", "vom", "ab"];

/// Words that may follow "am dritten" without making it part of another noun phrase.
const AFTER_ORDINAL: [&str; 14] = [
    "und",
    "oder",
    "bitte",
    "im",
    "des",
    "dieses",
    "diesen",
    "naechsten",
    "kommenden",
    "monats",
    "halb",
    "viertel",
    "dreiviertel",
    "kurz",
];

/// Words meaning "now": a clock-relative time of zero minutes when nothing else is said.
const NOW_WORDS: [&str; 5] = ["jetzt", "sofort", "gleich", "umgehend", "schnellstmoeglich"];

/// Month abbreviations that are also fragments of names ("Jan-Philipp"): only whole words.
fn is_abbreviation(w: &str) -> bool {
    w.len() <= 4 && !matches!(w, "mai" | "juni" | "juli")
}

/// Next occurrence of day `d` of month `m` on or after `today`; `None` if the day never
/// exists in that month (checked against leap year 2000).
pub(super) fn next_occurrence(today: NaiveDate, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2000, m, d)?;
    (0..=8).find_map(|k| {
        let c = NaiveDate::from_ymd_opt(today.year().checked_add(k)?, m, d)?;
        (c >= today).then_some(c)
    })
}

impl<'a> Scanner<'_, 'a> {
    fn anchor_days(&mut self, days: i64) {
        match shift_days(self.today, days) {
            Some(d) => self.st.anchor.set(d),
            None => self.date_error(ParseError::InvalidDate(clip(&self.today.to_string()))),
        }
    }

    /// "heute morgen", "gestern morgen": the morning of that day.
    fn morning_after(&mut self, i: usize) -> usize {
        if self.word_is(i + 1, &["morgen"]) {
            self.st.day_part.set(super::daypart::DayPart::Morning);
            2
        } else {
            1
        }
    }

    /// Date words: relative days, weekdays, "nächste Woche", "in N Tagen", ordinals, months,
    /// holidays.
    pub(super) fn date_word(&mut self, i: usize) -> Option<usize> {
        let t = *self.tok(i)?;
        if let Some(used) = self.holiday_at(i) {
            return Some(used);
        }
        match t.text {
            "heute" | "heut" => {
                self.anchor_days(0);
                return Some(self.morning_after(i));
            }
            "gestern" => {
                self.anchor_days(-1);
                return Some(self.morning_after(i));
            }
            "vorgestern" => self.anchor_days(-2),
            "morgen" => {
                if self.prev(i).is_some_and(|p| p.is("am")) {
                    self.st.am_morgen += 1;
                } else if i > 0 && self.is_weekday_at(i - 1) {
                    self.st.day_part.set(super::daypart::DayPart::Morning);
                } else {
                    self.anchor_days(1);
                }
            }
            "uebermorgen" => self.anchor_days(2),
            "ueber" if self.word_is(i + 1, &["morgen"]) => {
                self.anchor_days(2);
                return Some(2);
            }
            "ueber" if self.tok(i + 1).is_some_and(|n| n.text.starts_with("naechst")) => {
                return self.modified(i + 1, WdMod::AfterNext).map(|n| n + 1);
            }
            "wochenende" => {
                self.st.weekend += 1;
                self.set_weekday(chrono::Weekday::Sat, WdMod::Plain, None);
            }
            "in" => return self.in_offset(i),
            "vor" => return self.back_offset(i),
            w if NOW_WORDS.contains(&w) => self.st.asap += 1,
            w => {
                if let Some(md) = modifier(w) {
                    return self.modified(i, md);
                }
                if self.weekday_at(i).is_some() {
                    return self.weekday_phrase(i);
                }
                if let Some(m) = month(w) {
                    return self.month_first(i, m);
                }
                let day = ordinal(w)?;
                if (1..=5).contains(&day)
                    && let Some(used) = self.nth_weekday(i, Nth::Number(day))
                {
                    return Some(used);
                }
                if let Some(used) = self.named_after(i, day, t) {
                    return Some(used);
                }
                // "am dritten", "Freitag, den dritten" — but not "zweiter Weihnachtsfeiertag"
                let introduced =
                    self.prev(i).is_some_and(|p| p.is_any(&ORDINAL_INTROS)) || (i > 0 && self.is_weekday_at(i - 1));
                if !introduced || !self.benign_after_ordinal(i + 1) {
                    return None;
                }
                self.st.day_of_month.set(day);
                return Some(1);
            }
        }
        Some(1)
    }

    /// True when the token at `k` (after an ordinal) is absent, not a word, or a word that
    /// belongs to a date/time phrase.
    fn benign_after_ordinal(&self, k: usize) -> bool {
        let Some(t) = self.tok(k) else {
            return true;
        };
        t.kind != Kind::Word
            || t.is_any(&AFTER_ORDINAL)
            || t.is_any(&TIME_MARKERS)
            || day_part(t.text).is_some()
            || cardinal(t.text).is_some()
            || t.is_any(&["uhr", "-"])
    }

    /// A year at `k` (see the module docs): "2027", "27"; not "10" or "2027 Uhr".
    pub(super) fn year_at(&self, k: usize) -> Option<i32> {
        let t = self.tok(k)?;
        if t.kind != Kind::Num || self.word_is(k + 1, &TIME_FOLLOWERS) {
            return None;
        }
        let v: i32 = t.text.parse().ok()?;
        match t.text.len() {
            4 => Some(v),
            2 if v >= 25 => Some(2000 + v),
            _ => None,
        }
    }

    /// Day `day` of month `m`, in `year` or at its next occurrence; records it or an error
    /// showing `day_text`.
    fn day_of_named_month(&mut self, day: u32, m: u32, year: Option<i32>, day_text: &str) {
        let resolved = match year {
            Some(y) => NaiveDate::from_ymd_opt(y, m, day),
            None => next_occurrence(self.today, m, day),
        };
        match resolved {
            Some(d) => self.st.explicit.set(d),
            None => {
                let y = year.map(|y| format!(" {y}")).unwrap_or_default();
                self.date_error(ParseError::InvalidDate(clip(&format!("{day_text}. {}{y}", month_name(m)))));
            }
        }
    }

    /// A day number followed by a month name: "26. November", "ersten Dezember 2026".
    fn named_after(&mut self, i: usize, day: u32, day_tok: Tok<'a>) -> Option<usize> {
        let m = self.tok(i + 1).filter(|t| t.kind == Kind::Word)?;
        let m = month(m.text)?;
        let year = self.year_at(i + 2);
        let day_text = if day_tok.kind == Kind::Num { day_tok.text.to_string() } else { day.to_string() };
        self.day_of_named_month(day, m, year, &day_text);
        Some(if year.is_some() { 3 } else { 2 })
    }

    /// A month name followed by a day: "März 3", "Feb 24", "April 14, 2027".
    fn month_first(&mut self, i: usize, m: u32) -> Option<usize> {
        let mt = self.tok(i)?;
        if is_abbreviation(mt.text) && self.is_fragment(i) {
            return None;
        }
        let d = self.tok(i + 1).filter(|t| t.kind == Kind::Num && t.text.len() <= 2)?;
        if self.word_is(i + 2, &TIME_FOLLOWERS) {
            return None;
        }
        let day = d.digits_value()?;
        let year = self.year_at(i + 2);
        self.day_of_named_month(day, m, year, d.text);
        Some(if year.is_some() { 3 } else { 2 })
    }

    /// Digit tokens as dates: "26. November", "26. 11. 2026", "am 27.", "den 3", "2. Mittwoch
    /// im Oktober", "1. Weihnachtstag".
    pub(super) fn date_number(&mut self, i: usize) -> Option<usize> {
        let t = *self.tok(i)?;
        let v = t.digits_value()?;
        if let Some(used) = self.holiday_at(i) {
            return Some(used);
        }
        if t.dot
            && (1..=5).contains(&v)
            && let Some(used) = self.nth_weekday(i, Nth::Number(v))
        {
            return Some(used);
        }
        if let Some(used) = self.named_after(i, v, t) {
            return Some(used);
        }
        if t.dot
            && let Some(mt) = self.tok(i + 1)
            && mt.kind == Kind::Num
            && mt.dot
            && mt.text.len() <= 2
        {
            let year = self.year_at(i + 2);
            self.numeric_date(t.text, mt.text, year);
            return Some(if year.is_some() { 3 } else { 2 });
        }
        let after_prep = self.prev(i).is_some_and(|p| p.is_any(&DATE_PREPS));
        let after_weekday = i > 0 && self.is_weekday_at(i - 1);
        let time_follows = self.word_is(i + 1, &TIME_FOLLOWERS);
        let day_of_month = if t.dot { after_prep || after_weekday } else { after_prep && !time_follows };
        if !day_of_month {
            return None;
        }
        if t.text.len() <= 2 && (1..=31).contains(&v) {
            self.st.day_of_month.set(v);
        } else {
            self.date_error(ParseError::InvalidDate(clip(&format!("{}.", t.text))));
        }
        Some(1)
    }

    /// Resolves "am 27." to the next day numbered 27 on or after today.
    pub(super) fn resolve_day_of_month(&self, day: u32) -> Result<NaiveDate, ParseError> {
        let (mut y, mut m) = (self.today.year(), self.today.month());
        for _ in 0..=12 {
            if let Some(d) = NaiveDate::from_ymd_opt(y, m, day)
                && d >= self.today
            {
                return Ok(d);
            }
            m += 1;
            if m > 12 {
                m = 1;
                y = y.saturating_add(1);
            }
        }
        Err(ParseError::InvalidDate(format!("{day}.")))
    }
}
