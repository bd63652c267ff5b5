//! Time-of-day matchers for the scanner.
//!
//! Guarantees:
//! - Hours are range-checked (0–24, "24 Uhr" only on the full hour) and minutes (0–59)
//!   before any arithmetic; out-of-range values become [`ParseError::InvalidTime`] with the
//!   caller's wording ("25 Uhr", "10:75").
//! - Spoken forms (number words, "halb", "viertel", "um 3") are marked `spoken` so the
//!   afternoon default can apply; written clock times ("15:30", "07 Uhr") stay literal.
//! - In `parse_when` phrases a bare number is only an hour with a marker ("um", "gegen",
//!   "ab", "ca.", "so", a day-part word, "Uhr"/"h"), so "2 Personen" is never a time.

use chrono::NaiveTime;

use super::ParseError;
use super::daypart::DayPart;
use super::lexer::{Kind, Tok};
use super::scan::{Clock, Mode, Scanner, TIME_MARKERS, clip};
use super::words::{cardinal, day_part};

/// The hour before a spoken hour: "halb elf" → 10, "halb eins" → 12 (spoken 12-hour clock).
fn prev_hour(h: u32) -> Option<u32> {
    match h {
        0 => Some(23),
        1 => Some(12),
        2..=24 => Some(h - 1),
        _ => None,
    }
}

/// "M nach H", "M vor H", "M nach halb H", "M vor halb H" → (hour, minute).
fn relative(m: u32, after: bool, halb: bool, h: u32) -> Option<(u32, u32)> {
    if h > 24 {
        return None;
    }
    match (halb, after) {
        (true, _) if !(1..=29).contains(&m) => None,
        (true, true) => Some((prev_hour(h)?, 30 + m)),
        (true, false) => Some((prev_hour(h)?, 30 - m)),
        (false, _) if !(1..=59).contains(&m) => None,
        (false, true) => Some((h, m)),
        (false, false) => Some((prev_hour(h)?, 60 - m)),
    }
}

/// A written clock token "H:MM", "H:MM:SS", "H:MM:SS.fff", with an ignored ISO offset
/// ("+01:00", or "-05:00" after seconds); seconds are dropped.
fn parse_clock(text: &str) -> Option<Clock> {
    let main = text.split('+').next().unwrap_or(text);
    let mut fields = main.split(':');
    let h = fields.next()?;
    let m = fields.next()?;
    let s = fields.next();
    if fields.next().is_some()
        || h.is_empty()
        || h.len() > 2
        || m.len() != 2
        || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Some(s) = s {
        let sec = s.split('.').next().unwrap_or(s);
        if sec.len() != 2 || !sec.bytes().all(|b| b.is_ascii_digit()) || sec > "59" {
            return None;
        }
    }
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (m <= 59 && (h <= 23 || (h == 24 && m == 0))).then_some(Clock { h, m, spoken: false })
}

/// How to echo an hour token in an error: digits as written, number words as digits.
fn said(t: Tok<'_>, v: u32) -> String {
    match t.kind {
        Kind::Num => t.text.to_string(),
        _ => v.to_string(),
    }
}

impl<'a> Scanner<'_, 'a> {
    /// Records a clock time, or an `InvalidTime` error with `shown()` as its text.
    fn push_clock(&mut self, h: u32, m: u32, spoken: bool, shown: impl FnOnce() -> String) {
        if h > 24 || m > 59 || (h == 24 && m != 0) {
            self.time_error(ParseError::InvalidTime(clip(&shown())));
        } else {
            self.st.times.push(Clock { h, m, spoken });
        }
    }

    /// An hour given as digits or as a number word.
    fn hour_at(&self, k: usize) -> Option<(u32, Tok<'a>)> {
        let t = *self.toks.get(k)?;
        match t.kind {
            Kind::Num => Some((t.digits_value()?, t)),
            Kind::Word => Some((cardinal(t.text)?, t)),
            Kind::Mixed => None,
        }
    }

    /// Minutes after an hour: "zehn Uhr dreißig", "um zehn dreißig", "10 Uhr 5".
    /// `after_uhr` allows a single digit.
    fn minutes_at(&self, k: usize, after_uhr: bool) -> Option<u32> {
        let t = self.toks.get(k)?;
        // "10 Uhr 2 Personen": the 2 counts people, it is no minute
        if t.dot || self.word_is(k + 1, &["uhr", "h", "nach", "vor", "viertel"]) || self.filler_at(k).is_some() {
            return None;
        }
        match t.kind {
            Kind::Num if t.text.len() == 2 || (after_uhr && t.text.len() == 1) => t.digits_value(),
            Kind::Word => cardinal(t.text),
            _ => None,
        }
    }

    /// Written clock tokens: "10:30", "2026-11-26T10:00" (time part), "10:30-11:30" (range:
    /// both times are recorded, so the phrase is reported as ambiguous).
    pub(super) fn clock_token(&mut self, i: usize) {
        let Some(t) = self.toks.get(i).copied() else {
            return;
        };
        if let Some(c) = parse_clock(t.text) {
            self.st.times.push(c);
            return;
        }
        let mut halves = t.text.splitn(2, '-');
        let first = halves.next().and_then(parse_clock);
        let second = halves.next();
        match (first, second) {
            (Some(a), Some(b)) if b.contains(':') && !b.contains('-') => {
                // "10:00:00-05:00" is an ISO offset; "10:30-11:30" is a range.
                if t.text.split('-').next().is_some_and(|f| f.matches(':').count() == 2) {
                    self.st.times.push(a);
                } else if let Some(b) = parse_clock(b) {
                    self.st.times.push(a);
                    self.st.times.push(b);
                } else {
                    self.time_error(ParseError::InvalidTime(clip(t.text)));
                }
            }
            _ => self.time_error(ParseError::InvalidTime(clip(t.text))),
        }
    }

    /// Time words: "halb", "viertel", "dreiviertel", "kurz", "ein Uhr", day parts, numbers.
    pub(super) fn time_word(&mut self, i: usize) -> Option<usize> {
        let t = *self.toks.get(i)?;
        match t.text {
            "halb" => {
                let (h, ht) = self.hour_at(i + 1)?;
                self.spoken_before(h, 30, || format!("halb {}", said(ht, h)));
                return Some(2);
            }
            "viertel" => {
                let after = self.word_is(i + 1, &["nach"]);
                let before = self.word_is(i + 1, &["vor"]);
                if after || before {
                    let (h, ht) = self.hour_at(i + 2)?;
                    let shown = || {
                        let rel = if after { "nach" } else { "vor" };
                        format!("viertel {rel} {}", said(ht, h))
                    };
                    if after {
                        self.push_clock(h, 15, true, shown);
                    } else {
                        self.spoken_before(h, 45, shown);
                    }
                    return Some(3);
                }
                let (h, ht) = self.hour_at(i + 1)?;
                self.spoken_before(h, 15, || format!("viertel {}", said(ht, h)));
                return Some(2);
            }
            "dreiviertel" => {
                let (h, ht) = self.hour_at(i + 1)?;
                self.spoken_before(h, 45, || format!("dreiviertel {}", said(ht, h)));
                return Some(2);
            }
            "kurz" => return self.relative_at(i, 5, i + 1),
            "ein" if self.word_is(i + 1, &["uhr"]) => return Some(self.hour_uhr(i, 1, t)),
            w => {
                if let Some(part) = day_part(w) {
                    self.st.day_part.set(part);
                    // "um/gegen/zu Mittag" is 12:00 sharp, "morgen Mittag" the noon window
                    if part == DayPart::Noon && self.prev(i).is_some_and(|p| p.is_any(&TIME_MARKERS) || p.is("zu")) {
                        self.st.noon_point += 1;
                    }
                    return Some(1);
                }
            }
        }
        self.time_number(i)
    }

    /// Records `minute` past the hour before `h` ("halb elf" → 10:30), or an error.
    fn spoken_before(&mut self, h: u32, minute: u32, shown: impl FnOnce() -> String) {
        match prev_hour(h) {
            Some(ph) => self.push_clock(ph, minute, true, shown),
            None => self.time_error(ParseError::InvalidTime(clip(&shown()))),
        }
    }

    /// "M [Minuten] nach/vor [halb] H" with M already read; `k` is the token after M.
    /// An incomplete "M nach"/"M vor" is consumed without a time.
    fn relative_at(&mut self, i: usize, m: u32, mut k: usize) -> Option<usize> {
        if self.word_is(k, &["minute", "minuten"]) {
            k += 1;
        }
        let after = self.word_is(k, &["nach"]);
        if !after && !self.word_is(k, &["vor"]) {
            return None;
        }
        let halb = self.word_is(k + 1, &["halb"]);
        let hk = if halb { k + 2 } else { k + 1 };
        let Some((h, _)) = self.hour_at(hk) else {
            // "zehn nach …" without an hour: incomplete, so no time at all (not 10:00)
            return Some(hk - i);
        };
        let toks = self.toks;
        let shown = move || {
            let words: Vec<&str> = toks.get(i..=hk).unwrap_or_default().iter().map(|t| t.text).collect();
            words.join(" ")
        };
        match relative(m, after, halb, h) {
            Some((hh, mm)) => self.push_clock(hh, mm, true, shown),
            None => self.time_error(ParseError::InvalidTime(clip(&shown()))),
        }
        Some(hk + 1 - i)
    }

    /// "H Uhr [und] [M] [Minuten]" / "14h"; `t` is the hour token.
    fn hour_uhr(&mut self, i: usize, h: u32, t: Tok<'a>) -> usize {
        let mut k = i + 2;
        if self.word_is(k, &["und"]) && self.minutes_at(k + 1, true).is_some() {
            k += 1;
        }
        let (m, mut used) = match self.minutes_at(k, true) {
            Some(m) => (m, k + 1 - i),
            None => (0, 2),
        };
        if m > 0 && self.word_is(i + used, &["minute", "minuten"]) {
            used += 1;
        }
        // A zero-padded hour ("07 Uhr") is a written 24-hour time.
        let spoken = !(t.kind == Kind::Num && t.text.len() == 2 && t.text.starts_with('0'));
        let shown = || {
            if used > 2 { format!("{} Uhr {m}", said(t, h)) } else { format!("{} Uhr", said(t, h)) }
        };
        self.push_clock(h, m, spoken, shown);
        used
    }

    /// Numbers as times: "drei viertel elf", "zehn nach zehn", "10 Uhr", "um zehn dreißig".
    pub(super) fn time_number(&mut self, i: usize) -> Option<usize> {
        let (v, t) = self.hour_at(i)?;
        if v == 3
            && self.word_is(i + 1, &["viertel"])
            && let Some((h, ht)) = self.hour_at(i + 2)
        {
            self.spoken_before(h, 45, || format!("drei viertel {}", said(ht, h)));
            return Some(3);
        }
        if let Some(used) = self.relative_at(i, v, i + 1) {
            return Some(used);
        }
        if self.word_is(i + 1, &["uhr"]) || (t.kind == Kind::Num && self.word_is(i + 1, &["h"])) {
            return Some(self.hour_uhr(i, v, t));
        }
        let marked = self.prev(i).is_some_and(|p| p.is_any(&TIME_MARKERS))
            || (i > 0 && self.is_day_part(i - 1))
            || self.is_day_part(i + 1);
        if self.mode != Mode::Time && !marked {
            return None;
        }
        let (m, used) = match self.minutes_at(i + 1, false) {
            Some(m) => (m, 2),
            None => (0, 1),
        };
        let shown = || match used {
            2 => format!("{} Uhr {m}", said(t, v)),
            // "1030": echo the number as said
            _ if t.kind == Kind::Num && t.text.len() > 2 => t.text.to_string(),
            _ => format!("{} Uhr", said(t, v)),
        };
        self.push_clock(v, m, true, shown);
        Some(used)
    }
}

/// Applies the day-part rules (see the module docs of `german`) to a clock time.
pub(super) fn apply_day_part(c: Clock, part: Option<DayPart>) -> Option<NaiveTime> {
    // the weekend is two days, not a part of one: it shifts no hour
    let part = part.filter(|p| *p != DayPart::Weekend);
    let h = match (part, c.h) {
        (_, 24) => 0,
        (Some(DayPart::Morning | DayPart::Weekend), h) => h,
        (Some(DayPart::Noon), h @ 1..=5) => h + 12,
        (Some(DayPart::Noon), h) => h,
        (Some(DayPart::Afternoon), h @ 1..=11) => h + 12,
        (Some(DayPart::Afternoon), h) => h,
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
