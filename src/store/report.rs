//! Read-only queries for reports and the load harness: every appointment with its phases and
//! Cal.com uids, status counts, and the overlap check on bookings themselves.
//!
//! Written once for both backends (`with_read!`); nothing here writes. These scan whole tables,
//! so they are meant for verification after a run and for small operator reports, not for the
//! request path.

use std::collections::HashMap;

use super::appointments::{appointment_from_row, phase_from_row};
use super::row::DbRow;
use super::types::Appointment;
use super::{Store, StoreError, with_read};

/// How many rows are in one combination of states.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateCount {
    /// The states, e.g. `["hold", "expired", "ttl"]` (an absent reason is `""`).
    pub states: Vec<String>,
    pub count: u64,
}

const APPOINTMENT_COLUMNS: &str = "id, tenant_id, staff_id, service_id, reservation_token, call_id, customer_name, \
    customer_phone, customer_email, notes, start_time, end_time, is_compound, status, status_reason, sync_state, \
    reschedule_count, created_at, updated_at";

const PHASE_COLUMNS: &str = "appointment_id, seq, name, start_time, end_time, staff_busy, calcom_event_type_id, \
    calcom_booking_uid, calcom_booking_id, calcom_reservation_uid, sync_status, sync_attempts, sync_error";

impl Store {
    /// Every appointment (any status) with its phases, oldest first.
    pub async fn all_appointments(&self) -> Result<Vec<Appointment>, StoreError> {
        let sql = format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments ORDER BY created_at, id");
        let phases_sql = format!("SELECT {PHASE_COLUMNS} FROM appointment_phases ORDER BY appointment_id, seq");
        with_read!(self, pool => {
            let phase_rows = sqlx::query(sqlx::AssertSqlSafe(phases_sql)).fetch_all(pool).await?;
            let mut phases: HashMap<String, Vec<_>> = HashMap::new();
            for row in &phase_rows {
                phases.entry(row.text("appointment_id")?).or_default().push(phase_from_row(row)?);
            }
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let id = row.text("id")?;
                    appointment_from_row(row, phases.remove(&id).unwrap_or_default())
                })
                .collect()
        })
    }

    /// Reservations by kind, status and status reason.
    pub async fn reservation_state_counts(&self) -> Result<Vec<StateCount>, StoreError> {
        let sql = "SELECT kind, status, COALESCE(status_reason, '') AS reason, COUNT(*) AS n FROM appointment_reservations \
                   GROUP BY kind, status, COALESCE(status_reason, '') ORDER BY kind, status, reason";
        self.state_counts(sql, &["kind", "status", "reason"]).await
    }

    /// Appointments by status and Cal.com sync state.
    pub async fn appointment_state_counts(&self) -> Result<Vec<StateCount>, StoreError> {
        let sql = "SELECT status, sync_state, COUNT(*) AS n FROM appointments GROUP BY status, sync_state ORDER BY status, sync_state";
        self.state_counts(sql, &["status", "sync_state"]).await
    }

    async fn state_counts(&self, sql: &'static str, columns: &[&str]) -> Result<Vec<StateCount>, StoreError> {
        with_read!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let states = columns.iter().map(|c| row.text(c)).collect::<Result<Vec<_>, _>>()?;
                    Ok(StateCount { states, count: row.int("n")?.max(0) as u64 })
                })
                .collect()
        })
    }

    /// BK-1 on the bookings themselves (independent of `busy_intervals`): pairs of staff-busy
    /// phases of confirmed appointments of one staff member that overlap. Must always be 0.
    pub async fn overlapping_booking_phases(&self) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) AS n \
            FROM appointment_phases pa JOIN appointments a ON a.id = pa.appointment_id \
            JOIN appointments b ON b.tenant_id = a.tenant_id AND b.staff_id = a.staff_id \
            JOIN appointment_phases pb ON pb.appointment_id = b.id \
            WHERE a.status = 'confirmed' AND b.status = 'confirmed' AND pa.staff_busy AND pb.staff_busy \
            AND (a.id < b.id OR (a.id = b.id AND pa.seq < pb.seq)) \
            AND pa.start_time < pb.end_time AND pb.start_time < pa.end_time";
        with_read!(self, pool => {
            let row = sqlx::query(sql).fetch_one(pool).await?;
            Ok(row.int("n")?.max(0) as u64)
        })
    }
}
