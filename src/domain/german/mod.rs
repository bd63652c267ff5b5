//! German date and time phrases for phone bookings ("Dauerwelle morgen um zehn",
//! "nächsten Freitag halb elf") and spoken German labels for dates and times.
//!
//! # What this module guarantees
//!
//! - Pure functions over `std`, `chrono` and `chrono-tz`: no I/O, no globals, no clock reads (callers pass
//!   `today`/`now`). It deals only in *local* `NaiveDate`/`NaiveTime` of the salon's zone;
//!   converting to UTC (and handling DST gaps) is the caller's job.
//! - The parsers never panic, whatever the input (any Unicode, any length, huge numbers);
//!   they run in one linear pass without regular expressions.
//! - The parsers are syntactic and calendar logic only: they do not reject past dates or
//!   closed hours — the caller checks those against opening hours. The one exception is a
//!   date said without a year, which resolves to its next occurrence.
//! - Ambiguity is never guessed away silently: two different dates or two different times
//!   in one phrase, alternatives and ranges ("zwischen zehn und zwölf", "10 bis 12 Uhr",
//!   "13-14 Uhr", "Freitag oder Samstag", "am 26. oder 27.") give
//!   [`ParseError::Unrecognized`] for the part they concern, so the agent asks again.
//!   Invalid dates/times are reported as such ("32.11.", "25 Uhr"), even next to valid ones.
//! - Every label from [`format_date`]/[`format_time`] parses back to the same value.
//!
//! # Input handling
//!
//! Case-insensitive; umlauts may be written out ("naechsten", "uebermorgen", "fuenf",
//! "dreissig", "Maerz"). Unknown words and punctuation are skipped ("am", "um", "den",
//! "ca.", "bitte", "Dauerwelle", commas, quotes).
//!
//! # Dates (relative to `today`)
//!
//! - "heute", "morgen", "übermorgen" (also "gestern", "vorgestern": resolved, the caller
//!   rejects them as past). "heute/gestern morgen" and "Montag morgen" mean the *morning*
//!   of that day. "am Morgen" means tomorrow when the phrase names no other day, otherwise
//!   the morning ("heute am Morgen").
//! - Weekdays, full ("Freitag", "freitags"), short ("Fr", "Fr."; "So" only when it cannot be
//!   the filler "so um zehn": "So.", "am So", "So 29.11."), or compound with a day part
//!   ("Freitagnachmittag"):
//!   - "Freitag", "am Freitag", "nächsten/kommenden Freitag": the next Friday *strictly
//!     after* today (on a Friday that is in 7 days; today is "heute"). German speakers
//!     disagree whether "nächsten Freitag" on a Wednesday means in 2 or in 9 days; we take
//!     the nearest, because the agent reads the resolved date back ("Freitag, 27. November")
//!     and the caller corrects it in conversation.
//!   - "diesen Freitag": the Friday of the current ISO week (Mon–Sun) if today or later,
//!     otherwise the next Friday.
//!   - "übernächsten Freitag": 7 days after "nächsten Freitag".
//!   - "nächste Woche Dienstag", "Dienstag nächste Woche", "nächste Woche am Dienstag": the
//!     Tuesday of the next ISO week; "übernächste Woche" two weeks ahead; "diese Woche
//!     Montag" the Monday of this week (even if past: the week was said explicitly).
//!   - "nächste Woche" alone: Monday of next ISO week; "diese Woche" alone: today.
//!   - "Wochenende" is Saturday ("am Wochenende", "nächstes Wochenende").
//! - "in N Tagen/Wochen/Monaten/Jahren" (digits or words, "in einer Woche", "in einem
//!   Monat"): calendar arithmetic from today (or from "heute"/"morgen" when said: "morgen in
//!   einer Woche"); months keep the day number, clamped to the month's end. "in acht Tagen"
//!   is taken literally (8 days). With a weekday, weeks select the ISO week: "Freitag in
//!   zwei Wochen" is the Friday of the week two weeks ahead.
//! - Numeric: "26.11.", "26.11", "26.11.2026", "26.11.26" (two-digit years are 20xx),
//!   "26/11/2026", "26. 11. 2026", ISO "2026-11-26", "2026-11-26T10:00", "2026-11-26 10:00".
//! - Named months: "26. November", "26 November", "am 26. Nov.", "26. Nov 2026", "1. März",
//!   "erster/ersten Dezember", "dritten März" (ordinal words 1–31 in their declensions).
//! - A day of the month alone: "am 27.", "den 27", "am siebenundzwanzigsten", "Freitag, den
//!   dritten": the next day with that number on or after today. An ordinal word needs "am",
//!   "den", "der", "zum", … or a weekday in front and must not be followed by an unrelated
//!   noun, so "zweiter Weihnachtsfeiertag" is not the 2nd.
//! - Without a year a date is this year's, or the next year's if it is already past;
//!   "29.2." finds the next leap year.
//! - "Freitag, den 27. November": an explicit date wins over a weekday, even if they
//!   disagree (the read-back resolves it). Two different explicit/relative dates conflict.
//! - "10.11" can be a date or a time. With "Uhr"/"h" after it, "um"/"gegen"/"ab"/… before
//!   it, or in `parse_time`, it is a time. With a trailing dot and a month 1–12 ("26.11.",
//!   "0.11.") it is a date, valid or not; "10.30." (sentence end) is a time. Otherwise: a
//!   time if the phrase names the day some other way ("morgen 10.30"), or if a weekday in
//!   the phrase does not match the date ("Freitag 10.11"); else a date if it can be one
//!   ("10.11" → 10 November, "Freitag 4.12" → Friday 4 December, "10.30" → 10:30).
//!
//! # Times
//!
//! - Written clock times "10:30", "10.30 Uhr", "14h", "2026-11-26T10:00:00Z" (seconds and a
//!   `Z`/UTC offset are ignored: agents append them habitually to local times) are literal
//!   24-hour times. Bare four-digit numbers ("1030") are rejected.
//! - Spoken forms: "10 Uhr", "10 Uhr 30", "zehn Uhr dreißig", "um 9", "um zehn dreißig",
//!   "halb elf" = 10:30, "viertel nach zehn" = 10:15, "viertel vor elf" = 10:45,
//!   "dreiviertel elf"/"drei viertel elf" = 10:45, "viertel elf" = 10:15 (regional),
//!   "zehn nach zehn" = 10:10, "fünf vor elf" = 10:55, "fünf nach halb drei" = 14:35,
//!   "kurz nach zehn" = 10:05 and "kurz vor elf" = 10:55 (an approximation the agent reads
//!   back), "Mittag"/"mittags" alone = 12:00, "24 Uhr" = 0:00 (same date). An incomplete
//!   "zehn nach" gives no time rather than 10:00.
//! - In `parse_when`/`parse_date` phrases a bare number is only an hour after "um", "gegen",
//!   "ab", "ca.", "etwa", "so" or next to a day-part word; `parse_time` also takes "10",
//!   "zehn", "eins". Relative clock times ("in zwei Stunden") are not supported.
//! - Day parts (anywhere in the phrase; "am Nachmittag", "morgen früh", "heute Abend"):
//!   - morgens, früh, vormittags: hours as said (7 → 7:00);
//!   - mittags: 1–5 → 13–17, otherwise as said (12 → 12:00);
//!   - nachmittags, abends: 1–11 → 13–23 ("halb drei nachmittags" = 14:30), and "zwölf Uhr
//!     abends" = 0:00;
//!   - nachts: 6–11 → 18–23, 12 → 0:00, 0–5 as said ("drei Uhr nachts" = 3:00). This
//!     deliberately differs from a plain "+12": "um drei nachts" means 3 am in German, and a
//!     3 am booking is rejected by opening hours, whereas 15:00 would be silently wrong.
//! - Without a day part, a *spoken* hour 1–7 means the afternoon (13:00–19:00, also for
//!   "halb acht" = 19:30): a salon is not open at 3 am. 8–12 stay, 0 and 13–24 are
//!   literal. Written clock times ("7:30", "07:30", "07 Uhr") are never shifted, so
//!   `format_time` labels ("9:00 Uhr") round-trip.
//!
//! # `parse_when`
//!
//! The date comes from `date_input` (or, if it has none, from `time_input`: LLMs swap the
//! fields). A time found in `time_input` wins over one in `date_input`; an empty,
//! whitespace-only or `"null"`/`"none"`/`"-"` `time_input` counts as absent. A non-empty
//! `time_input` without a recognisable time falls back to a time in `date_input`, else it is
//! an error (a time the caller gave is never dropped silently).

mod date;
mod format;
mod lexer;
mod numeric;
mod scan;
mod time;
mod words;

#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, NaiveTime};
use chrono_tz::Tz;

pub use format::{format_date, format_slot, format_time, month_name, weekday_name};

use scan::{Mode, Outcome, Scan, clip, scan};

/// A resolved booking phrase: the local date, and the local time if one was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct When {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
}

/// Why a phrase could not be turned into a date or time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing (or only punctuation) was said.
    Empty,
    /// No date/time was found, or the phrase was contradictory; holds the (shortened) input.
    Unrecognized(String),
    /// A date that does not exist ("31.02.", "32.11."); holds the caller's wording.
    InvalidDate(String),
    /// A time that does not exist ("25 Uhr", "10:75"); holds the caller's wording.
    InvalidTime(String),
}

impl ParseError {
    /// A short, polite German sentence the phone agent can read aloud.
    pub fn german_message(&self) -> String {
        match self {
            ParseError::Empty => "Ich habe leider keine Angabe verstanden. An welchem Tag und \
                                  um wie viel Uhr möchten Sie denn kommen?"
                .to_string(),
            ParseError::Unrecognized(_) => "Das habe ich leider nicht verstanden. Können Sie es \
                                            bitte noch einmal sagen, zum Beispiel „morgen um \
                                            zehn Uhr“ oder „Freitag, den 27. November“?"
                .to_string(),
            ParseError::InvalidDate(text) => {
                format!("Das Datum „{text}“ gibt es leider nicht. Welchen Tag meinen Sie?")
            }
            ParseError::InvalidTime(text) => {
                format!("Die Uhrzeit „{text}“ gibt es leider nicht. Um wie viel Uhr möchten Sie kommen?")
            }
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty date/time phrase"),
            ParseError::Unrecognized(t) => write!(f, "unrecognized date/time phrase: {t:?}"),
            ParseError::InvalidDate(t) => write!(f, "invalid date: {t:?}"),
            ParseError::InvalidTime(t) => write!(f, "invalid time: {t:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

fn is_blank(input: &str) -> bool {
    !input.chars().any(char::is_alphanumeric)
}

/// What a caller said about the day. `today` is the local date in the salon's zone.
pub fn parse_date(input: &str, today: NaiveDate) -> Result<NaiveDate, ParseError> {
    if is_blank(input) {
        return Err(ParseError::Empty);
    }
    match scan(input, Mode::Date, today).date {
        Outcome::Found(d) => Ok(d),
        Outcome::Failed(e) => Err(e),
        Outcome::Missing => Err(ParseError::Unrecognized(clip(input))),
    }
}

/// What a caller said about the time of day.
pub fn parse_time(input: &str) -> Result<NaiveTime, ParseError> {
    if is_blank(input) {
        return Err(ParseError::Empty);
    }
    // The date part of a time phrase is ignored, so any reference date will do.
    match scan(input, Mode::Time, NaiveDate::MIN).time {
        Outcome::Found(t) => Ok(t),
        Outcome::Failed(e) => Err(e),
        Outcome::Missing => Err(ParseError::Unrecognized(clip(input))),
    }
}

/// True for a separate time field that carries nothing ("", "null", "-").
fn time_field_absent(input: &str) -> bool {
    let t = input.trim();
    t.is_empty() || t == "-" || ["null", "none", "nil", "undefined", "n/a"].iter().any(|n| t.eq_ignore_ascii_case(n))
}

/// A phrase that may hold a date, a time, or both ("morgen um zehn", "Freitag 14:30",
/// "2026-11-26T10:00"). `time_input` is an optional separate time field; a time found there
/// wins over one in `date_input`. `now` must be in the salon's zone: its local date is
/// "heute".
pub fn parse_when(date_input: &str, time_input: Option<&str>, now: DateTime<Tz>) -> Result<When, ParseError> {
    let today = now.date_naive();
    let time_input = time_input.filter(|t| !time_field_absent(t));
    if is_blank(date_input) && time_input.is_none_or(is_blank) {
        return Err(ParseError::Empty);
    }
    let main = scan(date_input, Mode::Both, today);
    let extra = time_input.map(|t| (t, scan(t, Mode::Time, today)));

    let date = match (main.date, extra.as_ref().map(|(_, s)| &s.date)) {
        (Outcome::Found(d), _) => d,
        (Outcome::Failed(e), _) => return Err(e),
        (Outcome::Missing, Some(Outcome::Found(d))) => *d,
        (Outcome::Missing, Some(Outcome::Failed(e))) => return Err(e.clone()),
        (Outcome::Missing, _) if is_blank(date_input) => return Err(ParseError::Empty),
        (Outcome::Missing, _) => return Err(ParseError::Unrecognized(clip(date_input))),
    };
    let time = match (extra, main.time) {
        (Some((_, Scan { time: Outcome::Found(t), .. })), _) => Some(t),
        (Some((_, Scan { time: Outcome::Failed(e), .. })), _) => return Err(e),
        (Some(_), Outcome::Found(t)) => Some(t),
        (Some((text, _)), Outcome::Missing) => return Err(ParseError::Unrecognized(clip(text))),
        (None, Outcome::Found(t)) => Some(t),
        (None, Outcome::Missing) => None,
        (_, Outcome::Failed(e)) => return Err(e),
    };
    Ok(When { date, time })
}
