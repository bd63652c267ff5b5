//! Client-side rate limiter for Cal.com: one token bucket per API key.
//!
//! Guarantees:
//! - a bucket holds at most `burst` tokens (default = `per_minute`, 120) and refills
//!   continuously at `per_minute / 60` tokens per second;
//! - [`Priority::Booking`] and [`Priority::Cancel`] wait for their token (first come, first
//!   served: the token is reserved before sleeping), but never longer than `max_wait`: when the
//!   wait would be longer they fail at once with [`RateLimitError::WouldWaitTooLong`];
//! - [`Priority::Mirror`] never waits: it takes a token only while more than the reserve
//!   (`mirror_reserve`, 25 % of the bucket) would remain, otherwise it returns
//!   [`Grant::Skipped`] at once, so mirroring can never delay a booking; each skip is counted
//!   with `metrics::calcom_mirror_skipped("budget")` (callers count `circuit_open` skips);
//! - after [`RateLimiter::on_rate_limited`] no priority gets a token for that key until the
//!   server's Retry-After (default 60 s) has passed;
//! - a waiter that is dropped gives its reserved token back;
//! - several nodes share one key's budget by leased slices: with `n` live nodes (node leases in
//!   the shared database, see [`crate::node`]) each node's bucket holds `burst / n` tokens and
//!   refills at `per_minute / n`, so the nodes together never exceed the key's rate (for the few
//!   seconds until every node has seen a change in `n`, at most one node's old slice more). It
//!   costs nothing per request; an idle node's slice is not lent to a busy one;
//! - time is `tokio::time`, so tests drive it with `pause()`/`advance()`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// Sustained requests per minute per API key; 0 disables limiting (default 120).
    pub per_minute: u32,
    /// Bucket size; default equals `per_minute` (Cal.com allows 120 within 60 s).
    pub burst: u32,
    /// Fraction of the bucket kept for bookings and cancels (default 0.25).
    pub mirror_reserve: f64,
    /// Longest a booking or cancel waits for a token (default 10 s).
    pub max_wait: Duration,
    /// Block after a 429 without Retry-After (Cal.com blocks for 60 s).
    pub default_block: Duration,
}

impl RateLimitConfig {
    /// A bucket that never exceeds `limit` requests in any 60 s, as Cal.com's throttler counts
    /// them: a fixed window of 60 s that starts at a key's first request
    /// (`apps/api/v2/src/lib/throttler/throttler-guard.ts`; 120 per key by default). A bucket of
    /// `burst` tokens refilled at `per_minute` lets `burst + per_minute` through in one minute,
    /// so the two split the limit: a quarter as burst, the rest as the sustained rate.
    pub fn within_window(limit: u32) -> Self {
        let burst = (limit / 4).max(1).min(limit);
        RateLimitConfig { per_minute: limit - burst, burst, ..RateLimitConfig::default() }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_minute: 120,
            burst: 120,
            mirror_reserve: 0.25,
            max_wait: Duration::from_secs(10),
            default_block: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// Creating or rescheduling a caller's booking: waits for a token.
    Booking,
    /// Cancelling: waits for a token.
    Cancel,
    /// Best-effort hold mirroring: never waits, keeps out of the reserve.
    Mirror,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Acquired,
    /// Mirror request not sent: the budget is short or the key is blocked.
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    #[error("no cal.com request budget within the maximum wait (needs {retry_in:?})")]
    WouldWaitTooLong { retry_in: Duration },
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    blocked_until: Option<Instant>,
}

impl Bucket {
    fn refill(&mut self, now: Instant, capacity: f64, per_sec: f64) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(capacity);
        self.updated = now;
    }

    fn blocked_for(&self, now: Instant) -> Duration {
        self.blocked_until.map_or(Duration::ZERO, |u| u.saturating_duration_since(now))
    }
}

/// Gives a reserved token back unless disarmed (the waiter got its turn).
struct Reservation {
    bucket: Arc<Mutex<Bucket>>,
    armed: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            lock(&self.bucket).tokens += 1.0;
        }
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    cfg: RateLimitConfig,
    buckets: DashMap<String, Arc<Mutex<Bucket>>>,
    /// Live nodes that share each key's budget (1 on a single node).
    nodes: AtomicU32,
}

fn lock(m: &Mutex<Bucket>) -> MutexGuard<'_, Bucket> {
    // A panic while holding this lock cannot leave the bucket inconsistent (plain numbers).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RateLimiter {
    pub fn new(cfg: RateLimitConfig) -> Self {
        RateLimiter { cfg, buckets: DashMap::new(), nodes: AtomicU32::new(1) }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.cfg
    }

    /// This node's slice of every key's budget when `nodes` live nodes share it.
    pub fn share_among(&self, nodes: u32) {
        let nodes = nodes.max(1);
        if self.nodes.swap(nodes, Ordering::Relaxed) != nodes {
            tracing::info!(
                nodes,
                per_minute = self.cfg.per_minute / nodes,
                "cal.com request budget shared among nodes"
            );
        }
    }

    fn share(&self) -> f64 {
        f64::from(self.nodes.load(Ordering::Relaxed).max(1))
    }

    fn capacity(&self) -> f64 {
        (f64::from(self.cfg.burst.max(1)) / self.share()).max(1.0)
    }

    fn per_sec(&self) -> f64 {
        f64::from(self.cfg.per_minute) / 60.0 / self.share()
    }

    fn bucket(&self, key: &str) -> Arc<Mutex<Bucket>> {
        if let Some(b) = self.buckets.get(key) {
            return Arc::clone(&b);
        }
        let fresh = Bucket { tokens: self.capacity(), updated: Instant::now(), blocked_until: None };
        Arc::clone(&self.buckets.entry(key.to_owned()).or_insert_with(|| Arc::new(Mutex::new(fresh))))
    }

    /// Takes a token for one request with `key` (see the module doc for the rules).
    pub async fn acquire(&self, key: &str, priority: Priority) -> Result<Grant, RateLimitError> {
        if self.cfg.per_minute == 0 {
            return Ok(Grant::Acquired);
        }
        let bucket = self.bucket(key);
        let (capacity, per_sec) = (self.capacity(), self.per_sec());
        if priority == Priority::Mirror {
            let now = Instant::now();
            let mut b = lock(&bucket);
            b.refill(now, capacity, per_sec);
            let reserve = capacity * self.cfg.mirror_reserve.clamp(0.0, 1.0);
            if b.blocked_for(now).is_zero() && b.tokens >= reserve + 1.0 {
                b.tokens -= 1.0;
                return Ok(Grant::Acquired);
            }
            drop(b);
            crate::metrics::calcom_mirror_skipped("budget");
            return Ok(Grant::Skipped);
        }

        let start = Instant::now();
        let deadline = start + self.cfg.max_wait;
        let wait = {
            let mut b = lock(&bucket);
            b.refill(start, capacity, per_sec);
            b.tokens -= 1.0;
            let token_wait = if b.tokens < 0.0 { Duration::from_secs_f64(-b.tokens / per_sec) } else { Duration::ZERO };
            token_wait.max(b.blocked_for(start))
        };
        let mut reservation = Reservation { bucket: Arc::clone(&bucket), armed: true };
        if wait > self.cfg.max_wait {
            return Err(RateLimitError::WouldWaitTooLong { retry_in: wait });
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        // A 429 may have blocked the key while we waited.
        loop {
            let now = Instant::now();
            let blocked = lock(&bucket).blocked_for(now);
            if blocked.is_zero() {
                break;
            }
            if now + blocked > deadline {
                return Err(RateLimitError::WouldWaitTooLong { retry_in: blocked });
            }
            tokio::time::sleep(blocked).await;
        }
        reservation.armed = false;
        Ok(Grant::Acquired)
    }

    /// Cal.com answered 429 for `key`: block every priority until `retry_after` (default 60 s).
    pub fn on_rate_limited(&self, key: &str, retry_after: Option<Duration>) {
        let bucket = self.bucket(key);
        let now = Instant::now();
        let until = now + retry_after.unwrap_or(self.cfg.default_block);
        let mut b = lock(&bucket);
        b.blocked_until = Some(b.blocked_until.map_or(until, |u| u.max(until)));
        tracing::info!(block_ms = b.blocked_for(now).as_millis() as u64, "cal.com key blocked after 429");
    }

    /// Tokens available now (negative while waiters hold reservations).
    pub fn available(&self, key: &str) -> f64 {
        let bucket = self.bucket(key);
        let mut b = lock(&bucket);
        b.refill(Instant::now(), self.capacity(), self.per_sec());
        b.tokens
    }

    /// Remaining block after a 429, zero when not blocked.
    pub fn blocked_for(&self, key: &str) -> Duration {
        self.buckets.get(key).map_or(Duration::ZERO, |b| lock(&b).blocked_for(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(RateLimitConfig::default())
    }

    /// Greedy bookings on `nodes` limiters for `secs` seconds of paused time: grants per second.
    async fn greedy(nodes: &[RateLimiter], secs: u64) -> Vec<u32> {
        let mut per_second = vec![0; secs as usize];
        let t0 = Instant::now();
        for slot in per_second.iter_mut() {
            for rl in nodes {
                while rl.available("k") >= 1.0 {
                    assert_eq!(rl.acquire("k", Priority::Booking).await, Ok(Grant::Acquired));
                    *slot += 1;
                }
            }
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert!(Instant::now() - t0 >= Duration::from_secs(secs));
        per_second
    }

    #[tokio::test(start_paused = true)]
    async fn within_window_no_sixty_seconds_exceed_the_limit_on_one_or_three_nodes() {
        for nodes in [1u32, 3] {
            let limiters: Vec<RateLimiter> =
                (0..nodes).map(|_| RateLimiter::new(RateLimitConfig::within_window(120))).collect();
            for rl in &limiters {
                rl.share_among(nodes);
            }
            let grants = greedy(&limiters, 300).await;
            let worst = grants.windows(60).map(|w| w.iter().sum::<u32>()).max().unwrap();
            assert!(worst <= 120, "{nodes} nodes sent {worst} requests in one minute");
            let sustained: u32 = grants[240..].iter().sum();
            assert!(sustained >= 85, "{nodes} nodes keep most of the budget usable: {sustained}/min");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_two_per_second() {
        let rl = limiter();
        let t0 = Instant::now();
        for _ in 0..120 {
            assert_eq!(rl.acquire("k", Priority::Booking).await, Ok(Grant::Acquired));
        }
        assert_eq!(Instant::now(), t0, "the first 120 are immediate");
        for _ in 0..10 {
            assert_eq!(rl.acquire("k", Priority::Cancel).await, Ok(Grant::Acquired));
        }
        let waited = Instant::now() - t0;
        assert!(waited >= Duration::from_millis(4_990) && waited <= Duration::from_millis(5_010), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn mirrors_are_skipped_when_short_but_bookings_pass() {
        let rl = limiter();
        assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Acquired));
        // Spend down to 30 tokens: exactly the 25 % reserve.
        for _ in 0..89 {
            assert_eq!(rl.acquire("k", Priority::Booking).await, Ok(Grant::Acquired));
        }
        assert!((rl.available("k") - 30.0).abs() < 1e-6);
        let t0 = Instant::now();
        assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Skipped));
        assert_eq!(Instant::now(), t0, "a mirror never waits");
        assert_eq!(rl.acquire("k", Priority::Booking).await, Ok(Grant::Acquired));
        // After refilling half a second there is one spare token above the reserve again.
        tokio::time::advance(Duration::from_millis(1_000)).await;
        assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Acquired));
        assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Skipped));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_blocks_until_retry_after() {
        let rl = limiter();
        let t0 = Instant::now();
        rl.on_rate_limited("k", Some(Duration::from_secs(5)));
        assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Skipped));
        assert_eq!(rl.acquire("k", Priority::Booking).await, Ok(Grant::Acquired));
        assert_eq!(Instant::now() - t0, Duration::from_secs(5));
        assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Acquired));
        assert_eq!(rl.acquire("other", Priority::Booking).await, Ok(Grant::Acquired));
        assert_eq!(Instant::now() - t0, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn default_block_is_sixty_seconds_and_max_wait_fails_fast() {
        let rl = limiter();
        rl.on_rate_limited("k", None);
        assert_eq!(rl.blocked_for("k"), Duration::from_secs(60));
        let t0 = Instant::now();
        let err = rl.acquire("k", Priority::Booking).await;
        assert_eq!(err, Err(RateLimitError::WouldWaitTooLong { retry_in: Duration::from_secs(60) }));
        assert_eq!(Instant::now(), t0, "fails without waiting");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(rl.acquire("k", Priority::Booking).await, Ok(Grant::Acquired));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_during_the_wait_extends_it() {
        let rl = Arc::new(limiter());
        for _ in 0..120 {
            rl.acquire("k", Priority::Booking).await.expect("burst");
        }
        let t0 = Instant::now();
        let waiter = {
            let rl = Arc::clone(&rl);
            tokio::spawn(async move { rl.acquire("k", Priority::Booking).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        rl.on_rate_limited("k", Some(Duration::from_secs(3)));
        assert_eq!(waiter.await.expect("joined"), Ok(Grant::Acquired));
        assert_eq!(Instant::now() - t0, Duration::from_millis(3_100));
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_waiter_returns_its_token() {
        let rl = limiter();
        for _ in 0..120 {
            rl.acquire("k", Priority::Booking).await.expect("burst");
        }
        let before = rl.available("k");
        let res = tokio::time::timeout(Duration::from_millis(100), rl.acquire("k", Priority::Booking)).await;
        assert!(res.is_err(), "timed out while waiting");
        let after = rl.available("k");
        // Only the refill of the 100 ms passed (0.2 tokens) remains: the reservation was refunded.
        assert!((after - before - 0.2).abs() < 1e-6, "before {before} after {after}");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_per_minute_disables() {
        let rl = RateLimiter::new(RateLimitConfig { per_minute: 0, ..RateLimitConfig::default() });
        for _ in 0..1000 {
            assert_eq!(rl.acquire("k", Priority::Mirror).await, Ok(Grant::Acquired));
        }
    }
}
