//! Wire types of `GET /v2/bookings`: filters, sort orders and `PaginationMetaDto`.
//!
//! Guarantees: [`ListBookingsQuery::to_query_pairs`] refuses what Cal.com would reject
//! (`take` outside 1..=250) and joins list filters with commas; [`Pagination::compute`]
//! follows the definitions of `pagination.output.ts`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Booking, LIST_MAX_TAKE, rfc3339};

/// Filter values of `status` in `GET /v2/bookings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingListStatus {
    Upcoming,
    Recurring,
    Past,
    Cancelled,
    Unconfirmed,
}

impl BookingListStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            BookingListStatus::Upcoming => "upcoming",
            BookingListStatus::Recurring => "recurring",
            BookingListStatus::Past => "past",
            BookingListStatus::Cancelled => "cancelled",
            BookingListStatus::Unconfirmed => "unconfirmed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    pub const fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// Query of `GET /v2/bookings`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListBookingsQuery {
    pub status: Vec<BookingListStatus>,
    pub event_type_ids: Vec<i64>,
    pub after_start: Option<DateTime<Utc>>,
    pub before_end: Option<DateTime<Utc>>,
    pub after_updated_at: Option<DateTime<Utc>>,
    pub sort_start: Option<SortOrder>,
    pub sort_updated_at: Option<SortOrder>,
    /// 1..=250; Cal.com's default is 100.
    pub take: Option<u32>,
    pub skip: Option<u32>,
}

impl ListBookingsQuery {
    /// Query pairs, or why the query would be rejected.
    pub fn to_query_pairs(&self) -> Result<Vec<(&'static str, String)>, String> {
        let mut q = Vec::new();
        if !self.status.is_empty() {
            let s: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            q.push(("status", s.join(",")));
        }
        if !self.event_type_ids.is_empty() {
            let ids: Vec<String> = self.event_type_ids.iter().map(i64::to_string).collect();
            q.push(("eventTypeIds", ids.join(",")));
        }
        if let Some(t) = self.after_start {
            q.push(("afterStart", rfc3339(t)));
        }
        if let Some(t) = self.before_end {
            q.push(("beforeEnd", rfc3339(t)));
        }
        if let Some(t) = self.after_updated_at {
            q.push(("afterUpdatedAt", rfc3339(t)));
        }
        if let Some(o) = self.sort_start {
            q.push(("sortStart", o.as_str().to_owned()));
        }
        if let Some(o) = self.sort_updated_at {
            q.push(("sortUpdatedAt", o.as_str().to_owned()));
        }
        if let Some(take) = self.take {
            if take == 0 || take > LIST_MAX_TAKE {
                return Err(format!("take must be between 1 and {LIST_MAX_TAKE}"));
            }
            q.push(("take", take.to_string()));
        }
        if let Some(skip) = self.skip {
            q.push(("skip", skip.to_string()));
        }
        Ok(q)
    }
}

/// `PaginationMetaDto` of list answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub total_items: u64,
    pub remaining_items: u64,
    pub returned_items: u64,
    pub items_per_page: u64,
    pub current_page: u64,
    pub total_pages: u64,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl Pagination {
    /// Pagination of `returned` items out of `total` for a `skip`/`take` window.
    pub fn compute(total: u64, skip: u64, take: u64, returned: u64) -> Self {
        let take = take.max(1);
        Pagination {
            total_items: total,
            remaining_items: total.saturating_sub(skip + returned),
            returned_items: returned,
            items_per_page: take,
            current_page: skip / take + 1,
            total_pages: total.div_ceil(take),
            has_next_page: skip + returned < total,
            has_previous_page: skip > 0,
        }
    }
}

/// `GET /v2/bookings` answer: `{status, data:[...], pagination}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingPage {
    pub status: String,
    #[serde(rename = "data")]
    pub bookings: Vec<Booking>,
    pub pagination: Pagination,
}
