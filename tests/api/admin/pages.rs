//! What the pages show and do: the seed's reservation columns, filters, search, sort, pages and
//! the live count; bookings with phases and sync state, cancel with confirmation, dead-letter
//! retry; flags that are audited and take effect at once.

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::domain::{AppointmentId, ReservationToken};
use slotkeeper::store::{
    AppointmentStatus, HoldInsert, NewReservation, OutboxStatus, ReservationKind, ReservationStatus, SyncState,
};

use super::{AdminClient, FIRST, FIRST_ADMIN, OPERATOR, booking, dead_letter, hold, two_salons, two_salons_with};
use crate::helpers::{CallFixture, eventually};

/// Asks for the stylist and time of `earlier` again, on a new call.
async fn same_stylist(app: &crate::helpers::TestApp, service: &str, earlier: &Value) -> Value {
    let args = json!({"service": service, "date": "morgen", "time": "10:00", "staff": earlier["staff"]});
    let (status, answer) = app.call(&CallFixture::new(), "check_availability", args).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["staff"], earlier["staff"], "{answer}");
    answer
}

fn row_of<'a>(html: &'a str, token: &str) -> &'a str {
    let start =
        html.find(&format!("<tr data-token=\"{token}\"")).unwrap_or_else(|| panic!("row of {token} in the page"));
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}

#[tokio::test]
async fn the_reservation_list_shows_the_seeds_columns_in_german() {
    let app = two_salons().await;
    let call = CallFixture::new();
    let held = hold(&app, &call, "Dauerwelle", "10:00", "Erika Mustermann").await;
    let token = held["reservation_token"].as_str().unwrap();
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let page = client.get("/admin/reservations").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = row_of(&page.body, token);
    assert!(row.contains(&format!("data-copy=\"{token}\"")), "a copy button for the token: {row}");
    assert!(row.contains("badge badge-warning status-badge\">Aktiv<"), "active is amber: {row}");
    for expected in [
        call.call_id.as_str(),
        "Erika Mustermann",
        "Dauerwelle",
        "26.11.2026 10:00",
        ">Ja<",
        "in 3 Min.",
        "25.11.2026 08:00:00",
    ] {
        assert!(row.contains(expected), "{expected} in {row}");
    }
    assert!(page.body.contains("id=\"active-count\"") && page.body.contains(">1</strong>"), "one active hold");
    let detail = client.get(&format!("/admin/reservations/{token}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    for expected in ["Haare wickeln", "Einwirkzeit", "Schneiden und Styling", "12:15", "Reservierung freigeben"] {
        assert!(detail.body.contains(expected), "{expected} on the detail page");
    }
}

#[tokio::test]
async fn filters_search_and_sort_narrow_the_list() {
    let app = two_salons().await;
    let perm = hold(&app, &CallFixture::new(), "Dauerwelle", "10:00", "Erika Mustermann").await;
    app.clock.advance(Duration::from_secs(1));
    let cut_call = CallFixture::new();
    let cut = hold(&app, &cut_call, "Herrenhaarschnitt", "16:00", "Max Müller").await;
    let perm_token = perm["reservation_token"].as_str().unwrap();
    let cut_token = cut["reservation_token"].as_str().unwrap();
    let client = AdminClient::signed_in(&app, OPERATOR).await;

    let newest_first = client.get("/admin/reservations").await.body;
    assert!(newest_first.find(cut_token).unwrap() < newest_first.find(perm_token).unwrap(), "created at, newest first");
    let oldest_first = client.get("/admin/reservations?sort=created_asc").await.body;
    assert!(oldest_first.find(perm_token).unwrap() < oldest_first.find(cut_token).unwrap());

    let searches = [&cut_token[4..14], &cut_call.call_id[5..], "max MÜLLER", "müller"];
    for term in searches {
        let body = client.get(&format!("/admin/reservations?q={}", urlencode(term))).await.body;
        assert!(body.contains(cut_token) && !body.contains(perm_token), "search {term:?}");
    }
    let wildcard = client.get("/admin/reservations?q=%25").await.body;
    assert!(wildcard.contains("Keine Reservierungen gefunden."), "% is a character, not a wildcard");

    let active = client.get("/admin/reservations?status=active").await.body;
    assert!(active.contains(cut_token) && active.contains(perm_token));
    assert!(client.get("/admin/reservations?status=expired").await.body.contains("Keine Reservierungen gefunden."));
    let odd = client.get("/admin/reservations?status=%3Cscript%3E&page=-3&sort=drop").await;
    assert_eq!(odd.status, StatusCode::OK, "odd values are ignored");
}

/// Search terms with umlauts in a URL.
fn urlencode(term: &str) -> String {
    serde_urlencoded::to_string([("q", term)]).unwrap().trim_start_matches("q=").to_owned()
}

#[tokio::test]
async fn a_hold_past_its_expiry_shows_as_expired_even_before_the_sweeper_marks_it() {
    // No calendar actor owns this hold and the sweeper sleeps for an hour: the row stays
    // `active` in the store, but it is past its expiry.
    let app = two_salons_with(|s| s.holds.sweeper_interval_secs = 3600).await;
    let now = app.clock.now();
    let token = ReservationToken::generate();
    let reservation = NewReservation {
        tenant: FIRST.into(),
        staff: "anna".into(),
        token: token.clone(),
        kind: ReservationKind::Hold,
        call_id: "call_0123456789abcdef0123456789abcdef".into(),
        customer_name: Some("Frieda Vergessen".into()),
        customer_phone: None,
        service: "herrenhaarschnitt".into(),
        start: now + TimeDelta::days(1),
        end: now + TimeDelta::days(1) + TimeDelta::minutes(30),
        is_compound: false,
        expires_at: now + TimeDelta::seconds(120),
        phases: vec![],
        created_at: now,
    };
    app.parts.store.insert_hold(HoldInsert { reservation: &reservation, busy: &[], now }).await.unwrap();
    app.clock.advance(Duration::from_secs(125));
    let stored = app.parts.store.get_reservation(&token).await.unwrap().unwrap();
    assert_eq!(stored.status, ReservationStatus::Active, "not swept yet");

    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let body = client.get("/admin/reservations").await.body;
    let row = row_of(&body, token.as_str());
    assert!(row.contains("badge-danger status-badge\">Abgelaufen<") && row.contains("vor 5 s"), "{row}");
    assert!(client.get("/admin/reservations?status=expired").await.body.contains(token.as_str()));
    assert!(!client.get("/admin/reservations?status=active").await.body.contains(token.as_str()));
    let count: Value = serde_json::from_str(&client.get("/admin/reservations/active-count").await.body).unwrap();
    assert_eq!(count["active"], 0, "{count}");
    let released = client.submit(&format!("/admin/reservations/{token}/release"), &[]).await;
    released.assert_redirect(&format!("/admin/reservations/{token}?notice=not-releasable"));
}

#[tokio::test]
async fn the_live_count_follows_holds_as_they_come_and_expire() {
    let app = two_salons().await;
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let count = |body: String| serde_json::from_str::<Value>(&body).unwrap();
    let empty = count(client.get("/admin/reservations/active-count").await.body);
    assert_eq!(empty["active"], 0);
    assert_eq!(empty["now_ms"], app.clock.now().timestamp_millis(), "the service's own clock");
    hold(&app, &CallFixture::new(), "Herrenhaarschnitt", "11:00", "Eins").await;
    hold(&app, &CallFixture::new(), "Herrenhaarschnitt", "12:00", "Zwei").await;
    assert_eq!(count(client.get("/admin/reservations/active-count").await.body)["active"], 2);
    app.clock.advance(Duration::from_secs(121));
    assert_eq!(count(client.get("/admin/reservations/active-count").await.body)["active"], 0, "expired by time");
}

#[tokio::test]
async fn long_lists_are_paged_and_the_links_keep_the_filters() {
    let app = two_salons().await;
    let now = app.clock.now();
    for i in 0..55 {
        let offer = NewReservation {
            tenant: FIRST.into(),
            staff: "ben".into(),
            token: ReservationToken::generate(),
            kind: ReservationKind::Offer,
            call_id: format!("call_{i:032x}"),
            customer_name: Some(format!("Kunde {i}")),
            customer_phone: None,
            service: "ponyschnitt".into(),
            start: now + TimeDelta::days(2) + TimeDelta::minutes(15 * i),
            end: now + TimeDelta::days(2) + TimeDelta::minutes(15 * i + 10),
            is_compound: false,
            expires_at: now + TimeDelta::minutes(30),
            phases: vec![],
            created_at: now + TimeDelta::seconds(i),
        };
        app.parts.store.insert_hold(HoldInsert { reservation: &offer, busy: &[], now }).await.unwrap();
    }
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let first = client.get("/admin/reservations?kind=offer").await.body;
    assert_eq!(first.matches("<tr data-token=").count(), 50);
    assert!(first.contains("Seite 1 von 2 · 55 Einträge"), "pager");
    assert!(
        first.contains("href=\"/admin/reservations?tenant=salon-beispiel&#38;kind=offer&#38;page=2\""),
        "next keeps the filter"
    );
    assert!(first.contains("Angebot"), "offers are marked");
    let second = client.get("/admin/reservations?kind=offer&page=2").await.body;
    assert_eq!(second.matches("<tr data-token=").count(), 5);
    assert!(second.contains("Kunde 0<") && !second.contains("Kunde 54<"), "oldest last");
}

#[tokio::test]
async fn bookings_show_their_phases_and_sync_state_and_cancel_after_confirmation() {
    let app = two_salons().await;
    let call = CallFixture::new();
    let held = hold(&app, &call, "Dauerwelle", "10:00", "Erika Mustermann").await;
    let (_, booked) = app
        .call(
            &call,
            "start_booking",
            json!({"reservation_token": held["reservation_token"], "customer_name": "Erika Mustermann"}),
        )
        .await;
    let id = AppointmentId::new(booked["booking_id"].as_str().unwrap());
    let synced = eventually(Duration::from_secs(20), || async {
        app.parts.store.get_appointment(&id).await.unwrap().is_some_and(|a| a.sync_state == SyncState::Synced)
    })
    .await;
    assert!(synced, "Cal.com has all phases");
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let page = client.get("/admin/bookings").await.body;
    for expected in [
        id.as_str(),
        "Erika Mustermann",
        "Dauerwelle",
        "26.11.2026 10:00",
        "Bestätigt",
        "Synchronisiert",
        "10:00–10:50",
        "Haare wickeln",
        "Pause (kein Termin)",
    ] {
        assert!(page.contains(expected), "{expected} on the bookings page");
    }

    let confirm = client.get(&format!("/admin/bookings/{id}/cancel")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Buchung stornieren?") && confirm.body.contains("Ja, Buchung stornieren"));
    assert_eq!(
        app.parts.store.get_appointment(&id).await.unwrap().unwrap().status,
        AppointmentStatus::Confirmed,
        "asking changes nothing"
    );
    client
        .submit(&format!("/admin/bookings/{id}/cancel"), &[])
        .await
        .assert_redirect("/admin/bookings?notice=cancelled");
    let cancelled = app.parts.store.get_appointment(&id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
    assert!(cancelled.status_reason.unwrap().contains(FIRST_ADMIN), "who cancelled is recorded");
    assert!(client.get("/admin/bookings?notice=cancelled").await.body.contains("Die Buchung wurde storniert."));
    let again = same_stylist(&app, "Dauerwelle", &held).await;
    assert_eq!(again["available"], true, "the stylist's calendar freed the slot at once: {again}");
    client
        .submit(&format!("/admin/bookings/{id}/cancel"), &[])
        .await
        .assert_redirect("/admin/bookings?notice=not-cancellable");
}

#[tokio::test]
async fn a_dead_letter_is_listed_and_retried_from_the_page() {
    let app = two_salons().await;
    let id = booking(&app, &CallFixture::new(), "15:00", "Erika Mustermann").await;
    let dead = dead_letter(&app, FIRST, &id).await;
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let page = client.get("/admin/bookings").await.body;
    assert!(page.contains("Unzustellbare Cal.com-Aufträge (1)") && page.contains("Cal.com antwortete 500 (simuliert)"));
    client
        .submit(&format!("/admin/dead-letters/{dead}/retry"), &[])
        .await
        .assert_redirect("/admin/bookings?notice=retried");
    let job = app.parts.store.outbox_job_in_scope(dead, None).await.unwrap().unwrap();
    assert_ne!(job.status, OutboxStatus::Dead, "back in the queue");
    client
        .submit(&format!("/admin/dead-letters/{dead}/retry"), &[])
        .await
        .assert_redirect("/admin/bookings?notice=not-dead");
    assert_eq!(client.submit("/admin/dead-letters/999999/retry", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(client.submit("/admin/dead-letters/abc/retry", &[]).await.status, StatusCode::NOT_FOUND);
}

async fn flag_form(client: &AdminClient, enabled: bool, percent: &str) -> super::Page {
    let mut form = vec![("tenant", FIRST), ("flag", "reservations_enabled"), ("rollout_percent", percent)];
    if enabled {
        form.push(("enabled", "on"));
    }
    client.submit("/admin/flags", &form).await
}

#[tokio::test]
async fn switching_reservations_off_is_audited_and_the_next_call_gets_no_hold() {
    let app = two_salons().await;
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    flag_form(&client, false, "100").await.assert_redirect("/admin/flags?tenant=salon-beispiel&notice=flag-saved");
    let audit = app.parts.store.flag_audit(Some(&FIRST.into()), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].old_value.as_deref(), audit[0].new_value.as_str(), audit[0].changed_by.as_str()),
        (Some("on 100%"), "off 100%", FIRST_ADMIN)
    );
    let page = client.get("/admin/flags").await.body;
    assert!(page.contains("an (100%) → aus (100%)") && page.contains(">anna<"), "the audit trail on the page");

    let call = CallFixture::new();
    let (_, answer) = app
        .call(&call, "check_availability", json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"}))
        .await;
    assert_eq!(answer["available"], true, "{answer}");
    assert!(answer.get("time_remaining").is_none(), "no hold, only an offer: {answer}");
    let offered = app
        .parts
        .store
        .get_reservation(&ReservationToken::new(answer["reservation_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offered.kind, ReservationKind::Offer);

    flag_form(&client, false, "100").await.assert_redirect("/admin/flags?tenant=salon-beispiel&notice=flag-unchanged");
    assert_eq!(app.parts.store.flag_audit(None, 10).await.unwrap().len(), 1, "no change, no audit row");
    assert_eq!(flag_form(&client, true, "101").await.status, StatusCode::BAD_REQUEST);
    flag_form(&client, true, "100").await.assert_redirect("/admin/flags?tenant=salon-beispiel&notice=flag-saved");
    let (_, again) = app
        .call(
            &CallFixture::new(),
            "check_availability",
            json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "11:00"}),
        )
        .await;
    assert_eq!(again["time_remaining"], 120, "holds again: {again}");
}

#[tokio::test]
async fn an_operator_switches_parallel_booking_for_one_salon() {
    let app = two_salons().await;
    let client = AdminClient::signed_in(&app, OPERATOR).await;
    let off = client.submit("/admin/flags", &[("tenant", "salon-zwei"), ("flag", "parallel_booking_enabled")]).await;
    off.assert_redirect("/admin/flags?notice=flag-saved");
    assert!(!app.parts.flags.parallel_booking(&"salon-zwei".into()));
    assert!(app.parts.flags.parallel_booking(&FIRST.into()), "the other salon keeps its value");
    assert_eq!(
        client.submit("/admin/flags", &[("tenant", FIRST), ("flag", "no_such_flag"), ("enabled", "on")]).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        client
            .submit("/admin/flags", &[("tenant", "salon-nirgends"), ("flag", "parallel_booking_enabled")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn text_from_callers_is_escaped_on_every_page() {
    let app = two_salons().await;
    let call = CallFixture::new();
    let held = hold(&app, &call, "Herrenhaarschnitt", "10:00", "<script>alert('x')</script>").await;
    let token = held["reservation_token"].as_str().unwrap();
    let client = AdminClient::signed_in(&app, OPERATOR).await;
    for path in [
        "/admin/reservations".to_owned(),
        format!("/admin/reservations/{token}"),
        "/admin/reservations?q=%3Cscript%3E".to_owned(),
    ] {
        let body = client.get(&path).await.body;
        assert!(!body.contains("<script>alert"), "raw markup on {path}");
        assert!(body.contains("&lt;script&gt;") || body.contains("&#60;script&#62;"), "escaped on {path}");
    }
}

#[tokio::test]
async fn releasing_a_hold_frees_the_slot_for_the_next_caller() {
    let app = two_salons().await;
    let held = hold(&app, &CallFixture::new(), "Herrenhaarschnitt", "10:00", "Erika").await;
    let token = held["reservation_token"].as_str().unwrap();
    let client = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    client
        .submit(&format!("/admin/reservations/{token}/release"), &[])
        .await
        .assert_redirect(&format!("/admin/reservations/{token}?notice=released"));
    let stored = app.parts.store.get_reservation(&ReservationToken::new(token)).await.unwrap().unwrap();
    assert_eq!(stored.status, ReservationStatus::Cancelled);
    let page = client.get(&format!("/admin/reservations/{token}?notice=released")).await.body;
    assert!(
        page.contains("badge-secondary status-badge\" id=\"status-badge\">Storniert<")
            && page.contains("wieder buchbar"),
        "{page}"
    );
    let next = same_stylist(&app, "Herrenhaarschnitt", &held).await;
    assert_eq!(next["available"], true, "the same stylist is free again: {next}");
}
