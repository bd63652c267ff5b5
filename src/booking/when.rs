//! What `check_availability` makes of the German parser's results (issue 15, "never a wrong
//! day"):
//! - A weekday that does not match the date is asked back (`weekday_mismatch`, naming both
//!   days); no hold is made. If neither of the two days can be booked (both past, or both
//!   beyond the horizon), the past-date or horizon answer is given instead.
//! - A time said relative to now ("jetzt", "in 20 Minuten") is rounded *up* here (the booking side), to the
//!   salon's slot grid (`slot_step_minutes`, counted from local midnight), and never earlier
//!   than the minimum notice allows: "jetzt" is the earliest start the salon accepts. The
//!   parser only knows the clock, the grid is the salon's; the rounded time is then treated
//!   exactly as if the caller had said it.
//! - A day part without a clock time ("heute Abend", "morgen früh", "am Wochenende") is the
//!   earliest free start inside that part's window (`DayPart::window`: morning 06–12, noon
//!   12–14, afternoon 13–18, evening 17–22, night 22–24, weekend Saturday and Sunday), and the
//!   check then proceeds as if that time had been said: it is held (or offered), and the
//!   answer reads the time back. A caller who says "heute Abend" wants a time, not a list; if
//!   nothing is free in the window, the answer says so and offers the nearest other times.

use chrono::{Duration as TimeDelta, NaiveTime, Timelike};

use super::answer::Answer;
use super::check::{Plan, labels};
use super::speech;
use super::{BookingError, BookingService};
use crate::domain::german::{DayPart, ParseError, When};
use crate::domain::hours::local_to_utc;
use crate::domain::{Interval, Tenant};
use crate::metrics;

impl BookingService {
    /// A time said relative to now, rounded up to the salon's slot grid and not earlier than
    /// the minimum notice ("jetzt" is the earliest start the salon takes); other times as said.
    pub(super) fn on_the_grid(&self, tenant: &Tenant, when: When) -> When {
        let (true, Some(time)) = (when.from_now, when.time) else {
            return when;
        };
        let notice = self.now() + TimeDelta::minutes(i64::from(tenant.rules.min_notice_minutes));
        let earliest = when.date.and_time(time).max(notice.with_timezone(&tenant.tz).naive_local());
        let step = i64::from(tenant.rules.slot_step_minutes.max(1));
        let t = earliest.time();
        let late = t.second() > 0 || t.nanosecond() > 0;
        let minute = i64::from(t.hour() * 60 + t.minute()) + i64::from(late);
        let on_grid = minute + (step - minute % step) % step;
        let start = earliest.date().and_time(NaiveTime::MIN) + TimeDelta::minutes(on_grid);
        When { date: start.date(), time: Some(start.time()), part: None, from_now: true }
    }

    /// For a day part without a clock time ("heute Abend"): the earliest free start in its
    /// window becomes the plan's date and time, exactly as if the caller had said it. `Err` is
    /// the answer instead: closed that day, or nothing free in the window (with the nearest
    /// other times). Without a day part, or with a time, nothing happens.
    pub(super) async fn earliest_in_part(
        &self,
        tenant: &Tenant,
        plan: &mut Plan<'_>,
    ) -> Result<Result<(), Answer>, BookingError> {
        let (None, Some(part)) = (plan.time, plan.part) else {
            return Ok(Ok(()));
        };
        let days = if part == DayPart::Weekend { 2 } else { 1 };
        let open = (0..days).any(|k| {
            let day = plan.date + TimeDelta::days(k);
            plan.staff.iter().any(|s| s.schedule.is_open_on(day))
        });
        if !open {
            let alternatives = self.alternatives(tenant, plan, None).await?;
            let mut answer = Answer::refused("closed", speech::closed_on(plan.date, &labels(&alternatives)));
            answer.available = Some(false);
            answer.alternatives = Some(alternatives);
            return Ok(Err(answer));
        }
        let window = part
            .window(plan.date)
            .map(|(a, b)| (local_to_utc(tenant.tz, a), local_to_utc(tenant.tz, b)))
            .and_then(|(a, b)| Interval::new(a, b).ok());
        let Some(window) = window else {
            return Ok(Err(Answer::refused(
                "unparsable_date",
                ParseError::Unrecognized(String::new()).german_message(),
            )));
        };
        let (free, hit) = self.free_starts(tenant, plan.service, &plan.staff, window, 1).await?;
        metrics::availability_cache(hit);
        if let Some((start, _)) = free.first() {
            let local = start.with_timezone(&tenant.tz).naive_local();
            plan.date = local.date();
            plan.time = Some(local.time());
            return Ok(Ok(()));
        }
        let alternatives = self.alternatives(tenant, plan, Some(window.start())).await?;
        let mut answer =
            Answer::refused("day_part_full", speech::day_part_full(plan.date, part, &labels(&alternatives)));
        answer.available = Some(false);
        answer.service = Some(plan.service.name.clone());
        answer.alternatives = Some(alternatives);
        Ok(Err(answer))
    }
}
