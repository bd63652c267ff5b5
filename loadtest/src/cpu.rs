//! Who used the CPUs during a measurement: the server, the load generator (this process), and
//! everything else on the machine (from `/proc/stat` and `/proc/<pid>/stat`). The harness and the
//! service share the machine by design; other work on it (a compiler, another test) would bend
//! the numbers, so each measurement reports it instead of hiding it.

use std::time::Instant;

use serde::Serialize;

fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf only reads a constant of the running system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// utime + stime of a process, in clock ticks.
fn process_ticks(pid: u32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    // The command name may contain spaces; fields after it are fixed.
    let Some(rest) = text.rsplit_once(") ").map(|(_, r)| r) else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // After the name: state(0) ... utime is field 14 of the line = index 11 here, stime 12.
    field(11) + field(12)
}

/// utime + stime of every PostgreSQL server process (`comm` = `postgres`).
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(process_ticks)
        .sum()
}

/// (busy, total) clock ticks of all CPUs.
fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().next() else { return (0, 0) };
    let values: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

pub struct Snapshot {
    at: Instant,
    machine: (u64, u64),
    server: u64,
    generator: u64,
    postgres: u64,
    server_pid: u32,
}

pub fn snapshot(server_pid: u32) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        machine: machine_ticks(),
        server: process_ticks(server_pid),
        generator: process_ticks(std::process::id()),
        postgres: postgres_ticks(),
        server_pid,
    }
}

/// Average cores used between two snapshots.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUse {
    pub machine_busy_cores: f64,
    pub server_cores: f64,
    pub generator_cores: f64,
    /// PostgreSQL server processes (0 when the run uses SQLite).
    pub postgres_cores: f64,
    /// Busy time not explained by the server, the generator or PostgreSQL (other processes, the kernel).
    pub other_cores: f64,
    /// 1-minute load average at the end.
    pub loadavg_1m: f64,
}

pub fn since(start: &Snapshot) -> CpuUse {
    let end = snapshot(start.server_pid);
    let secs = end.at.duration_since(start.at).as_secs_f64().max(0.001);
    let hz = ticks_per_sec();
    let cores = |ticks: u64| ticks as f64 / hz / secs;
    let machine = cores(end.machine.0.saturating_sub(start.machine.0));
    let server = cores(end.server.saturating_sub(start.server));
    let generator = cores(end.generator.saturating_sub(start.generator));
    let postgres = cores(end.postgres.saturating_sub(start.postgres));
    CpuUse {
        machine_busy_cores: machine,
        server_cores: server,
        generator_cores: generator,
        postgres_cores: postgres,
        other_cores: (machine - server - generator - postgres).max(0.0),
        loadavg_1m: loadavg(),
    }
}

pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next()?.parse().ok()).unwrap_or(0.0)
}
