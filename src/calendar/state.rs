//! One staff member's live calendar in memory: holds, bookings and external busy times.
//!
//! Pure data structure, no I/O and no clock of its own (`now` is passed in). The calendar actor is
//! its only user and writes every change through to the store first; this state is then the fast
//! view that answers free-slot questions without I/O.
//!
//! Invariant (BK-1, checked by [`CalendarState::overlapping_pairs`] in tests and debug builds): no
//! two live intervals of holds and bookings overlap. A hold is live while `now < expires_at`, even
//! before its timer fired; external busy times are facts from Cal.com and may overlap anything,
//! which is why they are reported, not refused, when they arrive.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::interval::{merge, subtract};
use crate::domain::{AppointmentId, Interval, ReservationToken, ServiceId};
use crate::store::CalendarSnapshot;

/// A hold as the actor knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldEntry {
    pub token: ReservationToken,
    pub call_id: String,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub is_compound: bool,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Changes whenever the hold is (re)armed; an expiry timer carrying another version is stale.
    pub version: u64,
}

impl HoldEntry {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// Who occupies an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Hold(HoldEntry),
    Booking(AppointmentId),
    External(String),
}

#[derive(Debug, Clone)]
struct Entry {
    owner: Owner,
    intervals: Vec<Interval>,
}

impl Entry {
    fn is_live(&self, now: DateTime<Utc>) -> bool {
        match &self.owner {
            Owner::Hold(hold) => hold.is_live(now),
            Owner::Booking(_) | Owner::External(_) => true,
        }
    }
}

#[derive(Debug, Default)]
pub struct CalendarState {
    entries: HashMap<u64, Entry>,
    /// (start, entry) → end, for range queries.
    by_start: BTreeMap<(DateTime<Utc>, u64), DateTime<Utc>>,
    tokens: HashMap<ReservationToken, u64>,
    bookings: HashMap<AppointmentId, u64>,
    externals: HashMap<String, u64>,
    next_entry: u64,
    next_version: u64,
    /// Longest interval ever added: range queries look back this far.
    longest: TimeDelta,
}

impl CalendarState {
    pub fn from_snapshot(snapshot: CalendarSnapshot) -> Self {
        let mut state = Self::default();
        for hold in snapshot.holds {
            let entry = HoldEntry {
                token: hold.token,
                call_id: hold.call_id,
                service: hold.service,
                start: hold.start,
                is_compound: hold.is_compound,
                expires_at: hold.expires_at,
                created_at: hold.created_at,
                version: 0,
            };
            state.add_hold(entry, hold.busy);
        }
        for (id, busy) in snapshot.bookings {
            state.add_booking(id, busy);
        }
        for (uid, interval) in snapshot.external {
            state.upsert_external(uid, interval);
        }
        state
    }

    fn insert(&mut self, owner: Owner, intervals: Vec<Interval>) -> u64 {
        let id = self.next_entry;
        self.next_entry += 1;
        for interval in &intervals {
            self.by_start.insert((interval.start(), id), interval.end());
            self.longest = self.longest.max(interval.duration());
        }
        self.entries.insert(id, Entry { owner, intervals });
        id
    }

    fn remove_entry(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        for interval in &entry.intervals {
            self.by_start.remove(&(interval.start(), id));
        }
        Some(entry)
    }

    /// Adds a hold; gives it a fresh version and returns that version.
    pub fn add_hold(&mut self, mut hold: HoldEntry, intervals: Vec<Interval>) -> u64 {
        self.next_version += 1;
        hold.version = self.next_version;
        let version = hold.version;
        if let Some(old) = self.tokens.remove(&hold.token) {
            self.remove_entry(old);
        }
        let token = hold.token.clone();
        let id = self.insert(Owner::Hold(hold), intervals);
        self.tokens.insert(token, id);
        version
    }

    pub fn add_booking(&mut self, appointment: AppointmentId, intervals: Vec<Interval>) {
        if let Some(old) = self.bookings.remove(&appointment) {
            self.remove_entry(old);
        }
        let id = self.insert(Owner::Booking(appointment.clone()), intervals);
        self.bookings.insert(appointment, id);
    }

    /// Adds or moves an external busy time; returns the live holds it now overlaps (Cal.com took
    /// those slots: their callers must not be told they still have them).
    pub fn upsert_external(&mut self, uid: String, interval: Interval) -> Vec<ReservationToken> {
        if let Some(old) = self.externals.remove(&uid) {
            self.remove_entry(old);
        }
        let id = self.insert(Owner::External(uid.clone()), vec![interval]);
        self.externals.insert(uid, id);
        let mut hit = Vec::new();
        for (_, entry_id) in self.overlapping_ids(&interval) {
            if let Some(Entry { owner: Owner::Hold(hold), .. }) = self.entries.get(&entry_id)
                && !hit.contains(&hold.token)
            {
                hit.push(hold.token.clone());
            }
        }
        hit
    }

    pub fn remove_external(&mut self, uid: &str) -> bool {
        match self.externals.remove(uid) {
            Some(id) => self.remove_entry(id).is_some(),
            None => false,
        }
    }

    pub fn hold(&self, token: &ReservationToken) -> Option<&HoldEntry> {
        let id = self.tokens.get(token)?;
        match &self.entries.get(id)?.owner {
            Owner::Hold(hold) => Some(hold),
            _ => None,
        }
    }

    pub fn hold_intervals(&self, token: &ReservationToken) -> Option<&[Interval]> {
        let id = self.tokens.get(token)?;
        self.entries.get(id).map(|e| e.intervals.as_slice())
    }

    pub fn holds(&self) -> impl Iterator<Item = &HoldEntry> {
        self.entries.values().filter_map(|e| match &e.owner {
            Owner::Hold(hold) => Some(hold),
            _ => None,
        })
    }

    pub fn remove_hold(&mut self, token: &ReservationToken) -> Option<HoldEntry> {
        let id = self.tokens.remove(token)?;
        match self.remove_entry(id)?.owner {
            Owner::Hold(hold) => Some(hold),
            _ => None,
        }
    }

    /// The hold's intervals become the booking's, unchanged. Returns the hold.
    pub fn convert_hold(&mut self, token: &ReservationToken, appointment: AppointmentId) -> Option<HoldEntry> {
        let id = self.tokens.remove(token)?;
        let entry = self.remove_entry(id)?;
        let Owner::Hold(hold) = entry.owner else { return None };
        self.add_booking(appointment, entry.intervals);
        Some(hold)
    }

    pub fn remove_booking(&mut self, appointment: &AppointmentId) -> Option<Vec<Interval>> {
        let id = self.bookings.remove(appointment)?;
        self.remove_entry(id).map(|e| e.intervals)
    }

    pub fn booking_intervals(&self, appointment: &AppointmentId) -> Option<&[Interval]> {
        let id = self.bookings.get(appointment)?;
        self.entries.get(id).map(|e| e.intervals.as_slice())
    }

    /// (interval, entry id) pairs overlapping `range`, live or not.
    fn overlapping_ids(&self, range: &Interval) -> Vec<(Interval, u64)> {
        let from = range.start() - self.longest;
        self.by_start
            .range((from, 0)..(range.end(), 0))
            .filter_map(|(&(start, id), &end)| {
                let interval = Interval::new(start, end).ok()?;
                interval.overlaps(range).then_some((interval, id))
            })
            .collect()
    }

    /// Live owners overlapping any of `wanted`.
    pub fn conflicts(&self, wanted: &[Interval], now: DateTime<Utc>) -> Vec<&Owner> {
        let mut owners: Vec<(u64, &Owner)> = Vec::new();
        for interval in wanted {
            for (_, id) in self.overlapping_ids(interval) {
                if let Some(entry) = self.entries.get(&id)
                    && entry.is_live(now)
                    && !owners.iter().any(|(seen, _)| *seen == id)
                {
                    owners.push((id, &entry.owner));
                }
            }
        }
        owners.into_iter().map(|(_, owner)| owner).collect()
    }

    /// Live busy time within `range`, sorted and merged.
    pub fn live_busy(&self, range: &Interval, now: DateTime<Utc>) -> Vec<Interval> {
        let busy = self
            .overlapping_ids(range)
            .into_iter()
            .filter(|(_, id)| self.entries.get(id).is_some_and(|e| e.is_live(now)))
            .map(|(interval, _)| interval)
            .collect();
        merge(busy)
    }

    /// Working windows minus live busy time.
    pub fn free_time(&self, windows: &[Interval], now: DateTime<Utc>) -> Vec<Interval> {
        let (Some(first), Some(last)) = (windows.first(), windows.last()) else { return Vec::new() };
        let Ok(range) = Interval::new(first.start(), last.end()) else { return Vec::new() };
        subtract(windows, &self.live_busy(&range, now))
    }

    /// Like [`CalendarState::free_time`], as if `appointment` were not booked (to move it).
    pub fn free_time_without_booking(
        &self,
        windows: &[Interval],
        now: DateTime<Utc>,
        appointment: &AppointmentId,
    ) -> Vec<Interval> {
        let (Some(first), Some(last)) = (windows.first(), windows.last()) else { return Vec::new() };
        let Ok(range) = Interval::new(first.start(), last.end()) else { return Vec::new() };
        let own = self.bookings.get(appointment).copied();
        let busy = self
            .overlapping_ids(&range)
            .into_iter()
            .filter(|(_, id)| Some(*id) != own && self.entries.get(id).is_some_and(|e| e.is_live(now)))
            .map(|(interval, _)| interval)
            .collect();
        subtract(windows, &merge(busy))
    }

    /// Every live interval with its owner, ascending (for tests, the admin view and checks).
    pub fn live_intervals(&self, now: DateTime<Utc>) -> Vec<(Interval, Owner)> {
        self.by_start
            .iter()
            .filter_map(|(&(start, id), &end)| {
                let entry = self.entries.get(&id)?;
                (entry.is_live(now)).then(|| (Interval::new(start, end).ok(), entry.owner.clone()))
            })
            .filter_map(|(interval, owner)| interval.map(|i| (i, owner)))
            .collect()
    }

    /// BK-1 check: pairs of live hold/booking intervals that overlap (must always be zero).
    pub fn overlapping_pairs(&self, now: DateTime<Utc>) -> usize {
        let ours: Vec<Interval> = self
            .live_intervals(now)
            .into_iter()
            .filter(|(_, owner)| !matches!(owner, Owner::External(_)))
            .map(|(interval, _)| interval)
            .collect();
        let mut pairs = 0;
        for (i, a) in ours.iter().enumerate() {
            // Sorted by start: once a later interval starts at or after `a` ends, none overlaps `a`.
            pairs += ours[i + 1..].iter().take_while(|b| b.start() < a.end()).count();
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        "2026-11-26T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minute)
    }

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(t(a), t(b)).unwrap()
    }

    fn hold(token: &str, expires: i64) -> HoldEntry {
        HoldEntry {
            token: token.into(),
            call_id: "call_test".into(),
            service: "svc".into(),
            start: t(0),
            is_compound: false,
            expires_at: t(expires),
            created_at: t(-5),
            version: 0,
        }
    }

    #[test]
    fn an_expired_hold_no_longer_blocks_even_before_its_timer_fires() {
        let mut state = CalendarState::default();
        state.add_hold(hold("rsv_a", 2), vec![iv(60, 90)]);
        assert_eq!(state.conflicts(&[iv(70, 80)], t(1)).len(), 1);
        assert!(state.conflicts(&[iv(70, 80)], t(2)).is_empty());
    }

    #[test]
    fn conversion_keeps_the_exact_intervals() {
        let mut state = CalendarState::default();
        state.add_hold(hold("rsv_a", 2), vec![iv(0, 50), iv(65, 70)]);
        state.convert_hold(&"rsv_a".into(), AppointmentId::new("apt_1"));
        assert_eq!(state.booking_intervals(&AppointmentId::new("apt_1")), Some(&[iv(0, 50), iv(65, 70)][..]));
        assert!(state.hold(&"rsv_a".into()).is_none());
        assert_eq!(state.conflicts(&[iv(49, 51)], t(100)).len(), 1, "a booking never expires");
        assert!(state.conflicts(&[iv(50, 65)], t(100)).is_empty(), "the gap stays free");
    }

    #[test]
    fn an_external_booking_reports_the_holds_it_hits() {
        let mut state = CalendarState::default();
        state.add_hold(hold("rsv_a", 10), vec![iv(0, 30)]);
        assert_eq!(state.upsert_external("uid_1".into(), iv(20, 40)), vec![ReservationToken::new("rsv_a")]);
        assert!(state.upsert_external("uid_2".into(), iv(40, 50)).is_empty());
        assert!(state.remove_external("uid_1"));
        assert_eq!(state.live_busy(&iv(0, 60), t(0)), vec![iv(0, 30), iv(40, 50)]);
    }

    #[test]
    fn long_intervals_are_found_by_range_queries_that_start_inside_them() {
        let mut state = CalendarState::default();
        state.upsert_external("vacation".into(), iv(0, 3 * 24 * 60));
        assert_eq!(state.conflicts(&[iv(2 * 24 * 60, 2 * 24 * 60 + 30)], t(0)).len(), 1);
    }

    #[test]
    fn overlapping_pairs_counts_every_pair() {
        let mut state = CalendarState::default();
        // Built directly to test the checker itself; the actor never inserts such a state.
        state.add_booking(AppointmentId::new("apt_1"), vec![iv(0, 100)]);
        state.add_booking(AppointmentId::new("apt_2"), vec![iv(10, 20)]);
        state.add_booking(AppointmentId::new("apt_3"), vec![iv(30, 40)]);
        assert_eq!(state.overlapping_pairs(t(0)), 2);
    }
}
