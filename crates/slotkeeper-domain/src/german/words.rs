//! Word tables: German number words, ordinals, month and weekday names, day parts.
//!
//! Guarantees: pure lookups on normalised (lower-case, umlaut-free) words; no allocation;
//! every function returns `None` for anything it does not know.

use chrono::Weekday;

use super::daypart::DayPart;

/// Cardinal number words 0–59 ("null" … "neunundfünfzig", also "zwo").
///
/// The article forms "ein", "eine", "einer", … are *not* cardinals here (see [`count_word`]),
/// so "ein Termin" is never read as one o'clock; "eins" is.
pub(super) fn cardinal(w: &str) -> Option<u32> {
    if let Some(v) = simple_cardinal(w) {
        return Some(v);
    }
    let pos = w.find("und")?;
    let unit = match &w[..pos] {
        "ein" => 1,
        "zwei" | "zwo" => 2,
        "drei" => 3,
        "vier" => 4,
        "fuenf" | "funf" => 5,
        "sechs" => 6,
        "sieben" => 7,
        "acht" => 8,
        "neun" => 9,
        _ => return None,
    };
    let tens = match &w[pos + 3..] {
        "zwanzig" => 20,
        "dreissig" | "dreisig" | "dreizig" => 30,
        "vierzig" => 40,
        "fuenfzig" | "funfzig" => 50,
        _ => return None,
    };
    Some(unit + tens)
}

fn simple_cardinal(w: &str) -> Option<u32> {
    Some(match w {
        "null" => 0,
        "eins" => 1,
        "zwei" | "zwo" => 2,
        "drei" => 3,
        "vier" => 4,
        "fuenf" | "funf" => 5,
        "sechs" => 6,
        "sieben" => 7,
        "acht" => 8,
        "neun" => 9,
        "zehn" => 10,
        "elf" => 11,
        "zwoelf" | "zwolf" => 12,
        "dreizehn" => 13,
        "vierzehn" => 14,
        "fuenfzehn" | "funfzehn" => 15,
        "sechzehn" | "sechszehn" => 16,
        "siebzehn" | "siebenzehn" => 17,
        "achtzehn" => 18,
        "neunzehn" => 19,
        "zwanzig" => 20,
        "dreissig" | "dreisig" | "dreizig" => 30,
        "vierzig" => 40,
        "fuenfzig" | "funfzig" => 50,
        _ => return None,
    })
}

/// A count in a duration ("in einer Woche", "in zwei Tagen"): cardinals plus the article forms.
pub(super) fn count_word(w: &str) -> Option<u32> {
    match w {
        "ein" | "eine" | "einer" | "einem" | "einen" => Some(1),
        _ => cardinal(w),
    }
}

/// Ordinal words 1–31 in their declined forms: "erste", "ersten", "erster", "dritten",
/// "siebte"/"siebente", "zwanzigste", "einunddreißigsten", …
pub(super) fn ordinal(w: &str) -> Option<u32> {
    let stem = ["em", "en", "er", "es", "e"].iter().find_map(|suffix| w.strip_suffix(suffix))?;
    let special = match stem {
        "erst" => Some(1),
        "zweit" | "zwot" => Some(2),
        "dritt" => Some(3),
        "siebt" | "siebent" => Some(7),
        "acht" => Some(8),
        _ => None,
    };
    if special.is_some() {
        return special;
    }
    if let Some(base) = stem.strip_suffix("st")
        && let Some(v) = cardinal(base)
        && (20..=31).contains(&v)
    {
        return Some(v);
    }
    let v = cardinal(stem.strip_suffix('t')?)?;
    (2..=19).contains(&v).then_some(v)
}

/// Month names and their usual abbreviations (also Austrian "Jänner", "Feber").
pub(super) fn month(w: &str) -> Option<u32> {
    Some(match w {
        "januar" | "jan" | "jaenner" | "janner" => 1,
        "februar" | "feb" | "febr" | "feber" => 2,
        "maerz" | "marz" | "maer" | "mrz" => 3,
        "april" | "apr" => 4,
        "mai" => 5,
        "juni" | "jun" => 6,
        "juli" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "oktober" | "okt" => 10,
        "november" | "nov" => 11,
        "dezember" | "dez" => 12,
        _ => return None,
    })
}

const WEEKDAYS: [(&str, Weekday); 8] = [
    ("montag", Weekday::Mon),
    ("dienstag", Weekday::Tue),
    ("mittwoch", Weekday::Wed),
    ("donnerstag", Weekday::Thu),
    ("freitag", Weekday::Fri),
    ("samstag", Weekday::Sat),
    ("sonnabend", Weekday::Sat),
    ("sonntag", Weekday::Sun),
];

/// A full weekday name, its adverb ("freitags") or a compound with a day part
/// ("freitagnachmittag", "montagmorgen").
pub(super) fn weekday_word(w: &str) -> Option<(Weekday, Option<DayPart>)> {
    for (name, wd) in WEEKDAYS {
        if let Some(rest) = w.strip_prefix(name) {
            if rest.is_empty() || rest == "s" {
                return Some((wd, None));
            }
            if rest == "morgen" {
                return Some((wd, Some(DayPart::Morning)));
            }
            if let Some(dp) = day_part(rest) {
                return Some((wd, Some(dp)));
            }
        }
    }
    None
}

/// Two-letter weekday abbreviations except "so" (Sunday), which doubles as the filler
/// "so um zehn" and is decided by the caller from its context.
pub(super) fn weekday_short(w: &str) -> Option<Weekday> {
    Some(match w {
        "mo" => Weekday::Mon,
        "di" => Weekday::Tue,
        "mi" => Weekday::Wed,
        "do" => Weekday::Thu,
        "fr" => Weekday::Fri,
        "sa" => Weekday::Sat,
        _ => return None,
    })
}

/// Day-part words. Plain "morgen" (tomorrow) is not one; the scanner decides it in context.
pub(super) fn day_part(w: &str) -> Option<DayPart> {
    Some(match w {
        "morgens" | "frueh" | "fruehmorgens" | "vormittag" | "vormittags" => DayPart::Morning,
        "mittag" | "mittags" | "mittagszeit" => DayPart::Noon,
        "nachmittag" | "nachmittags" => DayPart::Afternoon,
        "abend" | "abends" => DayPart::Evening,
        "nacht" | "nachts" => DayPart::Night,
        _ => return None,
    })
}
