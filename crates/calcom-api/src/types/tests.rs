//! Unit tests of the parent module.

use super::*;

fn booking_json() -> serde_json::Value {
    serde_json::json!({
        "id": 7, "uid": "abc", "title": "Cut between Anna and Bob", "description": null,
        "hosts": [{"id": 1, "name": null, "email": "a@x", "displayEmail": "a@x", "username": "anna", "timeZone": "Europe/Berlin"}],
        "status": "accepted", "start": "2030-01-07T09:00:00.000Z", "end": "2030-01-07T09:30:00.000Z",
        "duration": 30, "eventTypeId": 11, "eventType": {"id": 11, "slug": "cut"}, "location": null,
        "absentHost": false, "createdAt": "2030-01-01T00:00:00Z", "updatedAt": null,
        "metadata": {"call_id": "c1", "n": 3, "gone": null},
        "attendees": [{"name": "Bob", "email": "b@x", "displayEmail": "b@x", "timeZone": "Europe/Berlin", "absent": false}],
        "bookingFieldsResponses": {"name": "Bob"}, "someNewField": {"x": 1}
    })
}

#[test]
fn booking_decodes_leniently() {
    let b: Booking = serde_json::from_value(booking_json()).expect("decodes");
    assert_eq!(b.uid, "abc");
    assert_eq!(b.description, "");
    assert_eq!(b.location, "");
    assert_eq!(b.hosts[0].name, "");
    assert_eq!(b.metadata.get("call_id").map(String::as_str), Some("c1"));
    assert_eq!(b.metadata.get("n").map(String::as_str), Some("3"));
    assert!(!b.metadata.contains_key("gone"));
    assert_eq!(b.status, BookingStatus::Accepted);
    assert_eq!(b.updated_at, None);
}

#[test]
fn unknown_status_does_not_fail() {
    let mut v = booking_json();
    v["status"] = "awaiting_host".into();
    let b: Booking = serde_json::from_value(v).expect("decodes");
    assert_eq!(b.status, BookingStatus::Unknown);
    assert!(!b.status.is_active());
}

fn create(metadata: BTreeMap<String, String>) -> CreateBooking {
    CreateBooking {
        start: Utc::now(),
        event_type_id: 1,
        attendee: CreateBookingAttendee {
            name: "Bob".into(),
            email: Some("b@x.org".into()),
            time_zone: "Europe/Berlin".into(),
            phone_number: None,
            language: None,
        },
        length_in_minutes: None,
        metadata,
        reserved_slot_uid: None,
        booking_fields_responses: None,
    }
}

#[test]
fn metadata_limits_are_enforced() {
    let ok: BTreeMap<String, String> = (0..50).map(|i| (format!("k{i}"), "v".repeat(500))).collect();
    assert!(create(ok).validate().is_ok());
    let too_many: BTreeMap<String, String> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    assert!(create(too_many).validate().is_err());
    let long_key = BTreeMap::from([("k".repeat(41), "v".to_owned())]);
    assert!(create(long_key).validate().is_err());
    let long_value = BTreeMap::from([("k".to_owned(), "é".repeat(501))]);
    assert!(create(long_value).validate().is_err());
    let mut no_contact = create(BTreeMap::new());
    no_contact.attendee.email = None;
    assert!(no_contact.validate().is_err());
}

#[test]
fn create_serializes_camel_case_and_skips_empty() {
    let v = serde_json::to_value(create(BTreeMap::new())).expect("serializes");
    assert!(v.get("eventTypeId").is_some());
    assert!(v["attendee"].get("timeZone").is_some());
    assert!(v.get("metadata").is_none());
    assert!(v.get("reservedSlotUid").is_none());
}

#[test]
fn list_query_rejects_bad_take_and_joins_lists() {
    let q = ListBookingsQuery { take: Some(251), ..Default::default() };
    assert!(q.to_query_pairs().is_err());
    let q = ListBookingsQuery {
        status: vec![BookingListStatus::Upcoming, BookingListStatus::Cancelled],
        event_type_ids: vec![1, 2],
        take: Some(250),
        ..Default::default()
    };
    let pairs = q.to_query_pairs().expect("valid");
    assert!(pairs.contains(&("status", "upcoming,cancelled".to_owned())));
    assert!(pairs.contains(&("eventTypeIds", "1,2".to_owned())));
}

#[test]
fn pagination_math() {
    let p = Pagination::compute(123, 10, 10, 10);
    assert_eq!((p.remaining_items, p.current_page, p.total_pages), (103, 2, 13));
    assert!(p.has_next_page && p.has_previous_page);
    let p = Pagination::compute(0, 0, 100, 0);
    assert_eq!((p.total_pages, p.current_page, p.has_next_page), (0, 1, false));
}

#[test]
fn endpoint_labels_round_trip() {
    for e in Endpoint::ALL {
        assert_eq!(Endpoint::from_label(e.label()), Some(e));
    }
    assert_eq!(Endpoint::BookingsCreate.api_version(), API_VERSION_BOOKINGS);
    assert_eq!(Endpoint::ReservationsDelete.api_version(), API_VERSION_SLOTS);
}

/// Cal.com's limits (`validators/validate-metadata.ts`): 50 keys, keys ≤ 40 and string values
/// ≤ 500, counted in UTF-16 code units as JavaScript's `length` counts.
#[test]
fn metadata_limits_are_cal_coms() {
    let at = |keys: usize, key_len: usize, value_len: usize| {
        let mut m = BTreeMap::new();
        for i in 0..keys {
            let key = format!("{i:0>width$}", width = key_len);
            m.insert(key, "v".repeat(value_len));
        }
        validate_metadata(&m)
    };
    assert!(at(50, 40, 500).is_ok(), "exactly at every limit");
    assert!(at(51, 40, 1).is_err(), "51 keys");
    assert!(at(1, 41, 1).is_err(), "a 41-character key");
    assert!(at(1, 10, 501).is_err(), "a 501-character value");
    let mut emoji = BTreeMap::new();
    emoji.insert("k".to_owned(), "😀".repeat(250));
    assert!(validate_metadata(&emoji).is_ok(), "250 emoji are 500 UTF-16 units");
    emoji.insert("k".to_owned(), format!("{}a", "😀".repeat(250)));
    assert!(validate_metadata(&emoji).is_err(), "501 UTF-16 units although 251 characters");
    assert_eq!(Endpoint::EventTypesGet.api_version(), "2024-06-14");
}

/// Every property our request bodies carry is one Cal.com's input classes declare (the lists
/// cite `create-booking.input.ts`, `reschedule-booking.input.ts`, `cancel-booking.input.ts`,
/// `reserve-slot.input.ts`), and the required ones are there.
#[test]
fn request_bodies_use_only_cal_coms_properties() {
    fn keys(v: &serde_json::Value) -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    }
    fn within(v: &serde_json::Value, allowed: &[&str], required: &[&str]) {
        for k in keys(v) {
            assert!(allowed.contains(&k.as_str()), "{k} is no property of Cal.com's input: {v}");
        }
        for r in required {
            assert!(v.get(*r).is_some(), "{r} missing: {v}");
        }
    }
    let start: DateTime<Utc> = "2030-01-07T09:00:00Z".parse().unwrap();
    let attendee = CreateBookingAttendee {
        name: "Erika".into(),
        email: None,
        time_zone: "Europe/Berlin".into(),
        phone_number: Some("+4915112345678".into()),
        language: Some("de".into()),
    };
    let single = CreateBooking {
        start,
        event_type_id: 1101,
        attendee,
        length_in_minutes: None,
        metadata: BTreeMap::from([("slotkeeper_booking_id".to_owned(), "apt_1".to_owned())]),
        reserved_slot_uid: Some("r-1".into()),
        booking_fields_responses: None,
    };
    let multi = CreateBooking { length_in_minutes: Some(60), ..single.clone() };
    for body in [&single, &multi] {
        let v = serde_json::to_value(body).unwrap();
        within(&v, CREATE_BOOKING_PROPERTIES, &["start", "eventTypeId", "attendee"]);
        within(&v["attendee"], ATTENDEE_PROPERTIES, &["name", "timeZone"]);
    }
    assert!(serde_json::to_value(&single).unwrap().get("lengthInMinutes").is_none());
    let reserve =
        ReserveSlot { event_type_id: 1, slot_start: start, slot_duration: None, reservation_duration: Some(3) };
    within(&serde_json::to_value(&reserve).unwrap(), RESERVE_SLOT_PROPERTIES, &["eventTypeId", "slotStart"]);
    let cancel = CancelBooking { cancellation_reason: Some("x".into()) };
    within(&serde_json::to_value(&cancel).unwrap(), CANCEL_BOOKING_PROPERTIES, &[]);
    let moved = RescheduleBooking { start, rescheduling_reason: Some("x".into()), rescheduled_by: None };
    within(&serde_json::to_value(&moved).unwrap(), RESCHEDULE_BOOKING_PROPERTIES, &["start"]);
}
