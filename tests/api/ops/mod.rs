//! Operations (issue 6): the Prometheus rules and the Grafana dashboard checked against the
//! metrics the running service really exports, health and readiness, and the real binary's
//! logs and shutdown.
//!
//! * `rules`: `promtool check rules|config` and `promtool test rules`, the dashboard's structure;
//! * `coverage`: a scripted scenario, then every metric the dashboard and the alerts query must
//!   be on `/metrics` with the labels they use;
//! * `health`: readiness with the store gone, the internal metrics address;
//! * `secrets` and `shutdown`: the real binary as a child process (`child`): no secret in its
//!   logs or error bodies; SIGTERM in the middle of traffic.

pub(crate) mod child;
mod coverage;
mod health;
mod promql;
mod rules;
mod secrets;
mod shutdown;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// A file under `ops/`.
pub fn read_ops(relative: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ops").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn dashboard() -> Value {
    serde_json::from_str(&read_ops("grafana/reservations.json")).expect("the dashboard is valid JSON")
}

/// `(panel title, query)` for every query of every panel.
pub fn dashboard_expressions() -> Vec<(String, String)> {
    let board = dashboard();
    let mut found = Vec::new();
    for panel in board["panels"].as_array().into_iter().flatten() {
        let nested = panel["panels"].as_array().into_iter().flatten();
        for inner in std::iter::once(panel).chain(nested) {
            let title = inner["title"].as_str().unwrap_or("?").to_owned();
            for target in inner["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    found.push((title.clone(), expr.to_owned()));
                }
            }
        }
    }
    found
}

pub type Labels = BTreeMap<String, String>;

/// A `/metrics` page in the Prometheus text format, by sample name (`x_bucket`, `x_sum`, ...).
#[derive(Debug, Default)]
pub struct Scrape {
    pub samples: HashMap<String, Vec<(Labels, f64)>>,
    /// `# TYPE` of each family (`histogram`, `counter`, `gauge`).
    pub types: HashMap<String, String>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    scrape.types.insert(name.to_owned(), kind.to_owned());
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (name, labels, value) = parse_sample(line).unwrap_or_else(|| panic!("unreadable sample line: {line}"));
            scrape.samples.entry(name).or_default().push((labels, value));
        }
        scrape
    }

    pub fn series(&self, name: &str) -> &[(Labels, f64)] {
        self.samples.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The sum over the series of `name` that carry all of `wanted`.
    pub fn sum(&self, name: &str, wanted: &[(&str, &str)]) -> f64 {
        self.series(name)
            .iter()
            .filter(|(labels, _)| wanted.iter().all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, value)| value)
            .sum()
    }
}

/// `name{a="x",b="y"} 1.5` (optionally followed by a timestamp).
fn parse_sample(line: &str) -> Option<(String, Labels, f64)> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_owned();
    let mut labels = Labels::new();
    let mut rest = &line[name_end..];
    if rest.starts_with('{') {
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 1;
        loop {
            while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
                i += 1;
            }
            if chars.get(i) == Some(&'}') {
                i += 1;
                break;
            }
            let key_start = i;
            while i < chars.len() && chars[i] != '=' {
                i += 1;
            }
            let key: String = chars[key_start..i].iter().collect();
            i += 2; // `="`
            let mut value = String::new();
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                    value.push(match chars.get(i)? {
                        'n' => '\n',
                        other => *other,
                    });
                } else {
                    value.push(chars[i]);
                }
                i += 1;
            }
            i += 1;
            labels.insert(key.trim().to_owned(), value);
        }
        let consumed: usize = chars[..i].iter().map(|c| c.len_utf8()).sum();
        rest = &rest[consumed..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some((name, labels, value))
}

#[test]
fn sample_lines_with_braces_and_escapes_in_label_values_are_read() {
    let scrape = Scrape::parse(
        "# TYPE http_request_duration_seconds histogram\n\
         http_request_duration_seconds_bucket{route=\"/retell/functions/{name}\",method=\"POST\",le=\"+Inf\"} 3\n\
         reservations_active 2\n\
         x_total{reason=\"a \\\"quoted\\\", b\"} 1.5e0\n",
    );
    assert_eq!(scrape.types["http_request_duration_seconds"], "histogram");
    let (labels, value) = &scrape.series("http_request_duration_seconds_bucket")[0];
    assert_eq!((labels["route"].as_str(), labels["le"].as_str(), *value), ("/retell/functions/{name}", "+Inf", 3.0));
    assert_eq!(scrape.sum("reservations_active", &[]), 2.0);
    assert_eq!(scrape.series("x_total")[0].0["reason"], "a \"quoted\", b");
}
