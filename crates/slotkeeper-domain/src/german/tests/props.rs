//! Property tests: the parsers never panic, and formatted labels parse back.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Europe::Berlin;
use proptest::prelude::*;

use crate::german::{format_date, format_slot, format_time, parse_date, parse_time, parse_when};

/// Words and fragments the grammar reacts to, so random sequences reach deep paths.
const VOCAB: &[&str] = &[
    "heute",
    "morgen",
    "übermorgen",
    "gestern",
    "am",
    "um",
    "den",
    "der",
    "in",
    "ein",
    "einer",
    "einem",
    "zwei",
    "drei",
    "zehn",
    "elf",
    "zwölf",
    "eins",
    "null",
    "fünfundvierzig",
    "halb",
    "viertel",
    "dreiviertel",
    "nach",
    "vor",
    "kurz",
    "Uhr",
    "h",
    "und",
    "Minuten",
    "Tagen",
    "Wochen",
    "Woche",
    "Monat",
    "Jahren",
    "Stunden",
    "nächsten",
    "übernächste",
    "diesen",
    "kommende",
    "über",
    "Freitag",
    "Mo",
    "So",
    "So.",
    "Sonntagabend",
    "Wochenende",
    "November",
    "März",
    "Nov.",
    "ersten",
    "einunddreißigsten",
    "morgens",
    "mittags",
    "nachmittags",
    "abends",
    "nachts",
    "früh",
    "Morgen",
    "so",
    "gegen",
    "ca.",
    "26.",
    "11.",
    "2026",
    "26.11.",
    "10.30",
    "10:30",
    "24:00",
    "99:99",
    "2026-11-26T10:00",
    "10:00:00+01:00",
    "10:30-11:30",
    "31.02.",
    "0",
    "1",
    "7",
    "24",
    "25",
    "4294967295",
    "99999999999",
    "-",
    ".",
    ",",
    "/",
    "T",
    "Z",
    "bitte",
    "Dauerwelle",
    "ß",
    "😀",
    // issue 15
    "letzten",
    "vorletzten",
    "nach",
    "vor",
    "dem",
    "im",
    "jetzt",
    "gleich",
    "Minuten",
    "halben",
    "Viertelstunde",
    "anderthalb",
    "Heiligabend",
    "Tag",
    "Arbeit",
    "Pfingstmontag",
    "Weihnachtstag",
    "Feb",
    "Juli",
    "27",
    "14.4.27",
    "Ostern",
    "UTC",
    "Mi-Ra",
    "Mi’",
    "Personen",
    "guten",
];

fn vocab_phrase() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..24).prop_map(|ws| ws.join(" "))
}

fn any_date(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = NaiveDate> {
    (years, 0u32..366).prop_filter_map("valid ordinal day", |(y, o)| NaiveDate::from_yo_opt(y, o + 1))
}

fn check_no_panic(s: &str) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
    let now = Berlin.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).single();
    let _ = parse_date(s, today);
    let _ = parse_date(s, NaiveDate::MAX);
    let _ = parse_date(s, NaiveDate::MIN);
    let _ = parse_time(s);
    if let Some(now) = now {
        let _ = parse_when(s, None, now);
        let _ = parse_when(s, Some(s), now);
        let _ = parse_when("morgen", Some(s), now);
    }
}

/// 512 cases per property by default; `PROPTEST_CASES=100000` for a longer fuzz run.
pub(super) fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn never_panics_on_arbitrary_strings(s in any::<String>()) {
        check_no_panic(&s);
    }

    #[test]
    fn never_panics_on_printable_strings(s in "\\PC{0,200}") {
        check_no_panic(&s);
    }

    #[test]
    fn never_panics_on_grammar_words(s in vocab_phrase()) {
        check_no_panic(&s);
    }

    #[test]
    fn never_panics_on_huge_numbers(
        a in "[0-9]{1,40}", b in "[0-9]{1,40}", c in "[0-9]{0,40}",
        sep in prop::sample::select(vec![".", ":", "/", "-", " "]),
        tail in prop::sample::select(vec!["", ".", " Uhr", " November", " Tagen", "h"]),
    ) {
        check_no_panic(&format!("{a}{sep}{b}{sep}{c}{tail}"));
        check_no_panic(&format!("in {a} {tail}"));
        check_no_panic(&format!("um {a}:{b}"));
    }

    /// Date labels carry no year, so they resolve to the next occurrence: the round trip
    /// holds for every date from today up to 364 days ahead.
    #[test]
    fn date_labels_round_trip(today in any_date(2020..=2099), ahead in 0u64..=364) {
        let d = today.checked_add_days(Days::new(ahead)).unwrap_or(today);
        prop_assume!(d.year() < 2100);
        prop_assert_eq!(parse_date(&format_date(d), today), Ok(d));
        prop_assert_eq!(parse_date(&format_date(d).to_lowercase(), today), Ok(d));
        prop_assert_eq!(parse_date(&format_date(d).to_uppercase(), today), Ok(d));
    }

    /// The fuzz target's invariant 4: a time the separate time field names (as `parse_time`
    /// reads it) is the time `parse_when` answers with, whenever it answers.
    #[test]
    fn the_time_fields_time_wins(date in vocab_phrase(), time in vocab_phrase()) {
        let now = Berlin.with_ymd_and_hms(2027, 2, 2, 10, 7, 30).single();
        prop_assume!(now.is_some() && !time.trim().is_empty() && !time.trim().eq_ignore_ascii_case("null"));
        let now = now.unwrap_or_else(|| unreachable!());
        if let (Ok(said), Ok(found)) = (parse_time(&time), parse_when(&date, Some(&time), now)) {
            prop_assert_eq!(found.time, Some(said), "{:?} / {:?}", date, time);
        }
    }

    #[test]
    fn time_labels_round_trip(h in 0u32..24, five in 0u32..12) {
        let t = NaiveTime::from_hms_opt(h, five * 5, 0).unwrap_or_default();
        prop_assert_eq!(parse_time(&format_time(t)), Ok(t));
    }

    #[test]
    fn slot_labels_round_trip(today in any_date(2020..=2099), ahead in 0u64..=364,
                              h in 0u32..24, m in 0u32..60) {
        let d = today.checked_add_days(Days::new(ahead)).unwrap_or(today);
        let t = NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        let now = Berlin.from_local_datetime(&today.and_time(NaiveTime::MIN)).earliest();
        prop_assume!(now.is_some());
        let now = now.unwrap_or_else(|| unreachable!());
        let w = parse_when(&format_slot(d.and_time(t)), None, now);
        prop_assert_eq!(w.map(|w| (w.date, w.time)), Ok((d, Some(t))));
    }
}

#[test]
fn very_long_inputs() {
    let long_words = "morgen um zehn ".repeat(10_000);
    check_no_panic(&long_words);
    let long_digits = "9".repeat(100_000);
    check_no_panic(&long_digits);
    check_no_panic(&format!("{long_digits}.11."));
    check_no_panic(&"ä".repeat(50_000));
    check_no_panic("99999999999.11.");
    check_no_panic("in 99999999999 Tagen");
    check_no_panic("in 4294967295 Jahren");
    check_no_panic("in 4294967295 Monaten");
    // a long phrase with one date and one time still resolves
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
    let padded = format!("{} morgen {}", "bitte ".repeat(5_000), "gerne ".repeat(5_000));
    assert_eq!(parse_date(&padded, today), Ok(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default()));
}
