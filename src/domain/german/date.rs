//! Date matchers and calendar arithmetic for the scanner.
//!
//! Guarantees:
//! - All arithmetic is checked (`checked_add_days`, `checked_add_months`, …); an overflow
//!   becomes [`ParseError::InvalidDate`], never a panic.
//! - A date without a year resolves to its next occurrence on or after `today`
//!   (this year, else the following years; "29.2." finds the next leap year).
//! - Impossible calendar dates ("31.02.", "32.11.", "31. April") are reported with the text
//!   the caller used.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::ParseError;
use super::format::month_name;
use super::lexer::{Kind, Tok};
use super::scan::{Offset, Scanner, TIME_MARKERS, WdMod, clip};
use super::words::{DayPart, cardinal, count_word, day_part, month, ordinal, weekday_short, weekday_word};

/// Words after which a bare number ("am 27", "den 3.") is a day of the month.
const DATE_PREPS: [&str; 5] = ["am", "den", "dem", "zum", "vom"];

/// Words after which a number is a time, not a day ("27 Uhr", "zehn nach …").
const TIME_FOLLOWERS: [&str; 5] = ["uhr", "h", "nach", "vor", "viertel"];

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

fn modifier(w: &str) -> Option<WdMod> {
    if w.starts_with("uebernaechst") {
        Some(WdMod::AfterNext)
    } else if w.starts_with("naechst") || w.starts_with("kommend") {
        Some(WdMod::Next)
    } else if matches!(w, "diese" | "diesen" | "dieser" | "dieses" | "diesem") {
        Some(WdMod::This)
    } else {
        None
    }
}

fn week_offset(m: WdMod) -> u32 {
    match m {
        WdMod::This => 0,
        WdMod::Plain | WdMod::Next => 1,
        WdMod::AfterNext => 2,
    }
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

fn monday_of(d: NaiveDate) -> Option<NaiveDate> {
    d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
}

fn add_days(d: NaiveDate, n: u64) -> Option<NaiveDate> {
    d.checked_add_days(Days::new(n))
}

/// The weekday `wd` in the ISO week `weeks` after the one holding `base`.
fn weekday_in_week(base: NaiveDate, weeks: u32, wd: Weekday) -> Option<NaiveDate> {
    let days = u64::from(weeks).checked_mul(7)?.checked_add(u64::from(wd.num_days_from_monday()))?;
    add_days(monday_of(base)?, days)
}

/// Resolves a weekday with its modifier relative to `today` (see the module docs).
pub(super) fn weekday_from(today: NaiveDate, wd: Weekday, md: WdMod) -> Option<NaiveDate> {
    let ahead = (wd.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7;
    let strictly_ahead = if ahead == 0 { 7 } else { ahead };
    let days = match md {
        WdMod::This => ahead,
        WdMod::Plain | WdMod::Next => strictly_ahead,
        WdMod::AfterNext => strictly_ahead + 7,
    };
    add_days(today, u64::from(days))
}

impl<'a> Scanner<'_, 'a> {
    fn anchor_days(&mut self, days: i64) {
        let d = if days >= 0 {
            add_days(self.today, days.unsigned_abs())
        } else {
            self.today.checked_sub_days(Days::new(days.unsigned_abs()))
        };
        match d {
            Some(d) => self.st.anchor.set(d),
            None => self.date_error(ParseError::InvalidDate(clip(&self.today.to_string()))),
        }
    }

    /// "heute morgen", "gestern morgen": the morning of that day.
    fn morning_after(&mut self, i: usize) -> usize {
        if self.word_is(i + 1, &["morgen"]) {
            self.st.day_part.set(DayPart::Am);
            2
        } else {
            1
        }
    }

    pub(super) fn is_weekday_at(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| t.kind == Kind::Word && weekday_word(t.text).is_some())
            || self.short_weekday(i).is_some()
    }

    /// "Mo" … "Sa", and "So" when it cannot be the filler "so" ("So.", "am So", "So 29.11.").
    fn short_weekday(&self, i: usize) -> Option<Weekday> {
        let t = self.tok(i)?;
        if t.kind != Kind::Word {
            return None;
        }
        if t.text == "so" {
            let sunday = t.dot
                || self.toks.len() == 1
                || self
                    .prev(i)
                    .is_some_and(|p| p.is_any(&DATE_PREPS) || (p.kind == Kind::Word && modifier(p.text).is_some()))
                || self.tok(i + 1).is_some_and(|n| n.kind == Kind::Mixed || (n.kind == Kind::Num && n.dot));
            return sunday.then_some(Weekday::Sun);
        }
        weekday_short(t.text)
    }

    /// Weekday word (full, adverb, compound with day part, or short) at `i`.
    fn weekday_at(&self, i: usize) -> Option<(Weekday, Option<DayPart>)> {
        let t = self.tok(i)?;
        if t.kind != Kind::Word {
            return None;
        }
        weekday_word(t.text).or_else(|| self.short_weekday(i).map(|wd| (wd, None)))
    }

    fn set_weekday(&mut self, wd: Weekday, md: WdMod, part: Option<DayPart>) {
        self.st.weekday.set((wd, md));
        if let Some(p) = part {
            self.st.day_part.set(p);
        }
    }

    /// Date words: relative days, weekdays, "nächste Woche", "in N Tagen", ordinals.
    pub(super) fn date_word(&mut self, i: usize) -> Option<usize> {
        let t = *self.tok(i)?;
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
                    self.st.am_morgen = true;
                } else if i > 0 && self.is_weekday_at(i - 1) {
                    self.st.day_part.set(DayPart::Am);
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
                return Some(1 + self.modified(i + 1, WdMod::AfterNext));
            }
            "wochenende" => self.set_weekday(Weekday::Sat, WdMod::Plain, None),
            "in" => return self.in_offset(i),
            w => {
                if let Some(md) = modifier(w) {
                    return Some(self.modified(i, md));
                }
                if let Some((wd, part)) = self.weekday_at(i) {
                    self.set_weekday(wd, WdMod::Plain, part);
                    return Some(1);
                }
                let day = ordinal(w)?;
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

    /// A modifier ("nächsten", "diesen", …) at `i`, applied to what follows.
    fn modified(&mut self, i: usize, md: WdMod) -> usize {
        if self.word_is(i + 1, &["woche"]) {
            self.st.week.set(week_offset(md));
            return 2;
        }
        if self.word_is(i + 1, &["wochenende"]) {
            self.set_weekday(Weekday::Sat, md, None);
            return 2;
        }
        let sunday = self.word_is(i + 1, &["so"]).then_some((Weekday::Sun, None));
        match sunday.or_else(|| self.weekday_at(i + 1)) {
            Some((wd, part)) => {
                self.set_weekday(wd, md, part);
                2
            }
            None => 1,
        }
    }

    /// "in N Tagen/Wochen/Monaten/Jahren". Relative clock times ("in zwei Stunden") are
    /// consumed without a result, so their number is never mistaken for an hour.
    fn in_offset(&mut self, i: usize) -> Option<usize> {
        let count = self.tok(i + 1)?;
        let unit = self.tok(i + 2)?;
        let n = match count.kind {
            Kind::Num => count.digits_value()?,
            Kind::Word => count_word(count.text)?,
            Kind::Mixed => return None,
        };
        if unit.kind != Kind::Word {
            return None;
        }
        let offset = match unit.text {
            "tag" | "tage" | "tagen" => Offset::Days(n, i + 1),
            "woche" | "wochen" => Offset::Weeks(n, i + 1),
            "monat" | "monate" | "monaten" => Offset::Months(n, i + 1),
            "jahr" | "jahre" | "jahren" => match n.checked_mul(12) {
                Some(months) => Offset::Months(months, i + 1),
                None => {
                    self.date_error(self.offset_error(i + 1));
                    return Some(3);
                }
            },
            "minute" | "minuten" | "stunde" | "stunden" => return Some(3),
            _ => return None,
        };
        self.st.offset.set(offset);
        Some(3)
    }

    fn offset_error(&self, count_tok: usize) -> ParseError {
        let count = self.tok(count_tok).map_or("", |t| t.text);
        let unit = self.tok(count_tok + 1).map_or("", |t| t.text);
        ParseError::InvalidDate(clip(&format!("in {count} {unit}")))
    }

    /// Applies "in N …" to `base`.
    pub(super) fn apply_offset(&self, base: NaiveDate, off: Offset) -> Result<NaiveDate, ParseError> {
        let (d, tok) = match off {
            Offset::Days(n, tok) => (add_days(base, u64::from(n)), tok),
            Offset::Weeks(n, tok) => (u64::from(n).checked_mul(7).and_then(|k| add_days(base, k)), tok),
            Offset::Months(n, tok) => (base.checked_add_months(Months::new(n)), tok),
        };
        d.ok_or_else(|| self.offset_error(tok))
    }

    /// A day number followed by a month name: "26. November", "ersten Dezember 2026".
    fn named_after(&mut self, i: usize, day: u32, day_tok: Tok<'a>) -> Option<usize> {
        let m = self.tok(i + 1).filter(|t| t.kind == Kind::Word)?;
        let m = month(m.text)?;
        let (year, used) = match self.tok(i + 2) {
            Some(y) if y.kind == Kind::Num && y.text.len() == 4 && !self.word_is(i + 3, &TIME_FOLLOWERS) => {
                (y.digits_value(), 3)
            }
            _ => (None, 2),
        };
        let day_text = if day_tok.kind == Kind::Num { day_tok.text.to_string() } else { day.to_string() };
        let shown = match year {
            Some(y) => format!("{day_text}. {} {y}", month_name(m)),
            None => format!("{day_text}. {}", month_name(m)),
        };
        let resolved = match year {
            Some(y) => i32::try_from(y).ok().and_then(|y| NaiveDate::from_ymd_opt(y, m, day)),
            None => next_occurrence(self.today, m, day),
        };
        match resolved {
            Some(d) => self.st.explicit.set(d),
            None => self.date_error(ParseError::InvalidDate(clip(&shown))),
        }
        Some(used)
    }

    /// Digit tokens as dates: "26. November", "26. 11. 2026", "am 27.", "den 3".
    pub(super) fn date_number(&mut self, i: usize) -> Option<usize> {
        let t = *self.tok(i)?;
        let v = t.digits_value()?;
        if let Some(used) = self.named_after(i, v, t) {
            return Some(used);
        }
        if t.dot
            && let Some(mt) = self.tok(i + 1)
            && mt.kind == Kind::Num
            && mt.dot
            && mt.text.len() <= 2
        {
            let (year, used) = match self.tok(i + 2) {
                Some(y) if y.kind == Kind::Num && y.text.len() == 4 => (Some(y.text), 3),
                _ => (None, 2),
            };
            self.numeric_date(t.text, mt.text, year);
            return Some(used);
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

    /// Weekday and week components, once no explicit or relative date was found.
    /// `None`: no such component; `Some(None)`: arithmetic overflow.
    pub(super) fn resolve_week(&self, weeks_for_weekday: Option<(NaiveDate, u32)>) -> Option<Option<NaiveDate>> {
        let today = self.today;
        let week = self.st.week.value;
        Some(match (self.st.weekday.value, week, weeks_for_weekday) {
            (Some((wd, _)), _, Some((base, n))) => weekday_in_week(base, n, wd),
            (Some((wd, _)), Some(w), None) => weekday_in_week(today, w, wd),
            (Some((wd, md)), None, None) => weekday_from(today, wd, md),
            (None, Some(0), _) => Some(today),
            (None, Some(w), _) => weekday_in_week(today, w, Weekday::Mon),
            (None, None, _) => return None,
        })
    }
}
