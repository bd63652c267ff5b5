//! The real `slotkeeper` binary as a child process: its own configuration file (from
//! `config/default.toml`, with this test's port, database and secrets), its stdout and stderr
//! captured, signed requests at the system clock, and SIGTERM.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{Datelike, Duration as TimeDelta, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};
use slotkeeper::http::signature::sign;

use crate::helpers::CallFixture;

/// How long the binary may take to answer `/health/live` after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What differs from `config/default.toml`.
pub struct ChildConfig {
    pub retell_key: String,
    pub calcom_key: String,
    pub webhook_secret: String,
    pub sim_latency_ms: u64,
    pub shutdown_grace_ms: u64,
}

pub struct Child {
    process: std::process::Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub retell_key: String,
    pub http: reqwest::Client,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// A port nobody listens on right now (bound, then released for the child).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `config/default.toml` with each `(from, to)` replaced; every `from` must occur exactly once,
/// so a changed default file fails here instead of silently running with the demo secrets.
fn edited_default_config(edits: &[(&str, String)]) -> String {
    let mut text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml")).unwrap();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "config/default.toml should contain {from:?} once");
        text = text.replacen(from, to, 1);
    }
    text
}

impl Child {
    /// Writes the configuration, starts the binary with JSON logs at debug level, and waits
    /// until it answers `/health/live`.
    pub async fn start(config: &ChildConfig) -> Child {
        let dir = std::env::temp_dir().join(format!("slotkeeper-ops-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let text = edited_default_config(&[
            ("addr = \"127.0.0.1:8080\"", format!("addr = \"{addr}\"")),
            (
                "url = \"sqlite://data/slotkeeper.db\"",
                format!("url = \"sqlite://{}\"", dir.join("slotkeeper.db").display()),
            ),
            ("api_key = \"key_demo_retell_change_me\"", format!("api_key = \"{}\"", config.retell_key)),
            ("api_key = \"cal_demo_salon_beispiel\"", format!("api_key = \"{}\"", config.calcom_key)),
            (
                "webhook_secret = \"whsec_demo_salon_beispiel\"",
                format!("webhook_secret = \"{}\"", config.webhook_secret),
            ),
            ("latency_ms = 0", format!("latency_ms = {}", config.sim_latency_ms)),
            ("shutdown_grace_ms = 10000", format!("shutdown_grace_ms = {}", config.shutdown_grace_ms)),
        ]);
        let config_path = dir.join("slotkeeper.toml");
        std::fs::write(&config_path, text).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_slotkeeper"));
        // Only this test's settings: no SLOTKEEPER_ENV or SLOTKEEPER__* from the developer's shell.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SLOTKEEPER") {
                command.env_remove(name);
            }
        }
        let mut process = command
            .arg("--config")
            .arg(&config_path)
            .current_dir(&dir)
            .env("SLOTKEEPER__LOG__FORMAT", "json")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the slotkeeper binary starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            drain(process.stdout.take().unwrap(), output.clone()),
            drain(process.stderr.take().unwrap(), output.clone()),
        ];
        // The crate's builder installs the TLS provider reqwest needs (built without a default).
        let http = slotkeeper::calcom::http_client_builder().timeout(Duration::from_secs(30)).build().unwrap();
        let mut child =
            Child { process, addr, dir, config_path, retell_key: config.retell_key.clone(), http, output, readers };
        child.wait_until_live().await;
        child
    }

    async fn wait_until_live(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let answer = self.http.get(self.url("/health/live")).send().await;
            if answer.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            if let Some(status) = self.process.try_wait().unwrap() {
                panic!("slotkeeper exited at start ({status}):\n{}", self.output_text());
            }
            assert!(
                Instant::now() < deadline,
                "slotkeeper did not answer /health/live within {START_TIMEOUT:?}:\n{}",
                self.output_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.dir.join("slotkeeper.db").display())
    }

    /// A Retell function call signed with the child's key at the system clock.
    pub fn function_call(&self, call: &CallFixture, name: &str, args: Value) -> reqwest::RequestBuilder {
        self.signed("/retell/functions", json!({"name": name, "args": args, "call": call.json()}).to_string())
    }

    /// A JSON POST with Retell's signature over `body`.
    pub fn signed(&self, path: &str, body: String) -> reqwest::RequestBuilder {
        let signature = sign(body.as_bytes(), self.retell_key.as_bytes(), Utc::now().timestamp_millis());
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .header("x-retell-signature", signature)
            .body(body)
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `kill -TERM PID` (the test crate has no libc binding).
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits (bounded) for the process to exit, then for its output to be read to the end.
    pub async fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.process.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.process.kill();
                panic!("slotkeeper did not exit within {within:?} after SIGTERM:\n{}", self.output_text());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        status
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.process.try_wait() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies a pipe into `sink` until it closes, so a chatty child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(read) = pipe.read(&mut buffer) {
            if read == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buffer[..read]);
        }
    })
}

/// A Monday-to-Friday at least two days ahead (Berlin), not one of the configured holidays: a
/// date the demo salon is open whatever day the test runs.
pub fn open_weekday() -> NaiveDate {
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let closed = |d: NaiveDate| {
        matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            || [(12, 24), (12, 25), (12, 26), (1, 1)].contains(&(d.month(), d.day()))
    };
    (2..14).map(|days| today + TimeDelta::days(days)).find(|d| !closed(*d)).unwrap()
}
