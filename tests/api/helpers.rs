//! Test fixtures: a fresh database per test (SQLite file or PostgreSQL database), the real
//! application on port 0 with a manual clock, and signed Retell requests.
//!
//! PostgreSQL comes from `SLOTKEEPER_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! each test creates its own database and drops it afterwards. When PostgreSQL is unreachable the
//! PostgreSQL tests fail with instructions, unless `SLOTKEEPER_TEST_SKIP_PG=1` says to skip them.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::clock::Clock;
use slotkeeper::config::Settings;
use slotkeeper::http::signature::sign;
use slotkeeper::startup::{Application, BuildOptions, Parts};
use sqlx::Connection;

pub const RETELL_KEY: &str = "key_test_retell_0123456789";
pub const SALON_NUMBER: &str = "+4930123456789";
pub const AGENT: &str = "agent_demo";

/// Wednesday 25 November 2026, 08:00 in Berlin: the "now" of most tests.
pub fn test_now() -> DateTime<Utc> {
    "2026-11-25T07:00:00Z".parse().unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    dir: Option<PathBuf>,
}

fn pg_admin_url() -> String {
    std::env::var("SLOTKEEPER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn skip_pg() -> bool {
    std::env::var("SLOTKEEPER_TEST_SKIP_PG").is_ok_and(|v| v == "1")
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("slotkeeper-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("test.db").display());
                TestDb { url, backend, pg_name: None, dir: Some(dir) }
            }
            Backend::Postgres => {
                let name = format!("sk_test_{}", uuid::Uuid::new_v4().simple());
                let admin = pg_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is needed at {admin} ({e}). Start it with \
                         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                         point SLOTKEEPER_TEST_PG_URL at another server, or set SLOTKEEPER_TEST_SKIP_PG=1"
                    )
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
                TestDb { url: format!("{base}/{name}"), backend, pg_name: Some(name), dir: None }
            }
        }
    }
}

impl TestDb {
    /// The same database again, for a second node (only the original drops it).
    pub fn share(&self) -> TestDb {
        TestDb { url: self.url.clone(), backend: self.backend, pg_name: None, dir: None }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async: use a small runtime on its own thread.
            let admin = pg_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The shipped configuration, adjusted for tests: port 0, the test key, fast loops.
pub fn test_settings(db_url: &str) -> Settings {
    let mut settings = Settings::embedded_default();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.database.url = db_url.to_owned();
    settings.database.max_connections = 8;
    settings.retell.api_key = slotkeeper::secret::Secret::new(RETELL_KEY);
    settings.calcom.outbox.poll_interval_ms = 50;
    settings.http.shutdown_grace_ms = 3000;
    settings
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub parts: Parts,
    pub http: reqwest::Client,
    pub clock: Clock,
    app: Option<Application>,
    pub db: TestDb,
}

pub struct Spawn {
    pub backend: Backend,
    pub now: DateTime<Utc>,
    pub tweak: Box<dyn FnOnce(&mut Settings) + Send>,
    pub db: Option<TestDb>,
}

impl Default for Spawn {
    fn default() -> Self {
        Spawn { backend: Backend::Sqlite, now: test_now(), tweak: Box::new(|_| {}), db: None }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Spawn::default()).await
    }

    pub async fn spawn_with(spawn: Spawn) -> TestApp {
        slotkeeper::telemetry::init_for_tests();
        let db = match spawn.db {
            Some(db) => db,
            None => TestDb::new(spawn.backend).await,
        };
        let mut settings = test_settings(&db.url);
        (spawn.tweak)(&mut settings);
        let clock = Clock::manual(spawn.now);
        let app =
            Application::build(settings, BuildOptions { clock: clock.clone() }).await.expect("application starts");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        TestApp { addr: app.addr(), parts: app.parts().clone(), http, clock, app: Some(app), db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The Retell signature header for `body`, at the application's "now".
    pub fn sign(&self, body: &[u8]) -> String {
        sign(body, RETELL_KEY.as_bytes(), self.clock.now().timestamp_millis())
    }

    /// A default-mode function call; returns status and JSON body.
    pub async fn call(&self, call: &CallFixture, name: &str, args: Value) -> (StatusCode, Value) {
        let body = json!({"name": name, "args": args, "call": call.json()}).to_string();
        let response = self.post_signed("/retell/functions", body.into_bytes()).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_signed(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        let signature = self.sign(&body);
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .header("x-retell-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn retell_webhook(&self, event: &str, call: &CallFixture) -> StatusCode {
        let body = json!({"event": event, "call": call.json()}).to_string();
        self.post_signed("/retell/webhook", body.into_bytes()).await.status()
    }

    pub fn sim(&self) -> &calcom_sim::SimHandle {
        self.parts.sim.as_ref().expect("the in-process simulator runs")
    }

    /// Stops everything at once, as `kill -9` would, keeping the database.
    pub async fn crash(mut self) -> TestDb {
        if let Some(app) = self.app.take() {
            app.abort().await;
        }
        self.db_take()
    }

    fn db_take(self) -> TestDb {
        let TestApp { db, .. } = self;
        db
    }
}

/// A Retell call: its id and numbers.
#[derive(Debug, Clone)]
pub struct CallFixture {
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub agent: String,
}

impl CallFixture {
    pub fn new() -> CallFixture {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let caller = format!("+49151{:07}", u32::from_str_radix(&id[..6], 16).unwrap() % 10_000_000);
        CallFixture { call_id: format!("call_{id}"), from: caller, to: SALON_NUMBER.into(), agent: AGENT.into() }
    }

    pub fn json(&self) -> Value {
        json!({
            "call_id": self.call_id,
            "agent_id": self.agent,
            "from_number": self.from,
            "to_number": self.to,
            "call_type": "phone_call",
            "direction": "inbound",
            "call_status": "ongoing",
        })
    }
}

/// Polls `check` until it is true (every 10 ms, at most `within`).
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub const SECOND_NUMBER: &str = "+4940111222333";
pub const SECOND_AGENT: &str = "agent_zwei";

/// A second salon (own number, agent, Cal.com key and event types) for tests of tenant walls.
pub fn add_second_tenant(settings: &mut Settings) {
    let mut second = settings.tenants[0].clone();
    second.id = "salon-zwei".into();
    second.name = "Salon Zwei".into();
    second.phone_numbers = vec![SECOND_NUMBER.into()];
    second.agent_ids = vec![SECOND_AGENT.into()];
    second.calcom.api_key = slotkeeper::secret::Secret::new("cal_test_salon_zwei");
    second.calcom.webhook_secret = slotkeeper::secret::Secret::new("whsec_test_salon_zwei");
    for service in &mut second.services {
        for ids in service.calcom_event_types.values_mut() {
            for id in ids.iter_mut() {
                *id += 10_000;
            }
        }
    }
    for staff in &mut second.staff {
        staff.calcom_user_id = staff.calcom_user_id.map(|id| id + 10_000);
    }
    settings.tenants.push(second);
}

impl TestApp {
    /// The internal `/metrics` listener, when `http.metrics_addr` is set.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.app.as_ref().and_then(|app| app.metrics_addr())
    }
}

/// The password of every admin account the tests create (passes the strength rule).
pub const ADMIN_PASSWORD: &str = "Lampe Wolke Fahrrad 7";

impl TestApp {
    /// An admin account, created the way `slotkeeper admin create-user` creates it.
    pub async fn create_admin(&self, username: &str, role: slotkeeper::store::admin::AdminRole, tenant: Option<&str>) {
        let request = slotkeeper::admin::users::NewUserRequest {
            username: username.into(),
            role,
            tenant: tenant.map(str::to_owned),
            password: ADMIN_PASSWORD.into(),
        };
        slotkeeper::admin::users::create_user(&self.parts.store, &self.parts.catalogue, request, self.clock.now())
            .await
            .expect("admin user created");
    }
}
