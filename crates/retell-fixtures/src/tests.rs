use serde_json::{Value, json};

use super::*;

fn caller() -> Caller {
    Caller {
        call_id: "call_8d1f0c2b7e4a9f3c2d1e0b5a6c7d8e9f".into(),
        agent_id: "agent_demo".into(),
        from_number: "+4915112345678".into(),
        to_number: "+4930123456789".into(),
    }
}

#[test]
fn the_sdk_test_vector_signs_the_same() {
    // From the test files of Retell's TypeScript and Python SDKs.
    assert_eq!(
        sign(br#"{"event":"call_ended"}"#, "test-api-key", 1_700_000_000_000),
        "v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e"
    );
}

/// About 19 KiB a minute (the reference's measurement: 3 min ≈ 56 KiB, 12 min ≈ 225 KiB,
/// 30 min ≈ 570 KiB, 90 min ≈ 1.7 MiB).
#[test]
fn bodies_grow_by_about_nineteen_kib_a_minute() {
    for (minutes, expected_kib) in [(3.0, 56.0), (12.0, 225.0), (30.0, 570.0), (90.0, 1740.0)] {
        let body = function_call("check_availability", &json!({}), &caller(), &Conversation::new(minutes), 0);
        let kib = body.len() as f64 / 1024.0;
        assert!((kib / expected_kib - 1.0).abs() < 0.2, "{minutes} min: {kib:.0} KiB, expected ≈ {expected_kib}");
    }
}

#[test]
fn a_function_call_is_shaped_like_retells() {
    let conversation = Conversation::new(5.0);
    let args = json!({"service": "Dauerwelle", "date": "morgen"});
    let body: Value = serde_json::from_slice(&function_call(
        "check_availability",
        &args,
        &caller(),
        &conversation,
        1_765_000_000_000,
    ))
    .unwrap();
    assert_eq!(body["name"], "check_availability");
    assert_eq!(body["args"], args);
    let call = &body["call"];
    assert_eq!(call["call_id"], caller().call_id);
    assert_eq!(call["call_status"], "ongoing");
    assert_eq!(call["to_number"], "+4930123456789");
    assert!(call.get("end_timestamp").is_none(), "not ended yet");
    let object = call["transcript_object"].as_array().unwrap();
    let words: usize = object.iter().map(|u| u["words"].as_array().unwrap().len()).sum();
    assert_eq!(words, conversation.words());
    assert!((words as f64 - 750.0).abs() < 2.0, "{words} words in 5 minutes");
    let word = &object[0]["words"][0];
    assert!(word["word"].is_string() && word["start"].is_f64() && word["end"].is_f64(), "{word}");
    let woven = call["transcript_with_tool_calls"].as_array().unwrap();
    let invocations = woven.iter().filter(|e| e["role"] == "tool_call_invocation").count();
    assert_eq!(invocations, conversation.tool_calls());
    assert!(invocations >= 3, "a tool call about every 75 s: {invocations}");
    let results = woven.iter().filter(|e| e["role"] == "tool_call_result").count();
    assert_eq!(results, invocations);
    assert!(call["transcript"].as_str().unwrap().starts_with("Agent: "));
}

#[test]
fn webhooks_carry_the_stage_of_their_event() {
    let conversation = Conversation::new(1.0);
    for event in WEBHOOK_EVENTS {
        let body: Value = serde_json::from_slice(&webhook(event, &caller(), &conversation, 0)).unwrap();
        assert_eq!(body["event"], event);
        let ended = body["call"].get("end_timestamp").is_some();
        assert_eq!(ended, matches!(event, "call_ended" | "call_analyzed"), "{event}");
        assert_eq!(body["call"].get("call_analysis").is_some(), event == "call_analyzed", "{event}");
        assert_eq!(body.get("transfer_destination").is_some(), event.starts_with("transfer_"), "{event}");
    }
    let ended: Value = serde_json::from_slice(&webhook("call_ended", &caller(), &conversation, 0)).unwrap();
    assert_eq!(ended["call"]["disconnection_reason"], "user_hangup");
    assert!(ended["call"]["latency"]["e2e"]["values"].as_array().is_some_and(|v| !v.is_empty()));
}

#[test]
fn the_inbound_webhook_has_no_call_object() {
    let body: Value = serde_json::from_slice(&inbound(Some("agent_demo"), "+4915112345678", "+4930123456789")).unwrap();
    assert_eq!(body["event"], "call_inbound");
    assert_eq!(body["call_inbound"]["to_number"], "+4930123456789");
    assert!(body.get("call").is_none());
}

#[test]
fn the_same_minutes_give_the_same_bytes() {
    let a = function_call("get_appointments", &json!({}), &caller(), &Conversation::new(2.5), 7);
    let b = function_call("get_appointments", &json!({}), &caller(), &Conversation::new(2.5), 7);
    assert_eq!(a, b);
    let empty: Value =
        serde_json::from_slice(&function_call("x", &json!({}), &caller(), &Conversation::new(0.0), 0)).unwrap();
    assert_eq!(empty["call"]["transcript_object"], json!([]));
}
