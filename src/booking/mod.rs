//! What callers can do: check availability, book, cancel, reschedule, ask for alternatives.
//!
//! The booking service orchestrates and keeps no state of its own: decisions about a calendar are
//! made by that calendar's actor, durable state lives in the store, and Cal.com work goes through
//! the sync pool. This layer turns a caller's request into those calls and the outcome into a
//! German answer. Caller-facing problems (unknown service, a date in the past, a slot taken) are
//! answers with `success: false`; only infrastructure trouble is an error ([`BookingError`]).

pub mod answer;
mod book;
mod check;
pub mod command;
pub mod context;
mod dispatch;
mod greeting;
pub mod idempotency;
mod manage;
pub mod port;
pub mod speech;
mod when;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use dashmap::DashSet;

use crate::calendar::{CalendarError, Calendars, FreeQuery};
use crate::clock::Clock;
use crate::config::HoldSettings;
use crate::domain::matching::{Match, best_match};
use crate::domain::{Catalogue, Interval, Service, ServiceId, Staff, Tenant};
pub use crate::flags::Flags;
use crate::store::Store;
pub use answer::Answer;
pub use command::{Command, Function, InvalidArguments};
pub use context::{CallContext, CallInfo, ContextError};
pub use dispatch::Reply;
pub use greeting::{Greeting, NextAppointment};
pub use port::{CalendarSync, SyncOutcome};

/// Why a call got no answer: it cannot be attributed (a protocol problem), or infrastructure
/// trouble — nothing was decided, and the request may be retried.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("calendar: {0}")]
    Calendar(#[from] CalendarError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl BookingError {
    /// A stable name for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            BookingError::Context(ContextError::CallId(_)) => "invalid_call_id",
            BookingError::Context(ContextError::UnknownTenant) => "unknown_tenant",
            BookingError::Context(ContextError::AmbiguousTenant) => "ambiguous_tenant",
            BookingError::Calendar(_) => "calendar_unavailable",
            BookingError::Store(_) => "store_unavailable",
            BookingError::Unavailable(_) => "unavailable",
        }
    }
}

pub type Outcome = Result<Answer, BookingError>;

/// How far ahead alternatives are searched.
const ALTERNATIVE_DAYS: i64 = 14;
/// Alternatives offered at most (a caller can remember three).
const MAX_ALTERNATIVES: usize = 3;
/// Free times read aloud at most when the caller gave no time.
const MAX_SPOKEN_TIMES: usize = 6;

pub struct Settings {
    pub holds: HoldSettings,
    pub booking_budget: Duration,
}

struct Inner {
    catalogue: Arc<Catalogue>,
    calendars: Calendars,
    store: Store,
    clock: Clock,
    flags: Flags,
    sync: Arc<dyn CalendarSync>,
    idempotency: idempotency::Idempotency,
    settings: Settings,
    seen_calls: DashSet<String>,
}

#[derive(Clone)]
pub struct BookingService {
    inner: Arc<Inner>,
}

impl BookingService {
    pub fn new(
        catalogue: Arc<Catalogue>,
        calendars: Calendars,
        store: Store,
        clock: Clock,
        flags: Flags,
        sync: Arc<dyn CalendarSync>,
        settings: Settings,
    ) -> Self {
        let idempotency = idempotency::Idempotency::new(store.clone(), clock.clone());
        Self {
            inner: Arc::new(Inner {
                catalogue,
                calendars,
                store,
                clock,
                flags,
                sync,
                idempotency,
                settings,
                seen_calls: DashSet::new(),
            }),
        }
    }

    pub fn flags(&self) -> &Flags {
        &self.inner.flags
    }

    pub fn calendars(&self) -> &Calendars {
        &self.inner.calendars
    }

    pub fn catalogue(&self) -> &Arc<Catalogue> {
        &self.inner.catalogue
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn today(&self, tenant: &Tenant) -> NaiveDate {
        self.now().with_timezone(&tenant.tz).date_naive()
    }

    /// The service a caller named, or the answer to give instead.
    fn match_service<'a>(&self, tenant: &'a Tenant, said: &str) -> Result<&'a Service, Box<Answer>> {
        let candidates: Vec<(ServiceId, Vec<&str>)> = tenant
            .services
            .iter()
            .map(|s| {
                (s.id.clone(), std::iter::once(s.name.as_str()).chain(s.aliases.iter().map(String::as_str)).collect())
            })
            .collect();
        let name_of = |id: &ServiceId| tenant.service(id).map(|s| s.name.clone()).unwrap_or_default();
        match best_match(said, &candidates) {
            Match::Found(id) => tenant.service(&id).ok_or_else(|| Box::new(Answer::refused("unknown_service", ""))),
            Match::Ambiguous(ids) => Err(Box::new(Answer::refused(
                "ambiguous_service",
                speech::ambiguous_service(&ids.iter().map(name_of).collect::<Vec<_>>()),
            ))),
            Match::NotFound => {
                let offered: Vec<String> = tenant.services.iter().map(|s| s.name.clone()).collect();
                Err(Box::new(Answer::refused("unknown_service", speech::unknown_service(said.trim(), &offered))))
            }
        }
    }

    /// Stylists who can do `service`: the one the caller named, or all qualified ones.
    fn candidates<'a>(
        &self,
        tenant: &'a Tenant,
        service: &'a Service,
        said: Option<&str>,
        call_id: &str,
    ) -> Result<Vec<&'a Staff>, Box<Answer>> {
        let qualified: Vec<&Staff> = tenant.qualified_staff(&service.id).collect();
        let wanted = said.map(str::trim).filter(|s| !is_anyone(s));
        let Some(wanted) = wanted else {
            // Start with a different stylist for different calls, so concurrent callers spread out.
            let mut rotated = qualified;
            if !rotated.is_empty() {
                let shift = usize::from(crate::flags::rollout_bucket(call_id)) % rotated.len();
                rotated.rotate_left(shift);
            }
            return Ok(rotated);
        };
        let everyone: Vec<(usize, Vec<&str>)> =
            tenant.staff.iter().enumerate().map(|(i, s)| (i, vec![s.name.as_str(), s.id.as_str()])).collect();
        match best_match(wanted, &everyone) {
            Match::Found(index) => {
                let staff = &tenant.staff[index];
                if staff.performs(&service.id) {
                    Ok(vec![staff])
                } else {
                    let others: Vec<String> = qualified.iter().map(|s| s.name.clone()).collect();
                    Err(Box::new(Answer::refused(
                        "staff_cannot",
                        speech::staff_cannot(&staff.name, &service.name, &others),
                    )))
                }
            }
            _ => {
                let names: Vec<String> = tenant.staff.iter().map(|s| s.name.clone()).collect();
                Err(Box::new(Answer::refused("unknown_staff", speech::unknown_staff(wanted, &names))))
            }
        }
    }

    /// Free starts of `service` for every stylist in `staff` within `range`, merged: (start, stylist).
    async fn free_starts(
        &self,
        tenant: &Tenant,
        service: &Service,
        staff: &[&Staff],
        range: Interval,
        limit: usize,
    ) -> Result<(Vec<(DateTime<Utc>, String)>, bool), BookingError> {
        let not_before = self.now() + chrono::Duration::minutes(i64::from(tenant.rules.min_notice_minutes));
        let queries = staff.iter().map(|s| {
            let key = tenant.staff_key(&s.id);
            let query = FreeQuery { service: service.id.clone(), range, not_before, limit };
            async move {
                let free = self
                    .inner
                    .calendars
                    .call(&key, "find_free", |reply| crate::calendar::CalendarMsg::FindFree(query.clone(), reply))
                    .await?;
                Ok::<_, BookingError>((s.name.clone(), free))
            }
        });
        let mut merged = Vec::new();
        let mut all_hit = true;
        for result in futures::future::join_all(queries).await {
            let (name, free) = result?;
            all_hit &= free.cache_hit;
            merged.extend(free.starts.into_iter().map(|t| (t, name.clone())));
        }
        merged.sort();
        merged.dedup_by(|a, b| a.0 == b.0);
        Ok((merged, all_hit))
    }
}

/// "egal", "irgendwer", "beliebig": the caller has no preference.
fn is_anyone(said: &str) -> bool {
    let folded = crate::domain::matching::fold(said);
    folded.is_empty()
        || [
            "egal",
            "irgendwer",
            "irgendjemand",
            "beliebig",
            "any",
            "anyone",
            "keine",
            "keinepraeferenz",
            "wer",
            "niemand",
            "null",
            "none",
        ]
        .contains(&folded.as_str())
        || folded.starts_with("egal")
}
