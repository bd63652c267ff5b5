//! Fuzz target: `X-Retell-Signature` parsing and verification (`http::signature`, invariant BK-6).
//!
//! Input: `<header value>\n<body>` (no newline: the whole input is the header, the body empty).
//!
//! Invariants:
//! 1. `parse_header` and `verify` never panic, whatever the header, body, key, clock or tolerance;
//! 2. `parse_header` accepts exactly `v=<1-15 digits, no leading zero>,d=<64 lowercase hex>` (an
//!    independent oracle below) and its result re-renders to a header that parses to the same value;
//! 3. `verify` accepts only what `sign` produced for this body and key, inside the window;
//! 4. what `sign` produces verifies at its own timestamp, and fails for any other body or key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotkeeper::http::signature::{SignatureError, parse_header, sign, verify};

const KEY: &[u8] = b"test-api-key";
const WINDOW: i64 = 300_000;

/// The grammar, written independently of the parser.
fn well_formed(header: &str) -> bool {
    let Some(rest) = header.strip_prefix("v=") else { return false };
    let Some((ts, digest)) = rest.split_once(",d=") else { return false };
    (1..=15).contains(&ts.len())
        && ts.bytes().all(|b| b.is_ascii_digit())
        && (ts == "0" || !ts.starts_with('0'))
        && digest.len() == 64
        && digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or_default();

    let parsed = parse_header(&header);
    assert_eq!(parsed.is_ok(), well_formed(&header), "{header:?}: {parsed:?}");
    if let Ok((ts, digest)) = parsed {
        let canonical = format!("v={ts},d={}", hex::encode(digest));
        assert_eq!(parse_header(&canonical), Ok((ts, digest)));
    }

    // Every clock and tolerance, including absurd ones, must give an answer, never a panic; and
    // an acceptance must be a genuine signature inside the window.
    let ts = parsed.map(|(ts, _)| ts).unwrap_or(1_700_000_000_000);
    for (now, tolerance) in [
        (ts, WINDOW),
        (ts + WINDOW + 1, WINDOW),
        (i64::MIN, WINDOW),
        (i64::MAX, WINDOW),
        (ts, i64::MAX),
        (0, -1),
        (i64::MIN, i64::MAX),
    ] {
        for key in [KEY, body] {
            if verify(body, Some(&header), key, now, tolerance).is_ok() {
                let (ts, _) = parse_header(header.trim()).expect("accepted headers parse");
                assert!(
                    tolerance >= 0 && now.abs_diff(ts) <= tolerance as u64,
                    "accepted outside the window: now {now}, {header:?}"
                );
                assert_eq!(sign(body, key, ts), header.trim(), "accepted a signature sign() did not make");
            }
        }
    }

    // sign → verify round trip at the header's own timestamp (or a fixed one), and tampering.
    let genuine = sign(body, KEY, ts);
    assert_eq!(verify(body, Some(&genuine), KEY, ts, 0), Ok(()), "{genuine}");
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert_eq!(verify(&tampered, Some(&genuine), KEY, ts, WINDOW), Err(SignatureError::Mismatch));
    assert_eq!(verify(body, Some(&genuine), b"another-key", ts, WINDOW), Err(SignatureError::Mismatch));
});
