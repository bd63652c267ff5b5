//! The numbers of one `callers` mode, derived from the callers' history, the service's
//! `/metrics`, the simulator's `/_sim/stats` and the verification, plus their Markdown form.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use slotkeeper::store::report::StateCount;

use super::caller::{Confirmed, History};
use crate::procs::Rss;
use crate::stack::{StackInfo, prometheus_sum};
use crate::stats::{Counts, Summary, percent};
use crate::verify::Verification;

// The variants are named like the mode labels the reports print.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Mode {
    /// Holds on, phases booked in parallel (the design).
    ReservationsOn,
    /// The old check-then-book behaviour: offers without holds.
    ReservationsOff,
    /// Holds on, phases booked one after another.
    ReservationsOnSequential,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::ReservationsOn => "reservations_on",
            Mode::ReservationsOff => "reservations_off",
            Mode::ReservationsOnSequential => "reservations_on_sequential",
        }
    }

    pub fn reservations(self) -> bool {
        !matches!(self, Mode::ReservationsOff)
    }

    pub fn parallel(self) -> bool {
        !matches!(self, Mode::ReservationsOnSequential)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CalcomUse {
    pub requests: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub rate_limited: u64,
    /// All simulator API requests per confirmed local appointment.
    pub calls_per_booking: f64,
    /// `POST /v2/bookings` per confirmed local appointment.
    pub creates_per_booking: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    pub mode: Mode,
    pub backend: String,
    pub calls: u64,
    pub endings: Counts,
    pub requests: u64,
    pub duration_secs: f64,
    pub throughput_rps: f64,
    pub confirmations: u64,
    pub booked: u64,
    pub booked_confirmed: u64,
    pub booked_pending_calendar: u64,
    pub booking_success_pct: f64,
    pub taken_after_free: u64,
    pub taken_after_free_pct: f64,
    /// Of `taken_after_free`: the slot went to an external web booker at Cal.com (an active
    /// booking without slotkeeper metadata overlaps it); the rest went to other phone callers.
    pub taken_by_web_bookers: u64,
    pub taken_by_phone_callers_pct: f64,
    /// Expired answers that were first answers (not replays of an earlier "expired").
    pub expired_first_answers: u64,
    /// Conversion counting only confirmations answered afresh (replays excluded).
    pub conversion_excluding_replays_pct: f64,
    pub expired: u64,
    pub expiration_pct: f64,
    pub in_time_confirmations: u64,
    pub conversion_pct: f64,
    pub latencies: BTreeMap<String, Summary>,
    pub errors: Counts,
    pub reasons: Counts,
    /// Answers the service replayed from its idempotency store, by function.
    pub replays: Counts,
    /// Confirmations answered with a replay (e.g. "expired" again for a re-asked slot).
    pub replayed_confirmations: u64,
    pub web_bookers: Counts,
    pub calcom: CalcomUse,
    pub service_metrics: BTreeMap<String, f64>,
    pub rss_peak_sampled_mb: f64,
    pub rss_end: Rss,
    pub outbox: Value,
    pub reservation_states: Vec<StateCount>,
    pub verification: Verification,
    pub ttl_single_secs: u64,
    pub ttl_compound_secs: u64,
    pub service_stopped_cleanly: bool,
    /// Cores used while the callers ran (service, harness, everything else).
    pub cpu: crate::cpu::CpuUse,
    pub stack: StackInfo,
}

pub struct Inputs<'a> {
    pub mode: Mode,
    pub backend: &'static str,
    pub callers: u64,
    pub history: History,
    pub endings: Counts,
    pub web: Counts,
    pub call_phase: Duration,
    pub metrics: &'a str,
    pub sim_stats: Value,
    pub rss: Rss,
    pub peak_kb: u64,
    pub outbox: Value,
    pub verification: Verification,
    pub sim_bookings: &'a [slotkeeper::calcom::types::Booking],
    pub reservation_states: Vec<StateCount>,
    pub info: StackInfo,
    pub ttl_single: u64,
    pub ttl_compound: u64,
    pub clean_stop: bool,
    pub cpu: crate::cpu::CpuUse,
}

const SERVICE_METRICS: &[&str] = &[
    "booking_slot_taken_after_offer_total",
    "reservation_created_total",
    "reservation_converted_total",
    "reservation_expired_total",
    "reservation_released_total",
    "booking_total",
    "calcom_rate_limited_total",
    "calcom_mirror_skipped_total",
    "idempotent_replays_total",
];

pub fn build(i: Inputs<'_>) -> ModeReport {
    let h = &i.history;
    let count = |o: Confirmed| h.confirmations.iter().filter(|c| c.outcome == o).count() as u64;
    let confirmations = h.confirmations.len() as u64;
    let booked = count(Confirmed::Booked);
    let in_time: Vec<_> = h.confirmations.iter().filter(|c| c.in_time).collect();
    let in_time_booked = in_time.iter().filter(|c| c.outcome == Confirmed::Booked).count() as u64;
    let booked_local: u64 =
        i.verification.appointments.iter().filter(|(k, _)| k.starts_with("confirmed/")).map(|(_, n)| n).sum();
    let mut by_endpoint = BTreeMap::new();
    if let Some(endpoints) = i.sim_stats.get("endpoints").and_then(Value::as_object) {
        for (label, e) in endpoints {
            by_endpoint.insert(label.clone(), e.get("requests").and_then(Value::as_u64).unwrap_or(0));
        }
    }
    let requests: u64 = by_endpoint.values().sum();
    let per = |n: u64| if booked_local == 0 { 0.0 } else { n as f64 / booked_local as f64 };
    let calcom = CalcomUse {
        requests,
        rate_limited: i.sim_stats.get("rate_limited").and_then(Value::as_u64).unwrap_or(0),
        calls_per_booking: per(requests),
        creates_per_booking: per(by_endpoint.get("bookings.create").copied().unwrap_or(0)),
        by_endpoint,
    };
    let secs = i.call_phase.as_secs_f64();
    let taken_by_web =
        h.confirmations.iter().filter(|c| c.outcome == Confirmed::Taken && taken_by_web(c, i.sim_bookings)).count()
            as u64;
    let fresh_in_time: Vec<_> = in_time.iter().filter(|c| !c.replayed).collect();
    let fresh_booked = fresh_in_time.iter().filter(|c| c.outcome == Confirmed::Booked).count() as u64;
    ModeReport {
        mode: i.mode,
        backend: i.backend.to_owned(),
        calls: i.callers,
        endings: i.endings,
        requests: h.requests,
        duration_secs: secs,
        throughput_rps: if secs > 0.0 { h.requests as f64 / secs } else { 0.0 },
        confirmations,
        booked,
        booked_confirmed: h.acked.iter().filter(|a| a.status == "confirmed").count() as u64,
        booked_pending_calendar: h.acked.iter().filter(|a| a.status == "confirmed_pending_calendar").count() as u64,
        booking_success_pct: percent(booked, confirmations),
        taken_after_free: count(Confirmed::Taken),
        taken_after_free_pct: percent(count(Confirmed::Taken), confirmations),
        taken_by_web_bookers: taken_by_web,
        taken_by_phone_callers_pct: percent(count(Confirmed::Taken) - taken_by_web, confirmations),
        expired_first_answers: h.confirmations.iter().filter(|c| c.outcome == Confirmed::Expired && !c.replayed).count()
            as u64,
        conversion_excluding_replays_pct: percent(fresh_booked, fresh_in_time.len() as u64),
        expired: count(Confirmed::Expired),
        expiration_pct: percent(count(Confirmed::Expired), confirmations),
        in_time_confirmations: in_time.len() as u64,
        conversion_pct: percent(in_time_booked, in_time.len() as u64),
        latencies: h.latencies.summaries(),
        errors: h.errors.clone(),
        reasons: h.reasons.clone(),
        replays: h.replays.clone(),
        replayed_confirmations: h.confirmations.iter().filter(|c| c.replayed).count() as u64,
        web_bookers: i.web,
        calcom,
        service_metrics: SERVICE_METRICS.iter().map(|m| ((*m).to_owned(), prometheus_sum(i.metrics, m))).collect(),
        rss_peak_sampled_mb: i.peak_kb as f64 / 1024.0,
        rss_end: i.rss,
        outbox: i.outbox,
        reservation_states: i.reservation_states,
        verification: i.verification,
        ttl_single_secs: i.ttl_single,
        ttl_compound_secs: i.ttl_compound,
        service_stopped_cleanly: i.clean_stop,
        cpu: i.cpu,
        stack: i.info,
    }
}

/// Did an external web booking at Cal.com take the slot of this confirmation?
fn taken_by_web(c: &super::caller::Confirmation, calcom: &[slotkeeper::calcom::types::Booking]) -> bool {
    let (Some(start), Some(staff)) = (&c.start, &c.staff) else { return false };
    let Ok(start) = chrono::DateTime::parse_from_rfc3339(start) else { return false };
    let start = start.with_timezone(&chrono::Utc);
    let end = start + chrono::Duration::minutes(i64::from(c.minutes));
    calcom.iter().any(|b| {
        b.status.is_active()
            && !b.metadata.contains_key("slotkeeper_booking_id")
            && b.hosts.first().is_some_and(|h| &h.name == staff)
            && b.start < end
            && start < b.end
    })
}

impl ModeReport {
    /// Holds the service withdrew because Cal.com refused their slot reservation (mirror).
    pub fn holds_withdrawn(&self) -> u64 {
        self.reservation_states.iter().filter(|s| s.states == ["hold", "cancelled", "conflict"]).map(|s| s.count).sum()
    }

    /// One machine-greppable line (reliability-anchors style).
    pub fn line(&self) -> String {
        let v = &self.verification;
        format!(
            "callers mode={} backend={} calls={} booked={} confirmations={} taken_after_free={:.1}% taken_by_callers={:.1}% taken_by_web={} conversion={:.1}% expired={:.1}% \
             overlaps={} lost={} orphans_calcom={} orphans_local={} duplicated={} outbox_drained={} errors={} replayed_confirmations={}",
            self.mode.label(),
            self.backend,
            self.calls,
            self.booked,
            self.confirmations,
            self.taken_after_free_pct,
            self.taken_by_phone_callers_pct,
            self.taken_by_web_bookers,
            self.conversion_pct,
            self.expiration_pct,
            v.overlaps_store + v.overlaps_bookings + v.overlaps_calcom,
            v.lost,
            v.orphans_calcom,
            v.orphans_local,
            v.duplicated,
            v.outbox_drained,
            self.errors.total(),
            self.replayed_confirmations
        )
    }
}

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

/// The side-by-side Markdown tables of all modes.
pub fn markdown(reports: &[ModeReport]) -> String {
    let mut out = String::new();
    let mut header = vec!["".to_owned()];
    header.extend(reports.iter().map(|r| format!("`{}`", r.mode.label())));
    row(&mut out, &header);
    row(&mut out, &vec!["---".to_owned(); header.len()]);
    let line = |out: &mut String, name: &str, f: &dyn Fn(&ModeReport) -> String| {
        let mut cells = vec![name.to_owned()];
        cells.extend(reports.iter().map(f));
        row(out, &cells);
    };
    line(&mut out, "callers / requests", &|r| format!("{} / {}", r.calls, r.requests));
    line(&mut out, "throughput (req/s)", &|r| format!("{:.1}", r.throughput_rps));
    line(&mut out, "confirmations (start_booking after \"free\")", &|r| r.confirmations.to_string());
    line(&mut out, "booking success", &|r| format!("{:.1} % ({})", r.booking_success_pct, r.booked));
    line(&mut out, "**taken after told free**", &|r| {
        format!("**{:.1} %** ({})", r.taken_after_free_pct, r.taken_after_free)
    });
    line(&mut out, "… by another phone caller / by a web booker at Cal.com", &|r| {
        format!("{:.1} % / {} of {}", r.taken_by_phone_callers_pct, r.taken_by_web_bookers, r.taken_after_free)
    });
    line(&mut out, "holds withdrawn because Cal.com refused their mirror", &|r| r.holds_withdrawn().to_string());
    line(&mut out, "conversion (confirmed within hold time)", &|r| {
        format!("{:.1} % of {}", r.conversion_pct, r.in_time_confirmations)
    });
    line(&mut out, "conversion without replayed answers", &|r| format!("{:.1} %", r.conversion_excluding_replays_pct));
    line(&mut out, "expiration (first answers / replayed)", &|r| {
        format!("{:.1} % ({} / {})", r.expiration_pct, r.expired_first_answers, r.expired - r.expired_first_answers)
    });
    line(&mut out, "answered confirmed / pending calendar", &|r| {
        format!("{} / {}", r.booked_confirmed, r.booked_pending_calendar)
    });
    for (name, key) in [
        ("check_availability p50/p95/p99/max ms", "check_availability"),
        ("start_booking p50/p95/p99/max ms", "start_booking"),
        ("start_booking single-phase", "start_booking:single"),
        ("start_booking Dauerwelle (compound)", "start_booking:compound"),
        ("call_ended webhook", "call_ended"),
    ] {
        line(&mut out, name, &|r| r.latencies.get(key).map_or("–".to_owned(), |s| s.cells().join(" / ")));
    }
    line(&mut out, "Cal.com calls per booking (all / creates)", &|r| {
        format!("{:.2} / {:.2}", r.calcom.calls_per_booking, r.calcom.creates_per_booking)
    });
    line(&mut out, "web bookers created / taken", &|r| {
        format!("{} / {}", r.web_bookers.get("created"), r.web_bookers.get("taken"))
    });
    line(&mut out, "errors (HTTP / transport)", &|r| {
        if r.errors.0.is_empty() { "0".to_owned() } else { format!("{:?}", r.errors.0) }
    });
    line(&mut out, "answers replayed (idempotency) / of them confirmations", &|r| {
        format!("{} / {}", r.replays.total(), r.replayed_confirmations)
    });
    line(&mut out, "refusals by reason", &|r| {
        r.reasons.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    });
    line(&mut out, "service RSS peak / end / VmHWM MB", &|r| {
        format!("{:.0} / {:.0} / {:.0}", r.rss_peak_sampled_mb, r.rss_end.rss_mb(), r.rss_end.hwm_mb())
    });
    line(&mut out, "slot_taken_after_offer (metric)", &|r| {
        format!("{}", r.service_metrics.get("booking_slot_taken_after_offer_total").copied().unwrap_or(0.0))
    });
    line(&mut out, "overlaps store / bookings / cal.com", &|r| {
        let v = &r.verification;
        format!("{} / {} / {}", v.overlaps_store, v.overlaps_bookings, v.overlaps_calcom)
    });
    line(&mut out, "lost (of acknowledged)", &|r| format!("{} of {}", r.verification.lost, r.verification.acked));
    line(&mut out, "orphans cal.com / local, duplicated", &|r| {
        let v = &r.verification;
        format!("{} / {}, {}", v.orphans_calcom, v.orphans_local, v.duplicated)
    });
    line(&mut out, "outbox drained, dead letters", &|r| {
        format!("{}, {}", r.verification.outbox_drained, r.verification.dead_letters)
    });
    line(&mut out, "cores used: service / harness / PostgreSQL / other", &|r| {
        let c = &r.cpu;
        format!("{:.2} / {:.2} / {:.2} / {:.2}", c.server_cores, c.generator_cores, c.postgres_cores, c.other_cores)
    });
    line(&mut out, "hold TTL single / compound (scaled)", &|r| {
        format!("{} s / {} s", r.ttl_single_secs, r.ttl_compound_secs)
    });
    let _ = writeln!(out);
    for r in reports.iter().filter(|r| !r.verification.examples.is_empty()) {
        let _ = writeln!(out, "Violations in `{}` (first {}):\n", r.mode.label(), r.verification.examples.len());
        for e in &r.verification.examples {
            let _ = writeln!(out, "- {e}");
        }
        let _ = writeln!(out);
    }
    out
}
