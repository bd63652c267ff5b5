//! Fuzz target: the German date/time parser (`domain::german`) with arbitrary text, as callers'
//! words reach it through `check_availability` and `reschedule_booking`.
//!
//! Input: `<date phrase>` or `<date phrase>\n<time field>` (invalid UTF-8 is replaced, as the
//! JSON layer never delivers it). "Now" is one of a few reference instants, picked by the input's
//! length: an ordinary day, both DST changes, a year end, a leap day, and the ends of chrono's range.
//!
//! Invariants (from the module's guarantees):
//! 1. the parsers never panic, on any input and any reference date;
//! 2. an error echoes at most 60 characters of the caller's text (plus "…"), so the agent never
//!    reads a whole hostile payload aloud;
//! 3. a time field that is blank or `null` counts as absent;
//! 4. a time the separate time field names wins over one in the date phrase (unless the field is
//!    a placeholder such as `null`, which counts as absent);
//! 5. every time the parser returns formats to a label that parses back to the same time.
#![no_main]

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::{Europe::Berlin, Tz};
use libfuzzer_sys::fuzz_target;
use slotkeeper::domain::german::{ParseError, When, format_time, parse_date, parse_time, parse_when};

/// `ECHO_MAX_CHARS` of the parser, plus the ellipsis it appends.
const ECHO_MAX: usize = 61;

fn reference_instants() -> [DateTime<Tz>; 8] {
    let noon = |y, m, d| Berlin.with_ymd_and_hms(y, m, d, 12, 0, 0).single().expect("noon exists");
    let edge = |date: NaiveDate| Berlin.from_utc_datetime(&date.and_hms_opt(12, 0, 0).expect("noon"));
    [
        noon(2026, 11, 25),
        noon(2026, 3, 29),
        noon(2026, 10, 25),
        noon(2026, 12, 31),
        noon(2028, 2, 29),
        noon(2026, 1, 1),
        edge(NaiveDate::MAX.pred_opt().expect("a day before the last")),
        edge(NaiveDate::MIN.succ_opt().expect("a day after the first")),
    ]
}

fn check_echo(result: &Result<impl std::fmt::Debug, ParseError>) {
    if let Err(ParseError::Unrecognized(text) | ParseError::InvalidDate(text) | ParseError::InvalidTime(text)) = result
    {
        assert!(text.chars().count() <= ECHO_MAX, "an error echoes {} characters: {result:?}", text.chars().count());
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (date, time) = match text.split_once('\n') {
        Some((date, time)) => (date, Some(time)),
        None => (&*text, None),
    };
    let instants = reference_instants();
    let now = instants[data.len() % instants.len()];

    let when = parse_when(date, time, now);
    check_echo(&when);
    check_echo(&parse_date(date, now.date_naive()));
    let time_alone = time.map(parse_time);
    if let Some(parsed) = &time_alone {
        check_echo(parsed);
    }

    let without = parse_when(date, None, now);
    for absent in ["", "  ", "null"] {
        assert_eq!(parse_when(date, Some(absent), now), without, "time field {absent:?} must count as absent");
    }
    // A placeholder time field ("null" is also the German word for zero) counts as absent.
    let placeholder = time.is_some_and(|t| {
        ["", "-", "null", "none", "nil", "undefined", "n/a"].iter().any(|p| t.trim().eq_ignore_ascii_case(p))
    });
    if let (Some(Ok(said)), Ok(found), false) = (&time_alone, &when, placeholder) {
        assert_eq!(found.time, Some(*said), "the time field's time wins: {date:?} / {time:?}");
    }
    if let Ok(When { time: Some(t), .. }) = &when {
        let label = format_time(*t);
        assert_eq!(parse_time(&label), Ok(*t), "label {label:?} parses back");
    }
});
