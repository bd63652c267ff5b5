//! In-memory calendar of the Cal.com simulator: event types, bookings and slot reservations.
//!
//! Guarantees (all pure, `now` passed in):
//! - an accepted or pending booking never overlaps another one of the same host (half-open
//!   intervals: back-to-back is fine);
//! - an unexpired reservation blocks bookings and other reservations of the same host, except
//!   the booking that presents its uid as `reservedSlotUid` (which consumes it on success);
//! - expired reservations never block and are pruned lazily;
//! - reschedule creates a new booking (new uid, `rescheduledFromUid`) and cancels the old one
//!   (`rescheduledToUid`); cancel frees the slot at once.
//!
//! Read queries (listing, free slots) live in `query.rs`, opening hours in `schedule.rs`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{Map, Value};

use super::SimEventType;
use super::schedule::Schedule;
use calcom_api::types::{Booking, BookingAttendee, BookingHost, BookingStatus, EventTypeRef, SlotReservation};

pub(crate) const SLOT_TAKEN_MSG: &str = "User either already has booking at this time or is not available";
pub(crate) const RESERVATION_BOOKED_MSG: &str = "Can't reserve a slot if the event is already booked.";
pub(crate) const RESERVATION_HELD_MSG: &str =
    "This time slot is already reserved by another user. Please choose a different time.";
/// Longest range `GET /v2/slots` answers, to bound the answer size.
pub(crate) const SLOTS_MAX_RANGE_DAYS: i64 = 62;
/// Longest hold a reservation may ask for (minutes).
pub(crate) const MAX_RESERVATION_MINUTES: u32 = 24 * 60;
/// Longest booking or slot (minutes).
pub(crate) const MAX_BOOKING_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CalError {
    BadRequest(String),
    NotFound(String),
    /// 400 with Cal.com's "already has booking" message.
    SlotTaken(String),
    /// 422 (reservations).
    Unprocessable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reservation {
    pub uid: String,
    pub event_type_id: i64,
    pub host: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub slot_minutes: u32,
    pub hold_minutes: u32,
    pub until: DateTime<Utc>,
}

impl Reservation {
    pub fn output(&self) -> SlotReservation {
        SlotReservation {
            event_type_id: self.event_type_id,
            slot_start: self.start,
            slot_end: self.end,
            slot_duration: self.slot_minutes,
            reservation_uid: self.uid.clone(),
            reservation_duration: self.hold_minutes,
            reservation_until: self.until,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NewAttendee {
    pub name: String,
    pub email: Option<String>,
    pub time_zone: String,
    pub phone: Option<String>,
    pub language: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NewBooking {
    pub event_type_id: i64,
    pub start: DateTime<Utc>,
    pub length_minutes: Option<u32>,
    pub attendee: NewAttendee,
    pub metadata: BTreeMap<String, String>,
    pub reserved_slot_uid: Option<String>,
    pub fields: Map<String, Value>,
    pub guests: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Calendar {
    pub schedule: Schedule,
    pub enforce_schedule: bool,
    event_types: BTreeMap<i64, SimEventType>,
    bookings: Vec<Booking>,
    index: HashMap<String, usize>,
    /// Active bookings per host, keyed by `(start, id)` → position in `bookings`.
    active: HashMap<i64, BTreeMap<(DateTime<Utc>, i64), usize>>,
    reservations: HashMap<String, Reservation>,
    next_id: i64,
}

pub(super) fn minutes(m: u32) -> ChronoDuration {
    ChronoDuration::minutes(i64::from(m))
}

fn overlaps(a_start: DateTime<Utc>, a_end: DateTime<Utc>, b_start: DateTime<Utc>, b_end: DateTime<Utc>) -> bool {
    a_start < b_end && b_start < a_end
}

fn host_of(b: &Booking) -> Option<i64> {
    b.hosts.first().map(|h| h.id)
}

impl Calendar {
    pub fn new(event_types: &[SimEventType], schedule: Schedule, enforce_schedule: bool) -> Self {
        Calendar {
            schedule,
            enforce_schedule,
            event_types: event_types.iter().map(|e| (e.id, e.clone())).collect(),
            bookings: Vec::new(),
            index: HashMap::new(),
            active: HashMap::new(),
            reservations: HashMap::new(),
            next_id: 1,
        }
    }

    pub fn event_type_by_slug(&self, slug: &str) -> Option<&SimEventType> {
        self.event_types.values().find(|e| e.slug == slug)
    }

    pub fn event_types(&self) -> impl Iterator<Item = &SimEventType> {
        self.event_types.values()
    }

    pub fn event_type_ids(&self) -> Vec<i64> {
        self.event_types.keys().copied().collect()
    }

    pub fn bookings(&self) -> &[Booking] {
        &self.bookings
    }

    pub fn get(&self, uid: &str) -> Option<&Booking> {
        self.index.get(uid).and_then(|i| self.bookings.get(*i))
    }

    pub fn active_reservations(&self, now: DateTime<Utc>) -> usize {
        self.reservations.values().filter(|r| r.until > now).count()
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        self.reservations.retain(|_, r| r.until > now);
    }

    pub(super) fn event_type_or_404(&self, id: i64) -> Result<SimEventType, CalError> {
        self.event_types
            .get(&id)
            .cloned()
            .ok_or_else(|| CalError::NotFound(format!("Event type with id={id} not found")))
    }

    /// Is `[start, end)` of `host` taken by a booking (`Some(true)`) or a hold (`Some(false)`)?
    pub(super) fn conflict(
        &self,
        host: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
        skip_booking: Option<&str>,
        skip_reservation: Option<&str>,
    ) -> Option<bool> {
        // A booking is at most MAX_BOOKING_MINUTES long, so only those starting that much
        // before `start` can reach into the interval.
        let from = (start - minutes(MAX_BOOKING_MINUTES), i64::MIN);
        let booked = self.active.get(&host).is_some_and(|by_start| {
            by_start
                .range(from..(end, i64::MIN))
                .filter_map(|(_, i)| self.bookings.get(*i))
                .any(|b| Some(b.uid.as_str()) != skip_booking && overlaps(start, end, b.start, b.end))
        });
        if booked {
            return Some(true);
        }
        let held = self.reservations.values().any(|r| {
            r.until > now
                && r.host == host
                && Some(r.uid.as_str()) != skip_reservation
                && overlaps(start, end, r.start, r.end)
        });
        held.then_some(false)
    }

    fn push(&mut self, b: Booking) -> Booking {
        let i = self.bookings.len();
        self.index.insert(b.uid.clone(), i);
        if let (true, Some(host)) = (b.status.is_active(), host_of(&b)) {
            self.active.entry(host).or_default().insert((b.start, b.id), i);
        }
        self.bookings.push(b.clone());
        b
    }

    /// Marks booking `i` cancelled and frees its time.
    fn deactivate(&mut self, i: usize, now: DateTime<Utc>) {
        let Some(b) = self.bookings.get_mut(i) else {
            return;
        };
        b.status = BookingStatus::Cancelled;
        b.updated_at = Some(now);
        if let Some(by_start) = b.hosts.first().and_then(|h| self.active.get_mut(&h.id)) {
            by_start.remove(&(b.start, b.id));
        }
    }

    fn next_identity(&mut self) -> (i64, String) {
        let id = self.next_id;
        self.next_id += 1;
        (id, uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn create_booking(&mut self, nb: NewBooking, now: DateTime<Utc>) -> Result<Booking, CalError> {
        self.prune(now);
        let et = self.event_type_or_404(nb.event_type_id)?;
        let len = nb.length_minutes.unwrap_or(et.length_minutes);
        if len == 0 || len > MAX_BOOKING_MINUTES {
            return Err(CalError::BadRequest(format!("lengthInMinutes must be between 1 and {MAX_BOOKING_MINUTES}")));
        }
        let end = nb.start + minutes(len);
        if self.enforce_schedule && !self.schedule.contains(nb.start, end) {
            return Err(CalError::SlotTaken(SLOT_TAKEN_MSG.to_owned()));
        }
        if self.conflict(et.host_user_id, nb.start, end, now, None, nb.reserved_slot_uid.as_deref()).is_some() {
            return Err(CalError::SlotTaken(SLOT_TAKEN_MSG.to_owned()));
        }
        let (id, uid) = self.next_identity();
        let a = &nb.attendee;
        let email = a.email.clone().unwrap_or_else(|| {
            let digits: String = a.phone.as_deref().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
            format!("{digits}@sms.cal.com")
        });
        let mut fields = Map::new();
        fields.insert("name".into(), Value::String(a.name.clone()));
        fields.insert("email".into(), Value::String(email.clone()));
        if let Some(p) = &a.phone {
            fields.insert("attendeePhoneNumber".into(), Value::String(p.clone()));
        }
        fields.extend(nb.fields);
        let booking = Booking {
            id,
            uid,
            title: format!("{} between {} and {}", et.slug, et.host_name, a.name),
            description: String::new(),
            hosts: vec![host_output(&et, &self.schedule)],
            status: BookingStatus::Accepted,
            cancellation_reason: None,
            cancelled_by_email: None,
            rescheduling_reason: None,
            rescheduled_by_email: None,
            rescheduled_from_uid: None,
            rescheduled_to_uid: None,
            start: nb.start,
            end,
            duration: len,
            event_type_id: et.id,
            event_type: Some(EventTypeRef { id: et.id, slug: et.slug.clone() }),
            location: String::new(),
            absent_host: false,
            created_at: now,
            updated_at: Some(now),
            metadata: nb.metadata,
            attendees: vec![BookingAttendee {
                name: a.name.clone(),
                display_email: email.clone(),
                email,
                time_zone: a.time_zone.clone(),
                language: Some(a.language.clone().unwrap_or_else(|| "en".to_owned())),
                absent: false,
                phone_number: a.phone.clone(),
            }],
            guests: nb.guests,
            booking_fields_responses: fields,
        };
        if let Some(r) = &nb.reserved_slot_uid {
            self.reservations.remove(r);
        }
        Ok(self.push(booking))
    }

    pub fn cancel(&mut self, uid: &str, reason: Option<String>, now: DateTime<Utc>) -> Result<Booking, CalError> {
        let i = *self.index.get(uid).ok_or_else(|| CalError::NotFound(format!("Booking with uid={uid} not found")))?;
        if !self.bookings[i].status.is_active() {
            return Err(CalError::BadRequest("This booking has already been cancelled.".to_owned()));
        }
        self.deactivate(i, now);
        let b = &mut self.bookings[i];
        b.cancellation_reason = reason;
        Ok(b.clone())
    }

    /// Returns `(new booking, old booking)`.
    pub fn reschedule(
        &mut self,
        uid: &str,
        start: DateTime<Utc>,
        reason: Option<String>,
        rescheduled_by: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(Booking, Booking), CalError> {
        self.prune(now);
        let i = *self.index.get(uid).ok_or_else(|| CalError::NotFound(format!("Booking with uid={uid} not found")))?;
        let old = self.bookings[i].clone();
        if !old.status.is_active() {
            return Err(CalError::BadRequest(format!("Booking with uid={uid} is cancelled and can't be rescheduled")));
        }
        let end = start + minutes(old.duration);
        let host = host_of(&old).unwrap_or_default();
        if self.enforce_schedule && !self.schedule.contains(start, end) {
            return Err(CalError::SlotTaken(SLOT_TAKEN_MSG.to_owned()));
        }
        if self.conflict(host, start, end, now, Some(uid), None).is_some() {
            return Err(CalError::SlotTaken(SLOT_TAKEN_MSG.to_owned()));
        }
        let (id, new_uid) = self.next_identity();
        let new = Booking {
            id,
            uid: new_uid.clone(),
            start,
            end,
            status: BookingStatus::Accepted,
            created_at: now,
            updated_at: Some(now),
            rescheduled_from_uid: Some(uid.to_owned()),
            rescheduled_to_uid: None,
            rescheduling_reason: reason.clone(),
            rescheduled_by_email: rescheduled_by.clone(),
            cancellation_reason: None,
            cancelled_by_email: None,
            ..old
        };
        self.deactivate(i, now);
        let stored_old = &mut self.bookings[i];
        stored_old.rescheduled_to_uid = Some(new_uid);
        stored_old.rescheduling_reason = reason;
        stored_old.rescheduled_by_email = rescheduled_by;
        let old = stored_old.clone();
        Ok((self.push(new), old))
    }

    pub fn reserve(
        &mut self,
        event_type_id: i64,
        start: DateTime<Utc>,
        slot_minutes: Option<u32>,
        hold_minutes: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Reservation, CalError> {
        self.prune(now);
        let r = self.build_reservation(None, event_type_id, start, slot_minutes, hold_minutes, now)?;
        self.reservations.insert(r.uid.clone(), r.clone());
        Ok(r)
    }

    pub fn update_reservation(
        &mut self,
        uid: &str,
        event_type_id: i64,
        start: DateTime<Utc>,
        slot_minutes: Option<u32>,
        hold_minutes: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Reservation, CalError> {
        self.prune(now);
        if !self.reservations.contains_key(uid) {
            return Err(CalError::NotFound(format!("Reserved slot with uid={uid} not found")));
        }
        let r = self.build_reservation(Some(uid), event_type_id, start, slot_minutes, hold_minutes, now)?;
        self.reservations.insert(r.uid.clone(), r.clone());
        Ok(r)
    }

    fn build_reservation(
        &self,
        uid: Option<&str>,
        event_type_id: i64,
        start: DateTime<Utc>,
        slot_minutes: Option<u32>,
        hold_minutes: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Reservation, CalError> {
        let et = self.event_type_or_404(event_type_id)?;
        let slot = slot_minutes.unwrap_or(et.length_minutes);
        if slot == 0 || slot > MAX_BOOKING_MINUTES {
            return Err(CalError::BadRequest(format!("slotDuration must be between 1 and {MAX_BOOKING_MINUTES}")));
        }
        let hold = hold_minutes.unwrap_or(calcom_api::types::DEFAULT_RESERVATION_MINUTES);
        if hold == 0 || hold > MAX_RESERVATION_MINUTES {
            return Err(CalError::BadRequest(format!(
                "reservationDuration must be between 1 and {MAX_RESERVATION_MINUTES}"
            )));
        }
        let end = start + minutes(slot);
        match self.conflict(et.host_user_id, start, end, now, None, uid) {
            Some(true) => return Err(CalError::Unprocessable(RESERVATION_BOOKED_MSG.to_owned())),
            Some(false) => return Err(CalError::Unprocessable(RESERVATION_HELD_MSG.to_owned())),
            None => {}
        }
        Ok(Reservation {
            uid: uid.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
            event_type_id,
            host: et.host_user_id,
            start,
            end,
            slot_minutes: slot,
            hold_minutes: hold,
            until: now + minutes(hold),
        })
    }

    pub fn get_reservation(&self, uid: &str, now: DateTime<Utc>) -> Option<Reservation> {
        self.reservations.get(uid).filter(|r| r.until > now).cloned()
    }

    pub fn delete_reservation(&mut self, uid: &str) -> bool {
        self.reservations.remove(uid).is_some()
    }
}

fn host_output(et: &SimEventType, schedule: &Schedule) -> BookingHost {
    let username = et.host_email.split('@').next().unwrap_or_default().to_owned();
    BookingHost {
        id: et.host_user_id,
        name: et.host_name.clone(),
        email: et.host_email.clone(),
        display_email: et.host_email.clone(),
        username,
        time_zone: schedule.tz.name().to_owned(),
    }
}
