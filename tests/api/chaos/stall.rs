//! A node paused past its leases (issue 18, check 3): SIGSTOP stands for a VM freeze or a long
//! GC pause. The node stops while its outbox jobs wait for Cal.com; a survivor takes the jobs
//! over when their leases run out and finishes them (finding the bookings the stalled node's
//! requests made, by their metadata); when the node resumes, its late writes carry a stale
//! fencing token and the database refuses them. Every booking is at Cal.com exactly once.

use std::time::{Duration, Instant};

use calcom_sim::{FaultSpec, Latency};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use slotkeeper::store::{Store, StoreOptions};

use super::caller::{self, Agent};
use super::node::{Node, chaos_env};
use super::verify::{self, Acked};
use crate::helpers::{Backend, CallFixture, TestDb, skip_pg};

const STALLED: usize = 0;
const SURVIVOR: usize = 1;
/// `CALCOM__OUTBOX__LEASE_SECS` and `NODE__LEASE_SECS` of the chaos nodes.
const LEASE: Duration = Duration::from_secs(3);

/// Sums a counter over its label sets in a Prometheus text exposition.
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_paused_past_its_leases_has_its_late_writes_refused_and_every_job_runs_once() {
    if skip_pg() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let mut faults = super::everyday_latency(5, 20);
    // Cal.com is slow, so the stalled node's jobs are waiting for its answers when it stops.
    faults.endpoints.insert(
        "bookings.create".into(),
        FaultSpec { latency: Latency { fixed_ms: 1500, ..Latency::default() }, ..FaultSpec::default() },
    );
    let sim = super::start_sim(faults).await;
    let extra = [("CALCOM__BOOKING_BUDGET_MS", "200".to_owned()), ("LOG__FILTER", "warn".to_owned())];
    let names = ["stall-node-a", "stall-node-b"];
    let mut nodes = Vec::new();
    for name in names {
        nodes.push(Node::start(name, chaos_env(name, &db.url, &sim.base_url(), &extra)).await);
    }
    let agent = Agent::new(nodes.iter().map(Node::address).collect());
    let mut rng = StdRng::seed_from_u64(super::seed());
    let day = &super::open_weekdays(3, 1)[0];

    let mut booked = Vec::new();
    for (i, staff) in ["Anna", "Ben", "Clara"].into_iter().enumerate() {
        let call = CallFixture::new();
        let time = format!("{}:00", 14 + i);
        let args = json!({"service": "Herrenhaarschnitt", "date": day, "time": time, "staff": staff});
        let reply = agent
            .send_via(&mut rng, Some(STALLED), "check_availability", &caller::body(&call, "check_availability", &args))
            .await
            .expect("an answer");
        let token = reply.body["reservation_token"].as_str().unwrap_or_else(|| panic!("a hold: {}", reply.text));
        let book = json!({"reservation_token": token, "customer_name": "Eingefroren"});
        let reply = agent
            .send_via(&mut rng, Some(STALLED), "start_booking", &caller::body(&call, "start_booking", &book))
            .await
            .expect("an answer");
        assert!(reply.node == STALLED && reply.body["success"] == true, "booked on the node to stall: {}", reply.text);
        assert_eq!(reply.body["booking_status"], "confirmed_pending_calendar", "Cal.com is slower than the budget");
        booked.push(Acked {
            booking_id: reply.body["booking_id"].as_str().unwrap().to_owned(),
            status: reply.body["booking_status"].as_str().unwrap().to_owned(),
        });
    }
    // Its jobs wait for Cal.com's answers now; the node freezes past every lease it holds.
    nodes[STALLED].set_running(false);
    let frozen = Instant::now();
    let store = Store::connect(&StoreOptions {
        url: db.url.clone(),
        max_connections: 2,
        acquire_timeout: Duration::from_secs(10),
        node_id: "stall-check".into(),
    })
    .await
    .unwrap();
    // The survivor takes the jobs over once their leases have run out, and finishes them.
    let drained = verify::drained(&store, LEASE * 4 + Duration::from_secs(10)).await;
    let took_over = frozen.elapsed();
    nodes[STALLED].set_running(true);
    assert!(drained, "the survivor finished the stalled node's jobs: {:?}", store.outbox_summary().await);

    // Resumed, the node gets Cal.com's late answers and tries to record them under its old claims.
    let http = slotkeeper::calcom::http_client_builder().timeout(Duration::from_secs(5)).build().unwrap();
    let metrics_of = |node: usize| {
        let (http, addr) = (http.clone(), nodes[node].addr().expect("the node runs"));
        async move { http.get(format!("http://{addr}/metrics")).send().await.unwrap().text().await.unwrap() }
    };
    let mut refused = 0.0;
    let mut lost = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        refused = counter(&metrics_of(STALLED).await, "calcom_outbox_fenced_total");
        lost = nodes[STALLED].output_tail().matches("outbox job lost its lease to another worker").count();
        if refused + lost as f64 >= booked.len() as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = verify::check_drained(&store, &sim.bookings(), &booked).await;
    println!(
        "stall: {} jobs of a node paused for {took_over:?} (leases {LEASE:?}) finished by the survivor; \
         after SIGCONT {refused} late writes refused by their fencing token, {lost} jobs stopped at their next renewal; {}",
        booked.len(),
        v.summary()
    );
    assert_eq!(v.violations(), 0, "{}\n{:#?}", v.summary(), v.examples);
    assert_eq!(v.failed_later, 0, "no booking was compensated because of the stall");
    assert!(
        refused + lost as f64 >= booked.len() as f64,
        "each of the stalled node's claims was refused or stopped: {refused} refused, {lost} stopped\n{}",
        nodes[STALLED].output_tail()
    );
    let survivor_metrics = metrics_of(SURVIVOR).await;
    assert_eq!(counter(&survivor_metrics, "calcom_outbox_fenced_total"), 0.0, "the survivor's claims stayed valid");
    for node in &nodes {
        assert!(node.panics().is_empty(), "{} panicked: {:#?}", node.name, node.panics());
    }
}
