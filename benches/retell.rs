//! Retell benchmarks (issue 4): the German date/time parser per phrase, and a full signed
//! `check_availability` through the router in-process (signature check, JSON, tenant, idempotency
//! record, calendar actors, SQLite) — both without a hold (a day's free times) and with one.
//!
//! Run: `cargo bench --bench retell` (release build), `cargo bench --bench retell -- german` for
//! the parser alone. Figures go to BENCHMARKS.md.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use slotkeeper::clock::Clock;
use slotkeeper::config::Settings;
use slotkeeper::domain::german::parse_when;
use slotkeeper::http::signature::sign;
use slotkeeper::startup::{Application, BuildOptions};
use tower::ServiceExt;

const PHRASES: &[(&str, Option<&str>)] = &[
    ("morgen", Some("10 Uhr")),
    ("nächsten Freitag", Some("halb elf")),
    ("26.11.", Some("14:30")),
    ("übermorgen um drei nachmittags", None),
    ("Dienstag nächste Woche", Some("viertel vor elf")),
    ("in zwei Wochen", Some("dreiviertel elf")),
    ("26. November", Some("10.30 Uhr")),
    ("2026-11-26T09:15", None),
];

/// The longest forms of issue 15: ordinal weekdays of a month with a year, "nach dem
/// nächsten", offsets from a day with a spoken quarter time and a day part, holidays, a
/// weekday that does not match its date (answered with the question), clock-relative times.
const LONGEST: &[(&str, Option<&str>)] = &[
    ("am zweiten Mittwoch im Oktober 2027 um halb elf", None),
    ("Freitag nach dem nächsten um 10", None),
    ("morgen in acht Tagen gegen viertel nach drei nachmittags", None),
    ("am Tag der Deutschen Einheit 2027", Some("viertel vor elf")),
    ("Christi Himmelfahrt um 11 Uhr", None),
    ("an Heiligabend", Some("halb zehn")),
    ("Freitag, der 18. Juli 27 um fünf nach halb drei", None),
    ("am letzten Freitag im Februar", Some("dreiviertel elf")),
    ("Dauerwelle für 2 Personen übernächste Woche Dienstag früh", None),
    ("heute", Some("in einer halben Stunde")),
];

fn parser(c: &mut Criterion) {
    let now = chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    c.bench_function("german_parse_when_per_phrase", |b| {
        let mut i = 0;
        b.iter(|| {
            let (date, time) = PHRASES[i % PHRASES.len()];
            i += 1;
            std::hint::black_box(parse_when(date, time, now).ok())
        })
    });
    c.bench_function("german_parse_when_longest_forms", |b| {
        let mut i = 0;
        b.iter(|| {
            let (date, time) = LONGEST[i % LONGEST.len()];
            i += 1;
            // `.is_ok()`: the weekday question is an answer too, and must cost as little
            std::hint::black_box(parse_when(date, time, now).is_ok())
        })
    });
}

fn now() -> DateTime<Utc> {
    "2026-11-25T07:00:00Z".parse().unwrap()
}

fn check_availability(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("slotkeeper-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut settings = Settings::embedded_default();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.database.url = format!("sqlite://{}", dir.join("bench.db").display());
    settings.log.filter = "warn".into();
    settings.calcom.mirror_holds = false;
    settings.holds.max_active_per_call = 1000;
    settings.tenants[0].booking.horizon_days = 365;
    let key = settings.retell.api_key.expose().to_owned();
    let clock = Clock::manual(now());
    let app = runtime.block_on(Application::build(settings, BuildOptions { clock: clock.clone() })).unwrap();
    let router = app.router();
    let request = |args: serde_json::Value, call_id: &str| {
        let body = json!({"name": "check_availability", "args": args, "call": {"call_id": call_id, "agent_id": "agent_demo", "from_number": "+4915112345678", "to_number": "+4930123456789"}}).to_string();
        let signature = sign(body.as_bytes(), key.as_bytes(), clock.now().timestamp_millis());
        Request::post("/retell/functions")
            .header("content-type", "application/json")
            .header("x-retell-signature", signature)
            .body(Body::from(body))
            .unwrap()
    };
    let mut n = 0u64;
    c.bench_function("check_availability_free_times_in_process", |b| {
        b.iter(|| {
            n += 1;
            // A new call id each time: every request does the full work (no stored answer).
            let req = request(json!({"service": "Dauerwelle", "date": "morgen"}), &format!("call_bench_free_{n:020}"));
            let response = runtime.block_on(router.clone().oneshot(req)).unwrap();
            assert!(response.status().is_success());
        })
    });
    let mut slot = 0u64;
    c.bench_function("check_availability_with_hold_in_process", |b| {
        b.iter(|| {
            slot += 1;
            // Walk through distinct free slots: 36 a day over 240 weekdays, three stylists each.
            let day = (slot / 108) % 240;
            let minute = 9 * 60 + ((slot / 3) % 36) * 15;
            let date = (chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() + chrono::Days::new(day + day / 5 * 2))
                .format("%d.%m.%Y")
                .to_string();
            let time = format!("{}:{:02}", minute / 60, minute % 60);
            let req = request(
                json!({"service": "Herrenhaarschnitt", "date": date, "time": time}),
                &format!("call_bench_hold_{slot:020}"),
            );
            let response = runtime.block_on(router.clone().oneshot(req)).unwrap();
            assert!(response.status().is_success());
        })
    });
    runtime.block_on(app.shutdown_gracefully());
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = parser, check_availability
}
criterion_main!(benches);
