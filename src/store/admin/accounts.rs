//! Admin accounts and sessions (sessions stored by the SHA-256 of their token only).

use chrono::{DateTime, Utc};

use super::super::row::DbRow;
use super::super::{Store, StoreError, with_read, with_write};
use super::*;
use crate::domain::TenantId;

impl Store {
    /// Creates an account; [`StoreError::Duplicate`] when the username is taken.
    pub async fn create_admin_user(&self, user: NewAdminUser<'_>) -> Result<i64, StoreError> {
        let sql = "INSERT INTO admin_users (username, password_hash, role, tenant_id, created_at) \
                   VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let tenant = user.tenant.map(TenantId::as_str);
        with_write!(self, pool => {
            let id: i64 = sqlx::query_scalar(sql)
                .bind(user.username).bind(user.password_hash).bind(user.role.as_str()).bind(tenant).bind(user.now)
                .fetch_one(pool).await?;
            Ok(id)
        })
    }

    pub async fn admin_user_by_name(&self, username: &str) -> Result<Option<AdminUser>, StoreError> {
        let sql =
            "SELECT id, username, password_hash, role, tenant_id, created_at FROM admin_users WHERE username = $1";
        with_read!(self, pool => {
            let row = sqlx::query(sql).bind(username).fetch_optional(pool).await?;
            row.as_ref().map(admin_user_from_row).transpose()
        })
    }

    pub async fn create_admin_session(&self, session: NewAdminSession<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO admin_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        with_write!(self, pool => {
            sqlx::query(sql)
                .bind(session.token_hash).bind(session.user_id).bind(session.csrf_token).bind(session.created_at).bind(session.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The unexpired session with this token hash, with its account.
    pub async fn admin_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSessionRecord>, StoreError> {
        let sql = "SELECT s.user_id, s.csrf_token, s.expires_at, u.username, u.role, u.tenant_id \
                   FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2";
        with_read!(self, pool => {
            let Some(row) = sqlx::query(sql).bind(token_hash).bind(now).fetch_optional(pool).await? else {
                return Ok(None);
            };
            Ok(Some(AdminSessionRecord {
                user_id: row.int("user_id")?,
                username: row.text("username")?,
                role: AdminRole::parse(&row.text("role")?).ok_or_else(|| StoreError::corrupt("admin role"))?,
                tenant: row.opt_text("tenant_id")?.map(TenantId::from),
                csrf_token: row.text("csrf_token")?,
                expires_at: row.time("expires_at")?,
            }))
        })
    }

    /// Ends a session (logout). `false` when there was none.
    pub async fn delete_admin_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        with_write!(self, pool => {
            let deleted = sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
            Ok(deleted.rows_affected() == 1)
        })
    }

    /// Deletes sessions past their expiry; returns how many.
    pub async fn purge_admin_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        with_write!(self, pool => {
            let deleted = sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1").bind(now).execute(pool).await?;
            Ok(deleted.rows_affected())
        })
    }
}

fn admin_user_from_row(row: &impl DbRow) -> Result<AdminUser, StoreError> {
    Ok(AdminUser {
        id: row.int("id")?,
        username: row.text("username")?,
        password_hash: row.text("password_hash")?,
        role: AdminRole::parse(&row.text("role")?).ok_or_else(|| StoreError::corrupt("admin role"))?,
        tenant: row.opt_text("tenant_id")?.map(TenantId::from),
        created_at: row.time("created_at")?,
    })
}
