//! The scanner: walks the tokens once, collects date and time *components*, then resolves
//! them into at most one date and one time.
//!
//! Guarantees:
//! - One left-to-right pass; each matcher looks ahead a bounded number of tokens, so the
//!   scan is linear in the number of tokens. Unknown words are skipped ("Dauerwelle", "bitte").
//! - Never panics: all calendar arithmetic is checked, all numbers are range-checked before
//!   any arithmetic (digit runs longer than nine digits saturate, see `Tok::digits_value`).
//! - Contradictions are never silently resolved: two different explicit dates, or two
//!   different times, give [`ParseError::Unrecognized`] so the agent asks again. The only
//!   deliberate exception is a weekday next to an explicit date ("Freitag, den 27. November"):
//!   the explicit date wins.
//! - An invalid date or time anywhere in the phrase ("32.11.", "25 Uhr") is reported, even
//!   if the phrase also holds a valid one.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};

use super::ParseError;
use super::lexer::{Kind, Tok, normalise, tokenise};
use super::words::{DayPart, cardinal, day_part, month, ordinal};

/// Which reading the caller wants; it only changes how bare numbers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `parse_date`: bare numbers are not times.
    Date,
    /// `parse_time`: a bare number ("10", "zehn") is an hour; "10.30" is a time.
    Time,
    /// `parse_when`: bare numbers need a marker ("um 10", "10 Uhr", "zehn vormittags").
    Both,
}

/// The result of one component search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome<T> {
    Missing,
    Found(T),
    Failed(ParseError),
}

/// What a phrase held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scan {
    pub date: Outcome<NaiveDate>,
    pub time: Outcome<NaiveTime>,
}

/// A value slot that remembers when it was set twice with different values.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot<T> {
    pub value: Option<T>,
    pub conflict: bool,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot { value: None, conflict: false }
    }
}

impl<T: Copy + PartialEq> Slot<T> {
    pub fn set(&mut self, v: T) {
        match self.value {
            None => self.value = Some(v),
            Some(old) if old != v => self.conflict = true,
            Some(_) => {}
        }
    }
}

/// "nächsten", "diesen", "übernächsten" (or nothing) in front of a weekday or "Woche".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WdMod {
    Plain,
    This,
    Next,
    AfterNext,
}

/// "in N Tagen/Wochen/Monaten/Jahren"; `tok` indexes the count token (for error texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offset {
    Days(u32, usize),
    Weeks(u32, usize),
    Months(u32, usize),
}

/// A clock time as said, before day-part rules. `spoken` marks hour forms ("drei Uhr",
/// "halb drei", "um 3") to which the afternoon default applies; written clock times
/// ("15:30", "07 Uhr") are literal 24-hour times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Clock {
    pub h: u32,
    pub m: u32,
    pub spoken: bool,
}

/// A "10.11"-style token that could be 10 November or 10:11.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ambiguous {
    pub date: Option<NaiveDate>,
    pub time: Option<Clock>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub anchor: Slot<NaiveDate>,
    pub offset: Slot<Offset>,
    pub explicit: Slot<NaiveDate>,
    pub day_of_month: Slot<u32>,
    pub weekday: Slot<(Weekday, WdMod)>,
    pub week: Slot<u32>,
    pub am_morgen: bool,
    pub ambiguous: Vec<Ambiguous>,
    pub date_err: Option<ParseError>,
    pub times: Vec<Clock>,
    pub day_part: Slot<DayPart>,
    pub time_err: Option<ParseError>,
    /// "zwischen"/"bis"/"oder" before a date: the caller offered alternatives.
    pub alt_date: bool,
    /// "zwischen"/"bis"/"oder" before a time.
    pub alt_time: bool,
}

pub(super) struct Scanner<'t, 'a> {
    pub toks: &'t [Tok<'a>],
    pub mode: Mode,
    pub today: NaiveDate,
    pub st: State,
}

/// Words after which a bare number is an hour ("um 10", "gegen zehn", "ca. 9").
pub(super) const TIME_MARKERS: [&str; 10] =
    ["um", "gegen", "ab", "ca", "circa", "zirka", "etwa", "so", "fruehestens", "spaetestens"];

/// Words that offer alternatives; what follows them makes the date or time ambiguous.
const ALTERNATIVES: [&str; 5] = ["zwischen", "bis", "oder", "bzw", "beziehungsweise"];

/// Longest text echoed back inside an error.
const ECHO_MAX_CHARS: usize = 60;

/// Shortens user text for an error payload (on a char boundary), trimming whitespace.
pub(super) fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ECHO_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Scans `input` in `mode`, with `today` as the reference date.
pub(super) fn scan(input: &str, mode: Mode, today: NaiveDate) -> Scan {
    let norm = normalise(input);
    let toks = tokenise(&norm);
    let mut s = Scanner { toks: &toks, mode, today, st: State::default() };
    s.run();
    let date = s.resolve_date(input);
    let time = s.resolve_time(input);
    Scan { date, time }
}

impl<'t, 'a> Scanner<'t, 'a> {
    fn run(&mut self) {
        let mut i = 0;
        while i < self.toks.len() {
            if self.word_is(i, &ALTERNATIVES) || self.is_range_dash(i) {
                self.note_alternative(i + 1);
            }
            let used = match self.toks[i].kind {
                Kind::Mixed => self.numeric_token(i),
                Kind::Num => self.date_number(i).or_else(|| self.time_number(i)),
                Kind::Word => self.date_word(i).or_else(|| self.time_word(i)),
            };
            i += used.unwrap_or(1).max(1);
        }
    }

    /// A free-standing dash between two numbers or weekdays: "10 - 12 Uhr", "Mo - Mi".
    fn is_range_dash(&self, i: usize) -> bool {
        let rangeable = |k: usize| {
            self.tok(k).is_some_and(|t| t.kind != Kind::Word || cardinal(t.text).is_some() || self.is_weekday_at(k))
        };
        self.word_is(i, &["-"]) && i > 0 && rangeable(i - 1) && rangeable(i + 1)
    }

    /// Marks the phrase as offering alternatives for what starts at `j`
    /// ("zwischen zehn und zwölf", "am 26. oder 27.", "10 bis 12 Uhr").
    fn note_alternative(&mut self, mut j: usize) {
        if self.word_is(j, &["um", "gegen"]) {
            self.st.alt_time = true;
            return;
        }
        if self.word_is(j, &["am", "dem", "den", "zum"]) {
            self.st.alt_date = true;
            j += 1;
        }
        let Some(t) = self.tok(j) else {
            return;
        };
        let (date, time) = match t.kind {
            Kind::Num => (t.dot, !t.dot),
            Kind::Mixed => (!t.text.contains(':'), t.text.contains(':') || !t.dot),
            Kind::Word => {
                let w = t.text;
                let time = cardinal(w).is_some()
                    || day_part(w).is_some()
                    || matches!(w, "halb" | "viertel" | "dreiviertel" | "kurz");
                let date = ordinal(w).is_some()
                    || month(w).is_some()
                    || self.is_weekday_at(j)
                    || matches!(w, "heute" | "morgen" | "uebermorgen" | "in")
                    || w.starts_with("naechst")
                    || w.starts_with("uebernaechst")
                    || w.starts_with("kommend");
                (date, time)
            }
        };
        self.st.alt_date |= date;
        self.st.alt_time |= time;
    }

    /// The token at `i`, if any.
    pub fn tok(&self, i: usize) -> Option<&'t Tok<'a>> {
        self.toks.get(i)
    }

    /// The token before `i`, if any.
    pub fn prev(&self, i: usize) -> Option<&'t Tok<'a>> {
        i.checked_sub(1).and_then(|p| self.toks.get(p))
    }

    /// True when the word at `i` is one of `ws`.
    pub fn word_is(&self, i: usize, ws: &[&str]) -> bool {
        self.tok(i).is_some_and(|t| t.is_any(ws))
    }

    pub fn is_day_part(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| t.kind == Kind::Word && day_part(t.text).is_some())
    }

    pub fn date_error(&mut self, e: ParseError) {
        self.st.date_err.get_or_insert(e);
    }

    pub fn time_error(&mut self, e: ParseError) {
        self.st.time_err.get_or_insert(e);
    }

    /// True when a component names the day itself (not just a weekday or week).
    fn has_day_component(&self) -> bool {
        let s = &self.st;
        s.anchor.value.is_some()
            || s.offset.value.is_some()
            || s.explicit.value.is_some()
            || s.day_of_month.value.is_some()
    }

    fn resolve_date(&mut self, input: &str) -> Outcome<NaiveDate> {
        let unrecognized = || Outcome::Failed(ParseError::Unrecognized(clip(input)));
        // Decide "am Morgen" and ambiguous "10.11" tokens first: both depend on whether
        // the phrase names a day some other way.
        let mut date_taken = self.has_day_component();
        let weekday = self.st.weekday.value.map(|(wd, _)| wd);
        if self.st.am_morgen {
            if date_taken || weekday.is_some() || self.st.week.value.is_some() || self.mode == Mode::Time {
                self.st.day_part.set(DayPart::Am);
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
        if let Some(d) = s.explicit.value {
            chosen.set(d);
        }
        if let Some(d) = ambiguous_date.value {
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
            (Some(Offset::Weeks(n, _)), base) if s.weekday.value.is_some() && s.week.value.is_none() => {
                weeks_for_weekday = Some((base.unwrap_or(self.today), n));
            }
            (Some(off), base) => match self.apply_offset(base.unwrap_or(self.today), off) {
                Ok(d) => chosen.set(d),
                Err(e) => return Outcome::Failed(e),
            },
            (None, Some(d)) => chosen.set(d),
            (None, None) => {}
        }
        if chosen.conflict || self.st.alt_date {
            return unrecognized();
        }
        if let Some(d) = chosen.value {
            return Outcome::Found(d);
        }
        if s.weekday.conflict || s.week.conflict {
            return unrecognized();
        }
        match self.resolve_week(weeks_for_weekday) {
            Some(Some(d)) => Outcome::Found(d),
            Some(None) => unrecognized(),
            None => Outcome::Missing,
        }
    }

    fn resolve_time(&mut self, input: &str) -> Outcome<NaiveTime> {
        if let Some(e) = self.st.time_err.take() {
            return Outcome::Failed(e);
        }
        let part = self.st.day_part;
        if part.conflict && !self.st.times.is_empty() {
            return Outcome::Failed(ParseError::Unrecognized(clip(input)));
        }
        let part = if part.conflict { None } else { part.value };
        let mut found: Slot<NaiveTime> = Slot::default();
        for c in &self.st.times {
            match apply_day_part(*c, part) {
                Some(t) => found.set(t),
                None => {
                    return Outcome::Failed(ParseError::InvalidTime(format!("{}:{:02} Uhr", c.h, c.m)));
                }
            }
        }
        if found.conflict || self.st.alt_time {
            return Outcome::Failed(ParseError::Unrecognized(clip(input)));
        }
        match (found.value, part) {
            (Some(t), _) => Outcome::Found(t),
            (None, Some(DayPart::Noon)) => NaiveTime::from_hms_opt(12, 0, 0).map_or(Outcome::Missing, Outcome::Found),
            (None, _) => Outcome::Missing,
        }
    }
}

/// Applies the day-part rules (see the module docs of `german`) to a clock time.
pub(super) fn apply_day_part(c: Clock, part: Option<DayPart>) -> Option<NaiveTime> {
    let h = match (part, c.h) {
        (_, 24) => 0,
        (Some(DayPart::Am), h) => h,
        (Some(DayPart::Noon), h @ 1..=5) => h + 12,
        (Some(DayPart::Noon), h) => h,
        (Some(DayPart::Pm), h @ 1..=11) => h + 12,
        (Some(DayPart::Pm), h) => h,
        (Some(DayPart::Evening), h @ 1..=11) => h + 12,
        (Some(DayPart::Evening), 12) => 0,
        (Some(DayPart::Evening), h) => h,
        (Some(DayPart::Night), h @ 6..=11) => h + 12,
        (Some(DayPart::Night), 12) => 0,
        (Some(DayPart::Night), h) => h,
        (None, h @ 1..=7) if c.spoken => h + 12,
        (None, h) => h,
    };
    NaiveTime::from_hms_opt(h, c.m, 0)
}
