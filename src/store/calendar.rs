//! The store side of the calendar actors: holds, conversions, expiry and snapshots.
//!
//! Invariants kept here:
//! * BK-1: a hold's or booking's staff-busy intervals are rows in `busy_intervals`, written by
//!   `busy.rs`; an overlapping active row cannot be inserted (constraint or trigger), and that
//!   failure is `SlotTaken`.
//! * Every state change is a conditional update (`… WHERE status = 'active'`), so when two
//!   processes race (a timer and a conversion, two nodes), the database picks exactly one winner.
//! * An expired-but-not-yet-swept hold never blocks a new one: on conflict, stale holds of that
//!   staff member are expired in the same transaction and the insert is retried once.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::appointments::insert_appointment;
use super::busy::{Owner, occupy};
use super::outbox::INSERT_OUTBOX;
use super::row::DbRow;
use super::types::*;
use super::{Store, StoreError, with_read, with_write};
use crate::domain::{AppointmentId, Interval, ReservationToken, StaffKey, TenantId};

/// A hold that the store expired (TTL passed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueHold {
    pub key: StaffKey,
    pub token: ReservationToken,
    pub kind: ReservationKind,
    pub is_compound: bool,
}

/// A hold (or offer) to insert, with the intervals it occupies.
#[derive(Debug, Clone, Copy)]
pub struct HoldInsert<'a> {
    pub reservation: &'a NewReservation,
    /// Staff-busy intervals; empty for an offer.
    pub busy: &'a [Interval],
    pub now: DateTime<Utc>,
}

/// Turning a hold (or an offer) into a booking.
#[derive(Debug, Clone, Copy)]
pub struct Conversion<'a> {
    pub token: &'a ReservationToken,
    pub call_id: &'a str,
    pub appointment: &'a NewAppointment,
    pub now: DateTime<Utc>,
    /// For an offer (no hold): the intervals to occupy now, which may turn out to be taken.
    pub occupy: Option<&'a [Interval]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertResult {
    /// Booked; `job_id` is the outbox job that brings it to Cal.com.
    Converted { job_id: i64 },
    /// The reservation was no longer active (expired, released, converted) or not this call's.
    NotActive,
}

const INSERT_RESERVATION: &str = "INSERT INTO appointment_reservations \
    (tenant_id, reservation_token, kind, call_id, customer_name, customer_phone, service_id, staff_id, \
     start_time, end_time, is_compound, status, expires_at, phases, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $13, $14, $14)";

const RESERVATION_COLUMNS: &str = "id, tenant_id, staff_id, reservation_token, kind, call_id, customer_name, \
    customer_phone, service_id, start_time, end_time, is_compound, status, status_reason, expires_at, \
    converted_appointment_id, phases, created_at, updated_at";

/// After a conditional status update returned `row`: frees the hold's intervals and commits.
macro_rules! end_hold_intervals {
    ($tx:ident, $row:expr, $token:expr) => {{
        let Some(row) = $row else {
            $tx.rollback().await?;
            return Ok(None);
        };
        let due = DueHold {
            key: StaffKey::new(row.text("tenant_id")?.into(), row.text("staff_id")?.into()),
            token: $token.clone(),
            kind: ReservationKind::parse(&row.text("kind")?).ok_or_else(|| StoreError::corrupt("kind"))?,
            is_compound: row.flag("is_compound")?,
        };
        sqlx::query("UPDATE busy_intervals SET active = FALSE WHERE owner_id = $1 AND owner_kind = 'hold' AND active")
            .bind($token.as_str())
            .execute(&mut *$tx)
            .await?;
        $tx.commit().await?;
        Ok(Some(due))
    }};
}

impl Store {
    /// Writes a hold (or offer) and occupies its intervals, or fails with `SlotTaken`.
    /// Returns stale holds it had to expire on the way (their owners must forget them).
    pub async fn insert_hold(&self, hold: HoldInsert<'_>) -> Result<Vec<DueHold>, StoreError> {
        let r = hold.reservation;
        let owner = Owner {
            tenant: r.tenant.as_str(),
            staff: r.staff.as_str(),
            kind: "hold",
            id: r.token.as_str(),
            expires_at: Some(r.expires_at),
        };
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT_RESERVATION)
                .bind(r.tenant.as_str())
                .bind(r.token.as_str())
                .bind(r.kind.as_str())
                .bind(&r.call_id)
                .bind(r.customer_name.as_deref())
                .bind(r.customer_phone.as_deref())
                .bind(r.service.as_str())
                .bind(r.staff.as_str())
                .bind(r.start)
                .bind(r.end)
                .bind(r.is_compound)
                .bind(r.expires_at)
                .bind(Json(&r.phases))
                .bind(r.created_at)
                .execute(&mut *tx)
                .await?;
            let mut swept = Vec::new();
            if !hold.busy.is_empty() && !occupy!(&mut *tx, &owner, hold.busy, hold.now, swept) {
                tx.rollback().await?;
                return Err(StoreError::SlotTaken);
            }
            tx.commit().await?;
            Ok(swept)
        })
    }

    /// Marks an active hold expired once its TTL has passed. `None` when it was not active
    /// (converted or released meanwhile, or expired by another process).
    pub async fn expire_hold(
        &self,
        token: &ReservationToken,
        now: DateTime<Utc>,
    ) -> Result<Option<DueHold>, StoreError> {
        let sql = "UPDATE appointment_reservations SET status = 'expired', status_reason = 'ttl', updated_at = $2 \
            WHERE reservation_token = $1 AND status = 'active' AND expires_at <= $2 \
            RETURNING tenant_id, staff_id, kind, is_compound";
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(sql).bind(token.as_str()).bind(now).fetch_optional(&mut *tx).await?;
            end_hold_intervals!(tx, row, token)
        })
    }

    /// Ends an active hold early (`status = cancelled`): released by the caller, the call ended,
    /// or Cal.com refused it (`reason = conflict`). `call_id` restricts it to the owning call.
    pub async fn cancel_hold(
        &self,
        token: &ReservationToken,
        call_id: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DueHold>, StoreError> {
        let sql = "UPDATE appointment_reservations SET status = 'cancelled', status_reason = $2, updated_at = $3 \
            WHERE reservation_token = $1 AND status = 'active' AND ($4 IS NULL OR call_id = $4) \
            RETURNING tenant_id, staff_id, kind, is_compound";
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(sql).bind(token.as_str()).bind(reason).bind(now).bind(call_id).fetch_optional(&mut *tx).await?;
            end_hold_intervals!(tx, row, token)
        })
    }

    /// Converts an active, unexpired hold of `call_id` (or an offer) into an appointment with its
    /// phases and a Cal.com outbox job, in one transaction.
    pub async fn convert_hold(&self, conversion: Conversion<'_>) -> Result<ConvertResult, StoreError> {
        let apt = conversion.appointment;
        let now = conversion.now;
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE appointment_reservations SET status = 'converted', converted_appointment_id = $1, \
                 customer_name = $2, customer_phone = COALESCE($3, customer_phone), updated_at = $4 \
                 WHERE reservation_token = $5 AND call_id = $6 AND status = 'active' AND expires_at > $4",
            )
            .bind(apt.id.as_str())
            .bind(&apt.customer_name)
            .bind(apt.customer_phone.as_deref())
            .bind(now)
            .bind(conversion.token.as_str())
            .bind(conversion.call_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Ok(ConvertResult::NotActive);
            }
            insert_appointment!(&mut *tx, apt, now);
            match conversion.occupy {
                Some(busy) => {
                    let owner = Owner { tenant: apt.tenant.as_str(), staff: apt.staff.as_str(), kind: "booking", id: apt.id.as_str(), expires_at: None };
                    let mut swept = Vec::new();
                    if !occupy!(&mut *tx, &owner, busy, now, swept) {
                        tx.rollback().await?;
                        return Err(StoreError::SlotTaken);
                    }
                }
                None => {
                    let moved = sqlx::query(
                        "UPDATE busy_intervals SET owner_kind = 'booking', owner_id = $1, expires_at = NULL \
                         WHERE owner_id = $2 AND owner_kind = 'hold' AND active",
                    )
                    .bind(apt.id.as_str())
                    .bind(conversion.token.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if moved == 0 {
                        // The hold's intervals were swept (another process expired it): not ours to book.
                        tx.rollback().await?;
                        return Ok(ConvertResult::NotActive);
                    }
                }
            }
            let job_id: i64 = sqlx::query_scalar(INSERT_OUTBOX)
                .bind(apt.tenant.as_str())
                .bind(apt.id.as_str())
                .bind("create")
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(ConvertResult::Converted { job_id })
        })
    }

    /// Everything live on one calendar that ends after `since`.
    pub async fn load_calendar(&self, key: &StaffKey, since: DateTime<Utc>) -> Result<CalendarSnapshot, StoreError> {
        let busy_sql = "SELECT b.owner_kind, b.owner_id, b.start_time, b.end_time, b.expires_at, \
                r.call_id, r.service_id, r.start_time AS hold_start, r.is_compound, r.created_at \
            FROM busy_intervals b \
            LEFT JOIN appointment_reservations r ON b.owner_kind = 'hold' AND r.reservation_token = b.owner_id \
            WHERE b.tenant_id = $1 AND b.staff_id = $2 AND b.active AND b.end_time > $3 \
            ORDER BY b.owner_id, b.start_time";
        let external_sql = "SELECT calcom_uid, start_time, end_time FROM external_busy \
            WHERE tenant_id = $1 AND staff_id = $2 AND active AND end_time > $3";
        with_read!(self, pool => {
            let rows = sqlx::query(busy_sql).bind(key.tenant.as_str()).bind(key.staff.as_str()).bind(since).fetch_all(pool).await?;
            let mut snapshot = CalendarSnapshot::default();
            for row in &rows {
                let owner = row.text("owner_id")?;
                let interval = Interval::new(row.time("start_time")?, row.time("end_time")?).map_err(StoreError::corrupt)?;
                match row.text("owner_kind")?.as_str() {
                    "hold" => {
                        let token = ReservationToken::new(&owner);
                        match snapshot.holds.last_mut() {
                            Some(last) if last.token == token => last.busy.push(interval),
                            _ => snapshot.holds.push(HoldSnapshot {
                                token,
                                call_id: row.opt_text("call_id")?.unwrap_or_default(),
                                service: row.opt_text("service_id")?.unwrap_or_default().into(),
                                start: row.opt_time("hold_start")?.unwrap_or(interval.start()),
                                is_compound: row.flag("is_compound").unwrap_or(false),
                                expires_at: row.opt_time("expires_at")?.unwrap_or(interval.start()),
                                created_at: row.opt_time("created_at")?.unwrap_or(interval.start()),
                                busy: vec![interval],
                            }),
                        }
                    }
                    _ => {
                        let id = AppointmentId::new(&owner);
                        match snapshot.bookings.last_mut() {
                            Some((last, busy)) if *last == id => busy.push(interval),
                            _ => snapshot.bookings.push((id, vec![interval])),
                        }
                    }
                }
            }
            let rows = sqlx::query(external_sql).bind(key.tenant.as_str()).bind(key.staff.as_str()).bind(since).fetch_all(pool).await?;
            for row in &rows {
                let interval = Interval::new(row.time("start_time")?, row.time("end_time")?).map_err(StoreError::corrupt)?;
                snapshot.external.push((row.text("calcom_uid")?, interval));
            }
            Ok(snapshot)
        })
    }

    /// The sweeper: expires every hold and offer whose TTL has passed, on every calendar.
    pub async fn expire_due_holds(&self, now: DateTime<Utc>) -> Result<Vec<DueHold>, StoreError> {
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(
                "UPDATE appointment_reservations SET status = 'expired', status_reason = 'ttl', updated_at = $1 \
                 WHERE status = 'active' AND expires_at <= $1 \
                 RETURNING tenant_id, staff_id, reservation_token, kind, is_compound",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                tx.rollback().await?;
                return Ok(Vec::new());
            }
            sqlx::query("UPDATE busy_intervals SET active = FALSE WHERE active AND owner_kind = 'hold' AND expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            rows.iter()
                .map(|row| {
                    Ok(DueHold {
                        key: StaffKey::new(row.text("tenant_id")?.into(), row.text("staff_id")?.into()),
                        token: ReservationToken::new(row.text("reservation_token")?),
                        kind: ReservationKind::parse(&row.text("kind")?).ok_or_else(|| StoreError::corrupt("kind"))?,
                        is_compound: row.flag("is_compound")?,
                    })
                })
                .collect()
        })
    }

    pub async fn get_reservation(&self, token: &ReservationToken) -> Result<Option<Reservation>, StoreError> {
        let sql = format!("SELECT {RESERVATION_COLUMNS} FROM appointment_reservations WHERE reservation_token = $1");
        with_read!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token.as_str()).fetch_optional(pool).await?;
            row.as_ref().map(reservation_from_row).transpose()
        })
    }

    /// Reservations of one call, newest first.
    pub async fn reservations_of_call(&self, tenant: &TenantId, call_id: &str) -> Result<Vec<Reservation>, StoreError> {
        let sql = format!(
            "SELECT {RESERVATION_COLUMNS} FROM appointment_reservations WHERE tenant_id = $1 AND call_id = $2 ORDER BY created_at DESC, id DESC"
        );
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(call_id).fetch_all(pool).await?;
            rows.iter().map(reservation_from_row).collect()
        })
    }

    /// Calendars with an active hold: their actors start eagerly so the holds' timers run.
    pub async fn staff_with_active_holds(&self) -> Result<Vec<StaffKey>, StoreError> {
        let sql = "SELECT DISTINCT tenant_id, staff_id FROM appointment_reservations WHERE status = 'active' AND kind = 'hold'";
        with_read!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(StaffKey::new(r.text("tenant_id")?.into(), r.text("staff_id")?.into()))).collect()
        })
    }

    /// BK-1 monitor: pairs of active intervals of one staff member that overlap. Always 0 unless
    /// the arbiter was bypassed; tests and the load harness assert it, operators can alert on it.
    pub async fn overlapping_pairs(&self) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM busy_intervals a JOIN busy_intervals b \
            ON a.id < b.id AND a.tenant_id = b.tenant_id AND a.staff_id = b.staff_id \
            AND a.active AND b.active AND a.start_time < b.end_time AND b.start_time < a.end_time";
        with_read!(self, pool => {
            let row = sqlx::query(sql).fetch_one(pool).await?;
            Ok(row.int("n")?.max(0) as u64)
        })
    }

    pub async fn count_active_holds(&self) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM appointment_reservations WHERE status = 'active' AND kind = 'hold'";
        with_read!(self, pool => {
            let row = sqlx::query(sql).fetch_one(pool).await?;
            Ok(row.int("n")?.max(0) as u64)
        })
    }

    /// Records (or moves) a busy time known from Cal.com.
    pub async fn upsert_external(
        &self,
        tenant: &TenantId,
        busy: &ExternalBusy,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO external_busy (tenant_id, calcom_uid, staff_id, start_time, end_time, source, active, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) \
            ON CONFLICT (tenant_id, calcom_uid) DO UPDATE SET staff_id = excluded.staff_id, \
            start_time = excluded.start_time, end_time = excluded.end_time, source = excluded.source, \
            active = TRUE, updated_at = excluded.updated_at";
        with_write!(self, pool => {
            sqlx::query(sql)
                .bind(tenant.as_str())
                .bind(&busy.uid)
                .bind(busy.staff.as_str())
                .bind(busy.interval.start())
                .bind(busy.interval.end())
                .bind(source)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Forgets a Cal.com busy time (cancelled there). Returns the staff it belonged to.
    pub async fn remove_external(
        &self,
        tenant: &TenantId,
        uid: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffKey>, StoreError> {
        let sql = "UPDATE external_busy SET active = FALSE, updated_at = $3 WHERE tenant_id = $1 AND calcom_uid = $2 AND active RETURNING staff_id";
        with_write!(self, pool => {
            let row = sqlx::query(sql).bind(tenant.as_str()).bind(uid).bind(now).fetch_optional(pool).await?;
            row.map(|r| Ok(StaffKey::new(tenant.clone(), r.text("staff_id")?.into()))).transpose()
        })
    }

    /// Replaces what is known from Cal.com for one calendar within `range` (the pre-warm):
    /// entries not in `current` are deactivated, the others upserted. Returns (added or moved, removed).
    pub async fn replace_external(
        &self,
        key: &StaffKey,
        range: Interval,
        current: &[ExternalBusy],
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), StoreError> {
        let existing_sql = "SELECT calcom_uid, start_time, end_time FROM external_busy \
            WHERE tenant_id = $1 AND staff_id = $2 AND active AND start_time < $4 AND end_time > $3";
        let existing: Vec<(String, Interval)> = with_read!(self, pool => {
            let rows = sqlx::query(existing_sql).bind(key.tenant.as_str()).bind(key.staff.as_str()).bind(range.start()).bind(range.end()).fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((r.text("calcom_uid")?, Interval::new(r.time("start_time")?, r.time("end_time")?).map_err(StoreError::corrupt)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let mut removed = 0;
        for (uid, _) in existing.iter().filter(|(uid, _)| !current.iter().any(|c| &c.uid == uid)) {
            if self.remove_external(&key.tenant, uid, now).await?.is_some() {
                removed += 1;
            }
        }
        let mut changed = 0;
        for busy in current {
            if !existing.iter().any(|(uid, interval)| uid == &busy.uid && *interval == busy.interval) {
                self.upsert_external(&key.tenant, busy, "warm", now).await?;
                changed += 1;
            }
        }
        Ok((changed, removed))
    }
}

pub(crate) fn reservation_from_row(row: &impl DbRow) -> Result<Reservation, StoreError> {
    Ok(Reservation {
        id: row.int("id")?,
        tenant: row.text("tenant_id")?.into(),
        staff: row.text("staff_id")?.into(),
        token: ReservationToken::new(row.text("reservation_token")?),
        kind: ReservationKind::parse(&row.text("kind")?).ok_or_else(|| StoreError::corrupt("reservation kind"))?,
        call_id: row.text("call_id")?,
        customer_name: row.opt_text("customer_name")?,
        customer_phone: row.opt_text("customer_phone")?,
        service: row.text("service_id")?.into(),
        start: row.time("start_time")?,
        end: row.time("end_time")?,
        is_compound: row.flag("is_compound")?,
        status: ReservationStatus::parse(&row.text("status")?)
            .ok_or_else(|| StoreError::corrupt("reservation status"))?,
        status_reason: row.opt_text("status_reason")?,
        expires_at: row.time("expires_at")?,
        converted_appointment_id: row.opt_text("converted_appointment_id")?.map(AppointmentId::new),
        phases: row.json("phases")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}
