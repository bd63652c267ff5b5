//! Configuration files for the child processes.
//!
//! A generated file is the embedded `config/default.toml` with its settings sections unchanged
//! and its tenants replaced: the demo salon (with the feature flags a mode needs) and, for the
//! throughput and memory modes, "bench" salons with many stylists. Everything a run changes
//! besides tenants goes through `SLOTKEEPER__…` variables, which the report lists.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use slotkeeper::config::{EMBEDDED_DEFAULT, Settings, Sources};
use slotkeeper::domain::Catalogue;

/// The demo salon's number and agent (first tenant: the simulator signs webhooks for it).
pub const DEMO_NUMBER: &str = "+4930123456789";
pub const DEMO_AGENT: &str = "agent_demo";
/// The Retell key every run configures.
pub const RETELL_KEY: &str = "key_loadtest_0123456789abcdef";

/// Feature flags of the demo salon for one mode.
#[derive(Debug, Clone, Copy)]
pub struct DemoFlags {
    pub reservations: bool,
    pub parallel_booking: bool,
}

/// Bench salons: `tenants` × `staff_per_tenant` stylists, open every day 08:00–20:00.
#[derive(Debug, Clone, Copy)]
pub struct Bench {
    pub tenants: usize,
    pub staff_per_tenant: usize,
}

fn split_default() -> Result<(&'static str, &'static str)> {
    let at = EMBEDDED_DEFAULT.find("\n[[tenants]]\n").context("config/default.toml has no [[tenants]] section")?;
    Ok((&EMBEDDED_DEFAULT[..at + 1], &EMBEDDED_DEFAULT[at + 1..]))
}

fn demo_tenant(flags: DemoFlags) -> Result<String> {
    let (_, tenant) = split_default()?;
    let mut text = tenant.to_owned();
    for (key, value) in
        [("reservations_enabled", flags.reservations), ("parallel_booking_enabled", flags.parallel_booking)]
    {
        let from = format!("{key} = true");
        if !text.contains(&from) {
            bail!("config/default.toml no longer says `{from}` for the demo salon; update loadtest/src/configgen.rs");
        }
        text = text.replacen(&from, &format!("{key} = {value}"), 1);
    }
    Ok(text)
}

/// Phone number of bench salon `index` (E.164, Hamburg numbers).
pub fn bench_number(index: usize) -> String {
    format!("+4940{:09}", 100_000_000 + index)
}

/// Staff id `s` of a bench salon (also the name a caller says to pick that stylist).
pub fn bench_staff(index: usize) -> String {
    format!("s{index:04}")
}

fn bench_tenant(out: &mut String, index: usize, bench: Bench) {
    let id = format!("bench-{index:04}");
    let _ = write!(
        out,
        "\n[[tenants]]\nid = \"{id}\"\nname = \"Bench {index}\"\ntimezone = \"Europe/Berlin\"\ncountry_code = \"49\"\n\
         phone_numbers = [\"{}\"]\nagent_ids = [\"agent_{id}\"]\n\n[tenants.hours]\n",
        bench_number(index)
    );
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        let _ = writeln!(out, "{day} = [\"08:00-20:00\"]");
    }
    let _ = write!(
        out,
        "\n[tenants.booking]\nslot_step_minutes = 15\nmin_notice_minutes = 15\nhorizon_days = 60\n\n\
         [tenants.policy]\ncancel_cutoff_hours = 24\nmax_reschedules = 2\n\n\
         [tenants.flags]\nreservations_enabled = true\nreservations_rollout_percent = 100\nparallel_booking_enabled = true\n\n\
         [tenants.calcom]\napi_key = \"cal_{id}\"\nwebhook_secret = \"whsec_{id}\"\n"
    );
    let first = index * bench.staff_per_tenant;
    for s in 0..bench.staff_per_tenant {
        let _ = write!(
            out,
            "\n[[tenants.staff]]\nid = \"{}\"\nname = \"Stylist {s}\"\ncalcom_user_id = {}\nservices = [\"herrenhaarschnitt\", \"dauerwelle\"]\n",
            bench_staff(s),
            5_000_000 + first + s
        );
    }
    let event_type = |global: usize, k: usize| 20_000_000 + global * 8 + k;
    let cut: Vec<String> =
        (0..bench.staff_per_tenant).map(|s| format!("{} = [{}]", bench_staff(s), event_type(first + s, 0))).collect();
    let perm: Vec<String> = (0..bench.staff_per_tenant)
        .map(|s| {
            let ids: Vec<String> = (1..=4).map(|k| event_type(first + s, k).to_string()).collect();
            format!("{} = [{}]", bench_staff(s), ids.join(", "))
        })
        .collect();
    let _ = write!(
        out,
        "\n[[tenants.services]]\nid = \"herrenhaarschnitt\"\nname = \"Herrenhaarschnitt\"\nminutes = 30\nprice_cents = 2800\n\
         calcom_event_types = {{ {} }}\n\n[[tenants.services]]\nid = \"dauerwelle\"\nname = \"Dauerwelle\"\nprice_cents = 8900\n\
         phases = [\n  {{ name = \"Haare wickeln\", minutes = 50 }},\n  {{ name = \"Einwirkzeit\", minutes = 15, gap = true }},\n  \
         {{ name = \"Fixierung auftragen\", minutes = 5 }},\n  {{ name = \"Einwirkzeit Fixierung\", minutes = 10, gap = true }},\n  \
         {{ name = \"Auswaschen und Pflege\", minutes = 15 }},\n  {{ name = \"Schneiden und Styling\", minutes = 40 }},\n]\n\
         calcom_event_types = {{ {} }}\n",
        cut.join(", "),
        perm.join(", ")
    );
}

/// Writes a configuration file: default settings, the demo salon, then `bench` salons.
pub fn write(path: &Path, flags: DemoFlags, bench: Option<Bench>) -> Result<Catalogue> {
    let (head, _) = split_default()?;
    let mut text = String::with_capacity(head.len() + 4096);
    text.push_str("# generated by the slotkeeper load harness (loadtest/src/configgen.rs)\n");
    text.push_str(head);
    text.push_str(&demo_tenant(flags)?);
    if let Some(bench) = bench {
        for index in 0..bench.tenants {
            bench_tenant(&mut text, index, bench);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    load(path)
}

/// Reads a configuration file the way the service does and builds its catalogue.
pub fn load(path: &Path) -> Result<Catalogue> {
    let sources = Sources { base_file: Some(path.to_path_buf()), env_name: None, env: Some(Default::default()) };
    let settings = Settings::load(&sources).with_context(|| format!("loading {}", path.display()))?;
    settings.validate().with_context(|| format!("validating {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_configurations_are_valid() {
        let dir = std::env::temp_dir().join(format!("loadtest-config-{}", std::process::id()));
        let path = dir.join("bench.toml");
        let catalogue = write(
            &path,
            DemoFlags { reservations: false, parallel_booking: false },
            Some(Bench { tenants: 3, staff_per_tenant: 4 }),
        )
        .unwrap();
        assert_eq!(catalogue.tenants().len(), 4);
        assert!(!catalogue.tenants()[0].flags.reservations_enabled);
        assert_eq!(catalogue.tenants()[2].staff.len(), 4);
        let _ = std::fs::remove_dir_all(dir);
    }
}
