//! Retell request bodies as Retell really sends them, for tests, benches and the load harness.
//!
//! Retell's custom-function calls (default payload `{name, args, call}`) and call webhooks
//! (`{event, call}`) carry the whole call object as Get Call returns it, **with the live
//! transcript up to that moment** (`../shared/reference/retell-and-calcom-apis.md` §1.1, §1.4;
//! the `PhoneCallResponse` type in `RetellAI/retell-typescript-sdk` `src/resources/call.ts`):
//! `transcript` (text), `transcript_object` (utterances with per-word `{word, start, end}`
//! timings in seconds of audio), `transcript_with_tool_calls` (the same utterances with
//! `tool_call_invocation` / `tool_call_result` / `node_transition` entries woven in), and after
//! the end `latency`, `call_cost`, `llm_token_usage`, recording URLs and, for `call_analyzed`,
//! `call_analysis`. Such a body grows by about 19 KiB per minute of conversation at the ~150
//! spoken words a minute of a phone call; the small examples in Retell's docs are not what a
//! five-minute booking call sends.
//!
//! [`Conversation`] generates that content for a given number of minutes of German salon talk,
//! deterministically (same minutes and seed, same bytes), and renders it once; the body
//! builders splice the rendered text into each request, so a load generator pays a copy, not a
//! serialisation, per request. [`sign`] signs as Retell's SDKs do (`v=<ms>,d=<hex
//! HMAC-SHA256(body + ms)>`, `src/lib/webhook_auth.ts`), independently of the service's own
//! verifier.
//!
//! This crate is test support: it never runs in the service.

#![forbid(unsafe_code)]

mod talk;

use std::fmt::Write as _;
use std::io::Write as _;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Who calls whom: the identity fields of Retell's call object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub call_id: String,
    pub agent_id: String,
    pub from_number: String,
    pub to_number: String,
}

/// Where the call is: what Retell has filled in by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// During the call (function calls, `call_started`, `transcript_updated`, transfers).
    Ongoing,
    /// After the hang-up (`call_ended`): end time, reason, recording, latency, cost.
    Ended,
    /// After post-call analysis (`call_analyzed`): everything plus `call_analysis`.
    Analyzed,
}

impl Stage {
    /// The stage of the call object a webhook event carries.
    pub fn of_event(event: &str) -> Stage {
        match event {
            "call_ended" => Stage::Ended,
            "call_analyzed" => Stage::Analyzed,
            _ => Stage::Ongoing,
        }
    }
}

/// Every call webhook event Retell sends (webhook overview page; the agent's `webhook_events`).
pub const WEBHOOK_EVENTS: [&str; 8] = [
    "call_started",
    "transcript_updated",
    "transfer_started",
    "transfer_bridged",
    "transfer_cancelled",
    "transfer_ended",
    "call_ended",
    "call_analyzed",
];

/// Minutes of conversation the black-box tests send every function and webhook at.
pub const TEST_MINUTES: [f64; 6] = [0.0, 1.0, 5.0, 12.0, 30.0, 90.0];

/// Spoken words per minute of a phone conversation (both sides together).
pub const WORDS_PER_MINUTE: f64 = 150.0;

/// A call's content so far, rendered once.
#[derive(Debug, Clone)]
pub struct Conversation {
    minutes: f64,
    /// `"transcript":…,"transcript_object":[…],"transcript_with_tool_calls":[…]`: JSON members
    /// without the surrounding braces, ready to splice into a call object.
    live: String,
    /// `"latency":{…},"llm_token_usage":{…}`: the post-call members that grow with the call.
    post_call: String,
    words: usize,
    tool_calls: usize,
    audio_secs: f64,
}

impl Conversation {
    /// `minutes` of conversation with the default seed.
    pub fn new(minutes: f64) -> Conversation {
        Conversation::with_seed(minutes, 0x5107_6EE9)
    }

    pub fn with_seed(minutes: f64, seed: u64) -> Conversation {
        let talk = talk::generate(minutes.max(0.0), seed);
        let transcript: String = talk.utterances.iter().map(|u| format!("{}: {}\n", u.speaker(), u.text())).collect();
        let object: Vec<Value> = talk.utterances.iter().map(talk::Utterance::to_json).collect();
        let with_tools: Vec<Value> = talk.woven().collect();
        let mut live = String::with_capacity(talk.words * 110 + 1024);
        let _ = write!(
            live,
            r#""transcript":{},"transcript_object":{},"transcript_with_tool_calls":{}"#,
            Value::String(transcript),
            Value::Array(object),
            Value::Array(with_tools),
        );
        let post_call = format!(r#""latency":{},"llm_token_usage":{}"#, talk.latency_json(), talk.token_usage_json());
        Conversation {
            minutes: minutes.max(0.0),
            live,
            post_call,
            words: talk.words,
            tool_calls: talk.tool_calls,
            audio_secs: talk.audio_secs,
        }
    }

    pub fn minutes(&self) -> f64 {
        self.minutes
    }

    /// Spoken words in the transcript.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Tool calls (invocation + result pairs) in `transcript_with_tool_calls`.
    pub fn tool_calls(&self) -> usize {
        self.tool_calls
    }

    /// The rendered transcript members (see the field's doc).
    pub fn live_members(&self) -> &str {
        &self.live
    }

    fn duration_ms(&self) -> i64 {
        (self.audio_secs * 1000.0).round() as i64
    }
}

/// The whole call object, as a JSON text. `start_ms` is the call's `start_timestamp`.
pub fn call_object(caller: &Caller, conversation: &Conversation, stage: Stage, start_ms: i64) -> String {
    let mut out = Vec::with_capacity(conversation.live.len() + conversation.post_call.len() + 2048);
    write_call_object(&mut out, caller, conversation, stage, start_ms);
    String::from_utf8(out).expect("the call object is written from UTF-8 text")
}

fn write_call_object(out: &mut Vec<u8>, caller: &Caller, conversation: &Conversation, stage: Stage, start_ms: i64) {
    let status = if stage == Stage::Ongoing { "ongoing" } else { "ended" };
    let _ = write!(
        out,
        r#"{{"call_id":{},"call_type":"phone_call","agent_id":{},"agent_version":7,"agent_name":"Salon Telefon","call_status":"{status}","direction":"inbound","from_number":{},"to_number":{},"start_timestamp":{start_ms},"metadata":{{"source":"inbound"}},"retell_llm_dynamic_variables":{{"salon_name":"Salon Beispiel","current_time_Europe/Berlin":"Montag, 7. Dezember 2026 09:15"}},"custom_sip_headers":{{}},"data_storage_setting":"everything","opt_in_signed_url":false,"telephony_identifier":{{"twilio_call_sid":"CA{}"}},"#,
        Value::from(caller.call_id.as_str()),
        Value::from(caller.agent_id.as_str()),
        Value::from(caller.from_number.as_str()),
        Value::from(caller.to_number.as_str()),
        hex::encode(&caller.call_id.as_bytes()[..caller.call_id.len().min(16)]),
    );
    out.extend_from_slice(conversation.live.as_bytes());
    if stage != Stage::Ongoing {
        let duration = conversation.duration_ms();
        let _ = write!(
            out,
            r#","end_timestamp":{},"duration_ms":{duration},"disconnection_reason":"user_hangup","recording_url":"https://dxc03zgurdly9.cloudfront.net/{id}/recording.wav","recording_multi_channel_url":"https://dxc03zgurdly9.cloudfront.net/{id}/recording_multichannel.wav","public_log_url":"https://dxc03zgurdly9.cloudfront.net/{id}/public.log","collected_dynamic_variables":{{"previous_node":"Buchung","current_node":"Abschied"}},"call_cost":{{"product_costs":[{{"product":"retell_platform","unit_price":0.1167,"cost":{}}}],"total_duration_seconds":{},"total_duration_unit_price":0.1167,"combined_cost":{}}},"#,
            start_ms + duration,
            (duration as f64 / 1000.0 * 0.1167).round(),
            duration / 1000,
            (duration as f64 / 1000.0 * 0.1167).round(),
            id = caller.call_id,
        );
        out.extend_from_slice(conversation.post_call.as_bytes());
    }
    if stage == Stage::Analyzed {
        out.extend_from_slice(
            r#","call_analysis":{"call_summary":"Die Anruferin hat eine Dauerwelle für Donnerstag um 10 Uhr gebucht und nach Preis und Dauer gefragt.","in_voicemail":false,"user_sentiment":"Positive","call_successful":true,"custom_analysis_data":{"service":"Dauerwelle","booked":true}}"#
                .as_bytes(),
        );
    }
    out.push(b'}');
}

/// A custom-function call in Retell's default payload: `{"name", "args", "call"}`. `args_json`
/// is the arguments object as JSON text (what the LLM produced).
pub fn write_function_call(
    buf: &mut Vec<u8>,
    name: &str,
    args_json: &str,
    caller: &Caller,
    conversation: &Conversation,
    start_ms: i64,
) {
    buf.reserve(conversation.live.len() + args_json.len() + name.len() + 2048);
    buf.extend_from_slice(br#"{"name":"#);
    buf.extend_from_slice(Value::from(name).to_string().as_bytes());
    buf.extend_from_slice(br#","args":"#);
    buf.extend_from_slice(args_json.as_bytes());
    buf.extend_from_slice(br#","call":"#);
    write_call_object(buf, caller, conversation, Stage::Ongoing, start_ms);
    buf.push(b'}');
}

/// [`write_function_call`] into a new buffer.
pub fn function_call(name: &str, args: &Value, caller: &Caller, conversation: &Conversation, start_ms: i64) -> Vec<u8> {
    let mut buf = Vec::new();
    write_function_call(&mut buf, name, &args.to_string(), caller, conversation, start_ms);
    buf
}

/// A call webhook: `{"event", "call"}`; transfer events add `transfer_destination` and
/// `transfer_option` (webhook overview page).
pub fn webhook(event: &str, caller: &Caller, conversation: &Conversation, start_ms: i64) -> Vec<u8> {
    let call = call_object(caller, conversation, Stage::of_event(event), start_ms);
    let mut body = format!(r#"{{"event":{},"call":{call}"#, Value::from(event));
    if event.starts_with("transfer_") {
        body.push_str(
            r#","transfer_destination":{"type":"predefined","number":"+4930123456780"},"transfer_option":{"type":"warm_transfer","show_transferee_as_caller":true}"#,
        );
    }
    body.push('}');
    body.into_bytes()
}

/// Retell's inbound-call webhook (per phone number): `{"event": "call_inbound", "call_inbound":
/// {agent_id?, agent_version?, from_number, to_number}}`; there is no call object or call id yet
/// (docs.retellai.com/features/inbound-call-webhook).
pub fn inbound(agent_id: Option<&str>, from_number: &str, to_number: &str) -> Vec<u8> {
    let mut inner = serde_json::Map::new();
    if let Some(agent) = agent_id {
        inner.insert("agent_id".into(), json!(agent));
        inner.insert("agent_version".into(), json!(7));
    }
    inner.insert("from_number".into(), json!(from_number));
    inner.insert("to_number".into(), json!(to_number));
    json!({"event": "call_inbound", "call_inbound": inner}).to_string().into_bytes()
}

/// `X-Retell-Signature` as Retell's SDKs compute it: `v=<ms>,d=<lowercase hex
/// HMAC-SHA256(key, body ‖ decimal ms)>` (`src/lib/webhook_auth.ts`, `webhook_auth.py`).
pub fn sign(body: &[u8], api_key: &str, timestamp_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(timestamp_ms.to_string().as_bytes());
    format!("v={timestamp_ms},d={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests;
