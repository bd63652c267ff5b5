//! Small records: stored answers for Retell retries, calls, webhook deliveries, feature flags.
//!
//! The idempotency record is what makes invariant BK-3 survive a restart: a retry of the same call,
//! function and arguments finds the stored answer and returns it byte for byte. The first answer
//! stored wins; a request racing it on another node gets that stored answer back (its own effect
//! was a no-op: holds and conversions are idempotent per call by themselves).

use chrono::{DateTime, TimeDelta, Utc};

use super::row::DbRow;
use super::{Store, StoreError, with_read, with_write};
use crate::domain::TenantId;

/// A stored answer is replayed for retries this long; later, the same request is a new question.
/// Retell retries within its tool timeout (seconds), at most twice.
pub const REPLAY_WINDOW_SECS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    pub tenant: TenantId,
    pub call_id: String,
    /// The function's name (`check_availability`, …), as stored.
    pub function: &'static str,
    pub args_hash: String,
}

/// A Retell call as known from its lifecycle webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub call_id: String,
    pub tenant: TenantId,
    pub agent_id: Option<String>,
    pub from_number: Option<String>,
    pub to_number: Option<String>,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub disconnection_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlagRow {
    pub tenant: TenantId,
    pub flag: String,
    pub enabled: bool,
    pub rollout_percent: u8,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlagChange {
    pub tenant: TenantId,
    pub flag: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

impl Store {
    /// The answer stored for `key` within the replay window, if any.
    pub async fn stored_answer(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<(u16, String)>, StoreError> {
        let sql = "SELECT response_status, response_body FROM idempotency_records \
            WHERE tenant_id = $1 AND call_id = $2 AND function_name = $3 AND args_hash = $4 AND state = 'done' AND updated_at > $5";
        let window_start = now - TimeDelta::seconds(REPLAY_WINDOW_SECS);
        with_read!(self, pool => {
            let row = sqlx::query(sql)
                .bind(key.tenant.as_str()).bind(&key.call_id).bind(key.function).bind(&key.args_hash).bind(window_start)
                .fetch_optional(pool).await?;
            row.map(|r| {
                let status = u16::try_from(r.opt_int("response_status")?.unwrap_or(200)).unwrap_or(200);
                Ok((status, r.opt_text("response_body")?.unwrap_or_default()))
            })
            .transpose()
        })
    }

    /// Stores an answer unless another request with the same key stored one first (within the
    /// replay window); returns the answer that counts, so every retry sees the same bytes.
    pub async fn store_answer(
        &self,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(u16, String), StoreError> {
        let upsert = "INSERT INTO idempotency_records (tenant_id, call_id, function_name, args_hash, state, response_status, \
            response_body, created_at, updated_at) VALUES ($1, $2, $3, $4, 'done', $5, $6, $7, $7) \
            ON CONFLICT (tenant_id, call_id, function_name, args_hash) DO UPDATE SET state = 'done', \
            response_status = excluded.response_status, response_body = excluded.response_body, updated_at = excluded.updated_at \
            WHERE idempotency_records.updated_at <= $8 OR idempotency_records.state <> 'done'";
        let window_start = now - TimeDelta::seconds(REPLAY_WINDOW_SECS);
        let written = with_write!(self, pool => {
            sqlx::query(upsert)
                .bind(key.tenant.as_str()).bind(&key.call_id).bind(key.function).bind(&key.args_hash)
                .bind(i32::from(status)).bind(body).bind(now).bind(window_start)
                .execute(pool).await.map(|r| r.rows_affected())
        })?;
        if written == 1 {
            return Ok((status, body.to_owned()));
        }
        Ok(self.stored_answer(key, now).await?.unwrap_or_else(|| (status, body.to_owned())))
    }

    /// Stores an answer in place of the one stored for `key`, whatever its age: for a stored answer
    /// that no longer holds (it handed out a hold that has since ended), so a retry must not see it.
    pub async fn replace_answer(
        &self,
        key: &IdempotencyKey,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let upsert = "INSERT INTO idempotency_records (tenant_id, call_id, function_name, args_hash, state, response_status, \
            response_body, created_at, updated_at) VALUES ($1, $2, $3, $4, 'done', $5, $6, $7, $7) \
            ON CONFLICT (tenant_id, call_id, function_name, args_hash) DO UPDATE SET state = 'done', \
            response_status = excluded.response_status, response_body = excluded.response_body, updated_at = excluded.updated_at";
        with_write!(self, pool => {
            sqlx::query(upsert)
                .bind(key.tenant.as_str()).bind(&key.call_id).bind(key.function).bind(&key.args_hash)
                .bind(i32::from(status)).bind(body).bind(now)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// Records a call (from `call_started`, or from the first function call), keeping what is known.
    pub async fn upsert_call(&self, call: &CallRecord, now: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "INSERT INTO retell_calls (call_id, tenant_id, agent_id, from_number, to_number, status, started_at, \
            ended_at, disconnection_reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
            ON CONFLICT (call_id) DO UPDATE SET agent_id = COALESCE(excluded.agent_id, retell_calls.agent_id), \
            from_number = COALESCE(excluded.from_number, retell_calls.from_number), \
            to_number = COALESCE(excluded.to_number, retell_calls.to_number), \
            status = CASE WHEN retell_calls.status IN ('ended', 'analyzed') AND excluded.status IN ('ongoing', 'started') \
                          THEN retell_calls.status ELSE excluded.status END, \
            started_at = COALESCE(retell_calls.started_at, excluded.started_at), \
            ended_at = COALESCE(excluded.ended_at, retell_calls.ended_at), \
            disconnection_reason = COALESCE(excluded.disconnection_reason, retell_calls.disconnection_reason), \
            updated_at = excluded.updated_at \
            WHERE retell_calls.tenant_id = excluded.tenant_id";
        with_write!(self, pool => {
            sqlx::query(sql)
                .bind(&call.call_id).bind(call.tenant.as_str()).bind(call.agent_id.as_deref()).bind(call.from_number.as_deref())
                .bind(call.to_number.as_deref()).bind(&call.status).bind(call.started_at).bind(call.ended_at)
                .bind(call.disconnection_reason.as_deref()).bind(now)
                .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn get_call(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let sql = "SELECT call_id, tenant_id, agent_id, from_number, to_number, status, started_at, ended_at, \
            disconnection_reason FROM retell_calls WHERE call_id = $1";
        with_read!(self, pool => {
            let row = sqlx::query(sql).bind(call_id).fetch_optional(pool).await?;
            row.map(|r| {
                Ok(CallRecord {
                    call_id: r.text("call_id")?,
                    tenant: r.text("tenant_id")?.into(),
                    agent_id: r.opt_text("agent_id")?,
                    from_number: r.opt_text("from_number")?,
                    to_number: r.opt_text("to_number")?,
                    status: r.text("status")?,
                    started_at: r.opt_time("started_at")?,
                    ended_at: r.opt_time("ended_at")?,
                    disconnection_reason: r.opt_text("disconnection_reason")?,
                })
            })
            .transpose()
        })
    }

    /// Remembers a webhook delivery; `false` when it was seen before (a duplicate to ignore).
    pub async fn record_delivery(&self, source: &str, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = "INSERT INTO webhook_deliveries (source, delivery_key, received_at) VALUES ($1, $2, $3) \
            ON CONFLICT (source, delivery_key) DO NOTHING";
        with_write!(self, pool => Ok(sqlx::query(sql).bind(source).bind(key).bind(now).execute(pool).await?.rows_affected() == 1))
    }

    /// Forgets a delivery whose processing failed, so the sender's retry is processed.
    pub async fn forget_delivery(&self, source: &str, key: &str) -> Result<(), StoreError> {
        with_write!(self, pool => {
            sqlx::query("DELETE FROM webhook_deliveries WHERE source = $1 AND delivery_key = $2").bind(source).bind(key).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn flags(&self, tenant: Option<&TenantId>) -> Result<Vec<FlagRow>, StoreError> {
        let sql = "SELECT tenant_id, flag, enabled, rollout_percent, updated_by, updated_at FROM feature_flags \
            WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY tenant_id, flag";
        let tenant = tenant.map(TenantId::as_str);
        with_read!(self, pool => {
            let rows = sqlx::query(sql).bind(tenant).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(FlagRow {
                        tenant: r.text("tenant_id")?.into(),
                        flag: r.text("flag")?,
                        enabled: r.flag("enabled")?,
                        rollout_percent: u8::try_from(r.int("rollout_percent")?.clamp(0, 100)).unwrap_or(100),
                        updated_by: r.text("updated_by")?,
                        updated_at: r.time("updated_at")?,
                    })
                })
                .collect()
        })
    }

    /// Seeds a flag from configuration unless it was set before (run-time changes win).
    pub async fn seed_flag(
        &self,
        tenant: &TenantId,
        flag: &str,
        enabled: bool,
        rollout_percent: u8,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO feature_flags (tenant_id, flag, enabled, rollout_percent, updated_by, updated_at) \
            VALUES ($1, $2, $3, $4, 'config', $5) ON CONFLICT (tenant_id, flag) DO NOTHING";
        with_write!(self, pool => {
            sqlx::query(sql).bind(tenant.as_str()).bind(flag).bind(enabled).bind(i32::from(rollout_percent)).bind(now).execute(pool).await?;
            Ok(())
        })
    }

    /// Changes a flag and writes the audit row in one transaction.
    pub async fn set_flag(
        &self,
        tenant: &TenantId,
        flag: &str,
        enabled: bool,
        rollout_percent: u8,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<FlagChange, StoreError> {
        let describe = |enabled: bool, percent: i64| format!("{} {percent}%", if enabled { "on" } else { "off" });
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            let old = sqlx::query("SELECT enabled, rollout_percent FROM feature_flags WHERE tenant_id = $1 AND flag = $2")
                .bind(tenant.as_str()).bind(flag).fetch_optional(&mut *tx).await?;
            let old_value = match old {
                Some(row) => Some(describe(row.flag("enabled")?, row.int("rollout_percent")?)),
                None => None,
            };
            let new_value = describe(enabled, i64::from(rollout_percent));
            sqlx::query(
                "INSERT INTO feature_flags (tenant_id, flag, enabled, rollout_percent, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, flag) DO UPDATE SET enabled = excluded.enabled, \
                 rollout_percent = excluded.rollout_percent, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(tenant.as_str()).bind(flag).bind(enabled).bind(i32::from(rollout_percent)).bind(by).bind(now)
            .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO feature_flag_audit (tenant_id, flag, old_value, new_value, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(tenant.as_str()).bind(flag).bind(old_value.as_deref()).bind(&new_value).bind(by).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(FlagChange { tenant: tenant.clone(), flag: flag.to_owned(), old_value, new_value, changed_by: by.to_owned(), changed_at: now })
        })
    }

    /// The audit trail of flag changes, newest first.
    pub async fn flag_audit(&self, tenant: Option<&TenantId>, limit: i64) -> Result<Vec<FlagChange>, StoreError> {
        let sql = "SELECT tenant_id, flag, old_value, new_value, changed_by, changed_at FROM feature_flag_audit \
            WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY changed_at DESC, id DESC LIMIT $2";
        let tenant = tenant.map(TenantId::as_str);
        with_read!(self, pool => {
            let rows = sqlx::query(sql).bind(tenant).bind(limit).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(FlagChange {
                        tenant: r.text("tenant_id")?.into(),
                        flag: r.text("flag")?,
                        old_value: r.opt_text("old_value")?,
                        new_value: r.text("new_value")?,
                        changed_by: r.text("changed_by")?,
                        changed_at: r.time("changed_at")?,
                    })
                })
                .collect()
        })
    }
}
