//! What the admin pages read and write: accounts, sessions, and filtered, paged listings of
//! reservations, bookings and their counts.
//!
//! Guarantees:
//! * **Tenant walls in SQL.** Every listing and every lookup by id or token takes the caller's
//!   tenant scope (`None` only for operators) and filters in the `WHERE` clause, so a row of another
//!   tenant is never read into memory, let alone shown.
//! * **Status is decided by time.** A reservation still marked `active` whose `expires_at` has
//!   passed (the sweeper has not reached it yet) is filtered and counted as expired, the same rule
//!   the calendar actors apply.
//! * **One SQL text for both backends.** Search is `LOWER(column) LIKE pattern ESCAPE '\'` with a
//!   pattern built by [`like_pattern`] (lower-cased in Rust, `%`, `_` and `\` escaped), which means
//!   the same on SQLite and PostgreSQL. SQLite's `LOWER` folds ASCII only, so there a search for
//!   "ö" does not find "Ö"; PostgreSQL folds every letter.
//! * Sessions are stored by the SHA-256 of their token; the token itself never reaches the database.

use chrono::{DateTime, Utc};

use super::types::*;
use crate::domain::TenantId;

text_enum!(
    /// What an admin account may see: an operator every tenant, a tenant admin one.
    AdminRole { Operator => "operator", TenantAdmin => "tenant-admin" }
);

/// An admin account.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub id: i64,
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    pub role: AdminRole,
    /// `Some` exactly for tenant admins.
    pub tenant: Option<TenantId>,
    pub created_at: DateTime<Utc>,
}

/// An account to create (the username is already normalised, the password already hashed).
#[derive(Debug, Clone, Copy)]
pub struct NewAdminUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: AdminRole,
    pub tenant: Option<&'a TenantId>,
    pub now: DateTime<Utc>,
}

/// A live session with the account it belongs to.
#[derive(Debug, Clone)]
pub struct AdminSessionRecord {
    pub user_id: i64,
    pub username: String,
    pub role: AdminRole,
    pub tenant: Option<TenantId>,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A session to store.
#[derive(Debug, Clone, Copy)]
pub struct NewAdminSession<'a> {
    /// Hex SHA-256 of the cookie's token.
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Orders the reservation list may take (a closed set: the SQL fragments are constants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReservationSort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    StartAsc,
    StartDesc,
    ExpiresAsc,
    ExpiresDesc,
}

impl ReservationSort {
    pub const ALL: [ReservationSort; 6] = [
        ReservationSort::CreatedDesc,
        ReservationSort::CreatedAsc,
        ReservationSort::StartAsc,
        ReservationSort::StartDesc,
        ReservationSort::ExpiresAsc,
        ReservationSort::ExpiresDesc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReservationSort::CreatedDesc => "created_desc",
            ReservationSort::CreatedAsc => "created_asc",
            ReservationSort::StartAsc => "start_asc",
            ReservationSort::StartDesc => "start_desc",
            ReservationSort::ExpiresAsc => "expires_asc",
            ReservationSort::ExpiresDesc => "expires_desc",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == text)
    }

    fn order_by(self) -> &'static str {
        match self {
            ReservationSort::CreatedDesc => "created_at DESC, id DESC",
            ReservationSort::CreatedAsc => "created_at ASC, id ASC",
            ReservationSort::StartAsc => "start_time ASC, id ASC",
            ReservationSort::StartDesc => "start_time DESC, id DESC",
            ReservationSort::ExpiresAsc => "expires_at ASC, id ASC",
            ReservationSort::ExpiresDesc => "expires_at DESC, id DESC",
        }
    }
}

/// Which reservations to list.
#[derive(Debug, Clone, Default)]
pub struct ReservationFilter {
    /// `None`: every tenant (operators only).
    pub tenant: Option<TenantId>,
    /// The status as decided by time (see the module docs).
    pub status: Option<ReservationStatus>,
    pub kind: Option<ReservationKind>,
    /// Part of a token, call id or customer name, any case.
    pub search: Option<String>,
    pub sort: ReservationSort,
}

/// Which bookings to list.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub tenant: Option<TenantId>,
    pub status: Option<AppointmentStatus>,
    pub sync: Option<SyncState>,
    /// Part of a booking id, reservation token, call id or customer name, any case.
    pub search: Option<String>,
}

/// One page of a listing and the number of rows on all pages.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// Rows `offset..offset + limit` of a listing.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

/// Longer search terms are cut to this many characters (tokens and call ids are ~40).
pub const MAX_SEARCH_CHARS: usize = 200;

/// `%term%` for `LIKE … ESCAPE '\'`, lower-cased, with the wildcards of the term escaped.
/// `None` for a blank term (no search).
pub fn like_pattern(term: &str) -> Option<String> {
    let trimmed = term.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut pattern = String::with_capacity(trimmed.len() + 2);
    pattern.push('%');
    for ch in trimmed.to_lowercase().chars().take(MAX_SEARCH_CHARS) {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    Some(pattern)
}

// Copies of the column lists of `calendar.rs`, `appointments.rs` and `outbox.rs` (private there);
// the row decoders are shared, so a missing column fails loudly in the admin tests.
const RESERVATION_COLUMNS: &str = "id, tenant_id, staff_id, reservation_token, kind, call_id, customer_name, \
    customer_phone, service_id, start_time, end_time, is_compound, status, status_reason, expires_at, \
    converted_appointment_id, phases, created_at, updated_at";
const APPOINTMENT_COLUMNS: &str = "id, tenant_id, staff_id, service_id, reservation_token, call_id, customer_name, \
    customer_phone, customer_email, notes, start_time, end_time, is_compound, status, status_reason, sync_state, \
    reschedule_count, created_at, updated_at";
const PHASE_COLUMNS: &str = "appointment_id, seq, name, start_time, end_time, staff_busy, calcom_event_type_id, \
    calcom_booking_uid, calcom_booking_id, calcom_reservation_uid, sync_status, sync_attempts, sync_error";
use super::outbox::JOB_COLUMNS;

mod accounts;
mod listings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_pattern_is_lower_case_and_escapes_wildcards() {
        assert_eq!(like_pattern("  Müller "), Some("%müller%".into()));
        assert_eq!(like_pattern("50%_off\\"), Some("%50\\%\\_off\\\\%".into()));
        assert_eq!(like_pattern("   "), None);
        assert_eq!(like_pattern(&"x".repeat(5000)).unwrap().len(), MAX_SEARCH_CHARS + 2, "bounded");
    }

    #[test]
    fn every_sort_round_trips_through_its_name() {
        for sort in ReservationSort::ALL {
            assert_eq!(ReservationSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(ReservationSort::parse("created_at; DROP TABLE x"), None);
    }

    #[test]
    fn roles_have_the_names_the_migration_allows() {
        assert_eq!(AdminRole::parse("tenant-admin"), Some(AdminRole::TenantAdmin));
        assert_eq!(AdminRole::Operator.as_str(), "operator");
    }
}
