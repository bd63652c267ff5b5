//! Hold mirrors in the store: which Cal.com slot reservations mirror a hold, and whether its
//! mirror has settled. A reservation is recorded the moment Cal.com made it (so a booking on any
//! node can present it, and a crash does not leave it unknown), and a settled mirror says that
//! Cal.com holds no reservation of this hold besides the recorded ones: what lets a booking tell
//! our own leftovers from a web booker's slot (invariant 2, "a hold is honoured").

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::row::DbRow;
use super::{Store, StoreError, with_read, with_write};
use crate::domain::{Interval, ReservationToken, StaffKey};

/// A Cal.com slot reservation mirroring one phase of a hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MirrorRecord {
    pub seq: u16,
    pub uid: String,
}

/// `calcom_reservations`: a JSON array once the mirror settled (the shape older rows have too),
/// `{"in_progress": [...]}` while it is still making reservations.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum StoredMirrors {
    Settled(Vec<MirrorRecord>),
    InProgress { in_progress: Vec<MirrorRecord> },
}

impl Store {
    /// Records the Cal.com slot reservations that mirror a hold (empty: none left) and marks the
    /// mirror settled (see [`Store::reservation_mirror_state`]).
    pub async fn set_reservation_mirrors(
        &self,
        token: &ReservationToken,
        mirrors: &[MirrorRecord],
    ) -> Result<(), StoreError> {
        self.write_mirrors(token, &StoredMirrors::Settled(mirrors.to_vec())).await
    }

    /// Records the reservations a mirror has made so far, while it is still making them.
    pub async fn note_reservation_mirrors(
        &self,
        token: &ReservationToken,
        mirrors: &[MirrorRecord],
    ) -> Result<(), StoreError> {
        self.write_mirrors(token, &StoredMirrors::InProgress { in_progress: mirrors.to_vec() }).await
    }

    async fn write_mirrors(&self, token: &ReservationToken, mirrors: &StoredMirrors) -> Result<(), StoreError> {
        with_write!(self, pool => {
            sqlx::query("UPDATE appointment_reservations SET calcom_reservations = $2 WHERE reservation_token = $1")
                .bind(token.as_str())
                .bind(Json(mirrors))
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Every Cal.com reservation of the hold that we know of (settled or still being made).
    pub async fn reservation_mirrors(&self, token: &ReservationToken) -> Result<Vec<MirrorRecord>, StoreError> {
        Ok(match self.stored_mirrors(token).await? {
            Some(StoredMirrors::Settled(all) | StoredMirrors::InProgress { in_progress: all }) => all,
            None => Vec::new(),
        })
    }

    /// The hold's Cal.com reservations once its mirror has settled; `None` before: the mirror may be
    /// in flight (on this or another node) or have been cut off by a crash, so Cal.com may hold a
    /// reservation of ours that is not recorded here.
    pub async fn reservation_mirror_state(
        &self,
        token: &ReservationToken,
    ) -> Result<Option<Vec<MirrorRecord>>, StoreError> {
        Ok(match self.stored_mirrors(token).await? {
            Some(StoredMirrors::Settled(all)) => Some(all),
            _ => None,
        })
    }

    /// Holds of `key` overlapping `[start, end)` (other than `except`, in any state) whose Cal.com
    /// reservations may still exist: their mirror has not settled, or records reservations not
    /// yet released. Returns the latest of their expiries after `expired_after` (a reservation
    /// outlives its hold by at most a minute), or `None` when no reservation of ours can be there.
    pub async fn mirrored_holds_near(
        &self,
        key: &StaffKey,
        interval: Interval,
        except: Option<&ReservationToken>,
        expired_after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = "SELECT expires_at FROM appointment_reservations \
            WHERE tenant_id = $1 AND staff_id = $2 AND kind = 'hold' AND start_time < $4 AND end_time > $3 \
            AND reservation_token <> $5 AND expires_at > $6 \
            AND (calcom_reservations IS NULL OR CAST(calcom_reservations AS TEXT) <> '[]')";
        let except = except.map_or("", ReservationToken::as_str);
        with_read!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(key.tenant.as_str())
                .bind(key.staff.as_str())
                .bind(interval.start())
                .bind(interval.end())
                .bind(except)
                .bind(expired_after)
                .fetch_all(pool)
                .await?;
            let mut latest: Option<DateTime<Utc>> = None;
            for row in &rows {
                let expires_at = row.time("expires_at")?;
                latest = Some(latest.map_or(expires_at, |l| l.max(expires_at)));
            }
            Ok(latest)
        })
    }

    async fn stored_mirrors(&self, token: &ReservationToken) -> Result<Option<StoredMirrors>, StoreError> {
        let sql = "SELECT calcom_reservations FROM appointment_reservations WHERE reservation_token = $1 AND calcom_reservations IS NOT NULL";
        with_read!(self, pool => {
            let row = sqlx::query(sql).bind(token.as_str()).fetch_optional(pool).await?;
            row.map(|row| row.json("calcom_reservations")).transpose()
        })
    }
}
