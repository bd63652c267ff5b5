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

use super::appointments::{appointment_from_row, phase_from_row};
use super::calendar::reservation_from_row;
use super::outbox::job_from_row;
use super::row::DbRow;
use super::types::*;
use super::{OutboxJob, Store, StoreError, with_read, with_write};
use crate::domain::{AppointmentId, ReservationToken, TenantId};

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
const JOB_COLUMNS: &str =
    "id, tenant_id, appointment_id, kind, status, attempts, next_attempt_at, last_error, created_at, updated_at";

/// `$1` tenant, `$2` status (time-decided), `$3` now, `$4` kind, `$5` search pattern.
const RESERVATION_WHERE: &str = "($1 IS NULL OR tenant_id = $1) \
    AND ($2 IS NULL \
         OR ($2 = 'active' AND status = 'active' AND expires_at > $3) \
         OR ($2 = 'expired' AND (status = 'expired' OR (status = 'active' AND expires_at <= $3))) \
         OR ($2 IN ('converted', 'cancelled') AND status = $2)) \
    AND ($4 IS NULL OR kind = $4) \
    AND ($5 IS NULL OR LOWER(reservation_token) LIKE $5 ESCAPE '\\' OR LOWER(call_id) LIKE $5 ESCAPE '\\' \
         OR LOWER(customer_name) LIKE $5 ESCAPE '\\')";

/// `$1` tenant, `$2` status, `$3` sync state, `$4` search pattern.
const BOOKING_WHERE: &str = "($1 IS NULL OR tenant_id = $1) \
    AND ($2 IS NULL OR status = $2) \
    AND ($3 IS NULL OR sync_state = $3) \
    AND ($4 IS NULL OR LOWER(id) LIKE $4 ESCAPE '\\' OR LOWER(call_id) LIKE $4 ESCAPE '\\' \
         OR LOWER(customer_name) LIKE $4 ESCAPE '\\' OR LOWER(reservation_token) LIKE $4 ESCAPE '\\')";

impl Store {
    /// Creates an account; [`StoreError::Duplicate`] when the username is taken.
    pub async fn create_admin_user(&self, user: NewAdminUser<'_>) -> Result<i64, StoreError> {
        let sql = "INSERT INTO admin_users (username, password_hash, role, tenant_id, created_at) \
                   VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let tenant = user.tenant.map(TenantId::as_str);
        with_write!(self, pool => {
            let id: i64 = sqlx::query_scalar(sql)
                .bind(user.username).bind(user.password_hash).bind(user.role.as_str()).bind(tenant).bind(user.now)
                .fetch_one(pool).await?;
            Ok(id)
        })
    }

    pub async fn admin_user_by_name(&self, username: &str) -> Result<Option<AdminUser>, StoreError> {
        let sql =
            "SELECT id, username, password_hash, role, tenant_id, created_at FROM admin_users WHERE username = $1";
        with_read!(self, pool => {
            let row = sqlx::query(sql).bind(username).fetch_optional(pool).await?;
            row.as_ref().map(admin_user_from_row).transpose()
        })
    }

    pub async fn create_admin_session(&self, session: NewAdminSession<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO admin_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        with_write!(self, pool => {
            sqlx::query(sql)
                .bind(session.token_hash).bind(session.user_id).bind(session.csrf_token).bind(session.created_at).bind(session.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The unexpired session with this token hash, with its account.
    pub async fn admin_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSessionRecord>, StoreError> {
        let sql = "SELECT s.user_id, s.csrf_token, s.expires_at, u.username, u.role, u.tenant_id \
                   FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2";
        with_read!(self, pool => {
            let Some(row) = sqlx::query(sql).bind(token_hash).bind(now).fetch_optional(pool).await? else {
                return Ok(None);
            };
            Ok(Some(AdminSessionRecord {
                user_id: row.int("user_id")?,
                username: row.text("username")?,
                role: AdminRole::parse(&row.text("role")?).ok_or_else(|| StoreError::corrupt("admin role"))?,
                tenant: row.opt_text("tenant_id")?.map(TenantId::from),
                csrf_token: row.text("csrf_token")?,
                expires_at: row.time("expires_at")?,
            }))
        })
    }

    /// Ends a session (logout). `false` when there was none.
    pub async fn delete_admin_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        with_write!(self, pool => {
            let deleted = sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
            Ok(deleted.rows_affected() == 1)
        })
    }

    /// Deletes sessions past their expiry; returns how many.
    pub async fn purge_admin_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        with_write!(self, pool => {
            let deleted = sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1").bind(now).execute(pool).await?;
            Ok(deleted.rows_affected())
        })
    }

    /// One page of reservations (holds and offers) matching `filter`, and how many match in all.
    pub async fn list_reservations(
        &self,
        filter: &ReservationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Reservation>, StoreError> {
        let list_sql = format!(
            "SELECT {RESERVATION_COLUMNS} FROM appointment_reservations WHERE {RESERVATION_WHERE} ORDER BY {} LIMIT $6 OFFSET $7",
            filter.sort.order_by()
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM appointment_reservations WHERE {RESERVATION_WHERE}");
        let tenant = filter.tenant.as_ref().map(TenantId::as_str);
        let status = filter.status.map(ReservationStatus::as_str);
        let kind = filter.kind.map(ReservationKind::as_str);
        let pattern = filter.search.as_deref().and_then(like_pattern);
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(list_sql))
                .bind(tenant).bind(status).bind(now).bind(kind).bind(pattern.as_deref()).bind(page.limit).bind(page.offset)
                .fetch_all(pool).await?;
            let total = sqlx::query(sqlx::AssertSqlSafe(count_sql))
                .bind(tenant).bind(status).bind(now).bind(kind).bind(pattern.as_deref())
                .fetch_one(pool).await?.int("n")?;
            let items = rows.iter().map(reservation_from_row).collect::<Result<Vec<_>, _>>()?;
            Ok(Page { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    /// Holds that occupy a slot right now (active and unexpired), per tenant or in all.
    pub async fn count_live_holds(&self, tenant: Option<&TenantId>, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM appointment_reservations \
                   WHERE ($1 IS NULL OR tenant_id = $1) AND status = 'active' AND kind = 'hold' AND expires_at > $2";
        let tenant = tenant.map(TenantId::as_str);
        with_read!(self, pool => {
            let count = sqlx::query(sql).bind(tenant).bind(now).fetch_one(pool).await?.int("n")?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    /// A reservation by token, only when it belongs to `tenant` (any tenant for `None`).
    pub async fn reservation_in_scope(
        &self,
        token: &ReservationToken,
        tenant: Option<&TenantId>,
    ) -> Result<Option<Reservation>, StoreError> {
        let sql = format!(
            "SELECT {RESERVATION_COLUMNS} FROM appointment_reservations WHERE reservation_token = $1 AND ($2 IS NULL OR tenant_id = $2)"
        );
        let tenant = tenant.map(TenantId::as_str);
        with_read!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token.as_str()).bind(tenant).fetch_optional(pool).await?;
            row.as_ref().map(reservation_from_row).transpose()
        })
    }

    /// One page of bookings with their phases, newest first, and how many match in all.
    pub async fn list_appointments(
        &self,
        filter: &BookingFilter,
        page: PageRequest,
    ) -> Result<Page<Appointment>, StoreError> {
        let list_sql = format!(
            "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE {BOOKING_WHERE} ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM appointments WHERE {BOOKING_WHERE}");
        let tenant = filter.tenant.as_ref().map(TenantId::as_str);
        let status = filter.status.map(AppointmentStatus::as_str);
        let sync = filter.sync.map(SyncState::as_str);
        let pattern = filter.search.as_deref().and_then(like_pattern);
        let (rows, total) = with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(list_sql))
                .bind(tenant).bind(status).bind(sync).bind(pattern.as_deref()).bind(page.limit).bind(page.offset)
                .fetch_all(pool).await?;
            let total = sqlx::query(sqlx::AssertSqlSafe(count_sql))
                .bind(tenant).bind(status).bind(sync).bind(pattern.as_deref())
                .fetch_one(pool).await?.int("n")?;
            let appointments = rows.iter().map(|row| appointment_from_row(row, Vec::new())).collect::<Result<Vec<_>, StoreError>>()?;
            Ok::<_, StoreError>((appointments, total))
        })?;
        let items = self.attach_phases(rows).await?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0) })
    }

    /// A booking with its phases, only when it belongs to `tenant` (any tenant for `None`).
    pub async fn appointment_in_scope(
        &self,
        id: &AppointmentId,
        tenant: Option<&TenantId>,
    ) -> Result<Option<Appointment>, StoreError> {
        let sql =
            format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)");
        let tenant = tenant.map(TenantId::as_str);
        let found = with_read!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).bind(tenant).fetch_optional(pool).await?;
            row.as_ref().map(|row| appointment_from_row(row, Vec::new())).transpose()
        })?;
        match found {
            Some(appointment) => Ok(self.attach_phases(vec![appointment]).await?.pop()),
            None => Ok(None),
        }
    }

    /// An outbox job by id, only when it belongs to `tenant` (any tenant for `None`).
    pub async fn outbox_job_in_scope(
        &self,
        id: i64,
        tenant: Option<&TenantId>,
    ) -> Result<Option<OutboxJob>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM calcom_outbox WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)");
        let tenant = tenant.map(TenantId::as_str);
        with_read!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(tenant).fetch_optional(pool).await?;
            row.as_ref().map(job_from_row).transpose()
        })
    }

    /// Loads the phases of `appointments` in one query (no N+1 on a page of fifty bookings).
    async fn attach_phases(&self, mut appointments: Vec<Appointment>) -> Result<Vec<Appointment>, StoreError> {
        if appointments.is_empty() {
            return Ok(appointments);
        }
        // Only numbered placeholders are formatted into the SQL; the ids are bound.
        let placeholders: Vec<String> = (1..=appointments.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT {PHASE_COLUMNS} FROM appointment_phases WHERE appointment_id IN ({}) ORDER BY appointment_id, seq",
            placeholders.join(", ")
        );
        let ids: Vec<String> = appointments.iter().map(|a| a.id.as_str().to_owned()).collect();
        let phases = with_read!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| Ok((row.text("appointment_id")?, phase_from_row(row)?)))
                .collect::<Result<Vec<(String, AppointmentPhase)>, StoreError>>()
        })?;
        for (appointment_id, phase) in phases {
            if let Some(appointment) = appointments.iter_mut().find(|a| a.id.as_str() == appointment_id) {
                appointment.phases.push(phase);
            }
        }
        Ok(appointments)
    }
}

fn admin_user_from_row(row: &impl DbRow) -> Result<AdminUser, StoreError> {
    Ok(AdminUser {
        id: row.int("id")?,
        username: row.text("username")?,
        password_hash: row.text("password_hash")?,
        role: AdminRole::parse(&row.text("role")?).ok_or_else(|| StoreError::corrupt("admin role"))?,
        tenant: row.opt_text("tenant_id")?.map(TenantId::from),
        created_at: row.time("created_at")?,
    })
}

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
