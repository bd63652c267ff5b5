//! Retell-shaped requests: signed function calls and call webhooks, and the answers we read.
//!
//! Requests look like Retell's: `{"name","args","call":{call_id, agent_id, from_number,
//! to_number}}`, signed `X-Retell-Signature: v=<ms>,d=<hmac>` over the exact bytes sent. Call ids
//! are `call_` + 32 hex digits, caller numbers E.164.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use slotkeeper::http::signature::sign;

use crate::configgen::{DEMO_AGENT, DEMO_NUMBER, RETELL_KEY};

/// A fresh Retell call id: `call_` + 32 hex digits, the first a letter (the service refuses
/// all-digit ids as placeholders; 1 in 3.4 million random hex ids is all digits).
pub fn new_call_id() -> String {
    format!("call_{:x}{:031x}", 10 + rand::random::<u8>() % 6, rand::random::<u128>() >> 4)
}

/// A German mobile number for caller `n`.
pub fn caller_number(n: u64) -> String {
    format!("+49151{:08}", n % 100_000_000)
}

/// One phone call: who calls which salon.
#[derive(Debug, Clone)]
pub struct Call {
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub agent: String,
}

impl Call {
    pub fn demo(n: u64) -> Call {
        Call { call_id: new_call_id(), from: caller_number(n), to: DEMO_NUMBER.into(), agent: DEMO_AGENT.into() }
    }

    fn object(&self) -> Value {
        json!({"call_id": self.call_id, "agent_id": self.agent, "from_number": self.from, "to_number": self.to})
    }

    pub fn function_body(&self, name: &str, args: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"name": name, "args": args, "call": self.object()})).unwrap_or_default()
    }

    pub fn ended_body(&self) -> Vec<u8> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut call = self.object();
        call["call_status"] = json!("ended");
        call["end_timestamp"] = json!(now);
        call["disconnection_reason"] = json!("user_hangup");
        serde_json::to_vec(&json!({"event": "call_ended", "call": call})).unwrap_or_default()
    }
}

/// `X-Retell-Signature` for `body`, signed now.
pub fn signature(body: &[u8]) -> String {
    sign(body, RETELL_KEY.as_bytes(), chrono::Utc::now().timestamp_millis())
}

/// A time offered by the service.
#[derive(Debug, Clone, Deserialize)]
pub struct Slot {
    pub start: String,
    #[serde(default)]
    pub staff: String,
}

/// The fields of an answer the harness looks at.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Answer {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub available: Option<bool>,
    #[serde(default)]
    pub reservation_token: Option<String>,
    #[serde(default)]
    pub time_remaining: Option<u64>,
    #[serde(default)]
    pub alternatives: Option<Vec<Slot>>,
    #[serde(default)]
    pub booking_id: Option<String>,
    #[serde(default)]
    pub booking_status: Option<String>,
    /// The offered slot's start (RFC 3339, local offset) and stylist.
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub staff: Option<String>,
    /// The service answered from its idempotency store (`x-idempotent-replay: true`).
    #[serde(skip)]
    pub replayed: bool,
}

/// What came back from one request.
#[derive(Debug)]
pub enum Reply {
    /// 200 with a parsed answer.
    Answer(Answer),
    /// Any other status.
    Status(u16),
    /// No answer: timeout, connection refused or reset.
    Transport(&'static str),
}

impl Reply {
    /// Error kind for the report (`None` for a 200 answer).
    pub fn error_kind(&self) -> Option<String> {
        match self {
            Reply::Answer(_) => None,
            Reply::Status(status) => Some(format!("http_{status}")),
            Reply::Transport(kind) => Some((*kind).to_owned()),
        }
    }
}

/// Sends signed Retell requests to one service.
#[derive(Clone)]
pub struct RetellClient {
    pub http: reqwest::Client,
    pub base: String,
    pub timeout: Duration,
}

impl RetellClient {
    pub async fn function(&self, call: &Call, name: &str, args: Value) -> (Reply, Duration) {
        let body = call.function_body(name, args);
        self.post("/retell/functions", body).await
    }

    pub async fn call_ended(&self, call: &Call) -> (Reply, Duration) {
        self.post("/retell/webhook", call.ended_body()).await
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> (Reply, Duration) {
        let started = Instant::now();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("x-retell-signature", signature(&body))
            .timeout(self.timeout)
            .body(body);
        let reply = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let replayed = response.headers().get("x-idempotent-replay").is_some_and(|v| v == "true");
                match response.bytes().await {
                    Ok(bytes) if status == 200 => match serde_json::from_slice::<Answer>(&bytes) {
                        Ok(answer) => Reply::Answer(Answer { replayed, ..answer }),
                        Err(_) => Reply::Status(200),
                    },
                    Ok(_) if status == 204 => Reply::Answer(Answer { success: true, ..Answer::default() }),
                    Ok(_) => Reply::Status(status),
                    Err(_) => Reply::Transport("body_error"),
                }
            }
            Err(err) if err.is_timeout() => Reply::Transport("timeout"),
            Err(err) if err.is_connect() => Reply::Transport("connect_error"),
            Err(_) => Reply::Transport("transport_error"),
        };
        (reply, started.elapsed())
    }
}

/// A local date and time ("2026-11-27", "10:00") and stylist name from an offered slot.
pub fn slot_request(slot: &Slot) -> Option<(String, String, String)> {
    let start = chrono::DateTime::parse_from_rfc3339(&slot.start).ok()?;
    Some((start.format("%Y-%m-%d").to_string(), start.format("%H:%M").to_string(), slot.staff.clone()))
}
