//! One service under test: a `slotkeeper calcom-sim` process and a `slotkeeper serve` process
//! pointed at it, both on free 127.0.0.1 ports, with a generated configuration and a fresh
//! database. The overrides the run applies are kept so the report can list them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use crate::configgen::RETELL_KEY;
use crate::procs::{Proc, Spec, free_port};

/// How to start the pair.
pub struct StackOptions<'a> {
    pub bin: &'a Path,
    /// Run directory (logs go to `dir/logs`).
    pub dir: &'a Path,
    /// Label of the processes' log files.
    pub label: &'a str,
    pub config: &'a Path,
    pub database_url: &'a str,
    /// Fixed latency of every simulated Cal.com answer.
    pub calcom_latency_ms: u64,
    /// Requests per minute per key, at the simulator and in the service's client limiter (0: none).
    pub calcom_rate_limit: u32,
    /// `SLOTKEEPER__…` overrides besides address, database, key and Cal.com URL.
    pub overrides: Vec<(String, String)>,
    pub start_within: Duration,
}

/// What the report records about the processes.
#[derive(Debug, Clone, Serialize)]
pub struct StackInfo {
    pub service_url: String,
    pub sim_url: String,
    pub overrides: Vec<(String, String)>,
    pub sim_args: Vec<String>,
}

pub struct Stack {
    pub service: Proc,
    pub sim: Proc,
    pub info: StackInfo,
    pub http: reqwest::Client,
}

pub fn http_client() -> Result<reqwest::Client> {
    slotkeeper::calcom::http_client_builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(512)
        .build()
        .context("building the HTTP client")
}

impl Stack {
    pub async fn start(options: StackOptions<'_>) -> Result<Stack> {
        let (service_port, sim_port) = (free_port()?, free_port()?);
        let service_url = format!("http://127.0.0.1:{service_port}");
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        let http = http_client()?;
        let logs: PathBuf = options.dir.join("logs");
        let sim_args = vec![
            "--config".to_owned(),
            options.config.display().to_string(),
            "calcom-sim".to_owned(),
            "--addr".to_owned(),
            format!("127.0.0.1:{sim_port}"),
            "--latency-ms".to_owned(),
            options.calcom_latency_ms.to_string(),
            "--webhook-url".to_owned(),
            format!("{service_url}/calcom/webhook"),
            "--rate-limit".to_owned(),
            options.calcom_rate_limit.to_string(),
        ];
        let mut sim = Proc::spawn(Spec {
            name: "calcom-sim",
            program: options.bin,
            args: sim_args.clone(),
            env: vec![("SLOTKEEPER__LOG__FILTER".into(), "warn".into())],
            log: logs.join(format!("{}-calcom-sim.log", options.label)),
            cwd: options.dir,
        })?;
        sim.wait_ready(&http, &format!("{sim_url}/_sim/stats"), options.start_within).await?;

        let mut overrides = vec![
            // 0 means "no limit" at the simulator; the service's limiter needs a number.
            (
                "SLOTKEEPER__CALCOM__RATE_LIMIT_PER_MINUTE".to_owned(),
                if options.calcom_rate_limit == 0 {
                    "1000000".to_owned()
                } else {
                    options.calcom_rate_limit.to_string()
                },
            ),
            ("SLOTKEEPER__NODE__ID".to_owned(), format!("loadtest-{}", options.label)),
        ];
        overrides.extend(options.overrides.iter().cloned());
        let mut env = vec![
            ("SLOTKEEPER__HTTP__ADDR".to_owned(), format!("127.0.0.1:{service_port}")),
            ("SLOTKEEPER__DATABASE__URL".to_owned(), options.database_url.to_owned()),
            ("SLOTKEEPER__RETELL__API_KEY".to_owned(), RETELL_KEY.to_owned()),
            ("SLOTKEEPER__CALCOM__BASE_URL".to_owned(), sim_url.clone()),
        ];
        env.extend(overrides.iter().cloned());
        let mut service = Proc::spawn(Spec {
            name: "slotkeeper",
            program: options.bin,
            args: vec!["--config".into(), options.config.display().to_string(), "serve".into()],
            env,
            log: logs.join(format!("{}-service.log", options.label)),
            cwd: options.dir,
        })?;
        service.wait_ready(&http, &format!("{service_url}/health/live"), options.start_within).await?;
        Ok(Stack { service, sim, info: StackInfo { service_url, sim_url, overrides, sim_args }, http })
    }

    pub fn service_url(&self) -> &str {
        &self.info.service_url
    }

    pub fn sim_url(&self) -> &str {
        &self.info.sim_url
    }

    pub async fn get_json(&self, url: &str) -> Result<Value> {
        let response =
            self.http.get(url).timeout(Duration::from_secs(30)).send().await.with_context(|| format!("GET {url}"))?;
        response.json::<Value>().await.with_context(|| format!("GET {url}: not JSON"))
    }

    pub async fn get_text(&self, url: &str) -> Result<String> {
        let response =
            self.http.get(url).timeout(Duration::from_secs(30)).send().await.with_context(|| format!("GET {url}"))?;
        Ok(response.text().await?)
    }

    /// Waits (bounded) until the outbox has nothing pending or in flight; returns the last summary.
    pub async fn drain_outbox(&self, within: Duration) -> Result<(bool, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        let url = format!("{}/health/ready", self.service_url());
        let mut quiet = 0;
        loop {
            let ready = self.get_json(&url).await?;
            let outbox = ready.get("outbox").cloned().unwrap_or(Value::Null);
            let busy = ["pending", "in_flight"]
                .iter()
                .map(|k| outbox.get(*k).and_then(Value::as_u64).unwrap_or(0))
                .sum::<u64>();
            // The summary is refreshed by the outbox poller; two quiet reads in a row are needed.
            quiet = if busy == 0 { quiet + 1 } else { 0 };
            if quiet >= 2 {
                return Ok((true, outbox));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok((false, outbox));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Stops the service (SIGTERM, graceful) and then the simulator.
    pub async fn stop(self) -> bool {
        let clean = self.service.stop(Duration::from_secs(15)).await;
        self.sim.stop(Duration::from_secs(5)).await;
        clean
    }
}

/// Sums of Prometheus samples by metric name (labels ignored) and by full series.
pub fn prometheus_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name).then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}
