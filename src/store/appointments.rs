//! Appointments (bookings) and their phases.
//!
//! An appointment is written in the same transaction as the conversion of its hold (see
//! `calendar.rs`) together with its outbox job, so an acknowledged booking is never without the
//! work that brings it to Cal.com (BK-2, BK-5). Cancelling frees the staff-busy intervals and
//! queues the Cal.com cancellation in one transaction as well.

use chrono::{DateTime, Utc};

use super::busy::{Owner, occupy};
use super::outbox::{Fence, INSERT_OUTBOX, fence_clause};
use super::row::DbRow;
use super::types::*;
use super::{Store, StoreError, with_read, with_write};
use crate::domain::{AppointmentId, Interval, ReservationToken, TenantId};

const APPOINTMENT_COLUMNS: &str = "id, tenant_id, staff_id, service_id, reservation_token, call_id, customer_name, \
    customer_phone, customer_email, notes, start_time, end_time, is_compound, status, status_reason, sync_state, \
    reschedule_count, created_at, updated_at";

const PHASE_COLUMNS: &str = "seq, name, start_time, end_time, staff_busy, calcom_event_type_id, calcom_booking_uid, \
    calcom_booking_id, calcom_reservation_uid, sync_status, sync_attempts, sync_error";

/// Inserts `$apt` (a `NewAppointment`) and its phases on connection `$conn`.
macro_rules! insert_appointment {
    ($conn:expr, $apt:expr, $now:expr) => {{
        let apt = $apt;
        sqlx::query(
            "INSERT INTO appointments (id, tenant_id, reservation_token, call_id, customer_name, customer_phone, \
             customer_email, notes, service_id, staff_id, start_time, end_time, is_compound, status, sync_state, \
             reschedule_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'confirmed', 'pending', 0, $14, $14)",
        )
        .bind(apt.id.as_str())
        .bind(apt.tenant.as_str())
        .bind(apt.reservation_token.as_ref().map(|t| t.as_str()))
        .bind(&apt.call_id)
        .bind(&apt.customer_name)
        .bind(apt.customer_phone.as_deref())
        .bind(apt.customer_email.as_deref())
        .bind(apt.notes.as_deref())
        .bind(apt.service.as_str())
        .bind(apt.staff.as_str())
        .bind(apt.start)
        .bind(apt.end)
        .bind(apt.is_compound)
        .bind($now)
        .execute(&mut *$conn)
        .await?;
        for phase in &apt.phases {
            let sync = if phase.staff_busy { "pending" } else { "not_applicable" };
            sqlx::query(
                "INSERT INTO appointment_phases (appointment_id, seq, name, start_time, end_time, staff_busy, \
                 calcom_event_type_id, sync_status, sync_attempts, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
            )
            .bind(apt.id.as_str())
            .bind(i32::from(phase.seq))
            .bind(&phase.name)
            .bind(phase.start)
            .bind(phase.end)
            .bind(phase.staff_busy)
            .bind(phase.event_type_id)
            .bind(sync)
            .bind($now)
            .execute(&mut *$conn)
            .await?;
        }
    }};
}
pub(crate) use insert_appointment;

/// The result of a phase's Cal.com work, written by the sync worker.
#[derive(Debug, Clone)]
pub struct PhaseUpdate {
    pub seq: u16,
    pub status: PhaseSync,
    pub booking_uid: Option<String>,
    pub booking_id: Option<i64>,
    pub error: Option<String>,
    /// Count this as one more attempt.
    pub attempted: bool,
}

impl Store {
    pub async fn get_appointment(&self, id: &AppointmentId) -> Result<Option<Appointment>, StoreError> {
        let sql = format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1");
        let phases_sql =
            format!("SELECT {PHASE_COLUMNS} FROM appointment_phases WHERE appointment_id = $1 ORDER BY seq");
        with_read!(self, pool => {
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let phase_rows = sqlx::query(sqlx::AssertSqlSafe(phases_sql)).bind(id.as_str()).fetch_all(pool).await?;
            let phases = phase_rows.iter().map(phase_from_row).collect::<Result<Vec<_>, _>>()?;
            appointment_from_row(&row, phases).map(Some)
        })
    }

    /// Confirmed appointments of one caller (by phone) that end after `from`, soonest first.
    pub async fn appointments_by_phone(
        &self,
        tenant: &TenantId,
        phone: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<Appointment>, StoreError> {
        let sql = "SELECT id FROM appointments WHERE tenant_id = $1 AND customer_phone = $2 AND status = 'confirmed' \
                   AND end_time > $3 ORDER BY start_time LIMIT 50";
        let ids: Vec<String> = with_read!(self, pool => sqlx::query_scalar(sql).bind(tenant.as_str()).bind(phone).bind(from).fetch_all(pool).await)?;
        let mut appointments = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(apt) = self.get_appointment(&AppointmentId::new(id)).await? {
                appointments.push(apt);
            }
        }
        Ok(appointments)
    }

    /// The name a caller (by phone) gave at their most recent appointment of this tenant, in
    /// any status: a cancelled appointment still tells who called.
    pub async fn latest_customer_name(&self, tenant: &TenantId, phone: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT customer_name FROM appointments WHERE tenant_id = $1 AND customer_phone = $2 \
                   AND customer_name <> '' ORDER BY start_time DESC LIMIT 1";
        Ok(
            with_read!(self, pool => sqlx::query_scalar(sql).bind(tenant.as_str()).bind(phone).fetch_optional(pool).await)?,
        )
    }

    /// The appointment a reservation was converted into.
    pub async fn appointment_for_token(&self, token: &ReservationToken) -> Result<Option<Appointment>, StoreError> {
        let sql = "SELECT id FROM appointments WHERE reservation_token = $1";
        let id: Option<String> =
            with_read!(self, pool => sqlx::query_scalar(sql).bind(token.as_str()).fetch_optional(pool).await)?;
        match id {
            Some(id) => self.get_appointment(&AppointmentId::new(id)).await,
            None => Ok(None),
        }
    }

    /// Cancels a confirmed appointment of `tenant`: frees its intervals and queues the Cal.com
    /// cancellation. `false` when it is not (or no longer) confirmed.
    pub async fn cancel_appointment(
        &self,
        tenant: &TenantId,
        id: &AppointmentId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.end_appointment(tenant, id, AppointmentStatus::Cancelled, reason, now, true).await
    }

    /// Marks an appointment failed (Cal.com refused it for good and the booked phases were
    /// compensated) and frees its intervals.
    pub async fn fail_appointment(
        &self,
        tenant: &TenantId,
        id: &AppointmentId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.end_appointment(tenant, id, AppointmentStatus::Failed, reason, now, false).await
    }

    async fn end_appointment(
        &self,
        tenant: &TenantId,
        id: &AppointmentId,
        status: AppointmentStatus,
        reason: &str,
        now: DateTime<Utc>,
        queue_cancel: bool,
    ) -> Result<bool, StoreError> {
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE appointments SET status = $3, status_reason = $4, updated_at = $5 \
                 WHERE id = $1 AND tenant_id = $2 AND status = 'confirmed'",
            )
            .bind(id.as_str())
            .bind(tenant.as_str())
            .bind(status.as_str())
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("UPDATE busy_intervals SET active = FALSE WHERE owner_id = $1 AND owner_kind = 'booking' AND active")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            if queue_cancel {
                sqlx::query(INSERT_OUTBOX).bind(tenant.as_str()).bind(id.as_str()).bind("cancel").bind(now).fetch_one(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Moves a confirmed appointment to new phase times on the same calendar, atomically: the old
    /// intervals are freed and the new ones occupied in one transaction (so the caller never holds
    /// neither slot, and a new time overlapping the old one works), the appointment and its phases
    /// get the new times, and a Cal.com reschedule job is queued. `Ok(None)` when the appointment
    /// is no longer confirmed at its old time; `SlotTaken` when the new time is not free.
    pub async fn reschedule_appointment(
        &self,
        appointment: &Appointment,
        new_phases: &[NewPhase],
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let (Some(first), Some(last)) = (new_phases.first(), new_phases.last()) else {
            return Err(StoreError::Other("a reschedule needs phases".into()));
        };
        let busy: Vec<Interval> =
            new_phases.iter().filter(|p| p.staff_busy).filter_map(|p| Interval::new(p.start, p.end).ok()).collect();
        let owner = Owner {
            tenant: appointment.tenant.as_str(),
            staff: appointment.staff.as_str(),
            kind: "booking",
            id: appointment.id.as_str(),
            expires_at: None,
        };
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE appointments SET start_time = $2, end_time = $3, reschedule_count = reschedule_count + 1, \
                 sync_state = 'pending', updated_at = $4 WHERE id = $1 AND status = 'confirmed' AND start_time = $5",
            )
            .bind(appointment.id.as_str())
            .bind(first.start)
            .bind(last.end)
            .bind(now)
            .bind(appointment.start)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
            sqlx::query("DELETE FROM busy_intervals WHERE owner_id = $1 AND owner_kind = 'booking'")
                .bind(appointment.id.as_str())
                .execute(&mut *tx)
                .await?;
            let mut swept = Vec::new();
            if !occupy!(&mut *tx, &owner, &busy, now, swept) {
                tx.rollback().await?;
                return Err(StoreError::SlotTaken);
            }
            for phase in new_phases {
                sqlx::query(
                    "UPDATE appointment_phases SET start_time = $3, end_time = $4, updated_at = $5, \
                     sync_status = CASE WHEN staff_busy THEN 'pending' ELSE sync_status END \
                     WHERE appointment_id = $1 AND seq = $2",
                )
                .bind(appointment.id.as_str())
                .bind(i32::from(phase.seq))
                .bind(phase.start)
                .bind(phase.end)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let job_id: i64 = sqlx::query_scalar(INSERT_OUTBOX)
                .bind(appointment.tenant.as_str())
                .bind(appointment.id.as_str())
                .bind("reschedule")
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(job_id))
        })
    }

    /// Records a phase's Cal.com state, under the outbox claim `fence` (refused with
    /// [`StoreError::Fenced`] once another claim of the job has taken over).
    pub async fn update_phase(
        &self,
        fence: Fence,
        id: &AppointmentId,
        update: &PhaseUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE appointment_phases SET sync_status = $3, \
            calcom_booking_uid = COALESCE($4, calcom_booking_uid), calcom_booking_id = COALESCE($5, calcom_booking_id), \
            sync_error = $6, sync_attempts = sync_attempts + $7, updated_at = $8 \
            WHERE appointment_id = $1 AND seq = $2 AND {}",
            fence_clause(9, 10)
        );
        let written = with_write!(self, pool => {
            Ok::<_, StoreError>(sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .bind(i32::from(update.seq))
                .bind(update.status.as_str())
                .bind(update.booking_uid.as_deref())
                .bind(update.booking_id)
                .bind(update.error.as_deref())
                .bind(i32::from(update.attempted))
                .bind(now)
                .bind(fence.job)
                .bind(fence.token)
                .execute(pool)
                .await?
                .rows_affected())
        })?;
        fenced(fence, written)
    }

    /// Records where the appointment stands at Cal.com, under the outbox claim `fence`.
    pub async fn set_sync_state(
        &self,
        fence: Fence,
        id: &AppointmentId,
        state: SyncState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE appointments SET sync_state = $2, updated_at = $3 WHERE id = $1 AND {}",
            fence_clause(4, 5)
        );
        let written = with_write!(self, pool => {
            Ok::<_, StoreError>(sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .bind(state.as_str())
                .bind(now)
                .bind(fence.job)
                .bind(fence.token)
                .execute(pool)
                .await?
                .rows_affected())
        })?;
        fenced(fence, written)
    }
}

/// A fenced write that matched no row: the claim was taken over (the row itself exists: the job
/// that writes it has just read it).
fn fenced(fence: Fence, written: u64) -> Result<(), StoreError> {
    if written == 0 { Err(StoreError::Fenced(fence.job)) } else { Ok(()) }
}

pub(crate) fn appointment_from_row(row: &impl DbRow, phases: Vec<AppointmentPhase>) -> Result<Appointment, StoreError> {
    Ok(Appointment {
        id: AppointmentId::new(row.text("id")?),
        tenant: row.text("tenant_id")?.into(),
        staff: row.text("staff_id")?.into(),
        service: row.text("service_id")?.into(),
        reservation_token: row.opt_text("reservation_token")?.map(ReservationToken::new),
        call_id: row.text("call_id")?,
        customer_name: row.text("customer_name")?,
        customer_phone: row.opt_text("customer_phone")?,
        customer_email: row.opt_text("customer_email")?,
        notes: row.opt_text("notes")?,
        start: row.time("start_time")?,
        end: row.time("end_time")?,
        is_compound: row.flag("is_compound")?,
        status: AppointmentStatus::parse(&row.text("status")?)
            .ok_or_else(|| StoreError::corrupt("appointment status"))?,
        status_reason: row.opt_text("status_reason")?,
        sync_state: SyncState::parse(&row.text("sync_state")?).ok_or_else(|| StoreError::corrupt("sync state"))?,
        reschedule_count: row.int("reschedule_count")? as i32,
        phases,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) fn phase_from_row(row: &impl DbRow) -> Result<AppointmentPhase, StoreError> {
    let start = row.time("start_time")?;
    let end = row.time("end_time")?;
    Interval::new(start, end).map_err(StoreError::corrupt)?;
    Ok(AppointmentPhase {
        seq: u16::try_from(row.int("seq")?).map_err(StoreError::corrupt)?,
        name: row.text("name")?,
        start,
        end,
        staff_busy: row.flag("staff_busy")?,
        event_type_id: row.opt_int("calcom_event_type_id")?,
        booking_uid: row.opt_text("calcom_booking_uid")?,
        booking_id: row.opt_int("calcom_booking_id")?,
        reservation_uid: row.opt_text("calcom_reservation_uid")?,
        sync_status: PhaseSync::parse(&row.text("sync_status")?).ok_or_else(|| StoreError::corrupt("phase sync"))?,
        sync_attempts: row.int("sync_attempts")? as i32,
        sync_error: row.opt_text("sync_error")?,
    })
}
