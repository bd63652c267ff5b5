//! Handlers of the simulated Cal.com v2 endpoints: input validation and answer shapes.
//!
//! Guarantees: bodies, queries and path parameters are parsed by hand (`input.rs`) so that every
//! malformed input (bad JSON, wrong types, missing fields, bad dates or zones) is a 400 in
//! Cal.com's error shape; success answers are `{status:"success", data}` (`+ pagination` for lists) with
//! Cal.com's status codes (201 for create, reschedule and reserve; 200 otherwise).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};

use super::SimInner;
use super::error::{ApiError, json_response};
use super::input::{
    Body, Obj, RawQuery, UidPath, body_object, field_i64, field_str, field_time, field_u32, param, params_of,
    query_int, query_time, required, uid_of, valid_email, valid_phone,
};
use super::query::{ListFilter, SortKey};
use super::rules;
use super::state::{NewAttendee, NewBooking};
use calcom_api::types::Endpoint;
use calcom_api::types::{
    ATTENDEE_PROPERTIES, BookingListStatus, BookingPage, CREATE_BOOKING_PROPERTIES, Envelope, LIST_MAX_TAKE, SortOrder,
    validate_metadata,
};

type Sim = State<Arc<SimInner>>;

/// Default page size of `GET /v2/bookings`.
const LIST_DEFAULT_TAKE: u32 = 100;

fn finish<T: Serialize>(path: &str, ok: StatusCode, r: Result<T, ApiError>) -> Response {
    match r {
        Ok(data) => json_response(ok, &Envelope::success(data)),
        Err(e) => e.respond(path),
    }
}

fn event_type_id(sim: &SimInner, o: &Obj) -> Result<i64, ApiError> {
    if let Some(id) = field_i64(o, "eventTypeId")? {
        return Ok(id);
    }
    let slug = required(field_str(o, "eventTypeSlug")?, "eventTypeId")?;
    sim.cal()
        .event_type_by_slug(&slug)
        .map(|e| e.id)
        .ok_or_else(|| ApiError::not_found(format!("Event type with slug {slug} not found")))
}

fn attendee(o: &Obj) -> Result<NewAttendee, ApiError> {
    let a = match o.get("attendee") {
        Some(Value::Object(a)) => a,
        Some(_) => return Err(ApiError::bad("attendee must be an object")),
        None => return Err(ApiError::bad("attendee is required")),
    };
    let name = required(field_str(a, "name")?, "attendee.name")?;
    if name.trim().is_empty() {
        return Err(ApiError::bad("attendee.name must not be empty"));
    }
    let time_zone = required(field_str(a, "timeZone")?, "attendee.timeZone")?;
    if time_zone.parse::<Tz>().is_err() {
        return Err(ApiError::bad("attendee.timeZone must be a valid IANA time zone"));
    }
    let email = field_str(a, "email")?;
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        return Err(ApiError::bad("attendee.email must be an email"));
    }
    let phone = field_str(a, "phoneNumber")?;
    if phone.as_deref().is_some_and(|p| !valid_phone(p)) {
        return Err(ApiError::bad("{attendeePhoneNumber}invalid_number"));
    }
    if email.is_none() && phone.is_none() {
        return Err(ApiError::bad("Attendee must have at least one contact method (email or phone number)"));
    }
    let language = field_str(a, "language")?;
    Ok(NewAttendee { name, email, time_zone, phone, language })
}

fn metadata(o: &Obj) -> Result<BTreeMap<String, String>, ApiError> {
    let m = match o.get("metadata") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad("metadata must be an object")),
    };
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(ApiError::bad(format!("metadata value of {k} must be a string, number or boolean")));
            }
        };
        out.insert(k.clone(), v);
    }
    validate_metadata(&out).map_err(|_| rules::metadata_refused())?;
    Ok(out)
}

fn new_booking(sim: &SimInner, o: &Obj) -> Result<NewBooking, ApiError> {
    rules::whitelist(o, CREATE_BOOKING_PROPERTIES, ATTENDEE_PROPERTIES)?;
    let event_type_id = event_type_id(sim, o)?;
    let start = required(field_time(o, "start")?, "start")?;
    let attendee = attendee(o)?;
    let length_minutes = field_u32(o, "lengthInMinutes")?;
    let et = sim.cal().event_type_or_404(event_type_id)?;
    rules::check_length(&et, length_minutes)?;
    rules::check_booking_fields(&et, attendee.email.as_deref(), attendee.phone.as_deref())?;
    let fields = match o.get("bookingFieldsResponses") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::bad("bookingFieldsResponses must be an object")),
    };
    let guests = match o.get("guests") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|g| g.as_str().filter(|e| valid_email(e)).map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::bad("guests must be a list of emails"))?,
        Some(_) => return Err(ApiError::bad("guests must be a list of emails")),
    };
    Ok(NewBooking {
        event_type_id,
        start,
        length_minutes,
        attendee,
        metadata: metadata(o)?,
        reserved_slot_uid: field_str(o, "reservedSlotUid")?,
        fields,
        guests,
    })
}

pub(crate) async fn create_booking(State(sim): Sim, uri: Uri, body: Body) -> Response {
    let r = body_object(body, true)
        .inspect(|o| sim.record(Endpoint::BookingsCreate, o))
        .and_then(|o| new_booking(&sim, &o))
        .and_then(|nb| sim.create_booking(nb, false).map_err(ApiError::from));
    finish(uri.path(), StatusCode::CREATED, r)
}

fn list_filter(q: &[(String, String)]) -> Result<ListFilter, ApiError> {
    let mut f = ListFilter { take: LIST_DEFAULT_TAKE, ..ListFilter::default() };
    if let Some(s) = param(q, "status") {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let st: BookingListStatus = serde_json::from_value(Value::String(part.to_owned())).map_err(|_| {
                ApiError::bad(format!("status {part} is not one of upcoming, recurring, past, cancelled, unconfirmed"))
            })?;
            f.statuses.push(st);
        }
    }
    if let Some(ids) = param(q, "eventTypeIds") {
        for id in ids.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            f.event_type_ids.push(id.parse().map_err(|_| ApiError::bad("eventTypeIds must be integers"))?);
        }
    }
    f.event_type_ids.extend(query_int(q, "eventTypeId")?);
    f.after_start = query_time(q, "afterStart", false)?;
    f.before_end = query_time(q, "beforeEnd", true)?;
    f.after_created_at = query_time(q, "afterCreatedAt", false)?;
    f.before_created_at = query_time(q, "beforeCreatedAt", true)?;
    f.after_updated_at = query_time(q, "afterUpdatedAt", false)?;
    f.before_updated_at = query_time(q, "beforeUpdatedAt", true)?;
    f.booking_uid = param(q, "bookingUid").map(str::to_owned);
    f.attendee_email = param(q, "attendeeEmail").map(str::to_owned);
    f.attendee_name = param(q, "attendeeName").map(str::to_owned);
    for (key, sort) in [
        ("sortStart", SortKey::Start),
        ("sortEnd", SortKey::End),
        ("sortCreated", SortKey::Created),
        ("sortUpdatedAt", SortKey::Updated),
    ] {
        if let Some(v) = param(q, key) {
            let order = match v.trim() {
                "asc" => SortOrder::Asc,
                "desc" => SortOrder::Desc,
                _ => return Err(ApiError::bad(format!("{key} must be asc or desc"))),
            };
            f.sort.get_or_insert((sort, order));
        }
    }
    if let Some(take) = query_int(q, "take")? {
        f.take = u32::try_from(take)
            .ok()
            .filter(|t| (1..=LIST_MAX_TAKE).contains(t))
            .ok_or_else(|| ApiError::bad(format!("take must be between 1 and {LIST_MAX_TAKE}")))?;
    }
    if let Some(skip) = query_int(q, "skip")? {
        f.skip = u32::try_from(skip).map_err(|_| ApiError::bad("skip must not be negative"))?;
    }
    Ok(f)
}

pub(crate) async fn list_bookings(State(sim): Sim, uri: Uri, q: RawQuery) -> Response {
    let r = params_of(q).and_then(|q| list_filter(&q));
    match r {
        Ok(f) => {
            let (bookings, pagination) = sim.cal().list(&f, sim.now());
            json_response(StatusCode::OK, &BookingPage { status: "success".to_owned(), bookings, pagination })
        }
        Err(e) => e.respond(uri.path()),
    }
}

pub(crate) async fn get_booking(State(sim): Sim, uri: Uri, uid: UidPath) -> Response {
    let r = uid_of(uid).and_then(|uid| {
        sim.cal().get(&uid).cloned().ok_or_else(|| ApiError::not_found(format!("Booking with uid={uid} not found")))
    });
    finish(uri.path(), StatusCode::OK, r)
}

pub(crate) async fn cancel_booking(State(sim): Sim, uri: Uri, uid: UidPath, body: Body) -> Response {
    let r = uid_of(uid).and_then(|uid| {
        let o = body_object(body, false)?;
        sim.record(Endpoint::BookingsCancel, &o);
        let reason = field_str(&o, "cancellationReason")?;
        sim.cancel_booking(&uid, reason).map_err(ApiError::from)
    });
    finish(uri.path(), StatusCode::OK, r)
}

pub(crate) async fn reschedule_booking(State(sim): Sim, uri: Uri, uid: UidPath, body: Body) -> Response {
    let r = uid_of(uid).and_then(|uid| {
        let o = body_object(body, true)?;
        sim.record(Endpoint::BookingsReschedule, &o);
        let start = required(field_time(&o, "start")?, "start")?;
        let reason = field_str(&o, "reschedulingReason")?;
        let by = field_str(&o, "rescheduledBy")?;
        sim.reschedule_booking(&uid, start, reason, by).map_err(ApiError::from)
    });
    finish(uri.path(), StatusCode::CREATED, r)
}

pub(crate) async fn slots(State(sim): Sim, uri: Uri, q: RawQuery) -> Response {
    let r = params_of(q).and_then(|q| {
        let event_type_id = match query_int(&q, "eventTypeId")? {
            Some(id) => id,
            None => {
                let slug = required(param(&q, "eventTypeSlug"), "eventTypeId")?;
                let cal = sim.cal();
                cal.event_type_by_slug(slug)
                    .map(|e| e.id)
                    .ok_or_else(|| ApiError::not_found(format!("Event type with slug {slug} not found")))?
            }
        };
        let start = required(query_time(&q, "start", false)?, "start")?;
        let end = required(query_time(&q, "end", true)?, "end")?;
        let tz: Tz = match param(&q, "timeZone") {
            Some(z) => z.parse().map_err(|_| ApiError::bad("timeZone must be a valid IANA time zone"))?,
            None => Tz::UTC,
        };
        let range = match param(&q, "format") {
            None | Some("time") => false,
            Some("range") => true,
            Some(_) => return Err(ApiError::bad("format must be time or range")),
        };
        let duration = query_int(&q, "duration")?
            .map(|d| u32::try_from(d).map_err(|_| ApiError::bad("duration must not be negative")))
            .transpose()?;
        let free = sim.cal().free_slots(event_type_id, start, end, duration, sim.now())?;
        let mut by_date: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (s, e) in free {
            let local = s.with_timezone(&tz);
            let mut slot = Map::new();
            slot.insert("start".into(), Value::String(local.to_rfc3339_opts(SecondsFormat::Millis, true)));
            if range {
                let end = e.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Millis, true);
                slot.insert("end".into(), Value::String(end));
            }
            by_date.entry(local.format("%Y-%m-%d").to_string()).or_default().push(Value::Object(slot));
        }
        Ok(by_date)
    });
    finish(uri.path(), StatusCode::OK, r)
}

struct ReserveInput {
    event_type_id: i64,
    start: DateTime<Utc>,
    slot_minutes: Option<u32>,
    hold_minutes: Option<u32>,
}

fn reserve_input(sim: &SimInner, endpoint: Endpoint, body: Body) -> Result<ReserveInput, ApiError> {
    let o = body_object(body, true)?;
    sim.record(endpoint, &o);
    Ok(ReserveInput {
        event_type_id: required(field_i64(&o, "eventTypeId")?, "eventTypeId")?,
        start: required(field_time(&o, "slotStart")?, "slotStart")?,
        slot_minutes: field_u32(&o, "slotDuration")?,
        hold_minutes: field_u32(&o, "reservationDuration")?,
    })
}

pub(crate) async fn reserve(State(sim): Sim, uri: Uri, body: Body) -> Response {
    let r = reserve_input(&sim, Endpoint::ReservationsCreate, body).and_then(|i| {
        let res = sim.cal().reserve(i.event_type_id, i.start, i.slot_minutes, i.hold_minutes, sim.now())?;
        sim.stats.bump(|s| s.reservations_created += 1);
        Ok(res.output())
    });
    finish(uri.path(), StatusCode::CREATED, r)
}

pub(crate) async fn get_reservation(State(sim): Sim, uri: Uri, uid: UidPath) -> Response {
    let r = uid_of(uid).map(|uid| sim.cal().get_reservation(&uid, sim.now()).map(|r| r.output()));
    finish(uri.path(), StatusCode::OK, r)
}

pub(crate) async fn update_reservation(State(sim): Sim, uri: Uri, uid: UidPath, body: Body) -> Response {
    let r = uid_of(uid).and_then(|uid| {
        let i = reserve_input(&sim, Endpoint::ReservationsUpdate, body)?;
        let res =
            sim.cal().update_reservation(&uid, i.event_type_id, i.start, i.slot_minutes, i.hold_minutes, sim.now())?;
        Ok(res.output())
    });
    finish(uri.path(), StatusCode::OK, r)
}

pub(crate) async fn delete_reservation(State(sim): Sim, uri: Uri, uid: UidPath) -> Response {
    match uid_of(uid) {
        Ok(uid) => {
            if sim.cal().delete_reservation(&uid) {
                sim.stats.bump(|s| s.reservations_deleted += 1);
            }
            json_response(StatusCode::OK, &serde_json::json!({"status": "success"}))
        }
        Err(e) => e.respond(uri.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filter_validation() {
        let q =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert!(list_filter(&q(&[("take", "0")])).is_err());
        assert!(list_filter(&q(&[("take", "251")])).is_err());
        assert!(list_filter(&q(&[("skip", "-1")])).is_err());
        assert!(list_filter(&q(&[("status", "upcoming,bogus")])).is_err());
        assert!(list_filter(&q(&[("sortStart", "up")])).is_err());
        let f =
            list_filter(&q(&[("status", "upcoming,past"), ("eventTypeIds", "1,2"), ("eventTypeId", "3")])).expect("ok");
        assert_eq!((f.statuses.len(), f.event_type_ids.clone(), f.take), (2, vec![1, 2, 3], 100));
    }
}
