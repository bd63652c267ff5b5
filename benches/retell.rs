//! Retell benchmarks (issues 4 and 13): the German date/time parser per phrase, and a full signed
//! `check_availability` through the router in-process (signature check, JSON, tenant, idempotency
//! record, calendar actors, SQLite) — both without a hold (a day's free times) and with one —
//! and the same day's free times with the live transcript Retell really sends along (0, 3, 12
//! and 30 minutes of conversation, `retell-fixtures`), next to the floor of any handler of such
//! a body: HMAC-SHA256 over it plus one `serde_json::from_slice::<IgnoredAny>` scan. A counting
//! allocator reports the bytes allocated per request at each size.
//!
//! Run: `cargo bench --bench retell` (release build), `cargo bench --bench retell -- german` for
//! the parser alone. Figures go to BENCHMARKS.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;
use slotkeeper::clock::Clock;
use slotkeeper::config::Settings;
use slotkeeper::domain::german::parse_when;
use slotkeeper::http::signature::sign;
use slotkeeper::startup::{Application, BuildOptions};
use tower::ServiceExt;

/// Counts the bytes every allocation asks for (all threads: the router's, the actors').
struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size.saturating_sub(layout.size()) as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Minutes of transcript the size benches run at.
const TRANSCRIPT_MINUTES: [f64; 4] = [0.0, 3.0, 12.0, 30.0];

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
    transcripts(c, &runtime, &router, &clock, &key);
    runtime.block_on(app.shutdown_gracefully());
    let _ = std::fs::remove_dir_all(dir);
}

/// A day's free times with 0–30 minutes of transcript, and the floor over the same bodies.
fn transcripts(c: &mut Criterion, runtime: &tokio::runtime::Runtime, router: &axum::Router, clock: &Clock, key: &str) {
    let mut group = c.benchmark_group("transcript");
    for minutes in TRANSCRIPT_MINUTES {
        let conversation = retell_fixtures::Conversation::new(minutes);
        let caller = |n: u64| retell_fixtures::Caller {
            call_id: format!("call_bench_tr_{n:020}"),
            agent_id: "agent_demo".into(),
            from_number: "+4915112345678".into(),
            to_number: "+4930123456789".into(),
        };
        let args = r#"{"service":"Dauerwelle","date":"morgen"}"#;
        let body_of = |n: u64| {
            let mut body = Vec::new();
            retell_fixtures::write_function_call(&mut body, "check_availability", args, &caller(n), &conversation, 0);
            body
        };
        let sample = body_of(0);
        let kib = sample.len() / 1024;
        let request = |body: Vec<u8>| {
            let signature = sign(&body, key.as_bytes(), clock.now().timestamp_millis());
            Request::post("/retell/functions")
                .header("content-type", "application/json")
                .header("x-retell-signature", signature)
                .body(Body::from(body))
                .unwrap()
        };
        // Bytes allocated per request, over 200 requests (bodies built before counting).
        let bodies: Vec<Vec<u8>> = (1..=200).map(body_of).collect();
        let requests: Vec<_> = bodies.into_iter().map(request).collect();
        let before = ALLOCATED.load(Ordering::Relaxed);
        for req in requests {
            let response = runtime.block_on(router.clone().oneshot(req)).unwrap();
            assert!(response.status().is_success());
        }
        let per_request = (ALLOCATED.load(Ordering::Relaxed) - before) / 200;
        println!("alloc_per_request transcript_minutes={minutes} body_kib={kib} allocated_bytes={per_request}");

        let mut n = 1_000u64;
        group.bench_with_input(
            BenchmarkId::new("check_availability_free_times", format!("{minutes}min_{kib}KiB")),
            &minutes,
            |b, _| {
                b.iter_batched(
                    || {
                        n += 1;
                        request(body_of(n))
                    },
                    |req| {
                        let response = runtime.block_on(router.clone().oneshot(req)).unwrap();
                        assert!(response.status().is_success());
                    },
                    criterion::BatchSize::SmallInput,
                )
            },
        );
        let signature = sign(&sample, key.as_bytes(), clock.now().timestamp_millis());
        let now_ms = clock.now().timestamp_millis();
        group.bench_with_input(
            BenchmarkId::new("floor_hmac_plus_ignored_any", format!("{minutes}min_{kib}KiB")),
            &minutes,
            |b, _| {
                b.iter(|| {
                    slotkeeper::http::signature::verify(&sample, Some(&signature), key.as_bytes(), now_ms, 300_000)
                        .unwrap();
                    std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(&sample).unwrap());
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = parser, check_availability
}
criterion_main!(benches);
