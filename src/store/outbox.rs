//! The durable Cal.com outbox.
//!
//! A job row is written in the same transaction as the booking change it mirrors, so a booking
//! the caller heard about always reaches Cal.com eventually (BK-5), also after `kill -9`. Workers
//! claim jobs with a lease, and every claim increments the job's fencing token (`lease_token`).
//! Every later write of the claim — the job row, and the appointment and phase rows it updates
//! (see [`Fence`]) — names that token in its `WHERE` clause, so the database itself refuses the
//! writes of a worker whose claim was taken over (it hung, its node was paused past the lease,
//! or its own node claimed the job again): a stale token matches no row. Jobs of
//! one appointment run in order: a job is claimable only when no earlier job of the same
//! appointment is unfinished (a cancel never overtakes its create).

use chrono::{DateTime, Utc};

use super::row::DbRow;
use super::types::text_enum;
use super::{Backend, Store, StoreError, with_read, with_write};
use crate::domain::{AppointmentId, TenantId};

pub(crate) const INSERT_OUTBOX: &str = "INSERT INTO calcom_outbox \
    (tenant_id, appointment_id, kind, status, attempts, next_attempt_at, created_at, updated_at) \
    VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4) RETURNING id";

text_enum!(
    OutboxKind { Create => "create", Cancel => "cancel", Reschedule => "reschedule" }
);
text_enum!(
    OutboxStatus { Pending => "pending", InFlight => "in_flight", Done => "done", Dead => "dead" }
);

/// A claim's fencing token: the job and the token its claim got. Writes made under a claim
/// carry it and match no row once another claim of the job has taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub job: i64,
    pub token: i64,
}

/// The condition a fenced write adds, with the job id in `$j` and the token in `$t`.
pub(crate) fn fence_clause(j: u8, t: u8) -> String {
    format!(
        "EXISTS (SELECT 1 FROM calcom_outbox f WHERE f.id = ${j} AND f.lease_token = ${t} AND f.status = 'in_flight')"
    )
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxJob {
    pub id: i64,
    pub tenant: TenantId,
    pub appointment_id: AppointmentId,
    pub kind: OutboxKind,
    pub status: OutboxStatus,
    pub attempts: i32,
    /// The fencing token of the claim that returned this job (0 for an unclaimed job).
    pub lease_token: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OutboxJob {
    /// The fence of the claim that returned this job.
    pub fn fence(&self) -> Fence {
        Fence { job: self.id, token: self.lease_token }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxSummary {
    pub pending: u64,
    pub in_flight: u64,
    pub dead: u64,
}

pub(crate) const JOB_COLUMNS: &str = "id, tenant_id, appointment_id, kind, status, attempts, lease_token, next_attempt_at, last_error, created_at, updated_at";

/// Due or abandoned jobs whose appointment has no earlier unfinished job.
const CLAIMABLE: &str = "((o.status = 'pending' AND o.next_attempt_at <= $1) OR (o.status = 'in_flight' AND o.lease_until < $1)) \
    AND NOT EXISTS (SELECT 1 FROM calcom_outbox p WHERE p.appointment_id = o.appointment_id AND p.id < o.id \
                    AND p.status IN ('pending', 'in_flight'))";

impl Store {
    /// Queues a job on its own (most jobs are written together with their booking change).
    pub async fn enqueue_job(
        &self,
        tenant: &TenantId,
        appointment: &AppointmentId,
        kind: OutboxKind,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        with_write!(self, pool => {
            let id: i64 = sqlx::query_scalar(INSERT_OUTBOX).bind(tenant.as_str()).bind(appointment.as_str()).bind(kind.as_str()).bind(now).fetch_one(pool).await?;
            Ok(id)
        })
    }

    /// Claims up to `limit` due jobs for `owner` until `lease_until`.
    pub async fn claim_due_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let lock = match self.inner.backend {
            Backend::Postgres { .. } => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite { .. } => "",
        };
        let sql = format!(
            "UPDATE calcom_outbox SET status = 'in_flight', lease_owner = $2, lease_until = $3, lease_token = lease_token + 1, updated_at = $1 \
             WHERE id IN (SELECT o.id FROM calcom_outbox o WHERE {CLAIMABLE} ORDER BY o.next_attempt_at, o.id LIMIT $4 {lock}) \
             RETURNING {JOB_COLUMNS}"
        );
        with_write!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(owner).bind(lease_until).bind(limit).fetch_all(pool).await?;
            let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>()?;
            jobs.sort_by_key(|j| j.id);
            Ok(jobs)
        })
    }

    /// Claims one specific job (the fast path right after a booking), if it is claimable.
    pub async fn claim_job(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<OutboxJob>, StoreError> {
        let sql = format!(
            "UPDATE calcom_outbox SET status = 'in_flight', lease_owner = $2, lease_until = $3, lease_token = lease_token + 1, updated_at = $1 \
             WHERE id = $4 AND id IN (SELECT o.id FROM calcom_outbox o WHERE o.id = $4 AND {CLAIMABLE}) \
             RETURNING {JOB_COLUMNS}"
        );
        with_write!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(owner).bind(lease_until).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(job_from_row).transpose()
        })
    }

    /// Extends a lease the claim still holds (long jobs); `false` if it was taken over.
    pub async fn renew_lease(&self, fence: Fence, lease_until: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql =
            "UPDATE calcom_outbox SET lease_until = $3 WHERE id = $1 AND lease_token = $2 AND status = 'in_flight'";
        with_write!(self, pool => Ok(sqlx::query(sql).bind(fence.job).bind(fence.token).bind(lease_until).execute(pool).await?.rows_affected() == 1))
    }

    pub async fn finish_job(&self, fence: Fence, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = "UPDATE calcom_outbox SET status = 'done', attempts = attempts + 1, last_error = NULL, lease_until = NULL, updated_at = $3 \
                   WHERE id = $1 AND lease_token = $2 AND status = 'in_flight'";
        with_write!(self, pool => Ok(sqlx::query(sql).bind(fence.job).bind(fence.token).bind(now).execute(pool).await?.rows_affected() == 1))
    }

    /// Schedules another attempt. `count_attempt` is false when the job did not run at all
    /// (circuit open, rate limited): such delays do not use up the retry budget.
    pub async fn retry_job(
        &self,
        fence: Fence,
        next_at: DateTime<Utc>,
        error: &str,
        count_attempt: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE calcom_outbox SET status = 'pending', attempts = attempts + $5, next_attempt_at = $3, last_error = $4, \
                   lease_until = NULL, updated_at = $6 WHERE id = $1 AND lease_token = $2 AND status = 'in_flight'";
        with_write!(self, pool => Ok(sqlx::query(sql).bind(fence.job).bind(fence.token).bind(next_at).bind(error).bind(i32::from(count_attempt)).bind(now).execute(pool).await?.rows_affected() == 1))
    }

    /// Parks a job after its last retry: visible on the admin page and in `calcom_outbox_dead_letters`.
    pub async fn dead_letter_job(&self, fence: Fence, error: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = "UPDATE calcom_outbox SET status = 'dead', attempts = attempts + 1, last_error = $3, lease_until = NULL, updated_at = $4 \
                   WHERE id = $1 AND lease_token = $2 AND status = 'in_flight'";
        with_write!(self, pool => Ok(sqlx::query(sql).bind(fence.job).bind(fence.token).bind(error).bind(now).execute(pool).await?.rows_affected() == 1))
    }

    /// Puts dead letters back in the queue: one (`Some(id)`, the admin "retry" button, limited to
    /// `tenant` when given) or all parked longer than `older_than` (automatic re-drive).
    pub async fn redrive_jobs(
        &self,
        id: Option<i64>,
        tenant: Option<&TenantId>,
        older_than: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = "UPDATE calcom_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 \
                   WHERE status = 'dead' AND ($2 IS NULL OR id = $2) AND ($3 IS NULL OR tenant_id = $3) AND updated_at <= $4";
        let tenant = tenant.map(TenantId::as_str);
        with_write!(self, pool => Ok(sqlx::query(sql).bind(now).bind(id).bind(tenant).bind(older_than).execute(pool).await?.rows_affected()))
    }

    pub async fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        let sql = "SELECT status, COUNT(*) AS n FROM calcom_outbox WHERE status <> 'done' GROUP BY status";
        with_read!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            let mut summary = OutboxSummary::default();
            for row in &rows {
                let n = row.int("n")?.max(0) as u64;
                match row.text("status")?.as_str() {
                    "pending" => summary.pending = n,
                    "in_flight" => summary.in_flight = n,
                    "dead" => summary.dead = n,
                    _ => {}
                }
            }
            Ok(summary)
        })
    }

    /// Jobs of one appointment, oldest first.
    pub async fn jobs_for_appointment(&self, id: &AppointmentId) -> Result<Vec<OutboxJob>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM calcom_outbox WHERE appointment_id = $1 ORDER BY id");
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(pool).await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// Dead letters, newest first (all tenants when `tenant` is `None`).
    pub async fn dead_letters(&self, tenant: Option<&TenantId>, limit: i64) -> Result<Vec<OutboxJob>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM calcom_outbox WHERE status = 'dead' AND ($1 IS NULL OR tenant_id = $1) ORDER BY updated_at DESC LIMIT $2"
        );
        let tenant = tenant.map(TenantId::as_str);
        with_read!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(limit).fetch_all(pool).await?;
            rows.iter().map(job_from_row).collect()
        })
    }
}

pub(crate) fn job_from_row(row: &impl DbRow) -> Result<OutboxJob, StoreError> {
    Ok(OutboxJob {
        id: row.int("id")?,
        tenant: row.text("tenant_id")?.into(),
        appointment_id: AppointmentId::new(row.text("appointment_id")?),
        kind: OutboxKind::parse(&row.text("kind")?).ok_or_else(|| StoreError::corrupt("outbox kind"))?,
        status: OutboxStatus::parse(&row.text("status")?).ok_or_else(|| StoreError::corrupt("outbox status"))?,
        attempts: row.int("attempts")? as i32,
        lease_token: row.int("lease_token")?,
        next_attempt_at: row.time("next_attempt_at")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}
