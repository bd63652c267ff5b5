//! Tests for the formatting functions and the spoken error messages.

use chrono::{NaiveDate, Weekday};

use super::{day, hm};
use crate::german::{ParseError, format_date, format_slot, format_time, month_name, weekday_name};

#[test]
fn slots() {
    let at = |ymd, h, m| day(ymd).and_time(hm(h, m));
    assert_eq!(format_slot(at((2026, 11, 26), 14, 30)), "Donnerstag, 26. November um 14:30 Uhr");
    assert_eq!(format_slot(at((2026, 11, 27), 9, 0)), "Freitag, 27. November um 9:00 Uhr");
    assert_eq!(format_slot(at((2027, 3, 1), 0, 5)), "Montag, 1. März um 0:05 Uhr");
}

#[test]
fn dates_and_times() {
    assert_eq!(format_date(day((2026, 11, 26))), "Donnerstag, 26. November");
    assert_eq!(format_date(day((2027, 1, 1))), "Freitag, 1. Januar");
    assert_eq!(format_time(hm(14, 30)), "14:30 Uhr");
    assert_eq!(format_time(hm(9, 0)), "9:00 Uhr");
    assert_eq!(format_time(hm(0, 0)), "0:00 Uhr");
    assert_eq!(format_time(hm(23, 5)), "23:05 Uhr");
}

#[test]
fn names() {
    let days = [
        (Weekday::Mon, "Montag"),
        (Weekday::Tue, "Dienstag"),
        (Weekday::Wed, "Mittwoch"),
        (Weekday::Thu, "Donnerstag"),
        (Weekday::Fri, "Freitag"),
        (Weekday::Sat, "Samstag"),
        (Weekday::Sun, "Sonntag"),
    ];
    for (wd, name) in days {
        assert_eq!(weekday_name(wd), name);
    }
    let months = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    for (i, name) in months.iter().enumerate() {
        let m = u32::try_from(i + 1).expect("small");
        assert_eq!(month_name(m), *name);
        let d = NaiveDate::from_ymd_opt(2026, m, 1).expect("valid");
        assert!(format_date(d).ends_with(&format!("1. {name}")));
    }
    assert_eq!(month_name(0), "");
    assert_eq!(month_name(13), "");
}

#[test]
fn german_messages() {
    assert_eq!(
        ParseError::InvalidDate("32.11.".into()).german_message(),
        "Das Datum „32.11.“ gibt es leider nicht. Welchen Tag meinen Sie?"
    );
    assert_eq!(
        ParseError::InvalidTime("25 Uhr".into()).german_message(),
        "Die Uhrzeit „25 Uhr“ gibt es leider nicht. Um wie viel Uhr möchten Sie kommen?"
    );
    let unrecognized = ParseError::Unrecognized("blub".into()).german_message();
    assert!(unrecognized.starts_with("Das habe ich leider nicht verstanden."));
    assert!(unrecognized.contains("„morgen um zehn Uhr“"));
    assert!(ParseError::Empty.german_message().ends_with('?'));
    for e in [
        ParseError::Empty,
        ParseError::Unrecognized("x".into()),
        ParseError::InvalidDate("x".into()),
        ParseError::InvalidTime("x".into()),
    ] {
        let msg = e.german_message();
        assert!(!msg.contains("  "), "no double spaces: {msg:?}");
        assert!(msg.ends_with('?'), "{msg:?}");
        assert!(!e.to_string().is_empty());
        let as_error: &dyn std::error::Error = &e;
        assert!(as_error.source().is_none());
    }
}

#[test]
fn long_input_is_clipped_in_errors() {
    let long = "blub ".repeat(100);
    match crate::german::parse_time(&long) {
        Err(ParseError::Unrecognized(t)) => assert!(t.chars().count() <= 61, "{t:?}"),
        other => panic!("unexpected {other:?}"),
    }
}
