//! Weekdays and weeks: "Freitag", "nächsten Freitag", "Freitag nach dem nächsten",
//! "letzten Dienstag", "Dienstag letzte Woche", "zweiter Mittwoch im Oktober 2027".
//!
//! Guarantees:
//! - All arithmetic is checked; an overflow resolves to nothing (the phrase is unrecognised).
//! - Abbreviations ("Mi", "Fr") count only as words of their own, never as a fragment of a
//!   longer word ("Mi-Ra", "2mi").
//! - A weekday modifier that modifies nothing ("nächsten Monat") contributes nothing, so the
//!   rule makes the phrase unrecognised.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::ParseError;
use super::daypart::DayPart;
use super::format::{month_name, weekday_name};
use super::lexer::Kind;
use super::scan::{Scanner, WdMod, clip};
use super::words::{month, weekday_short, weekday_word};

/// Words after which "So" is Sunday rather than the filler "so" ("am So", "nächsten So").
const SUNDAY_INTROS: [&str; 5] = ["am", "den", "dem", "zum", "vom"];

/// A weekday modifier: "nächsten", "diesen", "übernächsten", "letzten", "vorletzten", …
pub(super) fn modifier(w: &str) -> Option<WdMod> {
    if w.starts_with("uebernaechst") {
        Some(WdMod::AfterNext)
    } else if w.starts_with("naechst") || w.starts_with("kommend") {
        Some(WdMod::Next)
    } else if matches!(w, "diese" | "diesen" | "dieser" | "dieses" | "diesem") {
        Some(WdMod::This)
    } else if w.starts_with("vorletzt") {
        Some(WdMod::BeforeLast)
    } else if w.starts_with("letzt") || w.starts_with("vorig") || w.starts_with("vergangen") {
        Some(WdMod::Last)
    } else {
        None
    }
}

fn week_offset(m: WdMod) -> i32 {
    match m {
        WdMod::This => 0,
        WdMod::Plain | WdMod::Next => 1,
        WdMod::AfterNext => 2,
        WdMod::Last => -1,
        WdMod::BeforeLast => -2,
    }
}

fn monday_of(d: NaiveDate) -> Option<NaiveDate> {
    d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
}

/// `d` plus `n` days (negative: back).
pub(super) fn shift_days(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    if n >= 0 {
        d.checked_add_days(Days::new(n.unsigned_abs()))
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs()))
    }
}

/// The weekday `wd` in the ISO week `weeks` after (negative: before) the one holding `base`.
fn weekday_in_week(base: NaiveDate, weeks: i64, wd: Weekday) -> Option<NaiveDate> {
    let days = weeks.checked_mul(7)?.checked_add(i64::from(wd.num_days_from_monday()))?;
    shift_days(monday_of(base)?, days)
}

/// Resolves a weekday with its modifier relative to `today` (see the module docs of `german`).
pub(super) fn weekday_from(today: NaiveDate, wd: Weekday, md: WdMod) -> Option<NaiveDate> {
    let ahead = i64::from((wd.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7);
    let strictly_ahead = if ahead == 0 { 7 } else { ahead };
    let strictly_back = 7 - ahead;
    let days = match md {
        WdMod::This => ahead,
        WdMod::Plain | WdMod::Next => strictly_ahead,
        WdMod::AfterNext => strictly_ahead + 7,
        WdMod::Last => -strictly_back,
        WdMod::BeforeLast => -strictly_back - 7,
    };
    shift_days(today, days)
}

/// Which weekday of a month: the first to fifth, or the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nth {
    Number(u32),
    Last,
}

/// The `nth` weekday `wd` of month `m` in year `y`, if it exists ("fünfter Montag" may not).
pub(super) fn nth_weekday_of(y: i32, m: u32, wd: Weekday, nth: Nth) -> Option<NaiveDate> {
    match nth {
        Nth::Number(n @ 1..=5) => {
            let first = NaiveDate::from_ymd_opt(y, m, 1)?;
            let skip = (wd.num_days_from_monday() + 7 - first.weekday().num_days_from_monday()) % 7;
            let d = first.checked_add_days(Days::new(u64::from(skip + (n - 1) * 7)))?;
            (d.month() == m).then_some(d)
        }
        Nth::Number(_) => None,
        Nth::Last => {
            let (ny, nm) = if m == 12 { (y.checked_add(1)?, 1) } else { (y, m + 1) };
            let last = NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()?;
            let back = (last.weekday().num_days_from_monday() + 7 - wd.num_days_from_monday()) % 7;
            last.checked_sub_days(Days::new(u64::from(back)))
        }
    }
}

impl Scanner<'_, '_> {
    pub(super) fn is_weekday_at(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| t.kind == Kind::Word && weekday_word(t.text).is_some())
            || self.short_weekday(i).is_some()
    }

    /// "Mo" … "Sa", and "So" when it cannot be the filler "so" ("So.", "am So", "So 29.11.").
    /// Never a fragment of a longer word ("Mi-Ra", "2mi").
    fn short_weekday(&self, i: usize) -> Option<Weekday> {
        let t = self.tok(i)?;
        if t.kind != Kind::Word || self.is_fragment(i) {
            return None;
        }
        if t.text == "so" {
            let sunday = t.dot
                || self.toks.len() == 1
                || self
                    .prev(i)
                    .is_some_and(|p| p.is_any(&SUNDAY_INTROS) || (p.kind == Kind::Word && modifier(p.text).is_some()))
                || self.tok(i + 1).is_some_and(|n| n.kind == Kind::Mixed || (n.kind == Kind::Num && n.dot));
            return sunday.then_some(Weekday::Sun);
        }
        weekday_short(t.text)
    }

    /// Weekday word (full, adverb, compound with day part, or short) at `i`.
    pub(super) fn weekday_at(&self, i: usize) -> Option<(Weekday, Option<DayPart>)> {
        let t = self.tok(i)?;
        if t.kind != Kind::Word {
            return None;
        }
        weekday_word(t.text).or_else(|| self.short_weekday(i).map(|wd| (wd, None)))
    }

    pub(super) fn set_weekday(&mut self, wd: Weekday, md: WdMod, part: Option<DayPart>) {
        self.st.weekday.set((wd, md));
        if let Some(p) = part {
            self.st.day_part.set(p);
        }
    }

    /// A weekday at `i`; "Freitag nach dem nächsten" is the Friday after next.
    pub(super) fn weekday_phrase(&mut self, i: usize) -> Option<usize> {
        let (wd, part) = self.weekday_at(i)?;
        let after_next = self.word_is(i + 1, &["nach"]);
        let article = usize::from(self.word_is(i + 2, &["dem", "den"]));
        let next = self.tok(i + 2 + article).is_some_and(|t| matches!(modifier(t.text), Some(WdMod::Next)));
        if after_next && next {
            let mut used = 3 + article;
            // "Freitag nach dem nächsten Freitag"
            if self.weekday_at(i + used).is_some_and(|(w, _)| w == wd) {
                used += 1;
            }
            self.set_weekday(wd, WdMod::AfterNext, part);
            return Some(used);
        }
        self.set_weekday(wd, WdMod::Plain, part);
        Some(1)
    }

    /// A modifier ("nächsten", "letzten", …) at `i`, applied to what follows; `None` when it
    /// modifies nothing this parser knows ("nächsten Monat"), so it stays unexplained.
    pub(super) fn modified(&mut self, i: usize, md: WdMod) -> Option<usize> {
        if md == WdMod::Last
            && let Some(used) = self.nth_weekday(i, Nth::Last)
        {
            return Some(used);
        }
        if self.word_is(i + 1, &["woche"]) {
            self.st.week.set(week_offset(md));
            return Some(2);
        }
        if self.word_is(i + 1, &["wochenende"]) {
            self.st.weekend += 1;
            self.set_weekday(Weekday::Sat, md, None);
            return Some(2);
        }
        let sunday = self.word_is(i + 1, &["so"]).then_some((Weekday::Sun, None));
        let (wd, part) = sunday.or_else(|| self.weekday_at(i + 1))?;
        self.set_weekday(wd, md, part);
        Some(2)
    }

    /// "erster/zweiter/…/letzter Samstag im März [2027]" with the ordinal at `i`.
    pub(super) fn nth_weekday(&mut self, i: usize, nth: Nth) -> Option<usize> {
        let (wd, part) = self.weekday_at(i + 1)?;
        if !self.word_is(i + 2, &["im", "in"]) {
            return None;
        }
        let mt = self.tok(i + 3).filter(|t| t.kind == Kind::Word)?;
        let m = month(mt.text)?;
        let year = self.year_at(i + 4);
        let resolved = match year {
            Some(y) => nth_weekday_of(y, m, wd, nth),
            None => (0..=8).find_map(|k| {
                let d = nth_weekday_of(self.today.year().checked_add(k)?, m, wd, nth)?;
                (d >= self.today).then_some(d)
            }),
        };
        match resolved {
            Some(d) => self.st.explicit.set(d),
            None => {
                let which = match nth {
                    Nth::Number(n) => format!("{n}."),
                    Nth::Last => "letzter".to_string(),
                };
                let y = year.map(|y| format!(" {y}")).unwrap_or_default();
                let shown = format!("{which} {} im {}{y}", weekday_name(wd), month_name(m));
                self.date_error(ParseError::InvalidDate(clip(&shown)));
            }
        }
        if let Some(p) = part {
            self.st.day_part.set(p);
        }
        Some(if year.is_some() { 5 } else { 4 })
    }

    /// Weekday and week components, once no explicit or relative date was found.
    /// `None`: no such component; `Some(None)`: arithmetic overflow.
    pub(super) fn resolve_week(&self, weeks_for_weekday: Option<(NaiveDate, i64)>) -> Option<Option<NaiveDate>> {
        let today = self.today;
        let week = self.st.week.value.map(i64::from);
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
