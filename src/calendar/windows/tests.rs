use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;

use super::*;

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Berlin.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap().with_timezone(&Utc)
}

fn iv(d: u32, h1: u32, m1: u32, h2: u32, m2: u32) -> Interval {
    Interval::new(at(d, h1, m1), at(d, h2, m2)).unwrap()
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

/// Stands in for the configured working hours: 09–18 every day.
fn configured(first: NaiveDate, last: NaiveDate) -> Vec<Interval> {
    first.iter_days().take_while(|d| *d <= last).map(|d| iv(d.day0() + 1, 9, 0, 18, 0)).collect()
}

use chrono::Datelike;

#[test]
fn answered_dates_use_cal_com_and_the_rest_the_configuration() {
    let mut w = CalcomWindows::default();
    // Cal.com: the 8th open 10–12 only (a date override), the 9th closed (out of office).
    let slots = [iv(8, 10, 0, 10, 30), iv(8, 10, 30, 11, 0), iv(8, 11, 0, 12, 0)];
    w.apply(Berlin, date(8), date(9), &slots, &[], at(8, 7, 0));
    assert_eq!(
        w.windows(date(7), date(10), configured),
        vec![iv(7, 9, 0, 18, 0), iv(8, 10, 0, 12, 0), iv(10, 9, 0, 18, 0)]
    );
    assert_eq!(w.fetched_at(date(9)), Some(at(8, 7, 0)));
    assert_eq!(w.fetched_at(date(10)), None);
}

#[test]
fn busy_time_we_knew_when_cal_com_answered_is_added_back() {
    let mut w = CalcomWindows::default();
    // Our hold 11:00–12:00 was reserved in Cal.com, so its slots left it out.
    let slots = [iv(8, 9, 0, 11, 0), iv(8, 12, 0, 18, 0)];
    w.apply(Berlin, date(8), date(8), &slots, &[iv(8, 11, 0, 12, 0)], at(8, 7, 0));
    assert_eq!(w.windows(date(8), date(8), configured), vec![iv(8, 9, 0, 18, 0)]);
}

#[test]
fn slots_are_cut_at_local_midnight_and_a_new_answer_replaces_the_old() {
    let mut w = CalcomWindows::default();
    let late = Interval::new(at(8, 23, 30), at(9, 0, 30)).unwrap();
    w.apply(Berlin, date(8), date(8), &[late], &[], at(8, 7, 0));
    assert_eq!(
        w.windows(date(8), date(8), |_, _| Vec::new()),
        vec![Interval::new(at(8, 23, 30), at(9, 0, 0)).unwrap()]
    );
    w.apply(Berlin, date(8), date(8), &[], &[], at(8, 8, 0));
    assert!(w.windows(date(8), date(8), configured).is_empty(), "the 8th is now closed in Cal.com");
    w.prune_before(date(9));
    assert!(w.is_empty());
}

#[test]
fn a_day_across_the_clock_change_is_23_or_25_hours() {
    let spring = local_day(Berlin, NaiveDate::from_ymd_opt(2027, 3, 28).unwrap());
    assert_eq!(spring.duration().num_hours(), 23);
    let autumn = local_day(Berlin, NaiveDate::from_ymd_opt(2027, 10, 31).unwrap());
    assert_eq!(autumn.duration().num_hours(), 25);
}
