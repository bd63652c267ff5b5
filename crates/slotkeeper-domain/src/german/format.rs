//! Spoken German labels for dates and times.
//!
//! Guarantees: total functions (never panic), no year in date labels, 24-hour clock with
//! two-digit minutes and no leading zero on the hour, and every label parses back to the
//! same value (dates: to their next occurrence, because the label carries no year). Also the
//! question asked when a weekday and a date disagree ([`weekday_question`]).

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

/// "Montag" … "Sonntag".
pub fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Montag",
        Weekday::Tue => "Dienstag",
        Weekday::Wed => "Mittwoch",
        Weekday::Thu => "Donnerstag",
        Weekday::Fri => "Freitag",
        Weekday::Sat => "Samstag",
        Weekday::Sun => "Sonntag",
    }
}

/// "Januar" … "Dezember" for 1–12; an empty string for any other number.
pub fn month_name(month: u32) -> &'static str {
    match month {
        1 => "Januar",
        2 => "Februar",
        3 => "März",
        4 => "April",
        5 => "Mai",
        6 => "Juni",
        7 => "Juli",
        8 => "August",
        9 => "September",
        10 => "Oktober",
        11 => "November",
        12 => "Dezember",
        _ => "",
    }
}

/// "Donnerstag, 26. November" (no year: the agent speaks about the coming months).
pub fn format_date(date: NaiveDate) -> String {
    format!("{}, {}. {}", weekday_name(date.weekday()), date.day(), month_name(date.month()))
}

/// "14:30 Uhr", "9:00 Uhr" (seconds are not spoken).
pub fn format_time(time: NaiveTime) -> String {
    format!("{}:{:02} Uhr", time.hour(), time.minute())
}

/// "Donnerstag, 26. November um 14:30 Uhr".
pub fn format_slot(local: NaiveDateTime) -> String {
    format!("{} um {}", format_date(local.date()), format_time(local.time()))
}

/// The date nearest to `date` that falls on `weekday` (never `date` itself when its weekday
/// differs; a tie cannot happen, the two candidates are d and 7 − d days away).
pub fn nearest_weekday(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (weekday.num_days_from_monday() + 7 - date.weekday().num_days_from_monday()) % 7;
    let moved = if ahead <= 3 {
        date.checked_add_days(Days::new(u64::from(ahead)))
    } else {
        date.checked_sub_days(Days::new(u64::from(7 - ahead)))
    };
    moved.unwrap_or(date)
}

/// "Der 18. Juli ist ein Donnerstag — meinen Sie Donnerstag, den 18., oder Freitag, den
/// 19. Juli?": the caller's weekday does not match the date they said. The year is named
/// when `with_year` (or when the two options fall in different years).
pub fn weekday_question(date: NaiveDate, weekday: Weekday, with_year: bool) -> String {
    let other = nearest_weekday(date, weekday);
    let years_differ = other.year() != date.year();
    let year = |d: NaiveDate, on: bool| if on { format!(" {}", d.year()) } else { String::new() };
    let head = format!(
        "Der {}. {}{} ist ein {}",
        date.day(),
        month_name(date.month()),
        year(date, with_year || years_differ),
        weekday_name(date.weekday())
    );
    let first = if other.month() == date.month() && !years_differ {
        format!("{}, den {}.", weekday_name(date.weekday()), date.day())
    } else {
        format!(
            "{}, den {}. {}{}",
            weekday_name(date.weekday()),
            date.day(),
            month_name(date.month()),
            year(date, years_differ)
        )
    };
    let second = format!(
        "{}, den {}. {}{}",
        weekday_name(weekday),
        other.day(),
        month_name(other.month()),
        year(other, years_differ)
    );
    format!("{head} — meinen Sie {first}, oder {second}?")
}
