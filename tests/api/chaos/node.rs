//! A `slotkeeper serve` process that can be killed with SIGKILL and started again on the same
//! database, the way an orchestrator restarts a crashed pod.
//!
//! The binary is `SLOTKEEPER_BIN` when set (e.g. `target/release/slotkeeper` for the long form),
//! else the debug binary cargo built for this test. Configuration is the shipped
//! `config/default.toml` plus `SLOTKEEPER__…` variables (nothing from the developer's shell),
//! each start on a fresh port. Callers find the current address through [`Node::address`],
//! which is `None` while the process is down.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::helpers::RETELL_KEY;

/// How long a (debug, busy) binary may take to answer `/health/live`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Output kept for failure messages (the tail of it).
const OUTPUT_LIMIT: usize = 256 * 1024;

/// The binary under test.
pub fn binary() -> PathBuf {
    match std::env::var_os("SLOTKEEPER_BIN").filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            let path = if path.is_relative() { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path) } else { path };
            assert!(path.exists(), "SLOTKEEPER_BIN={} does not exist", path.display());
            path
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_slotkeeper")),
    }
}

/// The settings of every chaos node, as `SLOTKEEPER__…` variables; `extra` overrides.
pub fn chaos_env(name: &str, db_url: &str, calcom_url: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("NODE__ID", name.to_owned()),
        ("DATABASE__URL", db_url.to_owned()),
        ("DATABASE__MAX_CONNECTIONS", "8".into()),
        ("RETELL__API_KEY", RETELL_KEY.into()),
        ("CALCOM__BASE_URL", calcom_url.to_owned()),
        // The simulator allows what we send: 429s are injected on purpose, not by accident.
        ("CALCOM__RATE_LIMIT_PER_MINUTE", "100000".into()),
        ("CALCOM__OUTBOX__POLL_INTERVAL_MS", "100".into()),
        // A dead process's claimed jobs are taken over this soon.
        ("CALCOM__OUTBOX__LEASE_SECS", "3".into()),
        // A killed node's id is free again this soon (its restart waits the rest of it out).
        ("NODE__LEASE_SECS", "3".into()),
        ("HOLDS__SWEEPER_INTERVAL_SECS", "1".into()),
        ("LOG__FILTER", "warn".into()),
        ("HTTP__SHUTDOWN_GRACE_MS", "1000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push(((*key).to_owned(), value.clone()));
    }
    env
}

pub struct Node {
    pub name: String,
    env: Vec<(String, String)>,
    process: Option<std::process::Child>,
    address: watch::Sender<Option<SocketAddr>>,
    output: Arc<Mutex<Vec<u8>>>,
    pub starts: u32,
    pub kills: u32,
    /// When the current process answered `/health/live` (None while down).
    pub up_since: Option<Instant>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Node {
    /// Starts the process and waits until it is live. `env` names variables without the
    /// `SLOTKEEPER__` prefix (see [`chaos_env`]).
    pub async fn start(name: &str, env: Vec<(String, String)>) -> Node {
        let (address, _) = watch::channel(None);
        let mut node = Node {
            name: name.to_owned(),
            env,
            process: None,
            address,
            output: Arc::default(),
            starts: 0,
            kills: 0,
            up_since: None,
        };
        node.boot().await;
        node
    }

    /// The `serve` command of this node on `addr`, with its settings and nothing from the shell.
    fn command(&self, addr: SocketAddr) -> Command {
        let mut command = Command::new(binary());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SLOTKEEPER") {
                command.env_remove(name);
            }
        }
        command
            .arg("--config")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/default.toml"))
            .arg("serve")
            .env("SLOTKEEPER__HTTP__ADDR", addr.to_string())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(format!("SLOTKEEPER__{key}"), value);
        }
        command
    }

    /// Starts one more process with this node's settings (so its id) and waits until it exits:
    /// its status and what it wrote. For processes that must be refused at start.
    pub async fn start_refused(&self, within: Duration) -> (std::process::ExitStatus, String) {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut process = self.command(addr).spawn().expect("the slotkeeper binary starts");
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        drain(process.stdout.take().unwrap(), output.clone());
        drain(process.stderr.take().unwrap(), output.clone());
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = process.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = process.kill();
                let _ = process.wait();
                panic!("a second {} was not refused within {within:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let text = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
        (status, text)
    }

    /// SIGSTOP (`false`) or SIGCONT (`true`): a VM freeze or a long GC pause, and its end.
    pub fn set_running(&self, running: bool) {
        let pid = self.process.as_ref().expect("the node runs").id();
        let signal = if running { "-CONT" } else { "-STOP" };
        let status = Command::new("kill").arg(signal).arg(pid.to_string()).status().expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    async fn boot(&mut self) {
        assert!(self.process.is_none(), "{} is already running", self.name);
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut command = self.command(addr);
        let mut process = command.spawn().expect("the slotkeeper binary starts");
        drain(process.stdout.take().unwrap(), self.output.clone());
        drain(process.stderr.take().unwrap(), self.output.clone());
        self.process = Some(process);
        self.starts += 1;
        let http = slotkeeper::calcom::http_client_builder().timeout(Duration::from_secs(2)).build().unwrap();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let live = http.get(format!("http://{addr}/health/live")).send().await;
            if live.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if let Some(status) = self.process.as_mut().unwrap().try_wait().unwrap() {
                panic!("{} exited at start ({status}):\n{}", self.name, self.output_tail());
            }
            assert!(
                Instant::now() < deadline,
                "{} not live within {START_TIMEOUT:?}:\n{}",
                self.name,
                self.output_tail()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.up_since = Some(Instant::now());
        self.address.send_replace(Some(addr));
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        self.address.send_replace(None);
        self.up_since = None;
        if let Some(mut process) = self.process.take() {
            process.kill().expect("SIGKILL is delivered");
            let status = process.wait().unwrap();
            assert!(!status.success(), "{} exited normally instead of being killed: {status}", self.name);
            self.kills += 1;
        }
    }

    /// Starts the process again after [`Node::kill`].
    pub async fn restart(&mut self) {
        self.boot().await;
    }

    /// The current address (`None` while the process is down); callers watch it.
    pub fn address(&self) -> watch::Receiver<Option<SocketAddr>> {
        self.address.subscribe()
    }

    pub fn addr(&self) -> Option<SocketAddr> {
        *self.address.borrow()
    }

    /// The end of what every start of this node wrote (for failure messages).
    pub fn output_tail(&self) -> String {
        let output = self.output.lock().unwrap();
        let from = output.len().saturating_sub(8 * 1024);
        String::from_utf8_lossy(&output[from..]).into_owned()
    }

    /// Panic lines (a node that panicked is a finding even if every check passed).
    pub fn panics(&self) -> Vec<String> {
        let output = self.output.lock().unwrap();
        String::from_utf8_lossy(&output).lines().filter(|l| l.contains("panicked at")).map(str::to_owned).collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Copies a pipe into `sink` (bounded: the oldest half is dropped when full) until it closes.
fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(read) = pipe.read(&mut buffer) {
            if read == 0 {
                break;
            }
            let mut sink = sink.lock().unwrap();
            if sink.len() + read > OUTPUT_LIMIT {
                let half = sink.len() / 2;
                sink.drain(..half);
            }
            sink.extend_from_slice(&buffer[..read]);
        }
    });
}
