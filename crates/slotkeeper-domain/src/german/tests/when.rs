//! Tests for `parse_when`: combined phrases, the separate time field, and DST.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::{Europe::Berlin, Tz};

use super::{WED, day, hm};
use crate::german::{ParseError, When, format_slot, parse_when};

/// Noon in Berlin on `ymd`.
fn noon(ymd: (i32, u32, u32)) -> DateTime<Tz> {
    Berlin.with_ymd_and_hms(ymd.0, ymd.1, ymd.2, 12, 0, 0).single().expect("unambiguous local time")
}

fn when(ymd: (i32, u32, u32), time: Option<(u32, u32)>) -> When {
    When { date: day(ymd), time: time.map(|(h, m)| hm(h, m)), part: None, from_now: false }
}

#[test]
fn combined_phrases() {
    let now = noon(WED);
    let table: &[(&str, Option<&str>, When)] = &[
        ("morgen um zehn", None, when((2026, 11, 26), Some((10, 0)))),
        ("Dauerwelle morgen um zehn", None, when((2026, 11, 26), Some((10, 0)))),
        ("Dauerwelle für 2 Personen morgen um 10", None, when((2026, 11, 26), Some((10, 0)))),
        ("morgen um 10 Uhr 2 Personen", None, when((2026, 11, 26), Some((10, 0)))),
        ("morgen zehn Uhr zwei Personen", None, when((2026, 11, 26), Some((10, 0)))),
        ("nächsten Freitag halb elf", None, when((2026, 11, 27), Some((10, 30)))),
        ("Freitag 14:30", None, when((2026, 11, 27), Some((14, 30)))),
        ("Freitag, 14:30 Uhr", None, when((2026, 11, 27), Some((14, 30)))),
        ("2026-11-26T10:00", None, when((2026, 11, 26), Some((10, 0)))),
        ("2026-11-26 10:00", None, when((2026, 11, 26), Some((10, 0)))),
        ("2026-11-26T10:00:00Z", None, when((2026, 11, 26), Some((10, 0)))),
        ("26.11.2026 10:30", None, when((2026, 11, 26), Some((10, 30)))),
        ("am 26.11. um 9", None, when((2026, 11, 26), Some((9, 0)))),
        ("Freitag, den 27. November um halb elf", None, when((2026, 11, 27), Some((10, 30)))),
        ("übermorgen um drei nachmittags", None, when((2026, 11, 27), Some((15, 0)))),
        ("morgen Nachmittag um drei", None, when((2026, 11, 26), Some((15, 0)))),
        ("morgen früh um 9", None, when((2026, 11, 26), Some((9, 0)))),
        ("heute Abend um sieben", None, when((2026, 11, 25), Some((19, 0)))),
        ("Montag morgen um acht", None, when((2026, 11, 30), Some((8, 0)))),
        ("nächste Woche Dienstag um 10 Uhr", None, when((2026, 12, 1), Some((10, 0)))),
        ("in zwei Wochen um viertel nach zehn", None, when((2026, 12, 9), Some((10, 15)))),
        ("am 3. um 10", None, when((2026, 12, 3), Some((10, 0)))),
        ("morgen zehn Uhr dreißig", None, when((2026, 11, 26), Some((10, 30)))),
        // "10.30" after a day word is a time; alone it would be a date if it could be one
        ("morgen 10.30", None, when((2026, 11, 26), Some((10, 30)))),
        ("10.12", None, when((2026, 12, 10), None)),
        ("morgen 10.12", None, when((2026, 11, 26), Some((10, 12)))),
        ("10.12 um 10.30", None, when((2026, 12, 10), Some((10, 30)))),
        // with a weekday, "d.m" is a date if the weekday matches, else a time
        ("Freitag 4.12", None, when((2026, 12, 4), None)),
        ("Fr 4.12 um 10", None, when((2026, 12, 4), Some((10, 0)))),
        ("Freitag 10.30", None, when((2026, 11, 27), Some((10, 30)))),
        ("Freitag 10.11", None, when((2026, 11, 27), Some((10, 11)))),
        // sentence-final dot after a time
        ("morgen um 10.30.", None, when((2026, 11, 26), Some((10, 30)))),
        ("Ich komme morgen 10.30.", None, when((2026, 11, 26), Some((10, 30)))),
        ("Montag, 30. November 2026, 10:00 Uhr", None, when((2026, 11, 30), Some((10, 0)))),
        ("am dritten um 10", None, when((2026, 12, 3), Some((10, 0)))),
        ("morgen gegen Mittag", None, when((2026, 11, 26), Some((12, 0)))),
        ("morgen Mittag um 1", None, when((2026, 11, 26), Some((13, 0)))),
        ("Termin - morgen", None, when((2026, 11, 26), None)),
        ("morgen", None, when((2026, 11, 26), None)),
        ("Freitag", None, when((2026, 11, 27), None)),
        // the separate time field
        ("morgen", Some("10:30"), when((2026, 11, 26), Some((10, 30)))),
        ("morgen", Some("halb elf"), when((2026, 11, 26), Some((10, 30)))),
        ("morgen", Some("10"), when((2026, 11, 26), Some((10, 0)))),
        ("morgen", Some("3"), when((2026, 11, 26), Some((15, 0)))),
        ("morgen um 9", Some("14:00"), when((2026, 11, 26), Some((14, 0)))),
        ("morgen um 25 Uhr", Some("10:00"), when((2026, 11, 26), Some((10, 0)))),
        ("morgen um 10", Some(""), when((2026, 11, 26), Some((10, 0)))),
        ("morgen um 10", Some("null"), when((2026, 11, 26), Some((10, 0)))),
        ("morgen um 10", Some(" - "), when((2026, 11, 26), Some((10, 0)))),
        ("morgen", None, when((2026, 11, 26), None)),
        ("morgen", Some("None"), when((2026, 11, 26), None)),
        // the time field without a time falls back to the date field's time
        ("morgen um 10", Some("bitte"), when((2026, 11, 26), Some((10, 0)))),
        // swapped fields
        ("10 Uhr", Some("morgen"), when((2026, 11, 26), Some((10, 0)))),
        ("", Some("morgen um 10"), when((2026, 11, 26), Some((10, 0)))),
        ("um 10", Some("Freitag"), when((2026, 11, 27), Some((10, 0)))),
        // "10.11" in the time field is a time
        ("morgen", Some("10.11"), when((2026, 11, 26), Some((10, 11)))),
    ];
    let mut failures = Vec::new();
    for (date, time, want) in table {
        let got = parse_when(date, *time, now);
        if got != Ok(*want) {
            failures.push(format!("{date:?} + {time:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors() {
    let now = noon(WED);
    assert_eq!(parse_when("", None, now), Err(ParseError::Empty));
    assert_eq!(parse_when("  ", Some(" "), now), Err(ParseError::Empty));
    assert_eq!(parse_when("", Some("10 Uhr"), now), Err(ParseError::Empty));
    assert_eq!(parse_when("morgen um 25 Uhr", None, now), Err(ParseError::InvalidTime("25 Uhr".into())));
    assert_eq!(parse_when("morgen", Some("10:75"), now), Err(ParseError::InvalidTime("10:75".into())));
    assert_eq!(parse_when("32.11. um 10", None, now), Err(ParseError::InvalidDate("32.11.".into())));
    assert_eq!(parse_when("31.02.", Some("10:00"), now), Err(ParseError::InvalidDate("31.02.".into())));
    for (date, time) in [
        ("um 10", None),
        ("irgendwann", None),
        ("morgen", Some("irgendwann")),
        ("morgen, nein übermorgen", None),
        ("morgen zwischen zehn und zwölf", None),
        ("morgen 10 bis 12 Uhr", None),
        ("morgen um 10 oder 11", None),
        ("am 26. oder 27. um 10", None),
        ("morgen", Some("10 oder 11")),
        ("morgen 13-14 Uhr", None),
        ("morgen 10 - 12 Uhr", None),
        ("morgen 10–12 Uhr", None),
        ("morgen 13:00-14:00", None),
        ("Mo - Mi um 10", None),
        // issue 15: a bare number without a marker is neither a time nor a date here, so
        // it is not understood (this used to drop the "10" and answer tomorrow)
        ("morgen 10", None),
    ] {
        assert!(
            matches!(parse_when(date, time, now), Err(ParseError::Unrecognized(_))),
            "{date:?} + {time:?} → {:?}",
            parse_when(date, time, now)
        );
    }
}

#[test]
fn dst_spring_forward() {
    // Saturday before the change to summer time in Europe/Berlin (2026-03-29, 02:00 → 03:00).
    let now = Berlin.with_ymd_and_hms(2026, 3, 28, 18, 0, 0).single().expect("unambiguous");
    let w = parse_when("morgen um 10", None, now).expect("parses");
    assert_eq!(w, when((2026, 3, 29), Some((10, 0))));
    let local = w.date.and_time(w.time.expect("has time"));
    assert_eq!(format_slot(local), "Sonntag, 29. März um 10:00 Uhr");
    // the caller converts local → UTC; 10:00 on that Sunday is summer time (UTC+2)
    let utc = Berlin.from_local_datetime(&local).single().expect("10:00 exists").with_timezone(&Utc);
    assert_eq!(utc, Utc.with_ymd_and_hms(2026, 3, 29, 8, 0, 0).single().expect("valid"));
    // the skipped hour is still a valid *local* reading; resolving it is the caller's job
    let gap = parse_when("morgen um halb drei nachts", None, now).expect("parses");
    assert_eq!(gap, when((2026, 3, 29), Some((2, 30))));
    assert!(Berlin.from_local_datetime(&gap.date.and_time(hm(2, 30))).single().is_none());
}

#[test]
fn today_is_the_local_date_of_now() {
    // 23:30 UTC on 28 March is already 29 March in Berlin
    let utc = Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).single().expect("valid");
    let now = utc.with_timezone(&Berlin);
    let w = parse_when("heute", None, now).expect("parses");
    assert_eq!(w.date, NaiveDate::from_ymd_opt(2026, 3, 29).expect("valid"));
    let w = parse_when("morgen", None, now).expect("parses");
    assert_eq!(w.date, NaiveDate::from_ymd_opt(2026, 3, 30).expect("valid"));
}

#[test]
fn autumn_dst_and_year_end() {
    let now = noon((2026, 10, 24));
    assert_eq!(parse_when("morgen um 10", None, now), Ok(when((2026, 10, 25), Some((10, 0)))));
    let now = noon((2026, 12, 30));
    assert_eq!(parse_when("5.1. um halb elf", None, now), Ok(when((2027, 1, 5), Some((10, 30)))));
    assert_eq!(parse_when("in zwei Wochen", Some("14 Uhr"), now), Ok(when((2027, 1, 13), Some((14, 0)))));
}
