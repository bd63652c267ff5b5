//! The run's results on disk: `report.json` (everything), `report.md` (the tables), and SVG
//! charts, with the machine, the date, the git commit and the exact command.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::callers::ModeReport;
use crate::compound::CompoundReport;
use crate::memory::MemoryReport;
use crate::throughput::ThroughputReport;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub date_utc: String,
    pub git_commit: String,
    pub git_dirty: bool,
    pub profile: &'static str,
    pub command: String,
    /// 1-minute load average when the run started (other work on the machine shows here).
    pub loadavg_at_start: f64,
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kb = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            cpu,
            memory_gib: kb / 1024.0 / 1024.0,
            date_utc: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            git_commit: git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into()),
            git_dirty: git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
            profile: if cfg!(debug_assertions) { "debug" } else { "release" },
            command: std::env::args().collect::<Vec<_>>().join(" "),
            loadavg_at_start: crate::cpu::loadavg(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub machine: Machine,
    pub callers: Option<Vec<ModeReport>>,
    pub throughput: Option<ThroughputReport>,
    pub compound: Option<CompoundReport>,
    pub memory: Option<MemoryReport>,
    /// Every invariant held (and every run that asserts them passed).
    pub invariants_ok: bool,
}

impl RunReport {
    pub fn new() -> RunReport {
        RunReport {
            machine: Machine::detect(),
            callers: None,
            throughput: None,
            compound: None,
            memory: None,
            invariants_ok: true,
        }
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(out, "# slotkeeper load harness report\n");
        let _ = writeln!(out, "- command: `{}`", m.command);
        let _ = writeln!(out, "- date: {}", m.date_utc);
        let _ = writeln!(
            out,
            "- commit: `{}`{}",
            m.git_commit,
            if m.git_dirty { " (with uncommitted changes)" } else { "" }
        );
        let _ = writeln!(
            out,
            "- machine: {} × {}, {:.1} GiB; harness built in {} mode; load average at start {:.2}",
            m.nproc, m.cpu, m.memory_gib, m.profile, m.loadavg_at_start
        );
        let _ = writeln!(
            out,
            "- invariants: {}\n",
            if self.invariants_ok { "all held" } else { "**VIOLATED** (see below)" }
        );
        if let Some(callers) = &self.callers {
            let _ = writeln!(out, "## Callers (reservations on vs off)\n");
            for r in callers {
                let _ = writeln!(out, "    {}", r.line());
            }
            let _ = writeln!(out, "\n{}", crate::callers::markdown(callers));
        }
        if let Some(t) = &self.throughput {
            let _ = writeln!(
                out,
                "## Throughput (floor vs hot path, {} s per row, generator threads {})\n",
                t.seconds, t.threads
            );
            let _ = writeln!(out, "{}", crate::throughput::markdown(t));
        }
        if let Some(c) = &self.compound {
            let _ = writeln!(out, "## Compound booking (Dauerwelle, 4 phases)\n");
            let _ = writeln!(out, "{}", crate::compound::markdown(c));
        }
        if let Some(mem) = &self.memory {
            let _ = writeln!(out, "## Memory\n");
            let _ = writeln!(out, "{}", crate::memory::markdown(mem));
        }
        out
    }

    /// Writes `report.json`, `report.md` and the charts into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(dir.join("report.json"), json).context("writing report.json")?;
        std::fs::write(dir.join("report.md"), self.markdown()).context("writing report.md")?;
        if let Some(callers) = &self.callers {
            crate::chart::callers(&dir.join("callers.svg"), callers)?;
        }
        if let Some(t) = &self.throughput {
            crate::chart::throughput(&dir.join("throughput.svg"), t)?;
        }
        Ok(())
    }
}
