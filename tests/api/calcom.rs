//! Bookings reach Cal.com (the simulator, over HTTP): in parallel, all or nothing, exactly once,
//! through rate limits, open circuits, lost answers and crashes; holds are mirrored; web bookers'
//! bookings become busy time (issue 5; invariants 2, 5, BK-5).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use calcom_sim::{CalcomSim, FaultSpec, Faults, Latency, ScriptedOutcome, ScriptedStep, SimHandle};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;
use slotkeeper::calcom::types::BookingStatus;
use slotkeeper::config::Settings;
use slotkeeper::flags::{FlagValue, PARALLEL_BOOKING};
use slotkeeper::store::{AppointmentStatus, SyncState};

use crate::helpers::{CallFixture, Spawn, TestApp, eventually};
use crate::retell::{book, check, wait_for_mirrors};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn slow_creates(ms: u64) -> Faults {
    let mut faults = Faults::default();
    faults.endpoints.insert(
        "bookings.create".into(),
        FaultSpec { latency: Latency { fixed_ms: ms, ..Latency::default() }, ..FaultSpec::default() },
    );
    faults
}

fn scripted(endpoint: &str, steps: Vec<ScriptedStep>) -> Faults {
    Faults { scripted: BTreeMap::from([(endpoint.to_owned(), steps)]), ..Faults::default() }
}

/// Bookings of ours at the simulator that are not cancelled.
fn live_bookings(sim: &SimHandle) -> usize {
    sim.bookings()
        .iter()
        .filter(|b| b.status != BookingStatus::Cancelled && b.metadata.contains_key("slotkeeper_booking_id"))
        .count()
}

#[tokio::test]
async fn a_perm_books_its_four_phases_in_parallel() {
    let app = TestApp::spawn().await;
    app.sim().set_faults(slow_creates(200));
    let call = CallFixture::new();
    let held = check(&app, &call, json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00"})).await;
    wait_for_mirrors(&app, 4).await;
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_eq!(booked["booking_status"], "confirmed", "{booked}");
    let creates = app.sim().stats().endpoints["bookings.create"].clone();
    assert_eq!(creates.requests, 4);
    assert!(creates.max_in_flight >= 4, "the four phases were in flight at once: {creates:?}");
    assert_eq!(app.sim().stats().reservations_created, 4, "each phase of the hold was mirrored");
}

#[tokio::test]
async fn with_parallel_booking_off_the_phases_go_one_at_a_time() {
    let app = TestApp::spawn().await;
    app.parts
        .flags
        .set(
            &"salon-beispiel".into(),
            PARALLEL_BOOKING,
            FlagValue { enabled: false, rollout_percent: 100 },
            "test",
            app.clock.now(),
        )
        .await
        .unwrap();
    app.sim().set_faults(slow_creates(50));
    let call = CallFixture::new();
    let held = check(&app, &call, json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00"})).await;
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_eq!(booked["booking_status"], "confirmed", "{booked}");
    let creates = app.sim().stats().endpoints["bookings.create"].clone();
    assert_eq!((creates.requests, creates.max_in_flight), (4, 1), "{creates:?}");
}

/// All or nothing: Cal.com refuses phase C (booked there by someone else meanwhile), so phases A,
/// B and D are cancelled, the booking fails, the caller hears it, and our calendar is free again.
#[tokio::test]
async fn a_refused_phase_cancels_the_booked_ones_and_fails_the_booking() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| {
            s.calcom.mirror_holds = false;
            s.simulator.send_webhooks = false;
        }),
        ..Default::default()
    })
    .await;
    let call = CallFixture::new();
    let held =
        check(&app, &call, json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00", "staff": "Anna"})).await;
    // Phase C (10:20–10:35 local, 09:20 UTC) is taken at Cal.com by a web booker, whose webhook got lost.
    app.sim().book_external(1113, utc("2026-11-26T09:20:00Z")).unwrap();
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_eq!(booked["success"], false, "{booked}");
    assert_eq!(booked["reason"], "calendar_refused");
    assert!(booked["message"].as_str().unwrap().contains("nicht vollständig eingetragen"), "{booked}");
    assert_eq!(live_bookings(app.sim()), 0, "phases A, B and D were cancelled again");
    assert_eq!(app.sim().stats().bookings_cancelled, 3);
    let appointment =
        app.parts.store.get_appointment(&booked["booking_id"].as_str().unwrap().into()).await.unwrap().unwrap();
    assert_eq!((appointment.status, appointment.sync_state), (AppointmentStatus::Failed, SyncState::Compensated));
    let again = check(
        &app,
        &CallFixture::new(),
        json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00", "staff": "Anna"}),
    )
    .await;
    assert!(again["reservation_token"].is_string(), "Anna is free at 10:00 again: {again}");
}

/// BK-5 with a lost answer: Cal.com created the booking but our request timed out; the retry
/// finds it by its metadata instead of booking twice.
#[tokio::test]
async fn a_timeout_after_calcom_booked_adopts_the_booking_instead_of_booking_twice() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| s.calcom.request_timeout_ms = 300),
        ..Default::default()
    })
    .await;
    app.sim().set_faults(scripted(
        "bookings.create",
        vec![ScriptedStep::once(ScriptedOutcome::AcceptThenTimeout { ms: Some(1_000) })],
    ));
    let call = CallFixture::new();
    let held = check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "12:00"})).await;
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Max").await;
    assert_eq!(booked["booking_status"], "confirmed", "{booked}");
    assert_eq!(app.sim().stats().bookings_created, 1);
    assert_eq!(live_bookings(app.sim()), 1, "exactly one booking at Cal.com");
}

/// Rate limits slow bookings down; nothing is lost, nothing is dead-lettered.
#[tokio::test]
async fn a_429_storm_slows_bookings_down_and_loses_none() {
    let app = TestApp::spawn().await;
    let storm = ScriptedOutcome::Status { status: 429, message: None, retry_after_secs: Some(1) };
    app.sim().set_faults(scripted("bookings.create", vec![ScriptedStep::times(storm, 3)]));
    let mut answers = Vec::new();
    for time in ["09:00", "09:30", "10:00"] {
        let call = CallFixture::new();
        let held =
            check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": time, "staff": "Ben"}))
                .await;
        answers.push(book(&app, &call, held["reservation_token"].as_str().unwrap(), "Max").await);
    }
    assert!(answers.iter().all(|a| a["success"] == true), "callers are confirmed; Cal.com follows: {answers:#?}");
    let sim = app.sim();
    let all_there = eventually(Duration::from_secs(20), || async {
        app.clock.advance(Duration::from_secs(2));
        live_bookings(sim) == 3
    })
    .await;
    assert!(all_there, "every booking reached Cal.com after the storm");
    assert!(sim.stats().rate_limited >= 3);
    assert_eq!(app.parts.store.outbox_summary().await.unwrap().dead, 0);
    assert!(app.parts.metrics.render().contains("calcom_rate_limited_total"));
}

/// The circuit opens after five failures in a minute: callers hear "try again" at once instead of
/// waiting; after the cool-down two successful probes close it; the queued work completes.
#[tokio::test]
async fn the_circuit_opens_on_an_outage_and_closes_after_recovery() {
    // Without hold mirrors, each booking is exactly one Cal.com request (mirror failures count too).
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| s.calcom.mirror_holds = false),
        ..Default::default()
    })
    .await;
    let sim = app.sim();
    // The start-up pre-warm reads Cal.com once; let it finish before the outage begins.
    assert!(
        eventually(Duration::from_secs(5), || async {
            sim.stats().endpoints.get("bookings.list").is_some_and(|e| e.requests > 0 && e.in_flight == 0)
        })
        .await
    );
    sim.set_faults(Faults { down: true, ..Faults::default() });
    for hour in 9..14 {
        let call = CallFixture::new();
        let held = check(
            &app,
            &call,
            json!({"service": "Herrenhaarschnitt", "date": "Freitag", "time": format!("{hour}:00"), "staff": "Clara"}),
        )
        .await;
        let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Max").await;
        assert_eq!(booked["booking_status"], "confirmed_pending_calendar", "{booked}");
    }
    assert!(app.parts.sync.circuit_open(&"salon-beispiel".into()), "five failures opened the circuit");
    let call = CallFixture::new();
    let held = check(
        &app,
        &call,
        json!({"service": "Herrenhaarschnitt", "date": "Freitag", "time": "15:00", "staff": "Clara"}),
    )
    .await;
    let refused = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Max").await;
    assert_eq!(refused["reason"], "calendar_unavailable", "{refused}");
    let ready: serde_json::Value = app.http.get(app.url("/health/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["calcom_circuits"]["salon-beispiel"], "open");
    // Cal.com recovers; after the cool-down the circuit half-opens, probes succeed, it closes.
    sim.set_faults(Faults::default());
    let recovered = eventually(Duration::from_secs(20), || async {
        app.clock.advance(Duration::from_secs(5));
        live_bookings(sim) == 5
    })
    .await;
    assert!(recovered, "the five queued bookings reached Cal.com");
    assert!(!app.parts.sync.circuit_open(&"salon-beispiel".into()));
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Max").await;
    assert_eq!(booked["success"], true, "the hold survived the outage: {booked}");
}

/// Invariant 2: while we hold a slot, a web booker cannot take it at Cal.com.
#[tokio::test]
async fn a_web_booker_cannot_take_a_held_slot() {
    let app = TestApp::spawn().await;
    let call = CallFixture::new();
    let held =
        check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "11:00", "staff": "Anna"}))
            .await;
    assert!(held["reservation_token"].is_string());
    wait_for_mirrors(&app, 1).await;
    assert!(
        app.sim().book_external(1101, utc("2026-11-26T10:00:00Z")).is_err(),
        "the mirrored reservation blocks web bookers"
    );
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Max").await;
    assert_eq!(booked["booking_status"], "confirmed", "our booking consumes our own reservation: {booked}");
}

async fn signed_calcom_webhook(app: &TestApp, body: &str, secret: &[u8]) -> (StatusCode, serde_json::Value) {
    let signature = slotkeeper::calcom::webhook::sign(secret, body.as_bytes());
    let response = app
        .http
        .post(app.url("/calcom/webhook"))
        .header("content-type", "application/json")
        .header("x-cal-signature-256", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_webhook_for_an_external_booking_makes_the_slot_busy_at_once() {
    // The test delivers the webhooks itself, in order.
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| s.simulator.send_webhooks = false),
        ..Default::default()
    })
    .await;
    let sim = app.sim();
    assert!(
        eventually(Duration::from_secs(5), || async {
            sim.stats().endpoints.get("bookings.list").is_some_and(|e| e.requests > 0 && e.in_flight == 0)
        })
        .await,
        "start-up pre-warm done"
    );
    // The front desk books Clara at Cal.com for 14:00–14:45 local (13:00 UTC).
    let booking = sim.book_external(1302, utc("2026-11-26T13:00:00Z")).unwrap();
    let body = json!({
        "triggerEvent": "BOOKING_CREATED", "createdAt": "2026-11-25T07:00:00Z",
        "payload": {"uid": booking.uid, "eventTypeId": 1302, "startTime": booking.start, "endTime": booking.end,
                    "title": "Damenhaarschnitt", "status": "ACCEPTED", "attendees": [], "metadata": {}}
    })
    .to_string();
    let (status, _) = signed_calcom_webhook(&app, &body, b"wrong-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, applied) = signed_calcom_webhook(&app, &body, b"whsec_demo_salon_beispiel").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(applied["effect"], "busy_added");
    let answer = check(
        &app,
        &CallFixture::new(),
        json!({"service": "Damenhaarschnitt", "date": "morgen", "time": "14:00", "staff": "Clara"}),
    )
    .await;
    assert_eq!(answer["reason"], "taken", "busy for our callers right after the webhook: {answer}");
    let (_, duplicate) = signed_calcom_webhook(&app, &body, b"whsec_demo_salon_beispiel").await;
    assert_eq!(duplicate["status"], "duplicate");
    let cancelled = body.replace("BOOKING_CREATED", "BOOKING_CANCELLED");
    let (_, applied) = signed_calcom_webhook(&app, &cancelled, b"whsec_demo_salon_beispiel").await;
    assert_eq!(applied["effect"], "busy_removed");
    let answer = check(
        &app,
        &CallFixture::new(),
        json!({"service": "Damenhaarschnitt", "date": "morgen", "time": "14:00", "staff": "Clara"}),
    )
    .await;
    assert!(answer["reservation_token"].is_string(), "free again: {answer}");
}

/// BK-2 and BK-5 across a crash: the process dies while Cal.com is being called; after the restart
/// the outbox finishes the job and Cal.com has every phase exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_sync_completes_after_restart_without_duplicates() {
    let catalogue = Settings::embedded_default().validate().unwrap();
    let mut config = slotkeeper::simulator::standalone_sim_config(&catalogue, 0, None, 0.0, 0);
    config.faults = slow_creates(800);
    let sim = Arc::new(CalcomSim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap());
    let url = sim.base_url();
    let tweak = move |s: &mut Settings| {
        s.calcom.base_url = url.clone();
        s.calcom.booking_budget_ms = 100;
    };
    let first = TestApp::spawn_with(Spawn { tweak: Box::new(tweak.clone()), ..Default::default() }).await;
    let call = CallFixture::new();
    let held = check(&first, &call, json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00"})).await;
    let booked = book(&first, &call, held["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_eq!(
        booked["booking_status"], "confirmed_pending_calendar",
        "acknowledged before Cal.com answered: {booked}"
    );
    // kill -9 while the four creates are in flight.
    let db = first.crash().await;
    let second = TestApp::spawn_with(Spawn {
        tweak: Box::new(tweak),
        db: Some(db),
        now: crate::helpers::test_now(),
        ..Default::default()
    })
    .await;
    let done = eventually(Duration::from_secs(30), || async {
        // The dead node's lease runs out after lease_secs; the new node takes the job over.
        second.clock.advance(Duration::from_secs(20));
        let appointment =
            second.parts.store.get_appointment(&booked["booking_id"].as_str().unwrap().into()).await.unwrap().unwrap();
        appointment.sync_state == SyncState::Synced
    })
    .await;
    assert!(done, "the outbox finished after the restart");
    assert_eq!(live_bookings(&sim), 4, "every phase exactly once at Cal.com");
}

/// Bug found by the load harness: caller A hangs up while its hold is being mirrored at Cal.com;
/// caller B is told the same time is reserved for them; B's mirror meets A's leftover Cal.com
/// reservation and used to withdraw B's valid hold, so B heard "anderweitig vergeben" although
/// nobody had booked. Now A's mirror stops when its hold ends, its release deletes what it made,
/// and B's mirror waits for that instead of taking our own leftovers for a booking.
#[tokio::test]
async fn a_hung_up_callers_leftover_calcom_reservation_does_not_cost_the_next_caller_the_slot() {
    let app = TestApp::spawn().await;
    let mut faults = Faults::default();
    let slow = FaultSpec { latency: Latency { fixed_ms: 200, ..Latency::default() }, ..FaultSpec::default() };
    faults.endpoints.insert("reservations.create".into(), slow.clone());
    faults.endpoints.insert("reservations.delete".into(), slow);
    app.sim().set_faults(faults);
    let args = json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00", "staff": "Anna"});

    let a = CallFixture::new();
    assert!(check(&app, &a, args.clone()).await["reservation_token"].is_string());
    let sim = app.sim();
    assert!(
        eventually(Duration::from_secs(5), || async { sim.stats().reservations_created >= 1 }).await,
        "A's first phase is reserved at Cal.com"
    );
    assert_eq!(app.retell_webhook("call_ended", &a).await, StatusCode::NO_CONTENT);

    let b = CallFixture::new();
    let held = check(&app, &b, args).await;
    let token = held["reservation_token"].as_str().expect("B is told the time is reserved").to_owned();
    assert!(
        eventually(Duration::from_secs(10), || async {
            let stats = sim.stats();
            let quiet = |e: &str| stats.endpoints.get(e).is_none_or(|s| s.in_flight == 0);
            quiet("reservations.create") && quiet("reservations.delete") && stats.active_reservations == 4
        })
        .await,
        "A's reservations are gone and B's four phases are reserved: {:?}",
        sim.stats()
    );
    let created = sim.stats().reservations_created;
    assert!(created < 8, "A stopped reserving once its hold ended ({created} reservations made)");

    let booked = book(&app, &b, &token, "Erika").await;
    assert_eq!(booked["success"], true, "B keeps the slot: {booked}");
    assert_eq!(booked["booking_status"], "confirmed", "{booked}");
    assert_eq!(live_bookings(sim), 4);
}

/// A backlog (Cal.com was down while callers booked) is claimed only as fast as the workers can
/// start it. The poller used to claim `4 × workers` jobs every poll whatever was still queued, so
/// queued jobs outlived their leases, were claimed again and queued twice; under a kill -9 storm
/// 1,644 jobs sat "in flight" and the outbox no longer drained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_claimed_only_as_fast_as_the_workers_take_it() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| {
            s.calcom.mirror_holds = false;
            s.simulator.send_webhooks = false;
            s.calcom.outbox.workers = 1;
            s.calcom.booking_budget_ms = 200;
        }),
        ..Default::default()
    })
    .await;
    app.sim().set_faults(Faults { down: true, ..Faults::default() });
    let mut booked = 0;
    for (i, staff) in ["Anna", "Ben", "Clara"].iter().cycle().take(8).enumerate() {
        let call = CallFixture::new();
        let time = format!("{}:00", 9 + i / 3);
        let held =
            check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": time, "staff": staff}))
                .await;
        let answer = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Kundin").await;
        // Until the circuit opens (5 failures) bookings are taken and wait in the outbox; then
        // callers hear "try again in a minute" at once.
        if answer["booking_status"] == "confirmed_pending_calendar" {
            booked += 1;
        } else {
            assert_eq!(answer["reason"], "calendar_unavailable", "{answer}");
        }
    }
    assert!(booked >= 4, "a backlog of several jobs for one worker: {booked}");
    let mut faults = Faults::default();
    faults.endpoints.insert(
        "bookings.create".into(),
        FaultSpec { latency: Latency { fixed_ms: 150, ..Latency::default() }, ..FaultSpec::default() },
    );
    app.sim().set_faults(faults);
    // Every retry and the circuit's cool-down are due now; leases run out while jobs wait.
    app.clock.advance(Duration::from_secs(120));
    let (mut most_in_flight, started) = (0, std::time::Instant::now());
    loop {
        let summary = app.parts.store.outbox_summary().await.unwrap();
        most_in_flight = most_in_flight.max(summary.in_flight);
        if summary.pending + summary.in_flight == 0 || started.elapsed() > Duration::from_secs(30) {
            break;
        }
        app.clock.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.parts.store.outbox_summary().await.unwrap().pending, 0, "the backlog drained");
    assert!(most_in_flight <= 2, "one worker: at most 2 jobs claimed at once, saw {most_in_flight}");
    assert_eq!(live_bookings(app.sim()), booked, "each booking once at Cal.com");
}

/// Retries with backoff (1 s, 5 s, 30 s), then a dead letter the store and the metrics show;
/// re-driven after Cal.com recovered, the booking reaches Cal.com exactly once.
#[tokio::test]
async fn a_booking_cal_com_keeps_refusing_becomes_a_dead_letter_and_is_re_driven_once() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| {
            s.calcom.mirror_holds = false;
            s.simulator.send_webhooks = false;
            s.calcom.booking_budget_ms = 300;
        }),
        ..Default::default()
    })
    .await;
    // Four 500s: the first attempt and its three retries (fewer than the circuit's threshold).
    let error = ScriptedOutcome::Status { status: 500, message: None, retry_after_secs: None };
    app.sim().set_faults(scripted("bookings.create", vec![ScriptedStep::times(error, 4)]));
    let call = CallFixture::new();
    let held =
        check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "16:00", "staff": "Ben"}))
            .await;
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Dora").await;
    assert_eq!(booked["booking_status"], "confirmed_pending_calendar", "{booked}");
    let store = &app.parts.store;
    let attempts = |n: u64| {
        let sim = app.sim();
        eventually(Duration::from_secs(5), move || async move { sim.stats().endpoint("bookings.create").requests >= n })
    };
    assert!(attempts(1).await, "the first attempt");
    for (retry, backoff) in [1u64, 5, 30].into_iter().enumerate() {
        assert_eq!(store.outbox_summary().await.unwrap().dead, 0, "not dead before retry {}", retry + 1);
        app.clock.advance(Duration::from_secs(backoff));
        assert!(attempts(retry as u64 + 2).await, "retry {} after {backoff} s", retry + 1);
    }
    let dead = eventually(Duration::from_secs(5), || async { store.outbox_summary().await.unwrap().dead == 1 }).await;
    assert!(dead, "after its third retry the job is a dead letter: {:?}", store.outbox_summary().await);
    assert_eq!(live_bookings(app.sim()), 0);
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
            text.lines().any(|l| l.starts_with("calcom_outbox_dead_letters ") && l.ends_with(" 1"))
        })
        .await,
        "the dead letter is on /metrics: {}",
        metrics.lines().filter(|l| l.contains("dead")).collect::<Vec<_>>().join("\n")
    );
    // Cal.com works again (the script is used up); an operator re-drives the dead letter.
    let now = app.clock.now();
    assert_eq!(store.redrive_jobs(None, None, now, now).await.unwrap(), 1);
    let drained = eventually(Duration::from_secs(10), || async {
        let summary = store.outbox_summary().await.unwrap();
        summary.pending + summary.in_flight + summary.dead == 0
    })
    .await;
    assert!(drained, "{:?}", store.outbox_summary().await);
    assert_eq!(live_bookings(app.sim()), 1, "booked once at Cal.com");
    assert_eq!(app.sim().stats().endpoint("bookings.create").requests, 5, "four refusals, one booking");
}
