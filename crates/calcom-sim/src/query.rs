//! Read queries over the simulated calendar: `GET /v2/bookings` filtering, sorting and paging,
//! and the free slots of `GET /v2/slots`.
//!
//! Guarantees: filters follow Cal.com's meanings (`upcoming` = not ended and active, `past` =
//! ended and active, `cancelled` = cancelled or rejected, `unconfirmed` = pending and not
//! ended); sorting is stable (ties by id); free slots exclude the past, bookings and unexpired
//! reservations, and the range is bounded by `SLOTS_MAX_RANGE_DAYS`.

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};

use super::state::{CalError, Calendar, MAX_BOOKING_MINUTES, SLOTS_MAX_RANGE_DAYS, minutes};
use calcom_api::types::{Booking, BookingListStatus, BookingStatus, Pagination, SortOrder};

/// A free slot as `(start, end)`.
pub(crate) type FreeSlot = (DateTime<Utc>, DateTime<Utc>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKey {
    Start,
    End,
    Created,
    Updated,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ListFilter {
    pub statuses: Vec<BookingListStatus>,
    pub event_type_ids: Vec<i64>,
    pub after_start: Option<DateTime<Utc>>,
    pub before_end: Option<DateTime<Utc>>,
    pub after_created_at: Option<DateTime<Utc>>,
    pub before_created_at: Option<DateTime<Utc>>,
    pub after_updated_at: Option<DateTime<Utc>>,
    pub before_updated_at: Option<DateTime<Utc>>,
    pub booking_uid: Option<String>,
    pub attendee_email: Option<String>,
    pub attendee_name: Option<String>,
    pub sort: Option<(SortKey, SortOrder)>,
    pub take: u32,
    pub skip: u32,
}

impl Calendar {
    pub fn list(&self, f: &ListFilter, now: DateTime<Utc>) -> (Vec<Booking>, Pagination) {
        let mut hits: Vec<&Booking> = self.bookings().iter().filter(|b| matches_filter(b, f, now)).collect();
        let (key, order) = f.sort.unwrap_or((SortKey::Start, SortOrder::Asc));
        hits.sort_by(|a, b| {
            let ord = match key {
                SortKey::Start => a.start.cmp(&b.start),
                SortKey::End => a.end.cmp(&b.end),
                SortKey::Created => a.created_at.cmp(&b.created_at),
                SortKey::Updated => a.updated_at.cmp(&b.updated_at),
            }
            .then(a.id.cmp(&b.id));
            if order == SortOrder::Desc { ord.reverse() } else { ord }
        });
        let total = hits.len() as u64;
        let page: Vec<Booking> = hits.into_iter().skip(f.skip as usize).take(f.take as usize).cloned().collect();
        let p = Pagination::compute(total, u64::from(f.skip), u64::from(f.take), page.len() as u64);
        (page, p)
    }

    /// Free slots `(start, end)` of an event type between `from` and `to` (starts inclusive).
    pub fn free_slots(
        &self,
        event_type_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        duration: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Vec<FreeSlot>, CalError> {
        let et = self.event_type_or_404(event_type_id)?;
        if to < from || to - from > ChronoDuration::days(SLOTS_MAX_RANGE_DAYS) {
            return Err(CalError::BadRequest(format!(
                "Invalid time range given - check the \"start\" and \"end\" query parameters (at most {SLOTS_MAX_RANGE_DAYS} days)."
            )));
        }
        let len = duration.unwrap_or(et.length_minutes);
        if len == 0 || len > MAX_BOOKING_MINUTES {
            return Err(CalError::BadRequest(format!("duration must be between 1 and {MAX_BOOKING_MINUTES}")));
        }
        let tz = self.schedule.tz;
        let first = from.with_timezone(&tz).date_naive().pred_opt().unwrap_or(NaiveDate::MIN);
        let last = to.with_timezone(&tz).date_naive();
        let mut out = Vec::new();
        for date in first.iter_days().take_while(|d| *d <= last) {
            for s in self.schedule.slot_starts(date, len, len) {
                let e = s + minutes(len);
                if s >= from && s <= to && s >= now && self.conflict(et.host_user_id, s, e, now, None, None).is_none() {
                    out.push((s, e));
                }
            }
        }
        Ok(out)
    }
}

fn matches_status(b: &Booking, s: BookingListStatus, now: DateTime<Utc>) -> bool {
    match s {
        BookingListStatus::Upcoming => b.end >= now && b.status.is_active(),
        BookingListStatus::Unconfirmed => b.end >= now && b.status == BookingStatus::Pending,
        BookingListStatus::Past => b.end <= now && b.status.is_active(),
        BookingListStatus::Cancelled => {
            matches!(b.status, BookingStatus::Cancelled | BookingStatus::Rejected)
        }
        BookingListStatus::Recurring => false,
    }
}

fn matches_filter(b: &Booking, f: &ListFilter, now: DateTime<Utc>) -> bool {
    let at_least =
        |v: Option<DateTime<Utc>>, bound: Option<DateTime<Utc>>| bound.is_none_or(|x| v.is_some_and(|v| v >= x));
    let at_most =
        |v: Option<DateTime<Utc>>, bound: Option<DateTime<Utc>>| bound.is_none_or(|x| v.is_some_and(|v| v <= x));
    (f.statuses.is_empty() || f.statuses.iter().any(|s| matches_status(b, *s, now)))
        && (f.event_type_ids.is_empty() || f.event_type_ids.contains(&b.event_type_id))
        && at_least(Some(b.start), f.after_start)
        && at_most(Some(b.end), f.before_end)
        && at_least(Some(b.created_at), f.after_created_at)
        && at_most(Some(b.created_at), f.before_created_at)
        && at_least(b.updated_at, f.after_updated_at)
        && at_most(b.updated_at, f.before_updated_at)
        && f.booking_uid.as_ref().is_none_or(|u| &b.uid == u)
        && f.attendee_email.as_ref().is_none_or(|e| b.attendees.iter().any(|a| a.email.eq_ignore_ascii_case(e)))
        && f.attendee_name.as_ref().is_none_or(|n| {
            let n = n.to_lowercase();
            b.attendees.iter().any(|a| a.name.to_lowercase().contains(&n))
        })
}
