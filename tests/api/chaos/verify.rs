//! The checkers: what callers were told against what the store and Cal.com (the simulator)
//! hold afterwards, in the vocabulary of Jepsen's set checker.
//!
//! * BK-1: no two active intervals of a stylist overlap, in `busy_intervals`, among confirmed
//!   bookings' phases, and among the simulator's active bookings of one host;
//! * BK-2: an acknowledged booking is in the store and still confirmed (`lost`);
//! * BK-4: no active hold is past its expiry by more than the sweeper interval (`overdue`), and
//!   every expired hold ended within that bound of its expiry while a process was up (`late`);
//! * BK-5: after the outbox drained, every staff-busy phase of a confirmed booking is at Cal.com
//!   exactly once (`missing`, `duplicated`), and nothing of ours is live at Cal.com that is not
//!   a confirmed phase here (`orphans`): cancelled and failed (compensated) bookings left nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use slotkeeper::calcom::types::Booking;
use slotkeeper::store::{Appointment, AppointmentStatus, Store, SyncState};
use sqlx::Connection;

/// A booking a caller was told about.
#[derive(Debug, Clone)]
pub struct Acked {
    pub booking_id: String,
    /// `confirmed` (Cal.com had it when we answered) or `confirmed_pending_calendar`.
    pub status: String,
}

#[derive(Debug, Default)]
pub struct Verification {
    pub overlaps_store: u64,
    pub overlaps_bookings: u64,
    pub overlaps_calcom: u64,
    pub acked: u64,
    /// Acknowledged bookings missing from the store or no longer confirmed (Cal.com refusals
    /// of `confirmed_pending_calendar` bookings excepted: those are `failed_later`).
    pub lost: u64,
    /// Acknowledged as "pending calendar", then refused by Cal.com and compensated.
    pub failed_later: u64,
    /// Staff-busy phases of confirmed bookings that Cal.com does not have (after the drain).
    pub missing: u64,
    /// Phases that are live at Cal.com more than once.
    pub duplicated: u64,
    /// Our live Cal.com bookings that are not a confirmed phase here.
    pub orphans: u64,
    /// Failed bookings whose compensation did not finish.
    pub uncompensated: u64,
    pub appointments: BTreeMap<String, u64>,
    pub calcom_phases: u64,
    pub examples: Vec<String>,
}

impl Verification {
    pub fn violations(&self) -> u64 {
        self.overlaps_store
            + self.overlaps_bookings
            + self.overlaps_calcom
            + self.lost
            + self.missing
            + self.duplicated
            + self.orphans
            + self.uncompensated
    }

    fn example(&mut self, text: String) {
        if self.examples.len() < 12 {
            self.examples.push(text);
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "acked={} lost={} failed_later={} calcom_phases={} missing={} duplicated={} orphans={} uncompensated={} \
             overlaps(store={} bookings={} calcom={}) appointments={:?}",
            self.acked,
            self.lost,
            self.failed_later,
            self.calcom_phases,
            self.missing,
            self.duplicated,
            self.orphans,
            self.uncompensated,
            self.overlaps_store,
            self.overlaps_bookings,
            self.overlaps_calcom,
            self.appointments
        )
    }
}

type Span = (DateTime<Utc>, DateTime<Utc>);

/// Overlapping `[start, end)` pairs within each key.
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

/// Our bookings that are live at the simulator, by phase id (`{appointment}:{seq}`).
fn live_by_phase(calcom: &[Booking]) -> HashMap<String, Vec<&Booking>> {
    let mut by_phase: HashMap<String, Vec<&Booking>> = HashMap::new();
    for booking in calcom.iter().filter(|b| b.status.is_active()) {
        if let Some(phase) = booking.metadata.get("slotkeeper_phase_id") {
            by_phase.entry(phase.clone()).or_default().push(booking);
        }
    }
    by_phase
}

/// BK-1 everywhere, BK-2 for `acked`, and duplicates at Cal.com: what must hold at any moment.
pub async fn check_now(store: &Store, calcom: &[Booking], acked: &[Acked]) -> Verification {
    let mut v = Verification { acked: acked.len() as u64, ..Verification::default() };
    v.overlaps_store = store.overlapping_pairs().await.unwrap();
    v.overlaps_bookings = store.overlapping_booking_phases().await.unwrap();
    let hosts: Vec<(i64, DateTime<Utc>, DateTime<Utc>)> = calcom
        .iter()
        .filter(|b| b.status.is_active())
        .filter_map(|b| Some((b.hosts.first()?.id, b.start, b.end)))
        .collect();
    v.overlaps_calcom = overlapping_pairs(&hosts);
    for (phase, live) in live_by_phase(calcom) {
        if live.len() > 1 {
            v.duplicated += live.len() as u64 - 1;
            v.example(format!("phase {phase} is live {} times at cal.com", live.len()));
        }
    }
    let appointments = store.all_appointments().await.unwrap();
    for apt in &appointments {
        *v.appointments.entry(format!("{}/{}", apt.status, apt.sync_state)).or_default() += 1;
    }
    let by_id: HashMap<&str, &Appointment> = appointments.iter().map(|a| (a.id.as_str(), a)).collect();
    for ack in acked {
        match by_id.get(ack.booking_id.as_str()) {
            Some(apt) if apt.status == AppointmentStatus::Confirmed => {}
            Some(apt)
                if apt.status == AppointmentStatus::Failed
                    && ack.status == "confirmed_pending_calendar"
                    && apt.status_reason.as_deref().is_some_and(|r| r.starts_with("cal.com refused")) =>
            {
                v.failed_later += 1;
            }
            Some(apt) => {
                v.lost += 1;
                v.example(format!(
                    "acknowledged {} ({}) is now {} ({:?})",
                    ack.booking_id, ack.status, apt.status, apt.status_reason
                ));
            }
            None => {
                v.lost += 1;
                v.example(format!("acknowledged {} ({}) is not in the store", ack.booking_id, ack.status));
            }
        }
    }
    v
}

/// [`check_now`] plus exactly-once at Cal.com; call it after the outbox drained.
pub async fn check_drained(store: &Store, calcom: &[Booking], acked: &[Acked]) -> Verification {
    let mut v = check_now(store, calcom, acked).await;
    let appointments = store.all_appointments().await.unwrap();
    let by_phase = live_by_phase(calcom);
    let mut expected: HashSet<String> = HashSet::new();
    for apt in &appointments {
        if apt.status == AppointmentStatus::Failed && apt.sync_state != SyncState::Compensated {
            v.uncompensated += 1;
            v.example(format!("failed booking {} is {} at cal.com, not compensated", apt.id, apt.sync_state));
        }
        if apt.status != AppointmentStatus::Confirmed {
            continue;
        }
        for phase in apt.phases.iter().filter(|p| p.staff_busy) {
            let id = format!("{}:{}", apt.id, phase.seq);
            match by_phase.get(&id).map(Vec::as_slice) {
                Some([booking, ..]) if booking.start == phase.start && booking.end == phase.end => v.calcom_phases += 1,
                Some([booking, ..]) => {
                    v.missing += 1;
                    v.example(format!(
                        "phase {id}: cal.com has {}–{}, we have {}–{}",
                        booking.start, booking.end, phase.start, phase.end
                    ));
                }
                _ => {
                    v.missing += 1;
                    v.example(format!(
                        "phase {id} ({}) of a confirmed booking is not at cal.com ({})",
                        phase.start, phase.sync_status
                    ));
                }
            }
            expected.insert(id);
        }
    }
    for (phase, live) in &by_phase {
        if !expected.contains(phase) {
            v.orphans += live.len() as u64;
            let apt = phase.split(':').next().unwrap_or_default();
            let state = appointments
                .iter()
                .find(|a| a.id.as_str() == apt)
                .map_or("unknown".to_owned(), |a| a.status.to_string());
            v.example(format!("cal.com has {phase} live, but the booking is {state} here"));
        }
    }
    v
}

/// Waits (bounded, polling) until the outbox has nothing pending or in flight.
pub async fn drained(store: &Store, within: Duration) -> bool {
    crate::helpers::eventually(within, || async {
        store.outbox_summary().await.is_ok_and(|s| s.pending == 0 && s.in_flight == 0)
    })
    .await
}

/// Active holds whose expiry is at or before `cutoff` (they should have ended by then).
pub async fn overdue_holds(db_url: &str, cutoff: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    let sql = "SELECT reservation_token, expires_at FROM appointment_reservations \
               WHERE status = 'active' AND kind = 'hold' AND expires_at <= $1";
    if db_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(db_url).await.unwrap();
        sqlx::query_as(sql).bind(cutoff).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(db_url).await.unwrap();
        sqlx::query_as(sql).bind(cutoff).fetch_all(&mut conn).await.unwrap()
    }
}

/// `(expires_at, ended_at)` of every hold that ended by expiry.
pub async fn expired_holds(db_url: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let sql = "SELECT expires_at, updated_at FROM appointment_reservations WHERE status = 'expired' AND kind = 'hold'";
    if db_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(db_url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(db_url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    }
}

/// How late each hold expired, beyond what downtime explains: for a hold whose expiry fell into
/// a window `[killed, back)` the clock starts at `back` (a dead process expires nothing; the
/// restart does it before serving). Returns the largest lateness and how many exceed `bound`.
pub fn expiry_lateness(
    expired: &[(DateTime<Utc>, DateTime<Utc>)],
    down: &[(DateTime<Utc>, DateTime<Utc>)],
    bound: Duration,
) -> (Duration, u64) {
    let mut worst = Duration::ZERO;
    let mut beyond = 0;
    for (expires_at, ended_at) in expired {
        let from = down.iter().find(|(k, b)| expires_at >= k && expires_at < b).map_or(*expires_at, |(_, back)| *back);
        let late = (*ended_at - from).to_std().unwrap_or_default();
        worst = worst.max(late);
        beyond += u64::from(late > bound);
    }
    (worst, beyond)
}

#[test]
fn overlapping_pairs_are_counted_per_key_and_back_to_back_is_fine() {
    let t = |m: i64| DateTime::from_timestamp(1_800_000_000 + m * 60, 0).unwrap();
    let items =
        vec![("a", t(0), t(30)), ("a", t(30), t(60)), ("a", t(10), t(20)), ("b", t(0), t(30)), ("a", t(15), t(45))];
    assert_eq!(overlapping_pairs(&items), 4);
}

#[test]
fn lateness_starts_when_the_process_is_back() {
    let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
    let down = [(t(10), t(20))];
    let expired = [(t(5), t(6)), (t(12), t(21)), (t(30), t(34))];
    let (worst, beyond) = expiry_lateness(&expired, &down, Duration::from_secs(2));
    assert_eq!((worst, beyond), (Duration::from_secs(4), 1));
}
