//! Unit tests of the parent module.

use super::*;

fn cfg() -> CircuitConfig {
    CircuitConfig::default()
}

fn permit(b: &mut CircuitBreaker, now: Instant) -> Permit {
    match b.allow(now) {
        Admission::Permit(p) => p,
        Admission::Rejected { retry_in } => panic!("rejected, retry in {retry_in:?}"),
    }
}

fn fail_n(b: &mut CircuitBreaker, now: Instant, n: u32) {
    for _ in 0..n {
        let p = permit(b, now);
        b.on_failure(now, p);
    }
}

#[test]
fn opens_after_threshold_within_window() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 4);
    assert_eq!(b.state(t0), CircuitState::Closed);
    fail_n(&mut b, t0 + Duration::from_secs(10), 1);
    assert_eq!(b.state(t0 + Duration::from_secs(10)), CircuitState::Open);
    assert_eq!(b.allow(t0 + Duration::from_secs(20)), Admission::Rejected { retry_in: Duration::from_secs(20) });
}

#[test]
fn old_failures_leave_the_window() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 4);
    fail_n(&mut b, t0 + Duration::from_secs(60), 1);
    assert_eq!(b.state(t0 + Duration::from_secs(60)), CircuitState::Closed);
    fail_n(&mut b, t0 + Duration::from_secs(61), 3);
    assert_eq!(b.state(t0 + Duration::from_secs(61)), CircuitState::Closed);
    fail_n(&mut b, t0 + Duration::from_secs(62), 1);
    assert_eq!(b.state(t0 + Duration::from_secs(62)), CircuitState::Open);
}

#[test]
fn successes_while_closed_do_not_hide_failures() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    for _ in 0..5 {
        let ok = permit(&mut b, t0);
        b.on_success(t0, ok);
        fail_n(&mut b, t0, 1);
    }
    assert_eq!(b.state(t0), CircuitState::Open);
}

#[test]
fn half_open_after_cooldown_allows_one_probe() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 5);
    let t1 = t0 + Duration::from_secs(30);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    let p = permit(&mut b, t1);
    assert!(p.is_probe());
    assert_eq!(b.allow(t1), Admission::Rejected { retry_in: HALF_OPEN_RETRY });
    b.on_success(t1, p);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    let p2 = permit(&mut b, t1);
    b.on_success(t1, p2);
    assert_eq!(b.state(t1), CircuitState::Closed);
    assert!(!permit(&mut b, t1).is_probe());
}

#[test]
fn half_open_failure_reopens() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 5);
    let t1 = t0 + Duration::from_secs(31);
    let p = permit(&mut b, t1);
    b.on_failure(t1, p);
    assert_eq!(b.state(t1), CircuitState::Open);
    assert_eq!(b.allow(t1), Admission::Rejected { retry_in: Duration::from_secs(30) });
}

#[test]
fn neutral_answer_frees_the_probe_without_closing() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 5);
    let t1 = t0 + Duration::from_secs(30);
    let p = permit(&mut b, t1);
    b.record::<()>(t1, p, &Err(CalcomError::RateLimited { retry_after: None }));
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    let p = permit(&mut b, t1);
    b.record::<()>(t1, p, &Err(CalcomError::SlotTaken { message: String::new() }));
    let p = permit(&mut b, t1);
    b.record(t1, p, &Ok(()));
    assert_eq!(b.state(t1), CircuitState::Closed);
}

#[test]
fn lost_probe_is_written_off_after_probe_timeout() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 5);
    let t1 = t0 + Duration::from_secs(30);
    let _lost = permit(&mut b, t1);
    assert!(matches!(b.allow(t1 + Duration::from_secs(29)), Admission::Rejected { .. }));
    assert!(permit(&mut b, t1 + Duration::from_secs(30)).is_probe());
}

#[test]
fn stale_answers_are_ignored() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    let early = permit(&mut b, t0);
    let early_fail = permit(&mut b, t0);
    fail_n(&mut b, t0, 5);
    let t1 = t0 + Duration::from_secs(30);
    let probe = permit(&mut b, t1);
    b.on_success(t1, early);
    b.on_failure(t1, early_fail);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    assert!(matches!(b.allow(t1), Admission::Rejected { .. }), "the probe still holds its slot");
    b.on_success(t1, probe);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
}

#[test]
fn late_answer_of_a_written_off_probe_keeps_the_live_probe_slot() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    fail_n(&mut b, t0, 5);
    let t1 = t0 + Duration::from_secs(30);
    let lost = permit(&mut b, t1);
    let t2 = t1 + Duration::from_secs(30);
    let live = permit(&mut b, t2);
    b.on_success(t2, lost);
    assert!(matches!(b.allow(t2), Admission::Rejected { .. }), "the live probe still holds the only slot");
    b.on_success(t2, live);
    assert_eq!(b.state(t2), CircuitState::Closed);
}

#[test]
fn business_errors_count_as_success() {
    let t0 = Instant::now();
    let mut b = CircuitBreaker::new(cfg());
    for _ in 0..20 {
        let p = permit(&mut b, t0);
        b.record::<()>(t0, p, &Err(CalcomError::SlotTaken { message: "x".into() }));
        let p = permit(&mut b, t0);
        b.record::<()>(t0, p, &Err(CalcomError::NotFound));
    }
    assert_eq!(b.state(t0), CircuitState::Closed);
    for _ in 0..5 {
        let p = permit(&mut b, t0);
        b.record::<()>(t0, p, &Err(CalcomError::Unavailable { status: 503 }));
    }
    assert_eq!(b.state(t0), CircuitState::Open);
}

#[test]
fn state_codes() {
    assert_eq!([CircuitState::Closed, CircuitState::HalfOpen, CircuitState::Open].map(CircuitState::code), [0, 1, 2]);
}

#[test]
fn registry_is_per_tenant() {
    let t0 = Instant::now();
    let reg = CircuitBreakers::new(cfg());
    for _ in 0..5 {
        if let Admission::Permit(p) = reg.allow("a", t0) {
            reg.on_failure("a", t0, p);
        }
    }
    assert_eq!(reg.state("a", t0), CircuitState::Open);
    assert_eq!(reg.state("b", t0), CircuitState::Closed);
    assert!(matches!(reg.allow("a", t0), Admission::Rejected { .. }));
    assert!(matches!(reg.allow("b", t0), Admission::Permit(_)));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Allow,
        Succeed,
        Fail,
        Neutral,
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Allow),
            2 => Just(Op::Succeed),
            3 => Just(Op::Fail),
            1 => Just(Op::Neutral),
            2 => (0u64..40_000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn invariants_hold(ops in proptest::collection::vec(op(), 1..300)) {
            let c = CircuitConfig::default();
            let t0 = Instant::now();
            let mut now = t0;
            let mut b = CircuitBreaker::new(c);
            // Outstanding permits: (permit, granted_at, granted_while_half_open).
            let mut outstanding: Vec<(Permit, Instant, bool)> = Vec::new();
            let mut failure_reports: Vec<Instant> = Vec::new();
            for op in ops {
                let before = b.state(now);
                match op {
                    Op::Allow => {
                        if let Admission::Permit(p) = b.allow(now) {
                            outstanding.push((p, now, p.is_probe()));
                        }
                    }
                    Op::Succeed | Op::Fail | Op::Neutral => {
                        if outstanding.is_empty() { continue; }
                        // Answers arrive in any order: take the middle one.
                        let (p, _, _) = outstanding.remove(outstanding.len() / 2);
                        match op {
                            Op::Succeed => b.on_success(now, p),
                            Op::Fail => { failure_reports.push(now); b.on_failure(now, p) }
                            _ => b.on_neutral(now, p),
                        }
                    }
                    Op::Advance(ms) => now += Duration::from_millis(ms),
                }
                let after = b.state(now);
                if before == CircuitState::Closed && after == CircuitState::Open {
                    let recent = failure_reports
                        .iter()
                        .filter(|t| now.saturating_duration_since(**t) < c.window)
                        .count();
                    prop_assert!(recent >= c.failure_threshold as usize,
                        "opened with only {} failures in the window", recent);
                }
                if after == CircuitState::HalfOpen {
                    let live_probes = outstanding
                        .iter()
                        .filter(|(p, at, probe)| *probe && p.generation == b.generation
                            && now.saturating_duration_since(*at) < c.probe_timeout)
                        .count();
                    prop_assert!(live_probes <= c.half_open_max_probes as usize,
                        "{} concurrent half-open probes", live_probes);
                }
            }
        }
    }
}
