//! The rule of issue 15 as properties: inserting a word that could change a date or time into
//! a phrase the parser understands never yields a *different* date or time — the meaning
//! stays, or the phrase is refused — unless the parser understood the inserted word itself
//! (it contributed: "übernächsten" in front of "Freitag" does change the day, on purpose).
//! Neutral and filler words carry no meaning: removing one never changes a result.

use chrono::{DateTime, TimeZone};
use chrono_tz::{Europe::Berlin, Tz};
use proptest::prelude::*;

use crate::german::lexer::{normalise, tokenise};
use crate::german::scan::{Mode, Role, scan_with_roles};
use crate::german::{When, parse_when};

/// Tuesday 2 February 2027, 10:07:30 in Berlin.
fn now() -> DateTime<Tz> {
    Berlin.with_ymd_and_hms(2027, 2, 2, 10, 7, 30).single().expect("unambiguous")
}

/// Phrases the parser understands (each is checked to parse).
const BASES: &[&str] = &[
    "erster Samstag im März",
    "am letzten Freitag im Februar",
    "Freitag nach dem nächsten um 10",
    "Dienstag letzte Woche",
    "Mittwoch, Feb 24",
    "Freitag, der 16. Juli 27",
    "morgen um zehn",
    "übermorgen halb elf",
    "26. November 2027 um 14:30",
    "in zwei Wochen",
    "heute Abend",
    "in 20 Minuten",
    "an Heiligabend",
    "Pfingstmontag 2027 um 9",
    "nächste Woche Dienstag um 10 Uhr",
    "14.4.27",
    "April 14, 2027",
    "Dauerwelle morgen früh bitte",
    "am 3. um 10",
    "jetzt",
    "Freitag",
    "am Wochenende",
];

/// Words that could change a date or time. Some are understood in some places (then they may
/// change the meaning, and the parser must have used them), some never.
const DATE_CHANGING: &[&str] = &[
    "letzten",
    "letzte",
    "vorletzten",
    "nach",
    "vor",
    "seit",
    "übernächste",
    "übernächsten",
    "nächsten",
    "nächste",
    "kommenden",
    "vergangenen",
    "2027",
    "2028",
    "27",
    "3",
    "24",
    "18.",
    "3.",
    "10.11",
    "dritter",
    "zweiten",
    "fünften",
    "ersten",
    "vorletzter",
    "März",
    "Feb",
    "Juli",
    "Freitag",
    "Mi",
    "Sonntag",
    "in",
    "Tagen",
    "Wochen",
    "Woche",
    "Monat",
    "Jahr",
    "Uhr",
    "halb",
    "viertel",
    "zwei",
    "elf",
    "einer",
    "halben",
    "Stunden",
    "Minuten",
    "Ostern",
    "Weihnachten",
    "Pfingsten",
    "Heiligabend",
    "Pfingstmontag",
    "Brückentag",
    "UTC",
    "MEZ",
    "Ortszeit",
    "morgen",
    "heute",
    "gestern",
    "jetzt",
    "gleich",
    "Abend",
    "früh",
    "mittags",
    "Wochenende",
    "Ende",
    "Anfang",
    "Mitte",
    "nicht",
    "außer",
    "KW",
    "Quartal",
    "später",
    "jeden",
    "oder",
    "bis",
    "zwischen",
    "-",
];

/// Words that could change a date but that the parser never understands: always a refusal.
const NEVER_UNDERSTOOD: &[&str] = &[
    "Ostern",
    "Weihnachten",
    "Pfingsten",
    "Brückentag",
    "UTC",
    "MEZ",
    "Ortszeit",
    "Ende",
    "Anfang",
    "Mitte",
    "nicht",
    "außer",
    "KW",
    "Quartal",
    "später",
    "jeden",
    "seit",
    "Geburtstag",
    "Sommer",
];

fn words(phrase: &str) -> Vec<&str> {
    phrase.split(' ').collect()
}

fn token_count(text: &str) -> usize {
    tokenise(&normalise(text)).len()
}

/// `base` with `word` inserted before its word number `pos`.
fn insert(base: &str, word: &str, pos: usize) -> (String, usize) {
    let mut ws = words(base);
    let pos = pos.min(ws.len());
    let before = token_count(&ws[..pos].join(" "));
    ws.insert(pos, word);
    (ws.join(" "), before)
}

/// Whether the scan used any of the tokens `from..from + n` of `phrase`.
fn used_any(phrase: &str, from: usize, n: usize) -> bool {
    let now = now();
    let (_, roles) = scan_with_roles(phrase, Mode::Both, now.date_naive(), Some(now.naive_local()));
    roles.iter().skip(from).take(n).any(|(_, r)| *r == Role::Used)
}

/// The rule for one insertion: same meaning, a refusal, or the inserted word was understood.
fn check_insertion(base: &str, meaning: When, word: &str, pos: usize) -> Result<(), String> {
    let (phrase, at) = insert(base, word, pos);
    match parse_when(&phrase, None, now()) {
        Err(_) => Ok(()),
        Ok(w) if w == meaning => Ok(()),
        Ok(_) if used_any(&phrase, at, token_count(word)) => Ok(()),
        Ok(w) => Err(format!("{phrase:?}: {w:?}, but {base:?} is {meaning:?} and {word:?} was not understood")),
    }
}

fn meaning(base: &str) -> When {
    parse_when(base, None, now()).unwrap_or_else(|e| panic!("base phrase {base:?} must parse: {e:?}"))
}

#[test]
fn inserting_a_date_changing_word_never_gives_a_different_date_exhaustively() {
    let mut failures = Vec::new();
    for base in BASES {
        let m = meaning(base);
        for word in DATE_CHANGING {
            for pos in 0..=words(base).len() {
                if let Err(e) = check_insertion(base, m, word, pos) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} violations:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn words_that_are_never_understood_always_refuse() {
    let mut failures = Vec::new();
    for base in BASES {
        for word in NEVER_UNDERSTOOD {
            for pos in 0..=words(base).len() {
                let (phrase, _) = insert(base, word, pos);
                if let Ok(w) = parse_when(&phrase, None, now()) {
                    failures.push(format!("{phrase:?} → {w:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "want a refusal:\n{}", failures.join("\n"));
}

/// Removes the words of `phrase` whose scan role is neutral, one at a time (filler comes in
/// pairs, "2 Personen", and is left alone).
fn without_each_neutral_word(phrase: &str) -> Vec<String> {
    let now = now();
    let ws = words(phrase);
    let mut out = Vec::new();
    let mut at = 0;
    for (k, w) in ws.iter().enumerate() {
        let n = token_count(w);
        let (_, roles) = scan_with_roles(phrase, Mode::Both, now.date_naive(), Some(now.naive_local()));
        let neutral = n > 0 && roles.iter().skip(at).take(n).all(|(_, r)| *r == Role::Neutral);
        if neutral {
            let mut rest = ws.clone();
            rest.remove(k);
            out.push(rest.join(" "));
        }
        at += n;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::props::cases()))]

    /// Two insertions at random places: the rule still holds for the pair.
    #[test]
    fn two_insertions_keep_the_rule(
        b in 0..BASES.len(),
        w1 in prop::sample::select(DATE_CHANGING),
        w2 in prop::sample::select(DATE_CHANGING),
        p1 in 0usize..8,
        p2 in 0usize..9,
    ) {
        let base = BASES[b];
        let m = meaning(base);
        let (once, _) = insert(base, w1, p1);
        let (twice, at2) = insert(&once, w2, p2);
        // where w1 ended up after w2 went in
        let i1 = p1.min(words(base).len());
        let i2 = p2.min(words(&once).len());
        let i1 = if i2 <= i1 { i1 + 1 } else { i1 };
        let at1 = token_count(&words(&twice)[..i1].join(" "));
        match parse_when(&twice, None, now()) {
            Err(_) => {}
            Ok(w) if w == m => {}
            Ok(w) => prop_assert!(
                used_any(&twice, at1, token_count(w1)) || used_any(&twice, at2, token_count(w2)),
                "{twice:?} → {w:?}, base {base:?} → {m:?}, neither inserted word understood"
            ),
        }
    }

    /// Neutral words carry no meaning: without one, the result is the same or a refusal,
    /// never a different date or time.
    #[test]
    fn neutral_words_carry_no_meaning(
        b in 0..BASES.len(),
        filler in prop::sample::select(&["bitte", "Dauerwelle", "ich", "gerne", "am", "den", "Termin", "guten Tag", "für 2 Personen", "so"][..]),
        p in 0usize..8,
    ) {
        let (phrase, _) = insert(BASES[b], filler, p);
        if let Ok(full) = parse_when(&phrase, None, now()) {
            for shorter in without_each_neutral_word(&phrase) {
                let got = parse_when(&shorter, None, now());
                prop_assert!(got.is_err() || got == Ok(full), "{phrase:?} → {full:?}, {shorter:?} → {got:?}");
            }
        }
    }
}
