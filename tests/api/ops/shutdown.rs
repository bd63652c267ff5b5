//! SIGTERM to the real binary in the middle of traffic: every accepted request gets a complete
//! answer, the process exits 0, and every acknowledged booking and hold is in the store.
//!
//! "Accepted" is observed, not assumed: SIGTERM is sent only once the child's own metrics show
//! all twelve bookings converted (now waiting for the slow Cal.com simulator) and all 24 holds
//! created, so every request of the burst is known to be inside the server.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::domain::{AppointmentId, ReservationToken};
use slotkeeper::store::{AppointmentStatus, Store, StoreOptions, SyncState};

use super::Scrape;
use super::child::{Child, ChildConfig, open_weekday};
use crate::helpers::CallFixture;

const STAFF: [&str; 3] = ["Anna", "Ben", "Clara"];

/// Cal.com answers slowly, so start_booking waits for it while SIGTERM arrives.
const SIM_LATENCY_MS: u64 = 800;
const GRACE_MS: u64 = 8000;

/// What one request of the burst got.
#[derive(Debug)]
enum Got {
    Answer {
        status: StatusCode,
        body: Option<Value>,
        at: Instant,
    },
    /// Failed after it was sent: a reset or a truncated answer.
    Broken(String),
}

fn fire(request: reqwest::RequestBuilder) -> tokio::task::JoinHandle<Got> {
    tokio::spawn(async move {
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(bytes) => Got::Answer { status, body: serde_json::from_slice(&bytes).ok(), at: Instant::now() },
                    Err(err) => Got::Broken(format!("body: {err}")),
                }
            }
            Err(err) => Got::Broken(format!("{err:?}")),
        }
    })
}

async fn metrics(child: &Child) -> Scrape {
    Scrape::parse(&child.http.get(child.url("/metrics")).send().await.unwrap().text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_traffic_answers_every_accepted_request_exits_0_and_loses_no_booking() {
    let config = ChildConfig {
        retell_key: "key_test_sigterm_0123456789".into(),
        calcom_key: "cal_test_sigterm".into(),
        webhook_secret: "whsec_test_sigterm".into(),
        sim_latency_ms: SIM_LATENCY_MS,
        shutdown_grace_ms: GRACE_MS,
    };
    let mut child = Child::start(&config).await;
    let date = open_weekday().to_string();
    let slot =
        |staff: &str, time: &str| json!({"service": "Herrenhaarschnitt", "date": date, "time": time, "staff": staff});
    let slots = |times: [&'static str; 4]| STAFF.into_iter().flat_map(move |staff| times.map(|time| (staff, time)));

    // Twelve callers hold a slot each.
    let holds = join_all(slots(["10:00", "11:00", "12:00", "13:00"]).map(|(staff, time)| {
        let call = CallFixture::new();
        let request = child.function_call(&call, "check_availability", slot(staff, time));
        async move {
            let held: Value = request.send().await.unwrap().json().await.unwrap();
            (
                call,
                held["reservation_token"].as_str().unwrap_or_else(|| panic!("held {staff} {time}: {held}")).to_owned(),
            )
        }
    }))
    .await;

    // All of them confirm while twelve new callers check other times.
    let bookings: Vec<_> = holds
        .iter()
        .map(|(call, token)| {
            fire(child.function_call(
                call,
                "start_booking",
                json!({"reservation_token": token, "customer_name": "Max"}),
            ))
        })
        .collect();
    let checks: Vec<_> = slots(["14:00", "15:00", "16:00", "17:00"])
        .map(|(staff, time)| fire(child.function_call(&CallFixture::new(), "check_availability", slot(staff, time))))
        .collect();

    // Every request was accepted once all bookings were converted (now waiting for Cal.com) and
    // all 24 holds exist; then SIGTERM, while the bookings are still in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scrape = metrics(&child).await;
        let converted = scrape.sum("calendar_actor_call_duration_seconds_count", &[("operation", "convert")]);
        let held = scrape.sum("reservation_created_total", &[]);
        if converted >= 12.0 && held >= 24.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the burst was not accepted in time: converted {converted}, held {held}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let terminated_at = Instant::now();
    child.terminate();

    let booked_ids =
        answered_bookings(join_all(bookings).await.into_iter().map(Result::unwrap).collect(), terminated_at);
    let held_tokens = answered_checks(join_all(checks).await.into_iter().map(Result::unwrap).collect());
    let status = child.wait_for_exit(Duration::from_millis(GRACE_MS + 10_000)).await;
    println!("sigterm: exited {status} {} ms after SIGTERM", terminated_at.elapsed().as_millis());
    let output = child.output_text();
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0:\n{}", tail(&output));
    assert!(output.contains("shut down cleanly"), "{}", tail(&output));

    let store = Store::connect(&StoreOptions {
        url: child.sqlite_url(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(5),
        node_id: "ops-test".into(),
    })
    .await
    .unwrap();
    for id in &booked_ids {
        let id = AppointmentId::new(id);
        let appointment = store
            .get_appointment(&id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("booking {id} acknowledged but not stored"));
        assert_eq!(appointment.status, AppointmentStatus::Confirmed);
        let queued = !store.jobs_for_appointment(&id).await.unwrap().is_empty();
        assert!(appointment.sync_state == SyncState::Synced || queued, "booking {id} is at Cal.com or in the outbox");
    }
    for token in &held_tokens {
        assert!(
            store.get_reservation(&ReservationToken::new(token)).await.unwrap().is_some(),
            "hold {token} acknowledged but not stored"
        );
    }
    store.close().await;
}

/// Every booking got a complete success answer; returns the booking ids.
fn answered_bookings(got: Vec<Got>, terminated_at: Instant) -> Vec<String> {
    let mut after_sigterm = 0;
    let ids: Vec<String> = got
        .into_iter()
        .map(|got| match got {
            Got::Answer { status: StatusCode::OK, body: Some(body), at } => {
                assert_eq!(body["success"], true, "{body}");
                assert!(
                    matches!(body["booking_status"].as_str(), Some("confirmed" | "confirmed_pending_calendar")),
                    "{body}"
                );
                after_sigterm += usize::from(at > terminated_at);
                body["booking_id"].as_str().expect("a booking id").to_owned()
            }
            Got::Broken(error) => panic!("an accepted start_booking was cut off: {error}"),
            other => {
                panic!("an accepted start_booking did not get a complete success answer: {other:?}")
            }
        })
        .collect();
    println!("sigterm: {after_sigterm} of {} bookings were answered after SIGTERM", ids.len());
    assert!(after_sigterm > 0, "bookings were still in flight when SIGTERM arrived");
    ids
}

/// Every check got a complete answer; returns the tokens handed out.
fn answered_checks(got: Vec<Got>) -> Vec<String> {
    got.into_iter()
        .filter_map(|got| match got {
            Got::Answer { status: StatusCode::OK, body: Some(body), .. } => {
                assert!(body["success"].is_boolean() && body["message"].is_string(), "{body}");
                body["reservation_token"].as_str().map(str::to_owned)
            }
            Got::Broken(error) => panic!("an accepted check_availability was cut off: {error}"),
            other => {
                panic!("an accepted check_availability did not get a complete answer: {other:?}")
            }
        })
        .collect()
}

fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
