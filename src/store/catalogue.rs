//! Mirrors the configured catalogue (tenants, staff, services, hours) into the store.
//!
//! Configuration is the source of truth for the catalogue; the tables let operators and reports
//! join bookings with names, and show what a node was configured with. Each tenant is replaced in
//! one transaction; on PostgreSQL an advisory lock keeps nodes that start together from interleaving.

use chrono::{DateTime, Datelike, Utc};

use super::{Backend, Store, StoreError, with_write};
use crate::domain::Tenant;
use crate::domain::hours::DayOverride;

impl Store {
    pub async fn sync_catalogue(
        &self,
        tenants: &[std::sync::Arc<Tenant>],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for tenant in tenants {
            self.sync_tenant(tenant, now).await?;
        }
        Ok(())
    }

    async fn sync_tenant(&self, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), StoreError> {
        let is_postgres = matches!(self.inner.backend, Backend::Postgres { .. });
        let id = tenant.id.as_str();
        with_write!(self, pool => {
            let mut tx = pool.begin().await?;
            if is_postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext('slotkeeper_catalogue'))").execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO tenants (id, name, timezone, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone, updated_at = excluded.updated_at",
            )
            .bind(id).bind(&tenant.name).bind(tenant.tz.name()).bind(now)
            .execute(&mut *tx).await?;
            for table in ["tenant_phone_numbers", "staff_services", "staff_hours", "staff_exceptions", "service_phases", "staff", "services"] {
                let sql = format!("DELETE FROM {table} WHERE tenant_id = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).execute(&mut *tx).await?;
            }
            for phone in &tenant.phone_numbers {
                sqlx::query("INSERT INTO tenant_phone_numbers (phone, tenant_id) VALUES ($1, $2)")
                    .bind(phone.as_str()).bind(id).execute(&mut *tx).await?;
            }
            for service in &tenant.services {
                sqlx::query("INSERT INTO services (tenant_id, id, name, duration_minutes, price_cents, is_compound) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id).bind(service.id.as_str()).bind(&service.name)
                    .bind(service.total_minutes() as i32).bind(service.price_cents as i32).bind(service.is_compound())
                    .execute(&mut *tx).await?;
                for (seq, phase) in service.phases.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO service_phases (tenant_id, service_id, seq, name, offset_minutes, duration_minutes, staff_busy) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(id).bind(service.id.as_str()).bind(seq as i32).bind(&phase.name)
                    .bind(phase.offset_minutes as i32).bind(phase.duration_minutes as i32).bind(phase.staff_busy)
                    .execute(&mut *tx).await?;
                }
            }
            for staff in &tenant.staff {
                sqlx::query("INSERT INTO staff (tenant_id, id, name, calcom_user_id) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(staff.id.as_str()).bind(&staff.name).bind(staff.calcom_user_id)
                    .execute(&mut *tx).await?;
                for service in &staff.services {
                    sqlx::query("INSERT INTO staff_services (tenant_id, staff_id, service_id) VALUES ($1, $2, $3)")
                        .bind(id).bind(staff.id.as_str()).bind(service.as_str())
                        .execute(&mut *tx).await?;
                }
                // One row per weekday range, read from a week starting on a Monday.
                let monday = chrono::NaiveDate::from_isoywd_opt(2026, 1, chrono::Weekday::Mon).unwrap_or_default();
                for offset in 0..7u32 {
                    let date = monday + chrono::Days::new(u64::from(offset));
                    if staff.schedule.exception_on(date).is_some() {
                        continue;
                    }
                    for range in staff.schedule.ranges_on(date) {
                        sqlx::query("INSERT INTO staff_hours (tenant_id, staff_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5)")
                            .bind(id).bind(staff.id.as_str()).bind(date.weekday().number_from_monday() as i32)
                            .bind(range.start().format("%H:%M").to_string()).bind(range.end().format("%H:%M").to_string())
                            .execute(&mut *tx).await?;
                    }
                }
                for (day, exception) in staff.schedule.exceptions() {
                    let (closed, hours) = match exception {
                        DayOverride::Closed => (true, String::new()),
                        DayOverride::Hours(ranges) => (false, ranges.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")),
                    };
                    sqlx::query("INSERT INTO staff_exceptions (tenant_id, staff_id, day, closed, hours) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id).bind(staff.id.as_str()).bind(*day).bind(closed).bind(hours)
                        .execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
