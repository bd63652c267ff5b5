//! Exactly once across nodes (issue 18, BK-3): the same request arriving at two nodes at once
//! acts once, and both nodes answer with the same bytes. Two stores with their own pools and node
//! ids on one PostgreSQL database stand for two nodes; the request's work counts its effects and
//! takes a database round trip, so the two attempts overlap.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use slotkeeper::booking::Function;
use slotkeeper::booking::idempotency::{AnswerKey, Fresh, Idempotency};
use slotkeeper::clock::Clock;
use slotkeeper::store::{Store, StoreOptions};

use crate::helpers::{Backend, TestDb, skip_pg, test_now};

async fn node(db: &TestDb, name: &str) -> Store {
    let store = Store::connect(&StoreOptions {
        url: db.url.clone(),
        max_connections: 4,
        acquire_timeout: Duration::from_secs(10),
        node_id: name.into(),
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store.listen_signals().await.unwrap();
    store
}

fn key(round: usize, function: Function) -> AnswerKey {
    AnswerKey {
        tenant: "salon-beispiel".into(),
        call_id: format!("call_exactly_once_{round:04}"),
        function,
        args_hash: format!("args-{round}"),
    }
}

/// 200 rounds of one `start_booking` (kept) and one `check_availability` that held (kept) sent
/// to two nodes at once: one effect each, identical answers; a duplicate arriving later replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_on_two_nodes_acts_once_and_answers_identically() {
    if skip_pg() {
        eprintln!("skipped: SLOTKEEPER_TEST_SKIP_PG=1");
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let clock = Clock::manual(test_now());
    let (a, b) = (node(&db, "node-a").await, node(&db, "node-b").await);
    let nodes = [Idempotency::new(a.clone(), clock.clone()), Idempotency::new(b.clone(), clock.clone())];
    let effects = Arc::new(AtomicUsize::new(0));
    let mut replays = 0;
    for round in 0..200 {
        let function = if round % 2 == 0 { Function::StartBooking } else { Function::CheckAvailability };
        let k = key(round, function);
        let attempt = |idempotency: &Idempotency, store: &Store, node: &'static str| {
            let (idempotency, store, effects, k) = (idempotency.clone(), store.clone(), effects.clone(), k.clone());
            tokio::spawn(async move {
                idempotency
                    .run(k, || async move {
                        effects.fetch_add(1, Ordering::SeqCst);
                        // A database round trip inside the effect, as a real booking has.
                        store.count_active_holds().await.unwrap();
                        let body = format!(r#"{{"success":true,"booking_id":"apt_{round}_{node}"}}"#);
                        Ok(Fresh { status: 200, body, keep: true })
                    })
                    .await
            })
        };
        let first = attempt(&nodes[0], &a, "a");
        let second = attempt(&nodes[1], &b, "b");
        let (first, second) = (first.await.unwrap().unwrap(), second.await.unwrap().unwrap());
        assert_eq!(first.body, second.body, "round {round}: both nodes answer with the same bytes");
        assert!(first.replayed != second.replayed, "round {round}: exactly one of them acted");
        replays += usize::from(first.replayed) + usize::from(second.replayed);
        assert_eq!(effects.load(Ordering::SeqCst), round + 1, "round {round}: one effect");
        // A retry later, on either node, is the stored answer.
        let late = nodes[round % 2].run(k, || async { unreachable!("a stored answer is replayed") }).await.unwrap();
        assert!(late.replayed);
        assert_eq!(late.body, first.body);
    }
    println!("exactly_once rounds=200 effects={} replays={replays}", effects.load(Ordering::SeqCst));
}

/// A node that crashed while holding a claim does not block the key for ever: after the claim's
/// lease another node acts. An answer that is not kept ("try again") gives the claim back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_claim_runs_out_and_an_unkept_answer_frees_the_key() {
    if skip_pg() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let clock = Clock::manual(test_now());
    let (a, b) = (node(&db, "node-a").await, node(&db, "node-b").await);
    let k = key(7, Function::StartBooking);
    let record = slotkeeper::store::IdempotencyKey {
        tenant: k.tenant.clone(),
        call_id: k.call_id.clone(),
        function: k.function.name(),
        args_hash: k.args_hash.clone(),
    };
    // node-a claims and dies (its claim is never finished).
    let claim = a.claim_answer(&record, "node-a:dead", clock.now(), chrono::TimeDelta::seconds(30)).await.unwrap();
    assert_eq!(claim, slotkeeper::store::Claim::Ours);
    let on_b = Idempotency::new(b.clone(), clock.clone()).with_wait_for_other(Duration::from_millis(300));
    let blocked = on_b.run(k.clone(), || async { Ok(Fresh { status: 200, body: "{}".into(), keep: true }) }).await;
    assert!(blocked.is_err(), "a live claim of another node is waited for, then 'try again'");
    clock.advance(Duration::from_secs(31));
    let taken_over = on_b
        .run(k.clone(), || async { Ok(Fresh { status: 200, body: r#"{"success":true}"#.into(), keep: true }) })
        .await
        .unwrap();
    assert!(!taken_over.replayed, "after the lease node-b acts");
    // Not kept: the next request runs again.
    let k2 = key(8, Function::StartBooking);
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let runs = runs.clone();
        let answer = on_b
            .run(k2.clone(), || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(Fresh {
                    status: 200,
                    body: r#"{"success":false,"reason":"calendar_unavailable"}"#.into(),
                    keep: false,
                })
            })
            .await
            .unwrap();
        assert!(!answer.replayed);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
