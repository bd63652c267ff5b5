//! How the admin pages say things: German labels for every state, times in the tenant's zone,
//! relative times ("in 45 s", "vor 3 Min."), badge colours, and links that keep the filters.
//!
//! Pure functions only (no I/O), so the wording is tested here. `assets/admin.js` repeats
//! [`relative_de`] to keep the relative times ticking between refreshes; keep the two in step.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::store::{
    AppointmentStatus, OutboxKind, PhaseSync, Reservation, ReservationKind, ReservationStatus, SyncState,
};

/// "in 45 s", "vor 3 Min.", "in 2 Std.", "vor 1 Tag", "in 3 Tagen"; "jetzt" within a second.
pub fn relative_de(target: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (target - now).num_seconds();
    let magnitude = seconds.unsigned_abs();
    if magnitude == 0 {
        return "jetzt".into();
    }
    let amount = if magnitude < 60 {
        format!("{magnitude} s")
    } else if magnitude < 3600 {
        format!("{} Min.", magnitude / 60)
    } else if magnitude < 86_400 {
        format!("{} Std.", magnitude / 3600)
    } else {
        let days = magnitude / 86_400;
        if days == 1 { "1 Tag".into() } else { format!("{days} Tagen") }
    };
    if seconds > 0 { format!("in {amount}") } else { format!("vor {amount}") }
}

/// `25.11.2026 10:00` in `tz`.
pub fn date_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

/// `25.11.2026 10:00:05` in `tz`.
pub fn date_time_seconds(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d.%m.%Y %H:%M:%S").to_string()
}

/// `10:00` in `tz`.
pub fn clock_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M").to_string()
}

/// The status as decided by time: an `active` reservation past its expiry is expired, whether or
/// not the sweeper has marked it yet (the rule the calendar actors apply).
pub fn effective_status(reservation: &Reservation, now: DateTime<Utc>) -> ReservationStatus {
    if reservation.status == ReservationStatus::Active && reservation.expires_at <= now {
        ReservationStatus::Expired
    } else {
        reservation.status
    }
}

/// A coloured label: the text and its CSS class (`badge-warning` = amber, `-success` = green,
/// `-danger` = red, `-secondary` = grey, `-info` = blue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub label: &'static str,
    pub class: &'static str,
}

/// The seed's colours: active amber, converted green, expired red, cancelled grey.
pub fn reservation_badge(status: ReservationStatus) -> Badge {
    match status {
        ReservationStatus::Active => Badge { label: "Aktiv", class: "badge-warning" },
        ReservationStatus::Converted => Badge { label: "Gebucht", class: "badge-success" },
        ReservationStatus::Expired => Badge { label: "Abgelaufen", class: "badge-danger" },
        ReservationStatus::Cancelled => Badge { label: "Storniert", class: "badge-secondary" },
    }
}

pub fn reservation_status_label(status: ReservationStatus) -> &'static str {
    reservation_badge(status).label
}

pub fn kind_label(kind: ReservationKind) -> &'static str {
    match kind {
        ReservationKind::Hold => "Reservierung",
        ReservationKind::Offer => "Angebot ohne Reservierung",
    }
}

pub fn appointment_badge(status: AppointmentStatus) -> Badge {
    match status {
        AppointmentStatus::Confirmed => Badge { label: "Bestätigt", class: "badge-success" },
        AppointmentStatus::Cancelled => Badge { label: "Storniert", class: "badge-secondary" },
        AppointmentStatus::Failed => Badge { label: "Fehlgeschlagen", class: "badge-danger" },
    }
}

pub fn sync_badge(state: SyncState) -> Badge {
    match state {
        SyncState::Pending => Badge { label: "Ausstehend", class: "badge-warning" },
        SyncState::Synced => Badge { label: "Synchronisiert", class: "badge-success" },
        SyncState::Failed => Badge { label: "Fehlgeschlagen", class: "badge-danger" },
        SyncState::Compensated => Badge { label: "Kompensiert", class: "badge-secondary" },
    }
}

pub fn phase_badge(state: PhaseSync) -> Badge {
    match state {
        PhaseSync::Pending => Badge { label: "Ausstehend", class: "badge-warning" },
        PhaseSync::InFlight => Badge { label: "Wird übertragen", class: "badge-info" },
        PhaseSync::Synced => Badge { label: "Synchronisiert", class: "badge-success" },
        PhaseSync::Failed => Badge { label: "Fehlgeschlagen", class: "badge-danger" },
        PhaseSync::Cancelled => Badge { label: "Storniert", class: "badge-secondary" },
        PhaseSync::NotApplicable => Badge { label: "Pause (kein Termin)", class: "badge-light" },
    }
}

pub fn outbox_kind_label(kind: OutboxKind) -> &'static str {
    match kind {
        OutboxKind::Create => "Anlegen",
        OutboxKind::Cancel => "Stornieren",
        OutboxKind::Reschedule => "Verschieben",
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value { "Ja" } else { "Nein" }
}

/// `path?k=v&…` with the non-empty pairs, URL-encoded.
pub fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs.iter().copied().filter(|(_, value)| !value.is_empty()).collect();
    if kept.is_empty() {
        return path.to_owned();
    }
    match serde_urlencoded::to_string(&kept) {
        Ok(query) => format!("{path}?{query}"),
        Err(_) => path.to_owned(),
    }
}

/// A page number from a query value: 1 for anything unusable.
pub fn page_number(raw: &str) -> i64 {
    raw.trim().parse::<i64>().ok().filter(|page| *page >= 1 && *page <= 1_000_000).unwrap_or(1)
}

/// Number of pages for `total` rows (at least 1, so "Seite 1 von 1" for an empty list).
pub fn page_count(total: u64, page_size: i64) -> i64 {
    let size = u64::try_from(page_size.max(1)).unwrap_or(1);
    i64::try_from(total.div_ceil(size)).unwrap_or(i64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn relative_times_read_as_german() {
        let now = at("2026-11-25T09:00:00Z");
        assert_eq!(relative_de(at("2026-11-25T09:00:45Z"), now), "in 45 s");
        assert_eq!(relative_de(at("2026-11-25T08:57:00Z"), now), "vor 3 Min.");
        assert_eq!(relative_de(at("2026-11-25T11:30:00Z"), now), "in 2 Std.");
        assert_eq!(relative_de(at("2026-11-24T09:00:00Z"), now), "vor 1 Tag");
        assert_eq!(relative_de(at("2026-11-28T09:00:00Z"), now), "in 3 Tagen");
        assert_eq!(relative_de(now, now), "jetzt");
    }

    #[test]
    fn times_show_in_the_tenants_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(date_time(at("2026-11-26T09:00:00Z"), berlin), "26.11.2026 10:00");
        assert_eq!(date_time_seconds(at("2026-07-01T09:00:05Z"), berlin), "01.07.2026 11:00:05");
    }

    #[test]
    fn badges_have_the_seeds_colours() {
        assert_eq!(reservation_badge(ReservationStatus::Active).class, "badge-warning");
        assert_eq!(reservation_badge(ReservationStatus::Converted).class, "badge-success");
        assert_eq!(reservation_badge(ReservationStatus::Expired).class, "badge-danger");
        assert_eq!(reservation_badge(ReservationStatus::Cancelled).class, "badge-secondary");
    }

    #[test]
    fn links_keep_only_set_filters_and_are_encoded() {
        assert_eq!(
            href("/admin/reservations", &[("status", "active"), ("q", "")]),
            "/admin/reservations?status=active"
        );
        assert_eq!(href("/admin/reservations", &[("q", "Müller & Co")]), "/admin/reservations?q=M%C3%BCller+%26+Co");
        assert_eq!(href("/admin/bookings", &[]), "/admin/bookings");
    }

    #[test]
    fn page_numbers_are_forgiving() {
        assert_eq!(page_number("3"), 3);
        assert_eq!(page_number("0"), 1);
        assert_eq!(page_number("x"), 1);
        assert_eq!(page_count(0, 50), 1);
        assert_eq!(page_count(101, 50), 3);
    }
}
