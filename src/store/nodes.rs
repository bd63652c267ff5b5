//! Node identity leases: one live process per node id.
//!
//! A process takes the lease on its node id at start — refused while another process holds an
//! unexpired one — and renews it while it runs; the lease names its holder (a random id per
//! process start), so only the holder renews or releases it. The epoch counts takeovers.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Store, StoreError, with_read, with_write};

const TAKE: &str = "INSERT INTO node_leases (node_id, holder, epoch, expires_at, updated_at) VALUES ($1, $2, 1, $3, $4) \
    ON CONFLICT (node_id) DO UPDATE SET holder = excluded.holder, epoch = node_leases.epoch + 1, \
    expires_at = excluded.expires_at, updated_at = excluded.updated_at WHERE node_leases.expires_at <= $4 \
    RETURNING epoch";

impl Store {
    /// Takes the lease on `node_id` for `holder` until `now + ttl`: its epoch, or `Err(until)`
    /// when a live process holds it until then.
    pub async fn take_node_lease(
        &self,
        node_id: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: TimeDelta,
    ) -> Result<Result<i64, DateTime<Utc>>, StoreError> {
        let epoch: Option<i64> = with_write!(self, pool => sqlx::query_scalar(TAKE)
            .bind(node_id).bind(holder).bind(now + ttl).bind(now).fetch_optional(pool).await)?;
        if let Some(epoch) = epoch {
            return Ok(Ok(epoch));
        }
        let until: Option<DateTime<Utc>> = with_read!(self, pool => sqlx::query_scalar(
            "SELECT expires_at FROM node_leases WHERE node_id = $1").bind(node_id).fetch_optional(pool).await)?;
        Ok(Err(until.unwrap_or(now)))
    }

    /// Extends the lease while `holder` still has it; `false` when it was lost.
    pub async fn renew_node_lease(
        &self,
        node_id: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: TimeDelta,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE node_leases SET expires_at = $3, updated_at = $4 WHERE node_id = $1 AND holder = $2";
        with_write!(self, pool => Ok(sqlx::query(sql).bind(node_id).bind(holder).bind(now + ttl).bind(now)
            .execute(pool).await?.rows_affected() == 1))
    }

    /// Gives the lease back (graceful shutdown), and forgets leases that ran out a day ago.
    pub async fn release_node_lease(&self, node_id: &str, holder: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_write!(self, pool => {
            sqlx::query("DELETE FROM node_leases WHERE node_id = $1 AND holder = $2")
                .bind(node_id).bind(holder).execute(pool).await?;
            sqlx::query("DELETE FROM node_leases WHERE expires_at < $1")
                .bind(now - TimeDelta::days(1)).execute(pool).await?;
            Ok(())
        })
    }

    /// Node ids whose lease is live at `now`: the nodes that share each Cal.com key's budget.
    pub async fn live_nodes(&self, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let n: i64 = with_read!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM node_leases WHERE expires_at > $1")
            .bind(now).fetch_one(pool).await)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
