//! `check_availability` and `find_alternatives`: is the wanted time free, and if so, hold it.
//!
//! A requested time is checked against the salon's hours first (closed day, outside hours, too
//! soon, too far ahead, off the grid), each with its own German answer; where Cal.com's bookable
//! time (the calendar actors' windows) has the time free, it is offered although the configured
//! week says closed. A free slot is held by the
//! stylist's calendar actor (one decision at a time, so of many callers asking for the same slot
//! exactly one gets it) and written through before the token is handed out. Without a named
//! stylist, every qualified stylist is tried, so the caller gets whoever can take them then.
//!
//! How the German parser's results are used (weekday questions, clock-relative times, day
//! parts): see `when.rs`.

use chrono::{DateTime, Duration as TimeDelta, NaiveDate, NaiveTime, Timelike, Utc};

use super::answer::{Answer, CheckAvailabilityArgs, FindAlternativesArgs, SlotView};
use super::speech::{self, slot_label};
use super::{ALTERNATIVE_DAYS, BookingError, BookingService, CallContext, MAX_ALTERNATIVES, MAX_SPOKEN_TIMES, Outcome};
use crate::calendar::{CalendarError, CalendarMsg, HoldOutcome, HoldRequest};
use crate::domain::availability::fits;
use crate::domain::german::{self, DayPart, parse_when};
use crate::domain::hours::local_to_utc;
use crate::domain::{Interval, ReservationToken, Service, Staff, Tenant};
use crate::metrics;
use crate::store::{NewReservation, ReservationKind};

/// A request, understood: what, who may do it, and when.
pub(super) struct Plan<'a> {
    pub service: &'a Service,
    pub staff: Vec<&'a Staff>,
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    /// A part of the day said without a clock time; see [`BookingService::earliest_in_part`].
    pub part: Option<DayPart>,
}

impl BookingService {
    pub async fn check_availability(&self, call: &CallContext, args: CheckAvailabilityArgs) -> Outcome {
        self.plan_and_answer(call, args, true).await
    }

    pub async fn find_alternatives(&self, call: &CallContext, args: FindAlternativesArgs) -> Outcome {
        self.plan_and_answer(call, args, false).await
    }

    async fn plan_and_answer(&self, call: &CallContext, args: CheckAvailabilityArgs, may_hold: bool) -> Outcome {
        let tenant = call.tenant.clone();
        let plan = match self.plan(
            &tenant,
            &args.service,
            args.staff.as_deref(),
            &args.date,
            args.time.as_deref(),
            call.call_id.as_str(),
        ) {
            Ok(plan) => plan,
            Err(answer) => return Ok(*answer),
        };
        self.availability(call, plan, args.customer_name, may_hold).await
    }

    /// Answers a planned request: a day's free times, the earliest free start in a part of the
    /// day, or a time — held (`may_hold`, reservations on), offered, or refused with alternatives.
    pub(super) async fn availability(
        &self,
        call: &CallContext,
        mut plan: Plan<'_>,
        customer_name: Option<String>,
        may_hold: bool,
    ) -> Outcome {
        let tenant = call.tenant.clone();
        if let Err(answer) = self.earliest_in_part(&tenant, &mut plan).await? {
            return Ok(answer);
        }
        let Some(time) = plan.time else {
            return self.free_times_of_day(&tenant, &plan).await;
        };
        let start = local_to_utc(tenant.tz, plan.date.and_time(time));
        if !may_hold {
            return self.offer_alternatives(&tenant, &plan, Some(start), None).await;
        }
        if let Some(answer) = self.refuse_time(&tenant, &plan, time, start).await? {
            return Ok(answer);
        }
        if self.inner.flags.reservations_for_call(&tenant.id, call.call_id.as_str()) {
            self.hold_for_caller(call, &plan, start, customer_name).await
        } else {
            self.offer_without_hold(call, &plan, start).await
        }
    }

    /// Parses and checks service, stylist and date; a refusal is the answer to give.
    pub(super) fn plan<'a>(
        &self,
        tenant: &'a Tenant,
        service: &str,
        staff: Option<&str>,
        date: &str,
        time: Option<&str>,
        call_id: &str,
    ) -> Result<Plan<'a>, Box<Answer>> {
        let service = self.match_service(tenant, service)?;
        let staff = self.candidates(tenant, service, staff, call_id)?;
        let now_local = self.now().with_timezone(&tenant.tz);
        let today = now_local.date_naive();
        let horizon = today + TimeDelta::days(i64::from(tenant.rules.horizon_days));
        let past = |d: NaiveDate| Box::new(Answer::refused("past_date", speech::in_the_past(d, today)));
        let too_far = || Box::new(Answer::refused("too_far_ahead", speech::too_far(tenant.rules.horizon_days)));
        let when = match parse_when(date, time, now_local) {
            Ok(when) => self.on_the_grid(tenant, when),
            Err(e) => {
                let Some((said, other)) = e.weekday_options() else {
                    return Err(Box::new(Answer::refused("unparsable_date", e.german_message())));
                };
                // Ask which day was meant, unless neither could be booked anyway.
                return Err(match (said.max(other) < today, said.min(other) > horizon) {
                    (true, _) => past(said),
                    (_, true) => too_far(),
                    _ => Box::new(Answer::refused("weekday_mismatch", e.german_message())),
                });
            }
        };
        if when.date < today {
            return Err(past(when.date));
        }
        if when.date > horizon {
            return Err(too_far());
        }
        Ok(Plan { service, staff, date: when.date, time: when.time, part: when.part })
    }

    /// Closed, outside hours, off the grid, too soon: the answer, with alternatives where useful.
    async fn refuse_time(
        &self,
        tenant: &Tenant,
        plan: &Plan<'_>,
        time: NaiveTime,
        start: DateTime<Utc>,
    ) -> Result<Option<Answer>, BookingError> {
        let step = tenant.rules.slot_step_minutes;
        if !(time.hour() * 60 + time.minute()).is_multiple_of(step) || time.second() != 0 {
            return Ok(Some(Answer::refused("off_grid", speech::off_grid(step))));
        }
        let closed = !plan.staff.iter().any(|s| s.schedule.is_open_on(plan.date));
        let layout = plan.service.busy_layout();
        let within_hours = !closed
            && plan.staff.iter().any(|s| {
                let windows = s.schedule.windows_utc(tenant.tz, plan.date, plan.date);
                fits(&layout, start, &windows)
            });
        // The configured hours name the salon's usual week; Cal.com's bookable time (a date
        // override opening a Sunday, longer hours one day) wins where it says more.
        if !within_hours && self.bookable_in_calcom(tenant, plan, start).await? {
            return Ok(None);
        }
        if closed {
            let alternatives = self.alternatives(tenant, plan, None).await?;
            let mut answer = Answer::refused("closed", speech::closed_on(plan.date, &labels(&alternatives)));
            answer.available = Some(false);
            answer.alternatives = Some(alternatives);
            return Ok(Some(answer));
        }
        if !within_hours {
            let alternatives = self.alternatives(tenant, plan, Some(start)).await?;
            let mut answer = Answer::refused(
                "outside_hours",
                speech::outside_hours(plan.date, time, &opening_hours(plan), &labels(&alternatives)),
            );
            answer.available = Some(false);
            answer.alternatives = Some(alternatives);
            return Ok(Some(answer));
        }
        let notice = self.now() + TimeDelta::minutes(i64::from(tenant.rules.min_notice_minutes));
        if start < notice {
            let alternatives = self.alternatives(tenant, plan, Some(start)).await?;
            let mut answer = Answer::refused("too_soon", speech::too_soon(&labels(&alternatives)));
            answer.available = Some(false);
            answer.alternatives = Some(alternatives);
            return Ok(Some(answer));
        }
        Ok(None)
    }

    async fn hold_for_caller(
        &self,
        call: &CallContext,
        plan: &Plan<'_>,
        start: DateTime<Utc>,
        customer_name: Option<String>,
    ) -> Outcome {
        let tenant = &call.tenant;
        if let Some(answer) = self.existing_hold(call, plan, start).await? {
            return Ok(answer);
        }
        let ttl = self.inner.settings.holds.ttl(plan.service.is_compound());
        let mut taken = false;
        let mut trouble: Option<CalendarError> = None;
        for staff in &plan.staff {
            let request = HoldRequest {
                token: ReservationToken::generate(),
                call_id: call.call_id.to_string(),
                service: plan.service.id.clone(),
                start,
                ttl,
                customer_name: customer_name.clone(),
                customer_phone: call.caller.as_ref().map(ToString::to_string),
            };
            let key = tenant.staff_key(&staff.id);
            match self.inner.calendars.request(&key, "hold", |reply| CalendarMsg::Hold(request.clone(), reply)).await {
                Ok(outcome) => return Ok(self.held_answer(tenant, plan.service, staff, &outcome)),
                Err(CalendarError::SlotTaken) => taken = true,
                Err(CalendarError::OutsideHours | CalendarError::Unknown) => {}
                Err(err @ CalendarError::Unavailable(_)) => trouble = Some(err),
            }
        }
        if let (false, Some(err)) = (taken, trouble) {
            return Err(err.into());
        }
        self.offer_alternatives(tenant, plan, Some(start), Some("taken")).await
    }

    /// The caller already holds this very slot (the agent asked again): the same hold. Also
    /// keeps one call from holding more than `max_active_per_call` slots.
    async fn existing_hold(
        &self,
        call: &CallContext,
        plan: &Plan<'_>,
        start: DateTime<Utc>,
    ) -> Result<Option<Answer>, BookingError> {
        let tenant = &call.tenant;
        let now = self.now();
        let active: Vec<_> = self
            .inner
            .store
            .reservations_of_call(&tenant.id, call.call_id.as_str())
            .await?
            .into_iter()
            .filter(|r| r.kind == ReservationKind::Hold && r.is_live(now))
            .collect();
        if let Some(same) = active
            .iter()
            .find(|r| r.service == plan.service.id && r.start == start && plan.staff.iter().any(|s| s.id == r.staff))
        {
            let staff = tenant.staff(&same.staff).map(|s| s.name.clone()).unwrap_or_default();
            let remaining = (same.expires_at - now).num_seconds().max(0) as u64;
            return Ok(Some(hold_answer(tenant, plan.service, &staff, &same.token, same.start, remaining)));
        }
        let max = self.inner.settings.holds.max_active_per_call;
        // Newest first: release from the end until there is room for one more.
        for oldest in active.iter().skip(max.saturating_sub(1)) {
            let key = oldest.staff_key();
            let token = oldest.token.clone();
            let call_id = call.call_id.to_string();
            let released = self
                .inner
                .calendars
                .request(&key, "release", |reply| CalendarMsg::Release {
                    token: token.clone(),
                    call_id: Some(call_id.clone()),
                    reason: "superseded",
                    reply,
                })
                .await;
            if let Err(err) = released {
                tracing::warn!(call_id = %call.call_id, error = %err, "could not release a superseded hold");
            }
        }
        Ok(None)
    }

    fn held_answer(&self, tenant: &Tenant, service: &Service, staff: &Staff, outcome: &HoldOutcome) -> Answer {
        let grant = outcome.grant();
        metrics::availability_cache(grant.cache_hit);
        let remaining = (grant.expires_at - self.now()).num_seconds().max(0) as u64;
        hold_answer(tenant, service, &staff.name, &grant.token, grant.start, remaining)
    }

    /// Reservations off for this call: say it is free and remember the offer (no hold).
    async fn offer_without_hold(&self, call: &CallContext, plan: &Plan<'_>, start: DateTime<Utc>) -> Outcome {
        let tenant = &call.tenant;
        let range = Interval::starting_at(start, 1).map_err(|e| BookingError::Unavailable(e.to_string()))?;
        for staff in &plan.staff {
            let (free, hit) = self.free_starts(tenant, plan.service, &[*staff], range, 1).await?;
            if free.first().map(|(t, _)| *t) != Some(start) {
                continue;
            }
            metrics::availability_cache(hit);
            let now = self.now();
            let span = plan.service.span(start);
            let offer = NewReservation {
                tenant: tenant.id.clone(),
                staff: staff.id.clone(),
                token: ReservationToken::generate(),
                kind: ReservationKind::Offer,
                call_id: call.call_id.to_string(),
                customer_name: None,
                customer_phone: call.caller.as_ref().map(ToString::to_string),
                service: plan.service.id.clone(),
                start,
                end: span.end(),
                is_compound: plan.service.is_compound(),
                expires_at: now + TimeDelta::seconds(self.inner.settings.holds.offer_ttl_secs as i64),
                phases: crate::calendar::phase_records(plan.service, start),
                created_at: now,
            };
            self.inner.store.insert_hold(crate::store::HoldInsert { reservation: &offer, busy: &[], now }).await?;
            let label = slot_label(tenant.tz, start);
            let mut answer = Answer::ok(speech::available_without_hold(&plan.service.name, &label, &staff.name));
            answer.available = Some(true);
            answer.reservation_token = Some(offer.token.to_string());
            fill_slot(&mut answer, tenant, plan.service, &staff.name, start);
            return Ok(answer);
        }
        self.offer_alternatives(tenant, plan, Some(start), Some("taken")).await
    }

    /// The wanted time is not available (or the caller asked for alternatives): offer others.
    async fn offer_alternatives(
        &self,
        tenant: &Tenant,
        plan: &Plan<'_>,
        requested: Option<DateTime<Utc>>,
        reason: Option<&'static str>,
    ) -> Outcome {
        let alternatives = self.alternatives(tenant, plan, requested).await?;
        let texts = labels(&alternatives);
        let mut answer = match (reason, requested) {
            (Some(reason), Some(start)) => Answer::refused(
                reason,
                speech::taken_with_alternatives(&format!("Am {}", slot_label(tenant.tz, start)), &texts),
            ),
            _ => Answer { success: true, message: speech::alternatives_only(&texts), ..Answer::default() },
        };
        answer.available = Some(false);
        answer.service = Some(plan.service.name.clone());
        answer.alternatives = Some(alternatives);
        Ok(answer)
    }

    /// Up to three free starts: on the same day nearest to `requested` first, then the next days.
    pub(super) async fn alternatives(
        &self,
        tenant: &Tenant,
        plan: &Plan<'_>,
        requested: Option<DateTime<Utc>>,
    ) -> Result<Vec<SlotView>, BookingError> {
        let day_start = local_to_utc(tenant.tz, plan.date.and_hms_opt(0, 0, 0).unwrap_or_default());
        let next_day =
            local_to_utc(tenant.tz, (plan.date + TimeDelta::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default());
        let same_day = Interval::new(day_start, next_day).map_err(|e| BookingError::Unavailable(e.to_string()))?;
        let (mut picks, hit) = self.free_starts(tenant, plan.service, &plan.staff, same_day, 200).await?;
        metrics::availability_cache(hit);
        if let Some(requested) = requested {
            picks.retain(|(t, _)| *t != requested);
            picks.sort_by_key(|(t, _)| ((*t - requested).num_seconds().abs(), *t));
        }
        picks.truncate(MAX_ALTERNATIVES);
        if picks.len() < MAX_ALTERNATIVES {
            let later = Interval::new(next_day, next_day + TimeDelta::days(ALTERNATIVE_DAYS))
                .map_err(|e| BookingError::Unavailable(e.to_string()))?;
            let (more, _) = self.free_starts(tenant, plan.service, &plan.staff, later, MAX_ALTERNATIVES).await?;
            picks.extend(more.into_iter().take(MAX_ALTERNATIVES - picks.len()));
        }
        Ok(picks.into_iter().map(|(start, staff)| slot_view(tenant, plan.service, &staff, start)).collect())
    }

    /// Whether some stylist's calendar (Cal.com's bookable time) has `start` free.
    async fn bookable_in_calcom(
        &self,
        tenant: &Tenant,
        plan: &Plan<'_>,
        start: DateTime<Utc>,
    ) -> Result<bool, BookingError> {
        let Ok(at) = Interval::new(start, start + TimeDelta::minutes(1)) else { return Ok(false) };
        let (free, _) = self.free_starts(tenant, plan.service, &plan.staff, at, 1).await?;
        Ok(free.iter().any(|(t, _)| *t == start))
    }

    async fn free_times_of_day(&self, tenant: &Tenant, plan: &Plan<'_>) -> Outcome {
        let day_start = local_to_utc(tenant.tz, plan.date.and_hms_opt(0, 0, 0).unwrap_or_default());
        let configured_closed = !plan.staff.iter().any(|s| s.schedule.is_open_on(plan.date));
        // Closed in the configured week, but Cal.com may have the day open (a date override).
        let open_in_calcom = configured_closed
            && match Interval::new(day_start, day_start + TimeDelta::hours(24)) {
                Ok(day) => !self.free_starts(tenant, plan.service, &plan.staff, day, 1).await?.0.is_empty(),
                Err(_) => false,
            };
        if configured_closed && !open_in_calcom {
            let alternatives = self.alternatives(tenant, plan, None).await?;
            let mut answer = Answer::refused("closed", speech::closed_on(plan.date, &labels(&alternatives)));
            answer.available = Some(false);
            answer.alternatives = Some(alternatives);
            return Ok(answer);
        }
        let day = Interval::new(day_start, day_start + TimeDelta::hours(24))
            .map_err(|e| BookingError::Unavailable(e.to_string()))?;
        let (free, hit) = self.free_starts(tenant, plan.service, &plan.staff, day, 500).await?;
        metrics::availability_cache(hit);
        let free: Vec<_> =
            free.into_iter().filter(|(t, _)| t.with_timezone(&tenant.tz).date_naive() == plan.date).collect();
        if free.is_empty() {
            let later =
                Plan { service: plan.service, staff: plan.staff.clone(), date: plan.date, time: None, part: None };
            let alternatives = self.alternatives(tenant, &later, None).await?;
            let mut answer = Answer::refused("day_full", speech::day_full(plan.date, &labels(&alternatives)));
            answer.available = Some(false);
            answer.alternatives = Some(alternatives);
            return Ok(answer);
        }
        let spoken = spread(&free, MAX_SPOKEN_TIMES);
        let times: Vec<NaiveTime> = spoken.iter().map(|(t, _)| t.with_timezone(&tenant.tz).time()).collect();
        let mut answer = Answer::ok(speech::free_times(plan.date, &times, free.len().saturating_sub(spoken.len())));
        answer.available = Some(true);
        answer.service = Some(plan.service.name.clone());
        answer.free_times =
            Some(free.iter().map(|(start, staff)| slot_view(tenant, plan.service, staff, *start)).collect());
        Ok(answer)
    }
}

fn hold_answer(
    tenant: &Tenant,
    service: &Service,
    staff: &str,
    token: &ReservationToken,
    start: DateTime<Utc>,
    remaining: u64,
) -> Answer {
    let mut answer =
        Answer::ok(speech::reserved_with_details(remaining, &service.name, &slot_label(tenant.tz, start), staff));
    answer.available = Some(true);
    answer.reservation_token = Some(token.to_string());
    answer.time_remaining = Some(remaining);
    fill_slot(&mut answer, tenant, service, staff, start);
    answer
}

fn fill_slot(answer: &mut Answer, tenant: &Tenant, service: &Service, staff: &str, start: DateTime<Utc>) {
    let view = slot_view(tenant, service, staff, start);
    answer.service = Some(service.name.clone());
    answer.start = Some(view.start);
    answer.end = Some(view.end);
    answer.staff = Some(view.staff);
    answer.label = Some(view.label);
}

pub(super) fn slot_view(tenant: &Tenant, service: &Service, staff: &str, start: DateTime<Utc>) -> SlotView {
    let span = service.span(start);
    SlotView {
        start: span.start().with_timezone(&tenant.tz).to_rfc3339(),
        end: span.end().with_timezone(&tenant.tz).to_rfc3339(),
        staff: staff.to_owned(),
        label: slot_label(tenant.tz, start),
    }
}

pub(super) fn labels(slots: &[SlotView]) -> Vec<String> {
    slots.iter().map(|s| format!("{} bei {}", s.label, s.staff)).collect()
}

/// Up to `n` items spread over the list (first and last included), for reading aloud.
fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n || n < 2 {
        return items.iter().take(n.max(1)).cloned().collect();
    }
    (0..n).map(|i| items[i * (items.len() - 1) / (n - 1)].clone()).collect()
}

/// "9:00 bis 18:00 Uhr" for the stylists who could do it that day.
fn opening_hours(plan: &Plan<'_>) -> String {
    let mut ranges: Vec<(NaiveTime, NaiveTime)> =
        plan.staff.iter().flat_map(|s| s.schedule.ranges_on(plan.date).iter().map(|r| (r.start(), r.end()))).collect();
    ranges.sort();
    ranges.dedup();
    let spoken: Vec<String> = ranges
        .iter()
        .map(|(a, b)| format!("{} bis {}", german::format_time(*a).trim_end_matches(" Uhr"), german::format_time(*b)))
        .collect();
    speech::join_and(&spoken)
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_keeps_first_and_last() {
        let items: Vec<u32> = (0..20).collect();
        assert_eq!(spread(&items, 6), vec![0, 3, 7, 11, 15, 19]);
        assert_eq!(spread(&items[..4], 6), vec![0, 1, 2, 3]);
    }
}
