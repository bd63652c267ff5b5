//! German public holidays by name ("an Heiligabend", "Pfingstmontag 2027", "am Tag der
//! Deutschen Einheit"), so the salon's holiday rules answer for the right day.
//!
//! Guarantees:
//! - Easter is computed (the anonymous Gregorian algorithm of Meeus/Jones/Butcher), not
//!   tabled; the movable feasts are fixed offsets from it. Years outside 1583–9999 have none.
//! - A holiday without a year is its next occurrence on or after `today`; with a year
//!   ("Heiligabend 2027", "Ostermontag 27") that year's.
//! - Names that could mean more than one day ("Ostern", "Weihnachten", "Pfingsten") are not
//!   holidays here: not understood, they make the phrase unrecognised.

use chrono::{Datelike, Days, NaiveDate};

use super::ParseError;
use super::lexer::Kind;
use super::scan::{Scanner, clip};
use super::words::ordinal;

/// Easter Sunday of `year` (Gregorian calendar).
pub(super) fn easter(year: i32) -> Option<NaiveDate> {
    if !(1583..=9999).contains(&year) {
        return None;
    }
    let (a, b, c) = (year % 19, year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    NaiveDate::from_ymd_opt(year, u32::try_from(n / 31).ok()?, u32::try_from(n % 31 + 1).ok()?)
}

/// A holiday: a fixed day of a month, or a number of days after Easter Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holiday {
    Fixed(u32, u32),
    AfterEaster(i64),
}

impl Holiday {
    fn in_year(self, year: i32) -> Option<NaiveDate> {
        match self {
            Holiday::Fixed(m, d) => NaiveDate::from_ymd_opt(year, m, d),
            Holiday::AfterEaster(n) => {
                let e = easter(year)?;
                if n >= 0 {
                    e.checked_add_days(Days::new(n.unsigned_abs()))
                } else {
                    e.checked_sub_days(Days::new(n.unsigned_abs()))
                }
            }
        }
    }
}

const NEUJAHR: Holiday = Holiday::Fixed(1, 1);
const DREIKOENIG: Holiday = Holiday::Fixed(1, 6);
const TAG_DER_ARBEIT: Holiday = Holiday::Fixed(5, 1);
const EINHEIT: Holiday = Holiday::Fixed(10, 3);
const HEILIGABEND: Holiday = Holiday::Fixed(12, 24);
const WEIHNACHTSTAG_1: Holiday = Holiday::Fixed(12, 25);
const WEIHNACHTSTAG_2: Holiday = Holiday::Fixed(12, 26);

/// One-word holiday names.
fn single_word(w: &str) -> Option<Holiday> {
    Some(match w {
        "neujahr" | "neujahrstag" => NEUJAHR,
        "dreikoenige" | "dreikoenigstag" | "dreikoenigsfest" | "epiphanias" => DREIKOENIG,
        "karfreitag" => Holiday::AfterEaster(-2),
        "ostersonntag" => Holiday::AfterEaster(0),
        "ostermontag" => Holiday::AfterEaster(1),
        "maifeiertag" => TAG_DER_ARBEIT,
        "himmelfahrt" | "himmelfahrtstag" => Holiday::AfterEaster(39),
        "pfingstsonntag" => Holiday::AfterEaster(49),
        "pfingstmontag" => Holiday::AfterEaster(50),
        "fronleichnam" => Holiday::AfterEaster(60),
        "reformationstag" => Holiday::Fixed(10, 31),
        "allerheiligen" => Holiday::Fixed(11, 1),
        "heiligabend" | "weihnachtsabend" => HEILIGABEND,
        "stephanstag" => WEIHNACHTSTAG_2,
        "silvester" | "silvestertag" => Holiday::Fixed(12, 31),
        _ => return None,
    })
}

impl Scanner<'_, '_> {
    /// The holiday named at `i`, and how many tokens its name takes.
    fn holiday_name(&self, i: usize) -> Option<(Holiday, usize)> {
        let t = self.tok(i)?;
        let is = |k: usize, ws: &[&str]| self.word_is(i + k, ws);
        if t.kind == Kind::Num {
            // "1. Weihnachtstag", "2. Weihnachtsfeiertag"
            let which = match (t.text, t.dot) {
                ("1", true) => WEIHNACHTSTAG_1,
                ("2", true) => WEIHNACHTSTAG_2,
                _ => return None,
            };
            return is(1, &["weihnachtstag", "weihnachtsfeiertag"]).then_some((which, 2));
        }
        if t.kind != Kind::Word {
            return None;
        }
        if let Some(h) = single_word(t.text) {
            return Some((h, 1));
        }
        match t.text {
            "heilige" | "heiligen" if is(1, &["drei"]) && is(2, &["koenige", "koenigen"]) => Some((DREIKOENIG, 3)),
            "heiliger" | "heiligen" | "heilig" if is(1, &["abend"]) => Some((HEILIGABEND, 2)),
            "christi" if is(1, &["himmelfahrt"]) => Some((Holiday::AfterEaster(39), 2)),
            "tag" if is(1, &["der"]) && is(2, &["arbeit"]) => Some((TAG_DER_ARBEIT, 3)),
            "tag" if is(1, &["der"]) && is(2, &["einheit"]) => Some((EINHEIT, 3)),
            "tag" if is(1, &["der"]) && is(2, &["deutschen"]) && is(3, &["einheit"]) => Some((EINHEIT, 4)),
            w if is(1, &["weihnachtstag", "weihnachtsfeiertag"]) => match ordinal(w) {
                Some(1) => Some((WEIHNACHTSTAG_1, 2)),
                Some(2) => Some((WEIHNACHTSTAG_2, 2)),
                _ => None,
            },
            _ => None,
        }
    }

    /// A holiday at `i` (with an optional year after it) as an explicit date.
    pub(super) fn holiday_at(&mut self, i: usize) -> Option<usize> {
        let (holiday, len) = self.holiday_name(i)?;
        let year = self.year_at(i + len);
        let date = match year {
            Some(y) => holiday.in_year(y),
            None => (0..=2).find_map(|k| {
                let d = holiday.in_year(self.today.year().checked_add(k)?)?;
                (d >= self.today).then_some(d)
            }),
        };
        match date {
            Some(d) => self.st.explicit.set(d),
            None => {
                let words: Vec<&str> = self.toks.get(i..i + len).unwrap_or_default().iter().map(|t| t.text).collect();
                let y = year.map(|y| format!(" {y}")).unwrap_or_default();
                self.date_error(ParseError::InvalidDate(clip(&format!("{}{y}", words.join(" ")))));
            }
        }
        Some(len + usize::from(year.is_some()))
    }
}
