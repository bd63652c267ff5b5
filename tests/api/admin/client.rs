//! A browser-like client for the admin pages: keeps cookies like a browser (Max-Age=0 deletes),
//! never follows redirects (the tests look at every 303), reads hidden form fields.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};

use crate::helpers::{ADMIN_PASSWORD, TestApp};

/// One answer, read completely.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    }

    /// The `Set-Cookie` line of cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find(|line| line.starts_with(&format!("{name}=")))
    }

    /// Asserts a 303 to `target` (prefix match, so `?next=…` may follow).
    #[track_caller]
    pub fn assert_redirect(&self, target: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected a redirect to {target}: {}", self.body);
        assert!(self.location().starts_with(target), "redirect to {:?}, expected {target}", self.location());
    }
}

pub struct AdminClient {
    base: String,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl AdminClient {
    pub fn new(app: &TestApp) -> AdminClient {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        AdminClient { base: format!("http://{}", app.addr), http, cookies: Mutex::new(BTreeMap::new()) }
    }

    /// A client signed in as `username` (with the tests' password).
    pub async fn signed_in(app: &TestApp, username: &str) -> AdminClient {
        let client = AdminClient::new(app);
        let page = client.login(username, ADMIN_PASSWORD).await;
        page.assert_redirect("/admin/reservations");
        client
    }

    pub async fn get(&self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// A form POST exactly as given (no CSRF token added).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// A form POST with the session's CSRF token, as the pages send it.
    pub async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", csrf.as_str()));
        self.post(path, &fields).await
    }

    /// The login form, filled in and sent.
    pub async fn login(&self, username: &str, password: &str) -> Page {
        let form = self.get("/admin/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = hidden_value(&form.body, "csrf").expect("login form has a csrf field");
        self.post("/admin/login", &[("username", username), ("password", password), ("csrf", &csrf)]).await
    }

    /// The session's CSRF token, read from a page like a browser would.
    pub async fn csrf(&self) -> String {
        let page = self.get("/admin/flags").await;
        assert_eq!(page.status, StatusCode::OK, "signed in: {}", page.body);
        hidden_value(&page.body, "csrf").expect("pages carry the csrf token")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.to_owned(), value.to_owned());
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let cookie_header = {
            let cookies = self.cookies.lock().unwrap();
            cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
        };
        let request = if cookie_header.is_empty() { request } else { request.header(COOKIE, cookie_header) };
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        let page = Page { status, headers, body };
        self.keep_cookies(&page);
        page
    }

    fn keep_cookies(&self, page: &Page) {
        let mut cookies = self.cookies.lock().unwrap();
        for line in page.set_cookies() {
            let Some((pair, attributes)) = line.split_once(';').or(Some((line.as_str(), ""))) else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if attributes.contains("Max-Age=0") || value.is_empty() {
                cookies.remove(name.trim());
            } else {
                cookies.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
}

/// The value of the first `<input … name="NAME" value="…">` in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}
