//! Table tests for `parse_time`.

use super::hm;
use crate::german::{ParseError, parse_time};

/// Runs a table of (phrase, (hour, minute)).
fn check(table: &[(&str, (u32, u32))]) {
    let mut failures = Vec::new();
    for &(input, (h, m)) in table {
        let got = parse_time(input);
        if got != Ok(hm(h, m)) {
            failures.push(format!("{input:?}: got {got:?}, want {}", hm(h, m)));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn written_clock_times() {
    check(&[
        ("10:30", (10, 30)),
        ("10:30 Uhr", (10, 30)),
        ("10.30 Uhr", (10, 30)),
        ("10.30", (10, 30)),
        ("10.30h", (10, 30)),
        ("9:00 Uhr", (9, 0)),
        ("09:00", (9, 0)),
        ("14:30", (14, 30)),
        ("0:00 Uhr", (0, 0)),
        ("23:59", (23, 59)),
        ("24:00", (0, 0)),
        ("10:00:00", (10, 0)),
        ("10:00:45", (10, 0)),
        ("T10:00:00Z", (10, 0)),
        ("10:00:00.000+01:00", (10, 0)),
        ("10:00:00-05:00", (10, 0)),
        // written times are literal 24-hour times: no afternoon default
        ("7:30", (7, 30)),
        ("07:30", (7, 30)),
        ("3:15 Uhr", (3, 15)),
        ("07 Uhr", (7, 0)),
        // … but an explicit day part still applies
        ("2:30 nachmittags", (14, 30)),
        ("14:30 nachmittags", (14, 30)),
    ]);
}

#[test]
fn hours_and_minutes() {
    check(&[
        ("10 Uhr", (10, 0)),
        ("10 uhr", (10, 0)),
        ("10uhr", (10, 0)),
        ("10 Uhr 30", (10, 30)),
        ("10 Uhr 5", (10, 5)),
        ("10 Uhr und 30 Minuten", (10, 30)),
        ("14h", (14, 0)),
        ("14 h", (14, 0)),
        ("um 9", (9, 0)),
        ("um 9 Uhr", (9, 0)),
        ("9", (9, 0)),
        ("10", (10, 0)),
        ("um 10.", (10, 0)),
        ("ca. 10 Uhr", (10, 0)),
        ("gegen 11", (11, 0)),
        ("ab 9", (9, 0)),
        ("so um 10", (10, 0)),
        ("so gegen zehn", (10, 0)),
        ("10 Uhr bitte", (10, 0)),
        ("13 Uhr", (13, 0)),
        ("um 18 Uhr", (18, 0)),
        ("0 Uhr", (0, 0)),
        ("24 Uhr", (0, 0)),
        ("um zehn dreißig", (10, 30)),
        ("um 10 30", (10, 30)),
    ]);
}

#[test]
fn number_words() {
    check(&[
        ("zehn Uhr", (10, 0)),
        ("zehn", (10, 0)),
        ("Zehn Uhr dreißig", (10, 30)),
        ("zehn uhr dreissig", (10, 30)),
        ("vierzehn Uhr fünfzehn", (14, 15)),
        ("vierzehn uhr fuenfzehn", (14, 15)),
        ("zehn Uhr fünfundvierzig", (10, 45)),
        ("elf Uhr neunundfünfzig", (11, 59)),
        ("ein Uhr", (13, 0)),
        ("eins", (13, 0)),
        ("zwölf", (12, 0)),
        ("zwoelf Uhr", (12, 0)),
        ("zwölf Uhr mittags", (12, 0)),
        ("dreiundzwanzig", (23, 0)),
        ("dreiundzwanzig Uhr", (23, 0)),
        ("null Uhr", (0, 0)),
        ("vierundzwanzig Uhr", (0, 0)),
        ("achtzehn Uhr", (18, 0)),
        ("siebzehn Uhr dreißig", (17, 30)),
        ("zwo Uhr", (14, 0)),
    ]);
}

#[test]
fn quarter_and_half_forms() {
    check(&[
        ("halb elf", (10, 30)),
        ("halb 11", (10, 30)),
        ("um halb elf", (10, 30)),
        ("halb neun", (8, 30)),
        ("halb eins", (12, 30)),
        ("halb drei", (14, 30)),
        ("viertel nach zehn", (10, 15)),
        ("Viertel nach 10", (10, 15)),
        ("viertel vor elf", (10, 45)),
        ("viertel vor eins", (12, 45)),
        ("dreiviertel elf", (10, 45)),
        ("drei viertel elf", (10, 45)),
        ("viertel elf", (10, 15)),
        ("zehn nach zehn", (10, 10)),
        ("zehn Minuten nach zehn", (10, 10)),
        ("fünf vor elf", (10, 55)),
        ("fuenf vor zwoelf", (11, 55)),
        ("zwanzig nach drei nachmittags", (15, 20)),
        ("zwanzig nach drei", (15, 20)),
        ("fünf nach halb drei", (14, 35)),
        ("fünf vor halb elf", (10, 25)),
        ("kurz nach zehn", (10, 5)),
        ("kurz vor elf", (10, 55)),
        ("kurz nach halb elf", (10, 35)),
        ("zehn vor halb elf", (10, 20)),
        ("um 20 nach 8", (8, 20)),
        ("mittags um halb eins", (12, 30)),
        ("7 Uhr früh", (7, 0)),
        ("in der Früh um 7", (7, 0)),
        ("um 10.30.", (10, 30)),
    ]);
}

#[test]
fn day_parts() {
    check(&[
        ("Mittag", (12, 0)),
        ("mittags", (12, 0)),
        ("zu Mittag", (12, 0)),
        ("um eins mittags", (13, 0)),
        ("um 1 mittags", (13, 0)),
        ("um zwölf mittags", (12, 0)),
        ("um drei nachmittags", (15, 0)),
        ("nachmittags um drei", (15, 0)),
        ("am Nachmittag um drei", (15, 0)),
        ("am Nachmittag um 3", (15, 0)),
        ("halb drei nachmittags", (14, 30)),
        ("um acht abends", (20, 0)),
        ("um acht am Abend", (20, 0)),
        ("um sieben morgens", (7, 0)),
        ("um 7 Uhr morgens", (7, 0)),
        ("halb acht morgens", (7, 30)),
        ("um sieben früh", (7, 0)),
        ("morgen früh um 7", (7, 0)),
        ("am Vormittag um zehn", (10, 0)),
        ("vormittags um 11", (11, 0)),
        ("zehn vormittags", (10, 0)),
        ("am Morgen um 7", (7, 0)),
        ("um elf nachts", (23, 0)),
        ("um drei Uhr nachts", (3, 0)),
        ("zwölf Uhr nachts", (0, 0)),
        ("um 9 abends", (21, 0)),
        ("heute Abend um 7", (19, 0)),
        ("Freitagnachmittag um 4", (16, 0)),
    ]);
}

#[test]
fn afternoon_default_for_spoken_hours() {
    check(&[
        ("um 1", (13, 0)),
        ("um 3", (15, 0)),
        ("drei Uhr", (15, 0)),
        ("3 Uhr", (15, 0)),
        ("um 7", (19, 0)),
        ("halb acht", (19, 30)),
        ("viertel vor acht", (19, 45)),
        ("um 8", (8, 0)),
        ("um 12", (12, 0)),
        ("um 0 Uhr", (0, 0)),
        ("3 Uhr 30", (15, 30)),
    ]);
}

#[test]
fn invalid_times() {
    for (input, shown) in [
        ("25 Uhr", "25 Uhr"),
        ("um 25", "25 Uhr"),
        ("10:75", "10:75"),
        ("24:30", "24:30"),
        ("10 Uhr 75", "10 Uhr 75"),
        ("1030", "1030"),
        ("um 1030", "1030"),
        ("halb 30", "halb 30"),
        ("10:5", "10:5"),
        ("99999999999 Uhr", "99999999999 Uhr"),
        ("fünfundvierzig", "45 Uhr"),
    ] {
        assert_eq!(parse_time(input), Err(ParseError::InvalidTime(shown.to_string())), "{input:?}");
    }
}

#[test]
fn unrecognized_and_empty_times() {
    for input in ["", "  ", "—"] {
        assert_eq!(parse_time(input), Err(ParseError::Empty), "{input:?}");
    }
    for input in [
        "irgendwann",
        "nachmittags",
        "morgen",
        "in zwei Stunden",
        "ein Termin",
        // two different times: ask again instead of guessing
        "zwischen zehn und zwölf",
        "10 bis 12 Uhr",
        "10:30-11:30",
        "vormittags oder nachmittags um drei",
        "um 10 oder 11",
        "10 oder halb 11",
        "bis 12 Uhr",
        "10 - 12 Uhr",
        "13-14 Uhr",
        // incomplete relative forms give no time rather than a guess
        "zehn nach",
        "kurz vor",
        "am frühen Nachmittag",
    ] {
        assert!(matches!(parse_time(input), Err(ParseError::Unrecognized(_))), "{input:?} → {:?}", parse_time(input));
    }
}
