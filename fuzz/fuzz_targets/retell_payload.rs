//! Fuzz target: the Retell request parsers, the very functions the handlers call on a verified
//! body (`http::retell::{parse_function_call, parse_args_only_call, parse_webhook, parse_inbound}`).
//!
//! Input: `<route>\n<body>` with route `functions`, `functions/<name>` ("args only" mode),
//! `webhook` or `inbound`; any other first line means the whole input is a default-mode body.
//!
//! Invariants:
//! 1. parsing never panics;
//! 2. a refusal is a 400 or a 404 (never a 5xx, never an auth status);
//! 3. BK-3 (idempotency): a body that parses gives the same function, call and argument digest
//!    after it is re-encoded (key order, whitespace, escapes), so a retry Retell re-serialises
//!    differently still finds the stored answer;
//! 4. a body that is not UTF-8 is never accepted (RFC 8259 §8.1), even where its bad bytes sit in
//!    a part the typed parse skips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotkeeper::http::error::ApiError;
use slotkeeper::http::retell::{
    Function, ParsedCall, parse_args_only_call, parse_function_call, parse_inbound, parse_webhook,
};

/// Headers of an "args only" request: one call id, so that path is parsed too.
fn header(name: &str) -> Option<String> {
    (name == "x-retell-call-id").then(|| "call_fuzz_0123456789".to_owned())
}

fn parse(route: Option<&str>, body: &[u8]) -> Result<ParsedCall, ApiError> {
    match route.and_then(|r| r.strip_prefix("functions/")) {
        Some(name) => parse_args_only_call(name, body, header),
        None => parse_function_call(body),
    }
}

fn check_refusal(err: &ApiError) {
    let status = err.status().as_u16();
    assert!(status == 400 || status == 404, "parsing answered {status}: {err}");
}

/// The same JSON, written differently: pretty-printed with keys in the other order.
///
/// `None` when `serde_json::Value` cannot hold the body although it is JSON: a lone surrogate
/// escape (`"\ud800"`) is allowed by RFC 8259's grammar (§8.2 leaves its meaning open) and the
/// typed parse skips it where we never read (the transcript); where we do read, it is refused.
/// Bytes that are not UTF-8 are not JSON (§8.1) and are refused everywhere.
fn re_encode(body: &[u8]) -> Option<Vec<u8>> {
    fn reverse(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.reverse();
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, reverse(v))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(reverse).collect()),
            other => other,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    serde_json::to_vec_pretty(&reverse(value)).ok()
}

/// A body a parser accepted: it is UTF-8 (invariant 4), and its re-encoding if it has one.
fn re_encoded_accepted(body: &[u8]) -> Option<Vec<u8>> {
    assert!(std::str::from_utf8(body).is_ok(), "a body that is not UTF-8 was accepted");
    re_encode(body)
}

fuzz_target!(|data: &[u8]| {
    let (route, body) = match data.iter().position(|&b| b == b'\n') {
        Some(split) => match std::str::from_utf8(&data[..split]) {
            Ok(route)
                if route == "functions" || route == "webhook" || route == "inbound" || route.starts_with("functions/") =>
            {
                (Some(route), &data[split + 1..])
            }
            _ => (None, data),
        },
        None => (None, data),
    };
    if route == Some("inbound") {
        match parse_inbound(body) {
            Ok(envelope) => {
                let Some(other) = re_encoded_accepted(body) else { return };
                let again = parse_inbound(&other).expect("re-encoded inbound webhook parses");
                assert_eq!(again.event, envelope.event);
                assert_eq!(again.call_inbound.to_number, envelope.call_inbound.to_number);
            }
            Err(err) => check_refusal(&err),
        }
        return;
    }
    if route == Some("webhook") {
        match parse_webhook(body) {
            Ok(envelope) => {
                let Some(other) = re_encoded_accepted(body) else { return };
                let again = parse_webhook(&other).expect("re-encoded webhook parses");
                assert_eq!(again.event, envelope.event);
                assert_eq!(again.kind(), envelope.kind());
            }
            Err(err) => check_refusal(&err),
        }
        return;
    }
    match parse(route, body) {
        Ok(parsed) => {
            assert_eq!(Function::parse(parsed.function.name()), Some(parsed.function));
            assert!(parsed.args_digest.len() == 64 && parsed.args_digest.bytes().all(|b| b.is_ascii_hexdigit()));
            let Some(other) = re_encoded_accepted(body) else { return };
            let again = parse(route, &other).expect("the re-encoded body parses");
            assert_eq!(again.function, parsed.function);
            assert_eq!(again.args_digest, parsed.args_digest, "BK-3: the idempotency digest depends on the encoding");
            assert_eq!(
                (&again.call.call_id, &again.call.to_number, &again.call.from_number),
                (&parsed.call.call_id, &parsed.call.to_number, &parsed.call.from_number)
            );
        }
        Err(err) => check_refusal(&err),
    }
});
