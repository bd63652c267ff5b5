//! `cancel_booking`, `reschedule_booking`, `get_appointments`, and what happens when a call ends.
//!
//! A caller's bookings are found by the number they call from — never by a number or id the
//! agent passes in — so one caller can never touch another caller's booking. The tenant's policy
//! (cut-off before the appointment, maximum number of moves) is checked first and explained in
//! German when it refuses. A reschedule swaps old and new slot in one transaction.

use chrono::{Duration as TimeDelta, NaiveDate};

use super::answer::{Answer, AppointmentView, CancelBookingArgs, GetAppointmentsArgs, RescheduleBookingArgs};
use super::check::{Plan, labels, slot_view};
use super::speech::{self, slot_label};
use super::{BookingService, CallContext, Outcome};
use crate::calendar::{CalendarError, CalendarMsg, RescheduleRequest};
use crate::domain::Tenant;
use crate::domain::german::parse_date;
use crate::domain::hours::local_to_utc;
use crate::store::{Appointment, ReservationKind, ReservationStatus};

impl BookingService {
    pub async fn get_appointments(&self, call: &CallContext, _args: GetAppointmentsArgs) -> Outcome {
        let tenant = &call.tenant;
        let Some(caller) = &call.caller else { return Ok(Answer::refused("hidden_number", speech::HIDDEN_NUMBER)) };
        let appointments = self.inner.store.appointments_by_phone(&tenant.id, caller.as_str(), self.now()).await?;
        if appointments.is_empty() {
            let mut answer = Answer::ok(speech::NO_APPOINTMENTS);
            answer.appointments = Some(Vec::new());
            return Ok(answer);
        }
        let views: Vec<AppointmentView> = appointments.iter().map(|a| appointment_view(tenant, a)).collect();
        let mut answer = Answer::ok(speech::appointments_list(
            &views.iter().map(|v| format!("{} am {}", v.service, v.label)).collect::<Vec<_>>(),
        ));
        answer.appointments = Some(views);
        Ok(answer)
    }

    /// The caller's appointment the request is about, or the answer to give instead.
    async fn pick_appointment(
        &self,
        call: &CallContext,
        date: Option<&str>,
        booking_id: Option<&str>,
    ) -> Result<Appointment, Result<Answer, super::BookingError>> {
        let tenant = &call.tenant;
        let Some(caller) = &call.caller else {
            return Err(Ok(Answer::refused("hidden_number", speech::HIDDEN_NUMBER)));
        };
        let mut appointments = self
            .inner
            .store
            .appointments_by_phone(&tenant.id, caller.as_str(), self.now())
            .await
            .map_err(|e| Err(e.into()))?;
        if let Some(id) = booking_id.map(str::trim).filter(|s| !s.is_empty()) {
            appointments.retain(|a| a.id.as_str() == id);
        }
        if let Some(day) = date.map(|d| parse_date(d, self.today(tenant))) {
            let day: NaiveDate = match day {
                Ok(day) => day,
                Err(err) => {
                    let reason = if err.weekday_options().is_some() { "weekday_mismatch" } else { "unparsable_date" };
                    return Err(Ok(Answer::refused(reason, err.german_message())));
                }
            };
            appointments.retain(|a| a.start.with_timezone(&tenant.tz).date_naive() == day);
        }
        match appointments.len() {
            0 => Err(Ok(Answer::refused("no_appointment", speech::NO_APPOINTMENTS))),
            1 => Ok(appointments.remove(0)),
            _ => {
                let views: Vec<AppointmentView> = appointments.iter().map(|a| appointment_view(tenant, a)).collect();
                let mut answer = Answer::refused(
                    "several_appointments",
                    speech::which_appointment(
                        &views.iter().map(|v| format!("{} am {}", v.service, v.label)).collect::<Vec<_>>(),
                    ),
                );
                answer.appointments = Some(views);
                Err(Ok(answer))
            }
        }
    }

    pub async fn cancel_booking(&self, call: &CallContext, args: CancelBookingArgs) -> Outcome {
        let tenant = &call.tenant;
        let appointment = match self.pick_appointment(call, args.date.as_deref(), args.booking_id.as_deref()).await {
            Ok(a) => a,
            Err(answer) => return answer,
        };
        let cutoff = TimeDelta::hours(i64::from(tenant.policy.cancel_cutoff_hours));
        if appointment.start - self.now() < cutoff {
            return Ok(Answer::refused("too_late", speech::cancel_too_late(tenant.policy.cancel_cutoff_hours)));
        }
        let reason = args.reason.unwrap_or_else(|| "cancelled by caller".into());
        let id = appointment.id.clone();
        let cancelled = self
            .inner
            .calendars
            .request(&appointment.staff_key(), "cancel", |reply| CalendarMsg::Cancel {
                appointment_id: id.clone(),
                reason: reason.clone(),
                reply,
            })
            .await?;
        if !cancelled {
            return Ok(Answer::refused("no_appointment", speech::NO_APPOINTMENTS));
        }
        crate::metrics::booking("cancelled");
        self.inner.sync.kick();
        let service = tenant.service(&appointment.service).map(|s| s.name.clone()).unwrap_or_default();
        let mut answer = Answer::ok(speech::cancelled(&service, &slot_label(tenant.tz, appointment.start)));
        answer.booking_id = Some(appointment.id.to_string());
        answer.booking_status = Some("cancelled");
        Ok(answer)
    }

    pub async fn reschedule_booking(&self, call: &CallContext, args: RescheduleBookingArgs) -> Outcome {
        let tenant = &call.tenant;
        let appointment = match self.pick_appointment(call, args.date.as_deref(), args.booking_id.as_deref()).await {
            Ok(a) => a,
            Err(answer) => return answer,
        };
        let policy = tenant.policy;
        if appointment.start - self.now() < TimeDelta::hours(i64::from(policy.cancel_cutoff_hours)) {
            return Ok(Answer::refused("too_late", speech::reschedule_too_late(policy.cancel_cutoff_hours)));
        }
        if appointment.reschedule_count >= policy.max_reschedules as i32 {
            return Ok(Answer::refused("reschedule_limit", speech::reschedule_limit(policy.max_reschedules)));
        }
        let Some(staff) = tenant.staff(&appointment.staff) else {
            return Ok(Answer::refused("no_appointment", speech::NO_APPOINTMENTS));
        };
        let service_name = tenant.service(&appointment.service).map(|s| s.name.clone()).unwrap_or_default();
        let mut plan = match self.plan(
            tenant,
            &service_name,
            Some(&staff.name),
            &args.new_date,
            args.new_time.as_deref(),
            call.call_id.as_str(),
        ) {
            Ok(plan) => plan,
            Err(answer) => return Ok(*answer),
        };
        // "auf morgen früh": the earliest free start then, as for a new booking
        if let Err(answer) = self.earliest_in_part(tenant, &mut plan).await? {
            return Ok(answer);
        }
        let Some(time) = plan.time else {
            let alternatives = self.alternatives(tenant, &plan, None).await?;
            let mut answer = Answer::refused("time_missing", speech::alternatives_only(&labels(&alternatives)));
            answer.alternatives = Some(alternatives);
            return Ok(answer);
        };
        let new_start = local_to_utc(tenant.tz, plan.date.and_time(time));
        let request =
            RescheduleRequest { appointment_id: appointment.id.clone(), new_start, call_id: call.call_id.to_string() };
        let moved = self
            .inner
            .calendars
            .request(&appointment.staff_key(), "reschedule", |reply| CalendarMsg::Reschedule(request.clone(), reply))
            .await;
        match moved {
            Ok(Some(booked)) => {
                crate::metrics::booking("rescheduled");
                self.inner.sync.kick();
                let mut answer =
                    Answer::ok(speech::rescheduled(&service_name, &slot_label(tenant.tz, booked.start), &staff.name));
                answer.booking_id = Some(appointment.id.to_string());
                answer.booking_status = Some("rescheduled");
                let view = slot_view(tenant, plan.service, &staff.name, booked.start);
                answer.start = Some(view.start);
                answer.end = Some(view.end);
                answer.label = Some(view.label);
                Ok(answer)
            }
            Ok(None) => Ok(Answer::refused("no_appointment", speech::NO_APPOINTMENTS)),
            Err(CalendarError::SlotTaken | CalendarError::OutsideHours) => {
                self.reschedule_alternatives(tenant, &plan, new_start).await
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn reschedule_alternatives(
        &self,
        tenant: &Tenant,
        plan: &Plan<'_>,
        requested: chrono::DateTime<chrono::Utc>,
    ) -> Outcome {
        let alternatives = self.alternatives(tenant, plan, Some(requested)).await?;
        let mut answer = Answer::refused(
            "taken",
            speech::taken_with_alternatives(
                &format!("Am {}", slot_label(tenant.tz, requested)),
                &labels(&alternatives),
            ),
        );
        answer.available = Some(false);
        answer.alternatives = Some(alternatives);
        Ok(answer)
    }

    /// The caller hung up: every hold of the call that was never converted is released at once.
    pub async fn call_ended(&self, tenant: &Tenant, call_id: &str) -> Result<usize, super::BookingError> {
        let now = self.now();
        let mut released = 0;
        for reservation in self.inner.store.reservations_of_call(&tenant.id, call_id).await? {
            if reservation.status != ReservationStatus::Active {
                continue;
            }
            if reservation.kind == ReservationKind::Offer {
                self.inner.store.cancel_hold(&reservation.token, Some(call_id), "call_ended", now).await?;
                continue;
            }
            let token = reservation.token.clone();
            let done = self
                .inner
                .calendars
                .request(&reservation.staff_key(), "release", |reply| CalendarMsg::Release {
                    token: token.clone(),
                    call_id: Some(call_id.to_owned()),
                    reason: "call_ended",
                    reply,
                })
                .await?;
            released += usize::from(done);
        }
        Ok(released)
    }
}

fn appointment_view(tenant: &Tenant, appointment: &Appointment) -> AppointmentView {
    let service = tenant.service(&appointment.service);
    let staff = tenant.staff(&appointment.staff).map(|s| s.name.clone()).unwrap_or_default();
    let label = slot_label(tenant.tz, appointment.start);
    AppointmentView {
        booking_id: appointment.id.to_string(),
        service: service.map(|s| s.name.clone()).unwrap_or_default(),
        start: appointment.start.with_timezone(&tenant.tz).to_rfc3339(),
        end: appointment.end.with_timezone(&tenant.tz).to_rfc3339(),
        staff,
        label,
    }
}
