//! No panel and no alert points at a metric that does not exist.
//!
//! A scripted scenario through the HTTP API (a booked hold, a Retell retry, an expired perm hold,
//! a hold taken at Cal.com and refused as a conflict, a hold given back, refused requests) runs
//! against the real application; then `/metrics` must contain every metric that the dashboard's
//! and the alert rules' PromQL selects, with every label those queries filter or group by, and the
//! scenario's own events must have moved their counters.
//!
//! The metrics recorder is global to the test process, so other tests add to the same counters:
//! this test compares before/after and asserts increases, never exact totals.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::domain::ReservationToken;
use slotkeeper::store::ReservationStatus;

use super::promql::{MatchOp, parse, rule_expressions};
use super::{Scrape, dashboard_expressions, read_ops};
use crate::helpers::{CallFixture, Spawn, TestApp, eventually};

/// Every series of these metrics carries exactly these labels (the contract of `src/metrics.rs`).
const EXPECTED_LABELS: &[(&str, &[&str])] = &[
    ("reservation_created_total", &["service", "service_type"]),
    ("reservation_validated_total", &["reason", "valid"]),
    ("reservation_converted_total", &["service", "service_type"]),
    ("reservation_expired_total", &["service_type"]),
    ("reservation_released_total", &["reason"]),
    ("reservation_duration_seconds_bucket", &["le"]),
    ("reservations_active", &[]),
    ("booking_phase_duration_seconds_bucket", &["le", "mode"]),
    ("booking_total", &["outcome"]),
    ("calcom_request_duration_seconds_bucket", &["endpoint", "le", "status"]),
    ("calcom_circuit_state", &["tenant"]),
    ("calcom_outbox_pending", &[]),
    ("calcom_outbox_dead_letters", &[]),
    ("availability_cache_requests_total", &["result"]),
    ("http_request_duration_seconds_bucket", &["le", "method", "route", "status"]),
    ("retell_function_duration_seconds_bucket", &["function", "le"]),
    ("retell_function_calls_total", &["function", "outcome"]),
    ("calendar_actor_mailbox_depth", &[]),
    ("calendar_actors", &[]),
];

/// Series Prometheus makes itself; alerts may use them, the service does not export them.
const PROMETHEUS_SERIES: &[&str] = &["up"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_and_the_alerts_query_is_exported_with_its_labels() {
    // Without hold mirrors Cal.com accepts a web booking over a held slot: the conflict case.
    let app =
        TestApp::spawn_with(Spawn { tweak: Box::new(|s| s.calcom.mirror_holds = false), ..Default::default() }).await;
    let before = scrape(&app).await;
    let stray_path = format!("/no/such/page/{}", uuid::Uuid::new_v4().simple());
    run_scenario(&app, &stray_path).await;

    let queries: Vec<(String, String)> = dashboard_expressions()
        .into_iter()
        .map(|(title, expr)| (format!("panel {title:?}"), expr))
        .chain(
            rule_expressions(&read_ops("prometheus/alerts.yml"))
                .into_iter()
                .map(|(alert, expr)| (format!("alert {alert}"), expr)),
        )
        .collect();
    assert!(queries.len() > 30, "the dashboard and the rules were read: {} queries", queries.len());

    // Gauges are written by background loops: give them a moment (bounded) to appear.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (after, problems) = loop {
        let after = scrape(&app).await;
        let mut problems = coverage_problems(&after, &queries);
        problems.extend(label_problems(&after));
        problems.extend(target_label_problems(&after));
        if problems.is_empty() || Instant::now() > deadline {
            break (after, problems);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        problems.is_empty(),
        "the dashboard or the alerts query what /metrics does not have:\n{}",
        problems.join("\n")
    );
    assert_scenario_was_counted(&before, &after, &stray_path);
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    Scrape::parse(&response.text().await.unwrap())
}

/// Calls a function and returns its answer (status 200 required).
async fn answer(app: &TestApp, call: &CallFixture, name: &str, args: Value) -> Value {
    let (status, body) = app.call(call, name, args).await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    body
}

async fn hold(app: &TestApp, call: &CallFixture, service: &str, time: &str, staff: &str) -> String {
    let args = json!({"service": service, "date": "2026-11-26", "time": time, "staff": staff});
    let held = answer(app, call, "check_availability", args).await;
    assert_eq!(held["success"], true, "{held}");
    held["reservation_token"].as_str().expect("a token").to_owned()
}

async fn reservation_status(app: &TestApp, token: &str) -> (ReservationStatus, Option<String>) {
    let reservation =
        app.parts.store.get_reservation(&ReservationToken::new(token)).await.unwrap().expect("reservation stored");
    (reservation.status, reservation.status_reason)
}

async fn run_scenario(app: &TestApp, stray_path: &str) {
    // A hold booked, and Retell retrying the check (answered from the stored response).
    let caller = CallFixture::new();
    let token = hold(app, &caller, "Herrenhaarschnitt", "10:00", "Anna").await;
    let retry = json!({"name": "check_availability", "args": {"service": "Herrenhaarschnitt", "date": "2026-11-26", "time": "10:00", "staff": "Anna"}, "call": caller.json()});
    let replayed = app.post_signed("/retell/functions", retry.to_string().into_bytes()).await;
    assert_eq!(replayed.headers().get("x-idempotent-replay").and_then(|v| v.to_str().ok()), Some("true"));
    let booked =
        answer(app, &caller, "start_booking", json!({"reservation_token": token, "customer_name": "Max Mustermann"}))
            .await;
    assert_eq!(
        (booked["success"].as_bool(), booked["booking_status"].as_str()),
        (Some(true), Some("confirmed")),
        "{booked}"
    );

    // A perm hold nobody confirms: it expires when the clock passes its 180 s.
    let perm_token = hold(app, &CallFixture::new(), "Dauerwelle", "13:00", "Clara").await;
    app.clock.advance(Duration::from_secs(181));
    assert!(
        eventually(Duration::from_secs(10), || async {
            reservation_status(app, &perm_token).await.0 == ReservationStatus::Expired
        })
        .await,
        "the perm hold expired"
    );

    // A web booker takes Ben's held 15:00 at Cal.com; its webhook withdraws the hold.
    let taken_caller = CallFixture::new();
    let taken_token = hold(app, &taken_caller, "Herrenhaarschnitt", "15:00", "Ben").await;
    let ben_herrenhaarschnitt = 1201;
    app.sim()
        .book_external(ben_herrenhaarschnitt, "2026-11-26T14:00:00Z".parse().unwrap())
        .expect("Cal.com accepts the web booking");
    assert!(
        eventually(Duration::from_secs(10), || async {
            reservation_status(app, &taken_token).await == (ReservationStatus::Cancelled, Some("conflict".to_owned()))
        })
        .await,
        "the Cal.com webhook withdrew the hold"
    );
    let refused =
        answer(app, &taken_caller, "start_booking", json!({"reservation_token": taken_token, "customer_name": "Eva"}))
            .await;
    assert_eq!(refused["reason"], "conflict", "{refused}");

    // A hold given back by the caller.
    let pony_caller = CallFixture::new();
    let pony_token = hold(app, &pony_caller, "Ponyschnitt", "16:00", "Anna").await;
    let released = answer(app, &pony_caller, "release_reservation", json!({"reservation_token": pony_token})).await;
    assert_eq!(released["success"], true, "{released}");

    // Refused before any work: no signature, and a path no route matches.
    let unsigned = app
        .http
        .post(app.url("/retell/functions"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.http.get(app.url(stray_path)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

/// Every selected metric exists; every label a query filters on or groups by exists on it.
fn coverage_problems(scrape: &Scrape, queries: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (source, expr) in queries {
        let query = parse(expr);
        if query.selectors.is_empty() {
            problems.push(format!("{source}: reads no metric: {expr}"));
        }
        let mut label_names: Vec<&str> = Vec::new();
        for selector in &query.selectors {
            let metric = selector.metric.as_str();
            if source.starts_with("alert") && PROMETHEUS_SERIES.contains(&metric) {
                label_names.extend(["job", "instance"]);
                continue;
            }
            if let Some(problem) = histogram_problem(scrape, metric) {
                problems.push(format!("{source}: {problem}"));
            }
            let series = scrape.series(metric);
            if series.is_empty() {
                problems.push(format!("{source}: {metric} is not exported"));
                continue;
            }
            label_names.extend(series.iter().flat_map(|(labels, _)| labels.keys().map(String::as_str)));
            for matcher in &selector.matchers {
                let has_label = series.iter().any(|(labels, _)| labels.contains_key(&matcher.label));
                let has_value = series.iter().any(|(labels, _)| labels.get(&matcher.label) == Some(&matcher.value));
                if !has_label {
                    problems.push(format!("{source}: {metric} has no label {}", matcher.label));
                } else if matcher.op == MatchOp::Equal && !has_value {
                    problems.push(format!("{source}: no {metric} series with {}={:?}", matcher.label, matcher.value));
                }
            }
        }
        for label in &query.grouping {
            if !label_names.contains(&label.as_str()) {
                problems.push(format!("{source}: groups by {label}, which none of its metrics has: {expr}"));
            }
        }
    }
    problems
}

/// `x_bucket`, `x_sum` and `x_count` must belong to a histogram `x`, and a histogram is only
/// queried through them.
fn histogram_problem(scrape: &Scrape, metric: &str) -> Option<String> {
    let base = ["_bucket", "_sum", "_count"].iter().find_map(|suffix| metric.strip_suffix(suffix));
    match base {
        Some(base) if scrape.types.get(base).map(String::as_str) != Some("histogram") => {
            Some(format!("{metric} is queried as a histogram series, but {base} is {:?}", scrape.types.get(base)))
        }
        None if scrape.types.get(metric).map(String::as_str) == Some("histogram") => {
            Some(format!("{metric} is a histogram: query {metric}_bucket, _sum or _count"))
        }
        _ => None,
    }
}

fn label_problems(scrape: &Scrape) -> Vec<String> {
    let mut problems = Vec::new();
    for (metric, expected) in EXPECTED_LABELS {
        let series = scrape.series(metric);
        if series.is_empty() {
            problems.push(format!("{metric} is not exported"));
        }
        for (labels, _) in series {
            let names: Vec<&str> = labels.keys().map(String::as_str).collect();
            if names != *expected {
                problems.push(format!("{metric} has labels {names:?}, expected {expected:?}"));
            }
        }
    }
    problems
}

/// Labels Prometheus attaches to every scraped series (`job`, `instance`, and any `labels:` in
/// `prometheus.yml`) must not collide with a metric's own labels: Prometheus would rename the
/// metric's label to `exported_<name>` and every `by (<name>)` in the dashboard would change
/// meaning.
fn target_label_problems(scrape: &Scrape) -> Vec<String> {
    let config = read_ops("prometheus/prometheus.yml");
    let mut target_labels = vec!["job".to_owned(), "instance".to_owned()];
    let mut labels_indent = None;
    for line in config.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let indent = line.len() - line.trim_start().len();
        match labels_indent {
            Some(outer) if indent > outer => {
                if let Some((name, _)) = line.trim().split_once(':') {
                    target_labels.push(name.trim().to_owned());
                }
            }
            _ => labels_indent = (line.trim() == "labels:").then_some(indent),
        }
    }
    let metric_labels: std::collections::BTreeSet<&String> =
        scrape.samples.values().flatten().flat_map(|(labels, _)| labels.keys()).collect();
    target_labels
        .into_iter()
        .filter(|name| metric_labels.contains(name))
        .map(|name| format!("prometheus.yml target label {name:?} is also a metric label"))
        .collect()
}

/// The scenario's own events moved their series (before/after: other tests count too).
fn assert_scenario_was_counted(before: &Scrape, after: &Scrape, stray_path: &str) {
    let grew = |name: &str, labels: &[(&str, &str)], by: f64| {
        let delta = after.sum(name, labels) - before.sum(name, labels);
        assert!(delta >= by, "{name}{labels:?} grew by {delta}, expected at least {by}");
    };
    grew("reservation_created_total", &[("service", "herrenhaarschnitt"), ("service_type", "single")], 2.0);
    grew("reservation_created_total", &[("service", "dauerwelle"), ("service_type", "compound")], 1.0);
    grew("reservation_created_total", &[("service", "ponyschnitt")], 1.0);
    grew("reservation_converted_total", &[("service", "herrenhaarschnitt")], 1.0);
    grew("reservation_duration_seconds_count", &[], 1.0);
    grew("reservation_expired_total", &[("service_type", "compound")], 1.0);
    grew("reservation_validated_total", &[("valid", "true"), ("reason", "valid")], 1.0);
    grew("reservation_validated_total", &[("valid", "false"), ("reason", "conflict")], 1.0);
    grew("reservation_released_total", &[("reason", "conflict")], 1.0);
    grew("reservation_released_total", &[("reason", "released")], 1.0);
    grew("booking_total", &[("outcome", "confirmed")], 1.0);
    grew("booking_total", &[("outcome", "synced")], 1.0);
    grew("booking_phase_duration_seconds_count", &[("mode", "parallel")], 1.0);
    grew("calcom_request_duration_seconds_count", &[], 1.0);
    grew("idempotent_replays_total", &[("function", "check_availability")], 1.0);
    grew("webhook_rejected_total", &[("source", "retell")], 1.0);
    grew("retell_function_duration_seconds_count", &[("function", "check_availability")], 4.0);
    grew("retell_function_duration_seconds_count", &[("function", "start_booking")], 2.0);
    grew("http_request_duration_seconds_count", &[("route", "/retell/functions"), ("method", "POST")], 7.0);
    grew("http_request_duration_seconds_count", &[("route", "unmatched")], 1.0);
    let stray_id = stray_path.rsplit('/').next().unwrap();
    let raw_routes: Vec<&String> = after
        .series("http_request_duration_seconds_count")
        .iter()
        .filter_map(|(labels, _)| labels.get("route"))
        .filter(|r| r.contains(stray_id))
        .collect();
    assert!(raw_routes.is_empty(), "routes are templates, never raw paths: {raw_routes:?}");
    let hold_buckets: Vec<&str> = after
        .series("reservation_duration_seconds_bucket")
        .iter()
        .filter_map(|(l, _)| l.get("le").map(String::as_str))
        .collect();
    assert!(hold_buckets.contains(&"180"), "hold durations use the hold buckets (up to minutes): {hold_buckets:?}");
    let objective_bucket = after
        .series("retell_function_duration_seconds_bucket")
        .iter()
        .any(|(l, _)| l.get("le").is_some_and(|le| le == "0.015"));
    assert!(objective_bucket, "the 15 ms objective is a bucket edge");
}
