//! Table tests for `parse_date`.

use super::{FRI, SUN, WED, YEAR_END, day};
use chrono::Weekday;

use crate::german::{ParseError, parse_date};

/// Runs a table of (phrase, expected date) against `today`.
fn check(today: (i32, u32, u32), table: &[(&str, (i32, u32, u32))]) {
    let today = day(today);
    let mut failures = Vec::new();
    for &(input, want) in table {
        let got = parse_date(input, today);
        if got != Ok(day(want)) {
            failures.push(format!("{input:?}: got {got:?}, want {:?}", day(want)));
        }
    }
    assert!(failures.is_empty(), "today {today}:\n{}", failures.join("\n"));
}

#[test]
fn relative_days() {
    check(
        WED,
        &[
            ("heute", (2026, 11, 25)),
            ("Heute", (2026, 11, 25)),
            ("morgen", (2026, 11, 26)),
            ("MORGEN", (2026, 11, 26)),
            ("übermorgen", (2026, 11, 27)),
            ("uebermorgen", (2026, 11, 27)),
            ("über morgen", (2026, 11, 27)),
            ("gestern", (2026, 11, 24)),
            ("morgen bitte", (2026, 11, 26)),
            ("Dauerwelle morgen um zehn", (2026, 11, 26)),
            ("heute morgen", (2026, 11, 25)),
            ("morgen früh", (2026, 11, 26)),
            ("am Morgen", (2026, 11, 26)),
            ("heute am Morgen", (2026, 11, 25)),
            ("heute Abend", (2026, 11, 25)),
            ("morgen Nachmittag", (2026, 11, 26)),
        ],
    );
}

#[test]
fn weekdays_from_wednesday() {
    check(
        WED,
        &[
            ("Freitag", (2026, 11, 27)),
            ("am Freitag", (2026, 11, 27)),
            ("freitags", (2026, 11, 27)),
            ("nächsten Freitag", (2026, 11, 27)),
            ("naechsten Freitag", (2026, 11, 27)),
            ("am nächsten Freitag", (2026, 11, 27)),
            ("kommenden Freitag", (2026, 11, 27)),
            ("übernächsten Freitag", (2026, 12, 4)),
            ("uebernaechsten Freitag", (2026, 12, 4)),
            ("über nächsten Freitag", (2026, 12, 4)),
            ("diesen Freitag", (2026, 11, 27)),
            ("diesen Montag", (2026, 11, 30)),
            ("diesen Mittwoch", (2026, 11, 25)),
            ("Mittwoch", (2026, 12, 2)),
            ("Donnerstag", (2026, 11, 26)),
            ("Montag", (2026, 11, 30)),
            ("Sonntag", (2026, 11, 29)),
            ("Sonnabend", (2026, 11, 28)),
            ("Freitagnachmittag", (2026, 11, 27)),
            ("Montag morgen", (2026, 11, 30)),
            ("am Wochenende", (2026, 11, 28)),
            ("nächstes Wochenende", (2026, 11, 28)),
        ],
    );
}

#[test]
fn weekday_short_forms() {
    check(
        WED,
        &[
            ("Mo", (2026, 11, 30)),
            ("Di", (2026, 12, 1)),
            ("Mi", (2026, 12, 2)),
            ("Do", (2026, 11, 26)),
            ("Fr", (2026, 11, 27)),
            ("Sa", (2026, 11, 28)),
            ("So", (2026, 11, 29)),
            ("Mo.", (2026, 11, 30)),
            ("Di.", (2026, 12, 1)),
            ("Mi.", (2026, 12, 2)),
            ("Do.", (2026, 11, 26)),
            ("Fr.", (2026, 11, 27)),
            ("Sa.", (2026, 11, 28)),
            ("So.", (2026, 11, 29)),
            ("am So", (2026, 11, 29)),
            ("nächsten So", (2026, 11, 29)),
            ("So 29.11.", (2026, 11, 29)),
            ("am Fr. um 10", (2026, 11, 27)),
        ],
    );
}

#[test]
fn weekdays_from_friday() {
    check(
        FRI,
        &[
            ("heute", (2026, 11, 27)),
            ("Freitag", (2026, 12, 4)),
            ("am Freitag", (2026, 12, 4)),
            ("nächsten Freitag", (2026, 12, 4)),
            ("kommenden Freitag", (2026, 12, 4)),
            ("diesen Freitag", (2026, 11, 27)),
            ("übernächsten Freitag", (2026, 12, 11)),
            ("diesen Donnerstag", (2026, 12, 3)),
            ("diesen Samstag", (2026, 11, 28)),
            ("Samstag", (2026, 11, 28)),
            ("Donnerstag", (2026, 12, 3)),
            ("nächste Woche Freitag", (2026, 12, 4)),
            ("nächste Woche Montag", (2026, 11, 30)),
            ("Freitag nächste Woche", (2026, 12, 4)),
        ],
    );
}

#[test]
fn weekdays_from_sunday() {
    check(
        SUN,
        &[
            ("Montag", (2026, 11, 30)),
            ("diesen Montag", (2026, 11, 30)),
            ("nächsten Montag", (2026, 11, 30)),
            ("übernächsten Montag", (2026, 12, 7)),
            ("Sonntag", (2026, 12, 6)),
            ("diesen Sonntag", (2026, 11, 29)),
            ("nächste Woche", (2026, 11, 30)),
            ("nächste Woche Montag", (2026, 11, 30)),
            ("nächste Woche Sonntag", (2026, 12, 6)),
            ("übernächste Woche Montag", (2026, 12, 7)),
            // "diese Woche" pins the week, even if the day has passed; the caller rejects it.
            ("diese Woche Samstag", (2026, 11, 28)),
            ("diese Woche", (2026, 11, 29)),
        ],
    );
}

#[test]
fn week_phrases() {
    check(
        WED,
        &[
            ("nächste Woche Dienstag", (2026, 12, 1)),
            ("Dienstag nächste Woche", (2026, 12, 1)),
            ("nächste Woche am Dienstag", (2026, 12, 1)),
            ("Dienstag in der nächsten Woche", (2026, 12, 1)),
            ("naechste Woche Dienstag", (2026, 12, 1)),
            ("kommende Woche Dienstag", (2026, 12, 1)),
            ("nächste Woche", (2026, 11, 30)),
            ("übernächste Woche Montag", (2026, 12, 7)),
            ("übernächste Woche", (2026, 12, 7)),
            ("Dienstag übernächste Woche", (2026, 12, 8)),
            ("diese Woche Freitag", (2026, 11, 27)),
            ("nächsten Dienstag nächste Woche", (2026, 12, 1)),
            ("Freitag in zwei Wochen", (2026, 12, 11)),
            ("in einer Woche am Freitag", (2026, 12, 4)),
        ],
    );
}

#[test]
fn offsets() {
    check(
        WED,
        &[
            ("in zwei Wochen", (2026, 12, 9)),
            ("in 2 Wochen", (2026, 12, 9)),
            ("in drei Tagen", (2026, 11, 28)),
            ("in 3 Tagen", (2026, 11, 28)),
            ("in einem Tag", (2026, 11, 26)),
            ("in einer Woche", (2026, 12, 2)),
            ("in vierzehn Tagen", (2026, 12, 9)),
            ("in acht Tagen", (2026, 12, 3)),
            ("in einem Monat", (2026, 12, 25)),
            ("in zwei Monaten", (2027, 1, 25)),
            ("in einem Jahr", (2027, 11, 25)),
            ("heute in einer Woche", (2026, 12, 2)),
            ("morgen in einer Woche", (2026, 12, 3)),
            ("in zwei wochen bitte", (2026, 12, 9)),
        ],
    );
    // month arithmetic clamps to the end of the month
    check((2027, 1, 31), &[("in einem Monat", (2027, 2, 28)), ("in 2 Monaten", (2027, 3, 31))]);
}

#[test]
fn numeric_dates() {
    check(
        WED,
        &[
            ("26.11.", (2026, 11, 26)),
            ("26.11", (2026, 11, 26)),
            ("26.11.2026", (2026, 11, 26)),
            ("26.11.26", (2026, 11, 26)),
            ("26/11/2026", (2026, 11, 26)),
            ("26/11", (2026, 11, 26)),
            ("2026-11-26", (2026, 11, 26)),
            ("2026-11-26T10:00", (2026, 11, 26)),
            ("2026-11-26 10:00", (2026, 11, 26)),
            ("2026-11-26T10:00:00Z", (2026, 11, 26)),
            ("2026-11-26T10:00:00+01:00", (2026, 11, 26)),
            ("26. 11. 2026", (2026, 11, 26)),
            ("26. 11.", (2026, 11, 26)),
            ("am 26.11.", (2026, 11, 26)),
            ("den 3.12.", (2026, 12, 3)),
            ("3.12", (2026, 12, 3)),
            ("25.11.", (2026, 11, 25)),
            // already past this year → next year
            ("24.11.", (2027, 11, 24)),
            ("10.11", (2027, 11, 10)),
            ("1.1.", (2027, 1, 1)),
            ("29.2.", (2028, 2, 29)),
            ("1.3.2027", (2027, 3, 1)),
            // a year in the past stays as said: the caller rejects it
            ("1.3.2025", (2025, 3, 1)),
        ],
    );
}

#[test]
fn named_months() {
    check(
        WED,
        &[
            ("26. November", (2026, 11, 26)),
            ("26 November", (2026, 11, 26)),
            ("am 26. Nov.", (2026, 11, 26)),
            ("26. Nov 2026", (2026, 11, 26)),
            ("26. November 2027", (2027, 11, 26)),
            ("26ten November", (2026, 11, 26)),
            ("1. März", (2027, 3, 1)),
            ("1. Maerz", (2027, 3, 1)),
            ("1. MÄRZ", (2027, 3, 1)),
            ("erster Dezember", (2026, 12, 1)),
            ("ersten Dezember", (2026, 12, 1)),
            ("am ersten Dezember", (2026, 12, 1)),
            ("der erste Dezember", (2026, 12, 1)),
            ("dritten März", (2027, 3, 3)),
            ("zweiten Januar", (2027, 1, 2)),
            ("siebten Dezember", (2026, 12, 7)),
            ("siebenten Dezember", (2026, 12, 7)),
            ("achten Dezember", (2026, 12, 8)),
            ("zwölften Dezember", (2026, 12, 12)),
            ("sechzehnten Dezember", (2026, 12, 16)),
            ("zwanzigsten Dezember", (2026, 12, 20)),
            ("zwanzigste Dezember", (2026, 12, 20)),
            ("einundzwanzigsten Dezember", (2026, 12, 21)),
            ("dreißigsten Dezember", (2026, 12, 30)),
            ("einunddreißigsten Dezember", (2026, 12, 31)),
            ("einunddreissigster Dezember", (2026, 12, 31)),
            ("3. Jänner", (2027, 1, 3)),
            ("5. Okt.", (2027, 10, 5)),
            ("5 Sept", (2027, 9, 5)),
        ],
    );
}

#[test]
fn weekday_with_a_matching_date() {
    check(
        WED,
        &[
            ("Freitag, den 27. November", (2026, 11, 27)),
            ("Freitag den 27.11.", (2026, 11, 27)),
            ("Fr, 27.11.", (2026, 11, 27)),
            ("Donnerstag, 26. November", (2026, 11, 26)),
            // a date consistent with a relative day is fine
            ("morgen, den 26.11.", (2026, 11, 26)),
            ("morgen, Donnerstag", (2026, 11, 26)),
            ("Samstag in drei Tagen", (2026, 11, 28)),
        ],
    );
}

/// Issue 15: a weekday that does not match the date is asked back, never dropped (this
/// used to resolve to the date and silently ignore the weekday).
#[test]
fn weekday_and_date_that_disagree_are_asked_back() {
    let today = day(WED);
    for (input, date, weekday) in [
        ("Donnerstag, den 27. November", (2026, 11, 27), Weekday::Thu),
        ("Montag, 26.11.", (2026, 11, 26), Weekday::Mon),
        ("Freitag, den dritten", (2026, 12, 3), Weekday::Fri),
        ("morgen, Freitag", (2026, 11, 26), Weekday::Fri),
        ("Sonntag in drei Tagen", (2026, 11, 28), Weekday::Sun),
    ] {
        let got = parse_date(input, today);
        assert_eq!(got, Err(ParseError::WeekdayMismatch { date: day(date), weekday, with_year: false }), "{input:?}");
    }
}

#[test]
fn day_of_month_alone() {
    check(
        WED,
        &[
            ("am 27.", (2026, 11, 27)),
            ("am 27", (2026, 11, 27)),
            ("den 3.", (2026, 12, 3)),
            ("Freitag, den 27.", (2026, 11, 27)),
            ("am siebenundzwanzigsten", (2026, 11, 27)),
            ("am ersten", (2026, 12, 1)),
            ("am 25.", (2026, 11, 25)),
            ("am zweiten", (2026, 12, 2)),
            ("Donnerstag, den dritten", (2026, 12, 3)),
            ("der erste", (2026, 12, 1)),
            ("am Dreißigsten", (2026, 11, 30)),
            ("Sonntag den 29.", (2026, 11, 29)),
        ],
    );
    // 31 does not exist in November; the next 31st is in December
    check(WED, &[("am 31.", (2026, 12, 31))]);
}

#[test]
fn year_end() {
    check(
        YEAR_END,
        &[
            ("5.1.", (2027, 1, 5)),
            ("5. Januar", (2027, 1, 5)),
            ("fünften Januar", (2027, 1, 5)),
            ("31.12.", (2026, 12, 31)),
            ("in zwei Wochen", (2027, 1, 13)),
            ("in 2 Wochen", (2027, 1, 13)),
            ("in einem Monat", (2027, 1, 30)),
            ("übermorgen", (2027, 1, 1)),
            ("Freitag", (2027, 1, 1)),
            ("nächste Woche Montag", (2027, 1, 4)),
            ("am 2.", (2027, 1, 2)),
        ],
    );
}

#[test]
fn invalid_dates() {
    let today = day(WED);
    for (input, shown) in [
        ("31.02.", "31.02."),
        ("32.11.", "32.11."),
        ("30.2.", "30.2."),
        ("31.04.2027", "31.04.2027"),
        ("0.11.", "0.11."),
        ("26.13.", "26.13."),
        ("31. April", "31. April"),
        ("32. November", "32. November"),
        ("29. Februar 2027", "29. Februar 2027"),
        ("2026-02-30", "2026-02-30"),
        ("am 32.", "32."),
        ("99999999999.11.", "99999999999.11."),
        ("morgen, 32.11.", "32.11."),
    ] {
        assert_eq!(parse_date(input, today), Err(ParseError::InvalidDate(shown.to_string())), "{input:?}");
    }
}

#[test]
fn alternatives_in_the_time_do_not_hide_the_date() {
    let today = day(WED);
    for input in ["morgen zwischen zehn und zwölf", "morgen um 10 oder 11", "morgen bis 12 Uhr"] {
        assert_eq!(parse_date(input, today), Ok(day((2026, 11, 26))), "{input:?}");
    }
}

#[test]
fn unrecognized_and_empty() {
    let today = day(WED);
    for input in ["", "   ", ",.!?", "…"] {
        assert_eq!(parse_date(input, today), Err(ParseError::Empty), "{input:?}");
    }
    for input in [
        "irgendwann",
        "um zehn",
        "10:30",
        "Dauerwelle bitte",
        "nächsten Monat",
        "so um 10",
        // contradictions are not guessed
        "morgen, nein übermorgen",
        "26.11. oder 27.11.",
        "am 26. oder 27.",
        "zwischen dem 26. und 28.",
        "Freitag oder Samstag",
        "morgen bzw. übermorgen",
        "Mo - Mi",
        // an ordinal that belongs to another noun is not a day of the month
        "erste Dezemberwoche",
        "dritte Etage",
    ] {
        assert!(
            matches!(parse_date(input, today), Err(ParseError::Unrecognized(_))),
            "{input:?} → {:?}",
            parse_date(input, today)
        );
    }
}
