//! Identifiers as newtypes, parsed at the edge.
//!
//! Ids from configuration (tenant, staff, service) are short slugs; ids we mint (reservation tokens,
//! appointment ids) are random and prefixed so a human can tell them apart in logs and the admin page.
//! A [`CallId`] is what makes Retell retries idempotent, so placeholders that LLM flows sometimes
//! send ("call_1", "undefined", "12345") are refused here, before they can alias two callers.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            pub fn new(value: impl AsRef<str>) -> Self {
                Self(Arc::from(value.as_ref()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(Arc::from(value))
            }
        }
    };
}

slug_id!(
    /// A tenant (a salon company), e.g. `salon-beispiel`.
    TenantId
);
slug_id!(
    /// A staff member, unique within a tenant.
    StaffId
);
slug_id!(
    /// A service, unique within a tenant, e.g. `dauerwelle`.
    ServiceId
);
slug_id!(
    /// A reservation token handed to a caller (`rsv_…`).
    ReservationToken
);
slug_id!(
    /// A booking (appointment) id (`apt_…`).
    AppointmentId
);

impl ReservationToken {
    pub fn generate() -> Self {
        Self::new(format!("rsv_{}", uuid::Uuid::new_v4().simple()))
    }
}

impl AppointmentId {
    pub fn generate() -> Self {
        Self::new(format!("apt_{}", uuid::Uuid::new_v4().simple()))
    }
}

/// One staff member's calendar: the unit a calendar actor owns.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StaffKey {
    pub tenant: TenantId,
    pub staff: StaffId,
}

impl StaffKey {
    pub fn new(tenant: TenantId, staff: StaffId) -> Self {
        Self { tenant, staff }
    }
}

impl fmt::Display for StaffKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.staff)
    }
}

impl fmt::Debug for StaffKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaffKey({self})")
    }
}

/// A Retell call id, validated.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(Arc<str>);

/// Why a call id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallIdError {
    #[error("call id is missing")]
    Missing,
    #[error("call id {0:?} is a placeholder, not a real Retell call id")]
    Placeholder(String),
    #[error("call id must be {MIN_CALL_ID_LEN}..={MAX_CALL_ID_LEN} characters of [A-Za-z0-9_-]")]
    Malformed,
}

/// Real Retell call ids are `call_` plus 27+ hex characters; anything this short is a placeholder.
const MIN_CALL_ID_LEN: usize = 10;
/// Bounds what we store and index per call.
const MAX_CALL_ID_LEN: usize = 128;
/// Values LLM flows were seen to send instead of the real id (seed RCAs, 2025-10/11).
const PLACEHOLDERS: &[&str] = &[
    "undefined",
    "none",
    "null",
    "nil",
    "current",
    "current_call",
    "call_id",
    "dummy_call_id",
    "test",
    "unknown",
    "string",
    "example",
];

impl CallId {
    pub fn parse(raw: &str) -> Result<Self, CallIdError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(CallIdError::Missing);
        }
        let lower = value.to_ascii_lowercase();
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let is_placeholder = PLACEHOLDERS.contains(&lower.as_str())
            || digits_only(&lower)
            || lower.strip_prefix("call_").is_some_and(digits_only)
            || lower.contains("{{");
        if is_placeholder {
            return Err(CallIdError::Placeholder(value.chars().take(40).collect()));
        }
        let well_formed = (MIN_CALL_ID_LEN..=MAX_CALL_ID_LEN).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !well_formed {
            return Err(CallIdError::Malformed);
        }
        Ok(Self(Arc::from(value)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallId({:?})", &*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_retell_call_ids_are_accepted() {
        for id in
            ["call_a3b1c2d4e5f60718293a4b5c6d7e8f90", "call_2f1e0d9c8b7a6f5e4d3c2b1a09f8e7d6", "web-call-12345-abcdef"]
        {
            assert!(CallId::parse(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn placeholder_call_ids_are_refused() {
        for id in [
            "call_1",
            "call_001",
            "12345",
            "undefined",
            "None",
            "current",
            "null",
            "",
            "  ",
            "{{call_id}}",
            "dummy_call_id",
            "CALL_000123",
        ] {
            assert!(CallId::parse(id).is_err(), "{id:?} must be refused");
        }
    }

    #[test]
    fn malformed_call_ids_are_refused() {
        assert_eq!(CallId::parse("call abc def ghi"), Err(CallIdError::Malformed));
        assert_eq!(CallId::parse(&"x".repeat(129)), Err(CallIdError::Malformed));
        assert_eq!(CallId::parse("call_ab"), Err(CallIdError::Malformed));
    }

    #[test]
    fn minted_ids_are_prefixed_and_unique() {
        let a = ReservationToken::generate();
        let b = ReservationToken::generate();
        assert!(a.as_str().starts_with("rsv_"));
        assert_ne!(a, b);
        assert!(AppointmentId::generate().as_str().starts_with("apt_"));
    }
}
