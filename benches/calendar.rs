//! Calendar benchmarks (issue 3): free-slot search over 7 days for one stylist, in memory and
//! through the actor, and a hold round trip through the actor with the SQLite write-through.
//!
//! Run: `cargo bench --bench calendar` (release build). Figures go to BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use slotkeeper::calendar::state::{CalendarState, HoldEntry};
use slotkeeper::calendar::{CalendarContext, CalendarMsg, Calendars, FreeQuery, HoldRequest};
use slotkeeper::clock::Clock;
use slotkeeper::config::Settings;
use slotkeeper::domain::availability::{SlotQuery, free_starts};
use slotkeeper::domain::{Catalogue, Interval, ReservationToken};
use slotkeeper::store::{Store, StoreOptions};

fn now() -> DateTime<Utc> {
    "2026-11-23T06:00:00Z".parse().unwrap()
}

fn catalogue() -> Arc<Catalogue> {
    Arc::new(Settings::embedded_default().validate().unwrap())
}

/// A realistic week: about half of every working day booked in 30–45 minute blocks.
fn busy_week(state: &mut CalendarState) {
    let monday_9 = now() + TimeDelta::hours(2);
    for day in 0..7 {
        for block in 0..9 {
            let start = monday_9 + TimeDelta::days(day) + TimeDelta::minutes(block * 60);
            let interval = Interval::new(start, start + TimeDelta::minutes(30 + (block % 2) * 15)).unwrap();
            let hold = HoldEntry {
                token: ReservationToken::generate(),
                call_id: "call_bench".into(),
                service: "herrenhaarschnitt".into(),
                start,
                is_compound: false,
                expires_at: now() + TimeDelta::days(30),
                created_at: now(),
                version: 0,
            };
            state.add_hold(hold, vec![interval]);
        }
    }
}

fn free_slot_search(c: &mut Criterion) {
    let catalogue = catalogue();
    let tenant = &catalogue.tenants()[0];
    let staff = &tenant.staff[0];
    let perm = tenant.service(&"dauerwelle".into()).unwrap();
    let layout = perm.busy_layout();
    let mut state = CalendarState::default();
    busy_week(&mut state);
    let range = Interval::new(now(), now() + TimeDelta::days(7)).unwrap();
    c.bench_function("free_slots_7_days_in_memory", |b| {
        b.iter(|| {
            let from = range.start().with_timezone(&tenant.tz).date_naive();
            let to = range.end().with_timezone(&tenant.tz).date_naive();
            let windows = staff.schedule.windows_utc(tenant.tz, from, to);
            let free = state.free_time(&windows, now());
            let starts = free_starts(&SlotQuery {
                layout: &layout,
                windows: &windows,
                free: &free,
                step_minutes: 15,
                tz: tenant.tz,
                not_before: now(),
                range,
                limit: 1000,
            });
            std::hint::black_box(starts.len())
        })
    });
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    calendars: Calendars,
    catalogue: Arc<Catalogue>,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("slotkeeper-bench-{}", uuid::Uuid::new_v4().simple()));
    let catalogue = catalogue();
    let calendars = runtime.block_on(async {
        let store = Store::connect(&StoreOptions {
            url: format!("sqlite://{}", dir.join("bench.db").display()),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            node_id: "bench".into(),
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        store.sync_catalogue(catalogue.tenants(), now()).await.unwrap();
        let ctx = CalendarContext { store, clock: Clock::manual(now()), catalogue: catalogue.clone(), events: None };
        Calendars::start(ctx, Duration::from_secs(10)).await.unwrap()
    });
    Fixture { runtime, calendars, catalogue, _dir: tempdir::Dir(dir) }
}

fn actor_round_trips(c: &mut Criterion) {
    let f = fixture();
    let key = f.catalogue.tenants()[0].staff_key(&"anna".into());
    let range = Interval::new(now(), now() + TimeDelta::days(7)).unwrap();
    c.bench_function("free_slots_7_days_via_actor", |b| {
        b.iter(|| {
            f.runtime.block_on(async {
                let query = FreeQuery { service: "dauerwelle".into(), range, not_before: now(), limit: 1000 };
                f.calendars
                    .call(&key, "find_free", |reply| CalendarMsg::FindFree(query.clone(), reply))
                    .await
                    .unwrap()
                    .starts
                    .len()
            })
        })
    });
    // Distinct 30-minute slots over 60 days for three stylists; released in bulk (untimed) when used up.
    let starts: Vec<(usize, DateTime<Utc>)> = (0..60)
        .flat_map(|day| {
            (0..16).map(move |slot| now() + TimeDelta::days(day) + TimeDelta::hours(3) + TimeDelta::minutes(slot * 30))
        })
        .flat_map(|t| (0..3).map(move |s| (s, t)))
        .collect();
    let staff = ["anna", "ben", "clara"];
    let mut next = 0usize;
    let mut taken: Vec<(usize, ReservationToken)> = Vec::new();
    c.bench_function("hold_round_trip_sqlite_write_through", |b| {
        b.iter_custom(|iters| {
            f.runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if next == starts.len() {
                        for (s, token) in taken.drain(..) {
                            let key = f.catalogue.tenants()[0].staff_key(&staff[s].into());
                            let _ = f
                                .calendars
                                .request(&key, "release", |reply| CalendarMsg::Release {
                                    token: token.clone(),
                                    call_id: None,
                                    reason: "released",
                                    reply,
                                })
                                .await;
                        }
                        next = 0;
                    }
                    let (s, start) = starts[next];
                    next += 1;
                    let key = f.catalogue.tenants()[0].staff_key(&staff[s].into());
                    let request = HoldRequest {
                        token: ReservationToken::generate(),
                        call_id: "call_bench_000001".into(),
                        service: "herrenhaarschnitt".into(),
                        start,
                        ttl: Duration::from_secs(3600),
                        customer_name: None,
                        customer_phone: None,
                    };
                    let began = Instant::now();
                    let outcome =
                        f.calendars.request(&key, "hold", |reply| CalendarMsg::Hold(request.clone(), reply)).await;
                    total += began.elapsed();
                    if let Ok(outcome) = outcome {
                        taken.push((s, outcome.grant().token.clone()));
                    }
                }
                total
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = free_slot_search, actor_round_trips
}
criterion_main!(benches);
