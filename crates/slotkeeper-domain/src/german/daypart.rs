//! Parts of the day ("morgen früh", "heute Abend", "am Wochenende") and the local hours each
//! one stands for when no clock time is said.
//!
//! Guarantees: total functions, no clock reads; a window is a half-open local range
//! `[start, end)` in which a booking's *start* must lie; `None` only at the very end of
//! chrono's calendar.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};

/// A part of the day said instead of (or next to) a clock time.
///
/// With a clock time it shifts the hour ("drei Uhr nachmittags" = 15:00, see the module docs
/// of `german`). Without one, [`When::part`](super::When::part) carries it and
/// [`DayPart::window`] gives its hours:
///
/// | part | said as | window (local, start inclusive, end exclusive) |
/// |---|---|---|
/// | `Morning` | "morgens", "früh", "vormittags", "morgen früh", "heute Morgen" | 06:00–12:00 |
/// | `Noon` | "mittags", "morgen Mittag" (but "um/gegen/zu Mittag" is 12:00 sharp) | 12:00–14:00 |
/// | `Afternoon` | "nachmittags", "Freitagnachmittag" | 13:00–18:00 |
/// | `Evening` | "abends", "heute Abend" | 17:00–22:00 |
/// | `Night` | "nachts" | 22:00–24:00 |
/// | `Weekend` | "am Wochenende", "nächstes Wochenende" | Saturday 00:00 – Monday 00:00 |
///
/// The windows overlap a little on purpose (a salon's "Abend" starts before it closes at 18:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayPart {
    Morning,
    Noon,
    Afternoon,
    Evening,
    Night,
    /// Saturday and Sunday; the `When`'s date is the Saturday.
    Weekend,
}

impl DayPart {
    /// The local hours of this part on `date` (for `Weekend`, `date` is the Saturday).
    pub fn window(self, date: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let at = |d: NaiveDate, h: u32, m: u32| NaiveTime::from_hms_opt(h, m, 0).map(|t| d.and_time(t));
        let next = date.checked_add_days(Days::new(1))?;
        Some(match self {
            DayPart::Morning => (at(date, 6, 0)?, at(date, 12, 0)?),
            DayPart::Noon => (at(date, 12, 0)?, at(date, 14, 0)?),
            DayPart::Afternoon => (at(date, 13, 0)?, at(date, 18, 0)?),
            DayPart::Evening => (at(date, 17, 0)?, at(date, 22, 0)?),
            DayPart::Night => (at(date, 22, 0)?, at(next, 0, 0)?),
            DayPart::Weekend => (at(date, 0, 0)?, at(date.checked_add_days(Days::new(2))?, 0, 0)?),
        })
    }

    /// How the agent says it after a date: "vormittags", "abends", "am Wochenende".
    pub fn german_adverb(self) -> &'static str {
        match self {
            DayPart::Morning => "vormittags",
            DayPart::Noon => "mittags",
            DayPart::Afternoon => "nachmittags",
            DayPart::Evening => "abends",
            DayPart::Night => "nachts",
            DayPart::Weekend => "am Wochenende",
        }
    }
}
