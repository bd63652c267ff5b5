//! Schema-driven fuzz of the public API: schemathesis generates requests from the served
//! `/openapi.json` — valid ones, and ones that break the schema on purpose — and sends them,
//! signed over the exact bytes (`tests/schemathesis/slotkeeper_hooks.py`), to the real
//! `slotkeeper` binary on 127.0.0.1. It attacks:
//!
//! * no 5xx and no crash, whatever the body (`not_a_server_error`; the process must still be
//!   live afterwards and must not have logged a panic);
//! * the document is the truth: every status, content type, header and body matches it
//!   (`status_code_conformance`, `content_type_conformance`, `response_*_conformance`);
//! * bodies that break the schema are refused with a 4xx (`negative_data_rejection`);
//! * BK-6: an unsigned request is refused (`ignored_auth`), wrong methods get 405.
//!
//! Not checked: `positive_data_acceptance`. The schemas describe what the parser accepts; the
//! booking layer then refuses, by design, schema-valid calls it cannot attribute (placeholder
//! call ids → 400, unknown salons → 404), a rule JSON Schema cannot express.
//!
//! Bounded for CI (`SLOTKEEPER_SCHEMATHESIS_EXAMPLES`, default 25 per operation, fixed seed
//! `SLOTKEEPER_SCHEMATHESIS_SEED`); the long run is the same test with larger numbers
//! (RELIABILITY.md). schemathesis comes from `scripts/schemathesis-env` (run by `scripts/setup`);
//! without it this test fails rather than skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::ops::child::{Child, ChildConfig};

const RETELL_KEY: &str = "key_SCHEMATHESIS_retell_4d8a1f";
const WEBHOOK_SECRET: &str = "whsec_SCHEMATHESIS_9c3e7b";
/// The demo salon's number in `config/default.toml`, which the child runs with.
const SALON_NUMBER: &str = "+4930123456789";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn schemathesis() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("SLOTKEEPER_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/schemathesis/venv/bin/st"));
    assert!(
        bin.exists(),
        "schemathesis is not installed at {}: run scripts/setup (or scripts/schemathesis-env)",
        bin.display()
    );
    bin
}

/// A number next to `label` in schemathesis' summary: before it ("2844 generated") or after it
/// ("Tested: 14").
fn figure(output: &str, label: &str) -> Option<u64> {
    let words: Vec<&str> = output.split_whitespace().map(|w| w.trim_end_matches(',')).collect();
    words.windows(2).find_map(|w| match (w[0].parse().ok(), w[1].parse().ok()) {
        (Some(n), _) if w[1] == label => Some(n),
        (_, Some(n)) if w[0] == label => Some(n),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_no_crash_and_no_departure_from_the_document() {
    let bin = schemathesis();
    let examples: u32 = env_or("SLOTKEEPER_SCHEMATHESIS_EXAMPLES", 25);
    let seed: u64 = env_or("SLOTKEEPER_SCHEMATHESIS_SEED", 20_261_125);
    let child = Child::start(&ChildConfig {
        retell_key: RETELL_KEY.into(),
        calcom_key: "cal_SCHEMATHESIS_calcom".into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        sim_latency_ms: 0,
        shutdown_grace_ms: 5000,
    })
    .await;
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let schema = child.url("/openapi.json");
    let dir = child.dir.clone();
    let started = Instant::now();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args([
                "run",
                &schema,
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
                "--continue-on-failure",
                "--no-color",
            ])
            .args([
                "--max-examples",
                &examples.to_string(),
                "--seed",
                &seed.to_string(),
                "--generation-database",
                "none",
                "--request-timeout",
                "10",
            ])
            .env("SCHEMATHESIS_HOOKS", "slotkeeper_hooks")
            .env("PYTHONPATH", hooks)
            .env("SLOTKEEPER_FUZZ_RETELL_KEY", RETELL_KEY)
            .env("SLOTKEEPER_FUZZ_CALCOM_SECRET", WEBHOOK_SECRET)
            .env("SLOTKEEPER_FUZZ_SALON_NUMBER", SALON_NUMBER)
            .current_dir(dir)
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let took = started.elapsed();
    let printed = String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "schemathesis found problems ({}):\n{printed}\n--- server output (tail) ---\n{}",
        run.status,
        tail(&child.output_text())
    );

    let live = child.http.get(child.url("/health/live")).timeout(Duration::from_secs(5)).send().await;
    assert!(
        live.is_ok_and(|r| r.status().is_success()),
        "the server is not live after the fuzz:\n{}",
        tail(&child.output_text())
    );
    let server_output = child.output_text();
    assert!(!server_output.contains("panicked"), "the server panicked:\n{}", tail(&server_output));
    // The fuzz must have got past the signature check and reached the booking layer: a broken
    // signing hook would leave only 401s, which the document allows.
    let answered = statuses_by_route(&server_output);
    for (route, success, least) in [
        ("/retell/functions", 200, 20),
        ("/retell/functions/{name}", 200, 20),
        ("/retell/webhook", 204, 5),
        ("/calcom/webhook", 200, 5),
    ] {
        let got = answered.get(&(route.to_owned(), success)).copied().unwrap_or(0);
        assert!(got >= least, "only {got} answers {success} at {route}: {answered:?}");
    }
    let cases = figure(&printed, "generated").unwrap_or_else(|| panic!("no case count in:\n{printed}"));
    let operations = figure(&printed, "Tested:").unwrap_or(0);
    assert!(cases >= u64::from(examples), "schemathesis generated {cases} cases:\n{printed}");
    let signed_ok: u64 = answered.iter().filter(|((_, status), _)| (200..300).contains(status)).map(|(_, n)| n).sum();
    let refused_401: u64 = answered.iter().filter(|((_, status), _)| *status == 401).map(|(_, n)| n).sum();
    println!(
        "schemathesis operations={operations} cases={cases} answered_2xx={signed_ok} refused_401={refused_401} failures=0 server_errors=0 panics=0 examples_per_operation={examples} seed={seed} took_s={}",
        took.as_secs()
    );
}

/// `(route, status) → count` from the server's JSON request logs (`http::middleware`).
fn statuses_by_route(output: &str) -> std::collections::BTreeMap<(String, u64), u64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in output.lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if let (Some(status), Some(route)) = (entry["fields"]["status"].as_u64(), entry["span"]["route"].as_str())
            && entry["fields"].get("took_ms").is_some()
        {
            *counts.entry((route.to_owned(), status)).or_insert(0) += 1;
        }
    }
    counts
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
