//! Who gets in: the login wall on every route, cookies, CSRF on every state-changing request,
//! brute-force limits, logout and session expiry, and the `admin create-user` command.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use slotkeeper::store::admin::AdminRole;

use super::{AdminClient, FIRST_ADMIN, OPERATOR, two_salons, two_salons_with};
use crate::helpers::{ADMIN_PASSWORD, TestApp};

/// Every protected route with a method (ids that do not exist: the wall comes before the lookup).
const PROTECTED: &[(&str, &str)] = &[
    ("GET", "/admin/reservations"),
    ("GET", "/admin/reservations?status=active&q=x"),
    ("GET", "/admin/reservations/active-count"),
    ("GET", "/admin/reservations/rsv_00000000000000000000000000000000"),
    ("POST", "/admin/reservations/rsv_00000000000000000000000000000000/release"),
    ("GET", "/admin/bookings"),
    ("GET", "/admin/bookings/apt_00000000000000000000000000000000/cancel"),
    ("POST", "/admin/bookings/apt_00000000000000000000000000000000/cancel"),
    ("POST", "/admin/dead-letters/1/retry"),
    ("GET", "/admin/flags"),
    ("POST", "/admin/flags"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/no-such-page"),
];

async fn request(client: &AdminClient, method: &str, path: &str) -> super::Page {
    match method {
        "GET" => client.get(path).await,
        _ => client.post(path, &[("csrf", "guess")]).await,
    }
}

#[tokio::test]
async fn every_admin_route_sends_a_visitor_without_session_to_the_login() {
    let app = two_salons().await;
    let anonymous = AdminClient::new(&app);
    for (method, path) in PROTECTED {
        request(&anonymous, method, path).await.assert_redirect("/admin/login");
    }
    let forged = AdminClient::new(&app);
    forged.set_cookie("sk_admin_session", &"ab".repeat(32));
    for (method, path) in PROTECTED {
        request(&forged, method, path).await.assert_redirect("/admin/login");
    }
    let page = anonymous.get("/admin/bookings?status=confirmed").await;
    assert_eq!(
        page.location(),
        "/admin/login?next=%2Fadmin%2Fbookings%3Fstatus%3Dconfirmed",
        "a GET remembers where it wanted to go"
    );
    anonymous.get("/admin").await.assert_redirect("/admin/reservations");
}

#[tokio::test]
async fn the_login_page_and_the_assets_are_public_and_locked_down() {
    let app = two_salons().await;
    let client = AdminClient::new(&app);
    let login = client.get("/admin/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("Anmelden") && login.body.contains("Benutzername"), "German form");
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(login.headers["x-frame-options"], "DENY");
    assert_eq!(login.headers["cache-control"], "no-store");
    let login_cookie = login.set_cookie("sk_admin_login").expect("login csrf cookie");
    assert!(
        login_cookie.contains("HttpOnly")
            && login_cookie.contains("SameSite=Strict")
            && login_cookie.contains("Path=/admin/login"),
        "{login_cookie}"
    );
    let css = client.get("/admin/assets/admin.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    let js = client.get("/admin/assets/admin.js").await;
    assert!(js.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(client.get("/admin/assets/secrets.txt").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_login_sets_a_server_side_session_in_a_locked_down_cookie() {
    let app = two_salons().await;
    let client = AdminClient::new(&app);
    let answer = client.login("Betrieb", ADMIN_PASSWORD).await;
    answer.assert_redirect("/admin/reservations");
    let cookie = answer.set_cookie("sk_admin_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP by default: {cookie}");
    let token = client.cookie("sk_admin_session").unwrap();
    let page = client.get("/admin/reservations").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("betrieb · Betrieb · alle Salons"), "user names are case-insensitive");
    assert!(!page.body.contains(&token), "the session token never appears in a page");

    let secure = two_salons_with(|s| s.admin.secure_cookies = true).await;
    let cookie =
        AdminClient::new(&secure).login(OPERATOR, ADMIN_PASSWORD).await.set_cookie("sk_admin_session").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_gets_the_same_refusal() {
    let app = two_salons().await;
    let client = AdminClient::new(&app);
    let wrong = client.login(OPERATOR, "Lampe Wolke Fahrrad 8").await;
    let unknown = client.login("niemand", ADMIN_PASSWORD).await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("Benutzername oder Passwort ist falsch."), "{}", page.body);
        assert!(page.set_cookie("sk_admin_session").is_none());
    }
    client.get("/admin/reservations").await.assert_redirect("/admin/login");
}

#[tokio::test]
async fn a_login_without_the_forms_csrf_token_is_forbidden() {
    let app = two_salons().await;
    let client = AdminClient::new(&app);
    let missing = client.post("/admin/login", &[("username", OPERATOR), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "no cookie, no field");
    client.get("/admin/login").await;
    let wrong =
        client.post("/admin/login", &[("username", OPERATOR), ("password", ADMIN_PASSWORD), ("csrf", "forged")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.body.contains("Sicherheits-Token"), "German explanation: {}", wrong.body);
    assert!(wrong.set_cookie("sk_admin_session").is_none());
}

#[tokio::test]
async fn every_state_changing_request_needs_the_sessions_csrf_token() {
    let app = two_salons().await;
    let client = AdminClient::signed_in(&app, OPERATOR).await;
    let other = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let foreign_token = other.csrf().await;
    let posts: &[(&str, &[(&str, &str)])] = &[
        ("/admin/reservations/rsv_00000000000000000000000000000000/release", &[]),
        ("/admin/bookings/apt_00000000000000000000000000000000/cancel", &[]),
        ("/admin/dead-letters/1/retry", &[]),
        ("/admin/flags", &[("tenant", "salon-beispiel"), ("flag", "reservations_enabled"), ("rollout_percent", "100")]),
        ("/admin/logout", &[]),
    ];
    for (path, form) in posts {
        let missing = client.post(path, form).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "no token: {path}");
        let mut with_wrong: Vec<(&str, &str)> = form.to_vec();
        with_wrong.push(("csrf", foreign_token.as_str()));
        let wrong = client.post(path, &with_wrong).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "another session's token: {path}");
    }
    let flag = app.parts.flags.get(&"salon-beispiel".into(), "reservations_enabled").unwrap();
    assert!(flag.enabled, "the forged flag change did nothing");
    assert!(app.parts.store.flag_audit(None, 10).await.unwrap().is_empty());
    assert_eq!(
        client.get("/admin/reservations").await.status,
        StatusCode::OK,
        "the forged logout did not end the session"
    );
}

#[tokio::test]
async fn brute_force_on_one_user_name_is_stopped_with_429_until_a_minute_has_passed() {
    let app = two_salons().await;
    let attempts = app.parts.settings.admin.login_attempts_per_minute;
    let client = AdminClient::new(&app);
    for attempt in 0..attempts {
        let page = client.login(FIRST_ADMIN, &format!("falsch geraten {attempt}")).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {attempt} is still answered");
    }
    let blocked = client.login(FIRST_ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(blocked.body.contains("Zu viele"), "{}", blocked.body);
    let retry_after: u64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(blocked.set_cookie("sk_admin_session").is_none());

    app.clock.advance(Duration::from_secs(61));
    client.login(FIRST_ADMIN, ADMIN_PASSWORD).await.assert_redirect("/admin/reservations");
}

#[tokio::test]
async fn brute_force_across_user_names_is_stopped_per_address() {
    let app = two_salons_with(|s| s.admin.login_attempts_per_minute = 3).await;
    let client = AdminClient::new(&app);
    for name in ["erster", "zweiter", "dritter"] {
        assert_eq!(client.login(name, "irgendein passwort").await.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = client.login(OPERATOR, ADMIN_PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS, "the address tried three names");
}

#[tokio::test]
async fn logout_deletes_the_session_so_a_copied_cookie_is_worthless() {
    let app = two_salons().await;
    let client = AdminClient::signed_in(&app, OPERATOR).await;
    let token = client.cookie("sk_admin_session").unwrap();
    let out = client.submit("/admin/logout", &[]).await;
    out.assert_redirect("/admin/login");
    assert!(out.set_cookie("sk_admin_session").unwrap().contains("Max-Age=0"), "the browser forgets the cookie");
    let replay = AdminClient::new(&app);
    replay.set_cookie("sk_admin_session", &token);
    replay.get("/admin/reservations").await.assert_redirect("/admin/login");
    replay.post("/admin/flags", &[("csrf", "x")]).await.assert_redirect("/admin/login");
}

#[tokio::test]
async fn a_session_ends_after_the_configured_hours() {
    let app = two_salons_with(|s| s.admin.session_ttl_hours = 2).await;
    let client = AdminClient::signed_in(&app, OPERATOR).await;
    app.clock.advance(Duration::from_secs(2 * 3600 - 60));
    assert_eq!(client.get("/admin/reservations").await.status, StatusCode::OK);
    app.clock.advance(Duration::from_secs(61));
    client.get("/admin/reservations").await.assert_redirect("/admin/login");
}

fn create_user_command(
    app: &TestApp,
    args: &[&str],
    password_env: Option<&str>,
    stdin: Option<&str>,
) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slotkeeper"));
    command
        .args(["admin", "create-user"])
        .args(args)
        .env("SLOTKEEPER__DATABASE__URL", &app.db.url)
        .env("SLOTKEEPER__LOG__FILTER", "error")
        .env_remove("SLOTKEEPER_ADMIN_PASSWORD")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(password) = password_env {
        command.env("SLOTKEEPER_ADMIN_PASSWORD", password);
    }
    let mut child = command.spawn().expect("the slotkeeper binary runs");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_create_user_command_refuses_weak_passwords_and_creates_a_working_account() {
    let app = two_salons().await;
    let (code, _, err) = create_user_command(
        &app,
        &["--username", "clara", "--role", "tenant-admin", "--tenant", "salon-beispiel"],
        Some(""),
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("weak password: the password is empty"), "{err}");
    let (code, _, err) = create_user_command(
        &app,
        &["--username", "clara", "--role", "tenant-admin", "--tenant", "salon-beispiel"],
        Some("kurz"),
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("too short"), "{err}");
    let (code, _, err) =
        create_user_command(&app, &["--username", "clara", "--role", "tenant-admin"], Some(ADMIN_PASSWORD), None);
    assert_eq!(code, 2);
    assert!(err.contains("needs --tenant"), "{err}");
    let (code, _, err) = create_user_command(
        &app,
        &["--username", "clara", "--role", "tenant-admin", "--tenant", "salon-nirgends"],
        Some(ADMIN_PASSWORD),
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown tenant"), "{err}");
    let (code, _, err) = create_user_command(
        &app,
        &["--username", "clara", "--role", "operator", "--tenant", "salon-beispiel"],
        Some(ADMIN_PASSWORD),
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("leave out --tenant"), "{err}");

    let (code, out, err) = create_user_command(
        &app,
        &["--username", "Clara", "--role", "tenant-admin", "--tenant", "salon-beispiel"],
        None,
        Some("Tasse Regen Brücke 42\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created admin user clara"), "{out}");
    assert!(!out.contains("Tasse") && !err.contains("Tasse"), "the password is never printed");
    let (code, _, err) =
        create_user_command(&app, &["--username", "clara", "--role", "operator"], Some(ADMIN_PASSWORD), None);
    assert_eq!(code, 2);
    assert!(err.contains("exists already"), "{err}");

    let client = AdminClient::new(&app);
    client.login("clara", "Tasse Regen Brücke 42").await.assert_redirect("/admin/reservations");
    let page = client.get("/admin/flags").await;
    assert!(
        page.body.contains("Salon Beispiel") && !page.body.contains("Salon Zwei"),
        "a tenant admin of salon-beispiel"
    );
    let user = app.parts.store.admin_user_by_name("clara").await.unwrap().unwrap();
    assert_eq!(user.role, AdminRole::TenantAdmin);
    assert!(user.password_hash.starts_with("$argon2id$"), "stored as an Argon2id hash");
}
