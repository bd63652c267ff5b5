//! The scanner: walks the tokens once, collects date and time *components*, then resolves
//! them (in `resolve`) into at most one date and one time.
//!
//! Guarantees:
//! - One left-to-right pass; each matcher looks ahead a bounded number of tokens, so the
//!   scan is linear in the number of tokens.
//! - Every token ends with a [`Role`]: it contributed (a matcher changed the scan's state with
//!   it), it is known filler, it is a neutral word ("Dauerwelle", "bitte"), or it is a word that
//!   could change a date or time but was not understood ([`Role::Risky`], see `rule`). One
//!   risky token makes the whole phrase unrecognised: a date is never built from the rest.
//! - Never panics: all calendar arithmetic is checked, all numbers are range-checked before
//!   any arithmetic (digit runs longer than nine digits saturate, see `Tok::digits_value`).
//! - Contradictions are never silently resolved: two different dates, or two different
//!   times, give [`ParseError::Unrecognized`]; a weekday that does not match a date gives
//!   [`ParseError::WeekdayMismatch`], so the agent asks again.
//! - An invalid date or time anywhere in the phrase ("32.11.", "25 Uhr") is reported, even
//!   if the phrase also holds a valid one.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use super::ParseError;
use super::daypart::DayPart;
use super::lexer::{Kind, Tok, normalise, tokenise};
use super::words::{cardinal, day_part, month, ordinal};

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
    /// A part of the day said without a clock time ("heute Abend", "am Wochenende").
    pub part: Option<DayPart>,
    /// The time was said relative to now ("in 20 Minuten", "jetzt").
    pub from_now: bool,
}

/// What became of a token (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Not decided yet (only during the scan).
    Unused,
    /// A matcher changed the scan's state with it.
    Used,
    /// Known to carry no date or time ("guten Tag", the "2" of "2 Personen").
    Filler,
    /// A word that cannot change a date or time ("Dauerwelle", "bitte", "am").
    Neutral,
    /// Could change a date or time but was not understood: the phrase is unrecognised.
    Risky,
}

/// A value slot that remembers when it was set twice with different values, and how often
/// it was set at all (so the scanner sees which tokens contributed).
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot<T> {
    pub value: Option<T>,
    pub conflict: bool,
    pub sets: u32,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot { value: None, conflict: false, sets: 0 }
    }
}

impl<T: Copy + PartialEq> Slot<T> {
    pub fn set(&mut self, v: T) {
        self.sets = self.sets.wrapping_add(1);
        match self.value {
            None => self.value = Some(v),
            Some(old) if old != v => self.conflict = true,
            Some(_) => {}
        }
    }
}

/// "nächsten", "diesen", "übernächsten", "letzten", "vorletzten" (or nothing) in front of a
/// weekday or "Woche".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WdMod {
    Plain,
    This,
    Next,
    AfterNext,
    Last,
    BeforeLast,
}

/// The unit of "in N Tagen/Wochen/Monaten" ("Jahre" are 12 months).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Days,
    Weeks,
    Months,
}

/// "in N Tagen" (or, with `back`, "vor N Tagen"); `tok` indexes the count token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Offset {
    pub unit: Unit,
    pub n: u32,
    pub back: bool,
    pub tok: usize,
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
    /// ISO weeks from this one: "nächste Woche" 1, "letzte Woche" -1.
    pub week: Slot<i32>,
    /// "am Morgen" (counted: the scanner compares counts to see what contributed).
    pub am_morgen: u32,
    pub ambiguous: Vec<Ambiguous>,
    pub date_err: Option<ParseError>,
    pub times: Vec<Clock>,
    pub day_part: Slot<DayPart>,
    pub time_err: Option<ParseError>,
    /// "zwischen"/"bis"/"oder" before a date: the caller offered alternatives.
    pub alt_date: bool,
    /// "zwischen"/"bis"/"oder" before a time.
    pub alt_time: bool,
    /// Minutes from now ("in 20 Minuten", "in zwei Stunden").
    pub from_now: Slot<u32>,
    /// "jetzt", "sofort", "gleich": now, unless the phrase names another day or time.
    pub asap: u32,
    /// "Wochenende" was said.
    pub weekend: u32,
    /// "um/gegen/zu Mittag": 12:00 sharp rather than the noon window.
    pub noon_point: u32,
}

impl State {
    /// Grows whenever a matcher records anything; equal before and after a matcher means
    /// the matcher's tokens contributed nothing.
    fn edits(&self) -> u64 {
        let sets = [
            self.anchor.sets,
            self.offset.sets,
            self.explicit.sets,
            self.day_of_month.sets,
            self.weekday.sets,
            self.week.sets,
            self.day_part.sets,
            self.from_now.sets,
            self.am_morgen,
            self.asap,
            self.weekend,
            self.noon_point,
        ];
        let flags = [self.date_err.is_some(), self.time_err.is_some(), self.alt_date, self.alt_time];
        sets.iter().map(|&s| u64::from(s)).sum::<u64>()
            + self.ambiguous.len() as u64
            + self.times.len() as u64
            + flags.iter().filter(|&&f| f).count() as u64
    }
}

pub(super) struct Scanner<'t, 'a> {
    pub toks: &'t [Tok<'a>],
    pub mode: Mode,
    pub today: NaiveDate,
    /// The local "now", when the caller has one (`parse_when`); clock-relative times need it.
    pub now: Option<NaiveDateTime>,
    pub st: State,
    pub roles: Vec<Role>,
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

/// Scans `input` in `mode`, with `today` (and, for clock-relative times, `now`) as reference.
pub(super) fn scan(input: &str, mode: Mode, today: NaiveDate, now: Option<NaiveDateTime>) -> Scan {
    scan_then(input, mode, today, now, |_, _| ()).0
}

/// [`scan`], and what became of each token (text and [`Role`]); for the rule's tests.
#[cfg(test)]
pub(super) fn scan_with_roles(
    input: &str,
    mode: Mode,
    today: NaiveDate,
    now: Option<NaiveDateTime>,
) -> (Scan, Vec<(String, Role)>) {
    scan_then(input, mode, today, now, |toks, roles| {
        toks.iter().zip(roles).map(|(t, r)| (t.text.to_string(), *r)).collect()
    })
}

/// Scans, then hands the tokens and their roles to `inspect` (a no-op outside tests).
fn scan_then<R>(
    input: &str,
    mode: Mode,
    today: NaiveDate,
    now: Option<NaiveDateTime>,
    inspect: impl FnOnce(&[Tok<'_>], &[Role]) -> R,
) -> (Scan, R) {
    let norm = normalise(input);
    let toks = tokenise(&norm);
    let mut s = Scanner { toks: &toks, mode, today, now, st: State::default(), roles: vec![Role::Unused; toks.len()] };
    s.run();
    let scan = s.resolve(input);
    let seen = inspect(&toks, &s.roles);
    (scan, seen)
}

impl<'t, 'a> Scanner<'t, 'a> {
    fn run(&mut self) {
        let mut i = 0;
        while i < self.toks.len() {
            if let Some(n) = self.filler_at(i) {
                self.mark(i, n, Role::Filler);
                i += n;
                continue;
            }
            if self.word_is(i, &ALTERNATIVES) || self.is_range_dash(i) {
                self.note_alternative(i);
            }
            let before = self.st.edits();
            let used = match self.toks[i].kind {
                Kind::Mixed => self.numeric_token(i),
                Kind::Num => self.date_number(i).or_else(|| self.time_number(i)),
                Kind::Word => self.date_word(i).or_else(|| self.time_word(i)),
            };
            let step = used.unwrap_or(1).max(1);
            if self.st.edits() != before {
                self.mark(i, step, Role::Used);
            }
            i += step;
        }
        for k in 0..self.toks.len() {
            if self.roles[k] == Role::Unused {
                self.roles[k] = if self.is_risky(k) { Role::Risky } else { Role::Neutral };
            }
        }
    }

    /// Gives tokens `i..i + n` the role `role` (never taking "used" away).
    fn mark(&mut self, i: usize, n: usize, role: Role) {
        let end = i.saturating_add(n).min(self.roles.len());
        for r in self.roles.get_mut(i..end).unwrap_or_default() {
            if *r != Role::Used {
                *r = role;
            }
        }
    }

    /// True when a token could change the date or time but was not understood.
    pub fn any_risky(&self) -> bool {
        self.roles.contains(&Role::Risky)
    }

    /// A free-standing dash between two numbers or weekdays: "10 - 12 Uhr", "Mo - Mi".
    fn is_range_dash(&self, i: usize) -> bool {
        let rangeable = |k: usize| {
            self.tok(k).is_some_and(|t| t.kind != Kind::Word || cardinal(t.text).is_some() || self.is_weekday_at(k))
        };
        self.word_is(i, &["-"]) && i > 0 && rangeable(i - 1) && rangeable(i + 1)
    }

    /// Marks the phrase as offering alternatives for what follows the word at `i`
    /// ("zwischen zehn und zwölf", "am 26. oder 27.", "10 bis 12 Uhr"). The word and the
    /// alternative it introduces count as understood: they make the date or time ambiguous.
    fn note_alternative(&mut self, i: usize) {
        let mut noted = self.note_alternative_at(i + 1);
        if noted && self.word_is(i, &["zwischen"]) {
            // "zwischen zehn und zwölf": the second end of the range too
            if let Some(k) = (i + 2..i + 5).find(|&k| self.word_is(k, &["und"])) {
                noted |= self.note_alternative_at(k + 1);
            }
        }
        if noted {
            self.mark(i, 1, Role::Used);
        }
    }

    fn note_alternative_at(&mut self, mut j: usize) -> bool {
        if self.word_is(j, &["um", "gegen"]) {
            self.st.alt_time = true;
            return true;
        }
        let mut date_prep = false;
        if self.word_is(j, &["am", "dem", "den", "zum"]) {
            date_prep = true;
            j += 1;
        }
        let Some(t) = self.tok(j) else {
            return false;
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
        self.st.alt_date |= date || date_prep;
        self.st.alt_time |= time;
        if date || time {
            self.mark(j, 1, Role::Used);
        }
        date || time || date_prep
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

    /// True when the token at `i` is written against a word before or after it ("Mi-Ra",
    /// "2mi"): then it is a fragment of a longer word, not an abbreviation of its own.
    pub fn is_fragment(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| t.glued) || self.tok(i + 1).is_some_and(|n| n.glued)
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
}
