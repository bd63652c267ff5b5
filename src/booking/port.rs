//! What booking needs from the calendar of record, and nothing more.
//!
//! Booking decides with the calendar actors and the store; Cal.com work is the sync engine's.
//! Booking sees the sync engine only through [`CalendarSync`] — is the tenant's Cal.com circuit
//! open, re-check a hold against Cal.com before booking it, wait (within a budget) for a
//! booking's Cal.com work, wake the outbox — so the sync engine
//! depends on booking (it implements this trait) and booking never on the sync engine.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::calendar::{Booked, Recheck};
use crate::domain::{Tenant, TenantId};

/// How a booking's Cal.com work ended, as far as a waiting caller needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Every phase is at Cal.com.
    Synced,
    /// Not yet (retrying, or the budget ran out): the outbox finishes it.
    Pending,
    /// Cal.com refused it for good; booked phases were cancelled, the booking failed.
    Failed,
}

pub trait CalendarSync: Send + Sync + 'static {
    /// The tenant's Cal.com is failing now: book directly into the outbox, do not wait.
    fn circuit_open(&self, tenant: &TenantId) -> bool;
    /// Waits at most `budget` for the Cal.com work of a booking just written (its outbox job).
    fn after_booking<'a>(
        &'a self,
        tenant: &'a Tenant,
        booked: &'a Booked,
        budget: Duration,
    ) -> BoxFuture<'a, SyncOutcome>;
    /// Right before a hold is booked: checks its time against Cal.com's current slots (within
    /// `limit`) when the day's answer is old; [`Recheck::Conflict`] means the hold was withdrawn.
    fn recheck<'a>(
        &'a self,
        tenant: &'a Tenant,
        reservation: &'a crate::store::Reservation,
        limit: Duration,
    ) -> BoxFuture<'a, Recheck>;
    /// An outbox job was just written: start on it now instead of at the next poll.
    fn kick(&self);
}
