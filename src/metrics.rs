//! Every metric the service exports, declared once with its description.
//!
//! Names follow the seed's roadmap (`reservation_*_total`, `reservation_duration_seconds`) and the
//! operator's needs (Cal.com, HTTP, actors). Code elsewhere never spells a metric name: it calls the
//! typed functions below, so the dashboard in `ops/grafana/` and the alerts in `ops/prometheus/`
//! can rely on this file alone (a test scrapes `/metrics` and checks every name they use).
//!
//! Label values are always from small closed sets (service type, outcome, route template, tenant
//! and service ids from config), never from request data, so the series count stays bounded.
//!
//! Counters whose label values are known in advance are registered at zero when the application
//! starts ([`register_series`]): a ratio such as expired / created then reads 0 on a quiet node
//! instead of "no data", and an alert on a rare event (a conflict, a 429) has a series to watch
//! before the first one happens.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::Catalogue;

/// Buckets for request-scale latencies (seconds): 0.5 ms .. 10 s.
///
/// 0.015 is a boundary because it is the seed's objective for `check_availability` (15 ms): with a
/// bucket edge there, `histogram_quantile(0.99, …) > 0.015` in `ops/prometheus/alerts.yml` is
/// exact instead of an interpolation between 10 and 25 ms.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets for hold lifetimes (seconds): a caller confirms within seconds to a few minutes.
const HOLD_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once and returns its handle.
///
/// The `metrics` facade has one global recorder per process; tests that build several
/// applications in one process share it, which is why this is idempotent.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("reservation_duration_seconds".into()), HOLD_BUCKETS)
                })
                .expect("static bucket lists are non-empty")
                .install_recorder()
                .expect("the metrics recorder is installed only here");
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_holds_and_bookings();
    describe_calcom();
    describe_front_door_and_actors();
}

/// Holds and bookings, with the seed's names.
fn describe_holds_and_bookings() {
    describe_counter!(
        "reservation_created_total",
        "Holds (reservations) created, by service_type single|compound and service id"
    );
    describe_counter!(
        "reservation_validated_total",
        "Token validations at start_booking, by valid=true|false and reason valid|expired|conflict|not_found|released"
    );
    describe_counter!("reservation_converted_total", "Holds converted into bookings, by service_type and service id");
    describe_counter!("reservation_expired_total", "Holds that reached their TTL without conversion, by service_type");
    describe_counter!(
        "reservation_released_total",
        "Holds ended early, by reason released|call_ended|conflict|superseded"
    );
    describe_histogram!("reservation_duration_seconds", Unit::Seconds, "Time from hold to conversion");
    describe_gauge!(
        "reservations_active",
        "Holds currently active (read from the store by the sweeper; the same value on every node)"
    );
    describe_histogram!(
        "booking_phase_duration_seconds",
        Unit::Seconds,
        "Time to book all phases of one appointment at Cal.com, by mode parallel|sequential"
    );
    describe_counter!(
        "booking_total",
        "Bookings by outcome confirmed|synced|compensated|taken|dead_letter|cancelled|rescheduled"
    );
    describe_counter!(
        "booking_slot_taken_after_offer_total",
        "start_booking found the slot taken although check_availability had offered it (the race the holds remove)"
    );
}

/// The calendar of record: Cal.com requests, circuit, outbox, mirrors.
fn describe_calcom() {
    describe_histogram!(
        "calcom_request_duration_seconds",
        Unit::Seconds,
        "Cal.com API request latency, by endpoint and status (HTTP code, timeout or error)"
    );
    describe_gauge!("calcom_circuit_state", "Cal.com circuit breaker per tenant: 0 closed, 1 half-open, 2 open");
    describe_gauge!("calcom_outbox_pending", "Outbox jobs waiting for Cal.com (pending or in flight)");
    describe_gauge!("calcom_outbox_dead_letters", "Outbox jobs parked after their last retry");
    describe_counter!(
        "calcom_outbox_fenced_total",
        "Writes of outbox claims that another claim had taken over, refused by their stale fencing token"
    );
    describe_counter!("calcom_mirror_skipped_total", "Hold mirrors not sent to Cal.com, by reason budget|circuit_open");
    describe_counter!("calcom_rate_limited_total", "429 answers received from Cal.com");
    describe_counter!(
        "calcom_availability_refreshes_total",
        "Bookable-time answers fetched from Cal.com (GET /v2/slots), by reason warm|recheck and result ok|error"
    );
    describe_counter!(
        "calcom_recheck_total",
        "Holds re-checked against a fresh Cal.com answer before booking, by result fits|conflict|unknown"
    );
    describe_counter!(
        "availability_cache_requests_total",
        "Availability answers by result hit (busy times known from Cal.com) or miss"
    );
}

/// The HTTP front door, Retell's requests and the calendar actors.
fn describe_front_door_and_actors() {
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by matched route template, method and status"
    );
    describe_counter!("retell_function_calls_total", "Retell function calls by function and outcome");
    describe_histogram!(
        "retell_function_duration_seconds",
        Unit::Seconds,
        "Time to answer one Retell function call (idempotency, booking layer, replays), by function"
    );
    describe_counter!("idempotent_replays_total", "Retell retries answered from the stored response, by function");
    describe_counter!(
        "idempotency_waits_total",
        "Duplicates that waited for another node's first attempt, by outcome answered|timed_out"
    );
    describe_counter!("webhook_rejected_total", "Rejected webhook or function requests, by source and reason");
    describe_counter!(
        "retell_webhook_events_total",
        "Retell call webhooks acknowledged, by event (Retell's name, other for unknown) and outcome processed|duplicate|ignored|unattributed"
    );
    describe_counter!(
        "retell_inbound_calls_total",
        "Retell inbound-call webhooks answered, by outcome known_caller|unknown_caller|lookup_failed|other_event"
    );
    describe_counter!(
        "http_body_budget_exhausted_total",
        "Request bodies shed with 503 because the buffered-body budget (http.body_buffer_budget_bytes) was spent"
    );
    describe_gauge!("calendar_actor_mailbox_depth", "Messages queued for calendar actors and not yet handled");
    describe_gauge!("calendar_actors", "Calendar actors alive in this process");
    describe_counter!("calendar_actor_restarts_total", "Calendar actors restarted by the supervisor after a failure");
    describe_histogram!(
        "calendar_actor_call_duration_seconds",
        Unit::Seconds,
        "Round trip of one request to a calendar actor, by operation"
    );
}

/// `single` or `compound`, the seed's service_type label.
pub fn service_type(is_compound: bool) -> &'static str {
    if is_compound { "compound" } else { "single" }
}

/// `booking_total` outcomes, registered at zero by [`register_series`].
const BOOKING_OUTCOMES: &[&str] =
    &["confirmed", "synced", "compensated", "taken", "dead_letter", "cancelled", "rescheduled"];
/// `reservation_validated_total` reasons for `valid="false"` (`valid="true"` has reason `valid`).
const INVALID_REASONS: &[&str] = &["expired", "conflict", "not_found", "released"];
/// `reservation_released_total` reasons.
const RELEASE_REASONS: &[&str] = &["released", "call_ended", "conflict", "superseded"];
/// `calcom_mirror_skipped_total` reasons.
const MIRROR_SKIP_REASONS: &[&str] = &["budget", "circuit_open"];

/// Registers every counter series whose labels are known before traffic, at zero.
///
/// Idempotent (registering an existing series changes nothing), so several applications in one
/// process (tests) may call it.
pub fn register_series(catalogue: &Catalogue) {
    for tenant in catalogue.tenants() {
        for service in &tenant.services {
            let kind = service_type(service.is_compound());
            counter!("reservation_created_total", "service_type" => kind, "service" => service.id.to_string())
                .increment(0);
            counter!("reservation_converted_total", "service_type" => kind, "service" => service.id.to_string())
                .increment(0);
        }
    }
    for is_compound in [false, true] {
        counter!("reservation_expired_total", "service_type" => service_type(is_compound)).increment(0);
    }
    counter!("reservation_validated_total", "valid" => "true", "reason" => "valid").increment(0);
    for reason in INVALID_REASONS {
        counter!("reservation_validated_total", "valid" => "false", "reason" => *reason).increment(0);
    }
    for reason in RELEASE_REASONS {
        counter!("reservation_released_total", "reason" => *reason).increment(0);
    }
    for outcome in BOOKING_OUTCOMES {
        counter!("booking_total", "outcome" => *outcome).increment(0);
    }
    counter!("http_body_budget_exhausted_total").increment(0);
    for reason in MIRROR_SKIP_REASONS {
        counter!("calcom_mirror_skipped_total", "reason" => *reason).increment(0);
    }
    for result in ["hit", "miss"] {
        counter!("availability_cache_requests_total", "result" => result).increment(0);
    }
    counter!("booking_slot_taken_after_offer_total").increment(0);
    for result in ["fits", "conflict", "unknown"] {
        counter!("calcom_recheck_total", "result" => result).increment(0);
    }
    for reason in ["warm", "recheck"] {
        for result in ["ok", "error"] {
            counter!("calcom_availability_refreshes_total", "reason" => reason, "result" => result).increment(0);
        }
    }
    counter!("calcom_rate_limited_total").increment(0);
    counter!("calendar_actor_restarts_total").increment(0);
}

/// `service` is the catalogue's service id (`herrenhaarschnitt`), for "top services".
pub fn reservation_created(is_compound: bool, service: &str) {
    counter!("reservation_created_total", "service_type" => service_type(is_compound), "service" => service.to_owned())
        .increment(1);
}

pub fn reservation_validated(valid: bool, reason: &'static str) {
    let valid = if valid { "true" } else { "false" };
    counter!("reservation_validated_total", "valid" => valid, "reason" => reason).increment(1);
}

pub fn reservation_converted(is_compound: bool, service: &str, held_for: Duration) {
    counter!("reservation_converted_total", "service_type" => service_type(is_compound), "service" => service.to_owned())
        .increment(1);
    histogram!("reservation_duration_seconds").record(held_for.as_secs_f64());
}

pub fn reservation_expired(is_compound: bool) {
    counter!("reservation_expired_total", "service_type" => service_type(is_compound)).increment(1);
}

pub fn reservation_released(reason: &'static str) {
    counter!("reservation_released_total", "reason" => reason).increment(1);
}

/// Active holds in the store (all nodes), refreshed by the sweeper on every tick.
pub fn reservations_active(count: u64) {
    gauge!("reservations_active").set(count as f64);
}

pub fn booking_phases(parallel: bool, took: Duration) {
    let mode = if parallel { "parallel" } else { "sequential" };
    histogram!("booking_phase_duration_seconds", "mode" => mode).record(took.as_secs_f64());
}

pub fn booking(outcome: &'static str) {
    counter!("booking_total", "outcome" => outcome).increment(1);
}

pub fn outbox_fenced() {
    counter!("calcom_outbox_fenced_total").increment(1);
}

pub fn slot_taken_after_offer() {
    counter!("booking_slot_taken_after_offer_total").increment(1);
}

/// `status` is the HTTP status code as text, or `timeout` / `error` when there was no answer.
pub fn calcom_request(endpoint: &'static str, status: &str, took: Duration) {
    histogram!("calcom_request_duration_seconds", "endpoint" => endpoint, "status" => status.to_owned())
        .record(took.as_secs_f64());
}

/// 0 closed, 1 half-open, 2 open.
pub fn calcom_circuit_state(tenant: &str, state: u8) {
    gauge!("calcom_circuit_state", "tenant" => tenant.to_owned()).set(f64::from(state));
}

pub fn calcom_outbox(pending: u64, dead_letters: u64) {
    gauge!("calcom_outbox_pending").set(pending as f64);
    gauge!("calcom_outbox_dead_letters").set(dead_letters as f64);
}

pub fn calcom_recheck(result: &'static str) {
    counter!("calcom_recheck_total", "result" => result).increment(1);
}

pub fn calcom_availability_refresh(reason: &'static str, ok: bool) {
    counter!("calcom_availability_refreshes_total", "reason" => reason, "result" => if ok { "ok" } else { "error" })
        .increment(1);
}

pub fn calcom_mirror_skipped(reason: &'static str) {
    counter!("calcom_mirror_skipped_total", "reason" => reason).increment(1);
}

pub fn calcom_rate_limited() {
    counter!("calcom_rate_limited_total").increment(1);
}

pub fn availability_cache(hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!("availability_cache_requests_total", "result" => result).increment(1);
}

pub fn http_request(route: String, method: String, status: u16, took: Duration) {
    histogram!("http_request_duration_seconds", "route" => route, "method" => method, "status" => status.to_string())
        .record(took.as_secs_f64());
}

pub fn retell_function_call(function: &'static str, outcome: &'static str) {
    counter!("retell_function_calls_total", "function" => function, "outcome" => outcome).increment(1);
}

pub fn retell_function_duration(function: &'static str, took: Duration) {
    histogram!("retell_function_duration_seconds", "function" => function).record(took.as_secs_f64());
}

pub fn idempotent_replay(function: &'static str) {
    counter!("idempotent_replays_total", "function" => function).increment(1);
}

pub fn idempotency_wait(outcome: &'static str) {
    counter!("idempotency_waits_total", "outcome" => outcome).increment(1);
}

pub fn webhook_rejected(source: &'static str, reason: &'static str) {
    counter!("webhook_rejected_total", "source" => source, "reason" => reason).increment(1);
}

pub fn retell_webhook_event(event: &'static str, outcome: &'static str) {
    counter!("retell_webhook_events_total", "event" => event, "outcome" => outcome).increment(1);
}

pub fn retell_inbound(outcome: &'static str) {
    counter!("retell_inbound_calls_total", "outcome" => outcome).increment(1);
}

pub fn body_budget_exhausted() {
    counter!("http_body_budget_exhausted_total").increment(1);
}

pub fn calendar_mailbox_depth(depth: i64) {
    gauge!("calendar_actor_mailbox_depth").set(depth as f64);
}

pub fn calendar_actors(alive: usize) {
    gauge!("calendar_actors").set(alive as f64);
}

pub fn calendar_actor_restarted() {
    counter!("calendar_actor_restarts_total").increment(1);
}

pub fn calendar_call(operation: &'static str, took: Duration) {
    histogram!("calendar_actor_call_duration_seconds", "operation" => operation).record(took.as_secs_f64());
}
