//! Filtered, paged listings for the admin pages, each behind its tenant wall in SQL.

use chrono::{DateTime, Utc};

use super::super::appointments::{appointment_from_row, phase_from_row};
use super::super::calendar::reservation_from_row;
use super::super::outbox::job_from_row;
use super::super::row::DbRow;
use super::super::{OutboxJob, Store, StoreError, with_read};
use super::*;
use crate::domain::{AppointmentId, ReservationToken, TenantId};

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
