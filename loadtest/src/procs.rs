//! Child processes of a run: the service, the Cal.com simulator and the floor server.
//!
//! Guarantees:
//! - every child runs on a port chosen by binding `127.0.0.1:0`, in its own process group (a
//!   terminal Ctrl-C reaches only the harness), with stdout and stderr in a log file of the run;
//! - a [`Proc`] kills its child when dropped (normal end, early return, panic), and
//!   [`install_ctrl_c`] kills every live child on Ctrl-C before the harness exits with 130;
//! - on Linux each child also gets `PR_SET_PDEATHSIG = SIGKILL`, so a `kill -9` of the harness
//!   takes the children down too. The signal follows the *thread* that spawned the child, so
//!   children are spawned from the main thread only (the top-level future of `block_on`);
//! - waiting is always bounded: readiness, graceful stop (SIGTERM, then SIGKILL).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// Pids of children still alive, for the Ctrl-C handler.
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<u32>> {
    LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The `slotkeeper` binary: `--slotkeeper-bin`, else `$SLOTKEEPER_BIN`, else next to this binary
/// (`target/release/loadtest` → `target/release/slotkeeper`, the same for debug builds).
pub fn slotkeeper_bin(explicit: Option<&Path>) -> Result<PathBuf> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => match std::env::var_os("SLOTKEEPER_BIN") {
            Some(path) => PathBuf::from(path),
            None => {
                let me = std::env::current_exe().context("locating the loadtest binary")?;
                me.parent().map(|dir| dir.join("slotkeeper")).context("the loadtest binary has no directory")?
            }
        },
    };
    if !path.is_file() {
        bail!(
            "the slotkeeper binary is not at {}: build it first (`cargo build --release -p slotkeeper -p loadtest`, \
             or `cargo build -p slotkeeper` for debug runs) or pass --slotkeeper-bin",
            path.display()
        );
    }
    Ok(path)
}

/// Kills every live child on Ctrl-C, then exits with 130. Call once, inside the runtime.
pub fn install_ctrl_c() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            let pids: Vec<u32> = live().clone();
            for pid in &pids {
                kill(*pid, libc::SIGKILL);
            }
            eprintln!("\nloadtest: interrupted; killed {} child process(es)", pids.len());
            std::process::exit(130);
        }
    });
}

fn kill(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: sending a signal to a pid we spawned; no memory is touched.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Resident memory of a process, from `/proc/<pid>/status` (kB).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rss {
    pub rss_kb: u64,
    /// Peak resident size (`VmHWM`).
    pub hwm_kb: u64,
}

impl Rss {
    pub fn of(pid: u32) -> Option<Rss> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
        };
        Some(Rss { rss_kb: field("VmRSS:")?, hwm_kb: field("VmHWM:")? })
    }

    pub fn rss_mb(&self) -> f64 {
        self.rss_kb as f64 / 1024.0
    }

    pub fn hwm_mb(&self) -> f64 {
        self.hwm_kb as f64 / 1024.0
    }
}

/// What to start.
pub struct Spec<'a> {
    pub name: &'a str,
    pub program: &'a Path,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
    pub cwd: &'a Path,
}

/// A running child; killed on drop unless stopped.
pub struct Proc {
    name: String,
    child: Child,
    pid: u32,
    log: PathBuf,
    done: bool,
}

impl Proc {
    pub fn spawn(spec: Spec<'_>) -> Result<Proc> {
        if let Some(dir) = spec.log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log = File::create(&spec.log).with_context(|| format!("creating {}", spec.log.display()))?;
        let mut command = Command::new(spec.program);
        command.args(&spec.args).current_dir(spec.cwd).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        // Reproducible runs: nothing of the caller's slotkeeper configuration leaks in.
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("SLOTKEEPER") || name == "RUST_LOG" {
                command.env_remove(&key);
            }
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));
        command.process_group(0);
        // SAFETY: prctl is async-signal-safe and only changes this child's death signal.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| format!("starting {} ({})", spec.name, spec.program.display()))?;
        let pid = child.id();
        live().push(pid);
        Ok(Proc { name: spec.name.to_owned(), child, pid, log: spec.log, done: false })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn rss(&self) -> Option<Rss> {
        Rss::of(self.pid)
    }

    /// `Some` once the child has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `max_bytes` of the child's log, for error messages.
    pub fn log_tail(&self, max_bytes: u64) -> String {
        let Ok(mut file) = File::open(&self.log) else { return String::new() };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(max_bytes)));
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        text
    }

    /// Polls `url` until it answers 2xx; fails when the child exits or `within` passes.
    pub async fn wait_ready(&mut self, http: &reqwest::Client, url: &str, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                bail!("{} exited during start ({status}); log tail:\n{}", self.name, self.log_tail(4000));
            }
            let answered = http.get(url).timeout(Duration::from_secs(2)).send().await;
            if answered.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{} did not answer {url} within {within:?}; log tail:\n{}", self.name, self.log_tail(4000));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns whether it exited by itself.
    pub async fn stop(mut self, grace: Duration) -> bool {
        kill(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                self.finish();
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.finish();
        false
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
            live().retain(|p| *p != self.pid);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Samples a process's RSS while a run goes on; the highest value is kept.
pub struct RssSampler {
    peak_kb: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let peak_kb = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let peak = peak_kb.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Some(rss) = Rss::of(pid) {
                    peak.fetch_max(rss.rss_kb, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(every).await;
            }
        });
        RssSampler { peak_kb, task }
    }

    /// Highest sampled VmRSS in kB.
    pub fn finish(self) -> u64 {
        self.task.abort();
        self.peak_kb.load(std::sync::atomic::Ordering::Relaxed)
    }
}
