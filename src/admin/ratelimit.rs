//! Login throttling: failed logins per key (a user name, a client address) in a sliding minute.
//!
//! Guarantees:
//! * After `max_failures` failed logins for a key within [`WINDOW_SECS`], every further attempt
//!   for that key is refused (429) until the oldest failure leaves the window — also an attempt
//!   with the right password, so guessing cannot continue in parallel with the real user.
//! * Memory is bounded: at most [`MAX_TRACKED_KEYS`] keys (the stalest are dropped first) and
//!   `max_failures` timestamps per key.
//! * Time is the service clock, so tests move it instead of sleeping.
//!
//! The state lives in this process: with several nodes behind a load balancer an attacker gets
//! the limit once per node, which still bounds guessing to a handful per minute.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// The window the limit counts in (the setting is "per minute").
pub const WINDOW_SECS: i64 = 60;
/// Keys remembered at once; beyond this the keys whose last failure is oldest are forgotten.
pub const MAX_TRACKED_KEYS: usize = 10_000;

pub struct LoginLimiter {
    max_failures: usize,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    pub fn new(max_failures_per_minute: u32) -> Self {
        let max_failures = usize::try_from(max_failures_per_minute.max(1)).unwrap_or(usize::MAX);
        Self { max_failures, failures: Mutex::new(HashMap::new()) }
    }

    /// Seconds until the first of `keys` may try again, or `None` when none is blocked.
    pub fn blocked(&self, keys: &[String], now: DateTime<Utc>) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = TimeDelta::seconds(WINDOW_SECS);
        let mut wait_secs: Option<u64> = None;
        for key in keys {
            let Some(times) = failures.get_mut(key) else {
                continue;
            };
            while times.front().is_some_and(|t| *t + window <= now) {
                times.pop_front();
            }
            if times.len() >= self.max_failures {
                let oldest = times.front().copied().unwrap_or(now);
                let remaining = (oldest + window - now).num_seconds().max(1);
                let remaining = u64::try_from(remaining).unwrap_or(1);
                wait_secs = Some(wait_secs.map_or(remaining, |w| w.max(remaining)));
            }
        }
        wait_secs
    }

    /// Counts a failed login against every key.
    pub fn record_failure(&self, keys: &[String], now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() + keys.len() > MAX_TRACKED_KEYS {
            evict_stalest(&mut failures, now, keys.len());
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            times.push_back(now);
            while times.len() > self.max_failures {
                times.pop_front();
            }
        }
    }

    /// Forgets the failures of `key` (after a successful login for a user name).
    pub fn clear(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(key);
    }
}

/// Drops keys without failures in the window, then, if still needed, those with the oldest last
/// failure, until `room` new keys fit.
fn evict_stalest(failures: &mut HashMap<String, VecDeque<DateTime<Utc>>>, now: DateTime<Utc>, room: usize) {
    let window = TimeDelta::seconds(WINDOW_SECS);
    failures.retain(|_, times| times.back().is_some_and(|t| *t + window > now));
    let excess = (failures.len() + room).saturating_sub(MAX_TRACKED_KEYS);
    if excess == 0 {
        return;
    }
    let mut by_age: Vec<(DateTime<Utc>, String)> =
        failures.iter().map(|(key, times)| (times.back().copied().unwrap_or(now), key.clone())).collect();
    by_age.sort();
    for (_, key) in by_age.into_iter().take(excess) {
        failures.remove(&key);
    }
}

/// The limiter key of a user name.
pub fn user_key(username: &str) -> String {
    // Bounded: a megabyte "user name" must not become a megabyte key.
    let short: String = username.chars().take(64).collect();
    format!("user:{short}")
}

/// The limiter key of a client address.
pub fn address_key(address: &std::net::IpAddr) -> String {
    format!("ip:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        "2026-11-25T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(seconds)
    }

    #[test]
    fn the_limit_blocks_after_the_allowed_failures_and_lifts_after_a_minute() {
        let limiter = LoginLimiter::new(3);
        let keys = vec![user_key("anna")];
        for second in 0..3 {
            assert_eq!(limiter.blocked(&keys, at(second)), None, "attempt {second} is allowed");
            limiter.record_failure(&keys, at(second));
        }
        assert_eq!(limiter.blocked(&keys, at(10)), Some(50), "blocked until the first failure is a minute old");
        assert_eq!(limiter.blocked(&keys, at(60)), None, "one failure left the window");
    }

    #[test]
    fn any_blocked_key_blocks_the_attempt() {
        let limiter = LoginLimiter::new(2);
        let address = address_key(&"10.0.0.1".parse().unwrap());
        limiter.record_failure(&[user_key("a"), address.clone()], at(0));
        limiter.record_failure(&[user_key("b"), address.clone()], at(1));
        assert!(limiter.blocked(&[user_key("c"), address], at(2)).is_some(), "the address tried two names");
        assert!(limiter.blocked(&[user_key("c")], at(2)).is_none());
    }

    #[test]
    fn clearing_a_user_forgets_its_failures() {
        let limiter = LoginLimiter::new(1);
        limiter.record_failure(&[user_key("anna")], at(0));
        limiter.clear(&user_key("anna"));
        assert!(limiter.blocked(&[user_key("anna")], at(1)).is_none());
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = LoginLimiter::new(5);
        for i in 0..(MAX_TRACKED_KEYS + 100) {
            limiter.record_failure(&[format!("ip:{i}")], at(0));
        }
        assert!(limiter.failures.lock().unwrap().len() <= MAX_TRACKED_KEYS);
    }
}
