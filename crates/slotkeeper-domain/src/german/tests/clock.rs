//! Table tests for `parse_when`'s issue-15 forms: clock-relative times ("jetzt", "in 20
//! Minuten") and day parts without a clock time ("heute Abend", "am Wochenende").

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::{Europe::Berlin, Tz};

use super::{TUE, day, hm};
use crate::german::{DayPart, ParseError, When, parse_date, parse_time, parse_when};

/// Tuesday 2 February 2027, 10:07:30 in Berlin.
fn now() -> DateTime<Tz> {
    Berlin.with_ymd_and_hms(2027, 2, 2, 10, 7, 30).single().expect("unambiguous")
}

fn at(ymd: (i32, u32, u32), h: u32, m: u32) -> When {
    When { date: day(ymd), time: Some(hm(h, m)), part: None, from_now: true }
}

fn part(ymd: (i32, u32, u32), p: DayPart) -> When {
    When { date: day(ymd), time: None, part: Some(p), from_now: false }
}

fn plain(ymd: (i32, u32, u32), h: u32, m: u32) -> When {
    When { date: day(ymd), time: Some(hm(h, m)), part: None, from_now: false }
}

fn check(now: DateTime<Tz>, table: &[(&str, Option<&str>, When)]) {
    let failures: Vec<String> = table
        .iter()
        .filter_map(|(date, time, want)| {
            let got = parse_when(date, *time, now);
            (got != Ok(*want)).then(|| format!("{date:?} + {time:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "now {now}:\n{}", failures.join("\n"));
}

#[test]
fn clock_relative_times_resolve_from_now_rounded_up_to_the_minute() {
    check(
        now(),
        &[
            ("jetzt", None, at(TUE, 10, 8)),
            ("sofort", None, at(TUE, 10, 8)),
            ("gleich", None, at(TUE, 10, 8)),
            ("heute jetzt", None, at(TUE, 10, 8)),
            ("heute", Some("sofort"), at(TUE, 10, 8)),
            ("in 20 Minuten", None, at(TUE, 10, 28)),
            ("in 20 min", None, at(TUE, 10, 28)),
            ("in einer halben Stunde", None, at(TUE, 10, 38)),
            ("in einer Viertelstunde", None, at(TUE, 10, 23)),
            ("in einer viertel Stunde", None, at(TUE, 10, 23)),
            ("in einer Dreiviertelstunde", None, at(TUE, 10, 53)),
            ("in einer Stunde", None, at(TUE, 11, 8)),
            ("in zwei Stunden", None, at(TUE, 12, 8)),
            ("in 2 Stunden", None, at(TUE, 12, 8)),
            ("in anderthalb Stunden", None, at(TUE, 11, 38)),
            ("in eineinhalb Stunden", None, at(TUE, 11, 38)),
            ("heute in 20 Minuten", None, at(TUE, 10, 28)),
            ("Dauerwelle", Some("in einer halben Stunde"), at(TUE, 10, 38)),
            ("heute", Some("in 20 Minuten"), at(TUE, 10, 28)),
        ],
    );
    // on the minute, "jetzt" is that minute
    let sharp = Berlin.with_ymd_and_hms(2027, 2, 2, 10, 15, 0).single().expect("unambiguous");
    check(sharp, &[("jetzt", None, at(TUE, 10, 15))]);
    // late in the evening, two hours from now is tomorrow
    let late = Berlin.with_ymd_and_hms(2027, 2, 2, 23, 30, 0).single().expect("unambiguous");
    check(late, &[("in zwei Stunden", None, at((2027, 2, 3), 1, 30))]);
    // "gleich"/"jetzt" next to another day or time is a filler word
    check(
        now(),
        &[
            ("gleich morgen früh", None, part((2027, 2, 3), DayPart::Morning)),
            ("jetzt am Freitag um 10", None, plain((2027, 2, 5), 10, 0)),
            ("heute gleich um 11", None, plain(TUE, 11, 0)),
        ],
    );
}

#[test]
fn clock_relative_times_never_combine_with_another_day_or_time() {
    for (date, time) in [
        ("morgen in 20 Minuten", None),
        ("in 20 Minuten um 10", None),
        ("heute Abend in 20 Minuten", None),
        ("morgen", Some("in 20 Minuten")),
        ("Freitag", Some("jetzt")),
        ("in 20 Minuten oder so in einer Stunde", None),
        ("in drei viertel Stunden", None),
    ] {
        assert!(
            matches!(parse_when(date, time, now()), Err(ParseError::Unrecognized(_))),
            "{date:?} + {time:?} → {:?}",
            parse_when(date, time, now())
        );
    }
    // without a "now" (parse_date, parse_time) they are not understood
    assert!(matches!(parse_date("in 20 Minuten", day(TUE)), Err(ParseError::Unrecognized(_))));
    assert!(matches!(parse_time("in 20 Minuten"), Err(ParseError::Unrecognized(_))));
    assert!(matches!(parse_time("jetzt"), Err(ParseError::Unrecognized(_))));
    // the end of the calendar is not a panic
    let edge = Berlin.from_utc_datetime(&NaiveDate::MAX.and_hms_opt(21, 0, 0).expect("valid"));
    assert!(parse_when("in zwei Stunden", None, edge).is_err());
}

#[test]
fn day_parts_without_a_clock_time_are_the_result() {
    check(
        now(),
        &[
            ("heute Abend", None, part(TUE, DayPart::Evening)),
            ("morgen früh", None, part((2027, 2, 3), DayPart::Morning)),
            ("morgen Mittag", None, part((2027, 2, 3), DayPart::Noon)),
            ("morgen mittags", None, part((2027, 2, 3), DayPart::Noon)),
            ("am Wochenende", None, part((2027, 2, 6), DayPart::Weekend)),
            ("nächstes Wochenende", None, part((2027, 2, 6), DayPart::Weekend)),
            ("Freitagnachmittag", None, part((2027, 2, 5), DayPart::Afternoon)),
            ("Freitag am Vormittag", None, part((2027, 2, 5), DayPart::Morning)),
            ("heute Morgen", None, part(TUE, DayPart::Morning)),
            ("Montag morgen", None, part((2027, 2, 8), DayPart::Morning)),
            ("morgen", Some("abends"), part((2027, 2, 3), DayPart::Evening)),
            // a time field that says "Mittag" names noon, as `parse_time` does
            ("morgen", Some("mittags"), plain((2027, 2, 3), 12, 0)),
            ("morgen Nacht", None, part((2027, 2, 3), DayPart::Night)),
            ("am Wochenende vormittags", None, part((2027, 2, 6), DayPart::Morning)),
            // with a clock time the part only shifts the hour
            ("heute Abend um 7", None, plain(TUE, 19, 0)),
            ("am Wochenende um 10", None, plain((2027, 2, 6), 10, 0)),
            ("morgen gegen Mittag", None, plain((2027, 2, 3), 12, 0)),
            ("morgen um Mittag", None, plain((2027, 2, 3), 12, 0)),
            ("morgen zu Mittag", None, plain((2027, 2, 3), 12, 0)),
            ("morgen früh", Some("9 Uhr"), plain((2027, 2, 3), 9, 0)),
            ("morgen", None, When { date: day((2027, 2, 3)), time: None, part: None, from_now: false }),
        ],
    );
    for (date, time) in [("morgens und abends", None), ("heute Abend", Some("vormittags um 10 oder 11"))] {
        assert!(parse_when(date, time, now()).is_err(), "{date:?} + {time:?}");
    }
}

#[test]
fn day_part_windows() {
    let d = NaiveDate::from_ymd_opt(2027, 2, 6).expect("valid");
    let w = |p: DayPart| p.window(d).map(|(a, b)| (a.to_string(), b.to_string()));
    let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
    assert_eq!(w(DayPart::Morning), pair("2027-02-06 06:00:00", "2027-02-06 12:00:00"));
    assert_eq!(w(DayPart::Noon), pair("2027-02-06 12:00:00", "2027-02-06 14:00:00"));
    assert_eq!(w(DayPart::Afternoon), pair("2027-02-06 13:00:00", "2027-02-06 18:00:00"));
    assert_eq!(w(DayPart::Evening), pair("2027-02-06 17:00:00", "2027-02-06 22:00:00"));
    assert_eq!(w(DayPart::Night), pair("2027-02-06 22:00:00", "2027-02-07 00:00:00"));
    assert_eq!(w(DayPart::Weekend), pair("2027-02-06 00:00:00", "2027-02-08 00:00:00"));
    assert_eq!(DayPart::Weekend.window(NaiveDate::MAX), None);
    assert_eq!(DayPart::Evening.german_adverb(), "abends");
}

/// The longest forms the criterion bench `german_parse_when_longest_forms` runs, with what
/// each means (the bench's "now": Wednesday 25 November 2026, 09:00 in Berlin).
#[test]
fn the_benchs_longest_forms() {
    let now = Berlin.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).single().expect("unambiguous");
    check(
        now,
        &[
            ("am zweiten Mittwoch im Oktober 2027 um halb elf", None, plain((2027, 10, 13), 10, 30)),
            ("Freitag nach dem nächsten um 10", None, plain((2026, 12, 4), 10, 0)),
            ("morgen in acht Tagen gegen viertel nach drei nachmittags", None, plain((2026, 12, 4), 15, 15)),
            ("am Tag der Deutschen Einheit 2027", Some("viertel vor elf"), plain((2027, 10, 3), 10, 45)),
            ("Christi Himmelfahrt um 11 Uhr", None, plain((2027, 5, 6), 11, 0)),
            ("an Heiligabend", Some("halb zehn"), plain((2026, 12, 24), 9, 30)),
            ("am letzten Freitag im Februar", Some("dreiviertel elf"), plain((2027, 2, 26), 10, 45)),
            ("Dauerwelle für 2 Personen übernächste Woche Dienstag früh", None, part((2026, 12, 8), DayPart::Morning)),
            ("heute", Some("in einer halben Stunde"), at((2026, 11, 25), 9, 30)),
        ],
    );
    assert!(matches!(
        parse_when("Freitag, der 18. Juli 27 um fünf nach halb drei", None, now),
        Err(ParseError::WeekdayMismatch { .. })
    ));
}
