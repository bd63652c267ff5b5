//! The slotkeeper load harness.
//!
//! Starts the real `slotkeeper` service and its Cal.com simulator as separate processes on
//! 127.0.0.1 (fresh database each), drives them, verifies the invariants and writes
//! `report.json`, `report.md` and SVG charts to `loadtest/out/<run>/`. Modes: `callers`
//! (reservations on vs off, races counted), `throughput` (floor vs hot path), `compound`
//! (parallel vs sequential phase booking), `memory` (10,000 calendars), `smoke` (a few seconds,
//! asserts the invariants) and `all`. Every loop is bounded by a request cap and a deadline;
//! child processes die with the harness. See `loadtest/README.md`.

mod callers;
mod chart;
mod compound;
mod configgen;
mod cpu;
mod db;
mod floor;
mod loadgen;
mod memory;
mod procs;
mod progress;
mod report;
mod retell;
mod stack;
mod stats;
mod throughput;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use callers::{CallersArgs, Env};
use compound::CompoundArgs;
use memory::MemoryArgs;
use report::RunReport;
use throughput::ThroughputArgs;

#[derive(Debug, Parser)]
#[command(name = "loadtest", about = "Load harness for slotkeeper: callers, throughput, compound booking, memory")]
struct Cli {
    /// Results directory (default: loadtest/out/<command>-<UTC time>).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// The slotkeeper binary (default: next to this binary).
    #[arg(long, global = true)]
    slotkeeper_bin: Option<PathBuf>,
    /// PostgreSQL server for fresh databases, e.g. postgres://postgres@127.0.0.1:5432/postgres.
    /// `callers` and `memory` use SQLite unless given; `throughput` measures both and uses
    /// this URL or `$SLOTKEEPER_TEST_PG_URL` or the local default.
    #[arg(long, global = true)]
    postgres: Option<String>,
    /// Keep the SQLite files / PostgreSQL databases of the run.
    #[arg(long, global = true)]
    keep_db: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// N concurrent Retell callers, reservations on vs off side by side; verifies invariants.
    Callers(CallersArgs),
    /// The floor (bare signed-JSON handler) and the hot paths at 50 and 200 connections.
    Throughput(ThroughputArgs),
    /// Dauerwelle booking latency with 500 ms Cal.com calls, parallel vs sequential phases.
    Compound(CompoundArgs),
    /// RSS with 10,000 staff calendars loaded.
    Memory(MemoryArgs),
    /// A few seconds of `callers` with small N; exits non-zero unless every invariant holds.
    Smoke,
    /// The full run: callers, throughput, compound and memory with their defaults.
    All,
    /// (internal) The floor server process of `throughput`.
    #[command(hide = true)]
    FloorServer {
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        key: String,
    },
}

fn default_pg() -> String {
    std::env::var("SLOTKEEPER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn smoke_args() -> CallersArgs {
    CallersArgs::parse_from([
        "smoke",
        "--callers=24",
        "--time-scale=0.02",
        "--arrival-secs=2",
        "--skew=0.7",
        "--popular-slots=4",
        "--abandon=0.1",
        "--slow=0.15",
        "--web-bookings-per-minute=120",
        "--calcom-latency-ms=20",
        "--deadline-secs=60",
        "--drain-secs=45",
        "--modes=reservations_on,reservations_off",
    ])
}

async fn run(cli: Cli) -> Result<bool> {
    if let Cmd::FloorServer { addr, key } = cli.command {
        floor::serve(addr, key).await?;
        return Ok(true);
    }
    procs::install_ctrl_c();
    let name = match &cli.command {
        Cmd::Callers(_) => "callers",
        Cmd::Throughput(_) => "throughput",
        Cmd::Compound(_) => "compound",
        Cmd::Memory(_) => "memory",
        Cmd::Smoke => "smoke",
        Cmd::All => "all",
        Cmd::FloorServer { .. } => "floor",
    };
    let dir = cli.out.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("out")
            .join(format!("{name}-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let bin = procs::slotkeeper_bin(cli.slotkeeper_bin.as_deref())?;
    eprintln!("loadtest: {name}, slotkeeper at {}, results in {}", bin.display(), dir.display());
    let env = Env { bin: &bin, dir: &dir, postgres: cli.postgres.as_deref(), keep_db: cli.keep_db };
    let mut report = RunReport::new();
    let pg = cli.postgres.clone().unwrap_or_else(default_pg);
    match cli.command {
        Cmd::Callers(args) => report.callers = Some(callers::run(&args, &env).await?),
        Cmd::Smoke => report.callers = Some(callers::run(&smoke_args(), &env).await?),
        Cmd::Throughput(args) => report.throughput = Some(throughput::run(&args, &bin, &dir, Some(&pg)).await?),
        Cmd::Compound(args) => report.compound = Some(compound::run(&args, &bin, &dir).await?),
        Cmd::Memory(args) => report.memory = Some(memory::run(&args, &bin, &dir, cli.postgres.as_deref()).await?),
        Cmd::All => {
            report.callers = Some(callers::run(&CallersArgs::parse_from(["callers"]), &env).await?);
            report.throughput =
                Some(throughput::run(&ThroughputArgs::parse_from(["throughput"]), &bin, &dir, Some(&pg)).await?);
            report.compound = Some(compound::run(&CompoundArgs::parse_from(["compound"]), &bin, &dir).await?);
            report.memory =
                Some(memory::run(&MemoryArgs::parse_from(["memory"]), &bin, &dir, cli.postgres.as_deref()).await?);
        }
        Cmd::FloorServer { .. } => unreachable!("handled above"),
    }
    let callers_ok = report.callers.iter().flatten().all(|r| r.verification.ok());
    let compound_ok = report.compound.iter().flat_map(|c| &c.modes).all(|m| m.missing_at_calcom == 0);
    report.invariants_ok = callers_ok && compound_ok;
    report.write(&dir)?;
    eprintln!("loadtest: report in {}", dir.join("report.md").display());
    if !report.invariants_ok {
        eprintln!("loadtest: INVARIANT VIOLATED; see {}", dir.join("report.md").display());
    }
    Ok(report.invariants_ok)
}

macro_rules! impl_parse_from {
    ($($t:ty),*) => {$(
        impl $t {
            fn parse_from<const N: usize>(argv: [&str; N]) -> $t {
                #[derive(clap::Parser)]
                struct Only {
                    #[command(flatten)]
                    args: $t,
                }
                Only::parse_from(argv).args
            }
        }
    )*};
}
impl_parse_from!(CallersArgs, ThroughputArgs, CompoundArgs, MemoryArgs);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadtest: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    // Children are spawned from this (main) thread: see `procs` on PR_SET_PDEATHSIG.
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("loadtest: {err:#}");
            ExitCode::from(2)
        }
    }
}
