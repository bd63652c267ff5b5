//! Holidays by name: Easter computed, every listed holiday with its exact date.

use super::{TUE, day};
use crate::german::holidays::easter;
use crate::german::{ParseError, parse_date};

#[test]
fn easter_sundays() {
    // Known Easter Sundays, including the extremes 22 March (1818, 2285) and 25 April (1943, 2038).
    for (y, m, d) in [
        (1818, 3, 22),
        (1943, 4, 25),
        (2000, 4, 23),
        (2024, 3, 31),
        (2025, 4, 20),
        (2026, 4, 5),
        (2027, 3, 28),
        (2028, 4, 16),
        (2038, 4, 25),
        (2285, 3, 22),
    ] {
        assert_eq!(easter(y), Some(day((y, m, d))), "{y}");
    }
    assert_eq!(easter(1582), None);
    assert_eq!(easter(10_000), None);
    assert_eq!(easter(i32::MIN), None);
}

#[test]
fn every_holiday_by_name() {
    let today = day(TUE);
    let table: &[(&str, (i32, u32, u32))] = &[
        ("Neujahr", (2028, 1, 1)),
        ("an Neujahr", (2028, 1, 1)),
        ("Heilige Drei Könige", (2028, 1, 6)),
        ("Heilige-Drei-Könige", (2028, 1, 6)),
        ("am Dreikönigstag", (2028, 1, 6)),
        ("Karfreitag", (2027, 3, 26)),
        ("Ostersonntag", (2027, 3, 28)),
        ("Ostermontag", (2027, 3, 29)),
        ("am Tag der Arbeit", (2027, 5, 1)),
        ("Christi Himmelfahrt", (2027, 5, 6)),
        ("an Himmelfahrt", (2027, 5, 6)),
        ("Pfingstsonntag", (2027, 5, 16)),
        ("Pfingstmontag", (2027, 5, 17)),
        ("Fronleichnam", (2027, 5, 27)),
        ("Tag der Deutschen Einheit", (2027, 10, 3)),
        ("am Tag der Einheit", (2027, 10, 3)),
        ("Reformationstag", (2027, 10, 31)),
        ("Allerheiligen", (2027, 11, 1)),
        ("an Heiligabend", (2027, 12, 24)),
        ("am Heiligen Abend", (2027, 12, 24)),
        ("1. Weihnachtstag", (2027, 12, 25)),
        ("am ersten Weihnachtsfeiertag", (2027, 12, 25)),
        ("2. Weihnachtstag", (2027, 12, 26)),
        ("zweiter Weihnachtsfeiertag", (2027, 12, 26)),
        ("Silvester", (2027, 12, 31)),
        // with a year; in 2026 Easter is on 5 April
        ("Karfreitag 2026", (2026, 4, 3)),
        ("Pfingstmontag 2026", (2026, 5, 25)),
        ("Fronleichnam 2026", (2026, 6, 4)),
        ("Christi Himmelfahrt 2028", (2028, 5, 25)),
        ("Silvester 27", (2027, 12, 31)),
        // a holiday with its (matching) weekday
        ("Freitag, Heiligabend", (2027, 12, 24)),
    ];
    let failures: Vec<String> = table
        .iter()
        .filter_map(|&(input, want)| {
            let got = parse_date(input, today);
            (got != Ok(day(want))).then(|| format!("{input:?}: got {got:?}, want {:?}", day(want)))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // today is Easter Monday: it is today, and after it the next year's
    assert_eq!(parse_date("Ostermontag", day((2027, 3, 29))), Ok(day((2027, 3, 29))));
    assert_eq!(parse_date("Ostermontag", day((2027, 3, 30))), Ok(day((2028, 4, 17))));
    assert_eq!(parse_date("Ostersonntag 1500", today), Err(ParseError::InvalidDate("ostersonntag 1500".into())));
    // several days or none: not understood
    for input in ["Ostern", "Weihnachten", "Pfingsten", "dritter Weihnachtstag", "Weihnachtstag", "Tag der Liebe"] {
        assert!(matches!(parse_date(input, today), Err(ParseError::Unrecognized(_))), "{input:?}");
    }
}
