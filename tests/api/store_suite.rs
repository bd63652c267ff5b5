//! One behavioural suite for the store, run against SQLite and PostgreSQL (quickwit's pattern).
//! Each test names the invariant it attacks.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use slotkeeper::config::Settings;
use slotkeeper::domain::{AppointmentId, Catalogue, Interval, ReservationToken};
use slotkeeper::store::appointments::PhaseUpdate;
use slotkeeper::store::*;

use crate::helpers::{Backend, TestDb, test_now};

macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(crate::helpers::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
                if crate::helpers::skip_pg() { eprintln!("skipped: SLOTKEEPER_TEST_SKIP_PG=1"); return; }
                super::$name(crate::helpers::Backend::Postgres).await
            })*
        }
    };
}

store_suite!(
    overlapping_intervals_are_refused_and_back_to_back_ones_accepted,
    racing_inserts_leave_exactly_one_winner_and_no_overlap,
    an_expired_hold_never_blocks_a_new_one,
    conversion_moves_the_exact_intervals_and_queues_the_outbox,
    only_the_owning_call_can_convert_an_unexpired_hold,
    the_sweeper_expires_due_holds_and_frees_their_intervals,
    cancelling_frees_the_slot_and_queues_the_cancellation,
    rescheduling_swaps_slots_atomically,
    outbox_jobs_of_one_appointment_run_in_order_and_leases_fence_stale_workers,
    stored_answers_survive_and_expire_after_the_replay_window,
    flag_changes_are_audited,
    external_busy_times_are_replaced_per_calendar,
    migrations_have_a_down_path,
);

struct Fixture {
    store: Store,
    catalogue: Arc<Catalogue>,
    _db: TestDb,
}

async fn fixture(backend: Backend) -> Fixture {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&StoreOptions {
        url: db.url.clone(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
        node_id: "suite".into(),
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let catalogue = Arc::new(Settings::embedded_default().validate().unwrap());
    store.sync_catalogue(catalogue.tenants(), test_now()).await.unwrap();
    Fixture { store, catalogue, _db: db }
}

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-26T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

fn iv(a: i64, b: i64) -> Interval {
    Interval::new(at(a), at(b)).unwrap()
}

fn hold(staff: &str, call: &str, start: i64, end: i64, expires_at: DateTime<Utc>) -> NewReservation {
    NewReservation {
        tenant: "salon-beispiel".into(),
        staff: staff.into(),
        token: ReservationToken::generate(),
        kind: ReservationKind::Hold,
        call_id: call.into(),
        customer_name: None,
        customer_phone: Some("+4915100000001".into()),
        service: "herrenhaarschnitt".into(),
        start: at(start),
        end: at(end),
        is_compound: false,
        expires_at,
        phases: vec![PhaseRecord {
            seq: 0,
            name: "Herrenhaarschnitt".into(),
            start: at(start),
            end: at(end),
            staff_busy: true,
        }],
        created_at: test_now(),
    }
}

async fn insert(store: &Store, r: &NewReservation) -> Result<Vec<DueHold>, StoreError> {
    let busy = [Interval::new(r.start, r.end).unwrap()];
    store.insert_hold(HoldInsert { reservation: r, busy: &busy, now: test_now() }).await
}

fn appointment_for(r: &NewReservation) -> NewAppointment {
    NewAppointment {
        id: AppointmentId::generate(),
        tenant: r.tenant.clone(),
        staff: r.staff.clone(),
        service: r.service.clone(),
        reservation_token: Some(r.token.clone()),
        call_id: r.call_id.clone(),
        customer_name: "Erika Mustermann".into(),
        customer_phone: r.customer_phone.clone(),
        customer_email: None,
        notes: None,
        start: r.start,
        end: r.end,
        is_compound: false,
        phases: vec![NewPhase {
            seq: 0,
            name: "Herrenhaarschnitt".into(),
            start: r.start,
            end: r.end,
            staff_busy: true,
            event_type_id: Some(1101),
        }],
        created_at: test_now(),
    }
}

fn later(minutes: i64) -> DateTime<Utc> {
    test_now() + TimeDelta::minutes(minutes)
}

async fn overlapping_intervals_are_refused_and_back_to_back_ones_accepted(backend: Backend) {
    let f = fixture(backend).await;
    insert(&f.store, &hold("anna", "call_aaaaaaaaaa", 0, 30, later(2))).await.unwrap();
    let overlapping = insert(&f.store, &hold("anna", "call_bbbbbbbbbb", 15, 45, later(2))).await;
    assert!(matches!(overlapping, Err(StoreError::SlotTaken)), "{overlapping:?}");
    insert(&f.store, &hold("anna", "call_bbbbbbbbbb", 30, 60, later(2))).await.expect("back-to-back is fine");
    insert(&f.store, &hold("ben", "call_cccccccccc", 0, 30, later(2))).await.expect("another stylist is fine");
    assert_eq!(f.store.overlapping_pairs().await.unwrap(), 0);
}

/// BK-1 under a true race: 16 inserts of the same slot released by a barrier.
async fn racing_inserts_leave_exactly_one_winner_and_no_overlap(backend: Backend) {
    let f = fixture(backend).await;
    let rounds = 20;
    let racers = 16;
    let (mut won, mut taken, mut other) = (0, 0, 0);
    for round in 0..rounds {
        let barrier = Arc::new(tokio::sync::Barrier::new(racers));
        let tasks: Vec<_> = (0..racers)
            .map(|i| {
                let store = f.store.clone();
                let barrier = barrier.clone();
                let start = round * 60 + (i as i64 % 3) * 10;
                tokio::spawn(async move {
                    let r = hold("anna", &format!("call_race{round:04}{i:04}"), start, start + 30, later(10));
                    barrier.wait().await;
                    insert(&store, &r).await
                })
            })
            .collect();
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::SlotTaken) => taken += 1,
                Err(e) => {
                    other += 1;
                    eprintln!("unexpected: {e}");
                }
            }
        }
    }
    let overlaps = f.store.overlapping_pairs().await.unwrap();
    println!(
        "overlap_race backend={backend:?} callers={racers} rounds={rounds} attempts={} booked={won} slot_taken={taken} errors_other={other} overlapping_pairs={overlaps}",
        rounds * racers as i64
    );
    assert_eq!(won, rounds, "exactly one winner per round (all racers overlap each other)");
    assert_eq!(other, 0, "losers hear 'taken', never an error");
    assert_eq!(overlaps, 0);
}

async fn an_expired_hold_never_blocks_a_new_one(backend: Backend) {
    let f = fixture(backend).await;
    let stale = hold("anna", "call_aaaaaaaaaa", 0, 30, test_now() - TimeDelta::seconds(1));
    insert(&f.store, &stale).await.unwrap();
    let fresh = hold("anna", "call_bbbbbbbbbb", 10, 40, later(2));
    let swept = insert(&f.store, &fresh).await.expect("the stale hold is expired on the way");
    assert_eq!(swept.iter().map(|d| d.token.clone()).collect::<Vec<_>>(), vec![stale.token.clone()]);
    assert_eq!(f.store.get_reservation(&stale.token).await.unwrap().unwrap().status, ReservationStatus::Expired);
    assert_eq!(f.store.overlapping_pairs().await.unwrap(), 0);
}

async fn conversion_moves_the_exact_intervals_and_queues_the_outbox(backend: Backend) {
    let f = fixture(backend).await;
    let r = hold("anna", "call_aaaaaaaaaa", 0, 30, later(2));
    insert(&f.store, &r).await.unwrap();
    let apt = appointment_for(&r);
    let result = f
        .store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: &r.call_id,
            appointment: &apt,
            now: test_now(),
            occupy: None,
        })
        .await
        .unwrap();
    let ConvertResult::Converted { job_id } = result else { panic!("{result:?}") };
    let stored = f.store.get_reservation(&r.token).await.unwrap().unwrap();
    assert_eq!(stored.status, ReservationStatus::Converted);
    assert_eq!(stored.converted_appointment_id, Some(apt.id.clone()));
    let key = stored.staff_key();
    let snapshot = f.store.load_calendar(&key, test_now()).await.unwrap();
    assert!(snapshot.holds.is_empty());
    assert_eq!(snapshot.bookings, vec![(apt.id.clone(), vec![iv(0, 30)])]);
    let jobs = f.store.jobs_for_appointment(&apt.id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].id, jobs[0].kind, jobs[0].status), (job_id, OutboxKind::Create, OutboxStatus::Pending));
    let booked = f.store.get_appointment(&apt.id).await.unwrap().unwrap();
    assert_eq!(
        (booked.status, booked.sync_state, booked.phases.len()),
        (AppointmentStatus::Confirmed, SyncState::Pending, 1)
    );
    assert_eq!(booked.phases[0].event_type_id, Some(1101));
    // Converting again is refused: the record is no longer active.
    let again = f
        .store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: &r.call_id,
            appointment: &appointment_for(&r),
            now: test_now(),
            occupy: None,
        })
        .await
        .unwrap();
    assert_eq!(again, ConvertResult::NotActive);
}

async fn only_the_owning_call_can_convert_an_unexpired_hold(backend: Backend) {
    let f = fixture(backend).await;
    let r = hold("anna", "call_aaaaaaaaaa", 0, 30, later(2));
    insert(&f.store, &r).await.unwrap();
    let apt = appointment_for(&r);
    let foreign = f
        .store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: "call_someoneelse",
            appointment: &apt,
            now: test_now(),
            occupy: None,
        })
        .await
        .unwrap();
    assert_eq!(foreign, ConvertResult::NotActive);
    let too_late = f
        .store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: &r.call_id,
            appointment: &apt,
            now: later(2),
            occupy: None,
        })
        .await
        .unwrap();
    assert_eq!(too_late, ConvertResult::NotActive, "at expires_at the hold is over");
    assert!(f.store.get_appointment(&apt.id).await.unwrap().is_none(), "nothing half-written");
}

async fn the_sweeper_expires_due_holds_and_frees_their_intervals(backend: Backend) {
    let f = fixture(backend).await;
    let due = hold("anna", "call_aaaaaaaaaa", 0, 30, later(2));
    let not_due = hold("ben", "call_bbbbbbbbbb", 0, 30, later(5));
    insert(&f.store, &due).await.unwrap();
    insert(&f.store, &not_due).await.unwrap();
    let expired = f.store.expire_due_holds(later(2)).await.unwrap();
    assert_eq!(expired.iter().map(|d| d.token.clone()).collect::<Vec<_>>(), vec![due.token.clone()]);
    assert_eq!(f.store.count_active_holds().await.unwrap(), 1);
    let key = f.store.get_reservation(&due.token).await.unwrap().unwrap().staff_key();
    assert!(f.store.load_calendar(&key, test_now()).await.unwrap().holds.is_empty());
    assert!(f.store.expire_due_holds(later(2)).await.unwrap().is_empty(), "idempotent");
    // Expiring by token after the sweeper did it is a no-op, not a second expiry.
    assert_eq!(f.store.expire_hold(&due.token, later(3)).await.unwrap(), None);
}

async fn cancelling_frees_the_slot_and_queues_the_cancellation(backend: Backend) {
    let f = fixture(backend).await;
    let r = hold("anna", "call_aaaaaaaaaa", 0, 30, later(2));
    insert(&f.store, &r).await.unwrap();
    let apt = appointment_for(&r);
    f.store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: &r.call_id,
            appointment: &apt,
            now: test_now(),
            occupy: None,
        })
        .await
        .unwrap();
    assert!(f.store.cancel_appointment(&apt.tenant, &apt.id, "caller", later(1)).await.unwrap());
    assert!(!f.store.cancel_appointment(&apt.tenant, &apt.id, "caller", later(1)).await.unwrap(), "only once");
    assert!(
        !f.store.cancel_appointment(&"other-tenant".into(), &apt.id, "x", later(1)).await.unwrap(),
        "tenants are walls"
    );
    let kinds: Vec<OutboxKind> = f.store.jobs_for_appointment(&apt.id).await.unwrap().iter().map(|j| j.kind).collect();
    assert_eq!(kinds, vec![OutboxKind::Create, OutboxKind::Cancel]);
    insert(&f.store, &hold("anna", "call_cccccccccc", 0, 30, later(5))).await.expect("the slot is free again");
}

async fn rescheduling_swaps_slots_atomically(backend: Backend) {
    let f = fixture(backend).await;
    let r = hold("anna", "call_aaaaaaaaaa", 0, 30, later(2));
    insert(&f.store, &r).await.unwrap();
    let apt = appointment_for(&r);
    f.store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: &r.call_id,
            appointment: &apt,
            now: test_now(),
            occupy: None,
        })
        .await
        .unwrap();
    insert(&f.store, &hold("anna", "call_bbbbbbbbbb", 60, 90, later(5))).await.unwrap();
    let current = f.store.get_appointment(&apt.id).await.unwrap().unwrap();
    let phase = |a: i64, b: i64| {
        vec![NewPhase {
            seq: 0,
            name: "x".into(),
            start: at(a),
            end: at(b),
            staff_busy: true,
            event_type_id: Some(1101),
        }]
    };
    let taken = f.store.reschedule_appointment(&current, &phase(75, 105), test_now()).await;
    assert!(matches!(taken, Err(StoreError::SlotTaken)), "{taken:?}");
    let unchanged = f.store.get_appointment(&apt.id).await.unwrap().unwrap();
    assert_eq!((unchanged.start, unchanged.reschedule_count), (at(0), 0), "a refused move changes nothing");
    let job = f.store.reschedule_appointment(&unchanged, &phase(15, 45), test_now()).await.unwrap();
    assert!(job.is_some(), "a new time overlapping the old one works");
    let moved = f.store.get_appointment(&apt.id).await.unwrap().unwrap();
    assert_eq!((moved.start, moved.reschedule_count, moved.phases[0].start), (at(15), 1, at(15)));
    let key = moved.staff_key();
    let snapshot = f.store.load_calendar(&key, test_now()).await.unwrap();
    assert_eq!(snapshot.bookings, vec![(apt.id.clone(), vec![iv(15, 45)])]);
    assert_eq!(f.store.overlapping_pairs().await.unwrap(), 0);
}

async fn outbox_jobs_of_one_appointment_run_in_order_and_leases_fence_stale_workers(backend: Backend) {
    let f = fixture(backend).await;
    let r = hold("anna", "call_aaaaaaaaaa", 0, 30, later(2));
    insert(&f.store, &r).await.unwrap();
    let apt = appointment_for(&r);
    f.store
        .convert_hold(Conversion {
            token: &r.token,
            call_id: &r.call_id,
            appointment: &apt,
            now: test_now(),
            occupy: None,
        })
        .await
        .unwrap();
    f.store.cancel_appointment(&apt.tenant, &apt.id, "caller", test_now()).await.unwrap();
    let now = test_now();
    let claimed = f.store.claim_due_jobs("node-a", now, now + TimeDelta::seconds(60), 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.kind).collect::<Vec<_>>(),
        vec![OutboxKind::Create],
        "the cancel waits for its create"
    );
    let create = &claimed[0];
    assert!(
        f.store.claim_due_jobs("node-b", now, now + TimeDelta::seconds(60), 10).await.unwrap().is_empty(),
        "leased"
    );
    // node-a hangs; its lease runs out and node-b takes the job over.
    let after_lease = now + TimeDelta::seconds(61);
    let taken_over =
        f.store.claim_due_jobs("node-b", after_lease, after_lease + TimeDelta::seconds(60), 10).await.unwrap();
    assert_eq!(taken_over.iter().map(|j| j.id).collect::<Vec<_>>(), vec![create.id]);
    assert!(taken_over[0].lease_token > create.lease_token, "every claim gets a higher fencing token");
    assert!(!f.store.finish_job(create.fence(), after_lease).await.unwrap(), "the stale worker is fenced off");
    let update = PhaseUpdate {
        seq: 0,
        status: PhaseSync::Failed,
        booking_uid: None,
        booking_id: None,
        error: Some("late".into()),
        attempted: true,
    };
    assert!(
        matches!(
            f.store.update_phase(create.fence(), &apt.id, &update, after_lease).await,
            Err(StoreError::Fenced(id)) if id == create.id
        ),
        "the stale worker's phase write is refused by the database"
    );
    assert!(matches!(
        f.store.set_sync_state(create.fence(), &apt.id, SyncState::Failed, after_lease).await,
        Err(StoreError::Fenced(_))
    ));
    // node-b stalls too, and node-b itself (same owner name) claims the job again: the token,
    // not the name, tells the two claims apart.
    let later_still = after_lease + TimeDelta::seconds(61);
    let again = f.store.claim_due_jobs("node-b", later_still, later_still + TimeDelta::seconds(60), 10).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), vec![create.id]);
    assert!(!f.store.renew_lease(taken_over[0].fence(), later_still).await.unwrap(), "same name, stale token");
    let mut synced = update.clone();
    synced.status = PhaseSync::Synced;
    f.store.update_phase(again[0].fence(), &apt.id, &synced, later_still).await.unwrap();
    f.store.set_sync_state(again[0].fence(), &apt.id, SyncState::Synced, later_still).await.unwrap();
    let stored = f.store.get_appointment(&apt.id).await.unwrap().unwrap();
    assert_eq!(stored.phases[0].sync_status, PhaseSync::Synced, "only the live claim's write landed");
    assert!(f.store.finish_job(again[0].fence(), later_still).await.unwrap());
    let after_lease = later_still;
    let next = f.store.claim_due_jobs("node-b", after_lease, after_lease + TimeDelta::seconds(60), 10).await.unwrap();
    assert_eq!(next.iter().map(|j| j.kind).collect::<Vec<_>>(), vec![OutboxKind::Cancel]);
    assert!(
        f.store
            .retry_job(next[0].fence(), after_lease + TimeDelta::seconds(5), "503", true, after_lease)
            .await
            .unwrap()
    );
    assert!(f.store.claim_due_jobs("node-b", after_lease, after_lease, 10).await.unwrap().is_empty(), "not due yet");
    let due = after_lease + TimeDelta::seconds(5);
    let retried = f.store.claim_due_jobs("node-b", due, due + TimeDelta::seconds(60), 10).await.unwrap();
    assert_eq!(retried[0].attempts, 1);
    assert!(f.store.dead_letter_job(retried[0].fence(), "gave up", due).await.unwrap());
    assert_eq!(f.store.outbox_summary().await.unwrap(), OutboxSummary { pending: 0, in_flight: 0, dead: 1 });
    assert_eq!(f.store.redrive_jobs(None, None, due, due).await.unwrap(), 1);
    assert_eq!(f.store.outbox_summary().await.unwrap().pending, 1);
}

async fn stored_answers_survive_and_expire_after_the_replay_window(backend: Backend) {
    let f = fixture(backend).await;
    let key = IdempotencyKey {
        tenant: "salon-beispiel".into(),
        call_id: "call_aaaaaaaaaa".into(),
        function: "start_booking",
        args_hash: "h".into(),
    };
    let now = test_now();
    assert_eq!(f.store.stored_answer(&key, now).await.unwrap(), None);
    assert_eq!(f.store.store_answer(&key, 200, "first", now).await.unwrap(), (200, "first".into()));
    assert_eq!(
        f.store.store_answer(&key, 200, "second", now).await.unwrap(),
        (200, "first".into()),
        "the first answer wins"
    );
    assert_eq!(f.store.stored_answer(&key, now + TimeDelta::seconds(5)).await.unwrap(), Some((200, "first".into())));
    let after_window = now + TimeDelta::seconds(REPLAY_WINDOW_SECS + 1);
    assert_eq!(
        f.store.stored_answer(&key, after_window).await.unwrap(),
        None,
        "asked again much later: a new question"
    );
    assert_eq!(f.store.store_answer(&key, 200, "later", after_window).await.unwrap(), (200, "later".into()));
}

async fn flag_changes_are_audited(backend: Backend) {
    let f = fixture(backend).await;
    let tenant = "salon-beispiel".into();
    f.store.seed_flag(&tenant, "reservations_enabled", true, 100, test_now()).await.unwrap();
    f.store.seed_flag(&tenant, "reservations_enabled", false, 0, test_now()).await.unwrap();
    assert!(f.store.flags(Some(&tenant)).await.unwrap()[0].enabled, "seeding never overwrites");
    let change = f.store.set_flag(&tenant, "reservations_enabled", true, 50, "ops@salon", later(1)).await.unwrap();
    assert_eq!((change.old_value.as_deref(), change.new_value.as_str()), (Some("on 100%"), "on 50%"));
    let audit = f.store.flag_audit(Some(&tenant), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].changed_by, "ops@salon");
}

async fn external_busy_times_are_replaced_per_calendar(backend: Backend) {
    let f = fixture(backend).await;
    let key = f.catalogue.tenants()[0].staff_key(&"anna".into());
    let busy = |uid: &str, a, b| ExternalBusy { uid: uid.into(), staff: "anna".into(), interval: iv(a, b) };
    let range = iv(-60, 24 * 60);
    assert_eq!(
        f.store.replace_external(&key, range, &[busy("u1", 0, 30), busy("u2", 60, 90)], test_now()).await.unwrap(),
        (2, 0)
    );
    assert_eq!(
        f.store.replace_external(&key, range, &[busy("u2", 60, 90), busy("u3", 120, 150)], test_now()).await.unwrap(),
        (1, 1)
    );
    let snapshot = f.store.load_calendar(&key, test_now()).await.unwrap();
    let mut uids: Vec<String> = snapshot.external.into_iter().map(|(uid, _)| uid).collect();
    uids.sort();
    assert_eq!(uids, vec!["u2", "u3"]);
}

async fn migrations_have_a_down_path(backend: Backend) {
    let f = fixture(backend).await;
    let applied = f.store.applied_migrations().await.unwrap();
    assert!(!applied.is_empty());
    let reverted = f.store.migrate_down(applied.len()).await.unwrap();
    assert_eq!(reverted.len(), applied.len());
    assert!(f.store.count_active_holds().await.is_err(), "the tables are gone");
    f.store.migrate().await.unwrap();
    assert_eq!(f.store.count_active_holds().await.unwrap(), 0);
}
