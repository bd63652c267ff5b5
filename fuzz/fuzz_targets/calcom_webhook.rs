//! Fuzz target: the Cal.com webhook body parser (`calcom::webhook::WebhookEvent::parse`), which
//! reads every signed delivery before it changes busy times on our calendars.
//!
//! Invariants:
//! 1. parsing never panics;
//! 2. what parses survives a round trip: serialising the event and parsing it again gives the
//!    same event (no field is read differently the second time, e.g. a time zone or a `null`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotkeeper::calcom::webhook::WebhookEvent;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = WebhookEvent::parse(data) {
        let encoded = serde_json::to_vec(&event).expect("a parsed event serialises");
        let again =
            WebhookEvent::parse(&encoded).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&encoded)));
        assert_eq!(again, event);
    }
});
