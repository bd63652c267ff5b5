//! Unit tests of the parent module.

use super::*;

fn state(f: Faults) -> FaultState {
    FaultState::new(Faults { seed: Some(7), ..f })
}

#[test]
fn scripted_steps_are_consumed_in_order() {
    let mut f = Faults::default();
    f.scripted.insert(
        "bookings.create".into(),
        vec![
            ScriptedStep::times(ScriptedOutcome::Pass, 2),
            ScriptedStep::once(ScriptedOutcome::SlotTaken),
            ScriptedStep::times(ScriptedOutcome::Status { status: 503, message: None, retry_after_secs: None }, 2),
        ],
    );
    let mut s = state(f);
    let actions: Vec<Action> = (0..6).map(|_| s.decide(Endpoint::BookingsCreate).action).collect();
    assert_eq!(actions[0], Action::Normal);
    assert_eq!(actions[1], Action::Normal);
    assert_eq!(actions[2], Action::SlotTaken);
    assert!(matches!(actions[3], Action::Error { status: 503, .. }));
    assert!(matches!(actions[4], Action::Error { status: 503, .. }));
    assert_eq!(actions[5], Action::Normal);
    assert_eq!(s.decide(Endpoint::SlotsGet).action, Action::Normal, "other endpoints untouched");
    assert!(s.current().scripted.is_empty());
}

#[test]
fn wildcard_queue_applies_after_the_endpoint_queue() {
    let mut f = Faults::default();
    f.scripted.insert("*".into(), vec![ScriptedStep::once(ScriptedOutcome::Reset)]);
    let mut s = state(f);
    assert_eq!(s.decide(Endpoint::SlotsGet).action, Action::Reset);
    assert_eq!(s.decide(Endpoint::BookingsCreate).action, Action::Normal);
}

#[test]
fn rates_of_one_are_certain_and_endpoint_spec_overrides_all() {
    let mut f = Faults { all: FaultSpec { error_rate: 1.0, ..FaultSpec::default() }, ..Faults::default() };
    f.endpoints.insert("slots.get".into(), FaultSpec { reset_rate: 1.0, ..FaultSpec::default() });
    f.endpoints.insert(
        "bookings.cancel".into(),
        FaultSpec { accept_then_timeout_rate: 1.0, timeout_ms: 250, ..FaultSpec::default() },
    );
    f.endpoints.insert("bookings.get".into(), FaultSpec { timeout_rate: 1.0, timeout_ms: 99, ..FaultSpec::default() });
    let mut s = state(f);
    for _ in 0..50 {
        let a = s.decide(Endpoint::BookingsCreate).action;
        assert!(matches!(a, Action::Error { status: 500 | 502 | 503, .. }), "{a:?}");
    }
    assert_eq!(s.decide(Endpoint::SlotsGet).action, Action::Reset);
    assert_eq!(s.decide(Endpoint::BookingsCancel).action, Action::AcceptThenHang(Duration::from_millis(250)));
    assert_eq!(s.decide(Endpoint::BookingsGet).action, Action::Hang(Duration::from_millis(99)));
}

#[test]
fn error_rate_is_roughly_respected() {
    let f = Faults { all: FaultSpec { error_rate: 0.3, ..FaultSpec::default() }, ..Faults::default() };
    let mut s = state(f);
    let errors = (0..10_000).filter(|_| s.decide(Endpoint::BookingsList).injected).count();
    assert!((2_700..3_300).contains(&errors), "{errors}");
}

#[test]
fn down_wins() {
    let mut s = state(Faults { down: true, ..Faults::default() });
    assert!(matches!(s.decide(Endpoint::SlotsGet).action, Action::Error { status: 503, .. }));
}

#[test]
fn latencies() {
    let mut rng = StdRng::seed_from_u64(1);
    let fixed = Latency { fixed_ms: 200, jitter_ms: 0, ..Latency::default() };
    assert_eq!(draw_latency(&fixed, &mut rng), Duration::from_millis(200));
    let jitter = Latency { fixed_ms: 10, jitter_ms: 5, ..Latency::default() };
    for _ in 0..100 {
        let d = draw_latency(&jitter, &mut rng);
        assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(15));
    }
    let pct = Latency { p50_ms: Some(100), p99_ms: Some(400), ..Latency::default() };
    let mut samples: Vec<Duration> = (0..20_000).map(|_| draw_latency(&pct, &mut rng)).collect();
    samples.sort();
    let p50 = samples[10_000].as_millis();
    let p99 = samples[19_800].as_millis();
    assert!((90..=110).contains(&p50), "p50 {p50}");
    assert!((340..=470).contains(&p99), "p99 {p99}");
}

#[test]
fn validation() {
    assert!(Faults::default().validate().is_ok());
    let bad_rate = Faults { all: FaultSpec { error_rate: 1.5, ..FaultSpec::default() }, ..Faults::default() };
    assert!(bad_rate.validate().is_err());
    let sum = FaultSpec { error_rate: 0.6, reset_rate: 0.6, ..FaultSpec::default() };
    assert!(Faults { all: sum, ..Faults::default() }.validate().is_err());
    let mut unknown = Faults::default();
    unknown.endpoints.insert("bookings.nope".into(), FaultSpec::default());
    assert!(unknown.validate().is_err());
    let mut ok_status = Faults::default();
    let status = |status| ScriptedStep::once(ScriptedOutcome::Status { status, message: None, retry_after_secs: None });
    ok_status.scripted.insert("*".into(), vec![status(429), status(503)]);
    assert!(ok_status.validate().is_ok());
    ok_status.scripted.insert("slots.get".into(), vec![status(200)]);
    assert!(ok_status.validate().is_err());
    let half = Latency { p50_ms: Some(10), ..Latency::default() };
    let spec = FaultSpec { latency: half, ..FaultSpec::default() };
    assert!(Faults { all: spec, ..Faults::default() }.validate().is_err());
}

#[test]
fn json_shape() {
    let f: Faults = serde_json::from_str(
        r#"{"all":{"latency":{"fixed_ms":200}},
            "scripted":{"bookings.create":[{"outcome":"pass","times":2},{"outcome":"slot_taken"},
                                           {"outcome":"status","status":503,"times":5},
                                           {"outcome":"accept_then_timeout","ms":1000}]}}"#,
    )
    .expect("parses");
    assert_eq!(f.all.latency.fixed_ms, 200);
    assert_eq!(f.scripted["bookings.create"].len(), 4);
    assert!(f.validate().is_ok());
}
