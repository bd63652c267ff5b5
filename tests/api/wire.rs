//! Booking requests real Cal.com accepts (issue 14, part 1), through the simulator over HTTP,
//! asserting the bodies it received: `lengthInMinutes` only for multi-length event types
//! (Cal.com's `validateBookingLengthInMinutes`, `apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts`),
//! the caller's number as `attendee.phoneNumber`, an e-mail only where the event type's booking
//! fields require one, and a start-up that names a phase its event type cannot book.

use std::net::SocketAddr;
use std::sync::Arc;

use calcom_sim::{CalcomSim, SimConfig, SimHandle};
use serde_json::{Value, json};
use slotkeeper::config::Settings;
use slotkeeper::startup::{Application, BuildOptions};

use crate::helpers::{Backend, CallFixture, Spawn, TestApp, TestDb, eventually, test_settings};
use crate::retell::{book, check};

/// Event types of the men's cut (30 minutes) for each stylist of the demo salon.
const HAIRCUT_TYPES: [i64; 3] = [1101, 1201, 1301];

/// The demo catalogue's simulator, with the men's cut event types changed by `change`.
async fn sim_with(change: impl Fn(&mut calcom_sim::SimEventType)) -> Arc<SimHandle> {
    let catalogue = Settings::embedded_default().validate().unwrap();
    let mut config: SimConfig = slotkeeper::simulator::standalone_sim_config(&catalogue, 0, None, 0.0, 0);
    for et in config.event_types.iter_mut().filter(|e| HAIRCUT_TYPES.contains(&e.id)) {
        change(et);
    }
    Arc::new(CalcomSim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap())
}

async fn app_on(sim: &SimHandle) -> TestApp {
    let url = sim.base_url();
    TestApp::spawn_with(Spawn {
        tweak: Box::new(move |s: &mut Settings| s.calcom.base_url = url),
        ..Default::default()
    })
    .await
}

/// Books a men's cut tomorrow at 10:00 and returns the create bodies the simulator received.
async fn book_a_haircut(app: &TestApp, sim: &SimHandle) -> (CallFixture, Vec<Value>) {
    let call = CallFixture::new();
    let held = check(app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"})).await;
    let booked = book(app, &call, held["reservation_token"].as_str().unwrap(), "Erika Mustermann").await;
    assert_eq!(booked["booking_status"], "confirmed", "{booked}");
    let created = eventually(std::time::Duration::from_secs(5), || async { sim.stats().bookings_created == 1 }).await;
    assert!(created, "{:?}", sim.stats());
    (call, sim.received("bookings.create"))
}

#[tokio::test]
async fn a_single_length_event_type_is_booked_without_length_in_minutes() {
    let app = TestApp::spawn().await;
    let (call, bodies) = book_a_haircut(&app, app.sim()).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = &bodies[0];
    assert!(body.get("lengthInMinutes").is_none(), "single-length event type got lengthInMinutes: {body}");
    assert_eq!(body["attendee"]["phoneNumber"], call.from.as_str(), "{body}");
    // The demo's event types have Cal.com's default booking fields (e-mail required): the
    // tenant's template supplies it, made from the caller's number.
    let digits: String = call.from.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(body["attendee"]["email"], format!("telefon+{digits}@salon-beispiel.example"), "{body}");
}

#[tokio::test]
async fn a_multi_length_event_type_is_booked_with_length_in_minutes() {
    let sim = sim_with(|et| et.length_options = vec![15, 30, 60]).await;
    let app = app_on(&sim).await;
    let (_, bodies) = book_a_haircut(&app, &sim).await;
    assert_eq!(bodies[0]["lengthInMinutes"], 30, "{}", bodies[0]);
}

#[tokio::test]
async fn a_phone_only_attendee_gets_no_email_where_the_event_type_does_not_require_one() {
    let sim = sim_with(|et| {
        et.email_required = false;
        et.phone_required = true;
    })
    .await;
    let app = app_on(&sim).await;
    let (call, bodies) = book_a_haircut(&app, &sim).await;
    let attendee = &bodies[0]["attendee"];
    assert!(attendee.get("email").is_none(), "no e-mail invented: {attendee}");
    assert_eq!(attendee["phoneNumber"], call.from.as_str());
    let booking = sim.bookings().pop().unwrap();
    assert_eq!(booking.attendees[0].phone_number.as_deref(), Some(call.from.as_str()));
}

#[tokio::test]
async fn without_a_fallback_template_an_email_requiring_event_type_is_refused_not_invented() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s: &mut Settings| s.tenants[0].calcom.attendee_email_fallback.clear()),
        ..Default::default()
    })
    .await;
    let call = CallFixture::new();
    let held = check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"})).await;
    let booked = book(&app, &call, held["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_ne!(booked["booking_status"], "confirmed", "{booked}");
    assert!(app.sim().received("bookings.create").is_empty(), "nothing sent that Cal.com would refuse");
    assert_eq!(app.sim().stats().bookings_created, 0);
}

#[tokio::test]
async fn startup_refuses_a_phase_whose_minutes_differ_from_its_event_type() {
    let sim = sim_with(|et| et.length_minutes = 45).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let mut settings = test_settings(&db.url);
    settings.calcom.base_url = sim.base_url();
    let err = match Application::build(settings, BuildOptions::default()).await {
        Ok(_) => panic!("started although Cal.com's event types last 45 minutes"),
        Err(err) => err.to_string(),
    };
    for part in ["salon-beispiel", "herrenhaarschnitt", "phase 0", "1101", "30 minutes", "fixed length of 45"] {
        assert!(err.contains(part), "{part:?} missing in {err}");
    }
}

#[tokio::test]
async fn startup_goes_on_with_a_warning_when_calcom_is_out_of_reach() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(move |s: &mut Settings| {
            s.calcom.base_url = format!("http://{closed}");
            s.calcom.connect_timeout_ms = 200;
        }),
        ..Default::default()
    })
    .await;
    let (status, _) = app
        .call(
            &CallFixture::new(),
            "check_availability",
            json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"}),
        )
        .await;
    assert!(status.is_success(), "serving without Cal.com (offline mode)");
}
