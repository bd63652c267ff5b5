//! Server-side rate limit of the Cal.com simulator, shaped like Cal.com's throttler guard.
//!
//! Guarantees: per API key at most `limit` requests per fixed [`WINDOW`] (started by the
//! key's first request); the request over the limit is answered 429 and the key stays blocked
//! for [`BLOCK`] (Cal.com's `RATE_LIMIT_DEFAULT_BLOCK_DURATION_MS`), after which a new window
//! starts. Every verdict carries the values of the `X-RateLimit-*-Default` headers. At most
//! [`MAX_TRACKED_KEYS`] keys are tracked before idle ones are forgotten. Time is `tokio::time`.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Length of a rate-limit window.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// How long a key stays blocked after going over the limit.
pub(crate) const BLOCK: Duration = Duration::from_secs(60);
/// Above this many tracked keys, keys idle for a whole window and block are forgotten.
const MAX_TRACKED_KEYS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Disabled (limit 0).
    Unlimited,
    Allowed {
        limit: u32,
        remaining: u32,
        reset: Duration,
    },
    Limited {
        limit: u32,
        retry_after: Duration,
    },
}

#[derive(Debug)]
struct Window {
    start: Instant,
    count: u32,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct SimLimiter {
    limit: u32,
    windows: HashMap<String, Window>,
}

impl SimLimiter {
    pub fn new(limit: u32) -> Self {
        SimLimiter { limit, windows: HashMap::new() }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn check(&mut self, key: &str, now: Instant) -> Verdict {
        if self.limit == 0 {
            return Verdict::Unlimited;
        }
        let limit = self.limit;
        if self.windows.len() >= MAX_TRACKED_KEYS {
            let idle = WINDOW + BLOCK;
            self.windows.retain(|_, w| {
                let last = w.blocked_until.map_or(w.start, |u| u.max(w.start));
                now.saturating_duration_since(last) < idle
            });
        }
        let w = self.windows.entry(key.to_owned()).or_insert(Window { start: now, count: 0, blocked_until: None });
        if let Some(until) = w.blocked_until {
            if now < until {
                return Verdict::Limited { limit, retry_after: until - now };
            }
            *w = Window { start: now, count: 0, blocked_until: None };
        }
        if now.saturating_duration_since(w.start) >= WINDOW {
            *w = Window { start: now, count: 0, blocked_until: None };
        }
        if w.count >= limit {
            w.blocked_until = Some(now + BLOCK);
            return Verdict::Limited { limit, retry_after: BLOCK };
        }
        w.count += 1;
        let reset = WINDOW.saturating_sub(now.saturating_duration_since(w.start));
        Verdict::Allowed { limit, remaining: limit - w.count, reset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_block_and_new_window() {
        let t0 = Instant::now();
        let mut l = SimLimiter::new(3);
        for i in 0..3 {
            assert!(matches!(l.check("k", t0), Verdict::Allowed { remaining, .. } if remaining == 2 - i));
        }
        assert_eq!(l.check("k", t0), Verdict::Limited { limit: 3, retry_after: BLOCK });
        assert!(matches!(l.check("other", t0), Verdict::Allowed { .. }));
        let later = t0 + Duration::from_secs(59);
        assert_eq!(l.check("k", later), Verdict::Limited { limit: 3, retry_after: Duration::from_secs(1) });
        assert!(matches!(l.check("k", t0 + BLOCK), Verdict::Allowed { remaining: 2, .. }));
        assert!(matches!(l.check("k", t0 + BLOCK + WINDOW), Verdict::Allowed { remaining: 2, .. }));
        assert_eq!(SimLimiter::new(0).check("k", t0), Verdict::Unlimited);
    }

    #[test]
    fn idle_keys_are_forgotten_when_many_are_tracked() {
        let t0 = Instant::now();
        let mut l = SimLimiter::new(5);
        for i in 0..MAX_TRACKED_KEYS {
            l.check(&format!("k{i}"), t0);
        }
        assert_eq!(l.windows.len(), MAX_TRACKED_KEYS);
        l.check("fresh", t0 + WINDOW + BLOCK);
        assert_eq!(l.windows.len(), 1);
    }
}
