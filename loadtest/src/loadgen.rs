//! A closed-loop HTTP/1.1 load generator: `connections` workers, each with its own keep-alive
//! connection (hyper's client connection, no pool in the way), sending the next request as soon
//! as the previous answer is read. It runs on its own tokio runtime (`threads` workers) so the
//! harness's other tasks do not share its threads.
//!
//! Latency is measured per request from just before sending to the last body byte, into one HDR
//! histogram per worker (merged at the end). Only requests that start after the warm-up and end
//! before the end of the window are counted; requests per second are counted over the window.
//! Bounded twice: by the window and by `max_requests`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::time::Instant;

use crate::stats::{Counts, Summary, histogram, record};

/// What to send and what counts as a good answer.
pub trait Source: Send + Sync + 'static {
    /// Writes the body of request `n` of `worker` into `buf` (cleared before).
    fn body(&self, worker: usize, n: u64, buf: &mut Vec<u8>);
    /// `Err(kind)` when the answer is not what a successful request returns.
    fn check(&self, status: u16, body: &[u8]) -> Result<(), &'static str>;
}

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub path: &'static str,
    pub connections: usize,
    pub threads: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_requests: u64,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub connections: usize,
    /// Good answers within the window.
    pub ok: u64,
    pub errors: Counts,
    pub seconds: f64,
    pub rps: f64,
    pub latency: Summary,
    /// Requests sent in total, warm-up included.
    pub sent: u64,
}

struct WorkerResult {
    hist: hdrhistogram::Histogram<u64>,
    ok: u64,
    errors: Counts,
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn exchange(sender: &mut SendRequest<Full<Bytes>>, request: Request<Full<Bytes>>) -> Result<(u16, Bytes)> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

struct Window {
    measure_from: Instant,
    end: Instant,
}

async fn worker(
    id: usize,
    spec: Arc<LoadSpec>,
    source: Arc<dyn Source>,
    window: Arc<Window>,
    sent: Arc<AtomicU64>,
) -> WorkerResult {
    let mut result = WorkerResult { hist: histogram(), ok: 0, errors: Counts::default() };
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut buf = Vec::with_capacity(1024);
    let mut n = 0u64;
    loop {
        if Instant::now() >= window.end || sent.fetch_add(1, Ordering::Relaxed) >= spec.max_requests {
            break;
        }
        let mut conn = match sender.take() {
            Some(conn) => conn,
            None => match connect(spec.addr).await {
                Ok(conn) => conn,
                Err(_) => {
                    result.errors.add("connect_error");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        buf.clear();
        source.body(id, n, &mut buf);
        n += 1;
        let signature = crate::retell::signature(&buf);
        let request = Request::post(spec.path)
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-retell-signature", signature)
            .body(Full::new(Bytes::copy_from_slice(&buf)));
        let Ok(request) = request else {
            result.errors.add("bad_request");
            continue;
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(spec.timeout, exchange(&mut conn, request)).await;
        let done = Instant::now();
        let counted = started >= window.measure_from && done <= window.end;
        let kind = match answer {
            Ok(Ok((status, body))) => {
                sender = Some(conn);
                source.check(status, &body).err()
            }
            Ok(Err(_)) => Some("transport_error"),
            Err(_) => Some("timeout"),
        };
        if counted {
            match kind {
                None => {
                    result.ok += 1;
                    record(&mut result.hist, done - started);
                }
                Some(kind) => result.errors.add(kind),
            }
        }
    }
    result
}

/// Runs the load on a dedicated runtime and returns the merged result.
pub async fn run(
    spec: LoadSpec,
    source: Arc<dyn Source>,
    progress: Option<indicatif::ProgressBar>,
) -> Result<LoadResult> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(spec.threads.max(1))
            .enable_all()
            .build()
            .context("building the load generator's runtime")?;
        runtime.block_on(drive(spec, source, progress))
    })
    .await
    .context("the load generator panicked")?
}

async fn drive(
    spec: LoadSpec,
    source: Arc<dyn Source>,
    progress: Option<indicatif::ProgressBar>,
) -> Result<LoadResult> {
    let start = Instant::now();
    let window = Arc::new(Window { measure_from: start + spec.warmup, end: start + spec.warmup + spec.duration });
    let sent = Arc::new(AtomicU64::new(0));
    let spec = Arc::new(spec);
    let tasks: Vec<_> = (0..spec.connections)
        .map(|id| tokio::spawn(worker(id, spec.clone(), source.clone(), window.clone(), sent.clone())))
        .collect();
    if let Some(bar) = &progress {
        let bar = bar.clone();
        let end = window.end;
        tokio::spawn(async move {
            while Instant::now() < end {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.inc(1);
            }
        });
    }
    let mut hist = histogram();
    let (mut ok, mut errors) = (0, Counts::default());
    for task in tasks {
        let r = tokio::time::timeout(spec.warmup + spec.duration + spec.timeout + Duration::from_secs(5), task)
            .await
            .context("a load worker did not stop")?
            .context("a load worker panicked")?;
        hist.add(&r.hist).context("merging histograms")?;
        ok += r.ok;
        for (k, v) in r.errors.0 {
            *errors.0.entry(k).or_default() += v;
        }
    }
    let seconds = spec.duration.as_secs_f64();
    Ok(LoadResult {
        connections: spec.connections,
        ok,
        errors,
        seconds,
        rps: ok as f64 / seconds,
        latency: Summary::of(&hist),
        sent: sent.load(Ordering::Relaxed).min(spec.max_requests),
    })
}
