//! Node identity (issue 18, check 4): one live process per node id. A second process started
//! with a running node's id is refused at start with a clear error, while the node goes on
//! serving; after the node is killed (`kill -9`, no release) its id is free again once the lease
//! runs out, and a restart under the same id comes up.

use std::time::{Duration, Instant};

use super::node::{Node, chaos_env};
use crate::helpers::{Backend, TestDb, skip_pg};

/// `NODE__LEASE_SECS` of the chaos nodes (see [`chaos_env`]).
const LEASE: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_with_a_live_nodes_id_is_refused_and_a_dead_ones_id_is_taken_over() {
    if skip_pg() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let sim = super::start_sim(super::everyday_latency(1, 5)).await;
    let mut node = Node::start("node-twin", chaos_env("node-twin", &db.url, &sim.base_url(), &[])).await;

    // The live node renews every third of its lease, so the twin sees it renewed and gives up
    // within a lease (plus a debug binary's start-up).
    let (status, output) = node.start_refused(LEASE + Duration::from_secs(20)).await;
    assert!(!status.success(), "the twin was refused with a non-zero exit: {status}");
    assert!(
        output.contains("node id \"node-twin\" is in use by a running process"),
        "the twin's error names the id and the reason:\n{output}"
    );
    let http = slotkeeper::calcom::http_client_builder().timeout(Duration::from_secs(2)).build().unwrap();
    let addr = node.addr().expect("the node still runs");
    let live = http.get(format!("http://{addr}/health/live")).send().await.unwrap();
    assert!(live.status().is_success(), "the first node goes on serving");

    // Killed, the node cannot give its lease back: a restart waits it out, then takes it.
    node.kill();
    let began = Instant::now();
    node.restart().await;
    let took = began.elapsed();
    println!("node identity: twin refused; restart after kill -9 took the id over in {took:?} (lease {LEASE:?})");
    assert!(took < LEASE + Duration::from_secs(20), "the dead node's id was taken over in {took:?}");
    assert!(node.panics().is_empty(), "{:#?}", node.panics());
}
