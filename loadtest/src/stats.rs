//! Latency histograms (HDR, microseconds, 3 significant digits) and counters by kind.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency a histogram records (longer ones are clamped to it).
const MAX_US: u64 = 120_000_000;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static histogram bounds are valid")
}

pub fn record(h: &mut Histogram<u64>, took: Duration) {
    let us = u64::try_from(took.as_micros()).unwrap_or(MAX_US).clamp(1, MAX_US);
    h.saturating_record(us);
}

/// Percentiles of one histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    pub fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    /// `p50/p95/p99/max` in ms, for tables.
    pub fn cells(&self) -> [String; 4] {
        [fmt_ms(self.p50_ms), fmt_ms(self.p95_ms), fmt_ms(self.p99_ms), fmt_ms(self.max_ms)]
    }
}

pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

/// Histograms by name (function, or function plus a detail such as the service).
#[derive(Default)]
pub struct Latencies {
    by_name: BTreeMap<String, Histogram<u64>>,
}

impl Latencies {
    pub fn record(&mut self, name: &str, took: Duration) {
        let h = self.by_name.entry(name.to_owned()).or_insert_with(histogram);
        record(h, took);
    }

    pub fn summaries(&self) -> BTreeMap<String, Summary> {
        self.by_name.iter().map(|(k, h)| (k.clone(), Summary::of(h))).collect()
    }
}

/// Counts by kind (`http_503`, `timeout`, `reason:taken`, …).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts(pub BTreeMap<String, u64>);

impl Counts {
    pub fn add(&mut self, kind: impl Into<String>) {
        *self.0.entry(kind.into()).or_default() += 1;
    }

    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// `part / whole` in percent (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}
