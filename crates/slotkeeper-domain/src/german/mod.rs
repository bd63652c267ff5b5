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
//! - **Never a wrong day: understand it or ask.** Every word either contributes to the
//!   meaning, is known filler, or cannot change a date or time ("Dauerwelle", "bitte"). A word
//!   that could change one — a number, an ordinal, "letzte", "nach", "vor", "übernächste", a
//!   year, a month or weekday name, a holiday, a unit, a time zone — and is not understood
//!   makes the phrase [`ParseError::Unrecognized`]: no date is built from the rest. The
//!   classification is structural (see `rule.rs`), not a list of phrases.
//! - The parsers are syntactic and calendar logic only: they do not reject past dates or
//!   closed hours — the caller checks those against opening hours and its booking horizon.
//!   Past references ("gestern", "letzten Dienstag", "vor zwei Wochen") resolve to the past
//!   date, never to a future one. A date said without a year resolves to its next occurrence.
//! - Ambiguity is never guessed away silently: two different dates or two different times
//!   in one phrase, alternatives and ranges ("zwischen zehn und zwölf", "10 bis 12 Uhr",
//!   "13-14 Uhr", "Freitag oder Samstag", "am 26. oder 27.") give
//!   [`ParseError::Unrecognized`] for the part they concern, so the agent asks again. A weekday
//!   that does not match the date ("Freitag, der 18. Juli" when the 18th is a Thursday) gives
//!   [`ParseError::WeekdayMismatch`], whose message names both options.
//!   Invalid dates/times are reported as such ("32.11.", "25 Uhr"), even next to valid ones.
//! - Every label from [`format_date`]/[`format_time`] parses back to the same value.
//!
//! # Input handling
//!
//! Case-insensitive; umlauts may be written out ("naechsten", "uebermorgen", "fuenf",
//! "dreissig", "Maerz"). Punctuation separates words; apostrophes, soft hyphens and
//! zero-width characters join them ("Mi’chelle" is one word). Abbreviations ("Mi", "Fr",
//! "Jan") count only as words of their own, never as a fragment of a hyphenated or
//! digit-glued word ("Mi-Ra"). Known filler: greetings ("Guten Tag", "guten Morgen"), counted
//! people ("für 2 Personen"), time markers ("so", "ca.", "frühestens"), "Uhrzeit", "Termin".
//!
//! # Dates (relative to `today`)
//!
//! - "heute", "morgen", "übermorgen"; "gestern", "vorgestern" (resolved, the caller rejects
//!   them as past). "heute/gestern morgen" and "Montag morgen" mean the *morning* of that day.
//!   "am Morgen" means tomorrow when the phrase names no other day, otherwise the morning
//!   ("heute am Morgen").
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
//!   - "übernächsten Freitag", "Freitag nach dem nächsten": 7 days after "nächsten Freitag".
//!   - "letzten/vorigen/vergangenen Dienstag": the Tuesday strictly before today;
//!     "vorletzten Dienstag" 7 days before that.
//!   - "nächste Woche Dienstag", "Dienstag nächste Woche", "nächste Woche am Dienstag": the
//!     Tuesday of the next ISO week; "übernächste Woche" two weeks ahead; "letzte/vorige
//!     Woche" one back, "vorletzte Woche" two; "diese Woche Montag" the Monday of this week
//!     (even if past: the week was said explicitly).
//!   - "nächste Woche" alone: Monday of next ISO week; "diese Woche" alone: today.
//!   - "Wochenende" is Saturday ("am Wochenende", "nächstes Wochenende"); without a clock
//!     time it is the day part [`DayPart::Weekend`] (Saturday and Sunday).
//!   - Ordinal weekday of a month: "erster/zweiter/dritter/vierter/fünfter/letzter Samstag im
//!     März", "am 2. Mittwoch im Oktober 2027". Without a year the next occurrence on or after
//!     today; a fifth weekday that does not exist is an invalid date. An ordinal weekday
//!     without its month ("am ersten Samstag") is not understood.
//! - "in N Tagen/Wochen/Monaten/Jahren" (digits or words, "in einer Woche", "in einem
//!   Monat"): calendar arithmetic from today (or from "heute"/"morgen" when said: "morgen in
//!   acht Tagen"); months keep the day number, clamped to the month's end. "in acht Tagen"
//!   is taken literally (8 days). With a weekday, weeks select the ISO week: "Freitag in
//!   zwei Wochen" is the Friday of the week two weeks ahead. "vor N Tagen/Wochen/…" counts
//!   back (a past date).
//! - Numeric: "26.11.", "26.11", "26.11.2026", "26.11.26", "14.4.27" (two-digit years are
//!   20xx), "26/11/2026", "26. 11. 2026", "26.11. 2027", ISO "2026-11-26", "2026-11-26T10:00",
//!   "2026-11-26 10:00".
//! - Named months, day first: "26. November", "26 November", "am 26. Nov.", "24. Feb.",
//!   "26. Nov 2026", "18. Juli 27", "1. März", "erster/ersten Dezember", "dritten März"
//!   (ordinal words 1–31 in their declensions); month first: "März 3", "Feb 24",
//!   "April 14, 2027".
//! - Years on any date form: four digits, or two digits 25–99 (20xx). A two-digit 0–24 after
//!   a date could as well be an hour ("18. Juli 10"), so it is not taken as a year and the
//!   phrase is unrecognised.
//! - Holidays by name resolve to their date (with an optional year): Neujahr, Heilige Drei
//!   Könige, Karfreitag, Ostersonntag, Ostermontag, Tag der Arbeit, Christi Himmelfahrt,
//!   Pfingstsonntag, Pfingstmontag, Fronleichnam, Tag der Deutschen Einheit, Reformationstag,
//!   Allerheiligen, Heiligabend, 1./2. Weihnachtstag (also "-feiertag"), Silvester. Easter is
//!   computed (Gauss/anonymous Gregorian algorithm). "Ostern", "Weihnachten", "Pfingsten"
//!   name several days and are not understood.
//! - A day of the month alone: "am 27.", "den 27", "am siebenundzwanzigsten", "Freitag, den
//!   dritten": the next day with that number on or after today. An ordinal word needs "am",
//!   "den", "der", "zum", … or a weekday in front and must not be followed by an unrelated
//!   noun.
//! - Without a year a date is this year's, or the next year's if it is already past;
//!   "29.2." finds the next leap year.
//! - A weekday next to a date must be that date's weekday ("Freitag, den 27. November");
//!   otherwise the phrase gives [`ParseError::WeekdayMismatch`] and the caller is asked
//!   ("Der 18. Juli ist ein Donnerstag — meinen Sie Donnerstag, den 18., oder Freitag, den
//!   19. Juli?"). A week said with it ("Freitag nächste Woche, den 11.12.") must hold the date.
//!   Two different explicit/relative dates conflict.
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
//!   24-hour times. Bare four-digit numbers ("1030") are rejected. Spoken time zones ("10 Uhr
//!   UTC", "MEZ") are not understood.
//! - Spoken forms: "10 Uhr", "10 Uhr 30", "zehn Uhr dreißig", "um 9", "um zehn dreißig",
//!   "halb elf" = 10:30, "viertel nach zehn" = 10:15, "viertel vor elf" = 10:45,
//!   "dreiviertel elf"/"drei viertel elf" = 10:45, "viertel elf" = 10:15 (regional),
//!   "zehn nach zehn" = 10:10, "fünf vor elf" = 10:55, "fünf nach halb drei" = 14:35,
//!   "kurz nach zehn" = 10:05 and "kurz vor elf" = 10:55 (an approximation the agent reads
//!   back), "um/gegen/zu Mittag" = 12:00, "24 Uhr" = 0:00 (same date). An incomplete
//!   "zehn nach" is not understood.
//! - In `parse_when`/`parse_date` phrases a bare number is only an hour after "um", "gegen",
//!   "ab", "ca.", "etwa", "so" or next to a day-part word; `parse_time` also takes "10",
//!   "zehn", "eins". A bare number that is neither a time nor a date ("morgen 10") is not
//!   understood, so the phrase is unrecognised.
//! - Clock-relative times (`parse_when` only, it has `now`): "jetzt", "sofort", "gleich"
//!   (now — unless the phrase names another day or time: "gleich morgen früh" is tomorrow
//!   morning), "in 20 Minuten", "in einer halben Stunde", "in einer Viertelstunde", "in zwei
//!   Stunden", "in anderthalb Stunden". They resolve to `now + Δ`, rounded up to the whole
//!   minute, with [`When::from_now`] set; the date is that instant's (after midnight, the
//!   next day). Rounding up to the salon's slot grid and its minimum notice is the booking
//!   layer's job (it knows the grid). In `parse_date`/`parse_time` they are unrecognised.
//! - Day parts (anywhere in the phrase; "am Nachmittag", "morgen früh", "heute Abend"):
//!   - morgens, früh, vormittags: hours as said (7 → 7:00);
//!   - mittags: 1–5 → 13–17, otherwise as said (12 → 12:00);
//!   - nachmittags, abends: 1–11 → 13–23 ("halb drei nachmittags" = 14:30), and "zwölf Uhr
//!     abends" = 0:00;
//!   - nachts: 6–11 → 18–23, 12 → 0:00, 0–5 as said ("drei Uhr nachts" = 3:00). This
//!     deliberately differs from a plain "+12": "um drei nachts" means 3 am in German, and a
//!     3 am booking is rejected by opening hours, whereas 15:00 would be silently wrong.
//!   - Said without a clock time, a day part is the result: [`When::part`] ("heute Abend",
//!     "morgen früh", "morgen Mittag", "am Wochenende"), with the hour ranges of
//!     [`DayPart::window`] (Morning 06–12, Noon 12–14, Afternoon 13–18, Evening 17–22, Night
//!     22–24, Weekend Saturday 00:00 – Monday 00:00). "Mittag" alone in a time field (and
//!     in `parse_time`) is 12:00; `parse_time` has no day parts, the others alone are
//!     unrecognised there.
//! - Without a day part, a *spoken* hour 1–7 means the afternoon (13:00–19:00, also for
//!   "halb acht" = 19:30): a salon is not open at 3 am. 8–12 stay, 0 and 13–24 are
//!   literal. Written clock times ("7:30", "07:30", "07 Uhr") are never shifted, so
//!   `format_time` labels ("9:00 Uhr") round-trip.
//!
//! # `parse_when`
//!
//! The date comes from `date_input` (or, if it has none, from `time_input`: LLMs swap the
//! fields); a different date in `time_input` conflicts. A time (or day part) found in
//! `time_input` wins over one in `date_input`; an empty, whitespace-only or
//! `"null"`/`"none"`/`"-"` `time_input` counts as absent. A non-empty `time_input` without a
//! recognisable time falls back to a time in `date_input`, else it is an error (a time the
//! caller gave is never dropped silently).

mod date;
mod daypart;
mod format;
mod holidays;
mod lexer;
mod numeric;
mod relative;
mod resolve;
mod rule;
mod scan;
mod time;
mod weekdays;
mod words;

#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

pub use daypart::DayPart;
pub use format::{format_date, format_slot, format_time, month_name, nearest_weekday, weekday_name, weekday_question};

use scan::{Mode, Outcome, Scan, clip, scan};

/// A resolved booking phrase: the local date, and the local time or part of the day if one
/// was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct When {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    /// A part of the day said *without* a clock time ("heute Abend", "morgen früh", "am
    /// Wochenende"): the caller wants the earliest free start in [`DayPart::window`]. `None`
    /// whenever `time` is set.
    pub part: Option<DayPart>,
    /// `time` was said relative to now ("jetzt", "in 20 Minuten"): it is `now + Δ` to the
    /// minute, not yet on any slot grid.
    pub from_now: bool,
}

/// Why a phrase could not be turned into a date or time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing (or only punctuation) was said.
    Empty,
    /// No date/time was found, the phrase was contradictory, or a word that could change the
    /// date or time was not understood; holds the (shortened) input.
    Unrecognized(String),
    /// A date that does not exist ("31.02.", "32.11."); holds the caller's wording.
    InvalidDate(String),
    /// A time that does not exist ("25 Uhr", "10:75"); holds the caller's wording.
    InvalidTime(String),
    /// The weekday said is not the date's ("Freitag, der 18. Juli" on a Thursday). `date` is
    /// the date as said, `weekday` the weekday as said; `with_year` when the date is not in
    /// the current year, so the question names it.
    WeekdayMismatch { date: NaiveDate, weekday: Weekday, with_year: bool },
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
            ParseError::WeekdayMismatch { date, weekday, with_year } => weekday_question(*date, *weekday, *with_year),
        }
    }

    /// For [`ParseError::WeekdayMismatch`]: the two days the caller may have meant — the
    /// date as said, and the nearest day with the weekday as said.
    pub fn weekday_options(&self) -> Option<(NaiveDate, NaiveDate)> {
        match self {
            ParseError::WeekdayMismatch { date, weekday, .. } => Some((*date, nearest_weekday(*date, *weekday))),
            _ => None,
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
            ParseError::WeekdayMismatch { date, weekday, .. } => {
                write!(f, "weekday {weekday} does not match {date} (a {})", chrono::Datelike::weekday(date))
            }
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
    match scan(input, Mode::Date, today, None).date {
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
    match scan(input, Mode::Time, NaiveDate::MIN, None).time {
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
/// "2026-11-26T10:00", "heute Abend", "in 20 Minuten"). `time_input` is an optional separate
/// time field; a time found there wins over one in `date_input`. `now` must be in the salon's
/// zone: its local date is "heute", its local time the start of clock-relative times.
pub fn parse_when(date_input: &str, time_input: Option<&str>, now: DateTime<Tz>) -> Result<When, ParseError> {
    let today = now.date_naive();
    let local_now = Some(now.naive_local());
    let time_input = time_input.filter(|t| !time_field_absent(t));
    if is_blank(date_input) && time_input.is_none_or(is_blank) {
        return Err(ParseError::Empty);
    }
    let main = scan(date_input, Mode::Both, today, local_now);
    let extra = time_input.map(|t| (t, scan(t, Mode::Time, today, local_now)));

    let date = match (main.date, extra.as_ref().map(|(_, s)| &s.date)) {
        (Outcome::Failed(e), _) => return Err(e),
        (Outcome::Found(d), Some(Outcome::Found(other))) if *other != d => {
            return Err(ParseError::Unrecognized(clip(date_input)));
        }
        (Outcome::Found(_), Some(Outcome::Failed(e))) => return Err(e.clone()),
        (Outcome::Found(d), _) => d,
        (Outcome::Missing, Some(Outcome::Found(d))) => *d,
        (Outcome::Missing, Some(Outcome::Failed(e))) => return Err(e.clone()),
        (Outcome::Missing, _) if is_blank(date_input) => return Err(ParseError::Empty),
        (Outcome::Missing, _) => return Err(ParseError::Unrecognized(clip(date_input))),
    };
    let at = |t: NaiveTime, from_now: bool| When { date, time: Some(t), part: None, from_now };
    let within = |p: Option<DayPart>| When { date, time: None, part: p, from_now: false };
    let Scan { time: main_time, part: main_part, from_now: main_from_now, .. } = main;
    match (extra, main_time) {
        (Some((_, Scan { time: Outcome::Found(t), from_now, .. })), _) => Ok(at(t, from_now)),
        (Some((_, Scan { time: Outcome::Failed(e), .. })), _) => Err(e),
        (Some((_, Scan { part: Some(p), .. })), Outcome::Missing) => Ok(within(Some(p))),
        (Some(_), Outcome::Found(t)) => Ok(at(t, main_from_now)),
        (Some(_), Outcome::Missing) if main_part.is_some() => Ok(within(main_part)),
        (Some((text, _)), Outcome::Missing) => Err(ParseError::Unrecognized(clip(text))),
        (None, Outcome::Found(t)) => Ok(at(t, main_from_now)),
        (None, Outcome::Missing) => Ok(within(main_part)),
        (_, Outcome::Failed(e)) => Err(e),
    }
}
