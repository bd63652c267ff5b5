//! `start_booking` and `release_reservation`.
//!
//! A token is honoured only on the call that received it (the agent cannot book a time it never
//! offered) and only for its tenant. The stylist's actor validates it (valid / expired / conflict /
//! not found) and converts the hold into a booking plus its Cal.com outbox job in one transaction;
//! then the sync pool books the phases at Cal.com while the caller waits, up to the configured
//! budget. A token this call already converted answers with that same booking: an agent that
//! repeats `start_booking` after an interruption never books twice and never hears "taken".

use super::answer::{Answer, ReleaseReservationArgs, StartBookingArgs};
use super::check::{Plan, labels, slot_view};
use super::port::SyncOutcome;
use super::speech::{self, slot_label};
use super::{BookingError, BookingService, CallContext, Outcome};
use crate::calendar::{
    Booked, CalendarError, CalendarMsg, ConvertOutcome, ConvertRequest, Customer, DirectRequest, Recheck, Validation,
};
use crate::domain::{AppointmentId, E164, ReservationToken, Tenant};
use crate::metrics;
use crate::store::{Appointment, Reservation, ReservationKind, ReservationStatus, SyncState};

impl BookingService {
    pub async fn start_booking(&self, call: &CallContext, args: StartBookingArgs) -> Outcome {
        let tenant = &call.tenant;
        let token = ReservationToken::new(args.reservation_token.trim());
        let Some(reservation) = self.reservation_of_call(call, &token).await? else {
            metrics::reservation_validated(false, "not_found");
            return Ok(Answer::refused("not_found", speech::NOT_FOUND));
        };
        if reservation.status == ReservationStatus::Converted
            && let Some(appointment) = self.inner.store.appointment_for_token(&token).await?
        {
            return Ok(self.booked_answer(tenant, &appointment, None));
        }
        let Some(name) = args.customer_name.clone().filter(|n| !n.trim().is_empty()) else {
            return Ok(Answer::refused("name_missing", speech::NAME_NEEDED));
        };
        let customer = Customer {
            name: name.trim().to_owned(),
            phone: args
                .customer_phone
                .as_deref()
                .and_then(|p| E164::parse(p, &tenant.country_code).ok())
                .or_else(|| call.caller.clone())
                .map(|p| p.to_string()),
            email: args.customer_email.clone().map(|e| e.trim().to_owned()),
            notes: args.notes.clone(),
        };
        match reservation.kind {
            ReservationKind::Offer => self.book_offer(call, &reservation, customer).await,
            ReservationKind::Hold => self.book_hold(call, &reservation, customer).await,
        }
    }

    /// The reservation behind `token`, if it was handed out on this call of this tenant.
    async fn reservation_of_call(
        &self,
        call: &CallContext,
        token: &ReservationToken,
    ) -> Result<Option<Reservation>, BookingError> {
        if token.as_str().is_empty() {
            return Ok(None);
        }
        let reservation = self.inner.store.get_reservation(token).await?;
        Ok(reservation.filter(|r| r.tenant == call.tenant.id && r.call_id == call.call_id.as_str()))
    }

    async fn book_hold(&self, call: &CallContext, reservation: &Reservation, customer: Customer) -> Outcome {
        let tenant = &call.tenant;
        if self.inner.sync.circuit_open(&tenant.id) {
            return Ok(Answer::refused("calendar_unavailable", speech::TRY_AGAIN));
        }
        let request = ConvertRequest {
            token: reservation.token.clone(),
            call_id: call.call_id.to_string(),
            appointment_id: AppointmentId::generate(),
            customer,
        };
        // Cal.com owns availability: a stale answer for the day is checked again first, so a
        // time Cal.com closed since (out of office, a busy block elsewhere) is never booked.
        let limit = self.inner.settings.booking_budget / 2;
        if self.inner.sync.recheck(tenant, reservation, limit).await == Recheck::Conflict {
            metrics::reservation_validated(false, "conflict");
            return self.rejected(tenant, reservation, &Validation::Conflict).await;
        }
        let key = reservation.staff_key();
        let outcome =
            self.inner.calendars.request(&key, "convert", |reply| CalendarMsg::Convert(request.clone(), reply)).await?;
        let booked = match outcome {
            ConvertOutcome::Booked(booked) => {
                metrics::reservation_validated(true, "valid");
                booked
            }
            ConvertOutcome::Rejected(Validation::Converted(id)) => {
                return match self.inner.store.get_appointment(&id).await? {
                    Some(appointment) => Ok(self.booked_answer(tenant, &appointment, None)),
                    None => Ok(Answer::refused("not_found", speech::NOT_FOUND)),
                };
            }
            ConvertOutcome::Rejected(validation) => {
                metrics::reservation_validated(false, validation.reason());
                return self.rejected(tenant, reservation, &validation).await;
            }
        };
        self.after_booking(tenant, reservation, booked).await
    }

    async fn book_offer(&self, call: &CallContext, reservation: &Reservation, customer: Customer) -> Outcome {
        let tenant = &call.tenant;
        if reservation.status != ReservationStatus::Active || reservation.expires_at <= self.now() {
            return Ok(Answer::refused("expired", speech::EXPIRED));
        }
        let request = DirectRequest {
            token: reservation.token.clone(),
            call_id: call.call_id.to_string(),
            service: reservation.service.clone(),
            start: reservation.start,
            appointment_id: AppointmentId::generate(),
            customer,
        };
        let key = reservation.staff_key();
        match self
            .inner
            .calendars
            .request(&key, "book_direct", |reply| CalendarMsg::BookDirect(request.clone(), reply))
            .await
        {
            Ok(booked) => self.after_booking(tenant, reservation, booked).await,
            Err(CalendarError::SlotTaken) => {
                // The race the holds remove: told "free", then taken before the caller confirmed.
                metrics::slot_taken_after_offer();
                metrics::booking("taken");
                self.rejected(tenant, reservation, &Validation::Conflict).await
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Waits (within the budget) for Cal.com, then answers.
    async fn after_booking(&self, tenant: &Tenant, reservation: &Reservation, booked: Booked) -> Outcome {
        metrics::booking("confirmed");
        let outcome = self.inner.sync.after_booking(tenant, &booked, self.inner.settings.booking_budget).await;
        let Some(appointment) = self.inner.store.get_appointment(&booked.appointment_id).await? else {
            return Err(BookingError::Unavailable("the booking just written cannot be read back".into()));
        };
        if outcome == SyncOutcome::Failed {
            let plan_staff: Vec<_> = tenant.qualified_staff(&reservation.service).collect();
            let Some(service) = tenant.service(&reservation.service) else {
                return Ok(Answer::refused("calendar_refused", ""));
            };
            let date = reservation.start.with_timezone(&tenant.tz).date_naive();
            let plan = Plan { service, staff: plan_staff, date, time: None, part: None };
            let alternatives = self.alternatives(tenant, &plan, Some(reservation.start)).await?;
            let mut answer =
                Answer::refused("calendar_refused", speech::booking_failed(&slot_label(tenant.tz, reservation.start)));
            answer.booking_id = Some(appointment.id.to_string());
            answer.booking_status = Some("failed");
            answer.alternatives = Some(alternatives);
            return Ok(answer);
        }
        Ok(self.booked_answer(tenant, &appointment, Some(outcome)))
    }

    pub(super) fn booked_answer(
        &self,
        tenant: &Tenant,
        appointment: &Appointment,
        outcome: Option<SyncOutcome>,
    ) -> Answer {
        let service = tenant.service(&appointment.service).map(|s| s.name.clone()).unwrap_or_default();
        let staff = tenant.staff(&appointment.staff).map(|s| s.name.clone()).unwrap_or_default();
        let slot = slot_label(tenant.tz, appointment.start);
        let synced = matches!(outcome, Some(SyncOutcome::Synced)) || appointment.sync_state == SyncState::Synced;
        if appointment.status == crate::store::AppointmentStatus::Failed {
            let mut answer = Answer::refused("calendar_refused", speech::booking_failed(&slot));
            answer.booking_id = Some(appointment.id.to_string());
            answer.booking_status = Some("failed");
            return answer;
        }
        let mut answer = Answer::ok(if synced {
            speech::booked(&service, &slot, &staff)
        } else {
            speech::booked_calendar_pending(&service, &slot, &staff)
        });
        answer.booking_id = Some(appointment.id.to_string());
        answer.booking_status = Some(if synced { "confirmed" } else { "confirmed_pending_calendar" });
        if let Some(svc) = tenant.service(&appointment.service) {
            let view = slot_view(tenant, svc, &staff, appointment.start);
            answer.start = Some(view.start);
            answer.end = Some(view.end);
            answer.label = Some(view.label);
        }
        answer.service = Some(service);
        answer.staff = Some(staff);
        answer
    }

    async fn rejected(&self, tenant: &Tenant, reservation: &Reservation, validation: &Validation) -> Outcome {
        let (reason, message) = match validation {
            Validation::Expired => ("expired", speech::EXPIRED),
            Validation::Conflict => ("conflict", speech::CONFLICT),
            Validation::Released => ("released", speech::RELEASED),
            _ => ("not_found", speech::NOT_FOUND),
        };
        let mut answer = Answer::refused(reason, message);
        if *validation == Validation::Conflict
            && let Some(service) = tenant.service(&reservation.service)
        {
            let date = reservation.start.with_timezone(&tenant.tz).date_naive();
            let plan = Plan {
                service,
                staff: tenant.qualified_staff(&reservation.service).collect(),
                date,
                time: None,
                part: None,
            };
            let alternatives = self.alternatives(tenant, &plan, Some(reservation.start)).await?;
            answer.message = format!("{message} {}", speech::alternatives_only(&labels(&alternatives)));
            answer.alternatives = Some(alternatives);
        }
        Ok(answer)
    }

    pub async fn release_reservation(&self, call: &CallContext, args: ReleaseReservationArgs) -> Outcome {
        let token = ReservationToken::new(args.reservation_token.trim());
        let Some(reservation) = self.reservation_of_call(call, &token).await? else {
            return Ok(Answer::refused("not_found", speech::NOT_FOUND));
        };
        if reservation.status != ReservationStatus::Active {
            return Ok(Answer::ok(speech::RELEASED_OK));
        }
        if reservation.kind == ReservationKind::Offer {
            self.inner.store.cancel_hold(&token, Some(call.call_id.as_str()), "released", self.now()).await?;
            return Ok(Answer::ok(speech::RELEASED_OK));
        }
        let key = reservation.staff_key();
        let call_id = call.call_id.to_string();
        self.inner
            .calendars
            .request(&key, "release", |reply| CalendarMsg::Release {
                token: token.clone(),
                call_id: Some(call_id.clone()),
                reason: "released",
                reply,
            })
            .await?;
        Ok(Answer::ok(speech::RELEASED_OK))
    }
}
