//! Tests for `german`: table tests for every supported form (dates, times, combined
//! phrases), formatting, error messages, DST, and property tests (no panics, round trips).
//!
//! Anchors: Wednesday 2026-11-25 (main), Friday 2026-11-27, Sunday 2026-11-29 and
//! Wednesday 2026-12-30 (year end); Tuesday 2027-02-02 for the forms of issue 15 ("never a
//! wrong day"), whose examples assume a Tuesday.

mod clock;
mod dates;
mod format;
mod forms;
mod holidays;
mod props;
mod rule;
mod times;
mod when;

use chrono::{NaiveDate, NaiveTime};

/// Wednesday, main anchor.
pub(super) const WED: (i32, u32, u32) = (2026, 11, 25);
/// Friday anchor.
pub(super) const FRI: (i32, u32, u32) = (2026, 11, 27);
/// Sunday anchor.
pub(super) const SUN: (i32, u32, u32) = (2026, 11, 29);
/// Tuesday anchor of issue 15.
pub(super) const TUE: (i32, u32, u32) = (2027, 2, 2);
/// Year-end anchor (a Wednesday).
pub(super) const YEAR_END: (i32, u32, u32) = (2026, 12, 30);

pub(super) fn day(ymd: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2).expect("test date is valid")
}

pub(super) fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("test time is valid")
}
