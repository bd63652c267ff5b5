//! The invariants, checked after a run from the store and from the simulator (Cal.com), in the
//! vocabulary of Jepsen's set checker: what was acknowledged must be present (`lost`), nothing
//! may be there twice (`duplicated`), no two bookings of one stylist may overlap, and after the
//! outbox drained the two calendars must agree (`orphans_*`).

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use slotkeeper::calcom::types::Booking;
use slotkeeper::store::{AppointmentStatus, Store};

use crate::callers::caller::Acked;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    /// Overlapping active intervals in `busy_intervals` (the store's arbiter table).
    pub overlaps_store: u64,
    /// Overlapping staff-busy phases of confirmed appointments.
    pub overlaps_bookings: u64,
    /// Overlapping active bookings of one host at the simulator.
    pub overlaps_calcom: u64,
    /// Our active bookings at Cal.com that no confirmed local phase has.
    pub orphans_calcom: u64,
    /// Staff-busy phases of confirmed local appointments that Cal.com does not have.
    pub orphans_local: u64,
    /// Active Cal.com bookings for one phase id more than once.
    pub duplicated: u64,
    /// Acknowledged bookings missing from the store, or no longer confirmed.
    pub lost: u64,
    /// Of `lost`: acknowledged (`confirmed_pending_calendar`), later refused by Cal.com.
    pub lost_failed_later: u64,
    pub acked: u64,
    pub appointments: BTreeMap<String, u64>,
    pub calcom_active_ours: u64,
    pub calcom_active_external: u64,
    pub outbox_drained: bool,
    pub dead_letters: u64,
    /// The first few violations, described.
    pub examples: Vec<String>,
}

impl Verification {
    pub fn violations(&self) -> u64 {
        self.overlaps_store
            + self.overlaps_bookings
            + self.overlaps_calcom
            + self.orphans_calcom
            + self.orphans_local
            + self.duplicated
            + self.lost
    }

    pub fn ok(&self) -> bool {
        self.violations() == 0 && self.outbox_drained
    }

    fn example(&mut self, text: String) {
        if self.examples.len() < 10 {
            self.examples.push(text);
        }
    }
}

type Span = (DateTime<Utc>, DateTime<Utc>);

/// Pairs of overlapping `[start, end)` intervals within each key.
pub fn overlapping_pairs<K: Ord + Clone>(items: &[(K, DateTime<Utc>, DateTime<Utc>)]) -> u64 {
    let mut by_key: BTreeMap<K, Vec<Span>> = BTreeMap::new();
    for (key, start, end) in items {
        by_key.entry(key.clone()).or_default().push((*start, *end));
    }
    let mut pairs = 0;
    for intervals in by_key.values_mut() {
        intervals.sort();
        for (i, (_, end)) in intervals.iter().enumerate() {
            pairs += intervals[i + 1..].iter().take_while(|(start, _)| start < end).count() as u64;
        }
    }
    pairs
}

/// Checks the store and the simulator's bookings against what callers were told.
pub async fn verify(
    store: &Store,
    calcom: &[Booking],
    acked: &[Acked],
    outbox_drained: bool,
    dead_letters: u64,
) -> Result<Verification> {
    let mut v = Verification { outbox_drained, dead_letters, acked: acked.len() as u64, ..Verification::default() };
    v.overlaps_store = store.overlapping_pairs().await?;
    v.overlaps_bookings = store.overlapping_booking_phases().await?;
    let appointments = store.all_appointments().await?;
    for apt in &appointments {
        *v.appointments.entry(format!("{}/{}", apt.status, apt.sync_state)).or_default() += 1;
    }

    let active: Vec<&Booking> = calcom.iter().filter(|b| b.status.is_active()).collect();
    let host_intervals: Vec<(i64, DateTime<Utc>, DateTime<Utc>)> =
        active.iter().filter_map(|b| Some((b.hosts.first()?.id, b.start, b.end))).collect();
    v.overlaps_calcom = overlapping_pairs(&host_intervals);
    let ours: Vec<&&Booking> = active.iter().filter(|b| b.metadata.contains_key("slotkeeper_booking_id")).collect();
    v.calcom_active_ours = ours.len() as u64;
    v.calcom_active_external = (active.len() - ours.len()) as u64;
    let mut per_phase: HashMap<&str, u64> = HashMap::new();
    for b in &ours {
        if let Some(phase) = b.metadata.get("slotkeeper_phase_id") {
            *per_phase.entry(phase.as_str()).or_default() += 1;
        }
    }
    for (phase, n) in per_phase.iter().filter(|(_, n)| **n > 1) {
        v.duplicated += n - 1;
        v.example(format!("phase {phase} is booked {n} times at cal.com"));
    }

    let by_uid: HashMap<&str, &Booking> = ours.iter().map(|b| (b.uid.as_str(), **b)).collect();
    let mut local_uids: HashSet<&str> = HashSet::new();
    for apt in appointments.iter().filter(|a| a.status == AppointmentStatus::Confirmed) {
        for phase in apt.phases.iter().filter(|p| p.staff_busy) {
            let at_calcom = phase.booking_uid.as_deref().and_then(|uid| by_uid.get(uid));
            match at_calcom {
                Some(b) if b.start == phase.start && b.end == phase.end => {
                    local_uids.insert(b.uid.as_str());
                }
                Some(b) => {
                    local_uids.insert(b.uid.as_str());
                    v.orphans_local += 1;
                    v.example(format!(
                        "appointment {} phase {}: cal.com has {}–{}, we have {}–{}",
                        apt.id, phase.seq, b.start, b.end, phase.start, phase.end
                    ));
                }
                None => {
                    v.orphans_local += 1;
                    v.example(format!(
                        "appointment {} phase {} ({}) is not at cal.com (uid {:?}, sync {})",
                        apt.id, phase.seq, phase.start, phase.booking_uid, phase.sync_status
                    ));
                }
            }
        }
    }
    for b in &ours {
        if !local_uids.contains(b.uid.as_str()) {
            v.orphans_calcom += 1;
            let apt = b.metadata.get("slotkeeper_booking_id").cloned().unwrap_or_default();
            let status = appointments
                .iter()
                .find(|a| a.id.as_str() == apt)
                .map_or("missing".to_owned(), |a| a.status.to_string());
            v.example(format!(
                "cal.com booking {} ({}) belongs to appointment {apt} which is {status} here",
                b.uid, b.start
            ));
        }
    }

    let by_id: HashMap<&str, &slotkeeper::store::Appointment> =
        appointments.iter().map(|a| (a.id.as_str(), a)).collect();
    for ack in acked {
        match by_id.get(ack.booking_id.as_str()) {
            Some(apt) if apt.status == AppointmentStatus::Confirmed => {}
            Some(apt) => {
                v.lost += 1;
                if apt.status == AppointmentStatus::Failed {
                    v.lost_failed_later += 1;
                }
                v.example(format!(
                    "acknowledged booking {} ({}) is now {} ({:?})",
                    ack.booking_id, ack.status, apt.status, apt.status_reason
                ));
            }
            None => {
                v.lost += 1;
                v.example(format!("acknowledged booking {} ({}) is not in the store", ack.booking_id, ack.status));
            }
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::overlapping_pairs;
    use chrono::{DateTime, Utc};

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn overlaps_are_counted_per_key_and_back_to_back_is_fine() {
        let items =
            vec![("a", t(0), t(30)), ("a", t(30), t(60)), ("a", t(10), t(20)), ("b", t(0), t(30)), ("a", t(15), t(45))];
        // a: [0,30) with [10,20) and [15,45); [10,20) with [15,45); [15,45) with [30,60).
        assert_eq!(overlapping_pairs(&items), 4);
    }
}
