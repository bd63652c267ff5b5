//! Phone numbers in E.164.
//!
//! Tenants are found by the number that was called, and bookings by the number that called, so both
//! sides must be normalised the same way: `+<country><number>`, 8..=15 digits. Hidden or anonymous
//! callers have no number; code that needs one (cancel, reschedule, "my appointments") refuses
//! politely instead of guessing.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct E164(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number (hidden or anonymous caller)")]
    Hidden,
    #[error("{0:?} is not a phone number")]
    Invalid(String),
}

/// Values telephony providers send for a suppressed caller id.
const HIDDEN: &[&str] = &["anonymous", "unknown", "private", "restricted", "unavailable", "withheld"];

impl E164 {
    /// Normalises `raw`, using `default_country` (digits, e.g. "49") for national numbers ("030 …").
    pub fn parse(raw: &str, default_country: &str) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || HIDDEN.contains(&trimmed.to_ascii_lowercase().as_str()) {
            return Err(PhoneError::Hidden);
        }
        let invalid = || PhoneError::Invalid(trimmed.chars().take(32).collect());
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '+' if i == 0 => plus = true,
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' | '/' => {}
                _ => return Err(invalid()),
            }
        }
        if digits.bytes().all(|b| b == b'0') {
            return Err(PhoneError::Hidden);
        }
        let international = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else if let Some(rest) = digits.strip_prefix('0') {
            format!("{default_country}{rest}")
        } else {
            // Already international without the plus (e.g. "4930123456789").
            digits
        };
        if !(8..=15).contains(&international.len()) || international.starts_with('0') {
            return Err(invalid());
        }
        Ok(Self(format!("+{international}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last digits only, for logs: a phone number is personal data.
    pub fn redacted(&self) -> String {
        let tail: String = self.0.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_numbers_in_every_usual_spelling_normalise_to_one_form() {
        for raw in [
            "+49 30 123456789",
            "0049 30 123456789",
            "030 123456789",
            "030/123456789",
            "+49 (30) 123-456-789",
            "4930123456789",
        ] {
            assert_eq!(E164::parse(raw, "49").unwrap().as_str(), "+4930123456789", "{raw}");
        }
    }

    #[test]
    fn hidden_callers_have_no_number() {
        for raw in ["", "anonymous", "Anonymous", "00000000", "+000"] {
            assert_eq!(E164::parse(raw, "49"), Err(PhoneError::Hidden), "{raw:?}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for raw in ["+49 30 abc", "12", "+1234567890123456", "++49301234567"] {
            assert!(matches!(E164::parse(raw, "49"), Err(PhoneError::Invalid(_))), "{raw:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_number() {
        let n = E164::parse("+4930123456789", "49").unwrap();
        assert_eq!(format!("{n:?}"), "E164(…789)");
    }
}
