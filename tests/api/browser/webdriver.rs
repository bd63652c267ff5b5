//! Just enough of the W3C WebDriver protocol to drive headless Chromium through `chromedriver`,
//! spoken with the crate's own `reqwest` (no WebDriver crate).
//!
//! * The binaries are Debian's `chromium` and `chromium-driver` (installed by `scripts/setup`);
//!   `SLOTKEEPER_CHROMIUM` / `SLOTKEEPER_CHROMEDRIVER` point elsewhere. Missing binaries fail the
//!   test with that hint; they never skip it.
//! * Chromium starts headless with a fresh profile and without any network features (on an
//!   offline machine its startup otherwise hangs on lookups).
//! * Every wait is a poll with a deadline; [`Driver`] ends the browser session and kills
//!   `chromedriver` when dropped, also when the test panics (then the profile directory with the
//!   chromedriver log is kept and its path printed).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C name of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to listen, and Chromium to start.
const STARTUP: Duration = Duration::from_secs(30);
/// Poll interval of every wait.
const POLL: Duration = Duration::from_millis(100);

fn binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found: the admin page's browser test needs Debian's `chromium` and `chromium-driver`. \
         Install them with `scripts/setup` (or point {env} at the binary).",
        path.display()
    );
    path
}

/// A running chromedriver with one browser session.
pub struct Driver {
    process: Child,
    port: u16,
    session: String,
    http: reqwest::Client,
    profile: PathBuf,
    shots: PathBuf,
    shot_count: usize,
}

/// A reference to an element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Driver {
    /// Starts chromedriver and a headless Chromium; screenshots go to `shots`.
    pub async fn start(shots: &Path) -> Driver {
        let chromium = binary("SLOTKEEPER_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("SLOTKEEPER_CHROMEDRIVER", "/usr/bin/chromedriver");
        std::fs::create_dir_all(shots).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let profile = std::env::temp_dir().join(format!("slotkeeper-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let process = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", profile.join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; see scripts/setup", chromedriver.display()));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let mut driver =
            Driver { process, port, session: String::new(), http, profile, shots: shots.to_owned(), shot_count: 0 };
        driver.wait_until_listening().await;
        driver.session = driver.new_session(&chromium).await;
        driver
    }

    async fn wait_until_listening(&self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            let status = self.http.get(format!("http://127.0.0.1:{}/status", self.port)).send().await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if body["value"]["ready"] == true {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {} within {STARTUP:?}", self.port);
            tokio::time::sleep(POLL).await;
        }
    }

    async fn new_session(&self, chromium: &Path) -> String {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1440,1000",
            "--lang=de-DE",
        ];
        let mut all_args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all_args.push(format!("--user-data-dir={}", self.profile.display()));
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": all_args},
                "timeouts": {"pageLoad": 30_000, "script": 15_000, "implicit": 0},
            }}
        });
        let url = format!("http://127.0.0.1:{}/session", self.port);
        let response = self.http.post(url).json(&capabilities).send().await.expect("chromedriver answers");
        let body: Value = response.json().await.unwrap();
        body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| {
                panic!("Chromium did not start ({body}); see {}", self.profile.join("chromedriver.log").display())
            })
            .to_owned()
    }

    /// One WebDriver command on the session; panics with the driver's message on error.
    pub async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body).await.unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
    }

    pub async fn try_command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}/session/{}{path}", self.port, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let value: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(value["value"].clone())
        } else {
            Err(format!("{} {}", value["value"]["error"], value["value"]["message"]))
        }
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or("").to_owned()
    }

    pub async fn find(&self, css: &str) -> Element {
        self.try_find(css).await.unwrap_or_else(|| panic!("no element {css:?} on {}", self.shots.display()))
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let found = self
            .try_command(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
            .await
            .ok()?;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    pub async fn click(&self, element: &Element) {
        self.command(reqwest::Method::POST, &format!("/element/{}/click", element.0), Some(json!({}))).await;
    }

    pub async fn type_text(&self, element: &Element, text: &str) {
        self.command(reqwest::Method::POST, &format!("/element/{}/value", element.0), Some(json!({"text": text})))
            .await;
    }

    pub async fn text(&self, element: &Element) -> String {
        self.command(reqwest::Method::GET, &format!("/element/{}/text", element.0), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1](result)` when done.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": args}))).await
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, command: &str, params: Value) -> Result<Value, String> {
        self.try_command(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({"cmd": command, "params": params})))
            .await
    }

    /// Polls the JS expression `condition` (a function body returning a boolean) until it holds;
    /// panics with `what` and a last screenshot after `within`.
    pub async fn wait_for(&mut self, what: &str, within: Duration, condition: &str) {
        let deadline = Instant::now() + within;
        loop {
            let result = self
                .try_command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": condition, "args": []})))
                .await;
            if matches!(result, Ok(Value::Bool(true))) {
                return;
            }
            if Instant::now() >= deadline {
                let shot = self.screenshot(&format!("timeout-{}", what.replace(' ', "-"))).await;
                let page = self.url().await;
                panic!(
                    "waited {within:?} for {what} (last answer {result:?}) on {page}; screenshot {}",
                    shot.display()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the window as `NN-name.png` and returns its path.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        self.shot_count += 1;
        let encoded = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = decode_base64(encoded.as_str().expect("screenshot is base64"));
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let path = self.shots.join(format!("{:02}-{name}.png", self.shot_count));
        std::fs::create_dir_all(&self.shots).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Ends the browser session (Chromium exits) and chromedriver.
    pub async fn quit(mut self) {
        let _ = self.try_command(reqwest::Method::DELETE, "", None).await;
        self.session.clear();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Blocking and runtime-free, so it also works while a test panics.
            delete_session_blocking(self.port, &self.session);
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
        if std::thread::panicking() {
            eprintln!("browser profile and chromedriver log kept in {}", self.profile.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

fn delete_session_blocking(port: u16, session: &str) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

/// Standard base64 (the screenshot encoding), without a dependency for one use.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut buffer = 0u32;
        for (i, digit) in chunk.iter().enumerate() {
            buffer |= digit << (18 - 6 * i);
        }
        let bytes = buffer.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_decodes_like_the_standard() {
    assert_eq!(decode_base64("aGVsbG8="), b"hello");
    assert_eq!(decode_base64("aGk="), b"hi");
    assert_eq!(decode_base64("YWJj"), b"abc");
}
