//! Retell's request bodies, parsed once from the verified bytes into the fields we use.
//!
//! Retell's default payload is `{name, args, call}` where `call` is the whole call object as Get
//! Call returns it, live transcript included (`transcript`, `transcript_object` with per-word
//! timings, `transcript_with_tool_calls`, `latency`, …: `PhoneCallResponse` in
//! `RetellAI/retell-typescript-sdk` `src/resources/call.ts`; about 19 KiB per minute of
//! conversation). Call webhooks are `{event, call}` with the same object. The envelope types
//! here name only the fields we read; serde skips every other member with `IgnoredAny`, which
//! scans the bytes without building anything, so a 30-minute transcript is never materialised —
//! no `serde_json::Value` of the body, one pass over it. The arguments (a few fields the LLM
//! wrote) are the one part read into a `Value`, for the idempotency digest.
//!
//! Strictness the fuzzers asked for stays: a body and its `call` must be JSON *objects* (serde's
//! derive would read a struct from an array of its fields in order), arguments must be an object,
//! a member may appear once, and nothing may follow the body.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::super::error::ApiError;
use crate::booking::idempotency::args_digest;
use crate::booking::{CallInfo, Command, Function};

/// What `CallId::parse` accepts after trimming (placeholders such as `call_1` aside), for the
/// OpenAPI document: real Retell call ids are `call_` plus hex digits.
pub(in crate::http) const CALL_ID_PATTERN: &str = "^[A-Za-z0-9_-]{10,128}$";

/// The call fields we use from Retell's `call` object; every other member (the transcripts,
/// latency, cost, analysis, …) is skipped unread.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "RetellCall")]
pub(in crate::http) struct CallObject {
    #[serde(default)]
    #[schemars(pattern(CALL_ID_PATTERN))]
    pub call_id: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub from_number: Option<String>,
    #[serde(default)]
    pub to_number: Option<String>,
    /// Milliseconds since 1970.
    #[serde(default, deserialize_with = "millis")]
    #[schemars(with = "Option<i64>")]
    pub start_timestamp: Option<i64>,
    #[serde(default, deserialize_with = "millis")]
    #[schemars(with = "Option<i64>")]
    pub end_timestamp: Option<i64>,
    #[serde(default)]
    pub disconnection_reason: Option<String>,
}

impl CallObject {
    pub fn info(&self) -> CallInfo {
        CallInfo {
            args_only: false,
            call_id: self.call_id.clone(),
            agent_id: self.agent_id.clone(),
            from_number: self.from_number.clone(),
            to_number: self.to_number.clone(),
        }
    }
}

/// Retell's timestamps are JSON numbers of milliseconds; an integral float (`1.7e12`) is read
/// as the same instant, anything else is refused.
fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    if let Some(ms) = number.as_i64() {
        return Ok(Some(ms));
    }
    match number.as_f64() {
        Some(ms) if ms.fract() == 0.0 && ms.abs() < 9.0e15 => Ok(Some(ms as i64)),
        _ => Err(de::Error::custom(format_args!("a timestamp in milliseconds, not {number}"))),
    }
}

/// Deserialises `T` only from a JSON object, never from an array of its fields.
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    struct ObjectOnly<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectOnly(PhantomData))
}

/// A whole body that must be one JSON object of type `T`, with nothing after it.
///
/// The body must be UTF-8 as a whole (RFC 8259 §8.1), checked first: serde_json validates only
/// the strings it decodes, so bytes that are not UTF-8 inside a skipped part (the transcript we
/// never read) would otherwise be accepted as JSON that no other parser reads (found by the
/// `retell_payload` fuzz target).
fn parse_object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let invalid = |e: serde_json::Error| ApiError::bad_request("invalid_json", format!("body: {e}"));
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("body: not UTF-8 ({e})")))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = object(&mut deserializer).map_err(invalid)?;
    deserializer.end().map_err(invalid)?;
    Ok(value)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub(in crate::http) struct FunctionEnvelope {
    name: String,
    #[serde(default = "empty_object")]
    args: Value,
    #[serde(default, deserialize_with = "object")]
    #[schemars(with = "CallObject")]
    call: CallObject,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A function call as the handlers understand it: parsed from the verified raw body, before any
/// tenant, idempotency or booking work. [`parse_function_call`] and [`parse_args_only_call`] are
/// the handlers' own parsers, and the fuzz targets in `fuzz/` call them, so the fuzzed code is
/// the served code.
#[derive(Debug)]
pub struct ParsedCall {
    pub function: Function,
    pub call: CallInfo,
    /// [`args_digest`] of the arguments: the argument part of the idempotency key.
    pub args_digest: String,
    pub command: Command,
}

impl ParsedCall {
    fn new(function: Function, call: CallInfo, args: Value) -> Result<ParsedCall, ApiError> {
        // Not only for "args only" mode: `"args": ["Dauerwelle", "morgen"]` would otherwise be
        // read positionally into the argument struct (found by the schema-driven fuzz).
        if !args.is_object() {
            return Err(ApiError::bad_request("invalid_arguments", "the arguments must be a JSON object"));
        }
        let args_digest = args_digest(&args);
        let command =
            Command::parse(function, args).map_err(|e| ApiError::bad_request("invalid_arguments", e.to_string()))?;
        Ok(ParsedCall { function, call, args_digest, command })
    }
}

/// Default mode, `{"name", "args", "call"}`: 400 (not JSON, bad arguments) or 404 (unknown function).
pub fn parse_function_call(body: &[u8]) -> Result<ParsedCall, ApiError> {
    let envelope: FunctionEnvelope = parse_object(body)?;
    let function = Function::parse(&envelope.name).ok_or_else(|| ApiError::UnknownFunction(envelope.name.clone()))?;
    ParsedCall::new(function, envelope.call.info(), envelope.args)
}

/// "Args only" mode: the body is the arguments object, the function comes from the path, the
/// call from the `X-Retell-*` headers (`header` looks one up) or `call_id` in the arguments.
pub fn parse_args_only_call(
    name: &str,
    body: &[u8],
    header: impl Fn(&str) -> Option<String>,
) -> Result<ParsedCall, ApiError> {
    let args: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_json", format!("body: {e}")))?;
    if !args.is_object() {
        return Err(ApiError::bad_request("invalid_arguments", "the body must be a JSON object of arguments"));
    }
    let function = Function::parse(name).ok_or_else(|| ApiError::UnknownFunction(name.to_owned()))?;
    let info = CallInfo {
        args_only: true,
        call_id: header("x-retell-call-id").or_else(|| args.get("call_id").and_then(Value::as_str).map(str::to_owned)),
        agent_id: header("x-retell-agent-id"),
        from_number: header("x-retell-from-number"),
        to_number: header("x-retell-to-number"),
    };
    ParsedCall::new(function, info, args)
}

/// The call webhook events Retell sends (webhook overview page; an agent's `webhook_events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookEvent {
    CallStarted,
    CallEnded,
    CallAnalyzed,
    TranscriptUpdated,
    TransferStarted,
    TransferBridged,
    TransferCancelled,
    TransferEnded,
    /// An event this service does not know (a future one): acknowledged, counted, ignored.
    Other,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 9] = [
        WebhookEvent::CallStarted,
        WebhookEvent::CallEnded,
        WebhookEvent::CallAnalyzed,
        WebhookEvent::TranscriptUpdated,
        WebhookEvent::TransferStarted,
        WebhookEvent::TransferBridged,
        WebhookEvent::TransferCancelled,
        WebhookEvent::TransferEnded,
        WebhookEvent::Other,
    ];

    pub fn parse(name: &str) -> WebhookEvent {
        WebhookEvent::ALL.into_iter().find(|e| e.name() == name).unwrap_or(WebhookEvent::Other)
    }

    /// Retell's name; `other` for unknown events (also the metric label, so it stays bounded).
    pub fn name(self) -> &'static str {
        match self {
            WebhookEvent::CallStarted => "call_started",
            WebhookEvent::CallEnded => "call_ended",
            WebhookEvent::CallAnalyzed => "call_analyzed",
            WebhookEvent::TranscriptUpdated => "transcript_updated",
            WebhookEvent::TransferStarted => "transfer_started",
            WebhookEvent::TransferBridged => "transfer_bridged",
            WebhookEvent::TransferCancelled => "transfer_cancelled",
            WebhookEvent::TransferEnded => "transfer_ended",
            WebhookEvent::Other => "other",
        }
    }

    /// The call status a lifecycle event records; `None` for events that change nothing here.
    pub fn call_status(self) -> Option<&'static str> {
        match self {
            WebhookEvent::CallStarted => Some("started"),
            WebhookEvent::CallEnded => Some("ended"),
            WebhookEvent::CallAnalyzed => Some("analyzed"),
            _ => None,
        }
    }
}

/// A Retell call webhook (`{"event", "call"}`); only `event` and the call's fields we use are
/// read, the transcript and transfer details are skipped.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WebhookEnvelope {
    /// `call_started`, `call_ended`, `call_analyzed`, `transcript_updated`, `transfer_started`,
    /// `transfer_bridged`, `transfer_cancelled`, `transfer_ended`; others are acknowledged and ignored.
    pub event: String,
    #[serde(default, deserialize_with = "object")]
    #[schemars(with = "CallObject")]
    pub(in crate::http) call: CallObject,
}

impl WebhookEnvelope {
    pub fn kind(&self) -> WebhookEvent {
        WebhookEvent::parse(&self.event)
    }
}

/// A Retell call webhook body (`{"event", "call"}`), as the webhook handler parses it.
pub fn parse_webhook(body: &[u8]) -> Result<WebhookEnvelope, ApiError> {
    parse_object(body)
}

/// What Retell's inbound-call webhook says about a call that is ringing: no call object and no
/// call id exist yet (docs.retellai.com/features/inbound-call-webhook).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct InboundCall {
    /// The number's inbound agent, if it has one.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The caller, E.164.
    #[serde(default)]
    pub from_number: Option<String>,
    /// The salon's number, E.164.
    #[serde(default)]
    pub to_number: Option<String>,
}

/// `{"event": "call_inbound", "call_inbound": {agent_id, from_number, to_number}}`. Retell sends
/// the same webhook for inbound SMS as `chat_inbound`; any event but `call_inbound` is answered
/// with no overrides.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct InboundEnvelope {
    /// `call_inbound`.
    pub event: String,
    #[serde(default, deserialize_with = "object")]
    #[schemars(with = "InboundCall")]
    pub call_inbound: InboundCall,
}

/// The inbound webhook's body: 400 unless it is a JSON object (with `call_inbound` an object).
pub fn parse_inbound(body: &[u8]) -> Result<InboundEnvelope, ApiError> {
    parse_object(body)
}

#[cfg(test)]
mod tests;
