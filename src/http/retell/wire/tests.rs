use serde_json::Value;

use super::*;
use crate::http::error::ApiError;

fn code(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, &'static str) {
    let err = result.expect_err("refused");
    (err.status().as_u16(), err.code())
}

/// Regression (schema-driven fuzz): serde reads a struct from an array of its fields in order,
/// so positional arguments and array bodies were accepted as if they were objects.
#[test]
fn arguments_and_bodies_must_be_objects_never_positional_arrays() {
    let call = r#"{"call_id": "call_8d1f0c2b7e4a", "to_number": "+4930123456789"}"#;
    let positional = format!(r#"{{"name": "check_availability", "args": ["Dauerwelle", "morgen"], "call": {call}}}"#);
    assert_eq!(code(parse_function_call(positional.as_bytes())), (400, "invalid_arguments"));
    let all_defaults = format!(r#"{{"name": "cancel_booking", "args": [null, null], "call": {call}}}"#);
    assert_eq!(code(parse_function_call(all_defaults.as_bytes())), (400, "invalid_arguments"));
    let array_body = format!(r#"["get_appointments", {{}}, {call}]"#);
    assert_eq!(code(parse_function_call(array_body.as_bytes())), (400, "invalid_json"));
    assert_eq!(code(parse_webhook(br#"["call_started"]"#)), (400, "invalid_json"));
    let positional_call = br#"{"event": "call_ended", "call": ["call_8d1f0c2b7e4a", null, null, "+4930123456789"]}"#;
    assert_eq!(code(parse_webhook(positional_call)), (400, "invalid_json"));
    assert_eq!(code(parse_args_only_call("cancel_booking", b"[null, null]", |_| None)), (400, "invalid_arguments"));
    // The object forms still parse.
    let object = format!(r#"{{"name": "cancel_booking", "args": {{}}, "call": {call}}}"#);
    assert_eq!(parse_function_call(object.as_bytes()).unwrap().function, Function::CancelBooking);
    assert_eq!(parse_webhook(br#"{"event": "call_started"}"#).unwrap().event, "call_started");
}

/// Regression (fuzz target `retell_payload`): serde_json's default float parsing may be 1 ULP
/// off, so an 87-digit number and its shortest re-encoding (`1.0555555555555556e86`) parsed to
/// different values and gave different idempotency digests (BK-3). Fixed by `float_roundtrip`.
#[test]
fn the_argument_digest_does_not_depend_on_how_a_number_is_spelled() {
    // The fuzzer's number: 87 digits, parsed as 1.0555555555555555e86 without float_roundtrip.
    let long = format!(r#"{{"service": "Herrenschnitt", "date": "morgen", "extra": 10{}}}"#, "5".repeat(85));
    let first = parse_args_only_call("find_alternatives", long.as_bytes(), |_| None).unwrap();
    let value: Value = serde_json::from_str(&long).unwrap();
    let again = parse_args_only_call("find_alternatives", value.to_string().as_bytes(), |_| None).unwrap();
    assert!(value["extra"].is_f64(), "{value}");
    assert_eq!(first.args_digest, again.args_digest);
}

/// A real call object: everything Retell sends is skipped except the fields we use.
#[test]
fn the_call_object_yields_its_identity_and_skips_the_transcript() {
    let body = br#"{"name": "get_appointments", "args": {}, "unknown_top": [1, {"a": 2}], "call": {
        "call_type": "phone_call", "call_id": "call_8d1f0c2b7e4a9f3c", "agent_id": "agent_demo", "agent_version": 7,
        "call_status": "ongoing", "direction": "inbound", "from_number": "+4915112345678", "to_number": "+4930123456789",
        "start_timestamp": 1765100000000.0, "metadata": {"x": [null, true]}, "retell_llm_dynamic_variables": {"a": "b"},
        "transcript": "Agent: Hallo\nUser: \"Dauerwelle\" bitte \u00e4",
        "transcript_object": [{"role": "agent", "content": "Hallo", "words": [{"word": "Hallo", "start": 0.4, "end": 0.71}]}],
        "transcript_with_tool_calls": [{"role": "tool_call_invocation", "tool_call_id": "ab12", "name": "check_availability", "arguments": "{\"service\":\"Dauerwelle\"}"}],
        "latency": {"e2e": {"p50": 800, "values": [800, 900.5]}}}}"#;
    let parsed = parse_function_call(body).unwrap();
    assert_eq!(parsed.function, Function::GetAppointments);
    assert_eq!(parsed.call.call_id.as_deref(), Some("call_8d1f0c2b7e4a9f3c"));
    assert_eq!(parsed.call.agent_id.as_deref(), Some("agent_demo"));
    assert_eq!(parsed.call.from_number.as_deref(), Some("+4915112345678"));
    assert_eq!(parsed.call.to_number.as_deref(), Some("+4930123456789"));
    let webhook = parse_webhook(
        br#"{"event": "call_ended", "call": {"call_id": "call_8d1f0c2b7e4a9f3c",
        "start_timestamp": 1765100000000, "end_timestamp": 1.7651000605e12, "disconnection_reason": "user_hangup",
        "transcript_object": [], "call_cost": {"combined_cost": 12.5}}}"#,
    )
    .unwrap();
    assert_eq!(webhook.kind(), WebhookEvent::CallEnded);
    assert_eq!(webhook.call.start_timestamp, Some(1_765_100_000_000));
    assert_eq!(webhook.call.end_timestamp, Some(1_765_100_060_500));
    assert_eq!(webhook.call.disconnection_reason.as_deref(), Some("user_hangup"));
}

#[test]
fn a_member_twice_trailing_bytes_and_odd_timestamps_are_refused() {
    let twice = br#"{"name": "get_appointments", "name": "cancel_booking", "args": {}}"#;
    assert_eq!(code(parse_function_call(twice)), (400, "invalid_json"));
    let trailing = br#"{"name": "get_appointments", "args": {}} {"#;
    assert_eq!(code(parse_function_call(trailing)), (400, "invalid_json"));
    let fractional = br#"{"event": "call_ended", "call": {"call_id": "call_8d1f0c2b7e4a", "end_timestamp": 1.5}}"#;
    assert_eq!(code(parse_webhook(fractional)), (400, "invalid_json"));
    let text = br#"{"event": "call_ended", "call": {"start_timestamp": "yesterday"}}"#;
    assert_eq!(code(parse_webhook(text)), (400, "invalid_json"));
    let null_call = br#"{"event": "call_ended", "call": null}"#;
    assert_eq!(code(parse_webhook(null_call)), (400, "invalid_json"));
}

#[test]
fn every_event_retell_sends_has_its_name_and_others_are_other() {
    for event in WebhookEvent::ALL.into_iter().filter(|e| *e != WebhookEvent::Other) {
        assert_eq!(WebhookEvent::parse(event.name()), event);
    }
    assert_eq!(WebhookEvent::parse("call_teleported"), WebhookEvent::Other);
    assert_eq!(WebhookEvent::parse("other"), WebhookEvent::Other);
    assert_eq!(WebhookEvent::CallEnded.call_status(), Some("ended"));
    assert_eq!(WebhookEvent::TranscriptUpdated.call_status(), None);
}

#[test]
fn the_inbound_webhook_is_an_object_with_a_call_inbound_object() {
    let ok = parse_inbound(
        br#"{"event": "call_inbound", "call_inbound": {"agent_id": "agent_demo", "agent_version": 3,
        "from_number": "+4915112345678", "to_number": "+4930123456789"}}"#,
    )
    .unwrap();
    assert_eq!(ok.call_inbound.to_number.as_deref(), Some("+4930123456789"));
    assert_eq!(parse_inbound(br#"{"event": "chat_inbound"}"#).unwrap().call_inbound.to_number, None);
    assert_eq!(code(parse_inbound(br#"["call_inbound"]"#)), (400, "invalid_json"));
    assert_eq!(code(parse_inbound(br#"{"event": "call_inbound", "call_inbound": ["a"]}"#)), (400, "invalid_json"));
}

/// Regression (fuzz target `retell_payload`, CI): a byte that is not UTF-8 inside the transcript,
/// which the typed parse skips, was accepted, while no other JSON parser reads that body.
#[test]
fn a_body_that_is_not_utf8_is_refused_even_where_we_do_not_read() {
    let mut webhook = br#"{"event": "transcript_updated", "call": {"call_id": "call_8d1f0c2b7e4a",
        "transcript_with_tool_calls": [{"role": "tool_Xall_result", "content": "{}"}]}}"#
        .to_vec();
    let at = webhook.iter().position(|&b| b == b'X').unwrap();
    webhook[at] = 0x90;
    assert_eq!(code(parse_webhook(&webhook)), (400, "invalid_json"));
    let mut call = br#"{"name": "get_appointments", "args": {}, "call": {"call_id": "call_8d1f0c2b7e4a",
        "transcript": "User: Hallo X"}}"#
        .to_vec();
    let at = call.iter().position(|&b| b == b'X').unwrap();
    call[at] = 0xff;
    assert_eq!(code(parse_function_call(&call)), (400, "invalid_json"));
    assert_eq!(code(parse_inbound(b"{\"event\": \"call_inbound\", \"x\": \"\xc3\"}")), (400, "invalid_json"));
    // Real UTF-8 (umlauts) in the skipped parts still parses.
    let umlauts = "{\"event\": \"call_ended\", \"call\": {\"transcript\": \"Gr\u{fc}\u{df}e\"}}";
    assert_eq!(parse_webhook(umlauts.as_bytes()).unwrap().kind(), WebhookEvent::CallEnded);
}
