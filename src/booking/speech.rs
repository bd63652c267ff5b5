//! Everything the phone agent reads aloud, in one place.
//!
//! The seed's sentences are kept word for word ("Perfekt! Der Termin ist für Sie reserviert. …",
//! "Ihre Reservierung ist leider abgelaufen. …", "Dieser Termin wurde zwischenzeitlich anderweitig
//! vergeben."). Times are spoken in the salon's zone with the German labels of `domain::german`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::domain::german::{DayPart, format_date, format_slot, format_time};

pub fn slot_label(tz: Tz, start: DateTime<Utc>) -> String {
    format_slot(start.with_timezone(&tz).naive_local())
}

pub fn time_label(tz: Tz, start: DateTime<Utc>) -> String {
    format_time(start.with_timezone(&tz).time())
}

/// "A, B und C".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} und {last}", init.join(", ")),
    }
}

/// "A, B oder C".
pub fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} oder {last}", init.join(", ")),
    }
}

pub fn reserved(seconds: u64) -> String {
    format!("Perfekt! Der Termin ist für Sie reserviert. Sie haben {seconds} Sekunden Zeit zur Bestätigung.")
}

pub fn reserved_with_details(seconds: u64, service: &str, slot: &str, staff: &str) -> String {
    format!("{} {service} am {slot} bei {staff}.", reserved(seconds))
}

pub fn available_without_hold(service: &str, slot: &str, staff: &str) -> String {
    format!("Der Termin ist frei: {service} am {slot} bei {staff}. Soll ich ihn für Sie buchen?")
}

pub const EXPIRED: &str = "Ihre Reservierung ist leider abgelaufen. Bitte prüfen Sie die Verfügbarkeit erneut.";
pub const CONFLICT: &str = "Dieser Termin wurde zwischenzeitlich anderweitig vergeben.";
pub const NOT_FOUND: &str = "Ich finde diese Reservierung leider nicht. Bitte prüfen Sie die Verfügbarkeit erneut, dann reserviere ich den Termin neu.";
pub const RELEASED: &str = "Diese Reservierung ist nicht mehr gültig. Bitte prüfen Sie die Verfügbarkeit erneut.";
pub const TRY_AGAIN: &str = "Unser Kalendersystem ist gerade nicht erreichbar. Bitte versuchen Sie es in einer Minute noch einmal, Ihr Termin bleibt so lange für Sie reserviert.";
pub const BUSY: &str =
    "Einen Moment bitte, unser System ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.";
pub const NAME_NEEDED: &str = "Auf welchen Namen darf ich den Termin eintragen?";
pub const HIDDEN_NUMBER: &str = "Ihre Rufnummer ist unterdrückt, deshalb kann ich Ihre Termine leider nicht finden. Bitte rufen Sie mit sichtbarer Nummer an oder wenden Sie sich direkt an den Salon.";
pub const NO_APPOINTMENTS: &str = "Unter Ihrer Rufnummer finde ich keinen bevorstehenden Termin.";
pub const RELEASED_OK: &str = "In Ordnung, ich habe die Reservierung wieder freigegeben.";

pub fn booked(service: &str, slot: &str, staff: &str) -> String {
    format!("Vielen Dank! Ihr Termin ist gebucht: {service} am {slot} bei {staff}. Wir freuen uns auf Ihren Besuch.")
}

pub fn booked_calendar_pending(service: &str, slot: &str, staff: &str) -> String {
    format!("Vielen Dank! Ihr Termin ist bestätigt: {service} am {slot} bei {staff}. Wir freuen uns auf Ihren Besuch.")
}

pub fn booking_failed(slot: &str) -> String {
    format!(
        "Es tut mir leid, der Termin am {slot} konnte im Kalender des Salons nicht vollständig eingetragen werden und ist deshalb nicht gebucht. Darf ich Ihnen einen anderen Termin anbieten?"
    )
}

pub fn taken_with_alternatives(requested: &str, alternatives: &[String]) -> String {
    if alternatives.is_empty() {
        return format!(
            "{requested} ist leider schon vergeben, und in den nächsten zwei Wochen finde ich keinen freien Termin dafür. Soll ich Sie an den Salon verbinden?"
        );
    }
    format!(
        "{requested} ist leider schon vergeben. Ich kann Ihnen anbieten: {}. Welcher Termin passt Ihnen?",
        join_or(alternatives)
    )
}

pub fn alternatives_only(alternatives: &[String]) -> String {
    if alternatives.is_empty() {
        return "In den nächsten zwei Wochen finde ich leider keinen freien Termin. Soll ich Sie an den Salon verbinden?".into();
    }
    format!("Ich kann Ihnen folgende Termine anbieten: {}. Welcher passt Ihnen?", join_or(alternatives))
}

pub fn free_times(date: NaiveDate, times: &[NaiveTime], more: usize) -> String {
    let labels: Vec<String> = times.iter().map(|t| format_time(*t)).collect();
    let tail = if more > 0 { format!(" und {more} weitere Zeiten") } else { String::new() };
    format!(
        "Am {} sind zum Beispiel noch {} frei{tail}. Welche Uhrzeit passt Ihnen?",
        format_date(date),
        join_and(&labels)
    )
}

pub fn day_full(date: NaiveDate, alternatives: &[String]) -> String {
    let head = format!("Am {} ist leider kein Termin mehr frei.", format_date(date));
    if alternatives.is_empty() { head } else { format!("{head} Ich kann Ihnen anbieten: {}.", join_or(alternatives)) }
}

pub fn closed_on(date: NaiveDate, alternatives: &[String]) -> String {
    let head = format!("Am {} haben wir leider geschlossen.", format_date(date));
    if alternatives.is_empty() { head } else { format!("{head} Ich kann Ihnen anbieten: {}.", join_or(alternatives)) }
}

pub fn outside_hours(date: NaiveDate, time: NaiveTime, hours: &str, alternatives: &[String]) -> String {
    let head = format!(
        "Um {} haben wir am {} leider nicht geöffnet. Unsere Zeiten an diesem Tag: {hours}.",
        format_time(time),
        format_date(date)
    );
    if alternatives.is_empty() { head } else { format!("{head} Ich kann Ihnen anbieten: {}.", join_or(alternatives)) }
}

/// The date is before `today`; its year is named when it is not this year's.
pub fn in_the_past(date: NaiveDate, today: NaiveDate) -> String {
    let year = if date.year() == today.year() { String::new() } else { format!(" {}", date.year()) };
    format!("Der {}{year} liegt in der Vergangenheit. Für welchen Tag möchten Sie einen Termin?", format_date(date))
}

/// Nothing is free in the day part the caller asked for ("heute Abend").
pub fn day_part_full(date: NaiveDate, part: DayPart, alternatives: &[String]) -> String {
    let head = match part {
        DayPart::Weekend => "Am Wochenende ist leider kein Termin mehr frei.".to_string(),
        _ => format!("Am {} ist {} leider kein Termin mehr frei.", format_date(date), part.german_adverb()),
    };
    if alternatives.is_empty() { head } else { format!("{head} Ich kann Ihnen anbieten: {}.", join_or(alternatives)) }
}

pub fn too_soon(alternatives: &[String]) -> String {
    let head = "Das ist leider zu kurzfristig.";
    if alternatives.is_empty() {
        head.into()
    } else {
        format!("{head} Der nächste freie Termin: {}.", join_or(alternatives))
    }
}

pub fn too_far(days: u32) -> String {
    format!(
        "So weit im Voraus vergeben wir leider noch keine Termine, höchstens {days} Tage. Darf es ein früherer Tag sein?"
    )
}

pub fn off_grid(step: u32) -> String {
    format!("Termine beginnen bei uns im {step}-Minuten-Takt. Welche Uhrzeit darf es sein?")
}

pub fn unknown_service(said: &str, offered: &[String]) -> String {
    format!("„{said}“ bieten wir leider nicht an. Bei uns können Sie buchen: {}.", join_and(offered))
}

pub fn ambiguous_service(options: &[String]) -> String {
    format!("Meinen Sie {}?", join_or(options))
}

pub fn unknown_staff(said: &str, staff: &[String]) -> String {
    format!(
        "Eine Mitarbeiterin oder einen Mitarbeiter namens „{said}“ kenne ich leider nicht. Bei uns arbeiten {}.",
        join_and(staff)
    )
}

pub fn staff_cannot(staff: &str, service: &str, others: &[String]) -> String {
    format!("{staff} bietet {service} leider nicht an. Das machen bei uns {}.", join_and(others))
}

pub fn cancelled(service: &str, slot: &str) -> String {
    format!("Ihr Termin {service} am {slot} ist storniert.")
}

pub fn cancel_too_late(hours: u32) -> String {
    format!("Eine Stornierung ist nur bis {hours} Stunden vor dem Termin möglich. Bitte rufen Sie den Salon direkt an.")
}

pub fn reschedule_too_late(hours: u32) -> String {
    format!("Ein Termin kann nur bis {hours} Stunden vorher verlegt werden. Bitte rufen Sie den Salon direkt an.")
}

pub fn reschedule_limit(max: u32) -> String {
    format!(
        "Dieser Termin wurde schon {max} Mal verlegt, öfter geht es telefonisch leider nicht. Bitte wenden Sie sich direkt an den Salon."
    )
}

pub fn rescheduled(service: &str, slot: &str, staff: &str) -> String {
    format!("Ihr Termin ist verlegt: {service} jetzt am {slot} bei {staff}.")
}

pub fn which_appointment(labels: &[String]) -> String {
    format!("Sie haben mehrere Termine: {}. Um welchen geht es?", join_and(labels))
}

pub fn appointments_list(labels: &[String]) -> String {
    match labels.len() {
        1 => format!("Sie haben einen Termin: {}.", labels[0]),
        n => format!("Sie haben {n} Termine: {}.", join_and(labels)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_sentences_are_kept_word_for_word() {
        assert_eq!(
            reserved(180),
            "Perfekt! Der Termin ist für Sie reserviert. Sie haben 180 Sekunden Zeit zur Bestätigung."
        );
        assert_eq!(EXPIRED, "Ihre Reservierung ist leider abgelaufen. Bitte prüfen Sie die Verfügbarkeit erneut.");
        assert_eq!(CONFLICT, "Dieser Termin wurde zwischenzeitlich anderweitig vergeben.");
    }

    #[test]
    fn lists_read_naturally() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_and(&items(&["Anna", "Ben", "Clara"])), "Anna, Ben und Clara");
        assert_eq!(join_or(&items(&["9:00 Uhr", "9:30 Uhr"])), "9:00 Uhr oder 9:30 Uhr");
        assert_eq!(join_or(&items(&["x"])), "x");
    }
}
