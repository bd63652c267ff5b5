//! Run-time feature flags per tenant: `reservations_enabled` (with a percentage rollout) and
//! `parallel_booking_enabled`.
//!
//! Configuration gives the start values; the store keeps the current ones (changed on the admin
//! page, audited). Reads come from memory, refreshed from the store every few seconds so that every
//! node follows a change. The rollout decision for a call is a stable hash of its call id, so one
//! call never flips between holding and not holding halfway through the conversation.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::{Catalogue, TenantId};
use crate::store::{FlagChange, Store, StoreError};

/// How often flags are re-read (changes made on another node reach this one).
const REFRESH_EVERY: Duration = Duration::from_secs(5);

pub const RESERVATIONS: &str = "reservations_enabled";
pub const PARALLEL_BOOKING: &str = "parallel_booking_enabled";
pub const ALL: &[&str] = &[RESERVATIONS, PARALLEL_BOOKING];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagValue {
    pub enabled: bool,
    pub rollout_percent: u8,
}

#[derive(Clone)]
pub struct Flags {
    store: Store,
    values: Arc<DashMap<(TenantId, String), FlagValue>>,
}

impl Flags {
    /// Seeds missing flags from configuration and loads the current values.
    pub async fn load(store: Store, catalogue: &Catalogue, now: DateTime<Utc>) -> Result<Self, StoreError> {
        for tenant in catalogue.tenants() {
            let defaults = tenant.flags;
            store
                .seed_flag(
                    &tenant.id,
                    RESERVATIONS,
                    defaults.reservations_enabled,
                    defaults.reservations_rollout_percent,
                    now,
                )
                .await?;
            store.seed_flag(&tenant.id, PARALLEL_BOOKING, defaults.parallel_booking_enabled, 100, now).await?;
        }
        let flags = Self { store, values: Arc::new(DashMap::new()) };
        flags.refresh().await?;
        Ok(flags)
    }

    pub async fn refresh(&self) -> Result<(), StoreError> {
        for row in self.store.flags(None).await? {
            self.values.insert(
                (row.tenant, row.flag),
                FlagValue { enabled: row.enabled, rollout_percent: row.rollout_percent },
            );
        }
        Ok(())
    }

    /// Re-reads the flags every few seconds until `stop`, so every node follows a change.
    pub fn spawn_refresh(&self, tasks: &TaskTracker, stop: CancellationToken) -> JoinHandle<()> {
        let flags = self.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(REFRESH_EVERY) => {}
                }
                if let Err(err) = flags.refresh().await {
                    tracing::warn!(error = %err, "could not refresh feature flags");
                }
            }
        })
    }

    pub fn get(&self, tenant: &TenantId, flag: &str) -> Option<FlagValue> {
        self.values.get(&(tenant.clone(), flag.to_owned())).map(|v| *v)
    }

    /// Does this call get holds? On, and the call falls into the rollout percentage.
    pub fn reservations_for_call(&self, tenant: &TenantId, call_id: &str) -> bool {
        self.get(tenant, RESERVATIONS).is_some_and(|v| v.enabled && rollout_bucket(call_id) < v.rollout_percent)
    }

    pub fn parallel_booking(&self, tenant: &TenantId) -> bool {
        self.get(tenant, PARALLEL_BOOKING).is_none_or(|v| v.enabled)
    }

    /// Changes a flag (store and memory), audited with `by`.
    pub async fn set(
        &self,
        tenant: &TenantId,
        flag: &str,
        value: FlagValue,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<FlagChange, StoreError> {
        let change = self.store.set_flag(tenant, flag, value.enabled, value.rollout_percent.min(100), by, now).await?;
        self.values.insert((tenant.clone(), flag.to_owned()), value);
        Ok(change)
    }
}

/// 0..100, stable for a call id.
pub fn rollout_bucket(call_id: &str) -> u8 {
    let digest = Sha256::digest(call_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

#[cfg(test)]
mod tests {
    use super::rollout_bucket;

    #[test]
    fn the_rollout_bucket_is_stable_and_spread() {
        assert_eq!(rollout_bucket("call_abc1234567"), rollout_bucket("call_abc1234567"));
        let under_ten = (0..10_000).filter(|i| rollout_bucket(&format!("call_{i:032x}")) < 10).count();
        assert!((800..1200).contains(&under_ten), "about 10 % of calls fall under 10: {under_ten}");
    }
}
