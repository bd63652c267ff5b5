//! Calendar actors under attack: concurrency, phases with gaps, TTL expiry in paused time, crashes,
//! restarts, and random interleavings checked against the no-overlap invariant (BK-1, BK-4).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use proptest::prelude::*;
use slotkeeper::calendar::*;
use slotkeeper::clock::Clock;
use slotkeeper::config::Settings;
use slotkeeper::domain::{AppointmentId, Catalogue, ReservationToken, StaffKey};
use slotkeeper::store::{ReservationStatus, Store, StoreOptions};

use crate::helpers::{Backend, TestDb, test_now};

/// Store + calendar actors without HTTP (the calendar layer on its own).
struct Harness {
    store: Store,
    calendars: Calendars,
    catalogue: Arc<Catalogue>,
    clock: Clock,
    _db: TestDb,
}

impl Harness {
    async fn new(backend: Backend, clock: Clock) -> Harness {
        let db = TestDb::new(backend).await;
        let store = Store::connect(&StoreOptions {
            url: db.url.clone(),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            node_id: "harness".into(),
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let catalogue = Arc::new(Settings::embedded_default().validate().unwrap());
        store.sync_catalogue(catalogue.tenants(), clock.now()).await.unwrap();
        let calendars = Calendars::start(
            CalendarContext { store: store.clone(), clock: clock.clone(), catalogue: catalogue.clone(), events: None },
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        Harness { store, calendars, catalogue, clock, _db: db }
    }

    fn key(&self, staff: &str) -> StaffKey {
        self.catalogue.tenants()[0].staff_key(&staff.into())
    }

    async fn hold(
        &self,
        staff: &str,
        call: &str,
        service: &str,
        start: DateTime<Utc>,
        ttl_secs: u64,
    ) -> Result<HoldOutcome, CalendarError> {
        let request = HoldRequest {
            token: ReservationToken::generate(),
            call_id: call.into(),
            service: service.into(),
            start,
            ttl: Duration::from_secs(ttl_secs),
            customer_name: None,
            customer_phone: None,
        };
        self.calendars.request(&self.key(staff), "hold", |reply| CalendarMsg::Hold(request.clone(), reply)).await
    }

    async fn validate(&self, staff: &str, token: &ReservationToken, call: &str) -> Validation {
        let (token, call) = (token.clone(), call.to_owned());
        self.calendars
            .request(&self.key(staff), "validate", |reply| CalendarMsg::Validate {
                token: token.clone(),
                call_id: call.clone(),
                reply,
            })
            .await
            .unwrap()
    }

    async fn snapshot(&self, staff: &str) -> Vec<(slotkeeper::domain::Interval, String)> {
        self.calendars.call(&self.key(staff), "snapshot", CalendarMsg::Snapshot).await.unwrap()
    }
}

/// Thursday 26 November 2026, local time `hh:mm` (Berlin is UTC+1 then).
fn thursday(hh: u32, mm: u32) -> DateTime<Utc> {
    "2026-11-26T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        + TimeDelta::hours(i64::from(hh) - 1)
        + TimeDelta::minutes(i64::from(mm))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_holds_on_one_slot_give_exactly_one_token() {
    let h = Arc::new(Harness::new(Backend::Sqlite, Clock::manual(test_now())).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(200));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (h, barrier) = (h.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                h.hold("anna", &format!("call_concurrent_{i:04}"), "herrenhaarschnitt", thursday(10, 0), 120).await
            })
        })
        .collect();
    let mut held = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(HoldOutcome::Held(_)) => held += 1,
            Err(CalendarError::SlotTaken) => taken += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    println!(
        "concurrent_holds callers=200 held={held} taken={taken} overlapping_pairs={}",
        h.store.overlapping_pairs().await.unwrap()
    );
    assert_eq!((held, taken), (1, 199));
    assert_eq!(h.store.count_active_holds().await.unwrap(), 1);
    assert_eq!(h.store.overlapping_pairs().await.unwrap(), 0);
}

#[tokio::test]
async fn a_perm_occupies_only_its_four_phases_and_a_short_job_fits_in_its_gap() {
    let h = Harness::new(Backend::Sqlite, Clock::manual(test_now())).await;
    let perm = h.hold("anna", "call_perm_000001", "dauerwelle", thursday(10, 0), 180).await.unwrap();
    let busy: Vec<String> = h.snapshot("anna").await.iter().map(|(i, _)| format!("{i:?}")).collect();
    assert_eq!(
        busy,
        vec![
            "[2026-11-26 09:00 .. 09:50)",
            "[2026-11-26 10:05 .. 10:10)",
            "[2026-11-26 10:20 .. 10:35)",
            "[2026-11-26 10:35 .. 11:15)"
        ],
        "phases A, B, C, D in UTC; the gaps 09:50–10:05 and 10:10–10:20 stay free"
    );
    assert_eq!(perm.grant().busy.len(), 4);
    // Another client holds a 10-minute fringe trim in the 15-minute gap after phase A.
    let trim = h.hold("anna", "call_trim_000001", "ponyschnitt", thursday(10, 50), 120).await;
    assert!(matches!(trim, Ok(HoldOutcome::Held(_))), "{trim:?}");
    // But not one that would run into phase B.
    assert!(matches!(
        h.hold("anna", "call_trim_000002", "ponyschnitt", thursday(10, 57), 120).await,
        Err(CalendarError::SlotTaken)
    ));
    assert_eq!(h.store.overlapping_pairs().await.unwrap(), 0);
}

/// BK-4 with tokio's paused clock: a hold expires exactly at its TTL, the store says `expired`,
/// the slot is free again, and validating the token afterwards says "expired".
#[tokio::test]
async fn a_hold_expires_exactly_at_its_ttl_in_paused_time() {
    // The clock follows tokio's; store I/O happens before time is paused (SQLite runs on its own
    // thread, which paused time cannot see).
    let h = Harness::new(Backend::Sqlite, Clock::tokio_anchored(test_now())).await;
    let outcome = h.hold("anna", "call_ttl_0000001", "herrenhaarschnitt", thursday(10, 0), 120).await.unwrap();
    let token = outcome.grant().token.clone();
    tokio::time::pause();
    tokio::time::advance(Duration::from_millis(119_900)).await;
    assert!(
        matches!(h.validate("anna", &token, "call_ttl_0000001").await, Validation::Valid { .. }),
        "still held just before the TTL"
    );
    tokio::time::advance(Duration::from_millis(100)).await;
    // The timer has fired; its store write runs on SQLite's thread, which paused time cannot
    // wait for, so time runs normally again from here.
    tokio::time::resume();
    assert_eq!(h.validate("anna", &token, "call_ttl_0000001").await, Validation::Expired, "expired at the TTL");
    let store = h.store.clone();
    let expired = crate::helpers::eventually(Duration::from_secs(30), || {
        let store = store.clone();
        let token = token.clone();
        async move { store.get_reservation(&token).await.unwrap().unwrap().status == ReservationStatus::Expired }
    })
    .await;
    assert!(expired, "the actor's timer marked the hold expired in the store");
    assert!(h.snapshot("anna").await.is_empty(), "the slot is free again");
    assert!(matches!(
        h.hold("anna", "call_ttl_0000002", "herrenhaarschnitt", thursday(10, 0), 120).await,
        Ok(HoldOutcome::Held(_))
    ));
    assert_eq!(h.validate("anna", &token, "call_ttl_0000001").await, Validation::Expired);
}

#[tokio::test]
async fn a_crashed_actor_is_restarted_and_reloads_its_holds_from_the_store() {
    let h = Harness::new(Backend::Sqlite, Clock::manual(test_now())).await;
    let outcome = h.hold("anna", "call_crash_00001", "herrenhaarschnitt", thursday(10, 0), 120).await.unwrap();
    let before = h.calendars.actor(&h.key("anna")).await.unwrap().get_id();
    h.calendars.tell(&h.key("anna"), CalendarMsg::Crash);
    let restarted = crate::helpers::eventually(Duration::from_secs(10), || async {
        h.calendars.actor(&h.key("anna")).await.map(|a| a.get_id() != before).unwrap_or(false)
    })
    .await;
    assert!(restarted, "the supervisor restarted the calendar");
    assert!(matches!(h.validate("anna", &outcome.grant().token, "call_crash_00001").await, Validation::Valid { .. }));
    assert!(
        matches!(
            h.hold("anna", "call_crash_00002", "herrenhaarschnitt", thursday(10, 0), 120).await,
            Err(CalendarError::SlotTaken)
        ),
        "the hold still blocks"
    );
    // Its timer was re-armed: moving the clock past the TTL expires it.
    h.clock.advance(Duration::from_secs(121));
    let store = h.store.clone();
    let token = outcome.grant().token.clone();
    assert!(
        crate::helpers::eventually(Duration::from_secs(10), || {
            let (store, token) = (store.clone(), token.clone());
            async move { store.get_reservation(&token).await.unwrap().unwrap().status == ReservationStatus::Expired }
        })
        .await
    );
}

#[derive(Debug, Clone)]
enum Op {
    Hold { staff: usize, service: usize, slot: u32 },
    Validate(usize),
    Convert(usize),
    Release(usize),
    Cancel(usize),
    Advance(u64),
    Crash(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2, 0usize..3, 0u32..24).prop_map(|(staff, service, slot)| Op::Hold { staff, service, slot }),
        1 => (0usize..16).prop_map(Op::Validate),
        2 => (0usize..16).prop_map(Op::Convert),
        1 => (0usize..16).prop_map(Op::Release),
        1 => (0usize..8).prop_map(Op::Cancel),
        1 => (10u64..200).prop_map(Op::Advance),
        1 => (0usize..2).prop_map(Op::Crash),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24), ..ProptestConfig::default() })]

    /// BK-1 under random interleavings of hold / validate / convert / release / cancel / expiry /
    /// actor crashes: at no point do two live intervals overlap (in memory or in the store), and
    /// every booking keeps exactly the intervals its hold had.
    #[test]
    fn random_interleavings_never_overlap(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run_ops(ops));
    }
}

async fn run_ops(ops: Vec<Op>) {
    let h = Harness::new(Backend::Sqlite, Clock::manual(test_now())).await;
    let staff = ["anna", "clara"];
    let services = ["herrenhaarschnitt", "dauerwelle", "ponyschnitt"];
    let mut holds: Vec<(usize, String, HoldGrant)> = Vec::new();
    let mut bookings: Vec<(usize, AppointmentId, Vec<slotkeeper::domain::Interval>)> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Hold { staff: s, service, slot } => {
                let call = format!("call_prop_{step:06}");
                let start = thursday(9, 0) + TimeDelta::minutes(i64::from(slot) * 15);
                if let Ok(outcome) = h.hold(staff[s], &call, services[service], start, 120).await {
                    holds.push((s, call, outcome.grant().clone()));
                }
            }
            Op::Validate(i) => {
                if let Some((s, call, grant)) = holds.get(i) {
                    h.validate(staff[*s], &grant.token, call).await;
                }
            }
            Op::Convert(i) => {
                if let Some((s, call, grant)) = holds.get(i).cloned() {
                    let request = ConvertRequest {
                        token: grant.token.clone(),
                        call_id: call,
                        appointment_id: AppointmentId::generate(),
                        customer: Customer { name: "Test".into(), ..Default::default() },
                    };
                    let result = h
                        .calendars
                        .request(&h.key(staff[s]), "convert", |reply| CalendarMsg::Convert(request.clone(), reply))
                        .await;
                    if let Ok(ConvertOutcome::Booked(booked)) = result {
                        bookings.push((s, booked.appointment_id, grant.busy.clone()));
                    }
                }
            }
            Op::Release(i) => {
                if let Some((s, call, grant)) = holds.get(i).cloned() {
                    let _ = h
                        .calendars
                        .request(&h.key(staff[s]), "release", |reply| CalendarMsg::Release {
                            token: grant.token.clone(),
                            call_id: Some(call.clone()),
                            reason: "released",
                            reply,
                        })
                        .await;
                }
            }
            Op::Cancel(i) => {
                if let Some((s, id, _)) = bookings.get(i).cloned() {
                    let _ = h
                        .calendars
                        .request(&h.key(staff[s]), "cancel", |reply| CalendarMsg::Cancel {
                            appointment_id: id.clone(),
                            reason: "test".into(),
                            reply,
                        })
                        .await;
                }
            }
            Op::Advance(secs) => h.clock.advance(Duration::from_secs(secs)),
            Op::Crash(s) => {
                let key = h.key(staff[s]);
                let before = h.calendars.actor(&key).await.unwrap().get_id();
                h.calendars.tell(&key, CalendarMsg::Crash);
                let restarted = crate::helpers::eventually(Duration::from_secs(10), || async {
                    h.calendars.actor(&key).await.map(|a| a.get_id() != before).unwrap_or(false)
                })
                .await;
                assert!(restarted, "step {step}: the calendar was restarted");
            }
        }
        for name in staff {
            let live = h.snapshot(name).await;
            for (i, (a, _)) in live.iter().enumerate() {
                for (b, _) in &live[i + 1..] {
                    assert!(!a.overlaps(b), "step {step}: {a:?} overlaps {b:?} on {name}");
                }
            }
        }
        assert_eq!(h.store.overlapping_pairs().await.unwrap(), 0, "step {step}: the store has overlapping rows");
    }
    for (s, id, busy) in bookings {
        let appointment = h.store.get_appointment(&id).await.unwrap().expect("every conversion is stored");
        if appointment.status == slotkeeper::store::AppointmentStatus::Confirmed {
            assert_eq!(appointment.busy_intervals(), busy, "booking {id} on {} keeps its hold's intervals", staff[s]);
        }
    }
}
