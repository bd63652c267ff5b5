//! The sync engine's one error type: what stopped a Cal.com sync step, sorted by cause.

use std::time::Duration;

use super::engine::CallError;
use crate::calcom::CalcomError;
use crate::calendar::CalendarError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Cal.com answered with an error, or could not be reached.
    #[error("Cal.com: {0}")]
    Calcom(#[from] CalcomError),
    /// Not sent: the tenant's circuit breaker is open.
    #[error("not sent: circuit open, retry in {0:?}")]
    CircuitOpen(Duration),
    /// Not sent: no request budget within the limiter's maximum wait.
    #[error("not sent: rate limit budget exhausted, retry in {0:?}")]
    NoBudget(Duration),
    /// Not sent: a best-effort request gave way to bookings.
    #[error("not sent: request budget reserved for bookings")]
    Skipped,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("calendar: {0}")]
    Calendar(#[from] CalendarError),
    #[error("no tenant {0:?} is configured")]
    UnknownTenant(String),
    /// The worker pool could not be started.
    #[error("sync pool: {0}")]
    Pool(String),
}

impl From<CallError> for SyncError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Calcom(e) => SyncError::Calcom(e),
            CallError::CircuitOpen(d) => SyncError::CircuitOpen(d),
            CallError::Budget(d) => SyncError::NoBudget(d),
            CallError::Skipped => SyncError::Skipped,
        }
    }
}
