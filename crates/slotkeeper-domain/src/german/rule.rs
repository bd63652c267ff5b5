//! The rule: every word either contributes to the meaning, is known filler, or cannot change
//! a date or time. A word that *could* change one and was not understood is [`Role::Risky`],
//! and one risky word makes the whole phrase unrecognised (the caller is asked again instead
//! of being offered a day built from the rest).
//!
//! Which unexplained words are risky is decided by what they are, not by a list of phrases:
//! - digits of any kind ("24", "2027", "14.4", "10+5");
//! - number words ("zwei", "eins"), ordinals ("dritter", "letzten"), "halb", "viertel", …;
//! - month and weekday names and their abbreviations (unless the abbreviation is only a
//!   fragment of a longer word: "Jan-Philipp", "Mi-Ra");
//! - words that relate or modify dates: "nach", "vor", "seit", "nächste", "übernächste",
//!   "kommende", "letzte", "vorige", "vergangene", "jeden",
//!   "Ende", "Anfang", "Mitte", "früher", "später", "nicht", "außer", "sondern";
//! - the day words themselves ("heute", "morgen", "Uhr") when no matcher could use them;
//! - words containing a date stem: units ("Tag", "Woche", "Monat", "Jahr", "Stunde",
//!   "Minute", "Quartal", "KW"), day parts ("Feierabend", "Mitternacht"), full weekday or
//!   month names ("Rosenmontag", "Aschermittwoch", "Dezemberwoche"), holidays ("Ostern",
//!   "Weihnachten", "Pfingsten", "Brückentag", "Geburtstag");
//!   and seasons ("Sommer", "Herbst");
//! - time zones ("UTC", "MEZ", "Ortszeit", "Sommerzeit", "mitteleuropäischer Zeit").
//!
//! Known filler: greetings ("Guten Tag", "guten Morgen", "schönen Abend"), a number that
//! counts people ("2 Personen", "zwei Kinder"), time markers without a time ("so", "ca.",
//! "frühestens"), "Uhrzeit", "Termin", "Datum". Every other word ("Dauerwelle", "bitte",
//! "am", "ich", "diesen Termin") is neutral: it cannot move a date, so it may stand anywhere.

use super::lexer::Kind;
use super::scan::{Scanner, TIME_MARKERS, WdMod};
use super::weekdays::modifier;
use super::words::{cardinal, count_word, day_part, month, ordinal, weekday_short, weekday_word};

/// Words that look date-like but are known to carry nothing.
const FILLER: &[&str] = &["uhrzeit", "termin", "termine", "zeit", "datum", "tageszeit"];

/// Greetings: "guten Tag", "guten Morgen", "schönen Abend", "gute Nacht".
const GREETINGS: &[&str] = &["guten", "gute", "schoenen", "schoene"];
const GREETED: &[&str] = &["tag", "morgen", "abend", "nacht", "feierabend"];

/// Nouns a number may count without saying anything about the date ("2 Personen").
const COUNTED: &[&str] = &[
    "person",
    "personen",
    "leute",
    "kind",
    "kinder",
    "erwachsene",
    "erwachsenen",
    "damen",
    "herren",
    "frauen",
    "maenner",
    "kunden",
    "mal",
    "x",
];

/// Whole words that relate, modify or negate a date or time.
const RELATIONS: &[&str] = &[
    "nach",
    "vor",
    "seit",
    "ende",
    "anfang",
    "mitte",
    "nicht",
    "ausser",
    "ausgenommen",
    "sondern",
    "vorher",
    "nachher",
    "danach",
    "davor",
    "zuvor",
    "ueber",
    "uhr",
    "h",
    "heute",
    "heut",
    "morgen",
    "uebermorgen",
    "gestern",
    "vorgestern",
    "wochenende",
    "kw",
    "utc",
    "gmt",
    "mez",
    "mesz",
    "cet",
    "cest",
    "wez",
    "oez",
    "est",
    "pst",
];

/// Beginnings of risky words ("nächsten", "letzte", "halben", "später", "jeden").
const RISKY_PREFIXES: &[&str] = &[
    "naechst",
    "uebernaechst",
    "kommend",
    "letzt",
    "vorletzt",
    "vorig",
    "vergangen",
    "jede",
    "halb",
    "viertel",
    "dreiviertel",
    "frueh",
    "spaet",
];

/// Stems that make any word containing them risky.
const RISKY_STEMS: &[&str] = &[
    "tag",
    "woche",
    "monat",
    "jahr",
    "stunde",
    "minute",
    "sekunde",
    "quartal",
    "semester",
    "nacht",
    "abend",
    "mittag",
    "mittwoch",
    "januar",
    "februar",
    "maerz",
    "april",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
    "oster",
    "weihnacht",
    "pfingst",
    "silvester",
    "neujahr",
    "advent",
    "fasching",
    "karneval",
    "fastnacht",
    "himmelfahrt",
    "fronleichnam",
    "heilig",
    "ferien",
    "koenig",
    "reformation",
    "zeitzone",
    "ortszeit",
    "sommer",
    "winter",
    "herbst",
    "morgen",
    "anderthalb",
    "einhalb",
    "europaeisch",
    "weltzeit",
    "normalzeit",
];

impl Scanner<'_, '_> {
    /// Known filler starting at `i` and how many tokens it takes.
    pub(super) fn filler_at(&self, i: usize) -> Option<usize> {
        let t = self.tok(i)?;
        if t.is_any(GREETINGS) && self.word_is(i + 1, GREETED) {
            return Some(2);
        }
        let counts = match t.kind {
            Kind::Num => !t.dot,
            Kind::Word => count_word(t.text).is_some(),
            Kind::Mixed => false,
        };
        (counts && self.word_is(i + 1, COUNTED)).then_some(2)
    }

    /// True when the unexplained token at `k` could change a date or time.
    pub(super) fn is_risky(&self, k: usize) -> bool {
        let Some(t) = self.tok(k) else {
            return false;
        };
        let w = t.text;
        match t.kind {
            Kind::Num | Kind::Mixed => return true,
            Kind::Word => {}
        }
        if FILLER.contains(&w) || TIME_MARKERS.contains(&w) {
            return false;
        }
        let abbreviation = weekday_short(w).is_some() || (month(w).is_some() && w.len() <= 4);
        if abbreviation && self.is_fragment(k) {
            return false;
        }
        cardinal(w).is_some()
            || ordinal(w).is_some()
            || month(w).is_some()
            || weekday_word(w).is_some()
            || weekday_short(w).is_some()
            || day_part(w).is_some()
            // "diesen Termin" moves nothing; "nächsten", "letzten" unexplained might
            || modifier(w).is_some_and(|m| m != WdMod::This)
            || RELATIONS.contains(&w)
            || RISKY_PREFIXES.iter().any(|p| w.starts_with(p))
            || RISKY_STEMS.iter().any(|s| w.contains(s))
    }
}
