//! Spoken German labels for dates and times.
//!
//! Guarantees: total functions (never panic), no year in date labels, 24-hour clock with
//! two-digit minutes and no leading zero on the hour, and every label parses back to the
//! same value (dates: to their next occurrence, because the label carries no year).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

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
