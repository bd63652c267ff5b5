//! The admin page in a real headless Chromium (issue 7): log in, watch a reservation made over
//! the Retell API appear with the amber badge, filter, search, copy the token, let it expire
//! (red badge), switch a flag and find it in the audit trail, log out.
//!
//! Screenshots of every step land in `target/browser-screenshots/` for a person to look at.
//! Without `chromium` and `chromedriver` the test fails and says to run `scripts/setup`.

mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use slotkeeper::domain::ReservationToken;
use slotkeeper::store::ReservationStatus;
use slotkeeper::store::admin::AdminRole;

use crate::helpers::{ADMIN_PASSWORD, CallFixture, TestApp, eventually};
use webdriver::Driver;

/// A page condition that is not met within this time is a failure (generous: two cores, many
/// tests in parallel).
const PAGE_WAIT: Duration = Duration::from_secs(20);

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots")
}

/// Removes the PNGs of an earlier run (only those: the directory itself stays, so a run of the
/// suite in parallel keeps a place to write).
fn remove_old_screenshots(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A JS condition: the row of `token` has a status badge with `class` and `label`.
fn badge_is(token: &str, class: &str, label: &str) -> String {
    format!(
        "const badge = document.querySelector('tr[data-token=\"{token}\"] .status-badge'); \
         return !!badge && badge.classList.contains('{class}') && badge.textContent.trim() === '{label}';"
    )
}

/// The computed background colour of the row's badge (the seed's colours, as the user sees them).
async fn badge_colour(driver: &Driver, token: &str) -> String {
    let script = format!(
        "return getComputedStyle(document.querySelector('tr[data-token=\"{token}\"] .status-badge')).backgroundColor;"
    );
    driver.execute(&script, json!([])).await.as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_follows_a_reservation_in_a_real_browser() {
    let shots = screenshot_dir();
    remove_old_screenshots(&shots);
    let app = TestApp::spawn().await;
    app.create_admin("anna", AdminRole::TenantAdmin, Some("salon-beispiel")).await;
    let base = app.url("");
    let mut driver = Driver::start(&shots).await;
    // Headless Chromium asks nobody for clipboard access: grant it for our origin up front, so
    // the test can read back what the copy button wrote.
    let granted = driver
        .cdp(
            "Browser.grantPermissions",
            json!({"origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
        )
        .await;

    // Log in (the protected page sends us to the form first).
    driver.goto(&format!("{base}/admin/reservations")).await;
    driver.wait_for("the login form", PAGE_WAIT, "return !!document.querySelector('#login-form');").await;
    assert!(driver.url().await.contains("/admin/login?next="), "redirected to the login");
    driver.screenshot("login").await;
    let username = driver.find("#username").await;
    driver.type_text(&username, "anna").await;
    let password = driver.find("#password").await;
    driver.type_text(&password, ADMIN_PASSWORD).await;
    driver.click(&driver.find("#login-submit").await).await;
    driver
        .wait_for(
            "the reservation list",
            PAGE_WAIT,
            "return location.pathname === '/admin/reservations' && !!document.querySelector('#reservations');",
        )
        .await;
    driver.screenshot("empty-list").await;

    // Two callers: one holds a perm, the other holds and books a haircut.
    let perm_call = CallFixture::new();
    let (_, perm) = app
        .call(
            &perm_call,
            "check_availability",
            json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00", "customer_name": "Erika Mustermann"}),
        )
        .await;
    let token = perm["reservation_token"].as_str().expect("a hold").to_owned();
    let cut_call = CallFixture::new();
    let (_, cut) = app
        .call(
            &cut_call,
            "check_availability",
            json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "14:00", "customer_name": "Max Müller"}),
        )
        .await;
    let cut_token = cut["reservation_token"].as_str().unwrap().to_owned();
    let (_, booked) = app
        .call(&cut_call, "start_booking", json!({"reservation_token": cut_token, "customer_name": "Max Müller"}))
        .await;
    assert_eq!(booked["success"], true, "{booked}");

    // The live counter notices the new hold without a reload, then the reload shows the rows.
    driver.wait_for("the live count to reach 1", PAGE_WAIT, "return document.querySelector('#active-count').textContent.trim() === '1' && !document.querySelector('#stale-notice').hidden;").await;
    driver.screenshot("live-count").await;
    driver.goto(&format!("{base}/admin/reservations")).await;
    driver.wait_for("the amber badge", PAGE_WAIT, &badge_is(&token, "badge-warning", "Aktiv")).await;
    driver.wait_for("the green badge", PAGE_WAIT, &badge_is(&cut_token, "badge-success", "Gebucht")).await;
    assert_eq!(badge_colour(&driver, &token).await, "rgb(255, 243, 196)", "amber");
    assert_eq!(badge_colour(&driver, &cut_token).await, "rgb(227, 249, 229)", "green");
    driver.screenshot("active-amber").await;

    // Filter by status: only the active hold remains.
    driver.click(&driver.find("#filter-status option[value='active']").await).await;
    driver.wait_for("the status filter", PAGE_WAIT, &format!(
        "return location.search.includes('status=active') && !!document.querySelector('tr[data-token=\"{token}\"]') && !document.querySelector('tr[data-token=\"{cut_token}\"]');"
    )).await;
    driver.screenshot("filter-active").await;

    // Search by (part of) the token.
    driver.goto(&format!("{base}/admin/reservations")).await;
    driver.wait_for("the list", PAGE_WAIT, "return !!document.querySelector('#search');").await;
    let search = driver.find("#search").await;
    driver.type_text(&search, &token[4..16]).await;
    driver.click(&driver.find("#apply-filters").await).await;
    driver.wait_for("the search result", PAGE_WAIT, &format!(
        "return location.search.includes('q=') && document.querySelectorAll('tr[data-token]').length === 1 && !!document.querySelector('tr[data-token=\"{token}\"]');"
    )).await;
    driver.screenshot("search-token").await;

    // Copy the token and read the clipboard back.
    driver.click(&driver.find(&format!("tr[data-token=\"{token}\"] button[data-copy]")).await).await;
    driver.wait_for("the copy confirmation", PAGE_WAIT, &format!(
        "return document.querySelector('tr[data-token=\"{token}\"] button[data-copy]').getAttribute('data-copied') === '{token}';"
    )).await;
    driver.screenshot("token-copied").await;
    let clipboard = driver
        .execute_async("const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, e => done('unreadable: ' + e));", json!([]))
        .await;
    match clipboard.as_str() {
        Some(text) if !text.starts_with("unreadable") => {
            assert_eq!(text, token, "the clipboard holds exactly the token")
        }
        // Fallback when this Chromium refuses clipboard reads (permission grant failed: {granted:?}):
        // the page wrote `data-copied` only after the clipboard accepted exactly this text.
        other => eprintln!("clipboard not readable here ({other:?}, grant {granted:?}); verified through data-copied"),
    }

    // Let the hold expire (compound: 180 s); after a reload the badge is red.
    app.clock.advance(Duration::from_secs(181));
    let expired = eventually(Duration::from_secs(10), || async {
        app.parts
            .store
            .get_reservation(&ReservationToken::new(&token))
            .await
            .unwrap()
            .is_some_and(|r| r.status == ReservationStatus::Expired)
    })
    .await;
    assert!(expired, "the calendar actor expired the hold");
    driver.goto(&format!("{base}/admin/reservations")).await;
    driver.wait_for("the red badge", PAGE_WAIT, &badge_is(&token, "badge-danger", "Abgelaufen")).await;
    assert_eq!(badge_colour(&driver, &token).await, "rgb(255, 227, 227)", "red");
    let count = driver.text(&driver.find("#active-count").await).await;
    assert_eq!(count, "0");
    driver.screenshot("expired-red").await;

    // Switch reservations off and find the change in the audit trail.
    driver.goto(&format!("{base}/admin/flags")).await;
    driver
        .wait_for(
            "the flags page",
            PAGE_WAIT,
            "return !!document.querySelector('#flag-salon-beispiel-reservations_enabled');",
        )
        .await;
    driver.click(&driver.find("#flag-salon-beispiel-reservations_enabled").await).await;
    driver.click(&driver.find("#save-salon-beispiel-reservations_enabled").await).await;
    driver.wait_for("the audit row", PAGE_WAIT,
        "return location.search.includes('notice=flag-saved') && [...document.querySelectorAll('#flag-audit tbody tr')].some(r => r.textContent.includes('an (100%) → aus (100%)') && r.textContent.includes('anna'));",
    ).await;
    assert!(
        !app.parts.flags.get(&"salon-beispiel".into(), "reservations_enabled").unwrap().enabled,
        "the switch took effect"
    );
    driver.screenshot("flag-audit").await;

    // The booked haircut with its phase and Cal.com state, and the cancel confirmation.
    driver.goto(&format!("{base}/admin/bookings")).await;
    driver
        .wait_for("the bookings page", PAGE_WAIT, "return document.querySelectorAll('tr[data-booking]').length === 1;")
        .await;
    driver.screenshot("bookings").await;
    driver.click(&driver.find("tr[data-booking] a.cancel").await).await;
    driver.wait_for("the cancel confirmation", PAGE_WAIT, "return !!document.querySelector('#confirm-cancel');").await;
    driver.screenshot("cancel-confirmation").await;

    // Log out: back at the form, and the list is closed again.
    driver.click(&driver.find("#logout").await).await;
    driver.wait_for("the login form after logout", PAGE_WAIT, "return location.pathname === '/admin/login';").await;
    driver.goto(&format!("{base}/admin/reservations")).await;
    driver.wait_for("the login wall", PAGE_WAIT, "return location.pathname === '/admin/login';").await;
    driver.screenshot("logged-out").await;
    driver.quit().await;
}
