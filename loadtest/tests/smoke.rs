//! The load harness's smoke run as part of the test suite: a few seconds of concurrent callers
//! against the real service (debug build) and its Cal.com simulator, reservations on and off.
//! It asserts the invariants (no overlapping bookings, nothing acknowledged lost, Cal.com and the
//! store agree after the outbox drained), never timings.
//!
//! Needs the `slotkeeper` binary next to the harness (`target/debug/slotkeeper`); the workspace
//! test command (`cargo test --workspace`) builds it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The harness bounds itself; this only guards against a hang of the harness itself.
const HARD_LIMIT: Duration = Duration::from_secs(240);

#[test]
fn a_short_run_keeps_every_invariant() {
    let harness = env!("CARGO_BIN_EXE_loadtest");
    let out = std::env::temp_dir().join(format!("loadtest-smoke-{}", std::process::id()));
    let mut child = Command::new(harness)
        .args(["--out", &out.display().to_string(), "smoke"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the loadtest binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the harness") {
            break status;
        }
        if started.elapsed() > HARD_LIMIT {
            let _ = child.kill();
            panic!("the smoke run did not finish within {HARD_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().expect("harness output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "smoke run failed ({status}):\n{stdout}\n{stderr}");

    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("callers mode=")).collect();
    assert_eq!(lines.len(), 2, "one summary line per mode:\n{stdout}");
    for line in &lines {
        for invariant in
            ["overlaps=0 ", "lost=0 ", "orphans_calcom=0 ", "orphans_local=0 ", "duplicated=0 ", "outbox_drained=true "]
        {
            assert!(line.contains(invariant), "{invariant} violated: {line}");
        }
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json")).expect("json");
    assert_eq!(report["invariants_ok"], true);
    let modes = report["callers"].as_array().expect("callers reports");
    assert!(modes.iter().all(|m| m["verification"]["acked"].as_u64().unwrap_or(0) > 0), "each mode booked something");
    let _ = std::fs::remove_dir_all(&out);
}
