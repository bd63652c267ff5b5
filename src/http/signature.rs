//! Verifying `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256(raw body + v)>` (invariant BK-6).
//!
//! Parsed strictly, like Retell's current SDKs: the whole header must be `v=<digits>,d=<64 lowercase
//! hex>`; the timestamp is in milliseconds and must be within the tolerance in either direction;
//! the digest is compared in constant time (`Mac::verify_slice`). Verification runs on the raw bytes
//! before any JSON parsing, and there is no way to switch it off.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest timestamp we parse (ms since 1970 has 13 digits until the year 2286).
const MAX_TIMESTAMP_DIGITS: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing signature header")]
    Missing,
    #[error("malformed signature header")]
    Malformed,
    #[error("signature timestamp outside the allowed window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

impl SignatureError {
    /// Label for `webhook_rejected_total{reason}`.
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing_signature",
            SignatureError::Malformed => "malformed_signature",
            SignatureError::Stale => "stale_signature",
            SignatureError::Mismatch => "bad_signature",
        }
    }
}

/// `(timestamp_ms, digest)` from the header value.
pub fn parse_header(value: &str) -> Result<(i64, [u8; 32]), SignatureError> {
    let rest = value.strip_prefix("v=").ok_or(SignatureError::Malformed)?;
    let (timestamp, digest) = rest.split_once(",d=").ok_or(SignatureError::Malformed)?;
    if timestamp.is_empty() || timestamp.len() > MAX_TIMESTAMP_DIGITS || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Malformed);
    }
    // Canonical digits only: the MAC covers `timestamp.to_string()`, so `v=0170…` would verify with
    // the digest of `v=170…` — one signature, many headers (found by fuzzing). Retell's SDKs sign
    // the digits verbatim and never write a leading zero.
    if timestamp.len() > 1 && timestamp.starts_with('0') {
        return Err(SignatureError::Malformed);
    }
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(SignatureError::Malformed);
    }
    let timestamp: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digest, &mut bytes).map_err(|_| SignatureError::Malformed)?;
    Ok((timestamp, bytes))
}

/// Checks `header` for `body` with `key` at `now_ms`.
pub fn verify(
    body: &[u8],
    header: Option<&str>,
    key: &[u8],
    now_ms: i64,
    tolerance_ms: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let (timestamp, digest) = parse_header(header.trim())?;
    // `abs_diff` cannot overflow whatever the clock says (`now_ms - timestamp` did for extreme
    // clocks, found by fuzzing); a negative tolerance accepts nothing.
    let fresh = u64::try_from(tolerance_ms).is_ok_and(|tolerance| now_ms.abs_diff(timestamp) <= tolerance);
    if !fresh {
        return Err(SignatureError::Stale);
    }
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.update(timestamp.to_string().as_bytes());
    mac.verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
}

/// The header Retell would send (used by tests, the load harness and the demo client).
pub fn sign(body: &[u8], key: &[u8], timestamp_ms: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(timestamp_ms.to_string().as_bytes());
    format!("v={timestamp_ms},d={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event":"call_ended"}"#;
    const KEY: &[u8] = b"test-api-key";
    const TS: i64 = 1_700_000_000_000;
    /// From the test files of Retell's TypeScript and Python SDKs.
    const SDK_HEADER: &str = "v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e";
    const FIVE_MIN: i64 = 300_000;

    #[test]
    fn the_sdk_test_vector_verifies() {
        assert_eq!(sign(BODY, KEY, TS), SDK_HEADER);
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, TS + 1_000, FIVE_MIN), Ok(()));
    }

    #[test]
    fn an_empty_body_has_its_own_signature() {
        assert_eq!(
            sign(b"", KEY, TS),
            "v=1700000000000,d=3c2757e9ff3f06dc2b4957bb8f8018c615ab2e0c6f522e1de8537bf316688224"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let tampered = br#"{"event":"call_started"}"#;
        assert_eq!(verify(tampered, Some(SDK_HEADER), KEY, TS, FIVE_MIN), Err(SignatureError::Mismatch));
        assert_eq!(verify(BODY, Some(SDK_HEADER), b"other-key", TS, FIVE_MIN), Err(SignatureError::Mismatch));
        let other_time = SDK_HEADER.replace("1700000000000", "1700000000001");
        assert_eq!(verify(BODY, Some(&other_time), KEY, TS, FIVE_MIN), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, TS + FIVE_MIN, FIVE_MIN), Ok(()));
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, TS + FIVE_MIN + 1, FIVE_MIN), Err(SignatureError::Stale));
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, TS - FIVE_MIN - 1, FIVE_MIN), Err(SignatureError::Stale));
    }

    /// Regression (fuzz target `signature_header`): `now_ms - timestamp` overflowed for extreme
    /// clocks: a panic with overflow checks, a wrapped (possibly negative) difference without.
    #[test]
    fn extreme_clocks_and_tolerances_are_answered_not_overflowed() {
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, i64::MIN, FIVE_MIN), Err(SignatureError::Stale));
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, i64::MAX, FIVE_MIN), Err(SignatureError::Stale));
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, i64::MIN, i64::MAX), Err(SignatureError::Stale));
        assert_eq!(verify(BODY, Some(SDK_HEADER), KEY, TS, i64::MAX), Ok(()));
        assert_eq!(
            verify(BODY, Some(SDK_HEADER), KEY, TS, -1),
            Err(SignatureError::Stale),
            "a negative tolerance accepts nothing"
        );
    }

    /// Regression (fuzz target `signature_header`, input `v=01700000000000,d=<SDK digest>`): a
    /// leading zero was parsed away, so a genuine signature verified under another header.
    #[test]
    fn a_timestamp_with_leading_zeros_is_malformed_not_another_spelling_of_a_valid_one() {
        let padded = SDK_HEADER.replace("v=1700000000000", "v=01700000000000");
        assert_eq!(verify(BODY, Some(&padded), KEY, TS, FIVE_MIN), Err(SignatureError::Malformed));
        assert_eq!(
            parse_header(&SDK_HEADER.replace("v=1700000000000", "v=0")).map(|(ts, _)| ts),
            Ok(0),
            "zero itself is canonical"
        );
    }

    #[test]
    fn seconds_instead_of_milliseconds_are_stale() {
        let header = sign(BODY, KEY, TS / 1000);
        assert_eq!(verify(BODY, Some(&header), KEY, TS, FIVE_MIN), Err(SignatureError::Stale));
    }

    #[test]
    fn the_header_is_parsed_strictly() {
        let digest = &SDK_HEADER[18..];
        for bad in [
            "",
            "v=1700000000000",
            "d=abc,v=1",
            &format!("v=1700000000000,d={}", digest.to_uppercase()),
            &format!("v=1700000000000,d={}", &digest[..63]),
            &format!("v=1700000000000,d={digest}0"),
            &format!("v=-1700000000000,d={digest}"),
            &format!("v=17000000000000000000,d={digest}"),
            &format!("t=1700000000000,v1={digest}"),
            &format!(" v=1700000000000,d={digest},x=1"),
        ] {
            assert!(verify(BODY, Some(bad), KEY, TS, FIVE_MIN).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(verify(BODY, None, KEY, TS, FIVE_MIN), Err(SignatureError::Missing));
    }
}
