//! German dates through `check_availability` (issue 15, "never a wrong day"): the issue's
//! examples land on the right day, or the caller is asked back (past dates, a weekday that
//! does not match the date) — and a question never holds anything. Also clock-relative times
//! ("in 20 Minuten", rounded up to the 15-minute grid) and day parts ("heute Abend": the
//! earliest free time then, held).
//!
//! "Today" is Tuesday 2 February 2027, as the issue's examples assume a Tuesday.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{CallFixture, Spawn, TestApp};
use crate::retell::check;

/// Tuesday 2 February 2027, 08:00 in Berlin (before opening).
fn tuesday_morning() -> DateTime<Utc> {
    "2027-02-02T07:00:00Z".parse().unwrap()
}

/// Tuesday 2 February 2027, 10:07:30 in Berlin (open, mid-slot).
fn tuesday_ten_past_ten() -> DateTime<Utc> {
    "2027-02-02T09:07:30Z".parse().unwrap()
}

async fn spawn(now: DateTime<Utc>, horizon_days: u32) -> TestApp {
    TestApp::spawn_with(Spawn {
        now,
        tweak: Box::new(move |s| s.tenants[0].booking.horizon_days = horizon_days),
        ..Spawn::default()
    })
    .await
}

fn ask(date: &str, time: Option<&str>) -> Value {
    let mut args = json!({"service": "Herrenhaarschnitt", "date": date});
    if let Some(time) = time {
        args["time"] = json!(time);
    }
    args
}

async fn holds(app: &TestApp) -> u64 {
    app.parts.store.count_active_holds().await.unwrap()
}

fn first_free_day(answer: &Value) -> String {
    answer["free_times"][0]["start"].as_str().unwrap_or_default()[..10].to_string()
}

#[tokio::test]
async fn the_issues_examples_land_on_the_right_day_or_are_asked_back() {
    // A horizon of a year, so the July example is a question rather than "too far ahead".
    let app = spawn(tuesday_morning(), 365).await;

    let march = check(&app, &CallFixture::new(), ask("erster Samstag im März", None)).await;
    assert_eq!(march["available"], true, "{march}");
    assert_eq!(first_free_day(&march), "2027-03-06", "{march}");
    assert!(march["message"].as_str().unwrap().starts_with("Am Samstag, 6. März sind"), "{march}");

    let february = check(&app, &CallFixture::new(), ask("am letzten Freitag im Februar", None)).await;
    assert_eq!(first_free_day(&february), "2027-02-26", "{february}");

    let held = check(&app, &CallFixture::new(), ask("Freitag nach dem nächsten um 10", None)).await;
    assert_eq!(held["success"], true, "{held}");
    assert_eq!(held["start"], "2027-02-12T10:00:00+01:00", "{held}");
    assert!(held["reservation_token"].is_string());
    assert_eq!(holds(&app).await, 1);

    let past = check(&app, &CallFixture::new(), ask("Dienstag letzte Woche", Some("10:00"))).await;
    assert_eq!(past["reason"], "past_date", "{past}");
    assert_eq!(
        past["message"],
        "Der Dienstag, 26. Januar liegt in der Vergangenheit. Für welchen Tag möchten Sie einen Termin?"
    );

    // The disagreeing weekdays: a question naming both days, with and without a time, and
    // never a hold.
    for time in [None, Some("10:00")] {
        let sunday = check(&app, &CallFixture::new(), ask("Sonntag, Feb 24", time)).await;
        assert_eq!((sunday["success"].as_bool(), sunday["reason"].as_str()), (Some(false), Some("weekday_mismatch")));
        assert_eq!(
            sunday["message"],
            "Der 24. Februar ist ein Mittwoch — meinen Sie Mittwoch, den 24., oder Sonntag, den 21. Februar?"
        );
        assert!(sunday.get("reservation_token").is_none(), "{sunday}");

        let july = check(&app, &CallFixture::new(), ask("Freitag, der 18. Juli 27", time)).await;
        assert_eq!(july["reason"], "weekday_mismatch", "{july}");
        assert_eq!(
            july["message"],
            "Der 18. Juli ist ein Sonntag — meinen Sie Sonntag, den 18., oder Freitag, den 16. Juli?"
        );
        assert!(july.get("reservation_token").is_none(), "{july}");
    }
    assert_eq!(holds(&app).await, 1, "the questions held nothing");

    // The answer the caller gives next lands on the day they chose.
    let chosen = check(&app, &CallFixture::new(), ask("Mittwoch, den 24. Februar", Some("11:00"))).await;
    assert_eq!(chosen["start"], "2027-02-24T11:00:00+01:00", "{chosen}");
}

#[tokio::test]
async fn a_disagreeing_weekday_beyond_the_horizon_gets_the_horizon_answer() {
    let app = spawn(tuesday_morning(), 60).await;
    let july = check(&app, &CallFixture::new(), ask("Freitag, der 18. Juli 27", Some("10:00"))).await;
    assert_eq!(july["reason"], "too_far_ahead", "{july}");
    let last_year = check(&app, &CallFixture::new(), ask("Freitag, 1. März 25", None)).await;
    assert_eq!(last_year["reason"], "past_date", "{last_year}");
    assert!(last_year["message"].as_str().unwrap().starts_with("Der Samstag, 1. März 2025 liegt"), "{last_year}");
    let not_understood = check(&app, &CallFixture::new(), ask("Freitag nach Ostern", Some("10:00"))).await;
    assert_eq!(not_understood["reason"], "unparsable_date", "{not_understood}");
    assert_eq!(holds(&app).await, 0);
}

#[tokio::test]
async fn clock_relative_times_are_rounded_up_to_the_grid_and_held() {
    let app = spawn(tuesday_ten_past_ten(), 60).await;
    // 10:07:30 + 20 min = 10:27:30 → 10:30
    let soon = check(&app, &CallFixture::new(), ask("heute", Some("in 20 Minuten"))).await;
    assert_eq!(soon["start"], "2027-02-02T10:30:00+01:00", "{soon}");
    // "jetzt": not before the 15 minutes' notice (10:22:30) → 10:30, with another stylist
    let now = check(&app, &CallFixture::new(), ask("jetzt", None)).await;
    assert_eq!(now["start"], "2027-02-02T10:30:00+01:00", "{now}");
    assert_ne!(now["staff"], soon["staff"]);
    // 12:07:30 → 12:15
    let later = check(&app, &CallFixture::new(), ask("in zwei Stunden", None)).await;
    assert_eq!(later["start"], "2027-02-02T12:15:00+01:00", "{later}");
    assert_eq!(holds(&app).await, 3);
    // tomorrow and "in 20 minutes" cannot both be true
    let both = check(&app, &CallFixture::new(), ask("morgen", Some("in 20 Minuten"))).await;
    assert_eq!(both["reason"], "unparsable_date", "{both}");
}

#[tokio::test]
async fn day_parts_hold_the_earliest_free_time_in_them() {
    let app = spawn(tuesday_ten_past_ten(), 60).await;
    let evening = check(&app, &CallFixture::new(), ask("heute Abend", None)).await;
    assert_eq!(evening["start"], "2027-02-02T17:00:00+01:00", "{evening}");
    assert!(evening["reservation_token"].is_string(), "held as if 17:00 had been said: {evening}");
    let morning = check(&app, &CallFixture::new(), ask("morgen früh", None)).await;
    assert_eq!(morning["start"], "2027-02-03T09:00:00+01:00", "{morning}");
    let noon = check(&app, &CallFixture::new(), ask("morgen Mittag", None)).await;
    assert_eq!(noon["start"], "2027-02-03T12:00:00+01:00", "{noon}");
    let weekend = check(&app, &CallFixture::new(), ask("am Wochenende", None)).await;
    assert_eq!(weekend["start"], "2027-02-06T09:00:00+01:00", "{weekend}");
    assert_eq!(holds(&app).await, 4);
    // nothing is open at night: said so, with the nearest other times, and nothing held
    let night = check(&app, &CallFixture::new(), ask("heute Nacht", None)).await;
    assert_eq!(night["reason"], "day_part_full", "{night}");
    assert!(
        night["message"]
            .as_str()
            .unwrap()
            .starts_with("Am Dienstag, 2. Februar ist nachts leider kein Termin mehr frei."),
        "{night}"
    );
    assert!(!night["alternatives"].as_array().unwrap().is_empty(), "{night}");
    assert_eq!(holds(&app).await, 4);
}

#[tokio::test]
async fn a_holiday_by_name_gets_the_salons_holiday_hours() {
    // Wednesday 25 November 2026; the demo salon is open until 12:00 on Heiligabend.
    let app = TestApp::spawn().await;
    let eve = check(&app, &CallFixture::new(), ask("an Heiligabend", None)).await;
    assert_eq!(eve["available"], true, "{eve}");
    let free = eve["free_times"].as_array().unwrap();
    assert!(free.iter().all(|s| s["start"].as_str().unwrap().starts_with("2026-12-24T")), "{eve}");
    assert_eq!(free.last().unwrap()["start"], "2026-12-24T11:30:00+01:00", "{eve}");
    let christmas = check(&app, &CallFixture::new(), ask("1. Weihnachtstag", Some("10:00"))).await;
    assert_eq!(christmas["reason"], "closed", "{christmas}");
}
