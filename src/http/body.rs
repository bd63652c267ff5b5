//! Request bodies: read once into memory, bounded per route and in total (invariant: no
//! connection can make this process buffer more than the configured budget).
//!
//! Retell's function calls and call webhooks carry the live transcript (about 19 KiB per minute
//! of conversation, 1.7 MiB at 90 minutes), so their routes take large bodies
//! (`http.retell_body_limit_bytes`); Cal.com webhooks keep a small limit
//! (`http.body_limit_bytes`). Either way:
//! - a `Content-Length` above the route's limit is refused with 413 before a byte is read; a
//!   body without one (chunked) is counted while it streams and refused as soon as it passes
//!   the limit, so nothing larger than the limit is ever held;
//! - every buffered byte is taken from one process-wide budget (`http.body_buffer_budget_bytes`,
//!   a semaphore counted in KiB): a body that does not fit in what is left is shed with 503 and
//!   `Retry-After` (Retell retries), never queued. The bytes go back when the handler is done.
//!
//! So the memory held by request bodies is at most the budget, whatever the number of
//! connections; without it the worst case would be `max_concurrent_requests ×
//! retell_body_limit_bytes` (1024 × 4 MiB = 4 GiB with the defaults).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// The budget is counted in units of this many bytes (a semaphore holds at most `u32::MAX >> 3`
/// permits; KiB units allow a budget of up to 512 GiB).
const UNIT: usize = 1024;

/// The limits every buffered body is read under.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    /// Largest Retell function call or call webhook.
    pub retell: usize,
    /// Largest body on the other limited routes (Cal.com webhooks).
    pub small: usize,
    budget: Arc<Semaphore>,
    budget_bytes: usize,
}

impl BodyLimits {
    /// `budget_bytes` must be at least `retell` (checked when the configuration is loaded).
    pub fn new(retell: usize, small: usize, budget_bytes: usize) -> Self {
        let units = budget_bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        BodyLimits { retell, small, budget: Arc::new(Semaphore::new(units)), budget_bytes }
    }

    /// Bytes of the budget not held by a body right now.
    pub fn budget_available(&self) -> usize {
        self.budget.available_permits() * UNIT
    }

    pub fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }

    /// Reads `body` whole, or refuses it: 413 past `limit`, 503 when the budget has no room.
    pub async fn read(&self, declared: Option<u64>, body: Body, limit: usize) -> Result<Buffered, ApiError> {
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        let mut held = Held { budget: &self.budget, permit: None, units: 0 };
        let expected = declared.map_or(0, |len| len as usize);
        held.reserve(expected)?;
        // One frame is the common case (in-process requests, small bodies): it is kept as it
        // is. More frames are joined into one buffer.
        let (mut single, mut joined, mut total) = (None::<Bytes>, Vec::new(), 0usize);
        let mut stream = body.into_data_stream();
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| ApiError::bad_request("unreadable_body", format!("body: {e}")))?;
            if frame.is_empty() {
                continue;
            }
            total += frame.len();
            if total > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            held.reserve(total)?;
            if single.is_none() && joined.is_empty() {
                single = Some(frame);
                continue;
            }
            if let Some(first) = single.take() {
                joined.reserve(expected.max(total));
                joined.extend_from_slice(&first);
            }
            joined.extend_from_slice(&frame);
        }
        let bytes = single.unwrap_or_else(|| Bytes::from(joined));
        Ok(Buffered { bytes, _permit: held.permit })
    }
}

/// The budget a body is holding while it is read.
struct Held<'a> {
    budget: &'a Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    units: usize,
}

impl Held<'_> {
    /// Grows the holding to cover `bytes`; 503 when the budget cannot.
    fn reserve(&mut self, bytes: usize) -> Result<(), ApiError> {
        let wanted = bytes.div_ceil(UNIT);
        if wanted <= self.units {
            return Ok(());
        }
        let more = u32::try_from(wanted - self.units).map_err(|_| ApiError::Overloaded)?;
        let permit = self.budget.clone().try_acquire_many_owned(more).map_err(|_| {
            crate::metrics::body_budget_exhausted();
            ApiError::Overloaded
        })?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.units = wanted;
        Ok(())
    }
}

/// A body read under [`BodyLimits`]; its share of the budget is returned when it is dropped.
#[derive(Debug)]
pub struct Buffered {
    pub bytes: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for Buffered {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Buffered {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

fn declared_length(request: &Request) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// A Retell function call or call webhook body (up to `http.retell_body_limit_bytes`).
pub struct RetellBody(pub Buffered);

/// A body of the small routes (Cal.com webhooks, up to `http.body_limit_bytes`).
pub struct SmallBody(pub Buffered);

impl<S> FromRequest<S> for RetellBody
where
    BodyLimits: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let limits = BodyLimits::from_ref(state);
        let declared = declared_length(&request);
        limits.read(declared, request.into_body(), limits.retell).await.map(RetellBody)
    }
}

impl<S> FromRequest<S> for SmallBody
where
    BodyLimits: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let limits = BodyLimits::from_ref(state);
        let declared = declared_length(&request);
        limits.read(declared, request.into_body(), limits.small).await.map(SmallBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(parts: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let limits = BodyLimits::new(10, 4, 64);
        let err = limits.read(Some(11), Body::from("x".repeat(11)), 10).await.unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge(10)), "{err:?}");
        assert_eq!(limits.budget_available(), UNIT, "nothing is held after a refusal");
    }

    #[tokio::test]
    async fn a_chunked_body_is_refused_once_it_passes_the_limit() {
        let limits = BodyLimits::new(8, 4, 1 << 20);
        let err = limits.read(None, chunked(&[b"12345", b"6789"]), 8).await.unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge(8)), "{err:?}");
        let ok = limits.read(None, chunked(&[b"1234", b"5678"]), 8).await.unwrap();
        assert_eq!(&*ok, b"12345678");
    }

    #[tokio::test]
    async fn the_budget_is_held_while_a_body_lives_and_returned_after() {
        let limits = BodyLimits::new(3 * UNIT, UNIT, 4 * UNIT);
        let first = limits.read(Some(3 * UNIT as u64), Body::from(vec![b'a'; 3 * UNIT]), 3 * UNIT).await.unwrap();
        assert_eq!(limits.budget_available(), UNIT);
        let second = limits.read(Some(2 * UNIT as u64), Body::from(vec![b'b'; 2 * UNIT]), 3 * UNIT).await;
        assert!(matches!(second, Err(ApiError::Overloaded)), "no room: shed, not queued");
        drop(first);
        assert_eq!(limits.budget_available(), 4 * UNIT);
        let third = limits.read(None, chunked(&[b"abc", b"def"]), 3 * UNIT).await.unwrap();
        assert_eq!(&*third, b"abcdef");
        assert_eq!(limits.budget_available(), 3 * UNIT, "a chunked body holds what it has read");
    }
}
