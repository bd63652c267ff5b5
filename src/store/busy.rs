//! Busy intervals: the one write whose conflict semantics differ per backend, and the rule that
//! decides every race (invariant BK-1, no double booking).
//!
//! An interval is inserted only where no active interval of the same stylist overlaps: on
//! PostgreSQL the exclusion constraint `busy_no_overlap` refuses it (`ON CONFLICT … DO NOTHING`,
//! which cannot deadlock), on SQLite the `BEFORE INSERT` trigger does. All of an owner's
//! intervals go in, or none. A hold past its TTL that nobody has expired yet still blocks (the
//! constraint cannot read the clock), so [`occupy!`] expires the stylist's stale holds once, in
//! the same transaction, and tries again. Holds, offers, bookings and reschedules all write
//! through here.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};

use super::StoreError;
use crate::domain::Interval;

pub(crate) const EXPIRE_STALE_RESERVATIONS: &str = "UPDATE appointment_reservations \
    SET status = 'expired', status_reason = 'ttl', updated_at = $3 \
    WHERE tenant_id = $1 AND staff_id = $2 AND status = 'active' AND kind = 'hold' AND expires_at <= $3 \
    RETURNING reservation_token, is_compound";

pub(crate) const DEACTIVATE_STALE_INTERVALS: &str = "UPDATE busy_intervals SET active = FALSE \
    WHERE tenant_id = $1 AND staff_id = $2 AND active AND owner_kind = 'hold' AND expires_at <= $3";

const DELETE_OWN_INTERVALS: &str = "DELETE FROM busy_intervals WHERE owner_id = $1";

const SQLITE_INSERT_INTERVAL: &str = "INSERT INTO busy_intervals \
    (tenant_id, staff_id, start_time, end_time, owner_kind, owner_id, expires_at, active, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8)";

const PG_INSERT_INTERVALS: &str = "INSERT INTO busy_intervals \
    (tenant_id, staff_id, start_time, end_time, owner_kind, owner_id, expires_at, active, created_at) \
    SELECT $1, $2, s, e, $5, $6, $7, TRUE, $8 FROM UNNEST($3::timestamptz[], $4::timestamptz[]) AS t(s, e) \
    ON CONFLICT ON CONSTRAINT busy_no_overlap DO NOTHING RETURNING id";

/// Who will own intervals being inserted.
pub(crate) struct Owner<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) staff: &'a str,
    pub(crate) kind: &'static str,
    pub(crate) id: &'a str,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// Inserting busy intervals, the one step whose conflict semantics differ per backend.
pub(crate) trait BusyWriter {
    /// Inserts all of `busy` or none; `Ok(false)` when an active interval overlaps.
    async fn insert_busy(
        &mut self,
        owner: &Owner<'_>,
        busy: &[Interval],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

impl BusyWriter for SqliteConnection {
    async fn insert_busy(
        &mut self,
        owner: &Owner<'_>,
        busy: &[Interval],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        for interval in busy {
            let inserted = sqlx::query(SQLITE_INSERT_INTERVAL)
                .bind(owner.tenant)
                .bind(owner.staff)
                .bind(interval.start())
                .bind(interval.end())
                .bind(owner.kind)
                .bind(owner.id)
                .bind(owner.expires_at)
                .bind(now)
                .execute(&mut *self)
                .await;
            match inserted.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::SlotTaken) => {
                    sqlx::query(DELETE_OWN_INTERVALS).bind(owner.id).execute(&mut *self).await?;
                    return Ok(false);
                }
                Err(other) => return Err(other),
            }
        }
        Ok(true)
    }
}

impl BusyWriter for PgConnection {
    async fn insert_busy(
        &mut self,
        owner: &Owner<'_>,
        busy: &[Interval],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let starts: Vec<DateTime<Utc>> = busy.iter().map(Interval::start).collect();
        let ends: Vec<DateTime<Utc>> = busy.iter().map(Interval::end).collect();
        let inserted: Vec<i64> = sqlx::query_scalar(PG_INSERT_INTERVALS)
            .bind(owner.tenant)
            .bind(owner.staff)
            .bind(starts)
            .bind(ends)
            .bind(owner.kind)
            .bind(owner.id)
            .bind(owner.expires_at)
            .bind(now)
            .fetch_all(&mut *self)
            .await?;
        if inserted.len() == busy.len() {
            return Ok(true);
        }
        sqlx::query(DELETE_OWN_INTERVALS).bind(owner.id).execute(&mut *self).await?;
        Ok(false)
    }
}

/// Inserts `busy`, expiring stale holds of the same staff member once if they are in the way.
/// Evaluates to `true` when every interval was inserted; pushes expired holds onto `$swept`.
macro_rules! occupy {
    ($conn:expr, $owner:expr, $busy:expr, $now:expr, $swept:expr) => {{
        use $crate::store::busy::{BusyWriter as _, DEACTIVATE_STALE_INTERVALS, EXPIRE_STALE_RESERVATIONS};
        use $crate::store::row::DbRow as _;
        let mut ok = $conn.insert_busy($owner, $busy, $now).await?;
        if !ok {
            let rows = sqlx::query(EXPIRE_STALE_RESERVATIONS)
                .bind($owner.tenant)
                .bind($owner.staff)
                .bind($now)
                .fetch_all(&mut *$conn)
                .await?;
            if !rows.is_empty() {
                sqlx::query(DEACTIVATE_STALE_INTERVALS)
                    .bind($owner.tenant)
                    .bind($owner.staff)
                    .bind($now)
                    .execute(&mut *$conn)
                    .await?;
                for row in &rows {
                    $swept.push($crate::store::DueHold {
                        key: $crate::domain::StaffKey::new($owner.tenant.into(), $owner.staff.into()),
                        token: $crate::domain::ReservationToken::new(row.text("reservation_token")?),
                        kind: $crate::store::ReservationKind::Hold,
                        is_compound: row.flag("is_compound")?,
                    });
                }
                ok = $conn.insert_busy($owner, $busy, $now).await?;
            }
        }
        ok
    }};
}
pub(crate) use occupy;
