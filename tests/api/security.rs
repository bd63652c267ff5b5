//! Hostile input (issue 9): the front doors against forged, replayed, stale, oversized and
//! cross-tenant requests, and secrets against every kind of refusal. Each test names the
//! invariant it attacks:
//!
//! * BK-6 — only authentic, fresh webhooks act: a valid HMAC, a timestamp within ±5 minutes, a
//!   bounded body; checked on the raw bytes before JSON, content type or the database.
//! * BK-3 — a replay inside the window is answered from the record, never a second effect.
//! * Invariant 6 — tenants are walls: tokens, booking ids, phone numbers and Cal.com webhooks of
//!   one salon never reach another's data.
//!
//! "Nothing changed" is checked on the whole database ([`Fingerprint`]: every row of every
//! table), the Cal.com simulator's request counts, and a control request that does change things,
//! so a fingerprint that could never change cannot pass a test by accident.

mod leaks;
mod signatures;
mod walls;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::{CallFixture, TestApp};

/// Every row of every table (SQLite), rendered with `quote()` and sorted: equal fingerprints
/// mean the database holds exactly the same data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(BTreeMap<String, Vec<String>>);

impl Fingerprint {
    pub async fn of(app: &TestApp) -> Fingerprint {
        let mut conn = sqlx::SqliteConnection::connect(&format!("{}?mode=ro", app.db.url))
            .await
            .expect("the test database opens read-only");
        let tables: Vec<String> = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
        assert!(tables.len() > 10, "the schema is migrated: {tables:?}");
        let mut rows = BTreeMap::new();
        for table in tables {
            let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_table_info(?)")
                .bind(&table)
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<String, _>(0))
                .collect();
            let rendered = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
            let query = format!("SELECT {rendered} FROM \"{table}\"");
            let mut lines: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(query))
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<String, _>(0))
                .collect();
            lines.sort();
            rows.insert(table, lines);
        }
        Fingerprint(rows)
    }

    /// The fingerprint once the application is quiet: work that started with it (the Cal.com
    /// pre-warm of busy times) is over when two readings 150 ms apart agree and the simulator saw
    /// no request in between.
    pub async fn settled(app: &TestApp) -> Fingerprint {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut last = (Fingerprint::of(app).await, sim_requests(app));
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            let now = (Fingerprint::of(app).await, sim_requests(app));
            if now == last {
                return now.0;
            }
            assert!(std::time::Instant::now() < deadline, "the application never settled: {:?}", last.0.diff(&now.0));
            last = now;
        }
    }

    /// Tables whose rows differ, with the rows only one side has.
    pub fn diff(&self, after: &Fingerprint) -> Vec<String> {
        let mut changes = Vec::new();
        for (table, before) in &self.0 {
            let now = after.0.get(table).cloned().unwrap_or_default();
            if *before != now {
                let gone: Vec<_> = before.iter().filter(|r| !now.contains(r)).collect();
                let new: Vec<_> = now.iter().filter(|r| !before.contains(r)).collect();
                changes.push(format!("{table}: -{gone:?} +{new:?}"));
            }
        }
        changes
    }
}

/// Requests the Cal.com simulator has received (every endpoint).
pub fn sim_requests(app: &TestApp) -> u64 {
    app.sim().stats().endpoints.values().map(|e| e.requests).sum()
}

/// A request that would hold a free slot if it were accepted (and does, when genuinely signed).
pub fn holding_call(call: &CallFixture, time: &str) -> String {
    json!({"name": "check_availability", "args": {"service": "Herrenhaarschnitt", "date": "morgen", "time": time, "staff": "Ben"}, "call": call.json()}).to_string()
}

/// POSTs raw bytes with the given headers; returns status and the body as text.
pub async fn post(
    app: &TestApp,
    path: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut request = app.http.post(app.url(path)).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The `error.code` of a JSON error body.
pub fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("<not an error body: {body}>"))
}

#[tokio::test]
async fn the_fingerprint_sees_a_genuine_request_and_nothing_else() {
    let app = TestApp::spawn().await;
    let idle = Fingerprint::settled(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(Fingerprint::of(&app).await, idle, "an idle application writes nothing");
    let (status, _) = post(&app, "/retell/functions", holding_call(&CallFixture::new(), "10:00"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(Fingerprint::of(&app).await, idle);
    let genuine = app.post_signed("/retell/functions", holding_call(&CallFixture::new(), "10:00").into_bytes()).await;
    assert_eq!(genuine.status(), StatusCode::OK);
    let changed = idle.diff(&Fingerprint::of(&app).await);
    assert!(changed.iter().any(|c| c.starts_with("appointment_reservations")), "a hold is a row: {changed:?}");
}
