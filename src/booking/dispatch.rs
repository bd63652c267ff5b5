//! One function call, answered: attribution, the replay policy and the German answer.
//!
//! The HTTP layer hands over the call as it arrived ([`CallInfo`]) and the typed [`Command`];
//! everything else happens here, in this order: the call is attributed to its tenant (or
//! refused), the request is understood once (a `check_availability`'s date is parsed into its
//! plan here and that plan is what runs), and a call that may have an effect runs under its
//! idempotency key, so a Retell retry — also one that arrives while the first attempt still
//! runs — gets the first answer byte for byte (BK-3). A `check_availability` for a day's free
//! times holds nothing and needs no record; it is answered from the calendar actors alone.

use std::sync::Arc;

use super::command::{Command, Function};
use super::idempotency::{AnswerKey, Fresh, Stored, Transient};
use super::{Answer, BookingError, BookingService, CallContext, CallInfo, Outcome};
use crate::metrics;

/// The answer to a function call, as sent (a replay is the first answer byte for byte).
#[derive(Debug, Clone)]
pub struct Reply {
    pub body: Arc<str>,
    /// True when this repeats the stored answer of an earlier identical call.
    pub replayed: bool,
}

impl BookingService {
    /// Answers `command` for the call `info` describes; `args_digest` identifies its arguments.
    pub async fn answer(&self, info: &CallInfo, command: Command, args_digest: String) -> Result<Reply, BookingError> {
        let call = self.resolve_call(info).await?;
        let span = tracing::Span::current();
        span.record("call_id", call.call_id.as_str());
        span.record("tenant", call.tenant.id.as_str());
        let function = command.function();
        let key = AnswerKey {
            tenant: call.tenant.id.clone(),
            call_id: call.call_id.to_string(),
            function,
            args_hash: args_digest,
        };
        let stored = match command {
            Command::CheckAvailability(args) => {
                // The date is parsed once, here; the plan it gives is what runs.
                let tenant = call.tenant.clone();
                let plan = self.plan(
                    &tenant,
                    &args.service,
                    args.staff.as_deref(),
                    &args.date,
                    args.time.as_deref(),
                    call.call_id.as_str(),
                );
                let may_hold = plan.as_ref().map_or(true, |p| p.time.is_some() || p.part.is_some());
                let work = || async {
                    let answer = match plan {
                        Ok(plan) => self.availability(&call, plan, args.customer_name, true).await,
                        Err(refusal) => Ok(*refusal),
                    };
                    fresh(function, answer)
                };
                if may_hold { self.inner.idempotency.run(key, work).await } else { once(work().await) }
            }
            command if function.is_read_only() => once(fresh(function, self.execute(&call, command).await)),
            command => {
                self.inner.idempotency.run(key, || async { fresh(function, self.execute(&call, command).await) }).await
            }
        };
        let stored = stored.map_err(|Transient(detail)| {
            metrics::retell_function_call(function.name(), "unavailable");
            BookingError::Unavailable(detail)
        })?;
        if stored.replayed {
            metrics::idempotent_replay(function.name());
        }
        Ok(Reply { body: stored.body, replayed: stored.replayed })
    }

    /// Every function but `check_availability` (which [`Self::answer`] plans itself).
    async fn execute(&self, call: &CallContext, command: Command) -> Outcome {
        match command {
            Command::CheckAvailability(args) => self.check_availability(call, args).await,
            Command::StartBooking(args) => self.start_booking(call, args).await,
            Command::CancelBooking(args) => self.cancel_booking(call, args).await,
            Command::RescheduleBooking(args) => self.reschedule_booking(call, args).await,
            Command::FindAlternatives(args) => self.find_alternatives(call, args).await,
            Command::ReleaseReservation(args) => self.release_reservation(call, args).await,
            Command::GetAppointments(args) => self.get_appointments(call, args).await,
        }
    }
}

/// The answer as JSON, with whether it is kept for replay ([`Function::keeps`]).
fn fresh(function: Function, outcome: Outcome) -> Result<Fresh, Transient> {
    match outcome {
        Ok(answer) => {
            metrics::retell_function_call(function.name(), if answer.success { "success" } else { "refused" });
            let keep = function.keeps(&answer);
            let body = serde_json::to_string::<Answer>(&answer).map_err(|e| Transient(e.to_string()))?;
            Ok(Fresh { status: 200, body, keep })
        }
        Err(err) => {
            tracing::warn!(function = function.name(), error = %err, code = err.code(), "function call could not be answered");
            Err(Transient(err.to_string()))
        }
    }
}

/// An answer that is not stored: sent once.
fn once(fresh: Result<Fresh, Transient>) -> Result<Stored, Transient> {
    fresh.map(|f| Stored { status: f.status, body: f.body.into(), replayed: false })
}
