//! A phone agent's side of the chaos tests: signed Retell function calls to whichever node is
//! up, retried like Retell retries (the same body again) when a node dies under the request.
//!
//! Outcomes follow Jepsen: an answer is `ok`/`fail`; a request whose connection died is `info`
//! (it may or may not have happened), and the retry of the same body must then either replay
//! the stored answer or do the work once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use slotkeeper::http::signature::sign;
use tokio::sync::watch;

use crate::helpers::{CallFixture, RETELL_KEY};

/// How long a caller keeps retrying one request while nodes are down or restarting.
pub const RETRY_FOR: Duration = Duration::from_secs(30);

/// An answer to one function call.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub text: String,
    pub body: Value,
    pub replayed: bool,
    /// Which node answered.
    pub node: usize,
    /// Attempts whose connection died before this answer came (Retell retries).
    pub lost_attempts: u32,
}

/// Requests in flight, by function, shared by every caller (what a kill interrupts).
#[derive(Debug, Default)]
pub struct InFlight {
    pub check: AtomicU64,
    pub book: AtomicU64,
    pub other: AtomicU64,
}

impl InFlight {
    fn counter(&self, function: &str) -> &AtomicU64 {
        match function {
            "check_availability" => &self.check,
            "start_booking" => &self.book,
            _ => &self.other,
        }
    }

    pub fn snapshot(&self) -> (u64, u64, u64) {
        (self.check.load(Ordering::Relaxed), self.book.load(Ordering::Relaxed), self.other.load(Ordering::Relaxed))
    }
}

#[derive(Clone)]
pub struct Agent {
    http: reqwest::Client,
    nodes: Vec<watch::Receiver<Option<SocketAddr>>>,
    pub in_flight: Arc<InFlight>,
}

pub fn body(call: &CallFixture, function: &str, args: &Value) -> String {
    json!({"name": function, "args": args, "call": call.json()}).to_string()
}

impl Agent {
    pub fn new(nodes: Vec<watch::Receiver<Option<SocketAddr>>>) -> Agent {
        let http = slotkeeper::calcom::http_client_builder()
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(4)
            .build()
            .unwrap();
        Agent { http, nodes, in_flight: Arc::default() }
    }

    /// `prefer` when it is up, else a node that is up at random (a load balancer); waits while
    /// none is.
    async fn pick(&self, rng: &mut StdRng, prefer: Option<usize>, deadline: Instant) -> Option<(usize, SocketAddr)> {
        loop {
            if let Some(addr) = prefer.and_then(|i| *self.nodes[i].borrow()) {
                return prefer.map(|i| (i, addr));
            }
            let up: Vec<(usize, SocketAddr)> =
                self.nodes.iter().enumerate().filter_map(|(i, rx)| rx.borrow().map(|addr| (i, addr))).collect();
            if !up.is_empty() {
                return Some(up[rng.random_range(0..up.len())]);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends `body` (freshly signed each attempt) until some node answers; `None` when no node
    /// answered within [`RETRY_FOR`].
    pub async fn send(&self, rng: &mut StdRng, function: &str, body: &str) -> Option<Reply> {
        self.send_via(rng, None, function, body).await
    }

    /// [`Agent::send`], to node `prefer` while it is up (a retry goes wherever a node is up).
    pub async fn send_via(&self, rng: &mut StdRng, prefer: Option<usize>, function: &str, body: &str) -> Option<Reply> {
        let deadline = Instant::now() + RETRY_FOR;
        let mut lost_attempts = 0;
        let counter = self.in_flight.counter(function);
        let mut prefer = prefer;
        loop {
            let (node, addr) = self.pick(rng, prefer.take(), deadline).await?;
            let signature = sign(body.as_bytes(), RETELL_KEY.as_bytes(), Utc::now().timestamp_millis());
            counter.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(format!("http://{addr}/retell/functions"))
                .header("content-type", "application/json")
                .header("x-retell-signature", signature)
                .body(body.to_owned())
                .send()
                .await;
            let answered = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let replayed = response.headers().get("x-idempotent-replay").is_some();
                    response.text().await.ok().map(|text| (status, replayed, text))
                }
                Err(_) => None,
            };
            counter.fetch_sub(1, Ordering::Relaxed);
            match answered {
                Some((status, replayed, text)) => {
                    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                    return Some(Reply { status, text, body, replayed, node, lost_attempts });
                }
                None => {
                    // The node died under the request (or is restarting): Retell tries again.
                    lost_attempts += 1;
                    if Instant::now() > deadline {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(rng.random_range(5..40))).await;
                }
            }
        }
    }

    pub async fn call(&self, rng: &mut StdRng, call: &CallFixture, function: &str, args: Value) -> Option<Reply> {
        self.send(rng, function, &body(call, function, &args)).await
    }
}
