//! Offsets from today or from now: "in 3 Tagen", "in einer Woche", "morgen in acht Tagen",
//! "vor zwei Wochen", "in 20 Minuten", "in einer halben Stunde", "in anderthalb Stunden".
//!
//! Guarantees:
//! - Counts are range-checked and all arithmetic is checked: an offset past the calendar's
//!   end is [`ParseError::InvalidDate`] with the caller's words, never a panic.
//! - "in N Tagen" is taken literally ("in acht Tagen" = 8 days); months keep the day number,
//!   clamped to the month's end; years are 12 months.
//! - Minutes and hours are clock-relative ("in 20 Minuten"): they resolve from `now` (only
//!   `parse_when` has one) and are never mistaken for an hour.

use chrono::{Days, Months, NaiveDate};

use super::ParseError;
use super::lexer::Kind;
use super::scan::{Offset, Scanner, Unit, clip};
use super::words::count_word;

/// Minutes in a day unit word ("Stunde", "Viertelstunde", "Min."), if it is one.
fn minutes_per(unit: &str) -> Option<u32> {
    Some(match unit {
        "minute" | "minuten" | "min" | "minuetchen" => 1,
        "viertelstunde" | "viertelstunden" => 15,
        "dreiviertelstunde" | "dreiviertelstunden" => 45,
        "stunde" | "stunden" | "std" | "stuendchen" => 60,
        _ => return None,
    })
}

/// "anderthalb", "eineinhalb", "zweieinhalb": whole hours plus a half, in half hours.
fn and_a_half(w: &str) -> Option<u32> {
    if w == "anderthalb" {
        return Some(3);
    }
    let base = w.strip_suffix("einhalb")?;
    let whole = match base {
        "ein" => 1,
        other => super::words::cardinal(other)?,
    };
    whole.checked_mul(2)?.checked_add(1)
}

impl Scanner<'_, '_> {
    /// The count at `k`: digits, a number word or an article ("einer Woche").
    fn count_at(&self, k: usize) -> Option<u32> {
        let t = self.tok(k)?;
        match t.kind {
            Kind::Num => t.digits_value(),
            Kind::Word => count_word(t.text),
            Kind::Mixed => None,
        }
    }

    /// "in N Tagen/Wochen/Monaten/Jahren", or a clock-relative "in 20 Minuten".
    pub(super) fn in_offset(&mut self, i: usize) -> Option<usize> {
        if let Some(used) = self.duration_from_now(i + 1) {
            return Some(used + 1);
        }
        self.calendar_offset(i, false)
    }

    /// "vor N Tagen/Wochen/Monaten/Jahren": that many back (a past date, refused by the caller).
    pub(super) fn back_offset(&mut self, i: usize) -> Option<usize> {
        self.calendar_offset(i, true)
    }

    fn calendar_offset(&mut self, i: usize, back: bool) -> Option<usize> {
        let n = self.count_at(i + 1)?;
        let unit = self.tok(i + 2).filter(|t| t.kind == Kind::Word)?;
        let tok = i + 1;
        let offset = match unit.text {
            "tag" | "tage" | "tagen" => Offset { unit: Unit::Days, n, back, tok },
            "woche" | "wochen" => Offset { unit: Unit::Weeks, n, back, tok },
            "monat" | "monate" | "monaten" => Offset { unit: Unit::Months, n, back, tok },
            "jahr" | "jahre" | "jahren" => match n.checked_mul(12) {
                Some(months) => Offset { unit: Unit::Months, n: months, back, tok },
                None => {
                    self.date_error(self.offset_error(tok));
                    return Some(3);
                }
            },
            _ => return None,
        };
        self.st.offset.set(offset);
        Some(3)
    }

    /// "20 Minuten", "einer halben Stunde", "zwei Stunden", "anderthalb Stunden" at `k`
    /// (after "in"); records the minutes from now and returns the tokens used.
    fn duration_from_now(&mut self, k: usize) -> Option<usize> {
        let first = self.tok(k)?;
        let halves = if first.kind == Kind::Word { and_a_half(first.text) } else { None };
        let (minutes, used) = if let Some(halves) = halves {
            self.tok(k + 1).filter(|t| t.is_any(&["stunde", "stunden"]))?;
            (halves.checked_mul(30), 2)
        } else {
            let n = self.count_at(k)?;
            let mut j = k + 1;
            let fraction = match self.tok(j) {
                Some(t) if t.is_any(&["halbe", "halben"]) => Some(30),
                Some(t) if t.is("viertel") => Some(15),
                Some(t) if t.is("dreiviertel") => Some(45),
                _ => None,
            };
            if fraction.is_some() {
                j += 1;
            }
            let per = minutes_per(self.tok(j).filter(|t| t.kind == Kind::Word)?.text)?;
            let minutes = match fraction {
                // "einer halben Stunde", "einer viertel Stunde": only with "ein(e)" and hours
                Some(f) if n == 1 && per == 60 => Some(f),
                Some(_) => return None,
                None => n.checked_mul(per),
            };
            (minutes, j + 1 - k)
        };
        match minutes {
            Some(m) => self.st.from_now.set(m),
            None => self.time_error(ParseError::InvalidTime(clip(&self.words(k, used)))),
        }
        Some(used)
    }

    /// The caller's words `k..k + n`, joined by spaces (for error texts).
    fn words(&self, k: usize, n: usize) -> String {
        let end = k.saturating_add(n).min(self.toks.len());
        let words: Vec<&str> = self.toks.get(k..end).unwrap_or_default().iter().map(|t| t.text).collect();
        format!("in {}", words.join(" "))
    }

    fn offset_error(&self, count_tok: usize) -> ParseError {
        let count = self.tok(count_tok).map_or("", |t| t.text);
        let unit = self.tok(count_tok + 1).map_or("", |t| t.text);
        let prep = if self.word_is(count_tok.wrapping_sub(1), &["vor"]) { "vor" } else { "in" };
        ParseError::InvalidDate(clip(&format!("{prep} {count} {unit}")))
    }

    /// Applies "in N …" (or "vor N …") to `base`.
    pub(super) fn apply_offset(&self, base: NaiveDate, off: Offset) -> Result<NaiveDate, ParseError> {
        let days = match off.unit {
            Unit::Days => Some(u64::from(off.n)),
            Unit::Weeks => u64::from(off.n).checked_mul(7),
            Unit::Months => None,
        };
        let d = match (days, off.back) {
            (Some(k), false) => base.checked_add_days(Days::new(k)),
            (Some(k), true) => base.checked_sub_days(Days::new(k)),
            (None, false) => base.checked_add_months(Months::new(off.n)),
            (None, true) => base.checked_sub_months(Months::new(off.n)),
        };
        d.ok_or_else(|| self.offset_error(off.tok))
    }
}
