//! Crashes and several nodes: nothing acknowledged is lost (BK-2), expired holds end and live ones
//! keep their remaining time (BK-4), retries after a crash replay the stored answer (BK-3), and two
//! processes on one PostgreSQL never hold the same slot twice (BK-1 across nodes).

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as TimeDelta;
use serde_json::json;
use slotkeeper::domain::ReservationToken;
use slotkeeper::store::ReservationStatus;

use crate::helpers::{Backend, CallFixture, Spawn, TestApp, TestDb, eventually, skip_pg, test_now};
use crate::retell::{book, check};

/// Build an app, make holds and a booking, drop everything without shutdown, build a new app on the
/// same database later: the booking and the unexpired hold are there, the expired one is marked
/// expired, and the surviving hold's timer fires at its original expiry.
#[tokio::test]
async fn a_restart_after_a_crash_restores_bookings_and_holds_and_rearms_timers() {
    let first = TestApp::spawn().await;
    let single =
        check(&first, &CallFixture::new(), json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "09:00"}))
            .await;
    first.clock.advance(Duration::from_secs(100));
    let perm =
        check(&first, &CallFixture::new(), json!({"service": "Dauerwelle", "date": "morgen", "time": "13:00"})).await;
    let caller = CallFixture::new();
    let held = check(&first, &caller, json!({"service": "Damenhaarschnitt", "date": "morgen", "time": "16:00"})).await;
    let booked = book(&first, &caller, held["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_eq!(booked["success"], true);
    let db = first.crash().await;

    // 50 s later the process is back: the single hold (120 s) has expired meanwhile, the perm (180 s) has not.
    let second =
        TestApp::spawn_with(Spawn { db: Some(db), now: test_now() + TimeDelta::seconds(150), ..Default::default() })
            .await;
    let store = &second.parts.store;
    let status = |token: &serde_json::Value| {
        let token = ReservationToken::new(token.as_str().unwrap());
        async move { store.get_reservation(&token).await.unwrap().unwrap().status }
    };
    assert_eq!(status(&single["reservation_token"]).await, ReservationStatus::Expired, "expired while down");
    assert_eq!(status(&perm["reservation_token"]).await, ReservationStatus::Active, "still held after the restart");
    assert!(
        store.get_appointment(&booked["booking_id"].as_str().unwrap().into()).await.unwrap().is_some(),
        "the booking survived"
    );
    let taken = check(
        &second,
        &CallFixture::new(),
        json!({"service": "Dauerwelle", "date": "morgen", "time": "13:00", "staff": perm["staff"]}),
    )
    .await;
    assert_eq!(taken["reason"], "taken", "the surviving hold still blocks: {taken}");
    // Its timer was re-armed for the original expiry (t0 + 100 s + 180 s).
    second.clock.advance(Duration::from_secs(129));
    assert_eq!(status(&perm["reservation_token"]).await, ReservationStatus::Active);
    second.clock.advance(Duration::from_secs(2));
    let token = perm["reservation_token"].clone();
    assert!(
        eventually(Duration::from_secs(10), || {
            let token = token.clone();
            async move { status(&token).await == ReservationStatus::Expired }
        })
        .await
    );
}

/// BK-3 across a crash: Retell's retry of a booking that was answered just before the crash gets
/// the stored answer byte for byte, and no second booking.
#[tokio::test]
async fn a_retry_after_a_crash_gets_the_stored_answer() {
    let first = TestApp::spawn().await;
    let call = CallFixture::new();
    let held = check(&first, &call, json!({"service": "Färben", "date": "morgen", "time": "10:00"})).await;
    let body = json!({"name": "start_booking", "args": {"reservation_token": held["reservation_token"], "customer_name": "Erika"}, "call": call.json()}).to_string();
    let original = first.post_signed("/retell/functions", body.clone().into_bytes()).await.text().await.unwrap();
    let db = first.crash().await;
    let second = TestApp::spawn_with(Spawn { db: Some(db), ..Default::default() }).await;
    let retried = second.post_signed("/retell/functions", body.into_bytes()).await;
    assert_eq!(retried.headers().get("x-idempotent-replay").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(retried.text().await.unwrap(), original);
    let converted = second.parts.store.reservations_of_call(&"salon-beispiel".into(), &call.call_id).await.unwrap();
    assert_eq!(converted.len(), 1);
}

/// BK-1 across nodes: two processes (own actors, own caches) on one PostgreSQL race for the same
/// slot 100 times; the exclusion constraint lets exactly one win each time, the loser hears "taken"
/// with alternatives (never an error), and no two live rows ever overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_never_hold_the_same_slot_twice() {
    if skip_pg() {
        eprintln!("skipped: SLOTKEEPER_TEST_SKIP_PG=1");
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let shared = db.share();
    let node_a =
        Arc::new(TestApp::spawn_with(Spawn { backend: Backend::Postgres, db: Some(db), ..Default::default() }).await);
    let node_b = Arc::new(
        TestApp::spawn_with(Spawn { backend: Backend::Postgres, db: Some(shared), ..Default::default() }).await,
    );
    let mut wins = 0;
    let mut taken = 0;
    let weekdays = ["30.11.2026", "01.12.2026", "02.12.2026", "03.12.2026", "04.12.2026", "07.12.2026"];
    for round in 0..100 {
        let date = weekdays[round / 17];
        let minute = 9 * 60 + (round % 17) * 30;
        let args = json!({"service": "Herrenhaarschnitt", "date": date, "time": format!("{}:{:02}", minute / 60, minute % 60), "staff": "Anna"});
        let (a, b) = (node_a.clone(), node_b.clone());
        let (args_a, args_b) = (args.clone(), args);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let (ba, bb) = (barrier.clone(), barrier);
        let ta = tokio::spawn(async move {
            ba.wait().await;
            check(&a, &CallFixture::new(), args_a).await
        });
        let tb = tokio::spawn(async move {
            bb.wait().await;
            check(&b, &CallFixture::new(), args_b).await
        });
        for answer in [ta.await.unwrap(), tb.await.unwrap()] {
            if answer["reservation_token"].is_string() {
                wins += 1;
            } else {
                assert_eq!(
                    answer["reason"], "taken",
                    "round {round}: the loser hears 'taken', never an error: {answer}"
                );
                assert!(!answer["alternatives"].as_array().unwrap().is_empty());
                taken += 1;
            }
        }
    }
    let overlaps = node_a.parts.store.overlapping_pairs().await.unwrap();
    println!("two_nodes rounds=100 holds={wins} taken={taken} overlapping_pairs={overlaps}");
    assert_eq!((wins, taken, overlaps), (100, 100, 0));
}
