//! Claims on idempotency keys: exactly once across nodes (invariant BK-3).
//!
//! On PostgreSQL, where several nodes share one database, a request that may have an effect
//! first claims its key (tenant, call id, function, argument digest) in `idempotency_records`
//! with one conditional upsert: it gets the row when there is none, when the stored answer is
//! older than the replay window, or when another owner's claim has run out (that owner
//! crashed or stalled). Whoever does not get it sees either the stored answer (and replays it) or
//! a live claim of someone else (and waits for its answer). Finishing turns the claim into the
//! answer only while the claim is still ours, so a stalled owner whose claim was taken over
//! cannot overwrite the new owner's answer. SQLite has one process, whose in-process single flight
//! already makes one execution of a key; it keeps the plain "first stored answer wins" records.

use chrono::{DateTime, TimeDelta, Utc};

use super::records::{IdempotencyKey, REPLAY_WINDOW_SECS};
use super::row::DbRow;
use super::{Store, StoreError};

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: act, then [`Store::finish_claim`] or [`Store::drop_claim`].
    Ours,
    /// An answer stored within the replay window (status, body).
    Answered(u16, String),
    /// Someone else holds a live claim until then: wait for their answer.
    Held { until: DateTime<Utc> },
}

const CLAIM: &str = "INSERT INTO idempotency_records (tenant_id, call_id, function_name, args_hash, state, owner, \
    claim_expires_at, response_status, response_body, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, 'pending', $5, $6, NULL, NULL, $7, $7) \
    ON CONFLICT (tenant_id, call_id, function_name, args_hash) DO UPDATE SET state = 'pending', \
    owner = excluded.owner, claim_expires_at = excluded.claim_expires_at, response_status = NULL, \
    response_body = NULL, updated_at = excluded.updated_at \
    WHERE (idempotency_records.state = 'done' AND idempotency_records.updated_at <= $8) \
       OR (idempotency_records.state = 'pending' AND idempotency_records.claim_expires_at <= $7) \
    RETURNING owner";

const READ: &str = "SELECT state, response_status, response_body, claim_expires_at FROM idempotency_records \
    WHERE tenant_id = $1 AND call_id = $2 AND function_name = $3 AND args_hash = $4";

/// Takes over a stored answer that no longer tells the truth (`body` as read), atomically.
const SUPERSEDE: &str = "UPDATE idempotency_records SET state = 'pending', owner = $5, claim_expires_at = $6, \
    response_status = NULL, response_body = NULL, updated_at = $7 \
    WHERE tenant_id = $1 AND call_id = $2 AND function_name = $3 AND args_hash = $4 AND state = 'done' \
    AND response_body = $8";

const FINISH: &str = "UPDATE idempotency_records SET state = 'done', owner = NULL, claim_expires_at = NULL, \
    response_status = $6, response_body = $7, updated_at = $8 \
    WHERE tenant_id = $1 AND call_id = $2 AND function_name = $3 AND args_hash = $4 AND state = 'pending' AND owner = $5";

const DROP: &str = "DELETE FROM idempotency_records \
    WHERE tenant_id = $1 AND call_id = $2 AND function_name = $3 AND args_hash = $4 AND state = 'pending' AND owner = $5";

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the key's four columns as `$1`–`$4`, the way every statement here names them.
fn bind_key<'q>(query: PgQuery<'q>, key: &'q IdempotencyKey) -> PgQuery<'q> {
    query.bind(key.tenant.as_str()).bind(&key.call_id).bind(key.function).bind(&key.args_hash)
}

impl Store {
    /// The shared database claims live in (PostgreSQL only: one SQLite process needs none).
    fn claims_pool(&self) -> Result<&sqlx::PgPool, StoreError> {
        self.postgres_pool().ok_or_else(|| StoreError::Other("claims need PostgreSQL".into()))
    }

    /// Whether requests must claim their keys here before acting (several processes may share
    /// this database).
    pub fn claims_keys(&self) -> bool {
        self.postgres_pool().is_some()
    }

    /// Claims `key` for `owner` until `now + lease`, or says why not.
    pub async fn claim_answer(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
    ) -> Result<Claim, StoreError> {
        let pool = self.claims_pool()?;
        let window_start = now - TimeDelta::seconds(REPLAY_WINDOW_SECS);
        let claimed = sqlx::query_scalar::<_, Option<String>>(CLAIM)
            .bind(key.tenant.as_str())
            .bind(&key.call_id)
            .bind(key.function)
            .bind(&key.args_hash)
            .bind(owner)
            .bind(now + lease)
            .bind(now)
            .bind(window_start)
            .fetch_optional(pool)
            .await?;
        if claimed.is_some() {
            return Ok(Claim::Ours);
        }
        let row = bind_key(sqlx::query(READ), key).fetch_optional(pool).await?;
        let Some(row) = row else {
            // Dropped between our attempt and the read: the next attempt may get it.
            return Ok(Claim::Held { until: now });
        };
        if row.text("state")? == "done" {
            let status = u16::try_from(row.opt_int("response_status")?.unwrap_or(200)).unwrap_or(200);
            return Ok(Claim::Answered(status, row.opt_text("response_body")?.unwrap_or_default()));
        }
        Ok(Claim::Held { until: row.opt_time("claim_expires_at")?.unwrap_or(now) })
    }

    /// Takes over the stored answer `body` of `key` (it no longer holds); `false` when another
    /// request changed the record first.
    pub async fn supersede_answer(
        &self,
        key: &IdempotencyKey,
        body: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
    ) -> Result<bool, StoreError> {
        let pool = self.claims_pool()?;
        let done = bind_key(sqlx::query(SUPERSEDE), key)
            .bind(owner)
            .bind(now + lease)
            .bind(now)
            .bind(body)
            .execute(pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the answer of our claim; `false` when the claim is no longer ours (it ran out and
    /// another request took the key over).
    pub async fn finish_claim(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pool = self.claims_pool()?;
        let done = bind_key(sqlx::query(FINISH), key)
            .bind(owner)
            .bind(i32::from(status))
            .bind(body)
            .bind(now)
            .execute(pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives our claim back without an answer (nothing to replay: a retry runs afresh).
    pub async fn drop_claim(&self, key: &IdempotencyKey, owner: &str) -> Result<(), StoreError> {
        let pool = self.claims_pool()?;
        bind_key(sqlx::query(DROP), key).bind(owner).execute(pool).await?;
        Ok(())
    }
}
